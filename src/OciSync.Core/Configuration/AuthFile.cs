using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.RegularExpressions;
using OciSync.Core.Auth;

namespace OciSync.Core.Configuration
{
    /// <summary>The credentials of an auth file, and the problems of entries (dropped ones are errors, unknown keys warnings).</summary>
    public sealed class AuthFileResult
    {
        internal AuthFileResult(string path, IReadOnlyList<RegistryCredential> credentials, IReadOnlyList<ConfigError> errors)
        {
            Path = path;
            Credentials = credentials;
            Errors = errors;
        }

        /// <summary>The file name as the caller gave it; empty when parsed without one.</summary>
        public string Path { get; }
        /// <summary>The usable entries in file order (a repeated key appears twice; a <see cref="CredentialStore"/> keeps the later).</summary>
        public IReadOnlyList<RegistryCredential> Credentials { get; }
        /// <summary>The problems of the entries in file order: dropped entries as errors; unknown keys, repeated keys and unset variables as warnings.</summary>
        public IReadOnlyList<ConfigError> Errors { get; }
    }

    /// <summary>
    /// Reads an image-syncer auth file: a map <c>registry[/namespace…] → {username, password, insecure}</c>.
    /// No value of an entry is ever copied into an error, an exception or a ToString: syntax
    /// errors carry only the parser's position and a generic description.
    /// </summary>
    public static class AuthFile
    {
        private static readonly Regex IdentifierLike = new Regex(@"^[A-Za-z_][A-Za-z_-]{0,31}$", RegexOptions.CultureInvariant);
        // Conventional variable names (DOCKER_PASS) are shown; "$ecret" in a password is one too, to the expander.
        private static readonly Regex EnvironmentName = new Regex(@"^[A-Z_][A-Z0-9_]{0,63}$", RegexOptions.CultureInvariant);

        /// <summary>Loads a file; a missing, unreadable or unparsable file, or a top level that is not a map, throws <see cref="ConfigException"/>.</summary>
        /// <param name="getEnvironmentVariable">Where <c>${VAR}</c>/<c>$VAR</c> come from; default the process environment.</param>
        public static AuthFileResult Load(string path, Func<string, string?>? getEnvironmentVariable = null)
        {
            var text = YamlTree.ReadFile(path);
            return Parse(text, path, getEnvironmentVariable, YamlTree.FormatOf(path));
        }

        /// <summary>Parses text as if read from <paramref name="fileName"/> (its extension picks YAML or JSON); text that cannot be used throws as <see cref="Load"/> does.</summary>
        public static AuthFileResult Parse(string text, string fileName, Func<string, string?>? getEnvironmentVariable = null) =>
            Parse(text, fileName, getEnvironmentVariable, YamlTree.FormatOf(fileName ?? string.Empty));

        private static AuthFileResult Parse(string text, string fileName, Func<string, string?>? env, ConfigFormat format)
        {
            fileName ??= string.Empty;
            var root = YamlTree.Parse(text, fileName, format, secret: true);
            return FromNode(root, fileName, env ?? Environment.GetEnvironmentVariable, "an auth file");
        }

