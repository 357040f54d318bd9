using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using NuGet.Versioning;

namespace OciSync.Core.Configuration
{
    /// <summary>
    /// Tags read as semantic versions. A tag is a version when it is <c>[v]MAJOR[.MINOR[.PATCH]][-PRERELEASE]</c>
    /// with numbers without leading zeros: <c>1.2.3</c>, <c>v1.2.3</c>, <c>1.20</c> (= 1.20.0), <c>1</c> (= 1.0.0),
    /// <c>1.2.3-rc.1</c>. Everything after the first <c>-</c> is a prerelease in semver's sense, so
    /// <c>1.25.3-alpine</c> is a prerelease of 1.25.3 (it sorts below it). Four-part versions
    /// (<c>1.2.3.4</c>), dates with leading zeros (<c>2024.01.05</c>), <c>latest</c> and numbers
    /// too large for 32 bits are not versions. Parsing and ordering are NuGet.Versioning's
    /// (SemVer 2.0 precedence; <c>1.2</c>, <c>1.2.0</c> and <c>v1.2.0</c> are the same version).
    /// </summary>
    public static class SemVerTag
    {
        private static readonly Regex Shape = new Regex(
            @"^[vV]?(?:0|[1-9][0-9]{0,9})(?:\.(?:0|[1-9][0-9]{0,9})){0,2}(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$",
            RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

        /// <summary>The version a tag spells, or false when it is not one (see the class remarks).</summary>
        public static bool TryParse(string? tag, out NuGetVersion? version)
        {
            version = null;
            if (string.IsNullOrEmpty(tag) || tag!.Length > 128 || !Shape.IsMatch(tag)) return false;
            var text = tag[0] == 'v' || tag[0] == 'V' ? tag.Substring(1) : tag;
            return NuGetVersion.TryParse(text, out version) && version != null;
        }
    }

    /// <summary>
    /// A range of semantic versions, written npm-style: comparators joined by spaces (all must hold),
    /// alternatives joined by <c>||</c>. Comparators are <c>&gt;=V</c>, <c>&gt;V</c>, <c>&lt;=V</c>,
    /// <c>&lt;V</c>, <c>=V</c>, a bare version (<c>1.2.3</c> exactly; a partial <c>1.2</c> or <c>1.2.x</c>
    /// means every 1.2.*), <c>^V</c> (same major; for 0.x the same minor), <c>~V</c> (same minor) and
    /// <c>A - B</c>; <c>*</c> is any version. A missing minor or patch after an operator is 0
    /// (<c>&lt;2</c> is <c>&lt;2.0.0</c>). Versions may have a <c>v</c> prefix. NuGet's interval
    /// notation (<c>[1.20,2.0)</c>) is read too. Prerelease versions (tags with a <c>-suffix</c>) are in
    /// the range only when the range itself names a prerelease, e.g. <c>&gt;=1.20.0-0 &lt;2</c>.
    /// </summary>
    public sealed class SemVerRange
    {
        private enum Op { Ge, Gt, Le, Lt, Eq }

        private readonly IReadOnlyList<IReadOnlyList<(Op Op, NuGetVersion Version)>> _sets;
        private readonly VersionRange? _interval;

        private SemVerRange(string text, IReadOnlyList<IReadOnlyList<(Op, NuGetVersion)>> sets, VersionRange? interval, bool prerelease)
        {
            Text = text;
            _sets = sets;
            _interval = interval;
            IncludesPrerelease = prerelease;
        }

        /// <summary>The range as written (trimmed).</summary>
        public string Text { get; }
        /// <summary>True when the range names a prerelease version, so prerelease tags may be in it.</summary>
        public bool IncludesPrerelease { get; }

