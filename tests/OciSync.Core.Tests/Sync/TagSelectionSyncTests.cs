using System;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>A rule's tag selection and platform list against real registries: only what it selects is copied.</summary>
[Collection("registries")]
public sealed class TagSelectionSyncTests
{
    private readonly RegistryFixture _registries;

    public TagSelectionSyncTests(RegistryFixture registries) => _registries = registries;

    [Fact]
    public async Task Only_the_selected_tags_are_listed_planned_and_copied()
    {
        var source = _registries.Anonymous;
        var destination = _registries.Basic;
        var repo = "sel/app-" + Guid.NewGuid().ToString("N").Substring(0, 8);
        var http = new RegistryHttp(source);
        await http.PushImageAsync(repo, ImageFactory.CreateImage(8100, layerCount: 1, layerSize: 1024),
            "1.19.0", "1.20.0", "1.21.0", "v1.22.0", "1.22", "1.23.0-rc.1", "2.0.0", "latest", "1.21.0-alpine");

        // Include all, exclude 1.21.*, semver >=1.20 <2, latest 2: 1.20.0 and v1.22.0 with its tie 1.22.
        var rule = SyncRule.Create($"{source.Host}/{repo}", new[] { $"{destination.Host}/mirror/{repo}" }, null,
            new TagSelectionSpec { ExcludeTag = @"^1\.21", SemVer = ">=1.20 <2", Latest = 2 });

        var harness = new SyncHarness(_registries);
        var plan = await new SyncPlanner(harness.Clients, 4).PlanAsync(new[] { rule }, headDestinations: true, CancellationToken.None);
        Assert.Empty(plan.Errors);
        Assert.Equal(new[] { "1.20.0", "1.22", "v1.22.0" }, plan.Copies.Select(c => c.Source.Tag!).OrderBy(t => t, StringComparer.Ordinal));
        Assert.All(plan.Copies, c => Assert.Equal("exclude /^1\\.21/, semver >=1.20 <2, latest 2", c.Selection.ToString()));
        Assert.All(plan.Copies, c => Assert.EndsWith("[exclude /^1\\.21/, semver >=1.20 <2, latest 2]", c.Rule));

        var summary = await new SyncEngine(harness.Clients, new SyncOptions(), harness).RunAsync(new[] { rule }, CancellationToken.None);
        Assert.Equal(3, summary.Synced);
        Assert.Equal(0, summary.Failed);
        var copied = await new RegistryHttp(destination).ListTagsAsync($"mirror/{repo}");
        Assert.Equal(new[] { "1.20.0", "1.22", "v1.22.0" }, copied.OrderBy(t => t, StringComparer.Ordinal));
        Assert.All(harness.Images, i => Assert.Contains("semver >=1.20 <2", i.Rule));
    }

    [Theory]
    // the rule's list alone
    [InlineData("linux/arm64", null, "linux/arm64/v8")]
    // the rule's list and the run's -Arch: both must keep a platform
    [InlineData("linux/amd64,linux/arm64", "arm64,arm", "linux/arm64/v8")]
    // variants: linux/arm takes every ARM variant
    [InlineData("linux/arm,linux/amd64", null, "linux/amd64,linux/arm/v7")]
    public async Task A_rule_platform_list_filters_its_index_with_the_run_filter(string rulePlatforms, string? runArch, string expected)
    {
        var source = _registries.Anonymous;
        var destination = _registries.Token;
        var repo = "sel/multi-" + Guid.NewGuid().ToString("N").Substring(0, 8);
        var index = ImageFactory.CreateIndex(8200, ImageFormat.Oci, includePlatformlessEntry: true,
            ("linux", "amd64", null), ("linux", "arm64", "v8"), ("linux", "arm", "v7"));
        await new RegistryHttp(source).PushIndexAsync(repo, index, "v1");

        var rule = SyncRule.Create($"{source.Host}/{repo}:v1", new[] { $"{destination.Host}/mirror/{repo}" }, null,
            new TagSelectionSpec { Platforms = new[] { rulePlatforms } });
        var harness = new SyncHarness(_registries);
        var options = new SyncOptions { Platforms = new PlatformFilter(null, runArch == null ? null : new[] { runArch }) };
        var summary = await new SyncEngine(harness.Clients, options, harness).RunAsync(new[] { rule }, CancellationToken.None);
        Assert.Equal(1, summary.Synced);

        var pushed = await new RegistryHttp(destination).GetManifestAsync($"mirror/{repo}", "v1");
        using var doc = JsonDocument.Parse(pushed!);
        var platforms = doc.RootElement.GetProperty("manifests").EnumerateArray().Select(m =>
        {
            var p = m.GetProperty("platform");
            var s = p.GetProperty("os").GetString() + "/" + p.GetProperty("architecture").GetString();
            return p.TryGetProperty("variant", out var v) ? s + "/" + v.GetString() : s;
        }).OrderBy(p => p, StringComparer.Ordinal);
        Assert.Equal(expected, string.Join(",", platforms));
        Assert.Equal(expected.Split(','), harness.Images.Single().Platforms.OrderBy(p => p, StringComparer.Ordinal));
        await SyncHarness.AssertCompleteAsync(new RegistryHttp(destination), $"mirror/{repo}", "v1");
    }

    [Fact]
    public async Task A_single_platform_image_outside_the_rule_list_is_filtered()
    {
        var source = _registries.Anonymous;
        var destination = _registries.Basic;
        var repo = "sel/single-" + Guid.NewGuid().ToString("N").Substring(0, 8);
        await new RegistryHttp(source).PushImageAsync(repo, ImageFactory.CreateImage(8300, layerCount: 1, layerSize: 1024), "v1");

        var rule = SyncRule.Create($"{source.Host}/{repo}:v1", new[] { $"{destination.Host}/mirror/{repo}" }, null,
            new TagSelectionSpec { Platforms = new[] { "windows/amd64" } });
        var harness = new SyncHarness(_registries);
        var summary = await new SyncEngine(harness.Clients, new SyncOptions(), harness).RunAsync(new[] { rule }, CancellationToken.None);
        Assert.Equal(SyncAction.Filtered, harness.Images.Single().Action);
        Assert.Equal(0, summary.Synced);
        Assert.Null(await new RegistryHttp(destination).GetManifestAsync($"mirror/{repo}", "v1"));
    }
}
