using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
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

        /// <summary>For measuring: only these operating systems of multi-platform images count, as Invoke-ImageSync -OS keeps them.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(OsCompleter))]
        public string[]? OS { get; set; }

        /// <summary>For measuring: only these architectures of multi-platform images count, as Invoke-ImageSync -Arch keeps them.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(ArchCompleter))]
        public string[]? Arch { get; set; }

        protected override void EndProcessing()
        {
            if (ShardIndex != null)
                ThrowTerminatingError(Errors.Record(new ArgumentException("Export-SyncPlan writes every shard's part of the job; -ShardIndex picks one when syncing (Invoke-ImageSync -PlanPath)."),
                    ErrorIds.ShardIndexInvalid, ShardIndex));
            // Checked before planning: an unwritable path found after an hour of HEADs loses the plan.
            var full = CheckPath();
            GatherInputs();
            var clients = CreateClients(Credentials);
            var balance = string.Equals(Balance, "Size", StringComparison.OrdinalIgnoreCase) ? PlanBalance.Size : PlanBalance.Hash;
            var plan = PlanRules(clients, headDestinations: true);
            var copies = plan.Copies;
            if (MeasureSize || balance == PlanBalance.Size) copies = MeasureSizes(clients, copies, new PlatformFilter(OS, Arch));

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

        /// <summary>-WhatIf as ShouldProcess sees it: the switch's value when given (-WhatIf:$false too), else $WhatIfPreference.</summary>
        private bool IsWhatIf()
        {
            if (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var bound)) return bound is SwitchParameter s ? s.IsPresent : LanguagePrimitives.IsTrue(bound);
            return LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));
        }

        /// <summary>The full path, once it is known to be a file that can be written (its folder made when missing); else a terminating InvalidOutputPath.</summary>
        private string CheckPath()
        {
            string? problem = null;
            var full = string.Empty;
            try
            {
                full = Resolve(Path);
                if (Directory.Exists(full)) problem = "names a directory, not a file";
                else
                {
                    var dir = System.IO.Path.GetDirectoryName(full);
                    if (!string.IsNullOrEmpty(dir) && File.Exists(dir)) problem = $"is inside '{dir}', which is a file";
                    else if (!IsWhatIf())
                    {
                        // Tried now, as Invoke-ImageSync tries its output files: a file that cannot be written is found before the HEADs.
                        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
                        var existed = File.Exists(full);
                        using (new FileStream(full, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite)) { }
                        if (!existed) File.Delete(full);
                    }
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException || e is ArgumentException
                || e is System.Security.SecurityException || e is ItemNotFoundException || e is System.Management.Automation.DriveNotFoundException || e is ProviderNotFoundException)
            {
                problem = "cannot be written (" + e.Message + ")";
            }
            if (problem != null)
                ThrowTerminatingError(new ErrorRecord(new ArgumentException($"-Path '{Path}' {problem}; nothing was planned."),
                    ErrorIds.InvalidOutputPath, ErrorCategory.InvalidArgument, Path));
            return full;
        }
    }
}
