using System;
using System.Collections.Generic;
using System.Linq;
using OciSync.Core.Content;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// image-syncer's <c>--os</c>/<c>--arch</c> filters: entries <c>os[:osversion]</c> and
    /// <c>arch[:variant]</c>. An empty list places no condition. A platform passes when it matches
    /// some OS entry and some architecture entry.
    /// </summary>
    public sealed class PlatformFilter
    {
        private readonly IReadOnlyList<(string Name, string? Detail)> _os;
        private readonly IReadOnlyList<(string Name, string? Detail)> _arch;

        /// <summary>A filter of OS and architecture entries; a value may hold several, comma-separated, and null means no entry.</summary>
        public PlatformFilter(IEnumerable<string>? os, IEnumerable<string>? arch)
        {
            _os = Split(os);
            _arch = Split(arch);
        }

        /// <summary>True when neither list has an entry, so every platform passes.</summary>
        public bool IsEmpty => _os.Count == 0 && _arch.Count == 0;

        /// <summary>A platformless index entry (an attestation, say) only passes when nothing is filtered.</summary>
        public bool Matches(Platform? platform)
        {
            if (IsEmpty) return true;
            if (platform == null) return false;
            return MatchesAny(_os, platform.Os, platform.OsVersion) && MatchesAny(_arch, platform.Architecture, platform.Variant);
        }

        private static bool MatchesAny(IReadOnlyList<(string Name, string? Detail)> entries, string value, string? detail) =>
            entries.Count == 0 || entries.Any(e =>
                string.Equals(e.Name, value, StringComparison.OrdinalIgnoreCase) &&
                (e.Detail == null || string.Equals(e.Detail, detail, StringComparison.OrdinalIgnoreCase)));

        private static IReadOnlyList<(string, string?)> Split(IEnumerable<string>? values) =>
            (values ?? Enumerable.Empty<string>())
                .SelectMany(v => v.Split(','))
                .Select(v => v.Trim())
                .Where(v => v.Length > 0)
                .Select(v =>
                {
                    var colon = v.IndexOf(':');
                    return colon < 0 ? (v, (string?)null) : (v.Substring(0, colon), (string?)v.Substring(colon + 1));
                })
                .ToList();

        /// <inheritdoc/>
        public override string ToString() =>
            IsEmpty ? "(all platforms)" : $"os: {Describe(_os)}; arch: {Describe(_arch)}";

        private static string Describe(IReadOnlyList<(string Name, string? Detail)> e) =>
            e.Count == 0 ? "any" : string.Join(", ", e.Select(x => x.Detail == null ? x.Name : x.Name + ":" + x.Detail));
    }
}
