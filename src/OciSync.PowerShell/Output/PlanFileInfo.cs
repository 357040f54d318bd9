using System;

namespace OciSync.PowerShell.Output
{
    /// <summary>What Export-SyncPlan wrote: the file, its shards and how many copies and bytes it holds.</summary>
    public sealed class PlanFileInfo
    {
        // Plain types only: a field of a Core value type would load OciSync.Core outside the module's load context.
        public PlanFileInfo(string path, int shardCount, string balance, int images, int toCopy, long? bytes, int shardsUsed, DateTime created)
        {
            Path = path; ShardCount = shardCount; Balance = balance; Images = images; ToCopy = toCopy; Bytes = bytes; ShardsUsed = shardsUsed; Created = created;
        }

        /// <summary>The plan file's full path (pipe it to Invoke-ImageSync -PlanPath by property name).</summary>
        public string Path { get; }
        public int ShardCount { get; }
        /// <summary>Hash or Size.</summary>
        public string Balance { get; }
        /// <summary>Copies in the plan.</summary>
        public int Images { get; }
        /// <summary>Copies not up to date when planned.</summary>
        public int ToCopy { get; }
        /// <summary>The sum of the known sizes; null when nothing was measured.</summary>
        public long? Bytes { get; }
        /// <summary>Shards that have at least one copy.</summary>
        public int ShardsUsed { get; }
        /// <summary>When the plan was made (UTC).</summary>
        public DateTime Created { get; }
        public override string ToString() => Path;
    }
}
