using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;
using static OciSync.Core.Tests.Security.SecurityHarness;

namespace OciSync.Core.Tests.Security;

/// <summary>Bodies meant to hold a client: bytes that trickle for ever, token answers that are junk.</summary>
[Collection("registries")]
public sealed class HostileBodyTests
{
    private static readonly TimeSpan Drip = TimeSpan.FromMilliseconds(300);
    // The server gives up after this, so a client without a throughput rule still ends (and fails the bound).
    private static readonly TimeSpan DripCap = TimeSpan.FromSeconds(10);

    private readonly RegistryFixture _registries;

    public HostileBodyTests(RegistryFixture registries) => _registries = registries;

    [Fact]
    public async Task Slow_loris_blob_manifest_and_tags_bodies_fail_with_RegistryTimeout_within_a_bound()
    {
        var canary = new Canary();
        await using var source = HostileRegistry.Start(HostileAuth.Basic, canary.User, canary.Password);
        var dst = _registries.Basic;
        var ns = Unique("secg");
        source.AddImage("g/app", Small(700_701), "good1");
        source.AddImage("g/app", Small(700_702), "good2");
        var slowBlob = Small(700_703);
        source.AddImage("g/blob", slowBlob, "v1");
        var layer = slowBlob.Layers[0];
        source.On(r => r.Method == "GET" && r.Path == $"/v2/g/blob/blobs/{layer.Digest}" ? HostileReply.Trickle(layer.Size, Drip, DripCap) : null);
        var slowManifest = Small(700_704);
        source.AddImage("g/manifest", slowManifest, "v1");
        source.On(r => r.Method == "GET" && r.Path.StartsWith("/v2/g/manifest/manifests/", StringComparison.Ordinal)
            ? HostileReply.Trickle(slowManifest.ManifestBytes.Length, Drip, DripCap, slowManifest.ManifestMediaType).With("Docker-Content-Digest", slowManifest.Digest) : null);
        source.AddImage("g/tags", Small(700_705), "t1");
        source.On(r => r.Path == "/v2/g/tags/tags/list" ? HostileReply.Trickle(100_000, Drip, DripCap, "application/json") : null);

        var harness = new SecurityHarness(_registries, canary, new[] { source }, configure: o =>
        {
            o.Retry.ResponseTimeout = TimeSpan.FromSeconds(2); // the deadline of tags and manifest bodies
            o.MinimumTransferRate = 1000;
            o.TransferRateWindow = TimeSpan.FromSeconds(2);
        });

        var clock = Stopwatch.StartNew();
        var tagsRule = SyncRule.Create($"{source.Host}/g/tags", new[] { $"{dst.Host}/{ns}/tags" });
        var plan = await harness.PlanAsync(tagsRule, SyncRule.Create($"{source.Host}/g/app:good1,good2", new[] { $"{dst.Host}/{ns}/app" }))
            .WaitAsync(TimeSpan.FromSeconds(60));
        var planning = clock.Elapsed;
        clock.Restart();
        await harness.RunAsync(new SyncOptions { Retries = 0, BlobAttempts = 1 }, plan.Copies.Concat(new[]
        {
            new ImageCopy(ImageReference.Parse($"{source.Host}/g/blob:v1"), ImageReference.Parse($"{dst.Host}/{ns}/blob:v1")),
            new ImageCopy(ImageReference.Parse($"{source.Host}/g/manifest:v1"), ImageReference.Parse($"{dst.Host}/{ns}/manifest:v1")),
        })).WaitAsync(TimeSpan.FromSeconds(60));
        var copying = clock.Elapsed;

        var expect = new Expectations();
        var tagsError = plan.Errors.FirstOrDefault(e => e.Copy == null && e.Target == tagsRule.ToString());
        expect.That(tagsError != null && ErrorIds.Of(tagsError.Error) == ErrorIds.RegistryTimeout,
            $"slow tags body: expected RegistryTimeout, got {(tagsError == null ? "no rule error" : ErrorIds.Of(tagsError.Error))}");
        expect.That(planning < TimeSpan.FromSeconds(6), $"planning took {planning.TotalSeconds:0.0} s (tags body deadline 2 s)");
        harness.ExpectFailed(expect, $"{source.Host}/g/blob:v1", ErrorIds.RegistryTimeout);
        harness.ExpectFailed(expect, $"{source.Host}/g/manifest:v1", ErrorIds.RegistryTimeout);
        expect.That(copying < TimeSpan.FromSeconds(8), $"copying took {copying.TotalSeconds:0.0} s; at 1000 B/s over a 2 s window a 3 B/s blob should fail within about 4 s");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/g/app:good1", dst, $"{ns}/app", "good1");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/g/app:good2", dst, $"{ns}/app", "good2");
        harness.ExpectNoSecret(expect);
        expect.Verify();
    }

    [Fact]
    public async Task Junk_token_answers_fail_cleanly_with_RegistryProtocolError_and_a_huge_expiry_is_clamped()
    {
        var canary = new Canary();
        await using var source = HostileRegistry.Start(HostileAuth.Bearer, canary.User, canary.Password);
        var dst = _registries.Basic;
        var ns = Unique("sech");
        source.AddImage("h/app", Small(700_801), "good1");
        source.AddImage("h/app", Small(700_802), "good2");
        var junk = new Dictionary<string, Func<HostileReply>>
        {
            ["notjson"] = () => new HostileReply { Body = Encoding.UTF8.GetBytes("<html>token service</html>") }.With("Content-Type", "text/html"),
            ["notoken"] = () => HostileReply.Json(200, "{\"expires_in\":300}"),
            ["badexpiry"] = () => HostileReply.Json(200, $"{{\"token\":\"{source.NewToken()}\",\"expires_in\":\"x\"}}"),
            ["bigtoken"] = () => HostileReply.Json(200, $"{{\"token\":\"{new string('t', 5 * 1024 * 1024)}\"}}"),
            ["hugeexpiry"] = () => HostileReply.Json(200, $"{{\"token\":\"{source.NewToken()}\",\"expires_in\":99999999999}}"),
        };
        var seed = 700_810;
        foreach (var (name, reply) in junk)
        {
            source.AddImage($"h/{name}", Small(seed++), "v1");
            source.On(r => r.Path == HostileRegistry.TokenPath && r.QueryValues("scope").Any(s => s.StartsWith($"repository:h/{name}:", StringComparison.Ordinal)) ? reply() : null);
        }

        var harness = new SecurityHarness(_registries, canary, new[] { source });
        await harness.RunAsync(new SyncOptions { Retries = 0 }, junk.Keys.Select(n => ($"{source.Host}/h/{n}:v1", $"{dst.Host}/{ns}/{n}:v1"))
            .Append(($"{source.Host}/h/app:good1", $"{dst.Host}/{ns}/app:good1"))
            .Append(($"{source.Host}/h/app:good2", $"{dst.Host}/{ns}/app:good2")).ToArray());

        var expect = new Expectations();
        foreach (var name in new[] { "notjson", "notoken", "bigtoken" })
        {
            var source_ = $"{source.Host}/h/{name}:v1";
            harness.ExpectFailed(expect, source_, ErrorIds.RegistryProtocolError);
            var error = harness.Result(source_)?.Error ?? "";
            expect.That(error.Length < 1000 && !error.Contains("tttttttt") && !error.Contains("<html>"), $"{name}: the error should be short and not quote the answer ({error.Length} chars)");
        }
        // An expiry that is no number is ignored (the token spec's 60 s apply); a huge one is capped. Neither is a reason to fail.
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/h/badexpiry:v1", dst, $"{ns}/badexpiry", "v1");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/h/hugeexpiry:v1", dst, $"{ns}/hugeexpiry", "v1");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/h/app:good1", dst, $"{ns}/app", "good1");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/h/app:good2", dst, $"{ns}/app", "good2");
        harness.ExpectNoSecret(expect);
        expect.Verify();
    }
}
