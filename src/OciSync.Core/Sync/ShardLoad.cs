using System;
using System.Collections.Generic;
using System.Linq;
using OciSync.Core.Configuration;

namespace OciSync.Core.Sync
{
    /// <summary>One shard's part of a plan (Get-SyncPlan -ShardSummary): how many images and repositories, how many bytes where measured.</summary>
    public sealed class ShardLoad
    {
        /// <summary>The shard, from 0.</summary>
        public int Shard { get; private set; }
        /// <summary>How many shards the job is split into.</summary>
        public int ShardCount { get; private set; }
        /// <summary>Image copies in the shard.</summary>
        public int Images { get; private set; }
        /// <summary>Copies whose destination is not up to date.</summary>
        public int ToCopy { get; private set; }
        /// <summary>Copies whose destination already holds the source's digest.</summary>
        public int UpToDate { get; private set; }
        /// <summary>Distinct destination repositories.</summary>
        public int Repositories { get; private set; }
        /// <summary>The sum of the copies' <see cref="ImageCopy.Size"/> where known; null when no copy of the shard has one.</summary>
        public long? Bytes { get; private set; }
        /// <summary>How many copies had a size.</summary>
        public int BytesKnown { get; private set; }

        /// <summary>One load per shard, 0 to <paramref name="count"/> - 1 (the empty ones too), each copy counted in the shard of its destination.</summary>
        public static IReadOnlyList<ShardLoad> Summarize(IEnumerable<ImageCopy> copies, int count)
        {
            if (copies == null) throw new ArgumentNullException(nameof(copies));
            if (count < 1 || count > ShardSpec.MaxCount) throw new ArgumentOutOfRangeException(nameof(count));
            var loads = Enumerable.Range(0, count).Select(i => new ShardLoad { Shard = i, ShardCount = count }).ToArray();
            var repositories = loads.Select(_ => new HashSet<string>(StringComparer.Ordinal)).ToArray();
            foreach (var copy in copies)
            {
                var shard = ShardSpec.ShardOf(copy.Destination, count);
                var load = loads[shard];
                load.Images++;
                if (copy.UpToDate) load.UpToDate++;
                else load.ToCopy++;
                repositories[shard].Add(ShardSpec.KeyOf(copy.Destination));
                if (copy.Size is long size)
                {
                    load.Bytes = (load.Bytes ?? 0) + size;
                    load.BytesKnown++;
                }
            }
            for (int i = 0; i < count; i++) loads[i].Repositories = repositories[i].Count;
            return loads;
        }

        /// <summary><c>shard 3 of 8: 12 image(s), 4 to copy, 2 repositories</c>.</summary>
        public override string ToString() =>
            $"shard {Shard} of {ShardCount}: {Images} image(s), {ToCopy} to copy, {Repositories} repositor{(Repositories == 1 ? "y" : "ies")}" +
            (Bytes is long b ? $", {SyncSummary.Size(b)}" + (BytesKnown < Images ? $" ({BytesKnown} measured)" : string.Empty) : string.Empty);
    }
}
