using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>Which shard a repository is, the shard parameters, a rule cut to a shard, and the load summary: no registry needed.</summary>
public sealed class ShardSpecTests
{
    // Pinned: computed once (and independently, from the documented algorithm), then written here. A change to
    // any line means shards of a running job would disagree about who copies what after an upgrade.
    [Theory]
    [InlineData("registry.example.com/team/app-00", 5)]
    [InlineData("registry.example.com/team/app-01", 6)]
    [InlineData("registry.example.com/team/app-02", 1)]
    [InlineData("registry.example.com/team/app-03", 4)]
    [InlineData("registry.example.com/team/app-04", 6)]
    [InlineData("registry.example.com/team/app-05", 6)]
    [InlineData("registry.example.com/team/app-06", 6)]
    [InlineData("registry.example.com/team/app-07", 0)]
    [InlineData("registry.example.com/team/app-08", 2)]
    [InlineData("registry.example.com/team/app-09", 3)]
    [InlineData("registry.example.com/team/app-10", 1)]
    [InlineData("registry.example.com/team/app-11", 2)]
    [InlineData("docker.io/library/nginx", 1)]
    [InlineData("nginx", 1)] // Docker Hub's short form is the same repository
    [InlineData("127.0.0.1:5000/mirror/alpine", 4)]
    [InlineData("oci:/data/layout", 5)]
    [InlineData("ghcr.io/org/tool", 1)]
    [InlineData("quay.io/prometheus/node-exporter", 7)]
    [InlineData("localhost:5000/a/b/c", 2)]
    public void The_shard_of_a_repository_is_pinned_for_eight_shards(string repository, int shard)
    {
        Assert.Equal(shard, ShardSpec.ShardOf(ImageReference.Parse(repository), 8));
        Assert.Equal(shard, ShardSpec.ShardOf(ImageReference.Parse(repository + (repository.StartsWith("oci:", StringComparison.Ordinal) ? ":v1" : ":latest")), 8));
    }

    private static readonly string[] Pinned =
    {
        "registry.example.com/team/app-00", "registry.example.com/team/app-01", "registry.example.com/team/app-02", "registry.example.com/team/app-03",
        "registry.example.com/team/app-04", "registry.example.com/team/app-05", "registry.example.com/team/app-06", "registry.example.com/team/app-07",
        "registry.example.com/team/app-08", "registry.example.com/team/app-09", "registry.example.com/team/app-10", "registry.example.com/team/app-11",
        "docker.io/library/nginx", "127.0.0.1:5000/mirror/alpine", "oci:/data/layout", "ghcr.io/org/tool", "quay.io/prometheus/node-exporter", "localhost:5000/a/b/c",
    };

    [Fact]
    public void Every_one_of_eight_shards_gets_some_of_the_pinned_repositories_and_one_shard_gets_all()
    {
        Assert.Equal(Enumerable.Range(0, 8), Pinned.Select(r => ShardSpec.ShardOf(ImageReference.Parse(r), 8)).Distinct().OrderBy(s => s));
        Assert.All(Pinned, r => Assert.Equal(0, ShardSpec.ShardOf(ImageReference.Parse(r), 1)));
        Assert.All(Pinned, r => Assert.True(new ShardSpec(0, 1).Owns(ImageReference.Parse(r))));
    }

    [Fact]
    public void The_registrys_case_tag_and_digest_do_not_change_the_shard_but_the_repository_does()
    {
        var digest = Digest.Parse("sha256:" + new string('a', 64));
        foreach (var n in new[] { 2, 3, 8, 100, ShardSpec.MaxCount })
        {
            var plain = ShardSpec.ShardOf(new ImageReference("registry.example.com", "team/app-00"), n);
            Assert.Equal(plain, ShardSpec.ShardOf(new ImageReference("Registry.EXAMPLE.com", "team/app-00"), n));
            Assert.Equal(plain, ShardSpec.ShardOf(new ImageReference("registry.example.com", "team/app-00", "v1"), n));
            Assert.Equal(plain, ShardSpec.ShardOf(new ImageReference("registry.example.com", "team/app-00", null, digest), n));
            Assert.Equal(plain, ShardSpec.ShardOf(ImageReference.Parse("REGISTRY.example.com/team/app-00:2.0@" + digest), n));
        }
        // Repository paths are case-sensitive names; app-00 and app-07 are pinned to different shards above.
        Assert.NotEqual(ShardSpec.ShardOf(ImageReference.Parse("registry.example.com/team/app-00"), 8), ShardSpec.ShardOf(ImageReference.Parse("registry.example.com/team/app-07"), 8));
    }

