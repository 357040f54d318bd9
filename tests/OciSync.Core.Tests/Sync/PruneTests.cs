using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>-Prune against real registries (distribution 2.8: deletes by digest only), and the stale-tag selection itself.</summary>
[Collection("registries")]
public sealed class PruneTests
{
    private readonly RegistryFixture _registries;

    public PruneTests(RegistryFixture registries) => _registries = registries;

    private static string NewRepo(string prefix) => $"prune/{prefix}-{Guid.NewGuid():N}".Substring(0, 24 + prefix.Length);

    private static async Task<SyncSummary> RunAsync(SyncHarness harness, SyncOptions options, params SyncRule[] rules) =>
        await new SyncEngine(harness.Clients, options, harness).RunAsync(rules, CancellationToken.None);

    private static SyncOptions Prune(Func<ImageReference, bool>? approve = null) => new() { Prune = true, Retries = 0, ApproveDelete = approve };

    /// <summary>Source v-a, v-b, v-c synced to the destination, which also has latest; then v-b deleted at the source.</summary>
    private async Task<(string Source, string Destination, SyncRule Rule)> StaleV_bAsync(RegistryServer destinationServer, int seed)
    {
        var source = NewRepo("src");
        var destination = NewRepo("dst");
        var src = new RegistryHttp(_registries.Anonymous);
        await src.PushImageAsync(source, ImageFactory.CreateImage(seed, layerCount: 1, layerSize: 1024), "v-a");
        await src.PushImageAsync(source, ImageFactory.CreateImage(seed + 1, layerCount: 1, layerSize: 1024), "v-b");
        await src.PushImageAsync(source, ImageFactory.CreateImage(seed + 2, layerCount: 1, layerSize: 1024), "v-c");
        await new RegistryHttp(destinationServer).PushImageAsync(destination, ImageFactory.CreateImage(seed + 3, layerCount: 1, layerSize: 1024), "latest");
        var rule = SyncRule.Create($"{_registries.Anonymous.Host}/{source}:/^v-/", new[] { $"{destinationServer.Host}/{destination}" });
        var first = await RunAsync(new SyncHarness(_registries), new SyncOptions { Retries = 0 }, rule);
        Assert.Equal(3, first.Synced);
        await src.DeleteTagByDigestAsync(source, "v-b");
        return (source, destination, rule);
    }

    [Fact]
    public async Task A_namespace_rule_prunes_each_of_its_repositories_and_keeps_the_mirror_of_a_repository_gone_from_the_catalog()
    {
        var ns = $"prunecat{Guid.NewGuid():N}".Substring(0, 16);
        var mirror = "m" + ns;
        var src = new RegistryHttp(_registries.Anonymous);
        await src.PushImageAsync($"{ns}/a", ImageFactory.CreateImage(43_000, layerCount: 1, layerSize: 1024), "v1");
        await src.PushImageAsync($"{ns}/a", ImageFactory.CreateImage(43_001, layerCount: 1, layerSize: 1024), "v2");
        await src.PushImageAsync($"{ns}/b", ImageFactory.CreateImage(43_002, layerCount: 1, layerSize: 1024), "v1");
        var rule = SyncRule.Create($"{_registries.Anonymous.Host}/{ns}/*", new[] { $"{_registries.Basic.Host}/{mirror}/*" });
        var first = await RunAsync(new SyncHarness(_registries), new SyncOptions { Retries = 0 }, rule);
        Assert.Equal(3, first.Synced);
        await src.DeleteTagByDigestAsync($"{ns}/a", "v2");

        var harness = new SyncHarness(_registries);
        var summary = await RunAsync(harness, Prune(), rule);

        Assert.True(summary.Failed == 0, string.Join("; ", harness.Images.Select(i => i.Error)));
        Assert.Equal(1, summary.Deleted);
        Assert.Equal($"{_registries.Basic.Host}/{mirror}/a:v2", Assert.Single(harness.Images, r => r.Action == SyncAction.Deleted).Destination);
        var dst = new RegistryHttp(_registries.Basic);
        Assert.Equal(new[] { "v1" }, await dst.ListTagsAsync($"{mirror}/a"));
        Assert.Equal(new[] { "v1" }, await dst.ListTagsAsync($"{mirror}/b"));
    }

