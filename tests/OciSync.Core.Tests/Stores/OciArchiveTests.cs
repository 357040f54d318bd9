using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
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

/// <summary>OCI archives (oci-archive:FILE[:TAG]) as source and destination, against the real registries, with skopeo as the oracle.</summary>
[Collection("registries")]
public sealed class OciArchiveTests : IDisposable
{
    private readonly RegistryFixture _registries;
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("ocisync-archive-");

    public OciArchiveTests(RegistryFixture registries) => _registries = registries;

    public void Dispose() => _work.Delete(recursive: true);

    private string File(string name) => Path.Combine(_work.FullName, name);

    [Theory]
    [InlineData("oci-index")]
    [InlineData("docker-list")]
    [InlineData("oci-single")]
    public async Task Registry_to_archive_to_registry_keeps_every_digest(string image)
    {
        var source = _registries.Anonymous;
        var repo = $"archive/{image}";
        var digest = await EndToEndSyncTests.PushAsync(source, repo, image, 9600 + image.Length * 10);
        var tar = File($"{image}.tar");

        Assert.Equal(1, (await new SyncHarness(_registries).RunAsync(new SyncOptions(), ($"{source.Host}/{repo}:v1", $"oci-archive:{tar}:v1"))).Synced);
        Assert.True(System.IO.File.Exists(tar));
        Assert.False(Directory.Exists(tar + ".staging"), "the staging layout is removed once the archive is written");
        Assert.Empty(Directory.GetFiles(_work.FullName, "*.partial"));

        var destination = _registries.Basic;
        Assert.Equal(1, (await new SyncHarness(_registries).RunAsync(new SyncOptions(), ($"oci-archive:{tar}:v1", $"{destination.Host}/from-archive/{image}:v1"))).Synced);
        var target = new RegistryHttp(destination);
        Assert.Equal(digest, await target.GetManifestDigestAsync($"from-archive/{image}", "v1"));
        await SyncHarness.AssertCompleteAsync(target, $"from-archive/{image}", "v1");
    }

