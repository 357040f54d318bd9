using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;
using static OciSync.Core.Tests.Security.SecurityHarness;

namespace OciSync.Core.Tests.Security;

/// <summary>
/// A registry that echoes the credentials back (in error bodies, in URLs with user info) gets its
/// failure reported, but the secret is masked as <c>***</c> wherever the text goes: results, the log,
/// exception messages.
/// </summary>
[Collection("registries")]
public sealed class RedactionTests
{
    private readonly RegistryFixture _registries;

    public RedactionTests(RegistryFixture registries) => _registries = registries;

    [Fact]
    public async Task Error_bodies_and_urls_that_echo_the_credentials_are_reported_with_the_secret_masked()
    {
        var canary = new Canary();
        await using var source = HostileRegistry.Start(HostileAuth.Basic, canary.User, canary.Password);
        var dst = _registries.Basic;
        var ns = Unique("secf");
        source.AddImage("f/app", Small(700_601), "good1");
        source.AddImage("f/app", Small(700_602), "good2");
        // One image per status, so no two share a manifest fetch: HEAD works, the GET answers with the echo.
        (string Tag, int Status, string Id)[] echoes = { ("e400", 400, ErrorIds.RegistryProtocolError), ("e500", 500, ErrorIds.RegistryUnavailable), ("e401", 401, ErrorIds.RegistryUnauthorized) };
        var echoImages = echoes.Select((_, i) => Small(700_610 + i)).ToArray();
        for (int i = 0; i < echoes.Length; i++)
        {
            var (tag, status, _) = echoes[i];
            var image = echoImages[i];
            source.AddImage("f/app", image, tag);
            source.On(r => r.Method == "GET" && r.Path == $"/v2/f/app/manifests/{image.Digest}" ? canary.Echo(status, r) : null);
        }
        // A blob redirect to a URL with the credentials as user info, where the echo waits.
        var redirected = Small(700_620);
        source.AddImage("f/redir", redirected, "v1");
        source.On(r => r.Method == "GET" && r.Path.StartsWith("/v2/f/redir/blobs/", StringComparison.Ordinal)
            ? HostileReply.Redirect($"http://{canary.UserInfo}@{source.Host}/storage/{r.Path.Substring(r.Path.LastIndexOf('/') + 1)}") : null);
        source.On(r => r.Path.StartsWith("/storage/", StringComparison.Ordinal) ? canary.Echo(404, r) : null);
        // A tag page whose next Link carries the credentials as user info; the next page echoes.
        source.AddImage("f/linky", Small(700_621), "l1");
        source.On(r => r.Path != "/v2/f/linky/tags/list" ? null : r.QueryValue("last") == null
            ? HostileReply.Tags("f/linky", "l1").With("Link", $"<http://{canary.UserInfo}@{source.Host}/v2/f/linky/tags/list?last=l1>; rel=\"next\"")
            : canary.Echo(400, r));

        var harness = new SecurityHarness(_registries, canary, new[] { source });
        var linky = SyncRule.Create($"{source.Host}/f/linky", new[] { $"{dst.Host}/{ns}/linky" });
        var plan = await harness.PlanAsync(linky);
        // Retries = 1: a failed image is logged "(retrying in pass 2)" with its error before the second pass.
        await harness.RunAsync(new SyncOptions { Retries = 1 },
            echoes.Select(e => ($"{source.Host}/f/app:{e.Tag}", $"{dst.Host}/{ns}/app:{e.Tag}"))
                .Append(($"{source.Host}/f/redir:v1", $"{dst.Host}/{ns}/redir:v1"))
                .Append(($"{source.Host}/f/app:good1", $"{dst.Host}/{ns}/app:good1"))
                .Append(($"{source.Host}/f/app:good2", $"{dst.Host}/{ns}/app:good2")).ToArray());
        Exception? thrown = null;
        try { await harness.Clients.Get(source.Host, "f/app").GetManifestAsync("f/app", echoImages[0].Digest, CancellationToken.None); }
        catch (Exception e) { thrown = e; harness.Exceptions.Enqueue(e.ToString()); }

        var expect = new Expectations();
        foreach (var (tag, _, id) in echoes)
        {
            var r = harness.Result($"{source.Host}/f/app:{tag}");
            harness.ExpectFailed(expect, $"{source.Host}/f/app:{tag}", id);
            expect.That(r?.Error?.Contains("[X]") == true, $"{tag}: the registry's error code X is missing from the reported error");
            expect.That(r?.Error?.Contains("***") == true, $"{tag}: the echoed secret should be reported as ***, the error reads: {Mask(canary, r?.Error)}");
        }
        var redir = harness.Result($"{source.Host}/f/redir:v1");
        expect.That(redir?.Action == SyncAction.Failed, $"f/redir: expected Failed, got {Describe(redir)}");
        expect.That(plan.Errors.Any(e => e.Copy == null && e.Target == linky.ToString()), "f/linky: the tag page behind the user-info Link failed, yet the rule reported no error");
        expect.That(thrown is RegistryException && thrown.Message.Contains("***"), $"GetManifestAsync: expected a RegistryException reading ***, got {thrown?.GetType().Name ?? "none"}: {Mask(canary, thrown?.Message)}");
        expect.That(harness.Log.Any(l => l.Message.Contains("retrying in pass")), "the first pass logged no (retrying in pass N) line, so the log was not exercised");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/f/app:good1", dst, $"{ns}/app", "good1");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/f/app:good2", dst, $"{ns}/app", "good2");
        harness.ExpectNoSecret(expect);
        expect.Verify();
    }

    /// <summary>The text with every canary spelling masked, so failure messages can quote it.</summary>
    private static string Mask(Canary canary, string? text) =>
        Cut(canary.Forms.OrderByDescending(f => f.Text.Length).Aggregate(text ?? "(none)", (s, f) => s.Replace(f.Text, $"<{f.Label}>")), 300);
}
