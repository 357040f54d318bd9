using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Content;
using OciSync.Core.Registry;
using OciSync.Core.Transport;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// Runs a list of image copies under one concurrency limit, then runs further passes over the
    /// images that failed (image-syncer --retries). Results stream to the observer as they happen;
    /// the summary comes at the end.
    /// </summary>
    public sealed class SyncEngine
    {
        private readonly RegistryClientFactory _clients;
        private readonly SyncOptions _options;
        private readonly ISyncObserver _observer;
        private readonly IOciLog _log;
        private readonly ConcurrencyGate _gate;
        private readonly BlobCopier _blobs;
        private readonly ImageCopier _images;
        private readonly LayerTally _tally = new LayerTally();

        public SyncEngine(RegistryClientFactory clients, SyncOptions options, ISyncObserver observer)
        {
            options.Validate();
            _clients = clients;
            _options = options;
            _log = clients.Log;
            _observer = new TallyingObserver(observer, _tally, clients.Scrubber);
            _gate = new ConcurrencyGate(options.Concurrency);
            _blobs = new BlobCopier(_gate, options, _observer, _log, clients.Options.BlobIdleTimeout);
            _images = new ImageCopier(clients, _gate, _blobs, options, _observer);
        }

        /// <summary>Most blob and manifest operations that were ever in flight at once.</summary>
        public int PeakConcurrency => _gate.Peak;

        public async Task<SyncSummary> RunAsync(IReadOnlyList<ImageCopy> copies, CancellationToken ct)
        {
            var watch = Stopwatch.StartNew();
            var final = new Dictionary<ImageCopy, ManifestResult>();
            IReadOnlyList<ImageCopy> pending = copies;
            for (int pass = 0; pass <= _options.Retries && pending.Count > 0; pass++)
            {
                if (pass > 0)
                {
                    _log.Write(OciLogLevel.Information, $"Pass {pass + 1}: retrying {pending.Count} failed image(s).");
                    _clients.ForgetFailedPings();
                }
                var lastPass = pass == _options.Retries;
                // Images run side by side; the gate, not this, limits the work in flight. The bound
                // here keeps thousands of images from all holding state at once.
                using var images = new SemaphoreSlim(Math.Max(_options.Concurrency * 4, 8));
                var results = await Task.WhenAll(pending.Select(async copy =>
                {
                    await images.WaitAsync(ct).ConfigureAwait(false);
                    try { return (copy, result: await CopyOneAsync(copy, ct).ConfigureAwait(false)); }
                    finally { images.Release(); }
                })).ConfigureAwait(false);

                var failed = new List<ImageCopy>();
                foreach (var (copy, result) in results)
                {
                    var retry = result.Action == ManifestAction.Failed && !lastPass && IsRetryable(result.ErrorId);
                    if (retry)
                    {
                        failed.Add(copy);
                        _log.Write(OciLogLevel.Warning, $"{copy}: {result.Error} (will retry)");
                        continue;
                    }
                    final[copy] = result;
                    _observer.OnManifest(result);
                }
                _blobs.ForgetFailures();
                pending = failed;
            }

            var all = final.Values.ToList();
            return new SyncSummary
            {
                Images = copies.Count,
                Synced = all.Count(r => r.Action == ManifestAction.Synced),
                Unchanged = all.Count(r => r.Action == ManifestAction.Unchanged),
                Filtered = all.Count(r => r.Action == ManifestAction.Filtered),
                Failed = all.Count(r => r.Action == ManifestAction.Failed),
                BlobsCopied = _tally.Copied,
                BlobsMounted = _tally.Mounted,
                BlobsPresent = _tally.Present,
                BytesCopied = _tally.Bytes,
                Duration = watch.Elapsed,
            };
        }

        private async Task<ManifestResult> CopyOneAsync(ImageCopy copy, CancellationToken ct)
        {
            var watch = Stopwatch.StartNew();
            try
            {
                return await _images.CopyAsync(copy, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e)
            {
                return new ManifestResult
                {
                    Source = copy.Source.ToString(),
                    Destination = copy.Destination.ToString(),
                    SourceDigest = copy.SourceDigest?.ToString(),
                    Action = ManifestAction.Failed,
                    IsTopLevel = true,
                    Seconds = watch.Elapsed.TotalSeconds,
                    Error = e.Message,
                    ErrorId = ErrorIds.Of(e),
                };
            }
        }


        /// <summary>Failures another pass cannot fix are not retried.</summary>
        private static bool IsRetryable(string? errorId) =>
            errorId != ErrorIds.ManifestNotFound && errorId != ErrorIds.RepositoryNotFound &&
            errorId != ErrorIds.RegistryUnauthorized && errorId != ErrorIds.RegistryForbidden &&
            errorId != ErrorIds.InsecureTokenRealm && errorId != ErrorIds.ManifestInvalid &&
            errorId != ErrorIds.RegistryCertificateUntrusted;

        private sealed class LayerTally
        {
            private int _copied, _mounted, _present;
            private long _bytes;
            public int Copied => _copied;
            public int Mounted => _mounted;
            public int Present => _present;
            public long Bytes => Interlocked.Read(ref _bytes);

            public void Add(LayerResult r)
            {
                switch (r.Action)
                {
                    case LayerAction.Copied: Interlocked.Increment(ref _copied); Interlocked.Add(ref _bytes, r.Size); break;
                    case LayerAction.Mounted: Interlocked.Increment(ref _mounted); break;
                    case LayerAction.Present: Interlocked.Increment(ref _present); break;
                }
            }
        }

        private sealed class TallyingObserver : ISyncObserver
        {
            private readonly ISyncObserver _inner;
            private readonly LayerTally _tally;
            private readonly SecretScrubber _scrubber;
            public TallyingObserver(ISyncObserver inner, LayerTally tally, SecretScrubber scrubber) { _inner = inner; _tally = tally; _scrubber = scrubber; }

            // Every result leaves the engine through here, so this is where error texts lose their secrets.
            public void OnLayer(LayerResult result)
            {
                if (result.Error != null) result.Error = _scrubber.Scrub(result.Error);
                _tally.Add(result);
                _inner.OnLayer(result);
            }

            public void OnManifest(ManifestResult result)
            {
                if (result.Error != null) result.Error = _scrubber.Scrub(result.Error);
                _inner.OnManifest(result);
            }

            public void OnBytes(long count) => _inner.OnBytes(count);
        }
    }
}