        internal static AuthFileResult FromNode(YNode? root, string fileName, Func<string, string?> env, string what)
        {
            var credentials = new List<RegistryCredential>();
            var errors = new List<ConfigError>();
            if (root == null || (root is YScalar s && s.IsNull))
                return new AuthFileResult(fileName, credentials.AsReadOnly(), errors.AsReadOnly());
            if (!(root is YMapping map))
                throw new ConfigException(new ConfigError(ConfigErrorIds.ConfigSyntaxError, fileName, root.Line, root.Column, null,
                    $"{what} must be a map of registry → {{username, password, insecure}}, not {root.Kind}."));

            var firstSeen = new Dictionary<string, YNode>(StringComparer.Ordinal);
            foreach (var entry in map.Entries)
            {
                var keyNode = entry.Key;
                // The key is named in messages only when the value is a map: a stray scalar key could be a misplaced secret.
                if (!(entry.Value is YMapping fields))
                {
                    errors.Add(Error(ConfigErrorIds.AuthInvalidEntry, fileName, keyNode,
                        $"the auth entry here must be a map of username/password/insecure, not {Describe(entry.Value)}; the entry is ignored."));
                    continue;
                }
                if (!(keyNode is YScalar keyScalar) || keyScalar.IsNull || keyScalar.Value.Trim().Length == 0)
                {
                    errors.Add(Error(ConfigErrorIds.AuthInvalidEntry, fileName, keyNode,
                        "an auth entry's key must be a registry or registry/namespace; the entry is ignored."));
                    continue;
                }
                var key = CredentialStore.LookupKey(keyScalar.Value);
                if (key.Length == 0 || key.IndexOf(' ') >= 0 || key.StartsWith("/", StringComparison.Ordinal))
                {
                    errors.Add(Error(ConfigErrorIds.AuthInvalidEntry, fileName, keyNode,
                        "an auth entry's key must be a registry or registry/namespace; the entry is ignored."));
                    continue;
                }

                string? username = null, password = null;
                var files = new Dictionary<string, string>(StringComparer.Ordinal); // cafile, certfile, keyfile → full path
                int? maxConcurrency = null;
                double? requestsPerSecond = null;
                bool insecure = false;
                bool broken = false;
                var given = new HashSet<string>(StringComparer.Ordinal);
                foreach (var field in fields.Entries)
                {
                    var name = field.Key is YScalar fk && !fk.IsNull ? fk.Value : null;
                    var lower = name?.ToLowerInvariant();
                    if (lower == "username" || lower == "password" || lower == "insecure")
                    {
                        if (!given.Add(lower))
                        {
                            errors.Add(Error(ConfigErrorIds.AuthInvalidEntry, fileName, field.Key,
                                $"'{lower}' is given twice in the entry for '{key}'; the entry is ignored.", key));
                            broken = true;
                            continue;
                        }
                        if (!(field.Value is YScalar v))
                        {
                            errors.Add(Error(ConfigErrorIds.AuthInvalidEntry, fileName, field.Value,
                                $"'{lower}' of the entry for '{key}' must be {(lower == "insecure" ? "true or false" : "a string")}, not {field.Value.Kind}; the entry is ignored.", key));
                            broken = true;
                            continue;
                        }
                        var value = v.IsNull ? string.Empty : v.Value;
                        if (lower == "insecure")
                        {
                            var b = value.Trim().ToLowerInvariant();
                            if (b == "true") insecure = true;
                            else if (b == "false" || b.Length == 0) insecure = false;
                            else
                            {
                                errors.Add(Error(ConfigErrorIds.AuthInvalidEntry, fileName, v,
                                    $"'insecure' of the entry for '{key}' must be true or false; the entry is ignored.", key));
                                broken = true;
                            }
                        }
                        else
                        {
                            var unset = new List<string>();
                            var expanded = EnvironmentExpander.Expand(value, variable =>
                            {
                                var found = env(variable);
                                if (found == null && !unset.Contains(variable)) unset.Add(variable);
                                return found;
                            });
                            // SPEC: an unset variable expands to empty, which quietly means anonymous; say so.
                            foreach (var variable in unset)
                                errors.Add(Error(ConfigErrorIds.AuthVariableUnset, fileName, v,
                                    $"'{lower}' of the entry for '{key}' uses {(EnvironmentName.IsMatch(variable) ? $"the environment variable '{variable}'" : "an environment variable (not named: it does not look like one and may be part of a password)")}, which is not set; it expands to an empty string.", key, ConfigSeverity.Warning));
                            if (expanded.Length > RegistryCredential.MaxLength)
                            {
                                // The length only: the value is a secret.
                                errors.Add(Error(ConfigErrorIds.AuthInvalidEntry, fileName, v,
                                    $"'{lower}' of the entry for '{key}' has {expanded.Length.ToString("N0", CultureInfo.InvariantCulture)} characters{(expanded.Length == value.Length ? "" : " after expanding the environment")}; at most {RegistryCredential.MaxLength.ToString("N0", CultureInfo.InvariantCulture)} are allowed, so the entry is ignored.", key));
                                broken = true;
                            }
                            else if (lower == "username") username = expanded;
                            else password = expanded;
                        }
                        continue;
                    }

                    if (lower == "cafile" || lower == "certfile" || lower == "keyfile")
                    {
                        var spelled = lower == "cafile" ? "caFile" : lower == "certfile" ? "certFile" : "keyFile";
                        if (!(field.Value is YScalar pv) || pv.IsNull || pv.Value.Trim().Length == 0 || files.ContainsKey(lower))
                        {
                            errors.Add(Error(ConfigErrorIds.AuthInvalidEntry, fileName, field.Value,
                                $"'{spelled}' of the entry for '{key}' must be given once, as a file path; the entry is ignored.", key));
                            broken = true;
                            continue;
                        }
                        // Relative to the auth file, so a file and its certificates move together.
                        var full = ResolveBeside(fileName, pv.Value.Trim());
                        if (!System.IO.File.Exists(full))
                        {
                            errors.Add(Error(ConfigErrorIds.AuthInvalidEntry, fileName, pv,
                                $"'{spelled}' of the entry for '{key}' names {full}, which does not exist; the entry is ignored.", key));
                            broken = true;
                            continue;
                        }
                        files[lower] = full;
                        continue;
                    }

                    if (lower == "maxconcurrency" || lower == "requestspersecond")
                    {
                        var spelled = lower == "maxconcurrency" ? "maxConcurrency" : "requestsPerSecond";
                        var text = field.Value is YScalar nv && !nv.IsNull ? nv.Value.Trim() : null;
                        if (lower == "maxconcurrency" && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var c) && c >= 1 && c <= 256 && maxConcurrency == null)
                            maxConcurrency = c;
                        else if (lower == "requestspersecond" && double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var r) && r > 0 && r <= 10_000 && requestsPerSecond == null)
                            requestsPerSecond = r;
                        else
                        {
                            errors.Add(Error(ConfigErrorIds.AuthInvalidEntry, fileName, field.Value,
                                $"'{spelled}' of the entry for '{key}' must be given once, as {(lower == "maxconcurrency" ? "a whole number from 1 to 256" : "a number above 0 and at most 10000")}; the entry is ignored.", key));
                            broken = true;
                        }
                        continue;
                    }

                    // Unknown keys are warnings; the entry is still used. The key's name is shown
                    // only when it looks like a key name and has a value after it (`name: value`):
                    // in `{username: u, s3cr3t}` the stray word could be a password.
                    var showName = name != null && IdentifierLike.IsMatch(name) && !(field.Value is YScalar fv && fv.IsNull);
                    var detail = (showName ? $"unknown key '{name}'" : "an unknown key")
                        + $" in the entry for '{key}' (known: username, password, insecure, caFile, certFile, keyFile, maxConcurrency, requestsPerSecond); it is ignored and the entry is still used.";
                    errors.Add(Error(ConfigErrorIds.ConfigUnknownKey, fileName, field.Key, detail, key, ConfigSeverity.Warning));
                }
                if (!broken && files.ContainsKey("keyfile") && !files.ContainsKey("certfile"))
                {
                    errors.Add(Error(ConfigErrorIds.AuthInvalidEntry, fileName, keyNode, $"the entry for '{key}' has a keyFile without its certFile; the entry is ignored.", key));
                    broken = true;
                }
                if (broken) continue;

