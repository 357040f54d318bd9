using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.Content;
using OciSync.Core.Registry;
using OciSync.Core.Stores;
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
        private readonly ConcurrencyGate _transfers;
        private readonly RequestGates _requests;
        private readonly SyncOptions _options;
        private readonly ISyncObserver _observer;
        private readonly IOciLog _log;
        private readonly TimeSpan _stallTimeout;
        private readonly RequestStatistics _statistics;
        // One transfer per destination repository and digest, shared by every image that needs it.
        private readonly ConcurrentDictionary<string, Transfer> _running = new ConcurrentDictionary<string, Transfer>(StringComparer.Ordinal);
        // Where in each destination registry a blob already lives (or is being put), for mounts.
        private readonly ConcurrentDictionary<string, Task<string?>> _homes = new ConcurrentDictionary<string, Task<string?>>(StringComparer.Ordinal);

        /// <param name="transfers">Limits the streaming of blobs (-Proc).</param>
        /// <param name="requests">Limits the small requests around them (the existence check, the mount or upload start) and small blobs.</param>
        /// <param name="stallTimeout">How long a transfer may move no byte (source or destination stalled) before it is abandoned and retried.</param>
        public BlobCopier(ConcurrencyGate transfers, RequestGates requests, SyncOptions options, ISyncObserver observer, IOciLog log, TimeSpan stallTimeout, RequestStatistics statistics)
        {
            _statistics = statistics;
            _stallTimeout = stallTimeout;
            _transfers = transfers;
            _requests = requests;
            _options = options;
            _observer = observer;
            _log = log;
        }

        /// <summary>
        /// The blob's transfer into that repository, shared by every image that needs it.
        /// <see cref="BlobTransfer.Sent"/> is true only for the image (<paramref name="owner"/>) whose
        /// request started it — in this pass or an earlier one — so its bytes count for one image.
        /// </summary>
        public async Task<BlobTransfer> CopyAsync(IImageStore source, string sourceRepository, IImageStore destination, string destinationRepository, Descriptor blob, ImageCopy owner, CancellationToken ct)
        {
            var key = $"{destination.Name}/{destinationRepository}@{blob.Digest}";
            var mine = new Transfer(owner, () => TransferAsync(source, sourceRepository, destination, destinationRepository, blob, ct));
            var transfer = _running.GetOrAdd(key, mine);
            var sent = transfer.Owner.Equals(owner); // the same copy in a later pass is a new object
            var running = transfer.Running;
            if (running == null) // the outcome is set before the task is dropped
            {
                // Long finished: a light copy for this image's list, so the run holds no result per blob.
                var done = transfer.Outcome!;
                return new BlobTransfer(Result(blob, source, sourceRepository, destination, destinationRepository, done.Action, null, TimeSpan.Zero, done.MountedFrom, null), sent);
            }
            var result = await running.ConfigureAwait(false);
            if (ReferenceEquals(transfer, mine)) transfer.Settle(result);
            return new BlobTransfer(result, sent);
        }

        /// <summary>Forgets failed transfers so the next pass tries them again.</summary>
        public void ForgetFailures()
        {
            foreach (var pair in _running)
                if (pair.Value.Failed) _running.TryRemove(pair.Key, out _);
        }

        /// <summary>
        /// One blob's transfer into one repository: the task while it runs, then only how it ended, so
        /// a run over 100,000 images keeps its key and this small record per blob instead of its result.
        /// </summary>
        private sealed class Transfer
        {
            private volatile Lazy<Task<LayerResult>>? _start; // dropped once settled: its task holds the result
            private volatile Done? _outcome;

            public Transfer(ImageCopy owner, Func<Task<LayerResult>> start)
            {
                Owner = owner;
                _start = new Lazy<Task<LayerResult>>(start);
            }

            /// <summary>The image whose request started the transfer: its bytes are that image's.</summary>
            public ImageCopy Owner { get; }

            public Done? Outcome => _outcome;
            /// <summary>The transfer's task until it is settled, then null (read <see cref="Outcome"/>).</summary>
            public Task<LayerResult>? Running => _start?.Value;
            public bool Failed => _start is { IsValueCreated: true } s && s.Value.IsCompleted && s.Value.Status != TaskStatus.RanToCompletion;

            public void Settle(LayerResult result)
            {
                _outcome = new Done(result.Action, result.MountedFrom);
                _start = null;
            }
        }

        private sealed class Done
        {
            public Done(string action, string? mountedFrom) { Action = action; MountedFrom = mountedFrom; }
            public string Action { get; }
            public string? MountedFrom { get; }
        }

        private async Task<LayerResult> TransferAsync(IImageStore source, string sourceRepository, IImageStore destination, string destinationRepository, Descriptor blob, CancellationToken ct)
        {
            var watch = Stopwatch.StartNew();
            var homeKey = $"{destination.Name}@{blob.Digest}";
            var mine = new TaskCompletionSource<string?>(TaskCreationOptions.RunContinuationsAsynchronously);
            var home = _homes.GetOrAdd(homeKey, mine.Task);
            string? mountFrom = null;
            var queued = new Queued(watch);
            if (home != mine.Task)
            {
                // Another repository of this registry is getting the blob: wait (queued time), then mount from it.
                queued.Waiting();
                mountFrom = await home.ConfigureAwait(false);
                queued.Got();
                if (mountFrom == destinationRepository) mountFrom = null;
            }
            else if (source.Name == destination.Name && sourceRepository != destinationRepository)
            {
                mountFrom = sourceRepository;
            }
            if (!destination.CanMount) mountFrom = null; // a layout is one repository: nothing to mount from

            // Seconds are the transfer's own; waiting for a slot (or another repository's upload) is queued time.
            try
            {
                var action = await LadderAsync(source, sourceRepository, destination, destinationRepository, blob, mountFrom, queued, ct).ConfigureAwait(false);
                mine.TrySetResult(destinationRepository);
                var result = Result(blob, source, sourceRepository, destination, destinationRepository, action, watch, queued.Time, action == SyncAction.Mounted ? mountFrom : null, null);
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
                var result = Result(blob, source, sourceRepository, destination, destinationRepository, SyncAction.Failed, watch, queued.Time, null, e.Message);
                _observer.OnLayer(result);
                throw new BlobCopyException(blob, destinationRepository, e, result);
            }
        }

        /// <summary>Time spent waiting for slots (the request slots, then a transfer slot), apart from the transfer's own.</summary>
        private sealed class Queued
        {
            private readonly Stopwatch _watch;
            private TimeSpan _waitStart;
            public Queued(Stopwatch watch) => _watch = watch;
            public TimeSpan Time { get; private set; }
            public void Waiting() => _waitStart = _watch.Elapsed;
            public void Got() => Time += _watch.Elapsed - _waitStart;
        }

        /// <summary>
        /// Present, mounted, or streamed. The check and the mount (or, when there is nothing to mount from,
        /// the upload start) are small requests and take a request slot; only the stream takes a transfer
        /// slot, so across a network the -Proc transfers are not each waiting out two round trips first.
        /// </summary>
        private async Task<string> LadderAsync(IImageStore source, string sourceRepository, IImageStore destination, string destinationRepository, Descriptor blob,
            string? mountFrom, Queued queued, CancellationToken ct)
        {
            queued.Waiting();
            var prepared = await _requests.RunAsync(destination, async () =>
            {
                queued.Got();
                if (await destination.BlobExistsAsync(destinationRepository, blob.Digest, ct).ConfigureAwait(false)) return SyncAction.Present;
                // A declined mount's POST opened the upload session the stream then uses.
                if (!destination.CanMount) return null;
                if (mountFrom != null)
                    return await destination.TryMountBlobAsync(destinationRepository, blob.Digest, mountFrom, ct).ConfigureAwait(false) ? SyncAction.Mounted : null;
                // Nothing to mount from: the upload session is opened here, outside the transfer slot. A failure is
                // no failure of the blob: the upload then opens its own, inside the retries below.
                try { await destination.TryMountBlobAsync(destinationRepository, blob.Digest, null, ct).ConfigureAwait(false); }
                catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
                {
                    _log.Write(OciLogLevel.Verbose, $"Blob {blob.Digest} to {destination.Name}/{destinationRepository}: starting the upload early failed ({e.Message}); the upload starts its own.");
                }
                return null;
            }, ct).ConfigureAwait(false);
            if (prepared != null) return prepared;

            for (int attempt = 1; ; attempt++)
            {
                long moved = 0;
                try
                {
                    queued.Waiting();
                    // A small blob's time is its round trips, not its bytes: it goes as a small request at both ends.
                    if (blob.Size >= 0 && blob.Size <= _options.SmallBlobBytes)
                    {
                        await _requests.RunAsync(source, destination, () =>
                        {
                            queued.Got();
                            return StreamAsync(source, sourceRepository, destination, destinationRepository, blob, n => moved += n, null, ct);
                        }, ct).ConfigureAwait(false);
                    }
                    else
                    {
                        // The slot is the bandwidth: it is given back when the last byte is read, while the destination's
                        // answer is still a round trip away, so the next transfer starts in that time.
                        using var slot = await _transfers.EnterAsync(ct).ConfigureAwait(false);
                        queued.Got();
                        await StreamAsync(source, sourceRepository, destination, destinationRepository, blob, n => moved += n, slot.Dispose, ct).ConfigureAwait(false);
                    }
                    return SyncAction.Copied;
                }
                catch (Exception e) when (attempt < _options.BlobAttempts && IsWorthRetrying(e) && !ct.IsCancellationRequested)
                {
                    _observer.OnBytes(-moved);
                    _statistics.Retried();
                    var wait = TimeSpan.FromMilliseconds(250 * Math.Pow(2, attempt - 1));
                    _log.Write(OciLogLevel.Warning, $"Blob {blob.Digest} to {destination.Name}/{destinationRepository}: attempt {attempt} failed ({e.Message}); retrying in {wait.TotalSeconds:0.##} s.");
                    await Task.Delay(wait, ct).ConfigureAwait(false);
                }
            }
        }

        /// <summary>
        /// One streamed transfer. A watchdog restarted by every chunk cancels it when nothing moves for
        /// the stall timeout, whichever side stopped: the source not sending or the destination not reading.
        /// </summary>
        private async Task StreamAsync(IImageStore source, string sourceRepository, IImageStore destination, string destinationRepository,
            Descriptor blob, Action<long> moved, Action? sent, CancellationToken ct)
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
                stream.Ended = sent;
                await destination.PutBlobAsync(destinationRepository, blob, stream, stall.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (stall.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw new TimeoutException($"No bytes of {blob.Digest} moved for {_stallTimeout.TotalSeconds:0.#} s.", e);
            }
        }

        internal static bool IsWorthRetrying(Exception e) =>
            e is System.IO.IOException || ErrorIds.Describe(ErrorIds.Of(e)).RetryTransfer;

        private static LayerResult Result(Descriptor blob, IImageStore source, string sourceRepository, IImageStore destination, string destinationRepository,
            string action, Stopwatch? watch, TimeSpan queued, string? mountedFrom, string? error) => new LayerResult
            {
                Source = $"{source.Name}/{sourceRepository}",
                Destination = $"{destination.Name}/{destinationRepository}",
                Digest = blob.Digest.ToString(),
                MediaType = blob.MediaType,
                Size = blob.Size,
                Action = action,
                Seconds = watch == null ? 0 : (watch.Elapsed - queued).TotalSeconds,
                QueuedSeconds = queued.TotalSeconds,
                MountedFrom = mountedFrom,
                Error = error,
            };
    }

    /// <summary>A blob could not be copied; the inner exception says why.</summary>
    internal sealed class BlobCopyException : Exception, IHasErrorId
    {
        /// <summary>The id of what made the copy fail.</summary>
        public string ErrorId => ErrorIds.Of(InnerException!);
        public BlobCopyException(Descriptor blob, string destinationRepository, Exception inner, LayerResult result)
            : base($"Blob {blob.Digest} could not be copied to {destinationRepository}: {inner.Message}", inner) { Result = result; }

        /// <summary>The failed layer's result, for the image that needed it.</summary>
        public LayerResult Result { get; }
    }

    /// <summary>A blob's transfer as one image sees it: the shared result, and whether this image's request sent it.</summary>
    internal readonly struct BlobTransfer
    {
        public BlobTransfer(LayerResult result, bool sent) { Result = result; Sent = sent; }
        public LayerResult Result { get; }
        public bool Sent { get; }
    }
}
