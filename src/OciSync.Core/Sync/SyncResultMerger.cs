using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using OciSync.Core.Configuration;
using OciSync.Core.Transport;

namespace OciSync.Core.Sync
{
    /// <summary>What <see cref="SyncResultMerger.Merge"/> made of a set of shard summaries.</summary>
    public sealed class SyncResultMerge
    {
        internal SyncResultMerge(SyncSummary summary, IReadOnlyList<SyncRule> failed, IReadOnlyList<SyncRule> succeeded,
            IReadOnlyList<SyncResultException> problems, string comment)
        {
            Summary = summary; FailedRules = failed; SuccessRules = succeeded; Problems = problems; Comment = comment;
        }

        /// <summary>The totals: counts and bytes summed, the longest shard's seconds, the earliest start and latest end.</summary>
        public SyncSummary Summary { get; }
        /// <summary>Every shard's failed entries, in shard order.</summary>
        public IReadOnlyList<SyncRule> FailedRules { get; }
        /// <summary>Every shard's success entries, in shard order.</summary>
        public IReadOnlyList<SyncRule> SuccessRules { get; }
        /// <summary>Missing, duplicate and mismatched shards, in the order found; the merge is of the rest.</summary>
        public IReadOnlyList<SyncResultException> Problems { get; }
        /// <summary>The merged YAML files' first line, after <c># </c>.</summary>
        public string Comment { get; }

        /// <summary>The merged failed images file's text (a source failing in several shards is one key with all its destinations).</summary>
        public string FailedImages(bool json) => ImagesFileWriter.Format(Array.Empty<ImageCopy>(), json, FailedRules, Comment);
        /// <summary>The merged success images file's text.</summary>
        public string SuccessImages(bool json) => ImagesFileWriter.Format(Array.Empty<ImageCopy>(), json, SuccessRules, Comment);
    }

