using System;
using System.Globalization;
using System.Text;

namespace OciSync.Core.Configuration
{
    /// <summary>The stable identifiers of configuration problems (cmdlets use them as ErrorId).</summary>
    public static class ConfigErrorIds
    {
        /// <summary>The file does not exist.</summary>
        public const string ConfigFileNotFound = nameof(ConfigFileNotFound);
        /// <summary>The file cannot be read (a directory, access denied, a bad path, an I/O error).</summary>
        public const string ConfigFileUnreadable = nameof(ConfigFileUnreadable);
        /// <summary>The text is not valid YAML/JSON, holds more than one document, or has the wrong shape (a top level that is not a map, a repeated <c>auth</c> or <c>images</c> key).</summary>
        public const string ConfigSyntaxError = nameof(ConfigSyntaxError);
        /// <summary>The file, a value in it, or the number of values in it is above <see cref="ConfigLimits"/>.</summary>
        public const string ConfigTooLarge = nameof(ConfigTooLarge);
        /// <summary>Lists and maps nest deeper than <see cref="ConfigLimits.MaxDepth"/>.</summary>
        public const string ConfigTooDeep = nameof(ConfigTooDeep);
        /// <summary>A warning: a key the file's format does not know; it is ignored.</summary>
        public const string ConfigUnknownKey = nameof(ConfigUnknownKey);
        /// <summary>The source, or one of several destinations, is empty or expands to an empty string.</summary>
        public const string RuleEmptySide = nameof(RuleEmptySide);
        /// <summary>A source or destination is not a valid image reference (or not a string), or the default destination is not a valid repository.</summary>
        public const string RuleInvalidReference = nameof(RuleInvalidReference);
        /// <summary>A destination names a different number of tags from the source (they map left to right), or more than one tag for a digest.</summary>
        public const string RuleTagCountMismatch = nameof(RuleTagCountMismatch);
        /// <summary>A destination names a digest, but the source names none or another one.</summary>
        public const string RuleDigestMismatch = nameof(RuleDigestMismatch);
        /// <summary>The source holds more than one tag regex, or a regex together with tags.</summary>
        public const string RuleMultipleRegex = nameof(RuleMultipleRegex);
        /// <summary>The source's tag regex is empty, does not compile, or is half-written (a slash at one end only).</summary>
        public const string RuleBadRegex = nameof(RuleBadRegex);
        /// <summary>A destination names tags, but the source selects all tags or a regex, so there is no tag list to map them onto.</summary>
        public const string RuleDestinationTagsNeedSourceTags = nameof(RuleDestinationTagsNeedSourceTags);
        /// <summary>The destination is empty and no default registry or namespace is set to make one.</summary>
        public const string RuleNoDefaultDestination = nameof(RuleNoDefaultDestination);
        /// <summary>A catalog rule (<c>registry/namespace/*</c>) breaks its grammar: a tag list or digest on the source, tags or a digest on its destination prefix, an OCI layout on either side, a '*' anywhere but a trailing <c>/*</c>, or a <c>/*</c> destination for a source that is not a catalog.</summary>
        public const string RuleCatalogInvalid = nameof(RuleCatalogInvalid);
        /// <summary>A catalog rule on a registry known to offer no catalog (Docker Hub).</summary>
        public const string RuleCatalogUnsupported = nameof(RuleCatalogUnsupported);
        /// <summary>A source is a key of an images file more than once; the later entry is dropped.</summary>
        public const string RuleDuplicateKey = nameof(RuleDuplicateKey);
        /// <summary>A rule's semver range is not a valid range (or not a string).</summary>
        public const string RuleBadSemVerRange = nameof(RuleBadSemVerRange);
        /// <summary>A rule's latest is not a whole number of at least 1.</summary>
        public const string RuleBadLatest = nameof(RuleBadLatest);
        /// <summary>A rule's platform entry is not <c>os/arch[/variant]</c> (or the list is not strings).</summary>
        public const string RuleBadPlatform = nameof(RuleBadPlatform);
        /// <summary>Exclude, semver or latest on a rule that names its tags or a digest: they filter a listed repository's tags, so they need all tags or a /regex/.</summary>
        public const string RuleSelectionNeedsTagList = nameof(RuleSelectionNeedsTagList);
        /// <summary>A rule written as a map in an images file has a key it does not know, or a key twice; the rule is dropped.</summary>
        public const string RuleUnknownKey = nameof(RuleUnknownKey);
        /// <summary>An auth entry is not a map, has a bad key, or has a bad, repeated or too long username, password or insecure value; the entry is dropped.</summary>
        public const string AuthInvalidEntry = nameof(AuthInvalidEntry);
        /// <summary>A warning: a key has a second auth entry, which replaces the first.</summary>
        public const string AuthDuplicateKey = nameof(AuthDuplicateKey);
        /// <summary>A warning: an auth entry's username or password uses an environment variable that is not set (it expands to empty).</summary>
        public const string AuthVariableUnset = nameof(AuthVariableUnset);
        /// <summary>A docker or podman credentials file (config.json, auth.json) that cannot be read, or an entry of it that cannot be used; the file or entry is ignored (a warning).</summary>
        public const string AuthDockerConfigInvalid = nameof(AuthDockerConfigInvalid);
    }

    /// <summary>Whether the rule or auth entry a <see cref="ConfigError"/> names was dropped or is still used.</summary>
    public enum ConfigSeverity
    {
        /// <summary>The rule or entry it names was dropped.</summary>
        Error,
        /// <summary>Reported, but the rule or entry it names is still used (unknown keys, a repeated auth key).</summary>
        Warning,
    }

