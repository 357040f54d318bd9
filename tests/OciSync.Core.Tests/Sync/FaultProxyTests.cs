using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Sync;
using OciSync.TestBed;
using Xunit;
using Xunit.Abstractions;

namespace OciSync.Core.Tests.Sync;

/// <summary>
/// The engine against real registries behind the test bed's fault proxy: every fault kind checked at
/// the socket first, then whole syncs with dozens of seeded faults on both sides and at the token server.
/// </summary>
[Collection("registries")]
public sealed class FaultProxyTests
{
    private readonly RegistryFixture _registries;
    private readonly ITestOutputHelper _output;

    public FaultProxyTests(RegistryFixture registries, ITestOutputHelper output)
    {
        _registries = registries;
        _output = output;
    }

    // ---- the proxy itself: each fault does what it says, seen by a plain HttpClient --------------

    private static HttpClient PlainClient() => new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = TimeSpan.FromSeconds(20) };

    private static FaultSchedule Always(RequestClass kind, FaultKind fault) => new FaultSchedule(1, 1.0)
    {
        ShortStall = TimeSpan.FromMilliseconds(400),
        LongStall = TimeSpan.FromMilliseconds(1500),
        RetryAfter = TimeSpan.FromSeconds(1),
    }.Only(kind, fault);

    [Fact]
    public async Task Without_faults_bytes_pass_unchanged_over_one_kept_alive_connection()
    {
        var layer = ImageFactory.CreateLayer(90_001, 700 * 1024);
        await new RegistryHttp(_registries.Anonymous).PushBlobAsync("proxy/plain", layer.Digest, layer.Data);
        await using var proxy = FaultProxy.Start(_registries.Anonymous.BaseUri, FaultSchedule.None);
        using var http = PlainClient();
        for (int i = 0; i < 10; i++)
        {
            var bytes = await http.GetByteArrayAsync(new Uri(proxy.BaseUri, $"/v2/proxy/plain/blobs/{layer.Digest}"));
            Assert.Equal(layer.Digest, ImageFactory.Sha256Digest(bytes));
            using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(proxy.BaseUri, $"/v2/proxy/plain/blobs/{layer.Digest}")));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        }
        Assert.Equal(20, proxy.Exchanges);
        Assert.Equal(1, proxy.Connections);
        Assert.Equal(0, proxy.TotalInjected);
    }

    [Fact]
    public void The_same_seed_picks_the_same_faults_and_another_seed_others()
    {
        var keys = Enumerable.Range(0, 300).Select(i => $"GET /v2/r/blobs/sha256:{i:x64}").ToList();
        List<FaultKind?> Picks(int seed) => keys.Select(k => new FaultSchedule(seed, 0.3).Choose(RequestClass.BlobGet, k, 0).Kind).ToList();
        Assert.Equal(Picks(7), Picks(7));
        Assert.NotEqual(Picks(7), Picks(8));
        Assert.InRange(Picks(7).Count(k => k != null), 60, 120); // about 30 %
        Assert.Equal(new FaultSchedule(7, 0.3).Choose(RequestClass.BlobGet, keys[0], 0).Random.Next(), new FaultSchedule(7, 0.3).Choose(RequestClass.BlobGet, keys[0], 0).Random.Next());
    }

    [Theory]
    [InlineData(FaultKind.RateLimited)]
    [InlineData(FaultKind.ServerError)]
    [InlineData(FaultKind.ServerErrorAfterUpstream)]
    [InlineData(FaultKind.ResetBeforeResponse)]
    [InlineData(FaultKind.ResetMidBody)]
    [InlineData(FaultKind.TruncatedBody)]
    [InlineData(FaultKind.FlippedByte)]
    [InlineData(FaultKind.StallMidBody)]
    [InlineData(FaultKind.LongStallMidBody)]
    public async Task A_blob_download_fault_is_what_the_client_sees(FaultKind fault)
    {
        var layer = ImageFactory.CreateLayer(90_002, 300 * 1024);
        await new RegistryHttp(_registries.Anonymous).PushBlobAsync("proxy/faults", layer.Digest, layer.Data);
        await using var proxy = FaultProxy.Start(_registries.Anonymous.BaseUri, Always(RequestClass.BlobGet, fault));
        using var http = PlainClient();
        var url = new Uri(proxy.BaseUri, $"/v2/proxy/faults/blobs/{layer.Digest}");
        var watch = Stopwatch.StartNew();

        switch (fault)
        {
            case FaultKind.RateLimited:
            {
                using var r = await http.GetAsync(url);
                Assert.Equal(429, (int)r.StatusCode);
                Assert.Equal(TimeSpan.FromSeconds(1), r.Headers.RetryAfter?.Delta);
                break;
            }
            case FaultKind.ServerError or FaultKind.ServerErrorAfterUpstream:
            {
                using var r = await http.GetAsync(url);
                Assert.Contains((int)r.StatusCode, new[] { 500, 502, 503 });
                break;
            }
            case FaultKind.ResetBeforeResponse:
                await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(url));
                break;
            case FaultKind.ResetMidBody or FaultKind.TruncatedBody:
            {
                using var r = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
                Assert.Equal(HttpStatusCode.OK, r.StatusCode);
                Assert.Equal(layer.Size, r.Content.Headers.ContentLength); // the full length is announced
                var got = new MemoryStream();
                await Assert.ThrowsAnyAsync<IOException>(() => r.Content.ReadAsStream().CopyToAsync(got));
                Assert.True(got.Length < layer.Size, $"{got.Length} of {layer.Size} bytes");
                Assert.Equal(layer.Data.AsSpan(0, (int)got.Length).ToArray(), got.ToArray()); // what came is right, just short
                break;
            }
            case FaultKind.FlippedByte:
            {
                var got = await http.GetByteArrayAsync(url);
                Assert.Equal(layer.Size, got.Length);
                Assert.Equal(1, got.Zip(layer.Data).Count(p => p.First != p.Second));
                break;
            }
            case FaultKind.StallMidBody or FaultKind.LongStallMidBody:
            {
                var got = await http.GetByteArrayAsync(url);
                Assert.Equal(layer.Data, got);
                Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(fault == FaultKind.StallMidBody ? 90 : 1400), $"took {watch.Elapsed}");
                break;
            }
        }
        // SocketsHttpHandler itself resends a request whose connection died before any answer byte.
        if (fault == FaultKind.ResetBeforeResponse) Assert.InRange(proxy.Injected[fault], 1, 5);
        else Assert.Equal(1, proxy.Injected[fault]);
        Assert.Equal(fault, proxy.Injected.Single().Key);
    }

    [Theory]
    [InlineData(FaultKind.ResetMidUpload)]
    [InlineData(FaultKind.StallMidUpload)]
    [InlineData(FaultKind.FlippedUploadByte)]
    [InlineData(FaultKind.ServerErrorAfterUpstream)]
    public async Task An_upload_fault_is_what_the_client_and_the_registry_see(FaultKind fault)
    {
        var layer = ImageFactory.CreateLayer(90_100 + (int)fault, 400 * 1024);
        var registry = _registries.Anonymous;
        await using var proxy = FaultProxy.Start(registry.BaseUri, Always(RequestClass.UploadPut, fault));
        using var http = PlainClient();
        using var start = await http.PostAsync(new Uri(proxy.BaseUri, "/v2/proxy/uploads/blobs/uploads/"), new ByteArrayContent(Array.Empty<byte>()));
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var location = start.Headers.Location!;
        Assert.Equal(proxy.Port, location.Port); // the registry's Location leads back through the proxy
        var put = new Uri(location + "&digest=" + Uri.EscapeDataString(layer.Digest));
        var watch = Stopwatch.StartNew();

        Task<HttpResponseMessage> Put() => http.PutAsync(put, new ByteArrayContent(layer.Data));
        switch (fault)
        {
            case FaultKind.ResetMidUpload:
                await Assert.ThrowsAsync<HttpRequestException>(Put);
                break;
            case FaultKind.StallMidUpload:
                using (var r = await Put()) Assert.Equal(HttpStatusCode.Created, r.StatusCode);
                Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(90), $"took {watch.Elapsed}");
                break;
            case FaultKind.FlippedUploadByte:
                using (var r = await Put())
                {
                    Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
                    Assert.Contains("DIGEST_INVALID", await r.Content.ReadAsStringAsync());
                }
                break;
            case FaultKind.ServerErrorAfterUpstream:
                using (var r = await Put()) Assert.Contains((int)r.StatusCode, new[] { 500, 502, 503 });
                break;
        }
        // Only the error after the upstream did the work leaves the blob behind.
        Assert.Equal(fault is FaultKind.StallMidUpload or FaultKind.ServerErrorAfterUpstream,
            await new RegistryHttp(registry).BlobExistsAsync("proxy/uploads", layer.Digest));
        Assert.Equal(1, proxy.Injected[fault]);
    }

    [Fact]
    public async Task A_slow_token_endpoint_holds_every_answer_and_times_some_out()
    {
        var tokens = _registries.Token.Tokens!;
        await using var proxy = FaultProxy.Start(tokens.Realm, new FaultSchedule(1, 1.0)
        {
            SlowDelay = TimeSpan.FromMilliseconds(300),
            TimedOutDelay = TimeSpan.FromSeconds(2),
        }.Only(RequestClass.Token, FaultKind.TimedOutResponse), preserveHost: false);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(1) };
        var url = new Uri(proxy.BaseUri, $"/token?service={tokens.Service}&scope=repository:x:pull");
        var watch = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<TaskCanceledException>(() => http.GetAsync(url));
        Assert.InRange(watch.Elapsed.TotalSeconds, 0.9, 1.9); // the client gave up at 1 s, long before the 2 s answer

        proxy.Schedule = new FaultSchedule(1, 0) { SlowDelay = TimeSpan.FromMilliseconds(300) };
        watch.Restart();
        using var ok = await http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(290), $"took {watch.Elapsed}");
        Assert.Equal(1, proxy.Injected[FaultKind.TimedOutResponse]);
        Assert.Equal(2, proxy.Injected[FaultKind.SlowResponse]);
    }

    // ---- whole syncs through faults ----------------------------------------------------------------

    /// <summary>
    /// Anonymous source → token destination, each behind its own fault proxy, and the destination's
    /// token server behind a third (slow, sometimes slower than the client waits; its realm is
    /// rewritten in the challenge). Roughly one exchange in five is faulted, on both sides.
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_sync_through_dozens_of_seeded_faults_ends_complete_and_verified(int seed)
    {
        var source = _registries.Anonymous;
        var destination = _registries.Token;
        var set = await FaultSet.SeedAsync(source);

        await using var sourceProxy = FaultProxy.Start(source.BaseUri, Faults(seed, 0.2));
        await using var destinationProxy = FaultProxy.Start(destination.BaseUri, Faults(seed + 1000, 0.2));
        await using var tokenProxy = FaultProxy.Start(destination.Tokens!.Realm, new FaultSchedule(seed + 2000, 0.25)
        {
            SlowDelay = TimeSpan.FromMilliseconds(250),
            TimedOutDelay = TimeSpan.FromSeconds(2), // the client waits PingTimeout (1 s) for a token
        }, preserveHost: false);
        var realm = destination.Tokens.Realm.GetLeftPart(UriPartial.Authority);
        destinationProxy.ResponseHeaderRewrites.Add((realm, tokenProxy.BaseUri.GetLeftPart(UriPartial.Authority)));

        var harness = new SyncHarness(_registries);
        harness.Clients.Credentials.Add(new RegistryCredential(destinationProxy.Host, destination.Username, RegistryCredential.ToSecureString(destination.Password)));
        var options = harness.Clients.Options;
        options.Retry.MaxAttempts = 6;
        options.Retry.BaseDelay = TimeSpan.FromMilliseconds(20);
        options.Retry.MaxDelay = TimeSpan.FromSeconds(1);
        options.Retry.ResponseTimeout = TimeSpan.FromSeconds(2);
        // Shorter than a long stall (3 s), longer than one Retry-After (1 s): the copier's stall watchdog also
        // runs while the request waits out 429s, so two in a row on one blob read as "no bytes moved"
        // (RegistryTimeout) and cost a blob attempt - reported on the fault branch, survived here by BlobAttempts.
        options.BlobIdleTimeout = TimeSpan.FromSeconds(1.5);
        options.PingTimeout = TimeSpan.FromSeconds(1);
        var log = new PassLog();
        options.Log = log;

        var prefix = $"f{seed}";
        var copies = set.Tags.Select(t => ($"{sourceProxy.Host}/{t.Repository}:{t.Tag}", $"{destinationProxy.Host}/{prefix}/{t.Repository}:{t.Tag}"))
            .Append(($"{sourceProxy.Host}/{FaultSet.SharedRepository}:a", $"{destinationProxy.Host}/{prefix}/shared-copy:a")) // mounted within the destination
            .ToArray();
        var watch = Stopwatch.StartNew();
        var summary = await harness.RunAsync(new SyncOptions { Concurrency = 4, Retries = 6, BlobAttempts = 4 }, copies)
            .WaitAsync(TimeSpan.FromSeconds(120)); // a hang fails here instead of stalling the run

        _output.WriteLine($"seed {seed}: {summary} ({watch.Elapsed.TotalSeconds:0.0} s, {set})");
        _output.WriteLine($"source side ({sourceProxy.Exchanges} exchanges):\n{sourceProxy.Report()}");
        _output.WriteLine($"destination side ({destinationProxy.Exchanges} exchanges):\n{destinationProxy.Report()}");
        _output.WriteLine($"token server ({tokenProxy.Exchanges} exchanges):\n{tokenProxy.Report()}");
        foreach (var failed in harness.Images.Where(m => m.Action == SyncAction.Failed))
            _output.WriteLine($"FAILED {failed.Destination}: [{failed.ErrorId}] {failed.Error}");
        foreach (var line in log.Lines) _output.WriteLine(line); // images survived only by another pass
        foreach (var layer in harness.Layers.Where(l => l.Action == SyncAction.Failed))
            _output.WriteLine($"failed blob attempt {layer.Destination}@{layer.Digest}: {layer.Error}");
        if (summary.Failed > 0 || Environment.GetEnvironmentVariable("OCISYNC_FAULT_LOG") == "1")
            foreach (var line in sourceProxy.FaultLog.Select(l => "source " + l).Concat(destinationProxy.FaultLog.Select(l => "destination " + l)).Concat(tokenProxy.FaultLog.Select(l => "token " + l)))
                _output.WriteLine(line);
        var total = sourceProxy.TotalInjected + destinationProxy.TotalInjected + tokenProxy.TotalInjected - tokenProxy.Injected.GetValueOrDefault(FaultKind.SlowResponse);
        _output.WriteLine($"faults injected: {total}, plus {tokenProxy.Injected.GetValueOrDefault(FaultKind.SlowResponse)} slow token answers");

        Assert.Equal(0, summary.Failed);
        Assert.Equal(copies.Length, summary.Synced);
        Assert.True(total >= 24, $"only {total} faults were injected");
        Assert.True(sourceProxy.TotalInjected > 0 && destinationProxy.TotalInjected > 0 && tokenProxy.Injected.GetValueOrDefault(FaultKind.SlowResponse) > 0,
            "faults hit the source, the destination and the token server");

        // Checked on the registries themselves, not through the proxies.
        var target = new RegistryHttp(destination);
        foreach (var (repository, tag, digest) in set.Tags.Append((FaultSet.SharedRepository, "a", set.Digest(FaultSet.SharedRepository, "a"))))
        {
            var dst = $"{prefix}/{repository}";
            Assert.Equal(digest, await target.GetManifestDigestAsync(dst, tag));
            await SyncHarness.AssertCompleteAsync(target, dst, tag);
            await ContentCheck.AssertVerifiedAsync(target, dst, tag, digest);
            await ContentCheck.AssertSkopeoSeesAsync(destination, dst, tag, digest);
        }
        await SyncHarness.AssertCompleteAsync(target, $"{prefix}/shared-copy", "a");
        await ContentCheck.AssertVerifiedAsync(target, $"{prefix}/shared-copy", "a", set.Digest(FaultSet.SharedRepository, "a"));
        _output.WriteLine($"survived: all {total} faults (every image present, complete and verified)");
    }

    /// <summary>The default fault table with short stalls well inside the client's timeouts and long ones well past them.</summary>
    private static FaultSchedule Faults(int seed, double rate) => new(seed, rate)
    {
        RetryAfter = TimeSpan.FromSeconds(1),
        ShortStall = TimeSpan.FromMilliseconds(300),
        LongStall = TimeSpan.FromSeconds(3),
        // Manifest flips are unrestricted: a flip that breaks the JSON is a DigestMismatch (the digest is
        // checked before the body is parsed), retried like any other damage.
    };
}

