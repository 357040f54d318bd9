using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using NuGet.Versioning;

namespace OciSync.Core.Configuration
{
    /// <summary>
    /// A rule's tag selection as written (parameters of New-SyncRule / Invoke-ImageSync, or the keys of
    /// an images file's rule mapping), before it is validated into a <see cref="TagSelection"/>.
    /// </summary>
    public sealed class TagSelectionSpec
    {
        /// <summary>A regex (unanchored, like the include /regex/); listed tags it matches are left out.</summary>
        public string? ExcludeTag { get; set; }
        /// <summary>A semver range (<see cref="SemVerRange"/>): only tags that are versions in it are kept.</summary>
        public string? SemVer { get; set; }
        /// <summary>Keep only the tags of the N highest versions left after the other filters; at least 1.</summary>
        public int? Latest { get; set; }
        /// <summary>Platforms to copy of this rule's images (<c>os/arch[/variant]</c>, see <see cref="RulePlatforms"/>).</summary>
        public IReadOnlyList<string>? Platforms { get; set; }
    }

    /// <summary>
    /// What a rule does with the tags the registry lists, after its include selector (all tags, or the
    /// source's <c>/regex/</c>), in this order: <b>exclude</b> drops the tags its regex matches;
    /// <b>semver</b> keeps the tags that are versions in its range (<see cref="SemVerTag"/>;
    /// other tags go); <b>latest N</b> keeps the tags of the N highest versions left (tags that are not
    /// versions are never among them; tags that spell the same version, <c>1.2</c> and <c>1.2.0</c>,
    /// count as one and are kept together). Prerelease tags (<c>1.3.0-rc.1</c>, and
    /// <c>1.25.3-alpine</c>) are candidates for semver and latest only when the range names a
    /// prerelease (<c>&gt;=1.20.0-0</c>); without a range, latest takes releases only.
    /// These three apply only to rules that list tags; on a tag list or a digest they are a rule error
    /// (<see cref="ConfigErrorIds.RuleSelectionNeedsTagList"/>). <b>platforms</b> applies to any rule.
    /// Immutable.
    /// </summary>
    public sealed class TagSelection
    {
        /// <summary>No selection: every tag the include selector takes, every platform the run allows.</summary>
        public static readonly TagSelection None = new TagSelection(null, null, null, null);

        private TagSelection(Regex? exclude, SemVerRange? semVer, int? latest, RulePlatforms? platforms)
        {
            Exclude = exclude;
            SemVer = semVer;
            Latest = latest;
            Platforms = platforms;
        }

        /// <summary>The exclude regex; null for none.</summary>
        public Regex? Exclude { get; }
        /// <summary>The semver range; null for none.</summary>
        public SemVerRange? SemVer { get; }
        /// <summary>How many of the highest versions to keep; null for all.</summary>
        public int? Latest { get; }
        /// <summary>The rule's platform list; null for every platform the run allows.</summary>
        public RulePlatforms? Platforms { get; }

        /// <summary>True when exclude, semver or latest filter the listed tags.</summary>
        public bool FiltersTags => Exclude != null || SemVer != null || Latest != null;
        /// <summary>True when nothing is selected beyond the include selector.</summary>
        public bool IsEmpty => !FiltersTags && Platforms == null;

        /// <summary>The selection as the plan shows it: <c>exclude /-rc/, semver &gt;=1.20 &lt;2, latest 3, platforms linux/amd64</c>; empty for none.</summary>
        public override string ToString()
        {
            var parts = new List<string>();
            if (Exclude != null) parts.Add("exclude /" + Exclude + "/");
            if (SemVer != null) parts.Add("semver " + SemVer.Text);
            if (Latest != null) parts.Add("latest " + Latest.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (Platforms != null) parts.Add("platforms " + Platforms);
            return string.Join(", ", parts);
        }

        /// <summary>The selection as written, for writing it back (images files) or building it again.</summary>
        public TagSelectionSpec ToSpec() => new TagSelectionSpec
        {
            ExcludeTag = Exclude?.ToString(),
            SemVer = SemVer?.Text,
            Latest = Latest,
            Platforms = Platforms?.Spelled.ToList(),
        };

        /// <summary>
        /// Exclude, semver and latest over <paramref name="included"/> (valid tags the include selector
        /// took, in listing order); the kept tags in the same order. The exclude regex has the include
        /// regex's time limits (<see cref="TagFilter"/>).
        /// </summary>
        internal IEnumerable<string> Apply(IReadOnlyList<string> included)
        {
            if (!FiltersTags) return included;
            IEnumerable<string> kept = included;
            if (Exclude != null)
            {
                var filter = new TagFilter(Exclude);
                kept = kept.Where(t => !filter.IsMatch(t)).ToList();
            }
            if (SemVer == null && Latest == null) return kept;

            bool prerelease = SemVer?.IncludesPrerelease ?? false;
            var versions = new List<(string Tag, NuGetVersion Version)>();
            foreach (var tag in kept)
            {
                if (!SemVerTag.TryParse(tag, out var v)) continue;
                if (v!.IsPrerelease && !prerelease) continue;
                if (SemVer != null && !SemVer.Contains(v)) continue;
                versions.Add((tag, v));
            }
            if (Latest == null) return versions.Select(x => x.Tag);

            var top = new HashSet<NuGetVersion>(versions.Select(x => x.Version).Distinct<NuGetVersion>(VersionComparer.VersionRelease)
                .OrderByDescending(v => v, VersionComparer.VersionRelease).Take(Latest.Value), VersionComparer.VersionRelease);
            return versions.Where(x => top.Contains(x.Version)).Select(x => x.Tag);
        }

        /// <summary>Validates <paramref name="spec"/> (null: <see cref="None"/>); false with the error id and the reason.</summary>
        internal static bool TryCreate(TagSelectionSpec? spec, out TagSelection selection, out string errorId, out string problem)
        {
            selection = None;
            errorId = problem = string.Empty;
            if (spec == null) return true;

            Regex? exclude = null;
            if (spec.ExcludeTag != null)
            {
                var pattern = spec.ExcludeTag;
                if (pattern.Length >= 2 && pattern[0] == '/' && pattern[pattern.Length - 1] == '/') pattern = pattern.Substring(1, pattern.Length - 2);
                if (pattern.Length == 0) { errorId = ConfigErrorIds.RuleBadRegex; problem = "the exclude regex is empty."; return false; }
                try { exclude = TagFilter.Compile(pattern); }
                catch (ArgumentException e)
                {
                    errorId = ConfigErrorIds.RuleBadRegex;
                    problem = $"the exclude regex /{pattern}/ is not a valid regular expression: {e.Message}";
                    return false;
                }
            }

            SemVerRange? range = null;
            if (spec.SemVer != null && !SemVerRange.TryParse(spec.SemVer, out range, out var why))
            {
                errorId = ConfigErrorIds.RuleBadSemVerRange;
                problem = why;
                return false;
            }

            if (spec.Latest != null && spec.Latest.Value < 1)
            {
                errorId = ConfigErrorIds.RuleBadLatest;
                problem = $"latest is {spec.Latest.Value}; it must be a whole number of at least 1 (how many of the highest versions to keep).";
                return false;
            }

            if (!RulePlatforms.TryParse(spec.Platforms, out var platforms, out why))
            {
                errorId = ConfigErrorIds.RuleBadPlatform;
                problem = why;
                return false;
            }

            if (exclude == null && range == null && spec.Latest == null && platforms == null) return true;
            selection = new TagSelection(exclude, range, spec.Latest, platforms);
            return true;
        }
    }
}
