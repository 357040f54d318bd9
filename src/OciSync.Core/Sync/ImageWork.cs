using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Transport;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// One image's copy while it runs: the child manifests and layers it touched and the bytes it
    /// sent, gathered from the threads that copy them, then turned into its one <see cref="ImageResult"/>.
    /// Nothing of it outlives the result.
    /// </summary>
    internal sealed class ImageWork
    {
        private readonly ImageCopy _copy;
        /// <summary>The copy this work is for; blob transfers remember it as their owner across passes.</summary>
        public ImageCopy Copy { get; }
        private readonly int _pass;
        private readonly ISyncObserver _observer;
        private readonly DateTime _start = DateTime.UtcNow;
        private readonly Stopwatch _watch = Stopwatch.StartNew();
        private readonly object _lock = new object();
        private readonly List<ManifestResult> _manifests = new List<ManifestResult>();
        private readonly List<LayerResult> _layers = new List<LayerResult>();
        private readonly List<string> _platforms = new List<string>();
        private readonly List<ManifestResult> _referrers = new List<ManifestResult>();
        private long _bytes;

        public ImageWork(ImageCopy copy, int pass, ISyncObserver observer)
        {
            Copy = copy;
            _copy = copy;
            _pass = pass;
            _observer = observer;
        }

        /// <summary>A child manifest finished: kept for the image and shown to the observer at once.</summary>
        public void Add(ManifestResult child)
        {
            lock (_lock) _manifests.Add(child);
            _observer.OnManifest(child);
        }

        /// <summary>A layer the image needed; its bytes count here only if this image's request <paramref name="sent"/> them.</summary>
        public void Add(LayerResult layer, bool sent)
        {
            lock (_lock)
            {
                _layers.Add(layer);
                if (sent && layer.Action == SyncAction.Copied) _bytes += layer.Size;
            }
        }

        /// <summary>A referrer finished: kept for the image and shown to the observer at once.</summary>
        public void AddReferrer(ManifestResult referrer)
        {
            lock (_lock) _referrers.Add(referrer);
            _observer.OnManifest(referrer);
        }

        /// <summary>The referrers copied or found so far.</summary>
        public IReadOnlyList<ManifestResult> Referrers()
        {
            lock (_lock) return _referrers.ToArray();
        }

        /// <summary>The digests of the child manifests this copy pushed (their referrers follow them).</summary>
        public IReadOnlyList<Digest> SyncedChildren()
        {
            lock (_lock)
                return _manifests.Where(m => m.Subject == null && m.Action == SyncAction.Synced && m.Digest != null)
                    .Select(m => Digest.Parse(m.Digest!)).ToList();
        }

        public void Platforms(IEnumerable<string?> platforms)
        {
            lock (_lock) _platforms.AddRange(platforms.Where(p => p != null).Select(p => p!));
        }

        public ImageResult Finish(string action, Digest? digest, Digest? sourceDigest, string? mediaType) =>
            Build(action, digest?.ToString(), (sourceDigest ?? _copy.SourceDigest)?.ToString(), mediaType, SyncPhase.Copying, null, null);

        public ImageResult Fail(Exception error) =>
            Build(SyncAction.Failed, null, _copy.SourceDigest?.ToString(), null, SyncPhase.Copying, ErrorIds.Of(error), error.Message);

        private ImageResult Build(string action, string? digest, string? sourceDigest, string? mediaType, string phase, string? errorId, string? error)
        {
            lock (_lock)
            {
                return new ImageResult
                {
                    Source = _copy.Source.ToString(),
                    Destination = _copy.Destination.ToString(),
                    Rule = _copy.Rule,
                    Digest = digest,
                    SourceDigest = sourceDigest,
                    MediaType = mediaType,
                    Action = action,
                    Phase = phase,
                    Pass = _pass,
                    Platforms = _platforms.Distinct(StringComparer.Ordinal).ToArray(),
                    BytesCopied = _bytes,
                    StartTime = _start,
                    EndTime = _start + _watch.Elapsed,
                    Seconds = _watch.Elapsed.TotalSeconds,
                    Manifests = _manifests.ToArray(),
                    Layers = _layers.ToArray(),
                    Referrers = _referrers.ToArray(),
                    ErrorId = errorId,
                    Error = error,
                };
            }
        }

        /// <summary>The result of an image (or a whole rule) that failed before any copying: listing or HEADs; timed from the start of its pass.</summary>
        public static ImageResult PlanFailure(PlanError failure, int pass, DateTime start)
        {
            var now = DateTime.UtcNow;
            var copy = failure.Copy;
            return new ImageResult
            {
                // A rule that could not be listed names its repository and the destinations it had.
                Source = copy?.Source.ToString() ?? failure.Rule!.ListedName,
                Destination = copy?.Destination.ToString() ?? string.Join(", ", failure.Rule!.Targets.Select(t => t.ToString())),
                Rule = copy?.Rule ?? failure.Rule?.ToString(),
                SourceDigest = copy?.SourceDigest?.ToString(),
                Action = SyncAction.Failed,
                Phase = failure.Phase,
                Pass = pass,
                StartTime = start,
                EndTime = now,
                Seconds = (now - start).TotalSeconds,
                ErrorId = ErrorIds.Of(failure.Error),
                Error = failure.Copy != null ? failure.Error.Message
                    : failure.Rule!.IsCatalog ? $"listing the repositories of {failure.Rule.SourceRepository.Registry} (its catalog) failed: {failure.Error.Message}"
                    : $"listing the tags of {failure.Rule!.SourceRepository.RepositoryName} failed: {failure.Error.Message}",
            };
        }
    }
}