        /// <summary>True when <paramref name="version"/> is in the range (a prerelease only when <see cref="IncludesPrerelease"/>).</summary>
        public bool Contains(NuGetVersion version)
        {
            if (version == null) return false;
            if (version.IsPrerelease && !IncludesPrerelease) return false;
            if (_interval != null) return _interval.Satisfies(version, VersionComparer.VersionRelease);
            return _sets.Any(set => set.All(c => Holds(c.Op, VersionComparer.VersionRelease.Compare(version, c.Version))));
        }

        private static bool Holds(Op op, int cmp) => op switch
        {
            Op.Ge => cmp >= 0,
            Op.Gt => cmp > 0,
            Op.Le => cmp <= 0,
            Op.Lt => cmp < 0,
            _ => cmp == 0,
        };

        /// <inheritdoc/>
        public override string ToString() => Text;

        /// <summary>Parses a range; false with the reason in words when it is not one.</summary>
        public static bool TryParse(string? text, out SemVerRange? range, out string problem)
        {
            range = null;
            problem = string.Empty;
            var written = (text ?? string.Empty).Trim();
            if (written.Length == 0) { problem = "the semver range is empty."; return false; }
            if (written.Length > 1000) { problem = "the semver range is longer than 1,000 characters."; return false; }

            if (written[0] == '[' || written[0] == '(')
            {
                if (!VersionRange.TryParse(written, allowFloating: false, out var interval) || interval == null)
                {
                    problem = $"'{written}' is not a valid version interval (write e.g. [1.20,2.0) or >=1.20 <2).";
                    return false;
                }
                var pre = (interval.MinVersion?.IsPrerelease ?? false) || (interval.MaxVersion?.IsPrerelease ?? false);
                range = new SemVerRange(written, Array.Empty<IReadOnlyList<(Op, NuGetVersion)>>(), interval, pre);
                return true;
            }

            var sets = new List<IReadOnlyList<(Op, NuGetVersion)>>();
            bool prerelease = false;
            foreach (var alternative in written.Split(new[] { "||" }, StringSplitOptions.None))
            {
                var tokens = Tokens(alternative);
                if (tokens.Count == 0) { problem = $"'{written}' has an empty alternative around '||'."; return false; }
                var set = new List<(Op, NuGetVersion)>();
                for (int i = 0; i < tokens.Count; i++)
                {
                    if (i + 2 < tokens.Count && tokens[i + 1] == "-")
                    {
                        // A - B: from A (missing parts 0) to B (a partial B includes all of it).
                        if (!TryPartial(tokens[i], out var low, out _, out problem) || !TryPartial(tokens[i + 2], out var high, out var parts, out problem))
                            return Fail(written, ref problem);
                        set.Add((Op.Ge, low!));
                        set.Add(parts == 3 ? (Op.Le, high!) : (Op.Lt, Bump(high!, parts)));
                        prerelease |= low!.IsPrerelease || high!.IsPrerelease;
                        i += 2;
                        continue;
                    }
                    if (!TryComparator(tokens[i], set, out var pre, out problem)) return Fail(written, ref problem);
                    prerelease |= pre;
                }
                sets.Add(set);
            }
            range = new SemVerRange(written, sets, null, prerelease);
            return true;
        }

        private static bool Fail(string written, ref string problem)
        {
            problem = $"'{written}' is not a valid semver range: {problem}";
            return false;
        }

        /// <summary>Splits on spaces, joining an operator written apart from its version (<c>&gt;= 1.2</c>).</summary>
        private static List<string> Tokens(string text)
        {
            var raw = text.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
            var tokens = new List<string>();
            for (int i = 0; i < raw.Length; i++)
            {
                var t = raw[i];
                if ((t == ">=" || t == "<=" || t == ">" || t == "<" || t == "=" || t == "^" || t == "~") && i + 1 < raw.Length) t += raw[++i];
                tokens.Add(t);
            }
            return tokens;
        }

