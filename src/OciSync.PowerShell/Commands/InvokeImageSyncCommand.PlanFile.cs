using System;
using System.Linq;
using System.Management.Automation;
using OciSync.Core.Sync;
using OciSync.Core.Transport;

namespace OciSync.PowerShell.Commands
{
    public sealed partial class InvokeImageSyncCommand
    {
        private const string PlanFileSet = "PlanFile";

        /// <summary>A plan file from Export-SyncPlan: this shard's copies are synced; the shard count comes from the file.</summary>
        [Parameter(ParameterSetName = PlanFileSet, Mandatory = true)]
        [ValidateNotNullOrEmpty]
        public string? PlanPath { get; set; }

        /// <summary>
        /// This shard's copies of the plan file, unplanned: the file's digests are only what export time saw, and a
        /// destination digest the engine trusted would skip an image as Unchanged unseen, so both sides are HEADed again.
        /// </summary>
        /// <returns>The shard synced: the index (-ShardIndex, else JOB_COMPLETION_INDEX, else 0 for a one-shard plan) of the file's count.</returns>
        private ShardSpec ReadPlanFile()
        {
            PlanFile file;
            try { file = PlanFile.Read(Resolve(PlanPath!), PlanPath); }
            catch (PlanFileException e) { ThrowTerminatingError(new ErrorRecord(e, e.ErrorId, ErrorCategory.InvalidData, PlanPath)); throw; }

            if (ShardCount is int given && given != file.ShardCount)
                ThrowShard(ErrorIds.ShardIndexInvalid, $"-ShardCount {given}: the plan '{PlanPath}' was split into {file.ShardCount} shards when it was exported.");
            // -ShardIndex, else JOB_COMPLETION_INDEX, read as for every sharded call, of the file's count; a one-shard plan needs neither.
            var index = ResolveShard(indexRequired: file.ShardCount > 1, count: file.ShardCount).Shard?.Index ?? 0;

            var mine = file.CopiesOf(index);
            _plan.AddRange(mine.Select(c => c.Unplanned()));
            WriteVerbose($"Plan '{PlanPath}' ({file.Balance}, made {file.Created:u}): shard {index} of {file.ShardCount}, {mine.Count} of {file.Copies.Count} image(s).");
            return new ShardSpec(index, file.ShardCount);
        }

        private void ThrowShard(string id, string message) =>
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(message + " Nothing was synced."), id, ErrorCategory.InvalidArgument, PlanPath));
    }
}