    [Theory]
    [InlineData(null, null, null, false, null, null)]
    [InlineData(null, null, "4", true, null, null)] // no count: the environment does not shard a call
    [InlineData(2, 3, null, true, 2, 3)]
    [InlineData(0, 1, null, true, 0, 1)]
    [InlineData(2, 3, "0", true, 2, 3)] // -ShardIndex wins over the environment
    [InlineData(null, 3, "1", true, 1, 3)]
    [InlineData(null, 3, " 2 ", true, 2, 3)]
    [InlineData(null, 3, null, false, null, 3)] // Get-SyncPlan's report of every shard
    [InlineData(null, 3, "", false, null, 3)]
    public void Shard_parameters_resolve(int? index, int? count, string? environment, bool required, int? shard, int? resolvedCount)
    {
        var choice = ShardParameters.Resolve(index, count, environment, required);
        Assert.Equal(shard, choice.Shard?.Index);
        Assert.Equal(resolvedCount, choice.Count);
        if (choice.Shard != null) Assert.Equal(count, choice.Shard.Count);
        Assert.Equal(index == null && environment != null && shard != null, choice.FromEnvironment);
    }

    [Theory]
    [InlineData(null, 3, null, ErrorIds.ShardIndexMissing)]
    [InlineData(null, 3, "  ", ErrorIds.ShardIndexMissing)]
    [InlineData(3, 3, null, ErrorIds.ShardIndexInvalid)]
    [InlineData(-1, 3, null, ErrorIds.ShardIndexInvalid)]
    [InlineData(1, null, null, ErrorIds.ShardIndexInvalid)]
    [InlineData(null, 3, "3", ErrorIds.ShardIndexInvalid)]
    [InlineData(null, 3, "-1", ErrorIds.ShardIndexInvalid)]
    [InlineData(null, 3, "one", ErrorIds.ShardIndexInvalid)]
    [InlineData(null, 3, "1.0", ErrorIds.ShardIndexInvalid)]
    [InlineData(null, 3, "99999999999999999999", ErrorIds.ShardIndexInvalid)]
    [InlineData(0, 0, null, ErrorIds.ShardIndexInvalid)]
    [InlineData(0, ShardSpec.MaxCount + 1, null, ErrorIds.ShardIndexInvalid)]
    public void Shard_parameters_that_name_no_shard_are_refused_with_their_id(int? index, int? count, string? environment, string errorId)
    {
        var e = Assert.Throws<ShardParameterException>(() => ShardParameters.Resolve(index, count, environment, indexRequired: true));
        Assert.Equal(errorId, e.ErrorId);
        Assert.Equal(errorId, ErrorIds.Of(e));
        Assert.Equal("InvalidArgument", ErrorIds.Describe(errorId).Category);
        if (environment != null && errorId == ErrorIds.ShardIndexInvalid) Assert.Contains(ShardSpec.JobCompletionIndexVariable, e.Message);
    }

