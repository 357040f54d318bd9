using System;
using System.Linq;
using System.Threading.Tasks;
using OciSync.Core.Sync;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>The engine copying real images between real registries (anonymous → Basic, anonymous → token).</summary>
[Collection("registries")]
public sealed class EndToEndSyncTests
{
    private readonly RegistryFixture _registries;

    public EndToEndSyncTests(RegistryFixture registries) => _registries = registries;

    public static TheoryData<RegistryAuthKind, string> Cases()
    {
        var data = new TheoryData<RegistryAuthKind, string>();
        foreach (var kind in new[] { RegistryAuthKind.Basic, RegistryAuthKind.Token })
            foreach (var image in new[] { "oci-single", "docker-single", "oci-index", "docker-list" })
                data.Add(kind, image);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Copies_images_byte_for_byte_and_completely(RegistryAuthKind destinationKind, string image)
    {
        var source = _registries.Anonymous;
        var destination = _registries.Get(destinationKind);
        var repo = $"e2e/{image}-{destinationKind}".ToLowerInvariant();
        var seed = 5000 + Math.Abs(repo.GetHashCode() % 1000) * 10;
        string sourceDigest = await PushAsync(source, repo, image, seed);

        var harness = new SyncHarness(_registries);
        var summary = await harness.RunAsync(new SyncOptions(), ($"{source.Host}/{repo}:v1", $"{destination.Host}/mirror/{repo}:v1"));

        Assert.Equal(1, summary.Synced);
        Assert.Equal(0, summary.Failed);
        var target = new RegistryHttp(destination);
        Assert.Equal(sourceDigest, await target.GetManifestDigestAsync($"mirror/{repo}", "v1"));
        await SyncHarness.AssertCompleteAsync(target, $"mirror/{repo}", "v1");
        Assert.All(harness.Layers, l => Assert.NotEqual(SyncAction.Failed, l.Action));
    }

    [Fact]
    public async Task A_second_sync_uploads_nothing_and_gets_no_manifest()
    {
        var source = _registries.Anonymous;
        var destination = _registries.Token;
        await PushAsync(source, "e2e/again", "oci-index", 7100);
        await new RegistryHttp(source).PushImageAsync("e2e/again", ImageFactory.CreateImage(7200, format: ImageFormat.Docker), "v2");
        var copies = new[] { ($"{source.Host}/e2e/again:v1", $"{destination.Host}/mirror/again:v1"), ($"{source.Host}/e2e/again:v2", $"{destination.Host}/mirror/again:v2") };

        var first = await new SyncHarness(_registries).RunAsync(new SyncOptions(), copies);
        Assert.Equal(2, first.Synced);

        var harness = new SyncHarness(_registries);
        var second = await harness.RunAsync(new SyncOptions(), copies);
        Assert.Equal(2, second.Unchanged);
        Assert.Equal(0, second.BlobsCopied);
        Assert.Equal(0, harness.Count("POST", "/blobs/uploads/") + harness.Count("PUT", "/blobs/uploads/"));
        Assert.Equal(0, harness.Count("GET", "/manifests/"));
        Assert.Equal(0, harness.Count("PUT", "/manifests/"));
        Assert.True(harness.Count("HEAD", "/manifests/") <= 2 * copies.Length, $"{harness.Count("HEAD", "/manifests/")} manifest HEADs for {copies.Length} tags");
    }

    [Fact]
    public async Task An_image_for_several_destinations_is_pulled_once()
    {
        var source = _registries.Anonymous;
        await PushAsync(source, "e2e/fanout", "oci-index", 7400);
        var harness = new SyncHarness(_registries);
        var summary = await harness.RunAsync(new SyncOptions(),
            ($"{source.Host}/e2e/fanout:v1", $"{_registries.Basic.Host}/fanout/one:v1"),
            ($"{source.Host}/e2e/fanout:v1", $"{_registries.Basic.Host}/fanout/two:v1"),
            ($"{source.Host}/e2e/fanout:v1", $"{_registries.Token.Host}/fanout/three:v1"));
        Assert.Equal(3, summary.Synced);
        var sourceGets = harness.Requests.Count(r => r.Method == "GET" && r.Path.StartsWith("/v2/e2e/fanout/manifests/"));
        Assert.Equal(1 + 4, sourceGets); // the index and its four entries, once each
    }

    [Fact]
    public async Task Force_pushes_manifests_again_but_no_blob()
    {
        var source = _registries.Anonymous;
        var destination = _registries.Basic;
        await PushAsync(source, "e2e/force", "oci-single", 7300);
        var copy = ($"{source.Host}/e2e/force:v1", $"{destination.Host}/mirror/force:v1");
        await new SyncHarness(_registries).RunAsync(new SyncOptions(), copy);

        var harness = new SyncHarness(_registries);
        var summary = await harness.RunAsync(new SyncOptions { Force = true }, copy);
        Assert.Equal(1, summary.Synced);
        Assert.Equal(0, summary.BlobsCopied);
        Assert.Equal(1, harness.Count("PUT", "/manifests/"));
    }

    internal static async Task<string> PushAsync(RegistryServer server, string repo, string kind, int seed)
    {
        var http = new RegistryHttp(server);
        switch (kind)
        {
            case "oci-single":
            case "docker-single":
                var image = ImageFactory.CreateImage(seed, layerCount: 3, format: kind.StartsWith("oci") ? ImageFormat.Oci : ImageFormat.Docker);
                await http.PushImageAsync(repo, image, "v1");
                return image.Digest;
            default:
                var format = kind.StartsWith("oci") ? ImageFormat.Oci : ImageFormat.Docker;
                var index = ImageFactory.CreateIndex(seed, format, includePlatformlessEntry: format == ImageFormat.Oci,
                    ("linux", "amd64", null), ("linux", "arm64", "v8"), ("linux", "arm", "v7"));
                await http.PushIndexAsync(repo, index, "v1");
                return index.Digest;
        }
    }
}