        private static bool TryComparator(string token, List<(Op, NuGetVersion)> set, out bool prerelease, out string problem)
        {
            prerelease = false;
            problem = string.Empty;
            string op = token.StartsWith(">=", StringComparison.Ordinal) || token.StartsWith("<=", StringComparison.Ordinal) ? token.Substring(0, 2)
                : token.Length > 0 && (token[0] == '>' || token[0] == '<' || token[0] == '=' || token[0] == '^' || token[0] == '~') ? token.Substring(0, 1)
                : string.Empty;
            var body = token.Substring(op.Length);
            if (body == "*" || body == "x" || body == "X")
            {
                if (op.Length == 0 || op == ">=" ) { set.Add((Op.Ge, new NuGetVersion(0, 0, 0))); return true; }
                problem = $"'{token}': '{op}' needs a version.";
                return false;
            }
            if (!TryPartial(body, out var v, out var parts, out problem)) return false;
            prerelease = v!.IsPrerelease;
            switch (op)
            {
                case ">=": set.Add((Op.Ge, v)); break;
                case ">": set.Add((Op.Gt, v)); break;
                case "<=": set.Add((Op.Le, v)); break;
                case "<": set.Add((Op.Lt, v)); break;
                case "=":
                case "":
                    if (parts == 3) set.Add((Op.Eq, v));
                    else { set.Add((Op.Ge, v)); set.Add((Op.Lt, Bump(v, parts))); }
                    break;
                case "~":
                    set.Add((Op.Ge, v));
                    set.Add((Op.Lt, Bump(v, parts == 1 ? 1 : 2)));
                    break;
                case "^":
                    set.Add((Op.Ge, v));
                    // The first non-zero part stays; a partial 0.x or 0 keeps what was written.
                    int keep = v.Major != 0 || parts == 1 ? 1 : v.Minor != 0 || parts == 2 ? 2 : 3;
                    set.Add((Op.Lt, Bump(v, keep)));
                    break;
            }
            return true;
        }

        /// <summary>The next version after every <paramref name="parts"/>-part prefix of <paramref name="v"/>: 1.2 (2 parts) → 1.3.0.</summary>
        private static NuGetVersion Bump(NuGetVersion v, int parts) => parts switch
        {
            1 => new NuGetVersion(v.Major + 1, 0, 0),
            2 => new NuGetVersion(v.Major, v.Minor + 1, 0),
            _ => new NuGetVersion(v.Major, v.Minor, v.Patch + 1),
        };

        private static readonly Regex Partial = new Regex(
            @"^[vV]?(0|[1-9][0-9]{0,8})(?:\.(0|[1-9][0-9]{0,8}|[xX*]))?(?:\.(0|[1-9][0-9]{0,8}|[xX*]))?(-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$",
            RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

        /// <summary>A version with 1–3 parts (x/* for a missing one), missing parts 0; <paramref name="parts"/> says how many were given.</summary>
        private static bool TryPartial(string text, out NuGetVersion? version, out int parts, out string problem)
        {
            version = null;
            parts = 0;
            problem = string.Empty;
            var m = Partial.Match(text);
            if (!m.Success)
            {
                problem = $"'{text}' is not a version (write MAJOR[.MINOR[.PATCH]][-PRERELEASE], optionally with a leading v).";
                return false;
            }
            bool Given(Group g) => g.Success && g.Value != "x" && g.Value != "X" && g.Value != "*";
            parts = !Given(m.Groups[2]) ? 1 : !Given(m.Groups[3]) ? 2 : 3;
            if (parts < 3 && Given(m.Groups[3])) { problem = $"'{text}' has a wildcard before a number."; return false; }
            if (parts < 3 && m.Groups[4].Success) { problem = $"'{text}': a prerelease needs all three parts (1.2.3-rc.1)."; return false; }
            int Number(Group g) => Given(g) ? int.Parse(g.Value, CultureInfo.InvariantCulture) : 0;
            var release = new Version(Number(m.Groups[1]), Number(m.Groups[2]), Number(m.Groups[3]));
            version = m.Groups[4].Success ? new NuGetVersion(release, m.Groups[4].Value.Substring(1)) : new NuGetVersion(release);
            return true;
        }
    }
}