/// <summary>Keeps the engine's pass lines and the images it will retry in the next pass.</summary>
internal sealed class PassLog : OciSync.Core.Transport.IOciLog
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();
    public IEnumerable<string> Lines => _lines;
    public void Write(OciSync.Core.Transport.OciLogLevel level, string message)
    {
        if (message.StartsWith("Pass ", StringComparison.Ordinal) || message.Contains("(retrying in pass ", StringComparison.Ordinal)) _lines.Enqueue(message);
    }
}

/// <summary>The fault tests' images: the demo set plus bigger OCI and Docker images and two sharing a layer.</summary>
internal sealed class FaultSet
{
    public const string SharedRepository = "fault/shared";
    private static readonly Lazy<TestBlob> Shared = new(() => ImageFactory.CreateLayer(71_000, 1024 * 1024));
    private static readonly Lazy<(string Repository, string Tag, TestImage Image)[]> Extra = new(() => new[]
    {
        ("fault/base", "1.0", ImageFactory.CreateImage(71_001, layerCount: 3, layerSize: 600 * 1024)),
        ("fault/docker", "2.1", ImageFactory.CreateImage(71_002, layerCount: 2, layerSize: 900 * 1024, format: ImageFormat.Docker)),
        ("fault/big", "latest", ImageFactory.CreateImage(71_003, layerCount: 2, layerSize: 1536 * 1024)),
        (SharedRepository, "a", ImageFactory.CreateImage(71_004, layerCount: 1, layerSize: 200 * 1024, sharedLayers: new[] { Shared.Value })),
        (SharedRepository, "b", ImageFactory.CreateImage(71_005, layerCount: 1, layerSize: 200 * 1024, sharedLayers: new[] { Shared.Value })),
    });

