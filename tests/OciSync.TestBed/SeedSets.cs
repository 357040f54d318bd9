using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;

namespace OciSync.TestBed;

public sealed class SeedReport
{
    public IReadOnlyList<string> Repositories { get; init; } = Array.Empty<string>();
    /// <summary>"repository:tag" entries.</summary>
    public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();
    /// <summary>"repository:tag" → manifest digest (index digest for multi-platform tags).</summary>
    public IReadOnlyDictionary<string, string> Digests { get; init; } = new Dictionary<string, string>();
    /// <summary>Distinct (repository, blob) pairs pushed: layers and configs.</summary>
    public int Blobs { get; init; }
    /// <summary>Distinct manifests pushed (images, children and indexes).</summary>
    public int Manifests { get; init; }
    /// <summary>Bytes of all distinct blobs plus manifests, per repository.</summary>
    public long TotalBytes { get; init; }

    public override string ToString() =>
        $"{Repositories.Count} repositories, {Tags.Count} tags, {Blobs} blobs, {Manifests} manifests, {TotalBytes / (1024.0 * 1024):F1} MiB";
}

/// <summary>Reproducible content for tests, the demo and the benchmark.</summary>
public static class SeedSets
{
    private static readonly Lazy<TestImage> Alpine = new(() => ImageFactory.CreateImage(1, layerCount: 2, layerSize: 32 * 1024));
    private static readonly Lazy<TestImage> Busybox = new(() => ImageFactory.CreateImage(2, layerCount: 1, layerSize: 48 * 1024, format: ImageFormat.Docker));
    private static readonly Lazy<TestIndex> App = new(() => ImageFactory.CreateIndex(3, ImageFormat.Oci, includePlatformlessEntry: true,
        ("linux", "amd64", null), ("linux", "arm64", "v8")));
    private static readonly Lazy<TestIndex> Legacy = new(() => ImageFactory.CreateIndex(4, ImageFormat.Docker,
        ("linux", "amd64", null), ("linux", "arm", "v7")));

    /// <summary>demo/alpine:3.19 and :latest (OCI image).</summary>
    public static TestImage DemoAlpine => Alpine.Value;
    /// <summary>demo/busybox:1.36 (Docker schema2).</summary>
    public static TestImage DemoBusybox => Busybox.Value;
    /// <summary>demo/app:1.0 (OCI index: linux/amd64, linux/arm64/v8, platformless attestation).</summary>
    public static TestIndex DemoApp => App.Value;
    /// <summary>demo/legacy:1.0 (Docker manifest list: linux/amd64, linux/arm/v7).</summary>
    public static TestIndex DemoLegacy => Legacy.Value;

    public static async Task<SeedReport> SeedDemoAsync(RegistryServer target)
    {
        var http = new RegistryHttp(target);
        var acc = new Accumulator();
        await http.PushImageAsync("demo/alpine", DemoAlpine, "3.19", "latest").ConfigureAwait(false);
        acc.Image("demo/alpine", DemoAlpine, "3.19", "latest");
        await http.PushImageAsync("demo/busybox", DemoBusybox, "1.36").ConfigureAwait(false);
        acc.Image("demo/busybox", DemoBusybox, "1.36");
        await http.PushIndexAsync("demo/app", DemoApp, "1.0").ConfigureAwait(false);
        acc.Index("demo/app", DemoApp, "1.0");
        await http.PushIndexAsync("demo/legacy", DemoLegacy, "1.0").ConfigureAwait(false);
        acc.Index("demo/legacy", DemoLegacy, "1.0");
        await SeedSignedAsync(http, "demo/signed").ConfigureAwait(false);
        acc.Image("demo/signed", DemoSigned, "1.0");
        return acc.Report();
    }

    private static readonly Lazy<TestImage> Signed = new(() => ImageFactory.CreateImage(5, layerCount: 1, layerSize: 16 * 1024));
    /// <summary>demo/signed:1.0 (OCI image) with a cosign signature (tag sha256-&lt;hex&gt;.sig), an SBOM attached by the referrers tag schema, and the SBOM's own cosign signature.</summary>
    public static TestImage DemoSigned => Signed.Value;

