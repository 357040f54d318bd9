using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using OciSync.Core.Content;

namespace OciSync.Core.Configuration
{
    /// <summary>
    /// A rule's platform list: entries <c>os/arch[/variant]</c> (<c>linux/amd64</c>, <c>linux/arm64/v8</c>,
    /// <c>windows/amd64</c>). A platform passes when it matches one entry: the same OS and architecture
    /// (case-insensitive), and the entry's variant when it names one (<c>linux/arm</c> takes every ARM
    /// variant). An arm64 image without a variant is <c>v8</c>, as containerd reads it. Index entries
    /// without a platform (attestations) do not pass. It applies to the rule's copies together with
    /// the run's <c>-OS</c>/<c>-Arch</c> filter: a platform is copied only when both keep it.
    /// </summary>
    public sealed class RulePlatforms
    {
        private static readonly Regex Part = new Regex(@"^[a-z0-9][a-z0-9._-]{0,63}$", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

        private RulePlatforms(IReadOnlyList<(string Os, string Arch, string? Variant)> entries) => Entries = entries;

        /// <summary>The entries, lower-cased, duplicates dropped, in the written order.</summary>
        public IReadOnlyList<(string Os, string Arch, string? Variant)> Entries { get; }

        /// <summary>True when <paramref name="platform"/> matches an entry.</summary>
        public bool Matches(Platform? platform)
        {
            if (platform == null) return false;
            return Entries.Any(e =>
                string.Equals(e.Os, platform.Os, StringComparison.OrdinalIgnoreCase) &&
                string.Equals(e.Arch, platform.Architecture, StringComparison.OrdinalIgnoreCase) &&
                (e.Variant == null || string.Equals(e.Variant, VariantOf(platform), StringComparison.OrdinalIgnoreCase)));
        }

        private static string? VariantOf(Platform p) =>
            !string.IsNullOrEmpty(p.Variant) ? p.Variant
            : string.Equals(p.Architecture, "arm64", StringComparison.OrdinalIgnoreCase) ? "v8" : null;

        /// <summary>The entries as a rule spells them: <c>linux/amd64</c>.</summary>
        public IEnumerable<string> Spelled => Entries.Select(e => e.Variant == null ? e.Os + "/" + e.Arch : e.Os + "/" + e.Arch + "/" + e.Variant);

        /// <summary><c>linux/amd64,linux/arm64/v8</c>.</summary>
        public override string ToString() => string.Join(",", Spelled);

        /// <summary>
        /// Reads entries (each may hold several, comma-separated). Null or nothing but blanks: null
        /// (no list). False with the reason when an entry is not <c>os/arch[/variant]</c>.
        /// </summary>
        public static bool TryParse(IEnumerable<string?>? values, out RulePlatforms? platforms, out string problem)
        {
            platforms = null;
            problem = string.Empty;
            var entries = new List<(string, string, string?)>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var value in values ?? Enumerable.Empty<string?>())
            {
                foreach (var raw in (value ?? string.Empty).Split(','))
                {
                    var text = raw.Trim();
                    if (text.Length == 0) continue;
                    var parts = text.Split('/');
                    if (parts.Length < 2 || parts.Length > 3 || parts.Any(p => !Part.IsMatch(p)))
                    {
                        problem = $"the platform '{ConfigError.Shorten(text)}' is not os/arch[/variant] (e.g. linux/amd64, linux/arm64/v8).";
                        return false;
                    }
                    var entry = (parts[0].ToLowerInvariant(), parts[1].ToLowerInvariant(), parts.Length == 3 ? parts[2].ToLowerInvariant() : null);
                    if (seen.Add(entry.Item1 + "/" + entry.Item2 + "/" + entry.Item3)) entries.Add(entry);
                }
            }
            if (entries.Count > 0) platforms = new RulePlatforms(entries.AsReadOnly());
            return true;
        }
    }
}