    [Fact]
    public void A_rule_cut_to_a_shard_keeps_its_targets_there_and_its_text()
    {
        var rule = SyncRule.Create("src.example/app:v1,v2", new[] { "a.example/m/app:x1,x2", "b.example/m/app", "c.example/m/app" });
        var all = rule.RestrictTargets(_ => true);
        Assert.Same(rule, all);
        Assert.Null(rule.RestrictTargets(_ => false));

        var cut = rule.RestrictTargets(t => t.Repository.Registry != "b.example")!;
        Assert.Equal(new[] { "a.example/m/app:x1,x2", "c.example/m/app" }, cut.Targets.Select(t => t.ToString()));
        Assert.Equal(cut.Targets.Count, cut.Destinations.Count);
        Assert.Equal(rule.ToString(), cut.ToString());
        var expected = rule.Expand(null).Where(c => c.Destination.Registry != "b.example").ToList();
        Assert.Equal(expected, cut.Expand(null).ToList());
        Assert.All(cut.Expand(null), c => Assert.Equal(rule.ToString(), c.Rule));
        // The tag mapping of a kept target is its own: x1, x2 for v1, v2.
        Assert.Contains(cut.Expand(null), c => c.Source.Tag == "v2" && c.Destination.ToString() == "a.example/m/app:x2");

        var catalog = SyncRule.Create("src.example/ns/*", new[] { "a.example/m" });
        Assert.Throws<InvalidOperationException>(() => catalog.RestrictTargets(_ => true));
        var shard = new ShardSpec(0, 1);
        Assert.Same(catalog, shard.Restrict(catalog));
        var child = catalog.ExpandCatalog(new[] { "ns/x" }).Single();
        Assert.Same(child, shard.Restrict(child));
        Assert.Null(new ShardSpec(1 - ShardSpec.ShardOf(child.Targets[0].Repository, 2), 2).Restrict(child));
    }

    [Fact]
    public void The_shard_summary_has_every_shard_and_sums_what_is_known()
    {
        var digest = Digest.Parse("sha256:" + new string('b', 64));
        var other = Digest.Parse("sha256:" + new string('c', 64));
        ImageCopy Copy(string destination, long? size, bool upToDate) =>
            new ImageCopy(ImageReference.Parse("src.example/app:v1"), ImageReference.Parse(destination)).WithPlan(digest, upToDate ? digest : other).WithSize(size);
        // Pinned above for 8: app-00 → 5, app-01 → 6, app-07 → 0.
        var copies = new[]
        {
            Copy("registry.example.com/team/app-00:v1", 100, false),
            Copy("registry.example.com/team/app-00:v2", 50, true),
            Copy("registry.example.com/team/app-01:v1", null, false),
            Copy("registry.example.com/team/app-07:v1", 7, false),
            Copy("registry.example.com/team/app-07:v1", null, true).WithShard(3), // the shard comes from the destination, not the copy
        };
        var loads = ShardLoad.Summarize(copies, 8);

        Assert.Equal(Enumerable.Range(0, 8), loads.Select(l => l.Shard));
        Assert.All(loads, l => Assert.Equal(8, l.ShardCount));
        var five = loads[5];
        Assert.Equal((2, 1, 1, 1, (long?)150, 2), (five.Images, five.ToCopy, five.UpToDate, five.Repositories, five.Bytes, five.BytesKnown));
        var six = loads[6];
        Assert.Equal((1, 1, 0, 1, (long?)null, 0), (six.Images, six.ToCopy, six.UpToDate, six.Repositories, six.Bytes, six.BytesKnown));
        var zero = loads[0];
        Assert.Equal((2, 1, 1, 1, (long?)7, 1), (zero.Images, zero.ToCopy, zero.UpToDate, zero.Repositories, zero.Bytes, zero.BytesKnown));
        Assert.All(new[] { 1, 2, 3, 4, 7 }, i => Assert.Equal((0, 0, (long?)null), (loads[i].Images, loads[i].Repositories, loads[i].Bytes)));
        Assert.Equal(copies.Length, loads.Sum(l => l.Images));
        Assert.StartsWith("shard 5 of 8: 2 image(s), 1 to copy, 1 repository", five.ToString());
    }
}

/// <summary>Shards against real registries: each shard lists only what it needs, and together they are the whole job.</summary>
[Collection("registries")]
public sealed class ShardSyncTests
{
    private const int Count = 3;
    private readonly RegistryFixture _registries;

    public ShardSyncTests(RegistryFixture registries) => _registries = registries;

