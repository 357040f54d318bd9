using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.Content;
using OciSync.Core.References;
using OciSync.Core.Registry;
using OciSync.Core.Stores;
using OciSync.Core.Transport;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// Copies one image (manifest or index) from source to destination: decide "unchanged" from
    /// digests, then children before their index, blobs before their manifest, the tag last — so an
    /// interrupted copy never leaves a tag pointing at missing content. Manifest bytes are pushed as
    /// served; only a platform filter that really removed entries writes a new index.
    /// </summary>
    internal sealed class ImageCopier
    {
        private readonly ImageStores _stores;
        private readonly RequestGates _gate;
        private readonly BlobCopier _blobs;
        private readonly SyncOptions _options;
        private readonly ISyncObserver _observer;
        // Real images nest one index deep (an index of platform images), rarely two; a registry that
        // nests further is building a maze, not an image.
        internal const int MaxIndexDepth = 8;
        // Distinct manifests one image may consist of (a 200-platform index is large); a registry can
        // point an index at the same children again and again, so each child is also copied only once.
        internal const int MaxManifestsPerImage = 1000;
        // Manifests kept for reuse before the finished ones are let go: a run of 100,000 images must not hold them all.
        internal const int MaxCachedManifests = 4096;
        // Manifests fetched by digest this run: an image going to several destinations is pulled once
        // (a manifest GET is what Docker Hub counts against its pull limit).
        // Lazy: GetOrAdd may run its factory twice when two images ask at once, which would mean two GETs.
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<Manifest>>> _fetched =
            new System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<Task<Manifest>>>(StringComparer.Ordinal);

        public ImageCopier(ImageStores stores, RequestGates gate, BlobCopier blobs, SyncOptions options, ISyncObserver observer)
        {
            _stores = stores;
            _gate = gate;
            _blobs = blobs;
            _options = options;
            _observer = observer;
        }

        /// <summary>Copies the image, recording its child manifests, layers and bytes in <paramref name="work"/> as it goes.</summary>
        public async Task<ImageResult> CopyAsync(ImageCopy copy, ImageWork work, CancellationToken ct)
        {
            var src = _stores.Get(copy.Source);
            var dst = _stores.Get(copy.Destination);
            var srcRepo = copy.Source.Repository;
            var dstRepo = copy.Destination.Repository;

            var sourceDigest = copy.SourceDigest ?? copy.Source.Digest;
            if (sourceDigest is null)
            {
                var head = await _gate.RunAsync(src, () => src.HeadManifestAsync(srcRepo, copy.Source.ApiReference!, ct), ct).ConfigureAwait(false)
                    ?? throw RegistryException.ManifestNotFound(copy.Source);
                sourceDigest = head.Digest;
            }

            Digest? destinationDigest = null;
            if (!_options.Force)
            {
                destinationDigest = copy.Planned ? copy.DestinationDigest
                    : (await _gate.RunAsync(dst, () => dst.HeadManifestAsync(dstRepo, copy.Destination.ApiReference!, ct), ct).ConfigureAwait(false))?.Digest;
                if (destinationDigest is not null && destinationDigest == sourceDigest)
                    return work.Finish(SyncAction.Unchanged, sourceDigest, sourceDigest, null);
            }

            var manifest = await FetchAsync(src, srcRepo, sourceDigest?.ToString() ?? copy.Source.ApiReference!, ct).ConfigureAwait(false);

            if (manifest.IsIndex)
            {
                var kept = manifest.Children.Where(c => KeepsPlatform(copy, c.Platform)).ToList();
                if (kept.Count == 0)
                    return work.Finish(SyncAction.Filtered, manifest.Digest, manifest.Digest, manifest.MediaType);
                work.Platforms(kept.Select(k => k.Platform?.ToString()));

                // Children first, all of them, before the index that names them.
                var walk = new IndexWalk();
                await Task.WhenAll(kept.Select(child => CopyChildAsync(copy, src, dst, child, work, 1, walk, ct))).ConfigureAwait(false);

                var pushed = kept.Count == manifest.Children.Count ? manifest : FilterIndex(manifest, kept);
                if (!_options.Force && destinationDigest is not null && destinationDigest == pushed.Digest)
                    return work.Finish(SyncAction.Unchanged, pushed.Digest, manifest.Digest, pushed.MediaType);
                await _gate.RunAsync(dst, () => dst.PutManifestAsync(dstRepo, copy.Destination.ApiReference!, pushed, child: false, ct), ct).ConfigureAwait(false);
                return work.Finish(SyncAction.Synced, pushed.Digest, manifest.Digest, pushed.MediaType);
            }

            if (!_options.Platforms.IsEmpty || copy.Platforms != null)
            {
                var p = await ReadPlatformAsync(src, srcRepo, manifest, ct).ConfigureAwait(false);
                work.Platforms(new[] { p?.ToString() });
                if (!KeepsPlatform(copy, p))
                    return work.Finish(SyncAction.Filtered, manifest.Digest, manifest.Digest, manifest.MediaType);
            }

            await CopyBlobsAsync(src, srcRepo, dst, dstRepo, manifest, work, ct).ConfigureAwait(false);
            await _gate.RunAsync(dst, () => dst.PutManifestAsync(dstRepo, copy.Destination.ApiReference!, manifest, child: false, ct), ct).ConfigureAwait(false);
            return work.Finish(SyncAction.Synced, manifest.Digest, manifest.Digest, manifest.MediaType);
        }

        /// <summary>The run's -OS/-Arch filter and the copy's rule platform list (when it has one) must both keep a platform.</summary>
        private bool KeepsPlatform(ImageCopy copy, Platform? platform) =>
            _options.Platforms.Matches(platform) && (copy.Platforms == null || copy.Platforms.Matches(platform));

        /// <summary>An index entry: pushed by digest, after its own blobs (or grandchildren).</summary>
        private Task CopyChildAsync(ImageCopy copy, IImageStore src, IImageStore dst, Descriptor child, ImageWork work, int depth, IndexWalk walk, CancellationToken ct) =>
            walk.Once(copy, child.Digest, () => CopyChildOnceAsync(copy, src, dst, child, work, depth, walk, ct));

        private async Task CopyChildOnceAsync(ImageCopy copy, IImageStore src, IImageStore dst, Descriptor child, ImageWork work, int depth, IndexWalk walk, CancellationToken ct)
        {
            var watch = Stopwatch.StartNew();
            var srcRepo = copy.Source.Repository;
            var dstRepo = copy.Destination.Repository;
            var platform = child.Platform?.ToString();
            ManifestResult Child(string action, Manifest? manifest) => new ManifestResult
            {
                Source = copy.Source.WithDigest(child.Digest).ToString(),
                Destination = copy.Destination.WithDigest(child.Digest).ToString(),
                Digest = child.Digest.ToString(),
                SourceDigest = child.Digest.ToString(),
                MediaType = manifest?.MediaType ?? child.MediaType,
                Platform = platform,
                Action = action,
                Seconds = watch.Elapsed.TotalSeconds,
            };

            // A registry only accepts a manifest whose content it has, so an existing child is complete.
            if (!_options.Force && await _gate.RunAsync(dst, () => dst.HeadManifestAsync(dstRepo, child.Digest.ToString(), ct), ct).ConfigureAwait(false) is { } existing && existing.Digest is not null)
            {
                work.Add(Child(SyncAction.Unchanged, null));
                return;
            }

            var manifest = await FetchAsync(src, srcRepo, child.Digest.ToString(), ct).ConfigureAwait(false);
            if (manifest.IsIndex && depth >= MaxIndexDepth)
                throw new RegistryException(ErrorIds.ManifestInvalid, $"{copy.Source}: indexes are nested more than {MaxIndexDepth} levels deep; the image is not copied.");
            if (manifest.IsIndex)
                await Task.WhenAll(manifest.Children.Select(grandchild => CopyChildAsync(copy, src, dst, grandchild, work, depth + 1, walk, ct))).ConfigureAwait(false);
            else
                await CopyBlobsAsync(src, srcRepo, dst, dstRepo, manifest, work, ct).ConfigureAwait(false);
            await _gate.RunAsync(dst, () => dst.PutManifestAsync(dstRepo, child.Digest.ToString(), manifest, child: true, ct), ct).ConfigureAwait(false);
            work.Add(Child(SyncAction.Synced, manifest));
        }

        /// <summary>
        /// What a manifest references, not the manifest itself: an index's children (no platform filter: a
        /// referrer's index is copied whole), or an image's blobs.
        /// </summary>
        internal Task CopyContentAsync(ImageCopy copy, Manifest manifest, ImageWork work, CancellationToken ct)
        {
            var src = _stores.Get(copy.Source);
            var dst = _stores.Get(copy.Destination);
            if (!manifest.IsIndex) return CopyBlobsAsync(src, copy.Source.Repository, dst, copy.Destination.Repository, manifest, work, ct);
            var walk = new IndexWalk();
            return Task.WhenAll(manifest.Children.Select(child => CopyChildAsync(copy, src, dst, child, work, 1, walk, ct)));
        }

        /// <summary>A manifest by tag or digest; by digest it is fetched once however many images ask at once.</summary>
        internal Task<Manifest> FetchAsync(IImageStore src, string repository, string reference, CancellationToken ct)
        {
            Task<Manifest> Get() => _gate.RunAsync(src, () => src.GetManifestAsync(repository, reference, ct), ct);
            if (!Digest.TryParse(reference, out _)) return Get(); // a tag can move; only digests are cached
            if (_fetched.Count >= MaxCachedManifests) ForgetFetched();
            var key = $"{src.Name}/{repository}@{reference}";
            var entry = _fetched.GetOrAdd(key, _ => new Lazy<Task<Manifest>>(Get));
            if (entry.Value.IsFaulted || entry.Value.IsCanceled)
            {
                var fresh = new Lazy<Task<Manifest>>(Get); // a fetch that failed in an earlier pass is tried again
                entry = _fetched.TryUpdate(key, fresh, entry) ? fresh : _fetched[key];
            }
            return entry.Value;
        }

        /// <summary>Drops the finished fetches: the cache is for images going to several destinations at once, not a run's history.</summary>
        private void ForgetFetched()
        {
            foreach (var pair in _fetched)
                if (pair.Value.IsValueCreated && pair.Value.Value.IsCompleted) _fetched.TryRemove(pair.Key, out _);
        }

        private async Task CopyBlobsAsync(IImageStore src, string srcRepo, IImageStore dst, string dstRepo, Manifest manifest, ImageWork work, CancellationToken ct)
        {
            var transfers = manifest.Blobs.Select(b => _blobs.CopyAsync(src, srcRepo, dst, dstRepo, b, work.Copy, ct)).ToList();
            try
            {
                await Task.WhenAll(transfers).ConfigureAwait(false);
            }
            finally
            {
                // Failed layers belong to the image's result too: they say which blob broke it.
                foreach (var t in transfers)
                {
                    if (t.Status == TaskStatus.RanToCompletion) work.Add(t.Result.Result, t.Result.Sent);
                    else if (t.Exception?.InnerException is BlobCopyException failed) work.Add(failed.Result, sent: false);
                }
            }
        }

        /// <summary>A single-platform image's platform lives in its config blob.</summary>
        private async Task<Platform?> ReadPlatformAsync(IImageStore src, string repository, Manifest manifest, CancellationToken ct)
        {
            if (manifest.Config is null || manifest.Config.Size > _options.MaxConfigBytes) return null;
            return await _gate.RunAsync(src, async () =>
            {
                using var stream = await src.OpenBlobAsync(repository, manifest.Config, null, ct).ConfigureAwait(false);
                using var buffer = new MemoryStream();
                // The size may be absent from the descriptor: the cap holds whatever the registry sends.
                var chunk = new byte[16 * 1024];
                int n;
                while ((n = await stream.ReadAsync(chunk, 0, chunk.Length, ct).ConfigureAwait(false)) > 0)
                {
                    buffer.Write(chunk, 0, n);
                    if (buffer.Length > _options.MaxConfigBytes)
                        throw new RegistryException(ErrorIds.ManifestInvalid, $"{repository}: the image config {manifest.Config.Digest} is larger than {_options.MaxConfigBytes} bytes.");
                }
                try
                {
                    using var doc = JsonDocument.Parse(buffer.ToArray());
                    var root = doc.RootElement;
                    if (root.ValueKind != JsonValueKind.Object) return null;
                    var os = Manifest.GetString(root, "os");
                    var arch = Manifest.GetString(root, "architecture");
                    if (os == null || arch == null) return null;
                    return new Platform(os, arch) { Variant = Manifest.GetString(root, "variant"), OsVersion = Manifest.GetString(root, "os.version") };
                }
                catch (JsonException)
                {
                    return (Platform?)null;
                }
            }, ct).ConfigureAwait(false);
        }

        /// <summary>The same index with only the kept entries; every other field stays as the source wrote it.</summary>
        internal static Manifest FilterIndex(Manifest index, IReadOnlyCollection<Descriptor> kept)
        {
            var root = JsonNode.Parse(index.Bytes)!.AsObject();
            var keep = new HashSet<string>(kept.Select(k => k.Digest.ToString()), StringComparer.Ordinal);
            var entries = new JsonArray();
            foreach (var entry in root["manifests"]!.AsArray())
            {
                var digest = entry?["digest"]?.GetValue<string>();
                if (digest != null && keep.Contains(digest)) entries.Add(entry!.DeepClone());
            }
            root["manifests"] = entries;
            var bytes = System.Text.Encoding.UTF8.GetBytes(root.ToJsonString());
            return Manifest.Parse(bytes, index.MediaType);
        }

        /// <summary>The child manifests of one image copy: each digest copied once, and only so many of them.</summary>
        private sealed class IndexWalk
        {
            private readonly System.Collections.Concurrent.ConcurrentDictionary<Digest, Lazy<Task>> _children = new System.Collections.Concurrent.ConcurrentDictionary<Digest, Lazy<Task>>();

            public Task Once(ImageCopy copy, Digest digest, Func<Task> copyChild)
            {
                var entry = _children.GetOrAdd(digest, _ => new Lazy<Task>(copyChild));
                // A faulted task, not a throw: the children already started are awaited before the image fails.
                if (_children.Count > MaxManifestsPerImage)
                    return Task.FromException(new RegistryException(ErrorIds.ManifestInvalid, $"{copy.Source}: the image has more than {MaxManifestsPerImage} manifests; it is not copied."));
                return entry.Value;
            }
        }

    }
}