    [Theory]
    [InlineData(RegistryAuthKind.Anonymous)]
    [InlineData(RegistryAuthKind.Token)]
    public async Task WhatIf_lists_exactly_the_stale_tag_and_prune_deletes_only_it(RegistryAuthKind kind)
    {
        var server = _registries.Get(kind);
        var (_, destination, rule) = await StaleV_bAsync(server, 41_000 + (int)kind * 10);
        var dst = new RegistryHttp(server);

        // -WhatIf: asked about exactly v-b, nothing deleted.
        var asked = new ConcurrentQueue<string>();
        var harness = new SyncHarness(_registries);
        var whatIf = await RunAsync(harness, Prune(r => { asked.Enqueue(r.ToString()); return false; }), rule);
        Assert.Equal(new[] { $"{server.Host}/{destination}:v-b" }, asked.ToArray());
        Assert.Equal(0, whatIf.Deleted);
        Assert.Equal(1, whatIf.Declined);
        Assert.Equal(0, harness.Count("DELETE", "/manifests/"));
        Assert.Equal(new[] { "latest", "v-a", "v-b", "v-c" }, (await dst.ListTagsAsync(destination)).OrderBy(t => t));

        // -Prune: v-b goes; v-a, v-c and latest (which /^v-/ does not select) stay.
        harness = new SyncHarness(_registries);
        var summary = await RunAsync(harness, Prune(), rule);
        Assert.Equal(1, summary.Deleted);
        Assert.Equal(0, summary.Failed);
        Assert.Equal(2, summary.Unchanged);
        Assert.Contains("1 stale tag deleted", summary.ToString());
        var deleted = Assert.Single(harness.Images, r => r.Action == SyncAction.Deleted);
        Assert.Equal($"{server.Host}/{destination}:v-b", deleted.Destination);
        Assert.Equal(SyncPhase.Pruning, deleted.Phase);
        Assert.StartsWith("sha256:", deleted.Digest);
        Assert.Equal(new[] { "latest", "v-a", "v-c" }, (await dst.ListTagsAsync(destination)).OrderBy(t => t));
        // distribution 2.8 refuses the tag DELETE (400), then deletes by digest.
        Assert.Equal(2, harness.Count("DELETE", $"/v2/{destination}/manifests/"));

        // Nothing is stale any more.
        harness = new SyncHarness(_registries);
        var again = await RunAsync(harness, Prune(), rule);
        Assert.Equal(0, again.Deleted);
        Assert.Equal(0, harness.Count("DELETE", "/manifests/"));
    }

    [Fact]
    public async Task A_stale_tag_sharing_its_digest_with_a_kept_tag_is_kept_and_said_so()
    {
        var source = NewRepo("src");
        var destination = NewRepo("dst");
        var src = new RegistryHttp(_registries.Anonymous);
        var image = ImageFactory.CreateImage(42_000, layerCount: 1, layerSize: 1024);
        await src.PushImageAsync(source, image, "one", "two");
        await src.PushImageAsync(source, ImageFactory.CreateImage(42_001, layerCount: 1, layerSize: 1024), "other");
        var rule = SyncRule.Create($"{_registries.Anonymous.Host}/{source}", new[] { $"{_registries.Basic.Host}/{destination}" });
        Assert.Equal(3, (await RunAsync(new SyncHarness(_registries), new SyncOptions { Retries = 0 }, rule)).Synced);
        // At the source only "two" goes: deleting the digest takes both tags, so "one" is pushed again.
        await src.DeleteTagByDigestAsync(source, "two");
        await src.PushImageAsync(source, image, "one");

        var harness = new SyncHarness(_registries);
        var summary = await RunAsync(harness, Prune(), rule);

        Assert.Equal(0, summary.Deleted);
        Assert.Equal(1, summary.Kept);
        var kept = Assert.Single(harness.Images, r => r.Action == SyncAction.Kept);
        Assert.Equal(ErrorIds.PruneWouldRemoveKept, kept.ErrorId);
        Assert.Contains("one", kept.Error);
        Assert.Equal(image.Digest, kept.Digest);
        var dst = new RegistryHttp(_registries.Basic);
        Assert.Equal(new[] { "one", "other", "two" }, (await dst.ListTagsAsync(destination)).OrderBy(t => t));
        Assert.Equal(0, harness.Count("DELETE", $"/manifests/{image.Digest}"));
    }

