using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using OciSync.Core.Configuration;

namespace OciSync.Core.Auth
{
    /// <summary>
    /// One docker <c>config.json</c> or podman <c>auth.json</c>, as far as credentials go: <c>auths</c>
    /// (inline <c>auth</c> = base64 of user:password, <c>username</c>/<c>password</c>, <c>identitytoken</c>),
    /// <c>credHelpers</c> (registry → helper) and <c>credsStore</c> (the helper for the rest). Everything else
    /// in the file (proxies, formats, plugins) is docker's business and is ignored. No value of the file ever
    /// reaches a message: problems carry the file, line and which field.
    /// </summary>
    internal sealed class DockerConfigFile
    {
        // docker-credential-<name>: the name becomes part of a program name, so it is a plain word.
        private static readonly Regex HelperName = new Regex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant);

        private DockerConfigFile(string path) => Path = path;

        public string Path { get; }
        /// <summary>The inline entries, keyed as <see cref="CredentialStore"/> looks them up.</summary>
        public CredentialStore Inline { get; } = new CredentialStore();
        /// <summary>How each key of <c>auths</c> was spelled (a helper is asked with the spelling docker stored).</summary>
        public Dictionary<string, string> Spellings { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
        /// <summary>Registry host → (helper name, the key as spelled, the line).</summary>
        public Dictionary<string, (string Helper, string Spelling, int Line)> Helpers { get; } = new Dictionary<string, (string, string, int)>(StringComparer.Ordinal);
        public string? Store { get; private set; }
        public int StoreLine { get; private set; }
        public List<ConfigError> Problems { get; } = new List<ConfigError>();

        /// <summary>A file's key as lookups compare it: scheme, trailing slash and docker's <c>/v1</c>, <c>/v2</c> dropped, the host lower-cased.</summary>
        public static string KeyOf(string spelled)
        {
            var key = CredentialStore.LookupKey(spelled);
            foreach (var api in new[] { "/v1", "/v2" })
                if (key.EndsWith(api, StringComparison.Ordinal) && key.IndexOf('/') == key.Length - api.Length) key = key.Substring(0, key.Length - api.Length);
            return key;
        }

        /// <summary>Reads a file; null when it does not exist. A file that cannot be read or parsed is returned empty with one problem.</summary>
        public static DockerConfigFile? Load(string path)
        {
            if (!System.IO.File.Exists(path)) return null;
            var file = new DockerConfigFile(path);
            YNode? root;
            try
            {
                root = YamlTree.Parse(YamlTree.ReadFile(path), path, ConfigFormat.Json, secret: true);
            }
            catch (ConfigException e)
            {
                file.Problems.Add(Warning(path, e.Error.Line, e.Error.Column, e.Error.Detail + " The file's credentials are not used."));
                return file;
            }
            catch (Exception e) when (e is System.IO.IOException || e is UnauthorizedAccessException)
            {
                file.Problems.Add(Warning(path, 0, 0, $"the file cannot be read ({e.GetType().Name}); its credentials are not used."));
                return file;
            }
            if (root == null || (root is YScalar s && s.IsNull)) return file;
            if (!(root is YMapping top))
            {
                file.Problems.Add(Warning(path, root.Line, root.Column, $"a credentials file must be a JSON object, not {root.Kind}; it is not used."));
                return file;
            }
            foreach (var entry in top.Entries)
            {
                var name = entry.Key is YScalar k && !k.IsNull ? k.Value : null;
                switch (name)
                {
                    case "auths": file.ReadAuths(entry.Value); break;
                    case "credHelpers": file.ReadHelpers(entry.Value); break;
                    case "credsStore":
                        if (entry.Value is YScalar v && !v.IsNull && v.Value.Length > 0)
                        {
                            if (HelperName.IsMatch(v.Value)) { file.Store = v.Value; file.StoreLine = v.Line; }
                            else file.Problems.Add(Warning(path, v.Line, v.Column, "'credsStore' is not a helper name (letters, digits, '.', '_', '-'); it is not used."));
                        }
                        break;
                }
            }
            return file;
        }

        private void ReadAuths(YNode node)
        {
            if (!(node is YMapping auths))
            {
                Problems.Add(Warning(Path, node.Line, node.Column, $"'auths' must be an object, not {node.Kind}; it is not used."));
                return;
            }
            foreach (var entry in auths.Entries)
            {
                if (!(entry.Key is YScalar keyScalar) || keyScalar.IsNull || keyScalar.Value.Trim().Length == 0 || !(entry.Value is YMapping fields))
                {
                    Problems.Add(Warning(Path, entry.Key.Line, entry.Key.Column, "an 'auths' entry must be a registry name with an object; it is not used."));
                    continue;
                }
                var key = KeyOf(keyScalar.Value);
                if (key.Length == 0 || key.IndexOf(' ') >= 0 || key.StartsWith("/", StringComparison.Ordinal))
                {
                    Problems.Add(Warning(Path, keyScalar.Line, keyScalar.Column, "an 'auths' key must be a registry or registry/namespace; the entry is not used."));
                    continue;
                }
                string? auth = null, username = null, password = null, identityToken = null;
                foreach (var field in fields.Entries)
                {
                    var fieldName = field.Key is YScalar f && !f.IsNull ? f.Value.ToLowerInvariant() : null;
                    var value = field.Value is YScalar fv && !fv.IsNull ? fv.Value : null;
                    switch (fieldName)
                    {
                        case "auth": auth = value; break;
                        case "username": username = value; break;
                        case "password": password = value; break;
                        case "identitytoken": identityToken = value; break;
                    }
                }
                Spellings[key] = keyScalar.Value;
                var origin = $"the 'auths' entry at {YamlTree.Origin(Path, keyScalar)}";
                if (!string.IsNullOrEmpty(auth))
                {
                    if (!TryDecodeAuth(auth!, out var decodedUser, out var decodedPassword))
                    {
                        Problems.Add(Warning(Path, keyScalar.Line, keyScalar.Column, $"'auth' of the entry for '{key}' is not base64 of user:password; the entry is not used."));
                        continue;
                    }
                    username = decodedUser;
                    password = decodedPassword;
                }
                if (TooLong(identityToken) || TooLong(username) || TooLong(password))
                {
                    Problems.Add(Warning(Path, keyScalar.Line, keyScalar.Column, $"the entry for '{key}' has a value longer than {RegistryCredential.MaxLength.ToString("N0", CultureInfo.InvariantCulture)} characters; it is not used."));
                    continue;
                }
                if (!string.IsNullOrEmpty(identityToken))
                    Inline.Add(RegistryCredential.ForIdentityToken(key, RegistryCredential.ToSecureString(identityToken), origin));
                else if (!string.IsNullOrEmpty(username) && !string.IsNullOrEmpty(password))
                    Inline.Add(new RegistryCredential(key, username, RegistryCredential.ToSecureString(password), origin: origin));
                // An empty entry ({}) is docker's marker for "kept by the credsStore": the helper is asked.
            }
        }

        private static bool TooLong(string? value) => value != null && value.Length > RegistryCredential.MaxLength;

        private void ReadHelpers(YNode node)
        {
            if (!(node is YMapping helpers))
            {
                Problems.Add(Warning(Path, node.Line, node.Column, $"'credHelpers' must be an object, not {node.Kind}; it is not used."));
                return;
            }
            foreach (var entry in helpers.Entries)
            {
                if (!(entry.Key is YScalar keyScalar) || keyScalar.IsNull || !(entry.Value is YScalar helper) || helper.IsNull || !HelperName.IsMatch(helper.Value))
                {
                    Problems.Add(Warning(Path, entry.Key.Line, entry.Key.Column, "a 'credHelpers' entry must map a registry to a helper name (letters, digits, '.', '_', '-'); it is not used."));
                    continue;
                }
                // docker matches helpers by host alone.
                var host = KeyOf(keyScalar.Value).Split('/')[0];
                Helpers[host] = (helper.Value, keyScalar.Value, keyScalar.Line);
            }
        }

        private static bool TryDecodeAuth(string auth, out string? username, out string? password)
        {
            username = password = null;
            try
            {
                var text = Encoding.UTF8.GetString(Convert.FromBase64String(auth.Trim()));
                var colon = text.IndexOf(':');
                if (colon <= 0) return false;
                username = text.Substring(0, colon);
                password = text.Substring(colon + 1);
                return true;
            }
            catch (FormatException)
            {
                return false;
            }
        }

        private static ConfigError Warning(string file, int line, int column, string detail) =>
            new ConfigError(ConfigErrorIds.AuthDockerConfigInvalid, file, line, column, null, detail, ConfigSeverity.Warning);
    }
}
