using System;
using System.Globalization;
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
            var index = ShardIndex;
            if (index == null)
            {
                var variable = Environment.GetEnvironmentVariable(ShardSpec.JobCompletionIndexVariable)?.Trim();
                if (!string.IsNullOrEmpty(variable))
                {
                    if (!int.TryParse(variable, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
                        ThrowShard(ErrorIds.ShardIndexInvalid, $"{ShardSpec.JobCompletionIndexVariable} is '{variable}', not a shard index.");
                    index = parsed;
                }
                else if (file.ShardCount == 1) index = 0;
                else ThrowShard(ErrorIds.ShardIndexMissing, $"The plan '{PlanPath}' has {file.ShardCount} shards: give -ShardIndex or set {ShardSpec.JobCompletionIndexVariable}.");
            }
            if (index < 0 || index >= file.ShardCount)
                ThrowShard(ErrorIds.ShardIndexInvalid, $"The shard index {index} is not from 0 to {file.ShardCount - 1} for the plan '{PlanPath}'.");

            var mine = file.CopiesOf(index!.Value);
            _plan.AddRange(mine.Select(c => c.Unplanned()));
            WriteVerbose($"Plan '{PlanPath}' ({file.Balance}, made {file.Created:u}): shard {index} of {file.ShardCount}, {mine.Count} of {file.Copies.Count} image(s).");
            return new ShardSpec(index.Value, file.ShardCount);
        }

        private void ThrowShard(string id, string message) =>
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(message + " Nothing was synced."), id, ErrorCategory.InvalidArgument, PlanPath));
    }
}