    /// <summary>
    /// <paramref name="perShard"/> destination repositories under <paramref name="prefix"/> for each of <see cref="Count"/> shards.
    /// The registry's port is random, so the names are chosen per run to give every shard some.
    /// </summary>
    private static List<string> Balanced(string host, string prefix, int perShard)
    {
        var names = new List<string>();
        var per = new int[Count];
        for (int j = 0; names.Count < perShard * Count; j++)
        {
            var name = $"{prefix}/app-{j:00}";
            var shard = ShardSpec.ShardOf(new ImageReference(host, name), Count);
            if (per[shard] == perShard) continue;
            per[shard]++;
            names.Add(name);
        }
        return names;
    }

    private static int TagLists(SyncHarness harness, string repository) =>
        harness.Requests.Count(r => r.Method == "GET" && r.Path.StartsWith($"/v2/{repository}/tags/list", StringComparison.Ordinal));

    private static void AssertShardsAreThePlan(IReadOnlyList<ImageCopy> whole, IReadOnlyList<ImageCopy>[] shards)
    {
        for (int i = 0; i < shards.Length; i++)
        {
            Assert.NotEmpty(shards[i]);
            Assert.All(shards[i], c => Assert.Equal(i, ShardSpec.ShardOf(c.Destination, shards.Length)));
            for (int j = i + 1; j < shards.Length; j++) Assert.Empty(shards[i].Intersect(shards[j]));
        }
        var union = shards.SelectMany(s => s).ToList();
        Assert.Equal(whole.Count, union.Count);
        Assert.Equal(whole.Select(c => c.ToString()).OrderBy(k => k, StringComparer.Ordinal), union.Select(c => c.ToString()).OrderBy(k => k, StringComparer.Ordinal));
        // The rule text is the rule's as written, in every shard.
        var rules = whole.ToDictionary(c => c.ToString(), c => c.Rule);
        Assert.All(union, c => Assert.Equal(rules[c.ToString()], c.Rule));
    }

    [Fact]
    public async Task Three_shards_of_twelve_rules_list_only_their_own_sources_and_together_are_the_unsharded_plan()
    {
        var src = _registries.Anonymous;
        var dst = _registries.Basic.Host;
        var run = $"shard{Guid.NewGuid():N}".Substring(0, 13);
        var destinations = Balanced(dst, run, 4);
        var http = new RegistryHttp(src);
        var rules = new List<SyncRule>();
        for (int i = 0; i < destinations.Count; i++)
        {
            var source = $"{run}/src-{i:00}";
            await http.PushImageAsync(source, ImageFactory.CreateImage(7_100_000 + i, 1, 512), "v1", "v2");
            // All tags, a regex and a tag list: each kind is cut before it is listed (or, a tag list, never listed).
            var selector = (i % 3) switch { 0 => "", 1 => ":/^v/", _ => ":v1" };
            rules.Add(SyncRule.Create($"{src.Host}/{source}{selector}", new[] { $"{dst}/{destinations[i]}" }));
        }

        var whole = await new SyncPlanner(new SyncHarness(_registries).Clients, 5).PlanAsync(rules, headDestinations: true, CancellationToken.None);
        Assert.Empty(whole.Errors);
        Assert.Equal(4 * 2 + 4 * 2 + 4 * 1, whole.Copies.Count);

        var shards = new IReadOnlyList<ImageCopy>[Count];
        for (int s = 0; s < Count; s++)
        {
            var harness = new SyncHarness(_registries);
            var plan = await new SyncPlanner(harness.Clients, 5, shard: new ShardSpec(s, Count)).PlanAsync(rules, headDestinations: true, CancellationToken.None);
            Assert.Empty(plan.Errors);
            shards[s] = plan.Copies;
            for (int i = 0; i < destinations.Count; i++)
            {
                var mine = ShardSpec.ShardOf(new ImageReference(dst, destinations[i]), Count) == s;
                var listed = i % 3 != 2 && mine ? 1 : 0;
                Assert.True(listed == TagLists(harness, $"{run}/src-{i:00}"), $"shard {s}: {run}/src-{i:00} (to {destinations[i]}, {(mine ? "mine" : "not mine")}) tag lists");
                // Not even a HEAD for another shard's images.
                if (!mine) Assert.DoesNotContain(harness.Requests, r => r.Path.StartsWith($"/v2/{run}/src-{i:00}/", StringComparison.Ordinal));
            }
        }
        AssertShardsAreThePlan(whole.Copies, shards);
    }

