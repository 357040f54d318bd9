using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.PowerShell.Infrastructure;
using OciSync.PowerShell.Output;

namespace OciSync.PowerShell.Commands
{
    /// <summary>
    /// Plans the rules as Get-SyncPlan does and writes the plan to a JSON file (<c>ocisync-plan/1</c>), each copy assigned
    /// to a shard, for <c>Invoke-ImageSync -PlanPath</c> to run one shard at a time on as many machines. Copies nothing.
    /// </summary>
    [Cmdlet(VerbsData.Export, "SyncPlan", DefaultParameterSetName = FilesSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(PlanFileInfo))]
    public sealed class ExportSyncPlanCommand : SyncRuleCmdlet
    {
        /// <summary>The plan file to write (JSON); replaced when it exists.</summary>
        [Parameter(Mandatory = true)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = string.Empty;

        /// <summary>Hash: by the destination repository's hash, as shards without a plan split; Size: whole repositories by measured size.</summary>
        // A string, not the Core enum: a value-type field of a Core type would make this class's layout load OciSync.Core
        // into the default context when PowerShell reflects over the module, before the module's own load context exists.
        [Parameter]
        [ValidateSet("Hash", "Size")]
        public string Balance { get; set; } = "Hash";

        /// <summary>GET each source manifest not up to date and record its size (implied by -Balance Size).</summary>
        [Parameter]
        public SwitchParameter MeasureSize { get; set; }

        protected override void EndProcessing()
        {
            if (ShardIndex != null)
                ThrowTerminatingError(Errors.Record(new ArgumentException("Export-SyncPlan writes every shard's part of the job; -ShardIndex picks one when syncing (Invoke-ImageSync -PlanPath)."),
                    ErrorIds.ShardIndexInvalid, ShardIndex));
            // Checked before planning: an unwritable path found after an hour of HEADs loses the plan.
            var full = CheckOutputPath(Path, nameof(Path), "nothing was planned")!;
            GatherInputs();
            var clients = CreateClients(Credentials);
            var balance = string.Equals(Balance, "Size", StringComparison.OrdinalIgnoreCase) ? PlanBalance.Size : PlanBalance.Hash;
            var plan = PlanRules(clients, headDestinations: true);
            // Every image must be some shard's, failed or not, so that shard's failed file re-runs it: an image whose HEAD
            // failed goes in unplanned (its shard tries it and reports it); a rule that could not be listed has no images
            // to give anyone, so no plan is written without it.
            var unlisted = plan.Errors.Where(e => e.Rule != null).ToList();
            if (unlisted.Count > 0)
                ThrowTerminatingError(new ErrorRecord(new InvalidOperationException($"{unlisted.Count} rule(s) could not be listed (the errors above); a plan without their images would lose them for every shard, so none was written. Nothing was planned."),
                    ErrorIds.PlanIncomplete, ErrorCategory.InvalidResult, unlisted[0].Target));
            IReadOnlyList<ImageCopy> copies = plan.Copies.Concat(plan.Errors.Where(e => e.Copy != null).Select(e => e.Copy!.Unplanned())).ToList();
            if (MeasureSize || balance == PlanBalance.Size) copies = MeasureSizes(clients, copies);

            var count = ShardCount ?? 1;
            copies = PlanBalancer.Assign(copies, count, balance, out var unknown);
            if (balance == PlanBalance.Size && unknown > 0)
                WriteWarning($"{unknown} of {copies.Count} image(s) have no known size; they count as 0 bytes in the balance.");

            var file = new PlanFile(copies, count, balance, DateTime.UtcNow);
            var shards = copies.Select(c => c.Shard).Distinct().Count();
            if (ShouldProcess(full, $"Write a plan of {copies.Count} image copies in {count} shard(s) ({shards} with copies), balanced by {balance}"))
            {
                try { file.Write(full); }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
                {
                    ThrowTerminatingError(new ErrorRecord(new IOException($"-Path '{Path}' could not be written: {e.Message}", e), ErrorIds.InvalidOutputPath, ErrorCategory.WriteError, Path));
                }
                var known = copies.Where(c => c.Size != null).ToList();
                WriteObject(new PlanFileInfo(full, count, balance.ToString(), copies.Count, copies.Count(c => !c.UpToDate),
                    known.Count == 0 ? null : known.Aggregate(0L, (sum, c) => PlanSizes.Add(sum, c.Size!.Value)), shards, file.Created));
            }
            base.EndProcessing();
        }
    }
}
