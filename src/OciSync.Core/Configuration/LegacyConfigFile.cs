using System;
using System.Collections.Generic;
using System.Linq;

namespace OciSync.Core.Configuration
{
    /// <summary>The two halves of a legacy <c>--config</c> file. Problems of the file itself (unknown top-level keys) are in <see cref="Errors"/>.</summary>
    public sealed class LegacyConfigResult
    {
        internal LegacyConfigResult(string path, AuthFileResult auth, ImagesFileResult images, IReadOnlyList<ConfigError> errors)
        {
            Path = path;
            Auth = auth;
            Images = images;
            Errors = errors;
        }

        /// <summary>The file name as the caller gave it; empty when parsed without one.</summary>
        public string Path { get; }
        /// <summary>The <c>auth</c> part, read as an auth file is (empty when the file has none).</summary>
        public AuthFileResult Auth { get; }
        /// <summary>The <c>images</c> part, read as an images file is (empty when the file has none).</summary>
        public ImagesFileResult Images { get; }
        /// <summary>Every problem of the file: its own, then the auth part's, then the images part's.</summary>
        public IReadOnlyList<ConfigError> Errors { get; }
    }

    /// <summary>
    /// image-syncer's legacy <c>--config</c> file: <c>{ auth: {...}, images: {...} }</c>, both
    /// parts meaning what the separate files mean. Because it holds credentials, syntax errors
    /// are reported without the parser's own words.
    /// </summary>
    public static class LegacyConfigFile
    {
        /// <summary>Loads a file; a missing, unreadable or unparsable file, or a top level or part that is not a map, throws <see cref="ConfigException"/>.</summary>
        public static LegacyConfigResult Load(string path, RuleOptions? options = null)
        {
            var text = YamlTree.ReadFile(path);
            return Parse(text, path, options, YamlTree.FormatOf(path));
        }

        /// <summary>Parses text as if read from <paramref name="fileName"/> (its extension picks YAML or JSON).</summary>
        public static LegacyConfigResult Parse(string text, string fileName, RuleOptions? options = null) =>
            Parse(text, fileName, options, YamlTree.FormatOf(fileName ?? string.Empty));

        private static LegacyConfigResult Parse(string text, string fileName, RuleOptions? options, ConfigFormat format)
        {
            fileName ??= string.Empty;
            options ??= RuleOptions.Default;
            var root = YamlTree.Parse(text, fileName, format, secret: true);
            var own = new List<ConfigError>();
            YNode? auth = null, images = null;
            if (root != null && !(root is YScalar s && s.IsNull))
            {
                if (!(root is YMapping map))
                    throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigSyntaxError, fileName, root.Line, root.Column, null,
                        $"a config file must be a map with the keys 'auth' and 'images', not {root.Kind}."));
                foreach (var entry in map.Entries)
                {
                    var name = entry.Key is YScalar k && !k.IsNull ? k.Value : null;
                    if (name == "auth" && auth == null) auth = entry.Value;
                    else if (name == "images" && images == null) images = entry.Value;
                    else if (name == "auth" || name == "images")
                        own.Add(new ConfigError(ConfigErrorIds.ConfigSyntaxError, fileName, entry.Key.Line, entry.Key.Column, null,
                            $"'{name}' appears twice; the later one is ignored."));
                    else
                        own.Add(new ConfigError(ConfigErrorIds.ConfigUnknownKey, fileName, entry.Key.Line, entry.Key.Column, null,
                            // Not named: the file holds credentials and a stray key could be one.
                            "an unknown top-level key (a config file has only 'auth' and 'images'); it is ignored.", ConfigSeverity.Warning));
                }
            }

            var authResult = AuthFile.FromNode(auth, fileName, options.GetEnvironmentVariable ?? Environment.GetEnvironmentVariable, "the 'auth' part of a config file");
            var imagesResult = ImagesFile.FromNode(images, fileName, options, "the 'images' part of a config file");
            var all = own.Concat(authResult.Errors).Concat(imagesResult.Errors).ToList().AsReadOnly();
            return new LegacyConfigResult(fileName, authResult, imagesResult, all);
        }
    }
}