    [Fact]
    public async Task A_catalog_rule_lists_the_catalog_in_every_shard_and_the_tags_of_its_own_repositories_only()
    {
        await using var source = await RegistryServer.StartAsync(RegistryAuthKind.Anonymous);
        var dst = _registries.Basic.Host;
        var mirror = $"catshard{Guid.NewGuid():N}".Substring(0, 14);
        // Destination mirror/app-NN for source org/app-NN: balanced by the destination's shard.
        var children = Balanced(dst, mirror, 3).Select(d => d.Substring(mirror.Length + 1)).ToList();
        var http = new RegistryHttp(source);
        foreach (var (child, i) in children.Select((c, i) => (c, i))) await http.PushImageAsync($"org/{child}", ImageFactory.CreateImage(7_200_000 + i, 1, 512), "1.0");
        var rule = SyncRule.Create($"{source.Host}/org/*", new[] { $"{dst}/{mirror}/*" });

        var whole = await new SyncPlanner(new SyncHarness(_registries).Clients, 5).PlanAsync(new[] { rule }, headDestinations: true, CancellationToken.None);
        Assert.Empty(whole.Errors);
        Assert.Equal(children.Count, whole.Copies.Count);

        var shards = new IReadOnlyList<ImageCopy>[Count];
        for (int s = 0; s < Count; s++)
        {
            var harness = new SyncHarness(_registries);
            var plan = await new SyncPlanner(harness.Clients, 5, shard: new ShardSpec(s, Count)).PlanAsync(new[] { rule }, headDestinations: true, CancellationToken.None);
            Assert.Empty(plan.Errors);
            shards[s] = plan.Copies;
            Assert.Equal(1, harness.Count("GET", "/v2/_catalog"));
            foreach (var child in children)
            {
                var mine = ShardSpec.ShardOf(new ImageReference(dst, $"{mirror}/{child}"), Count) == s;
                Assert.Equal(mine ? 1 : 0, TagLists(harness, $"org/{child}"));
            }
        }
        AssertShardsAreThePlan(whole.Copies, shards);
    }

