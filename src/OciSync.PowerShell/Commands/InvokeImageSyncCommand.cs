using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.PowerShell.Infrastructure;

namespace OciSync.PowerShell.Commands
{
    /// <summary>
    /// Copies images between registries: lists the rules' tags, HEADs each image to find the unchanged
    /// ones, then streams what differs under one concurrency limit, with further passes over whatever
    /// failed transiently. Writes one result per image as it finishes (or, with -Detailed, every
    /// manifest and layer too; with -Summary, only the summary); each failed image is a
    /// non-terminating error — or, under ErrorAction Stop, one terminating error after the whole run.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "ImageSync", DefaultParameterSetName = FilesSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(ImageResult), typeof(ManifestResult), typeof(LayerResult), typeof(SyncSummary))]
    public sealed partial class InvokeImageSyncCommand : SyncRuleCmdlet
    {
        private const string PlanSet = "Plan";
        private readonly List<ImageCopy> _plan = new List<ImageCopy>();

        /// <summary>Copies from Get-SyncPlan (e.g. filtered to those not up to date); synced exactly as planned.</summary>
        [Parameter(ParameterSetName = PlanSet, Mandatory = true, ValueFromPipeline = true)]
        [ValidateNotNull]
        public ImageCopy[] Plan { get; set; } = Array.Empty<ImageCopy>();

        /// <summary>Extra passes over images that failed (image-syncer --retries).</summary>
        [Parameter]
        [ValidateRange(0, 100)]
        public int Retries { get; set; } = 2;

        /// <summary>Only referrers of these artifact types (for cosign's tags, the media type of their first layer); all by default.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? ReferrerArtifactType { get; set; }

        /// <summary>Push manifests even when the destination already has the same digest.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Also write every child manifest and layer result as it happens.</summary>
        [Parameter]
        public SwitchParameter Detailed { get; set; }

        /// <summary>Write only the run's summary object (for runbooks); errors are still error records.</summary>
        [Parameter]
        public SwitchParameter Summary { get; set; }

        /// <summary>Also write timestamped log lines to this file (image-syncer --log).</summary>
        [Parameter]
        [Alias("Log")]
        [ValidateNotNullOrEmpty]
        public string? LogPath { get; set; }

        /// <summary>Write an images file (YAML or JSON by extension) of the images that are now in sync.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? SuccessImagesPath { get; set; }

        /// <summary>Write an images file of the images that failed, to feed back in with -Images.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? FailedImagesPath { get; set; }

        /// <summary>
        /// Write the run's summary as JSON (<c>ocisync-summary/1</c>, see <see cref="SummaryFile"/>): the totals, the shard,
        /// and the failed and success images files' YAML text, for Merge-SyncResult to add up the shards of a job.
        /// </summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? SummaryPath { get; set; }

        /// <summary>The job's run id, the same for all its shards (a Job uid, a workflow run id): in the summary, so Merge-SyncResult takes only this run's files.</summary>
        [Parameter]
        [ValidatePattern(@"^[A-Za-z0-9._:\-]{1,128}$")]
        public string? RunId { get; set; }

        /// <summary>Slowest blob transfer tolerated, in bytes per second over a minute (0: no minimum).</summary>
        [Parameter]
        [ValidateRange(0, long.MaxValue)]
        public long MinimumTransferRate { get; set; } = 1024;

        protected override void ProcessRecord()
        {
            base.ProcessRecord();
            if (ParameterSetName == PlanSet) _plan.AddRange(Plan.Where(c => c != null));
        }

        private protected override IEnumerable<string> OtherRegistries() =>
            _plan.SelectMany(c => new[] { c.Source, c.Destination }).Where(r => r.IsRegistry).Select(r => r.Registry);

