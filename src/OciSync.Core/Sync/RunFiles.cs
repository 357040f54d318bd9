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
    /// unchanged images included. Only copies are kept, and only for a file that was asked for.
    /// </summary>
    internal sealed class RunFiles
    {
        private readonly string? _successPath;
        private readonly string? _failedPath;
        private readonly List<ImageCopy> _succeeded = new List<ImageCopy>();
        private readonly List<ImageCopy> _failed = new List<ImageCopy>();
        private readonly List<SyncRule> _failedRules = new List<SyncRule>();

        internal RunFiles(SyncOptions options)
        {
            _successPath = options.SuccessImagesPath;
            _failedPath = options.FailedImagesPath;
        }

        /// <summary>An image is final; <paramref name="copy"/> is null when <paramref name="rule"/> could not be listed.</summary>
        internal void Record(ImageResult result, ImageCopy? copy, SyncRule? rule)
        {
            var failed = result.Action == SyncAction.Failed;
            lock (_succeeded)
            {
                if (failed && _failedPath != null)
                {
                    if (copy != null) _failed.Add(copy);
                    if (rule != null) _failedRules.Add(rule);
                }
                if (!failed && _successPath != null && copy != null) _succeeded.Add(copy);
            }
        }

        /// <summary>Written once the run's content is where it should be (after the stores' flush).</summary>
        /// <summary>Both files are tried; a file that cannot be written is then the error (the other is written all the same).</summary>
        internal void Write()
        {
            var success = Write(_successPath, _succeeded, null);
            var failed = Write(_failedPath, _failed, _failedRules);
            if (success != null || failed != null)
                throw new RegistryException(ErrorIds.InvalidOutputPath, string.Join(" ", new[] { success, failed }.Where(m => m != null)));
        }

        private static string? Write(string? path, List<ImageCopy> copies, List<SyncRule>? rules)
        {
            if (path == null) return null;
            try
            {
                ImagesFileWriter.Write(path, copies, rules);
                return null;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is System.Security.SecurityException)
            {
                return $"The images file '{path}' could not be written: {e.Message}";
            }
        }
    }
}
