using System.Linq;
using OciSync.Core.Configuration;

namespace OciSync.PowerShell.Infrastructure
{
    /// <summary>
    /// -ExcludeTag, -SemVer, -Latest and -Platform as a rule's <see cref="TagSelectionSpec"/>. The
    /// parameters are declared on New-SyncRule and on the -Source/-Destination set of Get-SyncPlan and
    /// Invoke-ImageSync (two cmdlet hierarchies); the rule grammar validates them (RuleBadRegex,
    /// RuleBadSemVerRange, RuleBadLatest, RuleBadPlatform, RuleSelectionNeedsTagList).
    /// </summary>
    internal static class TagSelectionParameters
    {
        /// <summary>The selection given, or null when none of the four was.</summary>
        public static TagSelectionSpec? Spec(string? excludeTag, string? semVer, int? latest, string[]? platform)
        {
            var platforms = platform?.Where(p => p != null).ToArray();
            if (excludeTag == null && semVer == null && latest == null && (platforms == null || platforms.Length == 0)) return null;
            return new TagSelectionSpec
            {
                ExcludeTag = excludeTag,
                SemVer = semVer,
                Latest = latest,
                Platforms = platforms != null && platforms.Length > 0 ? platforms : null,
            };
        }
    }
}
