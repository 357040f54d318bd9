using System;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Sync;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>-MeasureSize against real registries: config + layers, the platform filters, up-to-date and unmeasurable copies.</summary>
[Collection("registries")]
public sealed class PlanSizeTests
{
    private readonly RegistryFixture _registries;

    public PlanSizeTests(RegistryFixture registries) => _registries = registries;

    private static long SizeOf(TestImage image) => image.ConfigBytes.Length + image.Layers.Sum(l => l.Size);

    [Fact]
    public async Task Sizes_are_config_plus_layers_and_an_index_counts_only_the_platforms_the_filters_keep()
    {
        var source = _registries.Anonymous;
        var http = new RegistryHttp(source);
        var run = Guid.NewGuid().ToString("N").Substring(0, 8);
        var single = ImageFactory.CreateImage(7_300_000, 3, 5000);
        var index = ImageFactory.CreateIndex(7_300_001, ImageFormat.Oci, includePlatformlessEntry: true, ("linux", "amd64", null), ("linux", "arm64", "v8"));
        await http.PushImageAsync($"plansize-{run}/single", single, "1");
        await http.PushIndexAsync($"plansize-{run}/multi", index, "1");
        var dst = _registries.Basic.Host;
        var rules = new[]
        {
            SyncRule.Create($"{source.Host}/plansize-{run}/single:1", new[] { $"{dst}/plansize-{run}/single" }),
            SyncRule.Create($"{source.Host}/plansize-{run}/multi:1", new[] { $"{dst}/plansize-{run}/multi", $"{dst}/plansize-{run}/multi2" }),
            SyncRule.Create($"{source.Host}/plansize-{run}/multi:1", new[] { $"{dst}/plansize-{run}/amd" }, selection: new TagSelectionSpec { Platforms = new[] { "linux/amd64" } }),
        };
        var harness = new SyncHarness(_registries);
        var plan = await new SyncPlanner(harness.Clients, 5).PlanAsync(rules, headDestinations: true, CancellationToken.None);
        Assert.Empty(plan.Errors);
        Assert.Equal(4, plan.Copies.Count);
        long Of(System.Collections.Generic.IReadOnlyList<ImageCopy> copies, string repo) => copies.Single(c => c.Destination.Repository == $"plansize-{run}/{repo}").Size!.Value;

        var amd64 = index.Children.Single(c => c.Architecture == "amd64");
        var arm64 = index.Children.Single(c => c.Architecture == "arm64");
        var all = index.Children.Sum(SizeOf); // the platformless entry passes when nothing is filtered, as the copier keeps it
        var before = harness.Count("GET", $"/plansize-{run}/");
        var measured = await new PlanSizes(harness.Clients, 5).MeasureAsync(plan.Copies, new PlatformFilter(null, null), CancellationToken.None);
        Assert.Equal(SizeOf(single), Of(measured, "single"));
        Assert.Equal(all, Of(measured, "multi"));
        Assert.Equal(all, Of(measured, "multi2"));
        Assert.Equal(SizeOf(amd64), Of(measured, "amd"));
        // Each manifest once: the index and its three children are shared by the three copies of multi:1.
        Assert.Equal(1 + 1 + index.Children.Count, harness.Count("GET", $"/plansize-{run}/") - before);
        Assert.DoesNotContain(harness.Requests, r => r.Path.Contains("/blobs/", StringComparison.Ordinal));

        // -Arch arm64: only that platform; with the rule's linux/amd64 nothing is left.
        var arm = await new PlanSizes(harness.Clients, 5).MeasureAsync(plan.Copies, new PlatformFilter(null, new[] { "arm64" }), CancellationToken.None);
        Assert.Equal(SizeOf(arm64), Of(arm, "multi"));
        Assert.Equal(0, Of(arm, "amd"));
        Assert.Equal(SizeOf(single), Of(arm, "single"));

        // Once synced, a copy is up to date: 0 bytes to move, and no GET to find that out.
        var summary = await new SyncEngine(harness.Clients, new SyncOptions(), harness).RunAsync(plan.Copies.Where(c => c.Destination.Repository.EndsWith("/single", StringComparison.Ordinal)).ToList(), CancellationToken.None);
        Assert.Equal(1, summary.Synced);
        var again = await new SyncPlanner(harness.Clients, 5).PlanAsync(rules.Take(1), headDestinations: true, CancellationToken.None);
        before = harness.Count("GET", $"/plansize-{run}/");
        var upToDate = await new PlanSizes(harness.Clients, 5).MeasureAsync(again.Copies, new PlatformFilter(null, null), CancellationToken.None);
        Assert.True(again.Copies.Single().UpToDate);
        Assert.Equal(0, upToDate.Single().Size);
        Assert.Equal(before, harness.Count("GET", $"/plansize-{run}/"));
    }