                if (firstSeen.TryGetValue(key, out var first))
                    errors.Add(Error(ConfigErrorIds.AuthDuplicateKey, fileName, keyNode,
                        $"'{key}' already has an entry at line {first.Line.ToString(CultureInfo.InvariantCulture)}; this later entry replaces it.", key, ConfigSeverity.Warning));
                else firstSeen[key] = keyNode;

                var tls = files.Count == 0 ? null : new Transport.RegistryTls(files.TryGetValue("cafile", out var ca) ? ca : null,
                    files.TryGetValue("certfile", out var cert) ? cert : null, files.TryGetValue("keyfile", out var k) ? k : null);
                var limits = maxConcurrency == null && requestsPerSecond == null ? null : new Transport.RegistryLimits(maxConcurrency, requestsPerSecond);
                credentials.Add(new RegistryCredential(key, username, RegistryCredential.ToSecureString(password), insecure, YamlTree.Origin(fileName, keyNode), tls, limits));
            }
            return new AuthFileResult(fileName, credentials.AsReadOnly(), errors.AsReadOnly());
        }

        private static string ResolveBeside(string authFile, string path)
        {
            if (System.IO.Path.IsPathRooted(path) || string.IsNullOrEmpty(authFile)) return System.IO.Path.GetFullPath(path);
            var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(authFile)) ?? string.Empty;
            return System.IO.Path.GetFullPath(System.IO.Path.Combine(dir, path));
        }

        private static string Describe(YNode node) => node is YScalar sc && !sc.IsNull ? "a string" : node.Kind;

        private static ConfigError Error(string id, string file, YNode at, string detail, string? key = null, ConfigSeverity severity = ConfigSeverity.Error) =>
            new ConfigError(id, file, at.Line, at.Column, null, detail, severity);
    }
}
