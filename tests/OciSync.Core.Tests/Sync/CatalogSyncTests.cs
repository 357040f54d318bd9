using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;
using Xunit.Abstractions;

namespace OciSync.Core.Tests.Sync;

/// <summary>Catalog rules (<c>registry/namespace/*</c>) against real registries: paging, the prefix, refusals.</summary>
[Collection("registries")]
public sealed class CatalogSyncTests
{
    private readonly RegistryFixture _registries;
    private readonly ITestOutputHelper _output;

    public CatalogSyncTests(RegistryFixture registries, ITestOutputHelper output)
    {
        _registries = registries;
        _output = output;
    }

    [Fact]
    public async Task A_namespace_of_200_repositories_is_synced_through_catalog_pages_and_nothing_outside_it()
    {
        // A registry of its own, so the catalog holds exactly what this test put there.
        await using var source = await RegistryServer.StartAsync(RegistryAuthKind.Anonymous);
        var watch = Stopwatch.StartNew();
        var seeded = await SeedSets.SeedNamespaceAsync(source, "org/team", 200);
        var http = new RegistryHttp(source);
        var outside = new[] { "org/team", "org/teamx/app", "org/other", "elsewhere/app" };
        foreach (var (repo, i) in outside.Select((r, i) => (r, i))) await http.PushImageAsync(repo, ImageFactory.CreateImage(5_100_000 + i, 1, 1024), "1.0");
        _output.WriteLine($"seeded {seeded} + {outside.Length} outside in {watch.Elapsed.TotalSeconds:F1} s");

        var destination = _registries.Basic;
        var rule = SyncRule.Create($"{source.Host}/org/team/*", new[] { $"{destination.Host}/cat200/*" });
        var harness = new SyncHarness(_registries, configure: o => o.CatalogPageSize = 30);
        watch.Restart();
        var plan = await new SyncPlanner(harness.Clients, 5).PlanAsync(new[] { rule }, headDestinations: true, CancellationToken.None);
        _output.WriteLine($"planned {plan.Copies.Count} copies in {watch.Elapsed.TotalSeconds:F1} s");

        Assert.Empty(plan.Errors);
        Assert.Equal(200, plan.Copies.Count);
        // 204 repositories at 30 a page: 7 pages, each asked for once, each with the page size.
        var catalog = harness.Requests.Where(r => r.Method == "GET" && r.Path.StartsWith("/v2/_catalog", StringComparison.Ordinal)).ToList();
        Assert.Equal(7, catalog.Count);
        Assert.All(catalog, r => Assert.Contains("n=30", r.Path));
        Assert.Equal(7, catalog.Select(r => r.Path).Distinct().Count());
        Assert.DoesNotContain(harness.Requests, r => outside.Any(o => r.Path.StartsWith($"/v2/{o}/tags/", StringComparison.Ordinal) || r.Path.StartsWith($"/v2/{o}/manifests/", StringComparison.Ordinal)));

        watch.Restart();
        var summary = await new SyncEngine(harness.Clients, new SyncOptions(), harness).RunAsync(plan.Copies, CancellationToken.None);
        _output.WriteLine($"synced {summary.Synced} in {watch.Elapsed.TotalSeconds:F1} s ({harness.Requests.Count} requests)");
        Assert.Equal(200, summary.Synced);
        Assert.Equal(0, summary.Failed);

        var target = new RegistryHttp(destination);
        // One at a time: 200 checks at once each fetching a token of their own overran the token server (a 401 once).
        foreach (var repo in seeded.Repositories)
            Assert.Equal(seeded.Digests[$"{repo}:1.0"], await target.GetManifestDigestAsync("cat200/" + repo.Substring("org/team/".Length), "1.0"));
        foreach (var repo in new[] { "cat200/team", "cat200/teamx/app", "cat200/other", "cat200/elsewhere/app", "cat200" })
            Assert.Null(await target.GetManifestDigestAsync(repo, "1.0"));
    }