    [Fact]
    public async Task A_rule_with_destinations_in_two_shards_is_copied_to_each_by_its_own_shard_and_a_piped_plan_is_filtered()
    {
        var src = _registries.Anonymous;
        var dst = _registries.Basic;
        var run = $"two{Guid.NewGuid():N}".Substring(0, 11);
        var names = Balanced(dst.Host, run, 1); // one destination repository per shard
        var source = $"{run}/source";
        var image = ImageFactory.CreateImage(7_300_000, 1, 2048);
        await new RegistryHttp(src).PushImageAsync(source, image, "v1");
        string ShardName(int s) => names.Single(n => ShardSpec.ShardOf(new ImageReference(dst.Host, n), Count) == s);
        // Destinations in shards 0 and 1; shard 2 has none of this rule.
        var rule = SyncRule.Create($"{src.Host}/{source}", new[] { $"{dst.Host}/{ShardName(0)}", $"{dst.Host}/{ShardName(1)}" });
        var target = new RegistryHttp(dst);

        var harness = new SyncHarness(_registries);
        var two = await new SyncEngine(harness.Clients, new SyncOptions { Retries = 0, Shard = new ShardSpec(2, Count) }, harness).RunAsync(new[] { rule }, CancellationToken.None);
        Assert.Equal((0, 0), (two.Images, TagLists(harness, source)));
        Assert.DoesNotContain(harness.Requests, r => r.Path.StartsWith($"/v2/{source}/", StringComparison.Ordinal));

        harness = new SyncHarness(_registries);
        var zero = await new SyncEngine(harness.Clients, new SyncOptions { Retries = 0, Shard = new ShardSpec(0, Count) }, harness).RunAsync(new[] { rule }, CancellationToken.None);
        Assert.Equal((1, 1, 0), (zero.Images, zero.Synced, zero.Failed));
        Assert.Equal($"{dst.Host}/{ShardName(0)}:v1", Assert.Single(harness.Images).Destination);
        Assert.Equal(image.Digest, await target.GetManifestDigestAsync(ShardName(0), "v1"));
        Assert.Null(await target.GetManifestDigestAsync(ShardName(1), "v1"));

        // Shard 1 from a plan of the whole job, as Get-SyncPlan | Invoke-ImageSync -Plan would pipe it.
        var plan = await new SyncPlanner(new SyncHarness(_registries).Clients, 5).PlanAsync(new[] { rule }, headDestinations: true, CancellationToken.None);
        Assert.Equal(2, plan.Copies.Count);
        harness = new SyncHarness(_registries);
        var one = await new SyncEngine(harness.Clients, new SyncOptions { Retries = 0, Shard = new ShardSpec(1, Count) }, harness).RunAsync(plan.Copies, CancellationToken.None);
        Assert.Equal((1, 1), (one.Images, one.Synced));
        Assert.Equal($"{dst.Host}/{ShardName(1)}:v1", Assert.Single(harness.Images).Destination);
        Assert.Equal(image.Digest, await target.GetManifestDigestAsync(ShardName(1), "v1"));
        // Shard 0's mirror was not touched by shard 1: no request to it.
        Assert.DoesNotContain(harness.Requests, r => r.Path.StartsWith($"/v2/{ShardName(0)}/", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Prune_in_a_shard_deletes_stale_tags_of_its_own_repositories_only()
    {
        var ns = $"pshard{Guid.NewGuid():N}".Substring(0, 14);
        var mirror = "m" + ns;
        var dstHost = _registries.Basic.Host;
        var children = Balanced(dstHost, mirror, 1).Select(d => d.Substring(mirror.Length + 1)).ToList();
        var src = new RegistryHttp(_registries.Anonymous);
        foreach (var (child, i) in children.Select((c, i) => (c, i)))
        {
            await src.PushImageAsync($"{ns}/{child}", ImageFactory.CreateImage(7_400_000 + 2 * i, 1, 512), "v1");
            await src.PushImageAsync($"{ns}/{child}", ImageFactory.CreateImage(7_400_001 + 2 * i, 1, 512), "v2");
        }
        var rule = SyncRule.Create($"{_registries.Anonymous.Host}/{ns}/*", new[] { $"{dstHost}/{mirror}/*" });
        var first = await new SyncEngine(new SyncHarness(_registries).Clients, new SyncOptions { Retries = 0 }, new SyncHarness(_registries)).RunAsync(new[] { rule }, CancellationToken.None);
        Assert.Equal(2 * Count, first.Synced);
        foreach (var child in children) await src.DeleteTagByDigestAsync($"{ns}/{child}", "v2");

        var mine = children.Single(c => ShardSpec.ShardOf(new ImageReference(dstHost, $"{mirror}/{c}"), Count) == 1);
        var harness = new SyncHarness(_registries);
        var summary = await new SyncEngine(harness.Clients, new SyncOptions { Retries = 0, Prune = true, Shard = new ShardSpec(1, Count) }, harness)
            .RunAsync(new[] { rule }, CancellationToken.None);

        Assert.True(summary.Failed == 0, string.Join("; ", harness.Images.Select(i => i.Error)));
        Assert.Equal(1, summary.Deleted);
        Assert.Equal($"{dstHost}/{mirror}/{mine}:v2", Assert.Single(harness.Images, r => r.Action == SyncAction.Deleted).Destination);
        var dst = new RegistryHttp(_registries.Basic);
        foreach (var child in children)
            Assert.Equal(child == mine ? new[] { "v1" } : new[] { "v1", "v2" }, (await dst.ListTagsAsync($"{mirror}/{child}")).OrderBy(t => t, StringComparer.Ordinal));
        // The other shards' mirrors were not even listed.
        foreach (var child in children.Where(c => c != mine)) Assert.Equal(0, TagLists(harness, $"{mirror}/{child}"));
    }
}
