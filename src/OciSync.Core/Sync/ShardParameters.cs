using System;
using System.Globalization;
using OciSync.Core.Transport;

namespace OciSync.Core.Sync
{
    /// <summary>A shard count and index that do not name a shard (<see cref="ErrorIds.ShardIndexMissing"/>, <see cref="ErrorIds.ShardIndexInvalid"/>).</summary>
    public sealed class ShardParameterException : ArgumentException, IHasErrorId
    {
        internal ShardParameterException(string errorId, string message, string parameter) : base(message, parameter) => ErrorId = errorId;
        /// <inheritdoc/>
        public string ErrorId { get; }
    }

    /// <summary>What -ShardCount, -ShardIndex and <c>JOB_COMPLETION_INDEX</c> ask for.</summary>
    public sealed class ShardChoice
    {
        internal ShardChoice(ShardSpec? shard, int? count, bool fromEnvironment) { Shard = shard; Count = count; FromEnvironment = fromEnvironment; }
        /// <summary>The one shard to run or plan; null for the whole job.</summary>
        public ShardSpec? Shard { get; }
        /// <summary>The shard count given; with no <see cref="Shard"/>, the whole job is planned and each copy told its shard (Get-SyncPlan's report).</summary>
        public int? Count { get; }
        /// <summary>True when the index came from <see cref="ShardSpec.JobCompletionIndexVariable"/>.</summary>
        public bool FromEnvironment { get; }
    }

    /// <summary>The one place the shard parameters become a <see cref="ShardSpec"/>.</summary>
    public static class ShardParameters
    {
        /// <summary>
        /// -ShardCount <paramref name="count"/> and -ShardIndex <paramref name="index"/>; without an index, the index is
        /// <paramref name="environmentValue"/> (<c>JOB_COMPLETION_INDEX</c>, as a Kubernetes Indexed Job sets it) when set.
        /// No count: the whole job (an index without one is refused). A count and no index at all: refused
        /// (<see cref="ErrorIds.ShardIndexMissing"/>) when <paramref name="indexRequired"/> (a sync must know its part),
        /// otherwise the report of every shard. Throws <see cref="ShardParameterException"/>.
        /// </summary>
        public static ShardChoice Resolve(int? index, int? count, string? environmentValue, bool indexRequired)
        {
            if (count == null)
            {
                if (index != null)
                    throw new ShardParameterException(ErrorIds.ShardIndexInvalid, "-ShardIndex needs -ShardCount: a shard is one of how many (-ShardCount n -ShardIndex i).", "ShardIndex");
                return new ShardChoice(null, null, false);
            }
            var n = count.Value;
            if (n < 1 || n > ShardSpec.MaxCount)
                throw new ShardParameterException(ErrorIds.ShardIndexInvalid, $"-ShardCount {n}: a job is split into 1 to {ShardSpec.MaxCount} shards.", "ShardCount");
            if (index != null)
            {
                if (index < 0 || index >= n)
                    throw new ShardParameterException(ErrorIds.ShardIndexInvalid, $"-ShardIndex {index}: with -ShardCount {n} the index is from 0 to {n - 1}.", "ShardIndex");
                return new ShardChoice(new ShardSpec(index.Value, n), n, false);
            }
            var variable = ShardSpec.JobCompletionIndexVariable;
            if (string.IsNullOrWhiteSpace(environmentValue))
            {
                if (indexRequired)
                    throw new ShardParameterException(ErrorIds.ShardIndexMissing,
                        $"-ShardCount {n} needs this worker's index: give -ShardIndex (0 to {n - 1}) or set {variable} (a Kubernetes Indexed Job does).", "ShardIndex");
                return new ShardChoice(null, n, false);
            }
            var text = environmentValue!.Trim();
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
                throw new ShardParameterException(ErrorIds.ShardIndexInvalid, $"{variable} '{Shorten(text)}' is not a shard index (a whole number from 0 to {n - 1}).", "ShardIndex");
            if (parsed >= n)
                throw new ShardParameterException(ErrorIds.ShardIndexInvalid, $"{variable} {parsed}: with -ShardCount {n} the index is from 0 to {n - 1}.", "ShardIndex");
            return new ShardChoice(new ShardSpec(parsed, n), n, true);
        }

        // The variable is outside input: a long value is no message.
        private static string Shorten(string text) => text.Length <= 40 ? text : text.Substring(0, 40) + "...";
    }
}