    /// <summary>
    /// One problem in a configuration file or rule: where it is (file, 1-based line and column;
    /// 0 when not from a file), which rule, and what grammar point it breaks. Never holds a
    /// password or any other value read from an auth entry.
    /// </summary>
    public sealed class ConfigError
    {
        /// <summary>Builds the error and composes its <see cref="Message"/>; a null file or detail becomes empty.</summary>
        public ConfigError(string errorId, string? file, int line, int column, string? rule, string detail,
            ConfigSeverity severity = ConfigSeverity.Error)
        {
            ErrorId = errorId ?? throw new ArgumentNullException(nameof(errorId));
            File = file ?? string.Empty;
            Line = line;
            Column = column;
            Rule = rule;
            Detail = detail ?? string.Empty;
            Severity = severity;
            Message = Compose();
        }

        /// <summary>One of <see cref="ConfigErrorIds"/>.</summary>
        public string ErrorId { get; }
        /// <summary>The file as the caller named it; empty for rules made in code.</summary>
        public string File { get; }
        /// <summary>The 1-based line; 0 when not known (not from a file, or the file could not be read).</summary>
        public int Line { get; }
        /// <summary>The 1-based column; 0 when not known.</summary>
        public int Column { get; }
        /// <summary>The rule's source key as written, when the problem belongs to a rule.</summary>
        public string? Rule { get; }
        /// <summary>The problem alone, without location or rule.</summary>
        public string Detail { get; }
        /// <summary>Whether the rule or entry was dropped (<see cref="ConfigSeverity.Error"/>) or is still used.</summary>
        public ConfigSeverity Severity { get; }
        /// <summary><c>file:line:col: rule 'x': detail</c>.</summary>
        public string Message { get; }

        /// <summary><c>file:line</c>, or null when not from a file.</summary>
        public string? Location => File.Length == 0 ? null : Line > 0 ? File + ":" + Line.ToString(CultureInfo.InvariantCulture) : File;

        internal ConfigError WithPosition(string? file, int line, int column, string? rule) =>
            new ConfigError(ErrorId, file, line, column, rule ?? Rule, Detail, Severity);

        private string Compose()
        {
            var sb = new StringBuilder();
            if (File.Length > 0)
            {
                sb.Append(File);
                if (Line > 0) sb.Append(':').Append(Line.ToString(CultureInfo.InvariantCulture)).Append(':').Append(Column.ToString(CultureInfo.InvariantCulture));
                sb.Append(": ");
            }
            if (Rule != null) sb.Append("rule '").Append(Shorten(Rule)).Append("': ");
            sb.Append(ShortenDetail(Detail));
            return sb.ToString();
        }

        /// <summary>The most characters of one value a message shows.</summary>
        public const int MaxShownChars = 200;
        private const int MaxDetailChars = 1000;

        /// <summary>
        /// A value as messages show it: whole up to <see cref="MaxShownChars"/>, otherwise its start
        /// and its length (a 10 MB key must not become a 10 MB error message).
        /// </summary>
        public static string Shorten(string value) =>
            value == null || value.Length <= MaxShownChars ? value ?? string.Empty
            : value.Substring(0, MaxShownChars) + "… (" + value.Length.ToString("N0", CultureInfo.InvariantCulture) + " characters)";

        /// <summary>
        /// Details quote values (a destination, a tag list, a regex). A long detail has each long
        /// word shortened, and if it is still long, its middle cut out: the end says what is wrong.
        /// </summary>
        private static string ShortenDetail(string detail)
        {
            if (detail.Length <= MaxDetailChars) return detail;
            var sb = new StringBuilder();
            int i = 0;
            while (i < detail.Length)
            {
                int start = i;
                bool space = char.IsWhiteSpace(detail[i]);
                while (i < detail.Length && char.IsWhiteSpace(detail[i]) == space) i++;
                var run = detail.Substring(start, i - start);
                sb.Append(space ? (run.Length > 1 ? " " : run) : Shorten(run));
            }
            if (sb.Length <= MaxDetailChars) return sb.ToString();
            const int head = 600, tail = 300;
            var omitted = sb.Length - head - tail;
            return sb.ToString(0, head) + " … (" + omitted.ToString("N0", CultureInfo.InvariantCulture) + " characters left out) … " + sb.ToString(sb.Length - tail, tail);
        }

        /// <summary><see cref="Message"/> after the severity and the error id: <c>error RuleBadRegex: …</c>.</summary>
        public override string ToString() => (Severity == ConfigSeverity.Warning ? "warning " : "error ") + ErrorId + ": " + Message;
    }

    /// <summary>A configuration file that cannot be used at all (missing, unreadable, not YAML/JSON, wrong shape).</summary>
    public class ConfigException : Exception
    {
        /// <summary>The exception for <paramref name="error"/>; its message is the error's <see cref="ConfigError.Message"/>.</summary>
        public ConfigException(ConfigError error) : base(error?.Message) => Error = error ?? throw new ArgumentNullException(nameof(error));
        /// <summary>As <see cref="ConfigException(ConfigError)"/>, with the exception that caused it (an I/O or parser error).</summary>
        public ConfigException(ConfigError error, Exception? inner) : base(error?.Message, inner) => Error = error ?? throw new ArgumentNullException(nameof(error));
        /// <summary>The problem, with its location.</summary>
        public ConfigError Error { get; }
        /// <summary>The error's <see cref="ConfigError.ErrorId"/>.</summary>
        public string ErrorId => Error.ErrorId;
    }

    /// <summary>A rule that breaks the grammar (thrown by <see cref="SyncRule.Create"/>).</summary>
    public sealed class RuleException : ConfigException
    {
        /// <summary>The exception for a rule's <paramref name="error"/>.</summary>
        public RuleException(ConfigError error) : base(error) { }
    }
}
