using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.PowerShell.Infrastructure;

namespace OciSync.PowerShell.Commands
{
    /// <summary>
    /// Copies images between registries: plans the rules (tags listed once, HEADs to find unchanged
    /// images), then streams what differs under one concurrency limit. Emits a result per layer and
    /// per manifest and a summary; each failed image is a non-terminating error.
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "ImageSync", DefaultParameterSetName = FilesSet, SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(ManifestResult), typeof(LayerResult), typeof(SyncSummary))]
    public sealed class InvokeImageSyncCommand : SyncRuleCmdlet
    {
        /// <summary>Extra passes over images that failed (image-syncer --retries).</summary>
        [Parameter]
        [ValidateRange(0, 100)]
        public int Retries { get; set; } = 2;

        /// <summary>Keep only these operating systems (<c>os[:osversion]</c>) from multi-platform images.</summary>
        [Parameter]
        public string[]? OS { get; set; }

        /// <summary>Keep only these architectures (<c>arch[:variant]</c>) from multi-platform images.</summary>
        [Parameter]
        public string[]? Arch { get; set; }

        /// <summary>Push manifests even when the destination already has the same digest.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

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

        /// <summary>Slowest blob transfer tolerated, in bytes per second over a minute (0: no minimum).</summary>
        [Parameter]
        [ValidateRange(0, long.MaxValue)]
        public long MinimumTransferRate { get; set; } = 1024;

        protected override void EndProcessing()
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            // Checked before anything is planned or copied: a bad path found after an hour's sync loses the run's record.
            CheckOutputPath(LogPath, nameof(LogPath));
            CheckOutputPath(SuccessImagesPath, nameof(SuccessImagesPath));
            CheckOutputPath(FailedImagesPath, nameof(FailedImagesPath));
            GatherInputs();
            var clients = CreateClients(Credentials, LogPath != null ? Resolve(LogPath) : null, o => o.MinimumTransferRate = MinimumTransferRate);
            var options = new SyncOptions
            {
                Concurrency = Proc,
                Retries = Retries,
                Force = Force,
                Platforms = new PlatformFilter(OS, Arch),
            };
            Log!.Write(OciLogLevel.Information, $"Planning {Rules.Count} rule(s), concurrency {Proc}, platforms {options.Platforms}.");
            var plan = Plan(clients, headDestinations: !Force);

            // ShouldProcess only on the pipeline thread, before any copying starts.
            var approved = plan.Copies.Where(c => ShouldProcess(c.Destination.ToString(),
                c.UpToDate && !Force ? $"Copy image from {c.Source} (destination is up to date)" : $"Copy image from {c.Source}")).ToList();
            if (approved.Count == 0 && plan.Copies.Count > 0) { base.EndProcessing(); return; }

            var results = new List<(ImageCopy Copy, ManifestResult Result)>();
            var byKey = approved.ToDictionary(c => c.Source + " -> " + c.Destination);
            var observer = new ProgressObserver(approved.Count, PostObject, done =>
            {
                if (byKey.TryGetValue(done.Source + " -> " + done.Destination, out var copy))
                    lock (results) results.Add((copy, done));
                if (done.Action == ManifestAction.Failed)
                    PostError(Errors.Record(new SyncFailedException(done), done.ErrorId ?? ErrorIds.ImageSyncFailed, done));
            }, PostProgress);
            SyncSummary? summary = null;
            Run(async ct =>
            {
                var engine = new SyncEngine(clients, options, observer);
                try
                {
                    summary = await engine.RunAsync(approved, ct).ConfigureAwait(false);
                }
                finally
                {
                    PostProgress(observer.Completed());
                }
            });

            var planFailures = plan.Errors.Where(e => e.Copy != null).Select(e => e.Copy!).ToList();
            summary = Complete(summary!, planFailures.Count + plan.Errors.Count(e => e.Copy == null), clock.Elapsed);
            WriteImageFiles(results, planFailures);
            Log.Write(OciLogLevel.Information, summary.ToString());
            WriteObject(summary);
            base.EndProcessing();
        }

        /// <summary>The engine's summary plus what failed already while planning, timed from the start of the call.</summary>
        private static SyncSummary Complete(SyncSummary s, int planFailures, TimeSpan elapsed) => new SyncSummary
        {
            Images = s.Images + planFailures, Synced = s.Synced, Unchanged = s.Unchanged, Filtered = s.Filtered,
            Failed = s.Failed + planFailures, BlobsCopied = s.BlobsCopied, BlobsMounted = s.BlobsMounted,
            BlobsPresent = s.BlobsPresent, BytesCopied = s.BytesCopied, Duration = elapsed,
        };

        /// <summary>image-syncer writes only successes (and forgets skipped images); we write both lists, skipped ones included.</summary>
        private void WriteImageFiles(List<(ImageCopy Copy, ManifestResult Result)> results, List<ImageCopy> planFailures)
        {
            if (SuccessImagesPath != null)
                ImagesFileWriter.Write(Resolve(SuccessImagesPath), results.Where(r => r.Result.Action != ManifestAction.Failed).Select(r => Pair(r.Copy)));
            if (FailedImagesPath != null)
                ImagesFileWriter.Write(Resolve(FailedImagesPath), results.Where(r => r.Result.Action == ManifestAction.Failed).Select(r => r.Copy).Concat(planFailures).Select(Pair));
        }

        /// <summary>A file the call will write must be writable: not a directory, its folder creatable, the file openable.</summary>
        private void CheckOutputPath(string? path, string parameter)
        {
            if (path == null) return;
            string? problem = null;
            try
            {
                var full = Resolve(path);
                if (Directory.Exists(full)) problem = "names a directory, not a file";
                else
                {
                    var dir = Path.GetDirectoryName(full);
                    if (!string.IsNullOrEmpty(dir) && File.Exists(dir)) problem = $"is inside '{dir}', which is a file";
                    else if (!MyInvocation.BoundParameters.ContainsKey("WhatIf"))
                    {
                        // -WhatIf writes nothing, so it cannot try a write either; the shape checks above still run.
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
                ThrowTerminatingError(new ErrorRecord(new ArgumentException($"-{parameter} '{path}' {problem}; nothing was synced."),
                    "InvalidOutputPath", ErrorCategory.InvalidArgument, path));
        }

        private static ImagePair Pair(ImageCopy copy) => new ImagePair(copy.Source, copy.Destination, null);

    }

    /// <summary>The exception inside the error record of an image that could not be synced.</summary>
    public sealed class SyncFailedException : Exception
    {
        public SyncFailedException(ManifestResult result) : base($"{result.Source} -> {result.Destination}: {result.Error}") { Result = result; }
        public ManifestResult Result { get; }
    }
}