    /// <summary>Pushes <see cref="DemoSigned"/> with its three referrers: what a signed mirror must carry along.</summary>
    public static async Task SeedSignedAsync(RegistryHttp http, string repository)
    {
        var image = DemoSigned;
        await http.PushImageAsync(repository, image, "1.0").ConfigureAwait(false);
        await ReferrerFactory.PushAsync(http, repository, ReferrerFactory.CosignSignature(image.Digest, "demo"), ReferrerFactory.CosignTag(image.Digest)).ConfigureAwait(false);
        var sbom = ReferrerFactory.Artifact(image.Digest, image.ManifestBytes.Length, image.ManifestMediaType, ReferrerFactory.SbomType, "{\"spdxVersion\":\"SPDX-2.3\",\"name\":\"demo-signed\"}");
        await ReferrerFactory.AttachByTagSchemaAsync(http, repository, image.Digest, sbom).ConfigureAwait(false);
        await ReferrerFactory.PushAsync(http, repository, ReferrerFactory.CosignSignature(sbom.Digest, "demo-sbom"), ReferrerFactory.CosignTag(sbom.Digest)).ConfigureAwait(false);
    }

    /// <summary>
    /// ≈1 GB (≈980 MiB) with the defaults: repositories × tagsPerRepo images of layersPerImage layers. In each
    /// repository all tags share their first (layersPerImage - 2) layers, like a common base.
    /// bigLayers layers of bigLayerSize are spread over the repositories (round robin, base layer
    /// first); the rest average smallLayerSize. Odd repositories use Docker schema2, even ones OCI.
    /// Plus bench/multi:1.0, an OCI index for linux/amd64 and linux/arm64/v8.
    /// </summary>
    public static async Task<SeedReport> SeedBenchAsync(RegistryServer target, int repositories = 20, int tagsPerRepo = 3,
        int layersPerImage = 5, int bigLayers = 12, int bigLayerSize = 50 * 1024 * 1024, int smallLayerSize = 9 * 1024 * 1024 / 4,
        Action<string>? progress = null)
    {
        if (repositories < 1 || tagsPerRepo < 1 || layersPerImage < 1) throw new ArgumentOutOfRangeException(nameof(repositories));
        var http = new RegistryHttp(target);
        var acc = new Accumulator();
        int shared = Math.Max(0, layersPerImage - 2);
        int own = layersPerImage - shared;
        int uniquePerRepo = shared + tagsPerRepo * own;
        var big = new HashSet<(int repo, int slot)>();
        for (int k = 0; k < bigLayers; k++)
            if (k / repositories < uniquePerRepo) big.Add((k % repositories, k / repositories));

        for (int r = 0; r < repositories; r++)
        {
            string repo = $"bench/repo-{r:D2}";
            var format = r % 2 == 0 ? ImageFormat.Oci : ImageFormat.Docker;
            var slots = new TestBlob[uniquePerRepo];
            for (int s = 0; s < uniquePerRepo; s++)
            {
                int size = big.Contains((r, s)) ? bigLayerSize : VariedSize(smallLayerSize, r, s);
                // One layer in memory at a time: generate, push, keep only the descriptor.
                var layer = ImageFactory.CreateLayer(1_000_000 + r * 1000 + s, size, format);
                await http.PushBlobAsync(repo, layer.Digest, layer.Data).ConfigureAwait(false);
                acc.Blob(repo, layer.Digest, layer.Size);
                slots[s] = layer.WithoutData();
            }
            for (int t = 0; t < tagsPerRepo; t++)
            {
                var layers = slots.Take(shared).Concat(slots.Skip(shared + t * own).Take(own)).ToArray();
                var image = ImageFactory.BuildImage(2_000_000 + r * 100 + t, layers, format, "linux", "amd64", null);
                string tag = $"1.{t}";
                await http.PushImageAsync(repo, image, tag).ConfigureAwait(false);
                acc.Image(repo, image, tag);
            }
            progress?.Invoke($"seeded {repo} ({acc.Report()})");
        }

        var multi = ImageFactory.CreateIndex(3_000_000, ImageFormat.Oci, ("linux", "amd64", null), ("linux", "arm64", "v8"));
        await http.PushIndexAsync("bench/multi", multi, "1.0").ConfigureAwait(false);
        acc.Index("bench/multi", multi, "1.0");
        var report = acc.Report();
        progress?.Invoke($"bench seed done: {report}");
        return report;
    }

