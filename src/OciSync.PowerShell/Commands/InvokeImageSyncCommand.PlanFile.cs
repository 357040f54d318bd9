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
        // Until the shard ids are merged from the core branch (ErrorIds.ShardIndexMissing / ShardIndexInvalid).
        private const string ShardIndexMissingId = "ShardIndexMissing";
        private const string ShardIndexInvalidId = "ShardIndexInvalid";

        /// <summary>A plan file from Export-SyncPlan: this shard's copies are synced; the shard count comes from the file.</summary>
        [Parameter(ParameterSetName = PlanFileSet, Mandatory = true)]
        [ValidateNotNullOrEmpty]
        public string? PlanPath { get; set; }

        /// <summary>Stand-in for SyncRuleCmdlet's -ShardIndex until the branches are merged (the integrator replaces it).</summary>
        [Parameter(ParameterSetName = PlanFileSet, DontShow = true)]
        [ValidateRange(0, ShardSpec.MaxCount - 1)]
        public int? PlanShardIndex { get; set; }

        /// <summary>The shard index for -PlanPath: the parameter, else JOB_COMPLETION_INDEX, else 0 for a one-shard plan.</summary>
        private int? ShardIndexForPlan => PlanShardIndex;

        /// <summary>
        /// This shard's copies of the plan file, unplanned: the file's digests are only what export time saw, and a
        /// destination digest the engine trusted would skip an image as Unchanged unseen, so both sides are HEADed again.
        /// </summary>
        private void ReadPlanFile()
        {
            PlanFile file;
            try { file = PlanFile.Read(Resolve(PlanPath!), PlanPath); }
            catch (PlanFileException e) { ThrowTerminatingError(new ErrorRecord(e, e.ErrorId, ErrorCategory.InvalidData, PlanPath)); return; }

            var index = ShardIndexForPlan;
            if (index == null)
            {
                var variable = Environment.GetEnvironmentVariable(ShardSpec.JobCompletionIndexVariable);
                if (!string.IsNullOrEmpty(variable))
                {
                    if (!int.TryParse(variable, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
                        ThrowShard(ShardIndexInvalidId, $"{ShardSpec.JobCompletionIndexVariable} is '{variable}', not a shard index.");
                    index = parsed;
                }
                else if (file.ShardCount == 1) index = 0;
                else ThrowShard(ShardIndexMissingId, $"The plan '{PlanPath}' has {file.ShardCount} shards: give -ShardIndex or set {ShardSpec.JobCompletionIndexVariable}.");
            }
            if (index < 0 || index >= file.ShardCount)
                ThrowShard(ShardIndexInvalidId, $"The shard index {index} is not from 0 to {file.ShardCount - 1} for the plan '{PlanPath}'.");

            var mine = file.CopiesOf(index!.Value);
            _plan.AddRange(mine.Select(c => c.Unplanned()));
            WriteVerbose($"Plan '{PlanPath}' ({file.Balance}, made {file.Created:u}): shard {index} of {file.ShardCount}, {mine.Count} of {file.Copies.Count} image(s).");
        }

        private void ThrowShard(string id, string message) =>
            ThrowTerminatingError(new ErrorRecord(new ArgumentException(message + " Nothing was synced."), id, ErrorCategory.InvalidArgument, PlanPath));
    }
}
