using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.PowerShell.Infrastructure;

namespace OciSync.PowerShell.Commands
{
    public sealed partial class InvokeImageSyncCommand
    {
        /// <summary>
        /// What a run tells its caller, from the engine's threads through the pump: the objects the
        /// output switches ask for, an error record per failed image (held back under ErrorAction
        /// Stop) and progress.
        /// </summary>
        private sealed class RunOutput : ISyncObserver
        {
            private readonly InvokeImageSyncCommand _cmdlet;
            private readonly bool _holdErrors;
            private readonly object _lock = new object();

            public RunOutput(InvokeImageSyncCommand cmdlet, bool holdErrors)
            {
                _cmdlet = cmdlet;
                _holdErrors = holdErrors;
                Progress = new ProgressObserver(cmdlet.PostProgress);
            }

            public ProgressObserver Progress { get; }
            /// <summary>The first failure when errors are held back (ErrorAction Stop); null otherwise or when all went well.</summary>
            public ImageResult? FirstFailure { get; private set; }

            public void OnLayer(LayerResult result)
            {
                if (_cmdlet.Detailed) _cmdlet.PostObject(result);
            }

            public void OnManifest(ManifestResult result)
            {
                if (_cmdlet.Detailed) _cmdlet.PostObject(result);
            }

            public void OnImage(ImageResult result)
            {
                if (!_cmdlet.Summary) _cmdlet.PostObject(result);
                var failed = result.Action == SyncAction.Failed;
                lock (_lock)
                {
                    if (failed && _holdErrors && FirstFailure == null) FirstFailure = result;
                }
                // A stale tag -Prune had to keep (a delete by digest would take a kept tag along) is no failure, but said.
                if (result.Action == SyncAction.Kept && result.Error != null) _cmdlet.PostWarning(result.Error);
                if (failed && !_holdErrors)
                    _cmdlet.PostError(Errors.Record(new SyncFailedException(result), result.ErrorId ?? ErrorIds.ImageSyncFailed, result));
            }

            public void OnBytes(long count) => Progress.OnBytes(count);
            public void OnProgress(SyncProgress progress) => Progress.OnProgress(progress);
        }
    }
}
