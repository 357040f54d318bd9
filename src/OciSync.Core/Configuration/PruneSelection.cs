using System;
using System.Collections.Generic;
using System.Linq;
using OciSync.Core.References;

namespace OciSync.Core.Configuration
{
    /// <summary>
    /// Which destination tags a rule's -Prune may delete, as a pure function of the rule and two tag lists. It
    /// asks the rule's own <see cref="SyncRule.Expand"/> both questions — what it produces from the source's
    /// listing, and what it would produce if the destination's tags were listed — so a selection added to
    /// Expand (excludes, versions) decides pruning as it decides copying, without a second filter here.
    /// </summary>
    public static class PruneSelection
    {
        /// <summary>
        /// True when the rule's source tags come from a listing (all tags, or a regex), the only rules that
        /// prune: an explicit tag list or a digest says nothing about the tags it does not name.
        /// </summary>
        public static bool CanPrune(SyncRule rule) => rule != null && rule.NeedsTagList;

        /// <summary>
        /// The stale tags of <paramref name="destinationRepository"/> (one of the rule's targets): tags it has
        /// (<paramref name="destinationTags"/>) that the rule's selection would produce from a source tag of the
        /// same name, but does not produce from what the source lists now (<paramref name="sourceTags"/>). Each
        /// is returned as the copy that would have made it (source tag → destination tag). Tags the selection
        /// would not produce (a <c>/^v1/</c> rule and <c>latest</c>) are never stale. Empty for a rule that
        /// cannot prune.
        /// </summary>
        public static IReadOnlyList<ImageCopy> Stale(SyncRule rule, ImageReference destinationRepository, IReadOnlyList<string> sourceTags, IReadOnlyList<string> destinationTags)
        {
            if (rule == null) throw new ArgumentNullException(nameof(rule));
            if (destinationRepository == null) throw new ArgumentNullException(nameof(destinationRepository));
            if (sourceTags == null) throw new ArgumentNullException(nameof(sourceTags));
            if (destinationTags == null) throw new ArgumentNullException(nameof(destinationTags));
            if (!CanPrune(rule)) return Array.Empty<ImageCopy>();
            var repository = destinationRepository.RepositoryName;
            var present = new HashSet<string>(destinationTags.Where(t => t != null), StringComparer.Ordinal);
            var produced = new HashSet<string>(rule.Expand(sourceTags).Where(c => c.Destination.RepositoryName == repository).Select(c => c.Destination.ToString()), StringComparer.Ordinal);
            var stale = new List<ImageCopy>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var copy in rule.Expand(destinationTags))
            {
                var destination = copy.Destination;
                if (destination.RepositoryName != repository || destination.Tag == null || !present.Contains(destination.Tag)) continue;
                if (produced.Contains(destination.ToString()) || !seen.Add(destination.ToString())) continue;
                stale.Add(copy);
            }
            return stale;
        }
    }
}
