using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;
using Xunit.Abstractions;

namespace OciSync.Core.Tests.Sync;

/// <summary>
/// A source that limits us, played by the fault proxy in front of the real registry: 429s beyond so many requests
/// a second (with and without Retry-After), a Docker-Hub-style pull quota in ratelimit-* headers, and the limits a
/// user sets per registry. The run slows down as one (a shared pause, then fewer at once) instead of each request
/// backing off alone, and a quota that runs out fails the rest cleanly.
/// </summary>
[Collection("registries")]
public sealed class RateLimitTests
{
    private readonly RegistryFixture _registries;
    private readonly ITestOutputHelper _output;

    public RateLimitTests(RegistryFixture registries, ITestOutputHelper output)
    {
        _registries = registries;
        _output = output;
    }

    private async Task<string> SeedAsync(string repository, int images, int seed)
    {
        var http = new RegistryHttp(_registries.Anonymous);
        for (int i = 0; i < images; i++) await http.PushImageAsync(repository, ImageFactory.CreateImage(seed + i * 10, layerCount: 1, layerSize: 2048), $"t{i}");
        return repository;
    }

    private static (string, string)[] Copies(string sourceHost, string repository, int images, string destination) =>
        Enumerable.Range(0, images).Select(i => ($"{sourceHost}/{repository}:t{i}", $"{destination}:t{i}")).ToArray();

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_source_that_answers_429_beyond_its_rate_slows_the_whole_run_and_everything_syncs(bool retryAfter)
    {
        var repository = await SeedAsync($"limit/rate-{(retryAfter ? "after" : "none")}", 24, 82_000 + (retryAfter ? 0 : 500));
        await using var proxy = FaultProxy.Start(_registries.Anonymous.BaseUri, FaultSchedule.None);
        var script = new RateLimitScript { RequestsPerWindow = 20, Window = TimeSpan.FromSeconds(1), SendRetryAfter = retryAfter };
        proxy.Limits = script;
        var harness = new SyncHarness(_registries);
        const int requestLimit = 8;

        var summary = await harness.RunAsync(new SyncOptions { RequestConcurrency = requestLimit, Retries = 0 },
            Copies(proxy.Host, repository, 24, $"{_registries.Basic.Host}/limit/{Guid.NewGuid():N}"));

        _output.WriteLine($"retry-after {retryAfter}: {script.Admitted} admitted, {script.TooManyRequests} answered 429, most tried in one window {script.MaxAttemptsInWindow}, {summary.Seconds:0.0} s");
        Assert.Equal(24, summary.Synced);
        Assert.True(script.TooManyRequests > 0, "the limit was reached: the test tests something");
        Assert.InRange(script.MaxAttemptsInWindow, 1, script.RequestsPerWindow + requestLimit); // never over the limit by more than the concurrency
        // One storm per image would be about one 429 per image per window; a shared pause keeps it to a few per episode.
        Assert.InRange(script.TooManyRequests, 1, 3 * requestLimit * (int)Math.Ceiling(summary.Seconds + 1));
        Assert.True(script.TooManyRequests < script.Admitted, $"{script.TooManyRequests} 429s for {script.Admitted} requests");
    }

