using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using OciSync.Core.Configuration;
using OciSync.Core.Transport;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// The run's images files (<see cref="SyncOptions.SuccessImagesPath"/>, <see cref="SyncOptions.FailedImagesPath"/>):
    /// what is now in sync, and what failed — a rule whose listing failed as the rule, so the re-run lists
    /// again. image-syncer writes only successes and forgets skipped images; both lists are written here,
    /// unchanged images included. Only copies are kept, and only for a file that was asked for (the summary
    /// file, <see cref="SyncOptions.SummaryPath"/>, carries both texts, so it asks for both).
    /// A shard's YAML files begin with <c># OciSync shard i of n</c>; JSON has no comments (the summary file says it).
    /// </summary>
    internal sealed class RunFiles
    {
        private readonly string? _successPath;
        private readonly string? _failedPath;
        private readonly string? _summaryPath;
        private readonly bool _keepSuccess;
        private readonly bool _keepFailed;
        private readonly string? _comment;
        private readonly List<ImageCopy> _succeeded = new List<ImageCopy>();
        private readonly List<ImageCopy> _failed = new List<ImageCopy>();
        private readonly List<SyncRule> _failedRules = new List<SyncRule>();

        internal RunFiles(SyncOptions options)
        {
            _successPath = options.SuccessImagesPath;
            _failedPath = options.FailedImagesPath;
            _summaryPath = options.SummaryPath;
            _keepSuccess = _successPath != null || _summaryPath != null;
            _keepFailed = _failedPath != null || _summaryPath != null;
            _comment = options.Shard == null ? null : "OciSync " + options.Shard;
        }

        /// <summary>An image is final; <paramref name="copy"/> is null when <paramref name="rule"/> could not be listed.</summary>
        internal void Record(ImageResult result, ImageCopy? copy, SyncRule? rule)
        {
            var failed = result.Action == SyncAction.Failed;
            lock (_succeeded)
            {
                if (failed && _keepFailed)
                {
                    if (copy != null) _failed.Add(copy);
                    if (rule != null) _failedRules.Add(rule);
                }
                if (!failed && _keepSuccess && copy != null) _succeeded.Add(copy);
            }
        }

        /// <summary>
        /// Written once the run's content is where it should be (after the stores' flush). Every file is tried; a file
        /// that cannot be written is then the error (the others are written all the same).
        /// </summary>
        internal void Write(SyncSummary summary)
        {
            var success = Write(_successPath, "images file", () => ImagesFileWriter.Write(_successPath!, _succeeded, null, _comment));
            var failed = Write(_failedPath, "images file", () => ImagesFileWriter.Write(_failedPath!, _failed, _failedRules, _comment));
            var summaryFile = Write(_summaryPath, "summary file", () => SummaryFile.Write(_summaryPath!, summary,
                Text(_failed, _failedRules), Text(_succeeded, null)));
            if (success != null || failed != null || summaryFile != null)
                throw new RegistryException(ErrorIds.InvalidOutputPath, string.Join(" ", new[] { success, failed, summaryFile }.Where(m => m != null)));
        }

        /// <summary>What the YAML images file holds; empty when it would list nothing.</summary>
        private string Text(List<ImageCopy> copies, List<SyncRule>? rules) =>
            copies.Count == 0 && (rules == null || rules.Count == 0) ? string.Empty : ImagesFileWriter.Format(copies, json: false, rules, _comment);

        private static string? Write(string? path, string what, Action write)
        {
            if (path == null) return null;
            try
            {
                write();
                return null;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is System.Security.SecurityException)
            {
                return $"The {what} '{path}' could not be written: {e.Message}";
            }
        }
    }
}