        protected override void EndProcessing()
        {
            if (Detailed && Summary)
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Detailed and -Summary ask for opposite outputs; use one."),
                    ErrorIds.ConflictingOutputSwitches, ErrorCategory.InvalidArgument, null));
            if (Prune && (ParameterSetName == PlanSet || ParameterSetName == PlanFileSet))
                ThrowTerminatingError(new ErrorRecord(new ArgumentException("-Prune compares each rule's source listing with its destination, and a plan has no rules: prune with the rules (-Images, -Rule, -Source)."),
                    ErrorIds.PruneNeedsRules, ErrorCategory.InvalidArgument, null));
            // Checked before anything is planned or copied: a bad path found after an hour's sync loses the run's record.
            CheckOutputPath(LogPath, nameof(LogPath));
            CheckOutputPath(SuccessImagesPath, nameof(SuccessImagesPath));
            CheckOutputPath(FailedImagesPath, nameof(FailedImagesPath));
            CheckOutputPath(SummaryPath, nameof(SummaryPath));
            // A plan file's part was assigned when it was exported (the count is the file's); otherwise the parameters say.
            ShardSpec? shard;
            var shardFromEnvironment = false;
            if (ParameterSetName == PlanFileSet) shard = ReadPlanFile();
            else
            {
                var choice = ResolveShard(indexRequired: true);
                shard = choice.Shard;
                shardFromEnvironment = choice.FromEnvironment;
            }
            GatherInputs();
            var clients = CreateClients(Credentials, LogPath != null ? Resolve(LogPath) : null, o => o.MinimumTransferRate = MinimumTransferRate);
            var whatIf = IsWhatIf();
            var options = new SyncOptions
            {
                Concurrency = Proc,
                RequestConcurrency = RequestLimit,
                Retries = Retries,
                Force = Force,
                Platforms = Platforms,
                Referrers = !NoReferrers,
                ReferrerArtifactTypes = ReferrerArtifactType ?? Array.Empty<string>(),
                // ShouldProcess only on the pipeline thread: the engine asks through the pump and waits.
                // -WhatIf writes no images file.
                SuccessImagesPath = SuccessImagesPath != null && !whatIf ? Resolve(SuccessImagesPath) : null,
                FailedImagesPath = FailedImagesPath != null && !whatIf ? Resolve(FailedImagesPath) : null,
                SummaryPath = SummaryPath != null && !whatIf ? Resolve(SummaryPath) : null,
                // Asked only where ShouldProcess can say no or print: otherwise every image would wait on a trip to the pipeline thread.
                Approve = !MayAsk(whatIf) ? null : copy => Ask(() => ShouldProcess(copy.Destination.ToString(),
                    copy.UpToDate && !Force ? $"Copy image from {copy.Source} (destination is up to date)" : $"Copy image from {copy.Source}")),
                Prune = Prune,
                ApproveDelete = DeleteApproval(whatIf),
                Shard = shard,
                ShardPreassigned = ParameterSetName == PlanFileSet,
                RunId = RunId,
            };
            var what = _plan.Count > 0 ? $"{_plan.Count} planned image(s)" : $"{Rules.Count} rule(s)";
            Log!.Write(OciLogLevel.Information, $"Syncing {what}, concurrency {Proc} blob(s), {RequestLimit} small request(s) per registry, retries {Retries}, platforms {options.Platforms}" +
                (shard == null ? "." : $"; {shard}{(shardFromEnvironment ? $" (index from {ShardSpec.JobCompletionIndexVariable})" : "")}: only " +
                    (ParameterSetName == PlanFileSet ? "the plan file's images of this shard." : "images whose destination repository is this shard's.")));