    [Fact]
    public async Task A_manifest_that_cannot_be_measured_leaves_the_size_unknown_with_a_warning()
    {
        var source = _registries.Anonymous;
        var log = new Lines();
        var harness = new SyncHarness(_registries, configure: o => o.Log = log);
        var missing = new ImageCopy(ImageReference.Parse($"{source.Host}/plansize-missing/app:1"), ImageReference.Parse($"{_registries.Basic.Host}/x/app:1"))
            .WithPlan(Digest.Parse("sha256:" + new string('0', 64)), null);
        var measured = await new PlanSizes(harness.Clients, 5).MeasureAsync(new[] { missing }, new PlatformFilter(null, null), CancellationToken.None);
        Assert.Null(measured.Single().Size);
        Assert.Contains(log.All, l => l.StartsWith("Warning:", StringComparison.Ordinal) && l.Contains("its size is not known", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_hostile_registrys_sizes_saturate_and_an_index_of_too_many_children_is_not_measured()
    {
        await using var hostile = HostileRegistry.Start();
        var zero = "sha256:" + new string('0', 64);
        var big = long.MaxValue / 2;
        var huge = Encoding.UTF8.GetBytes(
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," +
            $"\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{zero}\",\"size\":{big}}}," +
            $"\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{zero}\",\"size\":{big}}}]}}");
        // 1,001 distinct children: one more than an image may have. None of them is ever asked for.
        var children = string.Join(",", Enumerable.Range(0, 1001).Select(i =>
            $"{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:{i:x64}\",\"size\":10,\"platform\":{{\"os\":\"linux\",\"architecture\":\"amd64\"}}}}"));
        var wide = Encoding.UTF8.GetBytes($"{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{children}]}}");
        var hugeDigest = ImageFactory.Sha256Digest(huge);
        var wideDigest = ImageFactory.Sha256Digest(wide);
        hostile.On(r => r.Path == $"/v2/h/huge/manifests/{hugeDigest}" ? HostileReply.Manifest(huge, "application/vnd.oci.image.manifest.v1+json") : null);
        hostile.On(r => r.Path == $"/v2/h/wide/manifests/{wideDigest}" ? HostileReply.Manifest(wide, "application/vnd.oci.image.index.v1+json") : null);

        var log = new Lines();
        var harness = new SyncHarness(_registries, configure: o => o.Log = log);
        ImageCopy Planned(string repo, string digest) =>
            new ImageCopy(ImageReference.Parse($"{hostile.Host}/h/{repo}:1"), ImageReference.Parse($"{_registries.Basic.Host}/x/{repo}:1")).WithPlan(Digest.Parse(digest), null);
        var measured = await new PlanSizes(harness.Clients, 5).MeasureAsync(new[] { Planned("huge", hugeDigest), Planned("wide", wideDigest) }, new PlatformFilter(null, null), CancellationToken.None);
        Assert.Equal(PlanSizes.MaxBytes, measured[0].Size);
        Assert.Null(measured[1].Size);
        Assert.Contains(log.All, l => l.Contains("h/wide:1: its size is not known", StringComparison.Ordinal) && l.Contains("more than 1000 manifests", StringComparison.Ordinal));
        Assert.DoesNotContain(hostile.Requests, r => r.Path.StartsWith("/v2/h/wide/manifests/", StringComparison.Ordinal) && !r.Path.EndsWith(wideDigest, StringComparison.Ordinal));
    }

    private sealed class Lines : OciSync.Core.Transport.IOciLog
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();
        public string[] All => _lines.ToArray();
        public void Write(OciSync.Core.Transport.OciLogLevel level, string message) => _lines.Enqueue($"{level}: {message}");
    }
}
