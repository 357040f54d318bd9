using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Content;
using OciSync.Core.Registry;
using OciSync.Core.Stores;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Stores;

/// <summary>
/// Two OciSync processes writing one layout or archive: the lock files keep one from dropping the other's
/// tags or deleting its staging. The other process is played by a file handle held here (an exclusive
/// open conflicts with another open of the same file, in any process).
/// </summary>
public sealed class LayoutLockTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "ocisync-lock-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static Manifest AManifest(int seed)
    {
        var image = ImageFactory.CreateImage(seed, layerCount: 1, layerSize: 1024);
        return Manifest.Parse(image.ManifestBytes, image.ManifestMediaType);
    }

    private static FileStream HoldLock(string path) => new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);

    [Fact]
    public async Task A_tag_written_while_another_process_rewrites_the_index_waits_for_it_and_keeps_both_tags()
    {
        var store = new OciLayoutStore(_dir, new RegistryClientOptions());
        await store.PutManifestAsync("", "first", AManifest(1), child: false, CancellationToken.None);

        Task write;
        using (var other = HoldLock(Path.Combine(_dir, LayoutLock.FileName)))
        {
            write = store.PutManifestAsync("", "second", AManifest(2), child: false, CancellationToken.None);
            await Task.Delay(400);
            Assert.False(write.IsCompleted); // before: it rewrote index.json while the other process did
            // What the other process wrote while it held the lock survives this one's rewrite.
            var index = JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "index.json"))).RootElement.Clone();
            var withThird = index.GetProperty("manifests").EnumerateArray().Select(e => e.GetRawText())
                .Append(JsonSerializer.Serialize(new { mediaType = "application/vnd.oci.image.manifest.v1+json", digest = AManifest(3).Digest.ToString(), size = AManifest(3).Bytes.Length, annotations = new System.Collections.Generic.Dictionary<string, string> { [OciLayoutStore.RefNameAnnotation] = "third" } }));
            File.WriteAllText(Path.Combine(_dir, "index.json"), "{\"schemaVersion\":2,\"manifests\":[" + string.Join(",", withThird) + "]}");
        }
        await write.WaitAsync(TimeSpan.FromSeconds(10));
        var tags = await Tags(store);
        Assert.Equal(new[] { "first", "second", "third" }, tags);
    }

    [Fact]
    public async Task An_archive_whose_staging_another_live_run_holds_is_left_to_it()
    {
        var path = _dir + ".tar";
        try
        {
            var store = new OciArchiveStore(path, new RegistryClientOptions());
            var staging = path + ".staging";
            Directory.CreateDirectory(staging);
            Task put;
            using (HoldLock(path + ".lock")) // the run lock beside the archive
            {
                // Another run is writing this archive: this run's flush neither writes it nor deletes the staging.
                await store.FlushAsync(CancellationToken.None);
                Assert.False(File.Exists(path));
                Assert.True(Directory.Exists(staging));
                put = store.PutManifestAsync("", "v1", AManifest(4), child: false, CancellationToken.None);
                await Task.Delay(400);
                Assert.False(put.IsCompleted); // this run's writes wait for the staging to be free
            }
            // Once the other run is gone (its staging left behind), this run writes and finishes it.
            await put.WaitAsync(TimeSpan.FromSeconds(10));
            await store.FlushAsync(CancellationToken.None);
            Assert.True(File.Exists(path));
            Assert.False(Directory.Exists(staging));
        }
        finally
        {
            File.Delete(path);
            File.Delete(path + ".lock");
            if (Directory.Exists(path + ".staging")) Directory.Delete(path + ".staging", recursive: true);
        }
    }

    /// <summary>Before: the second run wrote the archive from the copy it read first, dropping the other run's tag and copying members from the old offsets of the new file.</summary>
    [Fact]
    public async Task A_run_that_read_an_archive_before_another_run_rewrote_it_keeps_both_runs_tags_and_whole_content()
    {
        var path = _dir + ".tar";
        try
        {
            var options = new RegistryClientOptions();
            var a = new OciArchiveStore(path, options);
            var b = new OciArchiveStore(path, options);
            await PutImageAsync(a, "zero", 21);
            await a.FlushAsync(CancellationToken.None);
            a.ReleaseRun();
            Assert.NotNull(await b.HeadManifestAsync("", "zero", CancellationToken.None)); // b has read (and indexed) the archive
            await PutImageAsync(a, "one", 22);
            await a.FlushAsync(CancellationToken.None); // the archive is replaced under b
            a.ReleaseRun();
            await PutImageAsync(b, "two", 23);
            await b.FlushAsync(CancellationToken.None);
            b.ReleaseRun();

            var reader = new OciArchiveStore(path, options);
            Assert.Equal(new[] { "one", "two", "zero" }, await Tags(reader));
            foreach (var (tag, seed) in new[] { ("zero", 21), ("one", 22), ("two", 23) })
            {
                var image = ImageFactory.CreateImage(seed, layerCount: 1, layerSize: 4096);
                var manifest = await reader.GetManifestAsync("", tag, CancellationToken.None);
                Assert.Equal(image.Digest, manifest.Digest.ToString());
                foreach (var blob in manifest.Blobs)
                {
                    using var stream = await reader.OpenBlobAsync("", blob, null, CancellationToken.None);
                    await stream.CopyToAsync(Stream.Null); // verifies size and digest at its end
                }
            }
        }
        finally
        {
            File.Delete(path);
            File.Delete(path + ".lock");
        }
    }

    private static async Task PutImageAsync(IImageStore store, string tag, int seed)
    {
        var image = ImageFactory.CreateImage(seed, layerCount: 1, layerSize: 4096);
        var manifest = Manifest.Parse(image.ManifestBytes, image.ManifestMediaType);
        await store.PutBlobAsync("", new Descriptor(image.ConfigMediaType, OciSync.Core.References.Digest.Parse(image.ConfigDigest), image.ConfigBytes.Length),
            new MemoryStream(image.ConfigBytes), CancellationToken.None);
        foreach (var layer in image.Layers)
            await store.PutBlobAsync("", new Descriptor(layer.MediaType, OciSync.Core.References.Digest.Parse(layer.Digest), layer.Size), new MemoryStream(layer.Data), CancellationToken.None);
        await store.PutManifestAsync("", tag, manifest, child: false, CancellationToken.None);
    }

    private static async Task<string[]> Tags(IImageStore store)
    {
        var tags = new System.Collections.Generic.List<string>();
        await foreach (var t in store.ListTagsAsync("", CancellationToken.None)) tags.Add(t);
        return tags.OrderBy(t => t, StringComparer.Ordinal).ToArray();
    }
}