            var run = new RunOutput(this, StopsOnError());
            SyncSummary? summary = null;
            try
            {
                Run(async ct =>
                {
                    var engine = new SyncEngine(clients, options, run);
                    try
                    {
                        summary = await engine.RunAsync(Rules, _plan, ct).ConfigureAwait(false);
                    }
                    finally
                    {
                        foreach (var record in run.Progress.Completed()) PostProgress(record);
                    }
                });
            }
            catch (RegistryException e)
            {
                // The run itself failed after its images: an archive that could not be written at the end (its images
                // are not there, and no images file is written), or an images file; the log and the error say which.
                Log.Write(OciLogLevel.Error, $"The run failed: [{e.ErrorId}] {e.Message}");
                Log.Dispose();
                ThrowTerminatingError(Errors.Record(e, e.ErrorId, null));
            }

            var done = summary!;
            Log.Write(OciLogLevel.Information, "Summary: " + done);
            if (!whatIf || done.Images > 0)
            {
                if (Summary) WriteObject(done);
                else
                {
                    // The host shows its one line (PSHOST, as Write-Host); -InformationVariable gets the object itself.
                    var line = new InformationRecord(done, MyInvocation.MyCommand.Name);
                    line.Tags.Add("PSHOST");
                    line.Tags.Add("OciSync.Summary");
                    WriteInformation(line);
                }
            }
            if (run.FirstFailure != null)
            {
                Log.Dispose(); // the terminating error skips EndProcessing, which closes the log file
                ThrowTerminatingError(new ErrorRecord(new ImageSyncFailedException(done, run.FirstFailure), ImageSyncFailedException.ErrorId,
                    Errors.CategoryOf(run.FirstFailure.ErrorId ?? ErrorIds.ImageSyncFailed), done));
            }
            base.EndProcessing();
        }

        /// <summary>True when ShouldProcess may print (-WhatIf) or prompt (-Confirm, or $ConfirmPreference at Medium or below).</summary>
        private bool MayAsk(bool whatIf)
        {
            if (whatIf) return true;
            if (MyInvocation.BoundParameters.TryGetValue("Confirm", out var bound)) return bound is SwitchParameter s ? s.IsPresent : LanguagePrimitives.IsTrue(bound);
            var preference = GetVariableValue("ConfirmPreference");
            if (preference is PSObject pso) preference = pso.BaseObject;
            var impact = preference is ConfirmImpact ci ? ci : Enum.TryParse(preference?.ToString(), true, out ConfirmImpact parsed) ? parsed : ConfirmImpact.High;
            return impact != ConfirmImpact.None && impact <= ConfirmImpact.Medium;
        }

        /// <summary>
        /// ErrorAction Stop (the runbook norm) would make the first failed image's WriteError end the
        /// call; instead the run completes, and one terminating error reports every failure at the end.
        /// </summary>
        private bool StopsOnError()
        {
            object? preference = MyInvocation.BoundParameters.TryGetValue("ErrorAction", out var bound) ? bound : GetVariableValue("ErrorActionPreference");
            if (preference is PSObject pso) preference = pso.BaseObject;
            return preference is ActionPreference ap ? ap == ActionPreference.Stop
                : string.Equals(preference?.ToString(), nameof(ActionPreference.Stop), StringComparison.OrdinalIgnoreCase);
        }
    }

    /// <summary>The exception inside the error record of an image that could not be synced.</summary>
    public sealed class SyncFailedException : Exception
    {
        public SyncFailedException(ImageResult result) : base($"{result.Source} -> {result.Destination}: {result.Error}") { Result = result; }
        public ImageResult Result { get; }
    }

    /// <summary>The one terminating error of a run under ErrorAction Stop: how many failed, and the first.</summary>
    public sealed class ImageSyncFailedException : Exception
    {
        public const string ErrorId = ErrorIds.ImagesFailed;

        public ImageSyncFailedException(SyncSummary summary, ImageResult first)
            : base($"{summary.Failed} of {summary.Images} image(s) failed; the first: {first.Source} -> {first.Destination}: {first.Error} " +
                   "(the run went on: the other images, the images files and the log are complete)")
        {
            Summary = summary;
            First = first;
        }

        public SyncSummary Summary { get; }
        public ImageResult First { get; }
    }
}
