using System;
using System.Linq;
using System.Management.Automation;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.PowerShell.Infrastructure;

namespace OciSync.PowerShell.Commands
{
    /// <summary>
    /// One object per concrete image copy the rules describe — source, destination, their digests and
    /// whether the destination is already up to date. Copies nothing.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "SyncPlan", DefaultParameterSetName = FilesSet)]
    [OutputType(typeof(ImageCopy), typeof(ShardLoad))]
    public sealed class GetSyncPlanCommand : SyncRuleCmdlet
    {
        /// <summary>With -ShardCount: one ShardLoad per shard (images, repositories, bytes where measured) instead of the copies.</summary>
        [Parameter]
        public SwitchParameter ShardSummary { get; set; }

        /// <summary>Also GET each source manifest not up to date (and an index's kept children) and set Size; costs a pull each.</summary>
        [Parameter]
        public SwitchParameter MeasureSize { get; set; }

        protected override void EndProcessing()
        {
            if (ShardSummary && ShardCount == null)
                ThrowTerminatingError(Errors.Record(new ArgumentException("-ShardSummary shows how a job splits: give -ShardCount."), ErrorIds.ShardIndexInvalid, null));
            // The summary is about every shard: JOB_COMPLETION_INDEX does not narrow it (an explicit -ShardIndex does).
            var choice = ResolveShard(indexRequired: false, useEnvironment: !ShardSummary);
            if (choice.Shard != null) WriteVerbose($"Planning {choice.Shard}{(choice.FromEnvironment ? $" (from {ShardSpec.JobCompletionIndexVariable})" : "")}.");
            GatherInputs();
            var clients = CreateClients(Credentials);
            var plan = PlanRules(clients, headDestinations: true, choice.Shard);
            var copies = MeasureSize ? MeasureSizes(clients, plan.Copies) : plan.Copies;
            if (choice.Count is int count)
            {
                // Every copy says its shard: the report of how the job splits, or the one shard planned.
                copies = copies.Select(c => c.WithShard(choice.Shard?.Index ?? ShardSpec.ShardOf(c.Destination, count))).ToList();
                if (ShardSummary)
                {
                    foreach (var load in ShardLoad.Summarize(copies, count))
                        if (choice.Shard == null || load.Shard == choice.Shard.Index) WriteObject(load);
                    base.EndProcessing();
                    return;
                }
            }
            foreach (var copy in copies) WriteObject(copy);
            base.EndProcessing();
        }
    }
}