    [Fact]
    public async Task A_stale_tag_that_is_a_child_of_a_kept_index_is_kept()
    {
        var source = NewRepo("src");
        var destination = NewRepo("dst");
        var src = new RegistryHttp(_registries.Anonymous);
        var index = ImageFactory.CreateIndex(43_000, ImageFormat.Oci, ("linux", "amd64", null), ("linux", "arm64", "v8"));
        await src.PushIndexAsync(source, index, "multi");
        var child = index.Children[0];
        await src.PushManifestAsync(source, "amd64-only", child.ManifestBytes, child.ManifestMediaType);
        var rule = SyncRule.Create($"{_registries.Anonymous.Host}/{source}", new[] { $"{_registries.Anonymous.Host}/{destination}" });
        Assert.Equal(2, (await RunAsync(new SyncHarness(_registries), new SyncOptions { Retries = 0 }, rule)).Synced);
        await src.DeleteTagByDigestAsync(source, "amd64-only");

        var harness = new SyncHarness(_registries);
        var summary = await RunAsync(harness, Prune(), rule);

        Assert.Equal(1, summary.Kept);
        var kept = Assert.Single(harness.Images, r => r.Action == SyncAction.Kept);
        Assert.Contains("child of the kept index", kept.Error);
        var dst = new RegistryHttp(_registries.Anonymous);
        Assert.NotNull(await dst.GetManifestDigestAsync(destination, child.Digest));
        await SyncHarness.AssertCompleteAsync(dst, destination, "multi");
    }

    [Fact]
    public async Task A_source_listing_that_fails_deletes_nothing()
    {
        var (source, destination, rule) = await StaleV_bAsync(_registries.Anonymous, 44_000);
        // The run's own listing succeeds; the prune's listing of the source gets 500s.
        var lists = 0;
        Func<bool, HttpMessageHandler> sockets = _ => new Failing(new SocketsHttpHandler { UseProxy = false },
            r => r.Method == HttpMethod.Get && r.RequestUri!.AbsolutePath == $"/v2/{source}/tags/list" && Interlocked.Increment(ref lists) > 1);
        var harness = new SyncHarness(_registries, sockets, o => o.Retry = o.Retry.WithoutRetries());

        var summary = await RunAsync(harness, Prune(), rule);

        Assert.Equal(0, summary.Deleted);
        var failed = Assert.Single(harness.Images, r => r.Action == SyncAction.Failed);
        Assert.Equal(SyncPhase.Pruning, failed.Phase);
        Assert.Equal(ErrorIds.RegistryUnavailable, failed.ErrorId);
        Assert.Equal(0, harness.Count("DELETE", "/manifests/"));
        Assert.Contains("v-b", await new RegistryHttp(_registries.Anonymous).ListTagsAsync(destination));
    }

    [Fact]
    public async Task A_rule_whose_copy_failed_prunes_nothing()
    {
        var (source, destination, rule) = await StaleV_bAsync(_registries.Anonymous, 45_000);
        var extra = ImageFactory.CreateImage(45_010, layerCount: 1, layerSize: 1024);
        await new RegistryHttp(_registries.Anonymous).PushImageAsync(source, extra, "v-new");
        // The new tag's manifest PUT fails at the destination.
        Func<bool, HttpMessageHandler> sockets = _ => new Failing(new SocketsHttpHandler { UseProxy = false },
            r => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath == $"/v2/{destination}/manifests/v-new");
        var harness = new SyncHarness(_registries, sockets, o => o.Retry = o.Retry.WithoutRetries());

        var summary = await RunAsync(harness, Prune(), rule);

        Assert.Equal(1, summary.Failed);
        Assert.Equal(0, summary.Deleted);
        Assert.Equal(0, harness.Count("DELETE", "/manifests/"));
        Assert.Contains("v-b", await new RegistryHttp(_registries.Anonymous).ListTagsAsync(destination));
    }

    [Fact]
    public async Task A_registry_without_deletes_is_RegistryDeleteUnsupported_for_the_stale_tag()
    {
        await using var noDeletes = await RegistryServer.StartWithoutDeletesAsync(RegistryAuthKind.Anonymous);
        var (_, destination, rule) = await StaleV_bAsync(noDeletes, 46_000);

        var harness = new SyncHarness(_registries);
        var summary = await RunAsync(harness, Prune(), rule);

        var failed = Assert.Single(harness.Images, r => r.Action == SyncAction.Failed);
        Assert.Equal(ErrorIds.RegistryDeleteUnsupported, failed.ErrorId);
        Assert.Equal($"{noDeletes.Host}/{destination}:v-b", failed.Destination);
        Assert.Contains("405", failed.Error);
        Assert.Equal(1, summary.Failed);
        Assert.Equal(2, summary.Unchanged);
        Assert.Contains("v-b", await RegistryHttp.Anonymous(noDeletes).ListTagsAsync(destination));
    }

