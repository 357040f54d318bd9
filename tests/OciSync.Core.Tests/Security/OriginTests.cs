using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;
using static OciSync.Core.Tests.Security.SecurityHarness;

namespace OciSync.Core.Tests.Security;

/// <summary>
/// URLs a registry sends (tag-page Links, upload Locations, redirects, token realms) are followed only
/// within the registry's origin, and credentials never leave it (SPEC §4). Canary listeners stand in
/// for the places a hostile registry points at; they must receive nothing.
/// </summary>
[Collection("registries")]
public sealed class OriginTests
{
    private readonly RegistryFixture _registries;

    public OriginTests(RegistryFixture registries) => _registries = registries;

    [Fact]
    public async Task Tag_pages_that_loop_or_link_to_another_origin_fail_the_rule_with_RegistryProtocolError()
    {
        var canary = new Canary();
        await using var source = HostileRegistry.Start(HostileAuth.Basic, canary.User, canary.Password);
        await using var tls = HostileRegistry.Start(HostileAuth.Basic, canary.User, canary.Password, tls: true);
        using var trap = CanaryListener.Start();
        var dst = _registries.Basic;
        var ns = Unique("secc");
        source.AddImage("c/good", Small(700_301), "good1");
        source.AddImage("c/good", Small(700_302), "good2");
        // Honest paging over two pages on the same origin must keep working.
        source.On(r => r.Path != "/v2/c/good/tags/list" ? null : r.QueryValue("last") == null
            ? HostileReply.Tags("c/good", "good1").With("Link", "</v2/c/good/tags/list?n=1&last=good1>; rel=\"next\"")
            : HostileReply.Tags("c/good", "good2"));

        var answered = new ConcurrentDictionary<string, int>();
        var loopTags = Enumerable.Range(0, 500).Select(i => $"loop{i}").ToArray();
        void Loop(string repo, Func<HostileRequest, string> next) => source.On(r =>
        {
            if (r.Path != $"/v2/{repo}/tags/list") return null;
            // A client with no loop guard is stopped here, so the test ends either way.
            if (answered.AddOrUpdate(repo, 1, (_, n) => n + 1) > 1000) return HostileReply.Error(404, "NAME_UNKNOWN", "loop cap of the test reached");
            return HostileReply.Tags(repo, loopTags).With("Link", $"<{next(r)}>; rel=\"next\"");
        });
        Loop("c/self", r => r.Target);
        Loop("c/pingpong", r => r.QueryValue("last") == null ? "/v2/c/pingpong/tags/list?n=1000&last=loop499" : "/v2/c/pingpong/tags/list?n=1000");
        source.On(r => r.Path == "/v2/c/away/tags/list"
            ? HostileReply.Tags("c/away", "a1").With("Link", $"<{trap.BaseUri}v2/c/away/tags/list?last=a1>; rel=\"next\"") : null);
        // https → http on the very same host and port: the TLS registry logs any plain request it gets.
        tls.On(r => r.Path == "/v2/c/down/tags/list" && r.Tls
            ? HostileReply.Tags("c/down", "d1").With("Link", $"<http://{tls.Host}/v2/c/down/tags/list?last=d1>; rel=\"next\"") : null);

        var harness = new SecurityHarness(_registries, canary, new[] { source, tls }, Trusting(tls.Certificate!));
        var bad = new[] { $"{source.Host}/c/self", $"{source.Host}/c/pingpong", $"{source.Host}/c/away", $"{tls.Host}/c/down" }
            .Select(s => SyncRule.Create(s, new[] { $"{dst.Host}/{ns}/bad" })).ToList();
        var good = SyncRule.Create($"{source.Host}/c/good", new[] { $"{dst.Host}/{ns}/app" });
        var plan = await harness.PlanAsync(bad.Append(good)).WaitAsync(TimeSpan.FromSeconds(60));
        await harness.RunAsync(new SyncOptions { Retries = 0 }, plan.Copies);

        var expect = new Expectations();
        foreach (var rule in bad)
        {
            var error = plan.Errors.FirstOrDefault(e => e.Copy == null && e.Target == rule.ToString());
            expect.That(error != null && ErrorIds.Of(error.Error) == ErrorIds.RegistryProtocolError,
                $"rule {rule.Source}: expected RegistryProtocolError, got {(error == null ? "no rule error" : ErrorIds.Of(error.Error))}");
        }
        foreach (var repo in new[] { "c/self", "c/pingpong" })
        {
            var pages = answered.TryGetValue(repo, out var n) ? n : 0;
            expect.That(pages <= 300, $"{repo}: {pages} tag pages were fetched before giving up (a loop needs a bound of a few hundred at most)");
        }
        expect.That(plan.Copies.All(c => c.Source.Repository == "c/good"), $"looping or leaving rules still produced copies: {string.Join(", ", plan.Copies.Where(c => c.Source.Repository != "c/good").Select(c => Cut(c.Source.ToString())))}");
        expect.That(trap.Connections == 0, $"the canary listener (another origin) received {trap.Describe()}");
        var plain = tls.Requests.Where(r => !r.Tls).ToList();
        expect.That(plain.Count == 0, $"the TLS registry was asked over plain HTTP: {string.Join(", ", plain.Select(r => r + " (plain)"))}" +
                                      (plain.Any(r => r.Authorization != null) ? " (with credentials)" : ""));
        harness.ExpectOnlyOrigins(expect, source.BaseUri, tls.BaseUri, dst.BaseUri);
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/c/good:good1", dst, $"{ns}/app", "good1");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/c/good:good2", dst, $"{ns}/app", "good2");
        harness.ExpectNoSecret(expect);
        expect.Verify();
    }

    [Fact]
    public async Task Upload_locations_on_another_origin_or_with_user_info_fail_the_image_with_RegistryProtocolError()
    {
        var canary = new Canary();
        await using var hostile = HostileRegistry.Start(HostileAuth.Basic, canary.User, canary.Password);
        using var trap = CanaryListener.Start();
        var src = _registries.Anonymous;
        var dst = _registries.Basic;
        var ns = Unique("secd");
        var http = new RegistryHttp(src);
        await http.PushImageAsync($"{ns}/src", Small(700_401), "v1");
        await http.PushImageAsync($"{ns}/src", Small(700_402), "good1");
        await http.PushImageAsync($"{ns}/src", Small(700_403), "good2");
        // The hostile registry is the destination here: its upload sessions live elsewhere.
        hostile.On(r => r.Method == "POST" && r.Path == "/v2/d/away/blobs/uploads/"
            ? HostileReply.Empty(202).With("Location", $"{trap.BaseUri}v2/d/away/blobs/uploads/u1?_state=s") : null);
        hostile.On(r => r.Method == "POST" && r.Path == "/v2/d/userinfo/blobs/uploads/"
            ? HostileReply.Empty(202).With("Location", $"http://{canary.UserInfo}@{hostile.Host}/v2/d/userinfo/blobs/uploads/u2") : null);
        // ... and it would accept what arrives there, so following the Location would "work".
        hostile.On(r => r.Method == "PUT" && r.Path == "/v2/d/userinfo/blobs/uploads/u2" ? HostileReply.Empty(201) : null);

        var harness = new SecurityHarness(_registries, canary, new[] { hostile });
        await harness.RunAsync(new SyncOptions { Retries = 0 },
            ($"{src.Host}/{ns}/src:v1", $"{hostile.Host}/d/away:v1"),
            ($"{src.Host}/{ns}/src:v1", $"{hostile.Host}/d/userinfo:v1"),
            ($"{src.Host}/{ns}/src:good1", $"{dst.Host}/{ns}/app:good1"),
            ($"{src.Host}/{ns}/src:good2", $"{dst.Host}/{ns}/app:good2"));

        var expect = new Expectations();
        var results = harness.Images.Where(m => m.Source == $"{src.Host}/{ns}/src:v1").ToList();
        foreach (var r in results)
            expect.That(r.Action == SyncAction.Failed && r.ErrorId == ErrorIds.RegistryProtocolError, $"{r.Destination}: expected Failed RegistryProtocolError, got {Describe(r)}");
        expect.That(results.Count == 2, $"expected two results for the hostile destinations, got {results.Count}");
        expect.That(trap.Connections == 0, $"the canary listener (another origin) received {trap.Describe()}");
        var used = hostile.Requests.Where(r => r.Method is "PUT" or "PATCH").Select(r => r.ToString()).ToList();
        expect.That(used.Count == 0, $"the hostile destination got uploads or manifests it should not have: {string.Join(", ", used)}");
        harness.ExpectOnlyOrigins(expect, src.BaseUri, hostile.BaseUri, dst.BaseUri);
        await harness.ExpectSyncedAsync(expect, $"{src.Host}/{ns}/src:good1", dst, $"{ns}/app", "good1");
        await harness.ExpectSyncedAsync(expect, $"{src.Host}/{ns}/src:good2", dst, $"{ns}/app", "good2");
        harness.ExpectNoSecret(expect, ("what the canary listener received", string.Join("\n", trap.Received)));
        expect.Verify();
    }

    [Fact]
    public async Task Credentials_stay_with_their_origin_and_an_https_registry_may_not_use_a_plain_http_realm_elsewhere()
    {
        var canary = new Canary();
        // Bearer with itself as the realm, plain HTTP on loopback: allowed, it is the registry's own host.
        await using var source = HostileRegistry.Start(HostileAuth.Bearer, canary.User, canary.Password);
        await using var storage = HostileRegistry.Start(address: IPAddress.Parse("127.0.0.2"));
        await using var tls = HostileRegistry.Start(HostileAuth.Bearer, canary.User, canary.Password, tls: true);
        using var trap = CanaryListener.Start();
        tls.Realm = $"{trap.BaseUri}token"; // https registry, plain-http realm on another host
        var dst = _registries.Basic;
        var ns = Unique("sece");
        source.AddImage("e/app", Small(700_501), "good1");
        source.AddImage("e/app", Small(700_502), "good2");
        var redirected = Small(700_503);
        source.AddImage("e/redirect", redirected, "v1");
        // Blob downloads go to "object storage" on another host, as registries often do.
        source.On(r => r.Method == "GET" && r.Path.StartsWith("/v2/e/redirect/blobs/", StringComparison.Ordinal)
            ? HostileReply.Redirect($"{storage.BaseUri}storage/{r.Path.Substring(r.Path.LastIndexOf('/') + 1)}?sig=s") : null);
        foreach (var (digest, data) in redirected.Layers.Select(l => (l.Digest, l.Data)).Append((redirected.ConfigDigest, redirected.ConfigBytes)))
            storage.On(r => r.Path == "/storage/" + digest ? new HostileReply { Body = data } : null);
        tls.AddImage("e/tls", Small(700_504), "v1");

        var harness = new SecurityHarness(_registries, canary, new[] { source, tls }, Trusting(tls.Certificate!));
        await harness.RunAsync(new SyncOptions { Retries = 0 },
            ($"{source.Host}/e/app:good1", $"{dst.Host}/{ns}/app:good1"),
            ($"{source.Host}/e/app:good2", $"{dst.Host}/{ns}/app:good2"),
            ($"{source.Host}/e/redirect:v1", $"{dst.Host}/{ns}/redirect:v1"),
            ($"{tls.Host}/e/tls:v1", $"{dst.Host}/{ns}/tls:v1"));

        var expect = new Expectations();
        harness.ExpectFailed(expect, $"{tls.Host}/e/tls:v1", ErrorIds.InsecureTokenRealm);
        expect.That(trap.Connections == 0, $"the plain-http token realm on another host received {trap.Describe()}");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/e/redirect:v1", dst, $"{ns}/redirect", "v1");
        expect.That(storage.Requests.Count > 0, "the blob redirect to storage was not followed");
        expect.That(storage.Requests.All(r => r.Authorization == null), "a redirect to another host carried Authorization");
        var registries = new[] { source.BaseUri, tls.BaseUri, dst.BaseUri }.Select(u => u.GetLeftPart(UriPartial.Authority)).ToHashSet();
        foreach (var sent in harness.Requests.Where(s => s.Authorization != null && !registries.Contains(s.Origin)).Select(s => s.ToString()).Distinct())
            expect.That(false, $"credentials went to {sent}");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/e/app:good1", dst, $"{ns}/app", "good1");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/e/app:good2", dst, $"{ns}/app", "good2");
        harness.ExpectNoSecret(expect);
        expect.Verify();
    }
}
