using System.Collections.Generic;
using OciSync.Core.Configuration;

namespace OciSync.Core.Sync
{
    /// <summary>Rules cut down to one shard before anything is listed, so a shard lists only the source repositories it needs.</summary>
    internal static class ShardRules
    {
        /// <summary>
        /// The rule with only the targets whose repository is the shard's; null when none is. A catalog rule is
        /// kept whole: its repositories are known after the catalog is listed, and each is restricted then.
        /// No shard (null): the rule as it is.
        /// </summary>
        public static SyncRule? Restrict(this ShardSpec? shard, SyncRule rule)
        {
            if (shard == null || rule.IsCatalog) return rule;
            return rule.RestrictTargets(t => shard.Owns(t.Repository));
        }

        /// <summary>Each rule restricted; those with no target left are dropped.</summary>
        public static List<SyncRule> Restrict(this ShardSpec? shard, IEnumerable<SyncRule> rules)
        {
            var kept = new List<SyncRule>();
            foreach (var rule in rules)
                if (shard.Restrict(rule) is { } restricted) kept.Add(restricted);
            return kept;
        }
    }
}
