using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
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
    /// -MeasureSize: how many bytes each planned copy moves at most, from its source manifest (config + layers; for an
    /// index, those of every child the platform filters keep, as the copier keeps them). It costs a manifest GET per image
    /// (Docker Hub counts those against its pull quota), so it is opt-in. Sizes come from a registry and are untrusted:
    /// sums saturate at <see cref="MaxBytes"/>, and an image of more than the copier's manifest limit is not measured.
    /// </summary>
    public sealed class PlanSizes
    {
        /// <summary>The largest size reported (1 PiB): a sum that would exceed it stops there; no real image comes near.</summary>
        public const long MaxBytes = 1L << 50;

        private readonly ImageStores _stores;
        private readonly RequestGates _gate;
        private readonly IOciLog _log;
        // By store, repository and digest: an image going to several destinations, or a child two indexes share, is fetched once.
        private readonly ConcurrentDictionary<string, Lazy<Task<Manifest>>> _manifests = new ConcurrentDictionary<string, Lazy<Task<Manifest>>>(StringComparer.Ordinal);

        /// <summary>Measures through the registries of <paramref name="clients"/>, at most <paramref name="concurrency"/> GETs in flight at each.</summary>
        public PlanSizes(RegistryClientFactory clients, int concurrency) : this(new ImageStores(clients), new RequestGates(concurrency)) { }

        internal PlanSizes(ImageStores stores, RequestGates gate)
        {
            _stores = stores;
            _gate = gate;
            _log = stores.Registries.Log;
        }

        /// <summary>
        /// The copies, in their order, with <see cref="ImageCopy.Size"/> set: 0 for one already up to date (it moves no
        /// byte; no GET), the measured bytes for the others. One that cannot be measured keeps a null size, with a warning.
        /// </summary>
        /// <param name="platforms">The run's -OS/-Arch filter; each copy's rule platforms apply too.</param>
        public async Task<IReadOnlyList<ImageCopy>> MeasureAsync(IReadOnlyList<ImageCopy> copies, PlatformFilter platforms, CancellationToken ct)
        {
            if (copies == null) throw new ArgumentNullException(nameof(copies));
            if (platforms == null) throw new ArgumentNullException(nameof(platforms));
            var measured = await Task.WhenAll(copies.Select(async copy =>
            {
                if (copy.UpToDate) return copy.WithSize(0);
                try
                {
                    return copy.WithSize(await MeasureAsync(copy, platforms, ct).ConfigureAwait(false));
                }
                catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
                {
                    _log.Write(OciLogLevel.Warning, $"{copy.Source}: its size is not known ({_stores.Registries.Scrubber.Scrub(e.Message)}).");
                    return copy.WithSize(null);
                }
            })).ConfigureAwait(false);
            _manifests.Clear();
            return measured;
        }

        private async Task<long> MeasureAsync(ImageCopy copy, PlatformFilter platforms, CancellationToken ct)
        {
            var src = _stores.Get(copy.Source);
            var repository = copy.Source.Repository;
            var reference = (copy.SourceDigest ?? copy.Source.Digest)?.ToString() ?? copy.Source.ApiReference!;
            var top = await FetchAsync(src, repository, reference, ct).ConfigureAwait(false);
            // A single-platform image counts whole: its platform is in its config blob, and reading that costs a blob GET.
            if (!top.IsIndex) return SumBlobs(top);

            var kept = top.Children.Where(c => platforms.Matches(c.Platform) && (copy.Platforms == null || copy.Platforms.Matches(c.Platform))).ToList();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            long total = 0;
            // Breadth first, each manifest once, as bounded as the copier: a registry can build a maze of indexes.
            var level = kept;
            for (var depth = 1; level.Count > 0; depth++)
            {
                if (depth > ImageCopier.MaxIndexDepth)
                    throw new RegistryException(ErrorIds.ManifestInvalid, $"{copy.Source}: indexes are nested more than {ImageCopier.MaxIndexDepth} levels deep.");
                var fresh = level.Where(d => seen.Add(d.Digest.ToString())).ToList();
                if (seen.Count > ImageCopier.MaxManifestsPerImage)
                    throw new RegistryException(ErrorIds.ManifestInvalid, $"{copy.Source}: more than {ImageCopier.MaxManifestsPerImage} manifests in one image.");
                var children = await Task.WhenAll(fresh.Select(d => FetchAsync(src, repository, d.Digest.ToString(), ct))).ConfigureAwait(false);
                foreach (var child in children.Where(c => !c.IsIndex)) total = Add(total, SumBlobs(child));
                level = children.Where(c => c.IsIndex).SelectMany(c => c.Children).ToList();
            }
            return total;
        }

        private Task<Manifest> FetchAsync(IImageStore src, string repository, string reference, CancellationToken ct)
        {
            Task<Manifest> Get() => _gate.RunAsync(src, () => src.GetManifestAsync(repository, reference, ct), ct, GatePriority.Planning);
            return _manifests.GetOrAdd($"{src.Name}/{repository}@{reference}", _ => new Lazy<Task<Manifest>>(Get)).Value;
        }

        /// <summary>Config + layers of an image manifest, saturating; a negative size (Parse refuses them already) is refused again here.</summary>
        internal static long SumBlobs(Manifest manifest)
        {
            long total = 0;
            foreach (var blob in manifest.Blobs)
            {
                if (blob.Size < 0) throw new RegistryException(ErrorIds.ManifestInvalid, $"The manifest {manifest.Digest} gives a blob a negative size.");
                total = Add(total, blob.Size);
            }
            return total;
        }

        /// <summary>a + b for sizes from 0 to <see cref="MaxBytes"/>: never more than <see cref="MaxBytes"/>, never an overflow.</summary>
        public static long Add(long a, long b)
        {
            a = Math.Min(Math.Max(a, 0), MaxBytes);
            b = Math.Min(Math.Max(b, 0), MaxBytes);
            return a > MaxBytes - b ? MaxBytes : a + b;
        }
    }
}
