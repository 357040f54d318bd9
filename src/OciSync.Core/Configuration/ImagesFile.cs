using System;
using System.Collections.Generic;
using System.Globalization;

namespace OciSync.Core.Configuration
{
    /// <summary>The rules of an images file, and the problems of the rules that were dropped.</summary>
    public sealed class ImagesFileResult
    {
        internal ImagesFileResult(string path, IReadOnlyList<SyncRule> rules, IReadOnlyList<ConfigError> errors)
        {
            Path = path;
            Rules = rules;
            Errors = errors;
        }

        /// <summary>The file name as the caller gave it; empty when parsed without one.</summary>
        public string Path { get; }
        /// <summary>The valid rules, in file order.</summary>
        public IReadOnlyList<SyncRule> Rules { get; }
        /// <summary>One entry per rule that was dropped (and per warning), in file order.</summary>
        public IReadOnlyList<ConfigError> Errors { get; }
    }

    /// <summary>
    /// Reads an image-syncer images file: a map <c>source → destination | [destinations]</c>,
    /// YAML or JSON (both read by the YAML parser, so every error has a line and column).
    /// </summary>
    public static class ImagesFile
    {
        /// <summary>
        /// Loads a file. A missing, unreadable or unparsable file, or a top level that is not a
        /// map, throws <see cref="ConfigException"/>; a broken rule is reported in
        /// <see cref="ImagesFileResult.Errors"/> and the other rules are still returned.
        /// </summary>
        public static ImagesFileResult Load(string path, RuleOptions? options = null)
        {
            var text = YamlTree.ReadFile(path);
            return Parse(text, path, options, YamlTree.FormatOf(path));
        }

        /// <summary>Parses text as if read from <paramref name="fileName"/> (its extension picks YAML or JSON).</summary>
        public static ImagesFileResult Parse(string text, string fileName, RuleOptions? options = null) =>
            Parse(text, fileName, options, YamlTree.FormatOf(fileName ?? string.Empty));

        private static ImagesFileResult Parse(string text, string fileName, RuleOptions? options, ConfigFormat format)
        {
            fileName ??= string.Empty;
            var root = YamlTree.Parse(text, fileName, format, secret: false);
            return FromNode(root, fileName, options ?? RuleOptions.Default, what: "an images file");
        }

        internal static ImagesFileResult FromNode(YNode? root, string fileName, RuleOptions options, string what)
        {
            var rules = new List<SyncRule>();
            var errors = new List<ConfigError>();
            if (root == null || (root is YScalar s && s.IsNull))
                return new ImagesFileResult(fileName, rules.AsReadOnly(), errors.AsReadOnly());
            if (!(root is YMapping map))
                throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigSyntaxError, fileName, root.Line, root.Column, null,
                    $"{what} must be a map of source → destination, not {root.Kind}."));

            var firstSeen = new Dictionary<string, YNode>(StringComparer.Ordinal);
            foreach (var entry in map.Entries)
            {
                var keyNode = entry.Key;
                if (!(keyNode is YScalar key))
                {
                    errors.Add(new ConfigError(ConfigErrorIds.RuleInvalidReference, fileName, keyNode.Line, keyNode.Column, null,
                        $"a rule's source must be a string, not {keyNode.Kind}."));
                    continue;
                }
                var source = key.IsNull ? string.Empty : key.Value;
                if (key.CoreType != null)
                {
                    errors.Add(new ConfigError(ConfigErrorIds.RuleInvalidReference, fileName, key.Line, key.Column, source,
                        $"the source is {key.CoreType}; quote it if it is meant as a name."));
                    continue;
                }
                if (source.Length > 0 && firstSeen.TryGetValue(source, out var first))
                {
                    errors.Add(new ConfigError(ConfigErrorIds.RuleDuplicateKey, fileName, key.Line, key.Column, source,
                        $"the source appears again (first at line {first.Line.ToString(CultureInfo.InvariantCulture)}); a source may be a key only once, so this entry is ignored (put all destinations of a source in one list)."));
                    continue;
                }
                if (source.Length > 0) firstSeen[source] = key;

                var destinations = new List<string?>();
                var positions = new List<YNode>();
                var value = entry.Value;
                ConfigError? shapeError = null;
                TagSelectionSpec? selection = null;
                switch (value)
                {
                    case YScalar scalar when scalar.IsNull:
                        break;
                    case YScalar scalar when scalar.CoreType != null:
                        shapeError = new ConfigError(ConfigErrorIds.RuleInvalidReference, fileName, scalar.Line, scalar.Column, source,
                            $"the destination {scalar.Value} is {scalar.CoreType}; quote it if it is meant as a name.");
                        break;
                    case YScalar scalar:
                        destinations.Add(scalar.Value);
                        positions.Add(scalar);
                        break;
                    case YSequence seq:
                        foreach (var item in seq.Items)
                        {
                            if (item is YScalar number && number.CoreType != null)
                            {
                                shapeError = new ConfigError(ConfigErrorIds.RuleInvalidReference, fileName, item.Line, item.Column, source,
                                    $"destination #{(positions.Count + 1).ToString(CultureInfo.InvariantCulture)} ({number.Value}) is {number.CoreType}; quote it if it is meant as a name.");
                                break;
                            }
                            if (item is YScalar itemScalar)
                            {
                                destinations.Add(itemScalar.IsNull ? null : itemScalar.Value);
                                positions.Add(itemScalar);
                            }
                            else
                            {
                                shapeError = new ConfigError(ConfigErrorIds.RuleInvalidReference, fileName, item.Line, item.Column, source,
                                    $"destination #{(positions.Count + 1).ToString(CultureInfo.InvariantCulture)} must be a string, not {item.Kind}.");
                                break;
                            }
                        }
                        break;
                    case YMapping ruleMap:
                        // The extended form: destinations with exclude/semver/latest/platforms (RuleMapping).
                        shapeError = RuleMapping.Read(ruleMap, fileName, source, destinations, positions, out var spec);
                        selection = spec;
                        break;
                    default:
                        shapeError = new ConfigError(ConfigErrorIds.RuleInvalidReference, fileName, value.Line, value.Column, source,
                            $"the destination must be a string or a list of strings, not {value.Kind}.");
                        break;
                }
                if (shapeError != null) { errors.Add(shapeError); continue; }

                if (RuleParser.TryBuild(source, destinations, options, YamlTree.Origin(fileName, key), out var rule, out var problem, selection))
                {
                    rules.Add(rule!);
                    continue;
                }
                var at = problem!.DestinationIndex >= 0 && problem.DestinationIndex < positions.Count ? positions[problem.DestinationIndex] : key;
                errors.Add(new ConfigError(problem.ErrorId, fileName, at.Line, at.Column, source.Length == 0 ? null : source, problem.Detail));
            }
            return new ImagesFileResult(fileName, rules.AsReadOnly(), errors.AsReadOnly());
        }
    }
}
