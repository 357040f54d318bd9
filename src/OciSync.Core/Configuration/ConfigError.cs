using System;
using System.Globalization;
using System.Text;

namespace OciSync.Core.Configuration
{
    /// <summary>The stable identifiers of configuration problems (cmdlets use them as ErrorId).</summary>
    public static class ConfigErrorIds
    {
        public const string ConfigFileNotFound = nameof(ConfigFileNotFound);
        public const string ConfigFileUnreadable = nameof(ConfigFileUnreadable);
        public const string ConfigSyntaxError = nameof(ConfigSyntaxError);
        /// <summary>The file, a value in it, or the number of values in it is above <see cref="ConfigLimits"/>.</summary>
        public const string ConfigTooLarge = nameof(ConfigTooLarge);
        /// <summary>Lists and maps nest deeper than <see cref="ConfigLimits.MaxDepth"/>.</summary>
        public const string ConfigTooDeep = nameof(ConfigTooDeep);
        public const string ConfigUnknownKey = nameof(ConfigUnknownKey);
        public const string RuleEmptySide = nameof(RuleEmptySide);
        public const string RuleInvalidReference = nameof(RuleInvalidReference);
        public const string RuleTagCountMismatch = nameof(RuleTagCountMismatch);
        public const string RuleDigestMismatch = nameof(RuleDigestMismatch);
        public const string RuleMultipleRegex = nameof(RuleMultipleRegex);
        public const string RuleBadRegex = nameof(RuleBadRegex);
        public const string RuleDestinationTagsNeedSourceTags = nameof(RuleDestinationTagsNeedSourceTags);
        public const string RuleNoDefaultDestination = nameof(RuleNoDefaultDestination);
        public const string RuleDuplicateKey = nameof(RuleDuplicateKey);
        public const string AuthInvalidEntry = nameof(AuthInvalidEntry);
        public const string AuthDuplicateKey = nameof(AuthDuplicateKey);
        /// <summary>A warning: an auth entry's username or password uses an environment variable that is not set (it expands to empty).</summary>
        public const string AuthVariableUnset = nameof(AuthVariableUnset);
    }

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

        public string ErrorId { get; }
        /// <summary>The file as the caller named it; empty for rules made in code.</summary>
        public string File { get; }
        public int Line { get; }
        public int Column { get; }
        /// <summary>The rule's source key as written, when the problem belongs to a rule.</summary>
        public string? Rule { get; }
        /// <summary>The problem alone, without location or rule.</summary>
        public string Detail { get; }
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

        public override string ToString() => (Severity == ConfigSeverity.Warning ? "warning " : "error ") + ErrorId + ": " + Message;
    }

    /// <summary>A configuration file that cannot be used at all (missing, unreadable, not YAML/JSON, wrong shape).</summary>
    public class ConfigException : Exception
    {
        public ConfigException(ConfigError error) : base(error?.Message) => Error = error ?? throw new ArgumentNullException(nameof(error));
        public ConfigException(ConfigError error, Exception? inner) : base(error?.Message, inner) => Error = error ?? throw new ArgumentNullException(nameof(error));
        public ConfigError Error { get; }
        public string ErrorId => Error.ErrorId;
    }

    /// <summary>A rule that breaks the grammar (thrown by <see cref="SyncRule.Create"/>).</summary>
    public sealed class RuleException : ConfigException
    {
        public RuleException(ConfigError error) : base(error) { }
    }
}
