using System;
using System.Collections.Generic;
using System.Linq;
using OciSync.Core.Configuration;

namespace OciSync.Core.Sync
{
    /// <summary>How Export-SyncPlan assigns copies to shards.</summary>
    public enum PlanBalance
    {
        /// <summary>By the hash of the destination repository (<see cref="ShardSpec.ShardOf(References.ImageReference, int)"/>), as a plan-less shard does.</summary>
        Hash,
        /// <summary>Whole destination repositories, largest first, each to the least loaded shard.</summary>
        Size,
    }

    /// <summary>Assigning a plan's copies to shards; pure, and the same on every machine for the same plan.</summary>
    public static class PlanBalancer
    {
        /// <summary>Each copy with <see cref="ImageCopy.Shard"/> set, in the order given.</summary>
        /// <param name="unknown">How many copies had no size (counted as 0 by <see cref="PlanBalance.Size"/>).</param>
        public static IReadOnlyList<ImageCopy> Assign(IReadOnlyList<ImageCopy> copies, int shardCount, PlanBalance balance, out int unknown)
        {
            if (copies == null) throw new ArgumentNullException(nameof(copies));
            if (shardCount < 1 || shardCount > ShardSpec.MaxCount) throw new ArgumentOutOfRangeException(nameof(shardCount), shardCount, $"A shard count is from 1 to {ShardSpec.MaxCount}.");
            unknown = copies.Count(c => c.Size == null);
            if (balance == PlanBalance.Hash) return copies.Select(c => c.WithShard(ShardSpec.ShardOf(c.Destination, shardCount))).ToList();

            // Greedy longest-processing-time: a repository stays whole (its tags share blobs and mounts), the biggest
            // go first, each to the shard with the fewest bytes so far; ties go to the lowest shard, equal sizes by key.
            var groups = copies.GroupBy(c => ShardSpec.KeyOf(c.Destination), StringComparer.Ordinal)
                .Select(g => (Key: g.Key, Bytes: g.Aggregate(0L, (sum, c) => PlanSizes.Add(sum, c.Size ?? 0))))
                .OrderByDescending(g => g.Bytes).ThenBy(g => g.Key, StringComparer.Ordinal)
                .ToList();
            // Ordered by (load, shard): the first is the least loaded, the lowest shard among equals; log n a repository.
            var loads = new SortedSet<(long Load, int Shard)>(Enumerable.Range(0, shardCount).Select(i => (0L, i)));
            var shardOf = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var (key, bytes) in groups)
            {
                var least = loads.Min;
                loads.Remove(least);
                loads.Add((PlanSizes.Add(least.Load, bytes), least.Shard));
                shardOf[key] = least.Shard;
            }
            return copies.Select(c => c.WithShard(shardOf[ShardSpec.KeyOf(c.Destination)])).ToList();
        }
    }
}
