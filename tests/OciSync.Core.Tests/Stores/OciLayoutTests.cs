using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Content;
using OciSync.Core.References;
using OciSync.Core.Registry;
using OciSync.Core.Stores;
using OciSync.Core.Sync;
using OciSync.Core.Tests.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Stores;

/// <summary>OCI image layout directories as source and destination, against the real registries, with skopeo as the oracle.</summary>
[Collection("registries")]
public sealed class OciLayoutTests : IDisposable
{
    private readonly RegistryFixture _registries;
    private readonly List<string> _dirs = new();

    public OciLayoutTests(RegistryFixture registries) => _registries = registries;

    public void Dispose()
    {
        foreach (var dir in _dirs) try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
    }

    private string NewDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "ocisync-layout-" + Guid.NewGuid().ToString("N"));
        _dirs.Add(dir);
        return dir;
    }

    [Theory]
    [InlineData("oci-single")]
    [InlineData("docker-single")]
    [InlineData("oci-index")]
    [InlineData("docker-list")]
    public async Task Registry_to_layout_to_registry_keeps_every_digest_and_skopeo_reads_the_layout(string image)
    {
        var source = _registries.Anonymous;
        var repo = $"layout/{image}";
        var digest = await EndToEndSyncTests.PushAsync(source, repo, image, 9100 + image.Length * 10);
        var dir = NewDirectory();

        var toLayout = await new SyncHarness(_registries).RunAsync(new SyncOptions(), ($"{source.Host}/{repo}:v1", $"oci:{dir}:v1"));
        Assert.Equal(1, toLayout.Synced);
        AssertLayoutComplete(dir, "v1", digest);
        if (image.StartsWith("oci", StringComparison.Ordinal))
        {
            // skopeo finds only OCI media types in a layout's index.json (it would convert a Docker image, changing
            // its digest); OciSync keeps Docker manifests byte for byte there, so the round trip below keeps them too.
            var (code, raw, err) = await Skopeo.RunAsync("inspect", "--raw", $"oci:{dir}:v1");
            Assert.True(code == 0, $"skopeo inspect failed: {err}");
            Assert.Equal(digest, "sha256:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(raw))).ToLowerInvariant());
        }

        var destination = _registries.Basic;
        var back = await new SyncHarness(_registries).RunAsync(new SyncOptions(), ($"oci:{dir}:v1", $"{destination.Host}/from-layout/{image}:v1"));
        Assert.Equal(1, back.Synced);
        var target = new RegistryHttp(destination);
        Assert.Equal(digest, await target.GetManifestDigestAsync($"from-layout/{image}", "v1"));
        await SyncHarness.AssertCompleteAsync(target, $"from-layout/{image}", "v1");
    }

    [Fact]
    public async Task A_second_sync_into_the_layout_reads_no_blob_and_no_manifest_from_the_source()
    {
        var source = _registries.Anonymous;
        await EndToEndSyncTests.PushAsync(source, "layout/again", "oci-index", 9300);
        var dir = NewDirectory();
        var copy = ($"{source.Host}/layout/again:v1", $"oci:{dir}:v1");
        Assert.Equal(1, (await new SyncHarness(_registries).RunAsync(new SyncOptions(), copy)).Synced);

        var harness = new SyncHarness(_registries);
        var second = await harness.RunAsync(new SyncOptions(), copy);
        Assert.Equal(1, second.Unchanged);
        Assert.Equal(0, harness.Count("GET", "/blobs/"));
        Assert.Equal(0, harness.Count("GET", "/manifests/"));

        // A new tag of the same image into the same layout: every blob is already there, none is read.
        var third = new SyncHarness(_registries);
        Assert.Equal(1, (await third.RunAsync(new SyncOptions(), ($"{source.Host}/layout/again:v1", $"oci:{dir}:v2"))).Synced);
        Assert.Equal(0, third.Count("GET", "/blobs/"));
        Assert.Equal(new[] { "v1", "v2" }, await ListAsync(dir));
    }

    [Fact]
    public async Task A_layout_skopeo_wrote_is_read_and_one_OciSync_wrote_is_copied_by_skopeo()
    {
        var source = _registries.Anonymous;
        var digest = await EndToEndSyncTests.PushAsync(source, "layout/skopeo", "oci-single", 9400);

        // skopeo writes, OciSync reads.
        var written = NewDirectory();
        var (code, _, err) = await Skopeo.RunAsync("copy", "--src-tls-verify=false", "--preserve-digests", $"docker://{source.Host}/layout/skopeo:v1", $"oci:{written}:v1");
        Assert.True(code == 0, $"skopeo copy into a layout failed: {err}");
        var destination = _registries.Basic;
        var read = await new SyncHarness(_registries).RunAsync(new SyncOptions(), ($"oci:{written}:v1", $"{destination.Host}/layout/from-skopeo:v1"));
        Assert.Equal(1, read.Synced);
        Assert.Equal(digest, await new RegistryHttp(destination).GetManifestDigestAsync("layout/from-skopeo", "v1"));

        // OciSync writes, skopeo copies it on to a registry.
        var ours = NewDirectory();
        Assert.Equal(1, (await new SyncHarness(_registries).RunAsync(new SyncOptions(), ($"{source.Host}/layout/skopeo:v1", $"oci:{ours}:v1"))).Synced);
        (code, _, err) = await Skopeo.RunAsync("copy", "--dest-tls-verify=false", "--preserve-digests", $"--dest-creds={destination.Username}:{destination.Password}",
            $"oci:{ours}:v1", $"docker://{destination.Host}/layout/by-skopeo:v1");
        Assert.True(code == 0, $"skopeo copy from our layout failed: {err}");
        Assert.Equal(digest, await new RegistryHttp(destination).GetManifestDigestAsync("layout/by-skopeo", "v1"));
    }

    [Fact]
    public async Task A_blob_that_fails_verification_or_breaks_off_never_appears_in_the_layout()
    {
        var dir = NewDirectory();
        var store = new OciLayoutStore(dir, new RegistryClientOptions());
        var data = Encoding.UTF8.GetBytes(new string('x', 100_000));
        var blob = new Descriptor("application/octet-stream", Digest.FromSha256(SHA256.HashData(data)), data.Length);

        var wrong = (byte[])data.Clone();
        wrong[500] = (byte)'y';
        await Assert.ThrowsAsync<DigestMismatchException>(() => store.PutBlobAsync("", blob, new VerifyingStream(new MemoryStream(wrong), blob.Digest, blob.Size), CancellationToken.None));
        await Assert.ThrowsAnyAsync<IOException>(() => store.PutBlobAsync("", blob, new VerifyingStream(new BreaksOff(data, 40_000), blob.Digest, blob.Size), CancellationToken.None));
        Assert.False(await store.BlobExistsAsync("", blob.Digest, CancellationToken.None));
        Assert.Empty(Directory.GetFiles(Path.Combine(dir, "blobs", "sha256"))); // no partial file left behind either

        await store.PutBlobAsync("", blob, new MemoryStream(data), CancellationToken.None); // a plain stream is verified too
        Assert.True(await store.BlobExistsAsync("", blob.Digest, CancellationToken.None));
        Assert.Empty(Directory.GetFiles(Path.Combine(dir, "blobs", "sha256"), "*.partial"));
    }

    [Fact]
    public async Task A_hostile_layout_is_LayoutInvalid_and_its_bad_entries_are_skipped()
    {
        var dir = NewDirectory();
        Directory.CreateDirectory(dir);
        var store = new OciLayoutStore(dir, new RegistryClientOptions());
        File.WriteAllText(Path.Combine(dir, "index.json"), "{\"schemaVersion\":2,\"manifests\":[]}");
        var e = await Assert.ThrowsAsync<RegistryException>(() => ListAsync(store));
        Assert.Equal(ErrorIds.LayoutInvalid, e.ErrorId); // no oci-layout file: not a layout

        File.WriteAllText(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        File.WriteAllText(Path.Combine(dir, "index.json"), "{\"schemaVersion\":2,\"manifests\":[");
        e = await Assert.ThrowsAsync<RegistryException>(() => ListAsync(store));
        Assert.Equal(ErrorIds.LayoutInvalid, e.ErrorId);

        var annotation = OciLayoutStore.RefNameAnnotation;
        File.WriteAllText(Path.Combine(dir, "index.json"), "{\"schemaVersion\":2,\"manifests\":[" +
            $"{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:../../etc\",\"size\":1,\"annotations\":{{\"{annotation}\":\"bad\"}}}}," +
            $"{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:{new string('a', 64)}\",\"size\":-5,\"annotations\":{{\"{annotation}\":\"neg\"}}}}," +
            $"{{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:{new string('b', 64)}\",\"size\":10,\"annotations\":{{\"{annotation}\":\"ok\"}}}}]}}");
        Assert.Equal(new[] { "ok" }, await ListAsync(store));
        var missing = await Assert.ThrowsAsync<RegistryException>(() => store.GetManifestAsync("", "ok", CancellationToken.None));
        Assert.Equal(ErrorIds.ManifestNotFound, missing.ErrorId); // a tag on missing content is no image
    }

    [Fact]
    public async Task Links_in_a_hostile_layout_lead_no_write_or_read_outside_it()
    {
        var dir = NewDirectory();
        var outside = NewDirectory();
        Directory.CreateDirectory(Path.Combine(dir, "blobs"));
        Directory.CreateDirectory(outside);
        Directory.CreateSymbolicLink(Path.Combine(dir, "blobs", "sha256"), outside);
        var store = new OciLayoutStore(dir, new RegistryClientOptions());
        var data = Encoding.UTF8.GetBytes("payload");
        var blob = new Descriptor("application/octet-stream", Digest.FromSha256(SHA256.HashData(data)), data.Length);
        var e = await Assert.ThrowsAsync<RegistryException>(() => store.PutBlobAsync("", blob, new MemoryStream(data), CancellationToken.None));
        Assert.Equal(ErrorIds.LayoutInvalid, e.ErrorId);
        Assert.Empty(Directory.GetFileSystemEntries(outside));

        // A blob that is a link to a file elsewhere is not "present", and is not read.
        var other = NewDirectory();
        Directory.CreateDirectory(Path.Combine(other, "blobs", "sha256"));
        File.WriteAllBytes(Path.Combine(outside, "secret"), data);
        File.CreateSymbolicLink(Path.Combine(other, "blobs", "sha256", blob.Digest.Hex), Path.Combine(outside, "secret"));
        var linked = new OciLayoutStore(other, new RegistryClientOptions());
        e = await Assert.ThrowsAsync<RegistryException>(() => linked.BlobExistsAsync("", blob.Digest, CancellationToken.None));
        Assert.Equal(ErrorIds.LayoutInvalid, e.ErrorId);
    }

    [Fact]
    public async Task A_FIFO_for_index_json_is_given_up_on_not_waited_for()
    {
        var dir = NewDirectory();
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
        using (var mkfifo = Process.Start("mkfifo", Path.Combine(dir, "index.json"))) mkfifo.WaitForExit();
        var watch = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<RegistryException>(() => ListAsync(dir));
        Assert.Equal(ErrorIds.LayoutInvalid, e.ErrorId);
        Assert.InRange(watch.Elapsed.TotalSeconds, 0, 30);
    }

    [Fact]
    public async Task An_image_copied_by_digest_gets_an_untagged_entry_and_can_be_copied_out_by_digest()
    {
        var source = _registries.Anonymous;
        var digest = await EndToEndSyncTests.PushAsync(source, "layout/pinned", "oci-index", 9500);
        var dir = NewDirectory();
        Assert.Equal(1, (await new SyncHarness(_registries).RunAsync(new SyncOptions(), ($"{source.Host}/layout/pinned@{digest}", $"oci:{dir}"))).Synced);
        using (var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "index.json"))))
        {
            var entry = Assert.Single(index.RootElement.GetProperty("manifests").EnumerateArray()); // the index only, not its children
            Assert.Equal(digest, entry.GetProperty("digest").GetString());
            Assert.False(entry.TryGetProperty("annotations", out _));
        }
        Assert.Empty(await ListAsync(dir));
        var destination = _registries.Basic;
        Assert.Equal(1, (await new SyncHarness(_registries).RunAsync(new SyncOptions(), ($"oci:{dir}@{digest}", $"{destination.Host}/layout/pinned:v1"))).Synced);
        Assert.Equal(digest, await new RegistryHttp(destination).GetManifestDigestAsync("layout/pinned", "v1"));
    }

    [Fact]
    public async Task Two_spellings_of_one_directory_share_its_index_and_killed_runs_partial_files_are_swept()
    {
        var dir = NewDirectory();
        var plain = new OciLayoutStore(dir, new RegistryClientOptions());
        var slashed = new OciLayoutStore(dir + "/", new RegistryClientOptions());
        Assert.Equal(plain.Name, slashed.Name);
        var manifest = Manifest.Parse(Encoding.UTF8.GetBytes("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"sha256:" + new string('c', 64) + "\",\"size\":2},\"layers\":[]}"), null);
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => (i % 2 == 0 ? plain : slashed).PutManifestAsync("", $"t{i}", manifest, CancellationToken.None)));
        Assert.Equal(40, (await ListAsync(dir)).Count); // before: two locks, and a quarter of the tags lost

        var stale = Path.Combine(dir, "blobs", "sha256", ".dead.partial");
        var fresh = Path.Combine(dir, "blobs", "sha256", ".growing.partial");
        File.WriteAllText(stale, "x");
        File.WriteAllText(fresh, "x");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-2));
        var data = Encoding.UTF8.GetBytes("another blob");
        var next = new OciLayoutStore(dir, new RegistryClientOptions());
        await next.PutBlobAsync("", new Descriptor("application/octet-stream", Digest.FromSha256(SHA256.HashData(data)), data.Length), new MemoryStream(data), CancellationToken.None);
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(fresh));
    }

    private static void AssertLayoutComplete(string dir, string tag, string digest)
    {
        using var layout = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "oci-layout")));
        Assert.Equal("1.0.0", layout.RootElement.GetProperty("imageLayoutVersion").GetString());
        using var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "index.json")));
        var entry = Assert.Single(index.RootElement.GetProperty("manifests").EnumerateArray(),
            m => m.GetProperty("annotations").GetProperty(OciLayoutStore.RefNameAnnotation).GetString() == tag);
        Assert.Equal(digest, entry.GetProperty("digest").GetString());
        AssertBlobsPresent(dir, digest);
    }

    /// <summary>Every manifest, config and layer the tag reaches is a verified file under blobs/.</summary>
    internal static void AssertBlobsPresent(string dir, string digest)
    {
        var path = Path.Combine(dir, "blobs", "sha256", digest.Substring("sha256:".Length));
        Assert.True(File.Exists(path), $"{digest} is missing from the layout");
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(digest, "sha256:" + Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant());
        using var doc = JsonDocument.Parse(bytes);
        var root = doc.RootElement;
        if (root.TryGetProperty("manifests", out var children))
            foreach (var child in children.EnumerateArray()) AssertBlobsPresent(dir, child.GetProperty("digest").GetString()!);
        if (root.TryGetProperty("config", out var config)) AssertBlobsPresent(dir, config.GetProperty("digest").GetString()!, raw: true);
        if (root.TryGetProperty("layers", out var layers))
            foreach (var layer in layers.EnumerateArray()) AssertBlobsPresent(dir, layer.GetProperty("digest").GetString()!, raw: true);
    }

    private static void AssertBlobsPresent(string dir, string digest, bool raw)
    {
        var path = Path.Combine(dir, "blobs", "sha256", digest.Substring("sha256:".Length));
        Assert.True(File.Exists(path), $"{digest} is missing from the layout");
        Assert.Equal(digest, "sha256:" + Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant());
    }

    private Task<List<string>> ListAsync(string dir) => ListAsync(new OciLayoutStore(dir, new RegistryClientOptions()));

    private static async Task<List<string>> ListAsync(IImageStore store)
    {
        var tags = new List<string>();
        await foreach (var tag in store.ListTagsAsync("", CancellationToken.None)) tags.Add(tag);
        tags.Sort(StringComparer.Ordinal);
        return tags;
    }

    /// <summary>Gives <c>limit</c> bytes, then fails as a dropped connection would.</summary>
    private sealed class BreaksOff : MemoryStream
    {
        private readonly int _limit;
        public BreaksOff(byte[] data, int limit) : base(data) => _limit = limit;
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (Position >= _limit) throw new IOException("connection reset");
            return base.Read(buffer, offset, (int)Math.Min(count, _limit - Position));
        }
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => Task.FromResult(Read(buffer, offset, count));
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            var tmp = new byte[buffer.Length];
            var n = Read(tmp, 0, tmp.Length);
            tmp.AsSpan(0, n).CopyTo(buffer.Span);
            return new ValueTask<int>(n);
        }
    }
}

/// <summary>skopeo from Debian, the independent reader and writer of what OciSync writes and reads.</summary>
internal static class Skopeo
{
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        const string skopeo = "/usr/bin/skopeo";
        if (!File.Exists(skopeo))
            Assert.Fail("skopeo is not installed (apt-get install skopeo); it is the independent check of the layouts OciSync writes.");
        var psi = new ProcessStartInfo(skopeo) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        return (p.ExitCode, await o, await e);
    }
}
