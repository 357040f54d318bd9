using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Content;
using OciSync.Core.Registry;
using OciSync.Core.Transport;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// Moves one blob into one destination repository, at most once per run: already there → present;
    /// in another repository of the same registry → mount; otherwise stream it from the source,
    /// verified as it flows, retrying the whole transfer from a fresh stream on transient faults.
    /// </summary>
    internal sealed class BlobCopier
    {
        private readonly ConcurrencyGate _gate;
        private readonly SyncOptions _options;
        private readonly ISyncObserver _observer;
        private readonly IOciLog _log;
        private readonly TimeSpan _stallTimeout;
        // One transfer per destination repository and digest, shared by every image that needs it.
        private readonly ConcurrentDictionary<string, Lazy<Task<LayerResult>>> _transfers = new ConcurrentDictionary<string, Lazy<Task<LayerResult>>>(StringComparer.Ordinal);
        // Where in each destination registry a blob already lives (or is being put), for mounts.
        private readonly ConcurrentDictionary<string, Task<string?>> _homes = new ConcurrentDictionary<string, Task<string?>>(StringComparer.Ordinal);

        /// <param name="stallTimeout">How long a transfer may move no byte (source or destination stalled) before it is abandoned and retried.</param>
        public BlobCopier(ConcurrencyGate gate, SyncOptions options, ISyncObserver observer, IOciLog log, TimeSpan stallTimeout)
        {
            _stallTimeout = stallTimeout;
            _gate = gate;
            _options = options;
            _observer = observer;
            _log = log;
        }

        public Task<LayerResult> CopyAsync(RegistryClient source, string sourceRepository, RegistryClient destination, string destinationRepository, Descriptor blob, CancellationToken ct)
        {
            var key = $"{destination.Registry}/{destinationRepository}@{blob.Digest}";
            var lazy = _transfers.GetOrAdd(key, _ => new Lazy<Task<LayerResult>>(() =>
                TransferAsync(source, sourceRepository, destination, destinationRepository, blob, ct)));
            return lazy.Value;
        }

        /// <summary>Forgets failed transfers so the next pass tries them again.</summary>
        public void ForgetFailures()
        {
            foreach (var pair in _transfers)
            {
                var task = pair.Value.IsValueCreated ? pair.Value.Value : null;
                if (task != null && task.IsCompleted && (task.IsFaulted || task.IsCanceled || task.Result.Action == LayerAction.Failed))
                    _transfers.TryRemove(pair.Key, out _);
            }
        }

        private async Task<LayerResult> TransferAsync(RegistryClient source, string sourceRepository, RegistryClient destination, string destinationRepository, Descriptor blob, CancellationToken ct)
        {
            var watch = Stopwatch.StartNew();
            var homeKey = $"{destination.Registry}@{blob.Digest}";
            var mine = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
            var home = _homes.GetOrAdd(homeKey, mine.Task);
            string? mountFrom = null;
            if (home != mine.Task)
            {
                // Another repository of this registry is getting the blob: wait, then mount from it.
                mountFrom = await home.ConfigureAwait(false);
                if (mountFrom == destinationRepository) mountFrom = null;
            }
            else if (source.Registry == destination.Registry && sourceRepository != destinationRepository)
            {
                mountFrom = sourceRepository;
            }

            var action = LayerAction.Failed;
            try
            {
                action = await _gate.RunAsync(() => LadderAsync(source, sourceRepository, destination, destinationRepository, blob, mountFrom, ct), ct).ConfigureAwait(false);
                mine.TrySetResult(destinationRepository);
                var result = Result(blob, source, sourceRepository, destination, destinationRepository, action, watch, action == LayerAction.Mounted ? mountFrom : null, null);
                _observer.OnLayer(result);
                return result;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                mine.TrySetResult(null);
                throw;
            }
            catch (Exception e)
            {
                mine.TrySetResult(null);
                if (home == mine.Task) _homes.TryRemove(homeKey, out _);
                var result = Result(blob, source, sourceRepository, destination, destinationRepository, LayerAction.Failed, watch, null, e.Message);
                _observer.OnLayer(result);
                throw new BlobCopyException(blob, destinationRepository, e);
            }
        }

        private async Task<LayerAction> LadderAsync(RegistryClient source, string sourceRepository, RegistryClient destination, string destinationRepository, Descriptor blob, string? mountFrom, CancellationToken ct)
        {
            if (await destination.BlobExistsAsync(destinationRepository, blob.Digest, ct).ConfigureAwait(false)) return LayerAction.Present;

            Uri? uploadLocation = null;
            if (mountFrom != null)
            {
                var mount = await destination.MountBlobAsync(destinationRepository, blob.Digest, mountFrom, ct).ConfigureAwait(false);
                if (mount.Mounted) return LayerAction.Mounted;
                uploadLocation = mount.UploadLocation; // the registry declined the mount but opened an upload
            }

            for (int attempt = 1; ; attempt++)
            {
                long moved = 0;
                try
                {
                    await StreamAsync(source, sourceRepository, destination, destinationRepository, blob, uploadLocation, n => moved += n, ct).ConfigureAwait(false);
                    return LayerAction.Copied;
                }
                catch (Exception e) when (attempt < _options.BlobAttempts && IsWorthRetrying(e) && !ct.IsCancellationRequested)
                {
                    _observer.OnBytes(-moved);
                    uploadLocation = null; // a broken upload session is not reused
                    var wait = TimeSpan.FromMilliseconds(250 * Math.Pow(2, attempt - 1));
                    _log.Write(OciLogLevel.Warning, $"Blob {blob.Digest} to {destination.Registry}/{destinationRepository}: attempt {attempt} failed ({e.Message}); retrying in {wait.TotalSeconds:0.##} s.");
                    await Task.Delay(wait, ct).ConfigureAwait(false);
                }
            }
        }

        /// <summary>
        /// One streamed transfer. A watchdog restarted by every chunk cancels it when nothing moves for
        /// the stall timeout, whichever side stopped: the source not sending or the destination not reading.
        /// </summary>
        private async Task StreamAsync(RegistryClient source, string sourceRepository, RegistryClient destination, string destinationRepository,
            Descriptor blob, Uri? uploadLocation, Action<long> moved, CancellationToken ct)
        {
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
            stall.CancelAfter(_stallTimeout);
            try
            {
                using var stream = await source.OpenBlobAsync(sourceRepository, blob, n =>
                {
                    stall.CancelAfter(_stallTimeout);
                    moved(n);
                    _observer.OnBytes(n);
                }, stall.Token).ConfigureAwait(false);
                await destination.UploadBlobAsync(destinationRepository, blob, stream, uploadLocation, stall.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (stall.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw new TimeoutException($"No bytes of {blob.Digest} moved for {_stallTimeout.TotalSeconds:0.#} s.", e);
            }
        }

        internal static bool IsWorthRetrying(Exception e) =>
            e is DigestMismatchException || e is TimeoutException || e is System.IO.IOException ||
            (e is RegistryException r && (r.IsTransient || r.ErrorId == ErrorIds.RegistryProtocolError || r.ErrorId == ErrorIds.DigestMismatch));

        private static LayerResult Result(Descriptor blob, RegistryClient source, string sourceRepository, RegistryClient destination, string destinationRepository,
            LayerAction action, Stopwatch watch, string? mountedFrom, string? error) => new LayerResult
            {
                Source = $"{source.Registry}/{sourceRepository}",
                Destination = $"{destination.Registry}/{destinationRepository}",
                Digest = blob.Digest.ToString(),
                MediaType = blob.MediaType,
                Size = blob.Size,
                Action = action,
                Seconds = watch.Elapsed.TotalSeconds,
                MountedFrom = mountedFrom,
                Error = error,
            };
    }

    /// <summary>A blob could not be copied; the inner exception says why.</summary>
    public sealed class BlobCopyException : Exception
    {
        public BlobCopyException(Descriptor blob, string destinationRepository, Exception inner)
            : base($"Blob {blob.Digest} could not be copied to {destinationRepository}: {inner.Message}", inner) { }
    }
}