    [Fact]
    public async Task Explicit_tags_never_prune_and_another_rules_tags_are_never_stale()
    {
        var (source, destination, rule) = await StaleV_bAsync(_registries.Anonymous, 47_000);
        var host = _registries.Anonymous.Host;
        // An explicit list naming the gone tag prunes nothing (its copy fails: the source has no v-b).
        var explicitRule = SyncRule.Create($"{host}/{source}:v-a,v-b", new[] { $"{host}/{destination}" });
        // A second rule writing v-b into the same destination from elsewhere: the first rule must not delete it.
        var other = NewRepo("other");
        await new RegistryHttp(_registries.Anonymous).PushImageAsync(other, ImageFactory.CreateImage(47_050, layerCount: 1, layerSize: 1024), "v-b");
        var otherRule = SyncRule.Create($"{host}/{other}:v-b", new[] { $"{host}/{destination}" });

        var harness = new SyncHarness(_registries);
        var summary = await RunAsync(harness, Prune(), explicitRule);
        Assert.Equal(0, summary.Deleted);
        Assert.Equal(0, harness.Count("DELETE", "/manifests/"));

        harness = new SyncHarness(_registries);
        summary = await RunAsync(harness, Prune(), rule, otherRule);
        Assert.Equal(0, summary.Failed);
        Assert.Equal(0, summary.Deleted);
        Assert.Equal(0, harness.Count("DELETE", "/manifests/"));
        Assert.Contains("v-b", await new RegistryHttp(_registries.Anonymous).ListTagsAsync(destination));
    }

    [Fact]
    public async Task An_oci_layout_destination_refuses_clearly()
    {
        var source = NewRepo("src");
        var src = new RegistryHttp(_registries.Anonymous);
        await src.PushImageAsync(source, ImageFactory.CreateImage(48_000, layerCount: 1, layerSize: 1024), "a");
        await src.PushImageAsync(source, ImageFactory.CreateImage(48_001, layerCount: 1, layerSize: 1024), "b");
        var dir = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "ocisync-prune-" + Guid.NewGuid().ToString("N"));
        try
        {
            var rule = SyncRule.Create($"{_registries.Anonymous.Host}/{source}", new[] { "oci:" + dir });
            Assert.Equal(2, (await RunAsync(new SyncHarness(_registries), new SyncOptions { Retries = 0 }, rule)).Synced);
            await src.DeleteTagByDigestAsync(source, "b");

            var harness = new SyncHarness(_registries);
            await RunAsync(harness, Prune(), rule);

            var failed = Assert.Single(harness.Images, r => r.Action == SyncAction.Failed);
            Assert.Equal(ErrorIds.RegistryDeleteUnsupported, failed.ErrorId);
            Assert.EndsWith(":b", failed.Destination);
            Assert.Contains("\"b\"", System.IO.File.ReadAllText(System.IO.Path.Combine(dir, "index.json")));
        }
        finally
        {
            if (System.IO.Directory.Exists(dir)) System.IO.Directory.Delete(dir, true);
        }
    }

    // ---- the selection, without a registry ----

    [Theory]
    [InlineData("reg.example/src", "v1,v3", "v1,v2,v3,latest", "v2,latest")]
    [InlineData("reg.example/src:/^v/", "v1,v3", "v1,v2,v3,latest", "v2")]
    [InlineData("reg.example/src:/^v/", "", "v1,latest", "v1")]
    [InlineData("reg.example/src:/^v/", "v1,v2", "v1,v2,latest", "")]
    [InlineData("reg.example/src:v1,v2", "v1", "v1,v2", "")]
    [InlineData("reg.example/src@sha256:0000000000000000000000000000000000000000000000000000000000000000", "", "v1", "")]
    public void Stale_tags_are_those_the_selection_produces_from_the_destination_but_not_from_the_source(string source, string sourceTags, string destinationTags, string expected)
    {
        var rule = SyncRule.Create(source, new[] { "mirror.example/dst", "mirror.example/other" });
        static string[] Split(string s) => s.Split(',', StringSplitOptions.RemoveEmptyEntries);
        var stale = PruneSelection.Stale(rule, ImageReference.Parse("mirror.example/dst"), Split(sourceTags), Split(destinationTags));
        Assert.Equal(Split(expected), stale.Select(c => c.Destination.Tag!));
        Assert.All(stale, c => Assert.Equal("mirror.example/dst", c.Destination.RepositoryName));
        Assert.All(stale, c => Assert.Equal(c.Destination.Tag, c.Source.Tag));
    }

    /// <summary>Answers 500 to the requests <paramref name="fails"/> picks; passes the rest on.</summary>
    private sealed class Failing(HttpMessageHandler inner, Func<HttpRequestMessage, bool> fails) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) =>
            fails(request) ? Task.FromResult(new HttpResponseMessage(HttpStatusCode.InternalServerError) { RequestMessage = request, Content = new StringContent("") })
                : base.SendAsync(request, ct);
    }
}