    private readonly SeedReport _demo;
    private FaultSet(SeedReport demo, List<(string, string, string)> tags) { _demo = demo; Tags = tags; }

    public IReadOnlyList<(string Repository, string Tag, string Digest)> Tags { get; }
    public string Digest(string repository, string tag) => Tags.Single(t => t.Repository == repository && t.Tag == tag).Digest;

    public static async Task<FaultSet> SeedAsync(RegistryServer source)
    {
        var demo = await SeedSets.SeedDemoAsync(source);
        var http = new RegistryHttp(source);
        var tags = demo.Tags.Select(t => t.Split(':')).Select(p => (p[0], p[1], demo.Digests[$"{p[0]}:{p[1]}"])).ToList();
        foreach (var (repository, tag, image) in Extra.Value)
        {
            await http.PushImageAsync(repository, image, tag);
            tags.Add((repository, tag, image.Digest));
        }
        return new FaultSet(demo, tags);
    }

    public override string ToString()
    {
        long bytes = _demo.TotalBytes + Extra.Value.Sum(e => e.Image.Layers.Sum(l => l.Size) + e.Image.ConfigBytes.Length) - Shared.Value.Size;
        return $"{Tags.Count} tags, {bytes / (1024.0 * 1024):0.0} MiB";
    }
}

