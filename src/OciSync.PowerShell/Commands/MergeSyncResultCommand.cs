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
    /// Adds up the summary files (Invoke-ImageSync -SummaryPath) of the shards of one job: one merged summary,
    /// and one failed images file that re-runs every shard's failures (and a success images file).
    /// A missing, duplicate or mismatched shard, or an unreadable file, is a non-terminating error; the rest is merged.
    /// </summary>
    [Cmdlet(VerbsData.Merge, "SyncResult", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Low)]
    [OutputType(typeof(SyncSummary))]
    public sealed class MergeSyncResultCommand : PSCmdlet
    {
        private readonly List<ShardResult> _results = new List<ShardResult>();
        private int _given;

        /// <summary>The shards' summary files; wildcards are expanded. Pipeline input by value and by property name (FullName, PSPath).</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName", "PSPath")]
        [ValidateNotNullOrEmpty]
        public string[] Path { get; set; } = Array.Empty<string>();

        /// <summary>Write the merged failed images file here (YAML, or JSON by extension), for Invoke-ImageSync -Images.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? FailedImagesPath { get; set; }

        /// <summary>Write the merged success images file here.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? SuccessImagesPath { get; set; }

        /// <summary>The job's shard count; by default the count most of the files carry.</summary>
        [Parameter]
        [ValidateRange(1, ShardSpec.MaxCount)]
        public int? ShardCount { get; set; }

        /// <summary>The run whose shards are merged (Invoke-ImageSync -RunId); files of another run are left out. By default the run most files carry.</summary>
        [Parameter]
        [ValidatePattern(@"^[A-Za-z0-9._:\-]{1,128}$")]
        public string? RunId { get; set; }

        protected override void ProcessRecord()
        {
            foreach (var path in Path)
            {
                foreach (var file in Expand(path))
                {
                    _given++;
                    try
                    {
                        _results.Add(SummaryFile.Read(file));
                    }
                    catch (SyncResultException e)
                    {
                        // One bad file is that file's error; the others are still merged.
                        WriteError(Errors.Record(e, e.ErrorId, file));
                    }
                }
            }
        }

        protected override void EndProcessing()
        {
            if (_results.Count == 0)
                ThrowTerminatingError(Errors.Record(new SyncResultException(ErrorIds.ShardResultMissing, null,
                    _given == 0 ? "No summary file was found at the paths given; nothing was merged." : $"None of the {_given} summary file(s) given could be read; nothing was merged."),
                    ErrorIds.ShardResultMissing, null));
            var merge = SyncResultMerger.Merge(_results, ShardCount, RunId);
            foreach (var problem in merge.Problems) WriteError(Errors.Record(problem, problem.ErrorId, (object?)problem.Path ?? merge.Summary.MissingShards));
            if (merge.Summary.Shards.Length == 0)
                ThrowTerminatingError(Errors.Record(new SyncResultException(ErrorIds.ShardResultMismatch, null,
                    $"No summary file given is of a job of {ShardCount} shard(s); nothing was merged."), ErrorIds.ShardResultMismatch, ShardCount));

            WriteFile(FailedImagesPath, nameof(FailedImagesPath), "failed", json => merge.FailedImages(json));
            WriteFile(SuccessImagesPath, nameof(SuccessImagesPath), "success", json => merge.SuccessImages(json));
            WriteObject(merge.Summary);
        }

        private void WriteFile(string? path, string parameter, string what, Func<bool, string> text)
        {
            if (path == null) return;
            var full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
            if (!ShouldProcess(full, $"Write the merged {what} images file")) return;
            try
            {
                if (Directory.Exists(full)) throw new IOException("it names a directory, not a file");
                var dir = System.IO.Path.GetDirectoryName(full);
                if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
                File.WriteAllText(full, text(full.EndsWith(".json", StringComparison.OrdinalIgnoreCase)), new System.Text.UTF8Encoding(false));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NotSupportedException || e is ArgumentException || e is System.Security.SecurityException)
            {
                ThrowTerminatingError(Errors.Record(new IOException($"-{parameter} '{path}' cannot be written: {e.Message}", e), ErrorIds.InvalidOutputPath, path));
            }
        }

        /// <summary>The files a -Path names: its wildcard matches, or the literal path (a missing one is read, and reported, as such).</summary>
        private IEnumerable<string> Expand(string path)
        {
            if (!WildcardPattern.ContainsWildcardCharacters(path))
                return new[] { SessionState.Path.GetUnresolvedProviderPathFromPSPath(path) };
            try
            {
                var found = SessionState.Path.GetResolvedProviderPathFromPSPath(path, out _).OrderBy(p => p, StringComparer.Ordinal).ToList();
                if (found.Count > 0) return found;
            }
            catch (ItemNotFoundException) { }
            catch (System.Management.Automation.DriveNotFoundException) { }
            WriteError(Errors.Record(new SyncResultException(ErrorIds.SummaryFileInvalid, path, $"No summary file matches '{path}'."), ErrorIds.SummaryFileInvalid, path));
            return Array.Empty<string>();
        }
    }
}
