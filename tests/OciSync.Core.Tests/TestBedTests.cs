using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Tasks;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests;

/// <summary>
/// One anonymous, one Basic and one token registry, shared by every class in the
/// "registries" collection (starting them costs about a second).
/// </summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    private RegistryServer? _anonymous, _basic, _token;

    public RegistryServer Anonymous => _anonymous ?? throw new InvalidOperationException("fixture not started");
    public RegistryServer Basic => _basic ?? throw new InvalidOperationException("fixture not started");
    public RegistryServer Token => _token ?? throw new InvalidOperationException("fixture not started");

    public IEnumerable<RegistryServer> All => new[] { Anonymous, Basic, Token };

    public RegistryServer Get(RegistryAuthKind kind) => kind switch
    {
        RegistryAuthKind.Anonymous => Anonymous,
        RegistryAuthKind.Basic => Basic,
        _ => Token,
    };

    public async Task InitializeAsync()
    {
        var a = RegistryServer.StartAsync(RegistryAuthKind.Anonymous);
        var b = RegistryServer.StartAsync(RegistryAuthKind.Basic);
        var t = RegistryServer.StartAsync(RegistryAuthKind.Token);
        try { await Task.WhenAll(a, b, t); }
        catch
        {
            foreach (var s in new[] { a, b, t }.Where(x => x.IsCompletedSuccessfully)) await s.Result.DisposeAsync();
            throw;
        }
        (_anonymous, _basic, _token) = (a.Result, b.Result, t.Result);
    }

    public async Task DisposeAsync()
    {
        foreach (var s in new[] { _anonymous, _basic, _token })
            if (s != null) await s.DisposeAsync();
    }
}

[CollectionDefinition("registries")]
public sealed class RegistryCollection : ICollectionFixture<RegistryFixture> { }

[Collection("registries")]
public sealed class TestBedTests
{
    private readonly RegistryFixture _f;

    public TestBedTests(RegistryFixture fixture) => _f = fixture;

    [Theory]
    [InlineData(RegistryAuthKind.Anonymous, HttpStatusCode.OK)]
    [InlineData(RegistryAuthKind.Basic, HttpStatusCode.Unauthorized)]
    [InlineData(RegistryAuthKind.Token, HttpStatusCode.Unauthorized)]
    public async Task Each_flavour_answers_v2(RegistryAuthKind kind, HttpStatusCode expected)
    {
        var server = _f.Get(kind);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        using var resp = await http.GetAsync(new Uri(server.BaseUri, "/v2/"));
        Assert.Equal(expected, resp.StatusCode);
        Assert.Equal(kind == RegistryAuthKind.Anonymous, server.Username == null);
        Assert.Equal(kind == RegistryAuthKind.Token, server.Tokens != null);
        if (kind == RegistryAuthKind.Token)
            Assert.Contains($"realm=\"{server.Tokens!.Realm}\"", resp.Headers.WwwAuthenticate.ToString());
    }

    [Theory]
    [InlineData(RegistryAuthKind.Anonymous, ImageFormat.Oci)]
    [InlineData(RegistryAuthKind.Basic, ImageFormat.Docker)]
    [InlineData(RegistryAuthKind.Token, ImageFormat.Oci)]
    public async Task Push_then_head_round_trips_the_digest(RegistryAuthKind kind, ImageFormat format)
    {
        var server = _f.Get(kind);
        var http = new RegistryHttp(server);
        var image = ImageFactory.CreateImage(seed: 500 + (int)kind, format: format);
        await http.PushImageAsync("testbed/roundtrip", image, "v1");

        Assert.Equal(image.Digest, await http.GetManifestDigestAsync("testbed/roundtrip", "v1"));
        Assert.Equal(image.ManifestBytes, await http.GetManifestAsync("testbed/roundtrip", image.Digest));
        foreach (var l in image.Layers) Assert.True(await http.BlobExistsAsync("testbed/roundtrip", l.Digest));
        Assert.Contains("v1", await http.ListTagsAsync("testbed/roundtrip"));
        Assert.Contains("testbed/roundtrip", await http.CatalogAsync());
        Assert.Null(await http.GetManifestDigestAsync("testbed/roundtrip", "no-such-tag"));

        // Access-log lines arrive asynchronously; they are what request-counting tests use.
        for (int i = 0; i < 40 && !server.AccessLogLines.Any(l => l.Contains("PUT /v2/testbed/roundtrip/manifests/v1 ")); i++)
            await Task.Delay(50);
        Assert.Contains(server.AccessLogLines, l => l.Contains("PUT /v2/testbed/roundtrip/manifests/v1 "));
    }