    /// <summary>
    /// <paramref name="count"/> repositories <c>{prefix}/repo-000</c>… each tagged <paramref name="tag"/> with one small
    /// image, cheaply: its blobs are pushed once and mounted into the other repositories, several at a time.
    /// </summary>
    public static async Task<SeedReport> SeedNamespaceAsync(RegistryServer target, string prefix, int count, string tag = "1.0", int parallel = 8)
    {
        var http = new RegistryHttp(target);
        var image = ImageFactory.CreateImage(5_000_000, layerCount: 1, layerSize: 1024);
        var acc = new Accumulator();
        var first = $"{prefix}/repo-000";
        await http.PushImageAsync(first, image, tag).ConfigureAwait(false);
        var names = Enumerable.Range(1, Math.Max(0, count - 1)).Select(i => $"{prefix}/repo-{i:D3}").ToList();
        using var slots = new System.Threading.SemaphoreSlim(parallel);
        await Task.WhenAll(names.Select(async repo =>
        {
            await slots.WaitAsync().ConfigureAwait(false);
            try
            {
                foreach (var digest in image.Layers.Select(l => l.Digest).Append(image.ConfigDigest))
                    if (!await http.MountBlobAsync(repo, digest, first).ConfigureAwait(false))
                        throw new InvalidOperationException($"{target}: mounting {digest} from {first} into {repo} was declined.");
                await http.PushManifestAsync(repo, tag, image.ManifestBytes, image.ManifestMediaType).ConfigureAwait(false);
            }
            finally { slots.Release(); }
        })).ConfigureAwait(false);
        foreach (var repo in names.Prepend(first)) acc.Image(repo, image, tag);
        return acc.Report();
    }

    // Mean ≈ smallLayerSize, spread from half to one and a half times it, fixed per slot.
    private static int VariedSize(int mean, int repo, int slot)
    {
        if (mean < 2) return mean;
        uint h = unchecked((uint)(repo * 73856093) ^ (uint)(slot * 19349663) ^ 0x5bd1e995u);
        h ^= h >> 13; h = unchecked(h * 0x85ebca6bu); h ^= h >> 16;
        return mean / 2 + (int)(h % (uint)mean);
    }

    private sealed class Accumulator
    {
        private readonly List<string> _repos = new();
        private readonly List<string> _tags = new();
        private readonly Dictionary<string, string> _digests = new();
        private readonly HashSet<(string, string)> _blobs = new();
        private readonly HashSet<(string, string)> _manifests = new();
        private long _bytes;

        public void Blob(string repo, string digest, long size)
        {
            if (!_repos.Contains(repo)) _repos.Add(repo);
            if (_blobs.Add((repo, digest))) _bytes += size;
        }

        private void Manifest(string repo, string digest, long size)
        {
            if (!_repos.Contains(repo)) _repos.Add(repo);
            if (_manifests.Add((repo, digest))) _bytes += size;
        }

        private void Tag(string repo, string digest, string[] tags)
        {
            foreach (var t in tags)
            {
                _tags.Add($"{repo}:{t}");
                _digests[$"{repo}:{t}"] = digest;
            }
        }

        private void ImageContent(string repo, TestImage image)
        {
            foreach (var l in image.Layers) Blob(repo, l.Digest, l.Size);
            Blob(repo, image.ConfigDigest, image.ConfigBytes.Length);
            Manifest(repo, image.Digest, image.ManifestBytes.Length);
        }

        public void Image(string repo, TestImage image, params string[] tags)
        {
            ImageContent(repo, image);
            Tag(repo, image.Digest, tags);
        }

        public void Index(string repo, TestIndex index, params string[] tags)
        {
            foreach (var c in index.Children) ImageContent(repo, c);
            Manifest(repo, index.Digest, index.ManifestBytes.Length);
            Tag(repo, index.Digest, tags);
        }

        public SeedReport Report() => new()
        {
            Repositories = _repos.ToArray(),
            Tags = _tags.ToArray(),
            Digests = new Dictionary<string, string>(_digests),
            Blobs = _blobs.Count,
            Manifests = _manifests.Count,
            TotalBytes = _bytes,
        };
    }
}