    [Fact]
    public async Task A_pull_quota_that_runs_out_mid_run_fails_the_rest_as_RegistryRateLimited_without_asking_past_it()
    {
        var repository = await SeedAsync("limit/quota", 16, 83_000);
        await using var proxy = FaultProxy.Start(_registries.Anonymous.BaseUri, FaultSchedule.None);
        var script = new RateLimitScript { PullQuota = 10 };
        proxy.Limits = script;
        var harness = new SyncHarness(_registries);
        var dir = Directory.CreateTempSubdirectory("ocisync-quota-").FullName;
        var failedFile = Path.Combine(dir, "failed.yaml");
        try
        {
            var summary = await harness.RunAsync(new SyncOptions { RequestConcurrency = 4, Retries = 1, FailedImagesPath = failedFile },
                Copies(proxy.Host, repository, 16, $"{_registries.Basic.Host}/quota/{Guid.NewGuid():N}"));

            _output.WriteLine($"quota 10: {summary.Synced} synced, {summary.Failed} failed, {script.Pulls} pulls, {script.QuotaRefused} refused by the registry");
            Assert.Equal(10, summary.Synced);
            Assert.Equal(6, summary.Failed);
            Assert.All(harness.Images.Where(i => i.Action == SyncAction.Failed), i =>
            {
                Assert.Equal(ErrorIds.RegistryRateLimited, i.ErrorId);
                Assert.Contains("pull quota is used up", i.Error);
            });
            Assert.Equal(10, script.Pulls);
            Assert.Equal(0, script.QuotaRefused); // the client stopped before the quota was gone
            var rerun = ImagesFile.Load(failedFile);
            Assert.Equal(6, rerun.Rules.Count);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(2, null)]
    [InlineData(null, 15.0)]
    public async Task Per_registry_maxConcurrency_and_requestsPerSecond_hold_at_the_registry(int? maxConcurrency, double? requestsPerSecond)
    {
        var repository = await SeedAsync($"limit/set{maxConcurrency}x{requestsPerSecond}", 12, 84_000 + (maxConcurrency ?? 0) * 100 + (int)(requestsPerSecond ?? 0) * 1000);
        // Each answer takes 40 ms, as across a network, so that requests overlap and a limit has something to hold back.
        await using var proxy = FaultProxy.Start(_registries.Anonymous.BaseUri, new FaultSchedule(0, 0) { SlowDelay = TimeSpan.FromMilliseconds(40) });
        var script = new RateLimitScript { Window = TimeSpan.FromSeconds(1) };
        proxy.Limits = script;
        var store = new CredentialStore();
        foreach (var server in _registries.All.Where(s => s.Username != null))
            store.Add(new RegistryCredential(server.Host, server.Username, RegistryCredential.ToSecureString(server.Password)));
        store.Add(new RegistryCredential(proxy.Host, null, null, limits: new RegistryLimits(maxConcurrency, requestsPerSecond)));
        var harness = new SyncHarness(_registries, credentials: store);

        var summary = await harness.RunAsync(new SyncOptions { RequestConcurrency = 16 }, Copies(proxy.Host, repository, 12, $"{_registries.Basic.Host}/set/{Guid.NewGuid():N}"));

        _output.WriteLine($"maxConcurrency {maxConcurrency}, {requestsPerSecond}/s: peak {script.PeakInFlight} in flight, at most {script.MaxAttemptsInWindow} in a second, {script.Admitted} requests, {summary.Seconds:0.0} s");
        Assert.Equal(12, summary.Synced);
        Assert.Equal(0, script.TooManyRequests);
        if (maxConcurrency is { } most) Assert.Equal(most, script.PeakInFlight); // reached, never passed
        else if (requestsPerSecond == null) Assert.True(script.PeakInFlight > 2, $"without limits requests overlap (peak {script.PeakInFlight}): the limit of 2 above holds something back");
        if (requestsPerSecond is { } rate) Assert.InRange(script.MaxAttemptsInWindow, 1, (int)rate + 1); // a window's edges may hold one more
    }

    /// <summary>
    /// Two registries held to one request at a time, copied into each other at once: a blob's download must not keep
    /// its registry's turn while its upload waits for the other's (each side's upload waited on the other side's
    /// download, forever; the run is given 60 s here).
    /// </summary>
    [Fact]
    public async Task Copies_both_ways_between_registries_limited_to_one_request_at_a_time_do_not_wait_on_each_other()
    {
        var a = _registries.Anonymous;
        var b = _registries.Basic;
        for (int i = 0; i < 3; i++)
        {
            await new RegistryHttp(a).PushImageAsync("limit/ab", ImageFactory.CreateImage(86_000 + i * 10, layerCount: 2, layerSize: 64 * 1024), $"t{i}");
            await new RegistryHttp(b).PushImageAsync("limit/ba", ImageFactory.CreateImage(86_500 + i * 10, layerCount: 2, layerSize: 64 * 1024), $"t{i}");
        }
        var one = new RegistryLimits(maxConcurrency: 1);
        var store = new CredentialStore(new[]
        {
            new RegistryCredential(a.Host, null, null, limits: one),
            new RegistryCredential(b.Host, b.Username, RegistryCredential.ToSecureString(b.Password), limits: one),
        });
        var harness = new SyncHarness(_registries, credentials: store);
        var id = Guid.NewGuid().ToString("N");

        // Every blob streamed (none as a small request), as large layers are.
        var run = harness.RunAsync(new SyncOptions { SmallBlobBytes = 0, Retries = 0 },
            Copies(a.Host, "limit/ab", 3, $"{b.Host}/limit/ab-{id}").Concat(Copies(b.Host, "limit/ba", 3, $"{a.Host}/limit/ba-{id}")).ToArray());
        var summary = await run.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(6, summary.Synced);
    }
}
