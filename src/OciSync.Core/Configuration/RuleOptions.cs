using System;

namespace OciSync.Core.Configuration
{
    /// <summary>What rule parsing needs from outside the rule: defaults for empty destinations and the environment.</summary>
    public sealed class RuleOptions
    {
        /// <summary>Registry for empty destinations (image-syncer <c>--registry</c>); wins over env <c>DEFAULT_REGISTRY</c>.</summary>
        public string? DefaultRegistry { get; set; }
        /// <summary>Namespace for empty destinations (image-syncer <c>--namespace</c>); wins over env <c>DEFAULT_NAMESPACE</c>.</summary>
        public string? DefaultNamespace { get; set; }
        /// <summary>Where <c>${VAR}</c>/<c>$VAR</c> and the DEFAULT_* variables come from.</summary>
        public Func<string, string?> GetEnvironmentVariable { get; set; } = Environment.GetEnvironmentVariable;

        /// <summary>
        /// Makes an OCI layout directory (<c>oci:PATH</c>) absolute: the cmdlets resolve it against the
        /// PowerShell location, which is not the process's current directory.
        /// </summary>
        public Func<string, string> ResolvePath { get; set; } = System.IO.Path.GetFullPath;

        internal static readonly RuleOptions Default = new RuleOptions();

        internal string? ResolveDefaultRegistry() => Pick(DefaultRegistry, "DEFAULT_REGISTRY");
        internal string? ResolveDefaultNamespace() => Pick(DefaultNamespace, "DEFAULT_NAMESPACE");

        private string? Pick(string? option, string variable)
        {
            if (!string.IsNullOrWhiteSpace(option)) return option!.Trim();
            var env = (GetEnvironmentVariable ?? Environment.GetEnvironmentVariable)(variable);
            return string.IsNullOrWhiteSpace(env) ? null : env!.Trim();
        }

        internal string Expand(string text) => EnvironmentExpander.Expand(text, GetEnvironmentVariable ?? Environment.GetEnvironmentVariable);
    }

    /// <summary><c>${VAR}</c> and <c>$VAR</c> replaced from the environment, as image-syncer (Go <c>os.ExpandEnv</c>) does.</summary>
    internal static class EnvironmentExpander
    {
        /// <summary>
        /// An unset variable becomes empty. A <c>$</c> not followed by a name or <c>{name}</c>
        /// stays as it is; <c>${</c> without its <c>}</c> stays as it is.
        /// </summary>
        public static string Expand(string text, Func<string, string?> lookup)
        {
            if (string.IsNullOrEmpty(text) || text.IndexOf('$') < 0) return text;
            var sb = new System.Text.StringBuilder(text.Length);
            int i = 0;
            while (i < text.Length)
            {
                var c = text[i];
                if (c != '$' || i + 1 >= text.Length) { sb.Append(c); i++; continue; }
                var next = text[i + 1];
                if (next == '{')
                {
                    var close = text.IndexOf('}', i + 2);
                    if (close > i + 2 && IsName(text, i + 2, close))
                    {
                        sb.Append(lookup(text.Substring(i + 2, close - i - 2)) ?? string.Empty);
                        i = close + 1;
                        continue;
                    }
                    sb.Append(c); i++; continue;
                }
                if (IsNameStart(next))
                {
                    int end = i + 1;
                    while (end < text.Length && IsNamePart(text[end])) end++;
                    sb.Append(lookup(text.Substring(i + 1, end - i - 1)) ?? string.Empty);
                    i = end;
                    continue;
                }
                sb.Append(c); i++;
            }
            return sb.ToString();
        }

        private static bool IsName(string s, int start, int end)
        {
            if (!IsNameStart(s[start])) return false;
            for (int k = start + 1; k < end; k++) if (!IsNamePart(s[k])) return false;
            return true;
        }

        private static bool IsNameStart(char c) => c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
        private static bool IsNamePart(char c) => IsNameStart(c) || (c >= '0' && c <= '9');
    }
}