    /// <summary>
    /// Adds up the summary files of the shards of one job (Merge-SyncResult). Pure: the files are read
    /// before (<see cref="SummaryFile.Read"/>) and written after.
    /// </summary>
    public static class SyncResultMerger
    {
        /// <param name="results">The shards' summaries, in the order given.</param>
        /// <param name="shardCount">The job's shard count; null: the count most of the files carry (the first file's on a tie).</param>
        /// <param name="runId">The job's run id: a file of another run (or of none) is left out. Null: the run id most of the files carry.</param>
        public static SyncResultMerge Merge(IEnumerable<ShardResult> results, int? shardCount = null, string? runId = null)
        {
            if (results == null) throw new ArgumentNullException(nameof(results));
            var given = results.Where(r => r != null).ToList();
            var problems = new List<SyncResultException>();
            // A summary left over from another run of the job must not stand in for a shard of this one.
            var run = runId ?? given.GroupBy(r => r.Summary.RunId).OrderByDescending(g => g.Count()).Select(g => g.Key).FirstOrDefault();
            var all = new List<ShardResult>();
            foreach (var r in given)
            {
                if (string.Equals(r.Summary.RunId, run, StringComparison.Ordinal)) { all.Add(r); continue; }
                problems.Add(new SyncResultException(ErrorIds.ShardResultMismatch, r.Path, string.Format(CultureInfo.InvariantCulture,
                    "The summary file '{0}' is of run '{1}', not '{2}'{3}; it is left out of the merge.",
                    r.Path, r.Summary.RunId ?? "(none)", run ?? "(none)", runId != null ? " (-RunId)" : " as most files are")));
            }
            var count = shardCount ?? all.GroupBy(r => r.Count).OrderByDescending(g => g.Count()).Select(g => g.Key).DefaultIfEmpty(1).First();

            var taken = new List<ShardResult>();
            var byShard = new Dictionary<int, ShardResult>();
            foreach (var r in all)
            {
                if (r.Count != count)
                {
                    problems.Add(new SyncResultException(ErrorIds.ShardResultMismatch, r.Path, string.Format(CultureInfo.InvariantCulture,
                        "The summary file '{0}' is of a job of {1} shard{2}, not {3}{4}; it is left out of the merge.",
                        r.Path, r.Count, r.Count == 1 ? "" : "s", count, shardCount != null ? " (-ShardCount)" : " as most files are")));
                    continue;
                }
                var twice = r.Covers.Where(byShard.ContainsKey).ToList();
                if (twice.Count > 0)
                {
                    var first = byShard[twice[0]];
                    problems.Add(new SyncResultException(ErrorIds.ShardResultDuplicate, r.Path, string.Format(CultureInfo.InvariantCulture,
                        "The summary file '{0}' is shard {1} of {2} again (first in '{3}'); it is left out of the merge.",
                        r.Path, SyncSummary.Join(twice), count, first.Path)));
                    continue;
                }
                foreach (var shard in r.Covers) byShard[shard] = r;
                taken.Add(r);
            }

            var missing = Enumerable.Range(0, count).Where(i => !byShard.ContainsKey(i)).ToArray();
            if (missing.Length > 0)
                problems.Add(new SyncResultException(ErrorIds.ShardResultMissing, null, string.Format(CultureInfo.InvariantCulture,
                    "No summary file of shard{0} {1} of {2} was given: {3} images may not be synced, and the merged failed images file cannot re-run {4} failures.",
                    missing.Length == 1 ? "" : "s", SyncSummary.Join(missing), count, missing.Length == 1 ? "its" : "their", missing.Length == 1 ? "its" : "their")));

            // Shard order, so the merged files do not depend on the order the files were given in.
            taken.Sort((a, b) => a.Covers.Min().CompareTo(b.Covers.Min()));
            var summaries = taken.Select(r => r.Summary).ToList();
            var shards = byShard.Keys.OrderBy(i => i).ToArray();
            var summary = new SyncSummary
            {
                Shard = null,
                ShardCount = count,
                RunId = run,
                Shards = shards,
                MissingShards = missing,
                Images = SumOf(summaries.Select(s => s.Images)),
                Synced = SumOf(summaries.Select(s => s.Synced)),
                Unchanged = SumOf(summaries.Select(s => s.Unchanged)),
                Filtered = SumOf(summaries.Select(s => s.Filtered)),
                Failed = SumOf(summaries.Select(s => s.Failed)),
                Declined = SumOf(summaries.Select(s => s.Declined)),
                Deleted = SumOf(summaries.Select(s => s.Deleted)),
                Kept = SumOf(summaries.Select(s => s.Kept)),
                ReferrersSynced = SumOf(summaries.Select(s => s.ReferrersSynced)),
                ReferrersUnchanged = SumOf(summaries.Select(s => s.ReferrersUnchanged)),
                BlobsCopied = SumOf(summaries.Select(s => s.BlobsCopied)),
                BlobsMounted = SumOf(summaries.Select(s => s.BlobsMounted)),
                BlobsPresent = SumOf(summaries.Select(s => s.BlobsPresent)),
                BytesCopied = SumOf(summaries.Select(s => s.BytesCopied)),
                RequestRetries = SumOf(summaries.Select(s => s.RequestRetries)),
                Passes = summaries.Select(s => s.Passes).DefaultIfEmpty(0).Max(),
                // The shards ran side by side: the job took as long as its longest shard, not the sum.
                StartTime = summaries.Select(s => s.StartTime).DefaultIfEmpty(default).Min(),
                EndTime = summaries.Select(s => s.EndTime).DefaultIfEmpty(default).Max(),
                Seconds = summaries.Select(s => s.Seconds).DefaultIfEmpty(0).Max(),
            };
            var comment = "OciSync " + summary.ShardText().TrimEnd(' ', ':');
            return new SyncResultMerge(summary, taken.SelectMany(r => r.FailedRules).ToList(), taken.SelectMany(r => r.SuccessRules).ToList(),
                problems, comment);
        }

        // Counts from files, which anyone may have written: they saturate instead of overflowing the merge.
        private static int SumOf(IEnumerable<int> values) => (int)Math.Min(int.MaxValue, values.Aggregate(0L, (a, v) => a + Math.Max(0, v)));

        private static long SumOf(IEnumerable<long> values) =>
            values.Aggregate(0L, (a, v) => v <= 0 ? a : a > long.MaxValue - v ? long.MaxValue : a + v);
    }
}