/// <summary>Independent checks of a destination image: every byte hashed, and skopeo's view of it.</summary>
internal static class ContentCheck
{
    /// <summary>Fetches the manifest, every child and every blob, and checks each against its digest.</summary>
    public static async Task AssertVerifiedAsync(RegistryHttp http, string repository, string reference, string digest)
    {
        var manifest = await http.GetManifestAsync(repository, reference);
        Assert.True(manifest != null, $"{repository}:{reference} is missing");
        Assert.Equal(digest, ImageFactory.Sha256Digest(manifest));
        using var doc = JsonDocument.Parse(manifest!);
        var root = doc.RootElement;
        if (root.TryGetProperty("manifests", out var children))
        {
            foreach (var child in children.EnumerateArray())
            {
                var d = child.GetProperty("digest").GetString()!;
                await AssertVerifiedAsync(http, repository, d, d);
            }
            return;
        }
        var blobs = new[] { root.GetProperty("config") }.Concat(root.GetProperty("layers").EnumerateArray());
        foreach (var blob in blobs)
        {
            var d = blob.GetProperty("digest").GetString()!;
            var bytes = await http.GetBlobAsync(repository, d);
            Assert.True(bytes != null, $"{repository}: blob {d} is missing");
            Assert.Equal(d, ImageFactory.Sha256Digest(bytes));
            Assert.Equal(blob.GetProperty("size").GetInt64(), bytes!.LongLength);
        }
    }

    /// <summary>skopeo fetches the manifest on its own; its raw bytes must hash to the expected digest.</summary>
    public static async Task AssertSkopeoSeesAsync(RegistryServer server, string repository, string tag, string digest)
    {
        const string skopeo = "/usr/bin/skopeo";
        if (!File.Exists(skopeo)) Assert.Fail("skopeo is not installed (apt-get install skopeo); it is the independent check here.");
        var psi = new ProcessStartInfo(skopeo) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "inspect", "--raw", "--tls-verify=false" }) psi.ArgumentList.Add(a);
        if (server.Username != null) psi.ArgumentList.Add($"--creds={server.Username}:{server.Password}");
        psi.ArgumentList.Add($"docker://{server.Host}/{repository}:{tag}");
        using var p = Process.Start(psi)!;
        var raw = new MemoryStream();
        var copy = p.StandardOutput.BaseStream.CopyToAsync(raw);
        var err = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        await copy;
        Assert.True(p.ExitCode == 0, $"skopeo inspect {repository}:{tag} failed: {await err}");
        Assert.Equal(digest, ImageFactory.Sha256Digest(raw.ToArray()));
    }
}