    [Fact]
    public async Task A_registrys_catalog_is_listed_once_a_pass_however_many_rules_use_it()
    {
        var source = _registries.Anonymous;
        var http = new RegistryHttp(source);
        await http.PushImageAsync("once/a/app", ImageFactory.CreateImage(5_200_000, 1, 1024), "v1", "v2");
        await http.PushImageAsync("once/b/app", ImageFactory.CreateImage(5_200_001, 1, 1024), "v1");
        var dst = _registries.Basic.Host;
        var rules = new[]
        {
            SyncRule.Create($"{source.Host}/once/a/*", new[] { $"{dst}/once-a" }),
            SyncRule.Create($"{source.Host}/once/*:/^v1$/", new[] { $"{dst}/once-all/*", $"{dst}/once-copy" }),
        };
        var log = new Log();
        var harness = new SyncHarness(_registries, configure: o => o.Log = log);
        var planner = new SyncPlanner(harness.Clients, 5);
        var plan = await planner.ExpandAsync(rules, CancellationToken.None);

        Assert.Empty(plan.Errors);
        Assert.Equal(new[]
        {
            $"{source.Host}/once/a/app:v1 -> {dst}/once-a/app:v1",
            $"{source.Host}/once/a/app:v1 -> {dst}/once-all/a/app:v1",
            $"{source.Host}/once/a/app:v1 -> {dst}/once-copy/a/app:v1",
            $"{source.Host}/once/a/app:v2 -> {dst}/once-a/app:v2",
            $"{source.Host}/once/b/app:v1 -> {dst}/once-all/b/app:v1",
            $"{source.Host}/once/b/app:v1 -> {dst}/once-copy/b/app:v1",
        }, plan.Copies.Select(c => c.ToString()).OrderBy(c => c, StringComparer.Ordinal));
        Assert.Equal(1, harness.Count("GET", "/v2/_catalog"));
        Assert.Equal(1, harness.Count("GET", "/v2/once/a/app/tags/list")); // and the tags of a repository two rules share, once too
        Assert.Contains(log.Lines, l => l.Contains($"Rule '{rules[1]}': 2 repositories under {source.Host}/once/*"));

        // The next pass lists again (a pass holds no catalog).
        await planner.ExpandAsync(rules, CancellationToken.None);
        Assert.Equal(2, harness.Count("GET", "/v2/_catalog"));

        // A prefix nothing is under: no copies, no error, a warning.
        var none = await planner.ExpandAsync(new[] { SyncRule.Create($"{source.Host}/nothing-here-{Guid.NewGuid():N}/*", new[] { $"{dst}/x" }) }, CancellationToken.None);
        Assert.Empty(none.Copies);
        Assert.Empty(none.Errors);
        Assert.Contains(log.Lines, l => l.Contains("matches no repository in the catalog"));
    }

    [Fact]
    public async Task Bearer_auth_grants_the_catalog_to_the_user_and_refuses_it_to_anonymous_with_a_clear_error()
    {
        var source = _registries.Token;
        await new RegistryHttp(source).PushImageAsync("cattoken/app", ImageFactory.CreateImage(5_300_000, 1, 1024), "v1");
        var rule = SyncRule.Create($"{source.Host}/cattoken/*", new[] { $"{_registries.Anonymous.Host}/cattoken" });

        var user = new SyncHarness(_registries);
        var plan = await new SyncPlanner(user.Clients, 5).ExpandAsync(new[] { rule }, CancellationToken.None);
        Assert.Empty(plan.Errors);
        Assert.Equal($"{source.Host}/cattoken/app:v1 -> {_registries.Anonymous.Host}/cattoken/app:v1", Assert.Single(plan.Copies).ToString());

        // Without credentials the token server grants no registry:catalog:* and the registry answers 401:
        // through the engine, one failed Listing result that names the registry and says what to do.
        var anonymous = new SyncHarness(_registries, credentials: new OciSync.Core.Auth.CredentialStore());
        var summary = await new SyncEngine(anonymous.Clients, new SyncOptions { Retries = 1 }, anonymous).RunAsync(new[] { rule }, CancellationToken.None);
        Assert.Equal(1, summary.Failed);
        var result = Assert.Single(anonymous.Images);
        Assert.Equal(ErrorIds.RegistryCatalogRefused, result.ErrorId);
        Assert.Equal(SyncPhase.Listing, result.Phase);
        Assert.Equal($"{source.Host}/cattoken/*", result.Source);
        Assert.Equal($"{_registries.Anonymous.Host}/cattoken/*", result.Destination);
        Assert.Contains($"{source.Host} refused to list its repositories to anonymous", result.Error);
        Assert.Contains("name the repositories as rules of their own", result.Error);
        // Asked, challenged, asked again with the (catalog-less) token: a refusal is not retried, neither per request nor as a pass.
        Assert.InRange(anonymous.Count("GET", "/v2/_catalog"), 1, 2);
    }

    private sealed class Log : IOciLog
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();
        public string[] Lines => _lines.ToArray();
        public void Write(OciLogLevel level, string message) => _lines.Enqueue($"{level}: {message}");
    }
}