    [Fact]
    public async Task An_archive_skopeo_wrote_is_read_and_skopeo_reads_the_one_OciSync_wrote()
    {
        var source = _registries.Anonymous;
        var digest = await EndToEndSyncTests.PushAsync(source, "archive/skopeo", "oci-index", 9700);

        var theirs = File("skopeo.tar");
        var (code, _, err) = await Skopeo.RunAsync("copy", "--all", "--src-tls-verify=false", "--preserve-digests", $"docker://{source.Host}/archive/skopeo:v1", $"oci-archive:{theirs}:v1");
        Assert.True(code == 0, $"skopeo copy into an archive failed: {err}");
        var destination = _registries.Basic;
        Assert.Equal(1, (await new SyncHarness(_registries).RunAsync(new SyncOptions(), ($"oci-archive:{theirs}:v1", $"{destination.Host}/archive/from-skopeo:v1"))).Synced);
        Assert.Equal(digest, await new RegistryHttp(destination).GetManifestDigestAsync("archive/from-skopeo", "v1"));

        var ours = File("ours.tar");
        Assert.Equal(1, (await new SyncHarness(_registries).RunAsync(new SyncOptions(), ($"{source.Host}/archive/skopeo:v1", $"oci-archive:{ours}:v1"))).Synced);
        string raw;
        (code, raw, err) = await Skopeo.RunAsync("inspect", "--raw", $"oci-archive:{ours}:v1");
        Assert.True(code == 0, $"skopeo inspect of our archive failed: {err}");
        Assert.Equal(digest, "sha256:" + Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(raw))).ToLowerInvariant());
        (code, _, err) = await Skopeo.RunAsync("copy", "--all", "--dest-tls-verify=false", "--preserve-digests", $"--dest-creds={destination.Username}:{destination.Password}",
            $"oci-archive:{ours}:v1", $"docker://{destination.Host}/archive/by-skopeo:v1");
        Assert.True(code == 0, $"skopeo copy from our archive failed: {err}");
        Assert.Equal(digest, await new RegistryHttp(destination).GetManifestDigestAsync("archive/by-skopeo", "v1"));
    }

    [Fact]
    public async Task A_second_sync_into_the_archive_reads_no_blob_from_the_source_and_keeps_the_first_tag()
    {
        var source = _registries.Anonymous;
        var first = await EndToEndSyncTests.PushAsync(source, "archive/again", "oci-single", 9800);
        await new RegistryHttp(source).PushImageAsync("archive/again", ImageFactory.CreateImage(9810, layerCount: 2), "v2");
        var tar = File("again.tar");
        Assert.Equal(1, (await new SyncHarness(_registries).RunAsync(new SyncOptions(), ($"{source.Host}/archive/again:v1", $"oci-archive:{tar}:v1"))).Synced);

        var unchanged = new SyncHarness(_registries);
        Assert.Equal(1, (await unchanged.RunAsync(new SyncOptions(), ($"{source.Host}/archive/again:v1", $"oci-archive:{tar}:v1"))).Unchanged);
        Assert.Equal(0, unchanged.Count("GET", "/blobs/"));

        var retag = new SyncHarness(_registries);
        Assert.Equal(1, (await retag.RunAsync(new SyncOptions(), ($"{source.Host}/archive/again:v1", $"oci-archive:{tar}:stable"))).Synced);
        Assert.Equal(0, retag.Count("GET", "/blobs/"));
        Assert.Equal(1, (await new SyncHarness(_registries).RunAsync(new SyncOptions(), ($"{source.Host}/archive/again:v2", $"oci-archive:{tar}:v2"))).Synced);

        var store = new OciArchiveStore(tar, new RegistryClientOptions());
        var tags = new List<string>();
        await foreach (var tag in store.ListTagsAsync("", CancellationToken.None)) tags.Add(tag);
        Assert.Equal(new[] { "stable", "v1", "v2" }, tags.OrderBy(t => t, StringComparer.Ordinal));
        Assert.Equal(first, (await store.HeadManifestAsync("", "v1", CancellationToken.None))!.Digest!.ToString());
    }

    [Fact]
    public async Task A_run_stopped_before_the_archive_was_written_is_finished_by_the_next_run()
    {
        var source = _registries.Anonymous;
        var digest = await EndToEndSyncTests.PushAsync(source, "archive/stopped", "oci-single", 9900);
        var tar = File("stopped.tar");
        // What an interrupted run leaves: the staging layout, complete, and no archive.
        var staged = new SyncHarness(_registries);
        Assert.Equal(1, (await staged.RunAsync(new SyncOptions(), ($"{source.Host}/archive/stopped:v1", $"oci:{tar}.staging:v1"))).Synced);
        Assert.False(System.IO.File.Exists(tar));

        var harness = new SyncHarness(_registries);
        Assert.Equal(1, (await harness.RunAsync(new SyncOptions(), ($"{source.Host}/archive/stopped:v1", $"oci-archive:{tar}:v1"))).Unchanged);
        Assert.Equal(0, harness.Count("GET", "/blobs/"));
        Assert.True(System.IO.File.Exists(tar));
        Assert.Equal(digest, (await new OciArchiveStore(tar, new RegistryClientOptions()).HeadManifestAsync("", "v1", CancellationToken.None))!.Digest!.ToString());
    }

    [Fact]
    public async Task A_damaged_or_hostile_archive_is_LayoutInvalid_and_stray_member_names_are_never_paths()
    {
        var source = _registries.Anonymous;
        await EndToEndSyncTests.PushAsync(source, "archive/hostile", "oci-single", 9950);
        var tar = File("good.tar");
        Assert.Equal(1, (await new SyncHarness(_registries).RunAsync(new SyncOptions(), ($"{source.Host}/archive/hostile:v1", $"oci-archive:{tar}:v1"))).Synced);
        var bytes = await System.IO.File.ReadAllBytesAsync(tar);

        var cut = File("cut.tar");
        await System.IO.File.WriteAllBytesAsync(cut, bytes[..(bytes.Length / 2)]);
        var e = await Assert.ThrowsAsync<RegistryException>(() => new OciArchiveStore(cut, new RegistryClientOptions()).HeadManifestAsync("", "v1", CancellationToken.None));
        Assert.Equal(ErrorIds.LayoutInvalid, e.ErrorId);

        var damaged = (byte[])bytes.Clone();
        damaged[100] ^= 0x55; // the first header's mode field: its checksum no longer matches
        var bad = File("bad.tar");
        await System.IO.File.WriteAllBytesAsync(bad, damaged);
        e = await Assert.ThrowsAsync<RegistryException>(() => new OciArchiveStore(bad, new RegistryClientOptions()).HeadManifestAsync("", "v1", CancellationToken.None));
        Assert.Equal(ErrorIds.LayoutInvalid, e.ErrorId);

        // A member named ../escaped before the real ones: read past, never written anywhere.
        var stray = File("stray.tar");
        using (var file = System.IO.File.Create(stray))
        {
            var writer = new TarWriter(file);
            await writer.AddAsync("../escaped", Encoding.UTF8.GetBytes("x"), CancellationToken.None);
            await file.WriteAsync(bytes);
        }
        var store = new OciArchiveStore(stray, new RegistryClientOptions());
        Assert.NotNull(await store.HeadManifestAsync("", "v1", CancellationToken.None));
        Assert.False(System.IO.File.Exists(Path.Combine(_work.Parent!.FullName, "escaped")));
    }
}