    [Fact]
    public async Task Index_push_keeps_children_and_platformless_entry()
    {
        var http = new RegistryHttp(_f.Token);
        var index = ImageFactory.CreateIndex(600, ImageFormat.Oci, includePlatformlessEntry: true,
            ("linux", "amd64", null), ("linux", "arm64", "v8"));
        await http.PushIndexAsync("testbed/index", index, "multi");

        var got = await http.GetManifestWithMediaTypeAsync("testbed/index", "multi");
        Assert.NotNull(got);
        Assert.Equal(MediaTypes.OciIndex, got!.Value.MediaType);
        Assert.Equal(index.Digest, ImageFactory.Sha256Digest(got.Value.Bytes));
        using var doc = JsonDocument.Parse(got.Value.Bytes);
        var entries = doc.RootElement.GetProperty("manifests").EnumerateArray().ToArray();
        Assert.Equal(3, entries.Length);
        Assert.False(entries[2].TryGetProperty("platform", out _));
        foreach (var c in index.Children) Assert.Equal(c.Digest, await http.GetManifestDigestAsync("testbed/index", c.Digest));
    }

    [Fact]
    public async Task Anonymous_push_to_token_registry_is_refused_but_pull_works()
    {
        var image = ImageFactory.CreateImage(seed: 700);
        await new RegistryHttp(_f.Token).PushImageAsync("testbed/anon", image, "v1");

        var anon = RegistryHttp.Anonymous(_f.Token);
        Assert.Equal(image.Digest, await anon.GetManifestDigestAsync("testbed/anon", "v1"));
        var other = ImageFactory.CreateImage(seed: 701);
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => anon.PushImageAsync("testbed/anon", other, "v2"));
        Assert.Equal(HttpStatusCode.Unauthorized, ex.StatusCode);
    }

    [Fact]
    public async Task Token_server_refuses_wrong_credentials()
    {
        var tokens = _f.Token.Tokens!;
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false });
        var req = new HttpRequestMessage(HttpMethod.Get, tokens.Realm + "?service=" + tokens.Service + "&scope=repository:x:pull,push");
        req.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String("ocisync:wrong"u8.ToArray()));
        using var resp = await http.SendAsync(req);
        Assert.Equal(HttpStatusCode.Unauthorized, resp.StatusCode);
    }

    [Fact]
    public async Task Basic_registry_refuses_anonymous_reads()
    {
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => RegistryHttp.Anonymous(_f.Basic).GetManifestDigestAsync("demo/alpine", "3.19"));
        Assert.Equal(HttpStatusCode.Unauthorized, ex.StatusCode);
    }

    [Fact]
    public void Config_diff_ids_match_the_uncompressed_layers_and_layers_are_tars()
    {
        var image = ImageFactory.CreateImage(seed: 800, layerCount: 3, layerSize: 10_000);
        using var config = JsonDocument.Parse(image.ConfigBytes);
        var diffIds = config.RootElement.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray().Select(e => e.GetString()).ToArray();
        Assert.Equal(3, diffIds.Length);
        for (int i = 0; i < 3; i++)
        {
            var layer = image.Layers[i];
            Assert.Equal(layer.Digest, ImageFactory.Sha256Digest(layer.Data));
            Assert.Equal(layer.Size, layer.Data.Length);
            var tar = new MemoryStream();
            using (var gz = new GZipStream(new MemoryStream(layer.Data), CompressionMode.Decompress)) gz.CopyTo(tar);
            Assert.Equal(diffIds[i], ImageFactory.Sha256Digest(tar.ToArray()));
            tar.Position = 0;
            var entry = new TarReader(tar).GetNextEntry();
            Assert.NotNull(entry);
            Assert.Equal(10_000, entry!.Length);
        }
        // Same seed, same bytes: tests and benchmarks can rely on it.
        Assert.Equal(image.Digest, ImageFactory.CreateImage(seed: 800, layerCount: 3, layerSize: 10_000).Digest);
        Assert.NotEqual(image.Digest, ImageFactory.CreateImage(seed: 801, layerCount: 3, layerSize: 10_000).Digest);
    }

    [Fact]
    public void Libtrust_key_id_has_twelve_groups_of_four()
    {
        using var rsa = RSA.Create(2048);
        var id = TokenServer.LibtrustKeyId(rsa.ExportSubjectPublicKeyInfo());
        Assert.Matches("^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$", id);
    }

    [Theory]
    [InlineData(RegistryAuthKind.Anonymous)]
    [InlineData(RegistryAuthKind.Basic)]
    [InlineData(RegistryAuthKind.Token)]
    public async Task Skopeo_can_inspect_a_seeded_image(RegistryAuthKind kind)
    {
        var server = _f.Get(kind);
        await SeedSets.SeedDemoAsync(server);
        var args = new List<string> { "inspect", "--tls-verify=false" };
        if (server.Username != null) args.Add($"--creds={server.Username}:{server.Password}");
        args.Add($"docker://{server.Host}/demo/alpine:3.19");
        var (code, stdout, stderr) = await OciSync.Core.Tests.Stores.Skopeo.RunAsync(args.ToArray());
        Assert.True(code == 0, $"skopeo failed ({code}): {stderr}");
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(SeedSets.DemoAlpine.Digest, doc.RootElement.GetProperty("Digest").GetString());
        Assert.Equal(SeedSets.DemoAlpine.Layers.Select(l => l.Digest), doc.RootElement.GetProperty("Layers").EnumerateArray().Select(e => e.GetString()));
    }
}
