using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Content;
using OciSync.Core.References;
using OciSync.Core.Registry;
using OciSync.Core.Transport;

namespace OciSync.Core.Stores
{
    /// <summary>
    /// An OCI archive (<c>oci-archive:FILE</c>, skopeo's format: a tar of an OCI image layout). Read in
    /// place: the tar's headers are indexed once and each member is streamed from its offset, so nothing
    /// is extracted and memory stays bounded whatever the layer size. Written through a staging layout
    /// beside the file (<c>FILE.staging</c>, with the layout's crash-safe writes) and turned into the
    /// archive when the run ends (<see cref="FlushAsync"/>): the existing archive's members and the staged
    /// ones go to a temporary file, index.json last, which then replaces the archive in one rename. An
    /// interrupted run leaves the old archive whole and its staging for the next run to finish.
    /// </summary>
    internal sealed class OciArchiveStore : IImageStore
    {
        private readonly string _path;
        private readonly RegistryClientOptions _options;
        private readonly OciLayoutStore _staging;
        private readonly object _lock = new object();
        private Archive? _archive;
        private Task<LayoutLock>? _runLock;

        public OciArchiveStore(string path, RegistryClientOptions options)
        {
            _path = Path.GetFullPath(path);
            _options = options;
            _staging = new OciLayoutStore(_path + ".staging", options);
        }

        public string Name => ImageReference.ArchivePrefix + _path;
        public bool CanMount => false;

        // The staging is a layout once its oci-layout file is written (before any blob); a directory without it
        // is a run that died before its first write.
        private bool Staged => File.Exists(Path.Combine(_staging.Root, "oci-layout"));

        // ---- reading: the staging first (this run's writes), then the archive -----------------

        public async Task<ManifestHead?> HeadManifestAsync(string repository, string reference, CancellationToken ct)
        {
            if (Staged && await _staging.HeadManifestAsync(repository, reference, ct).ConfigureAwait(false) is { } staged) return staged;
            var archive = Open();
            if (archive == null) return null;
            if (Digest.TryParse(reference, out var digest))
                return archive.Has(digest!) ? Head(await archive.ManifestAsync(digest!, null, _options, ct).ConfigureAwait(false)) : null;
            var entry = OciLayoutStore.FindTag(archive.Entries, reference);
            return entry == null ? null : new ManifestHead(entry.Digest, entry.MediaType, entry.Size);
        }

        public async Task<Manifest> GetManifestAsync(string repository, string reference, CancellationToken ct)
        {
            if (Staged)
            {
                // One read: the staging's GET says "not found" itself, where a HEAD first would parse the manifest twice.
                try { return await _staging.GetManifestAsync(repository, reference, ct).ConfigureAwait(false); }
                catch (RegistryException e) when (e.ErrorId == ErrorIds.ManifestNotFound) { }
            }
            var archive = Open() ?? throw new RegistryException(ErrorIds.ManifestNotFound, $"{Name} does not exist.");
            if (Digest.TryParse(reference, out var digest)) return await archive.ManifestAsync(digest!, null, _options, ct).ConfigureAwait(false);
            var entry = OciLayoutStore.FindTag(archive.Entries, reference)
                ?? throw new RegistryException(ErrorIds.ManifestNotFound, $"{Name}:{reference} does not exist (no index.json entry is named '{reference}').");
            return await archive.ManifestAsync(entry.Digest, entry.MediaType, _options, ct).ConfigureAwait(false);
        }

        public async Task<bool> BlobExistsAsync(string repository, Digest digest, CancellationToken ct) =>
            (Staged && await _staging.BlobExistsAsync(repository, digest, ct).ConfigureAwait(false)) || (Open()?.Has(digest) ?? false);

        public async Task<VerifyingStream> OpenBlobAsync(string repository, Descriptor blob, Action<long>? onBytes, CancellationToken ct)
        {
            if (Staged && await _staging.BlobExistsAsync(repository, blob.Digest, ct).ConfigureAwait(false))
                return await _staging.OpenBlobAsync(repository, blob, onBytes, ct).ConfigureAwait(false);
            var archive = Open();
            if (archive == null || !archive.Has(blob.Digest)) throw new RegistryException(ErrorIds.BlobNotFound, $"{Name}: the blob {blob.Digest} is missing.");
            return new VerifyingStream(archive.Member(blob.Digest), blob.Digest, blob.Size, onBytes);
        }

        public async IAsyncEnumerable<string> ListTagsAsync(string repository, [EnumeratorCancellation] CancellationToken ct)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            if (Staged)
                await foreach (var tag in _staging.ListTagsAsync(repository, ct).ConfigureAwait(false))
                    if (seen.Add(tag)) yield return tag;
            foreach (var entry in Open()?.Entries ?? Array.Empty<Descriptor>())
                if (entry.Annotations != null && entry.Annotations.TryGetValue(OciLayoutStore.RefNameAnnotation, out var tag) && seen.Add(tag)) yield return tag;
        }

        // ---- writing: into the staging layout, then the archive at the end -------------------

        public async Task PutManifestAsync(string repository, string reference, Manifest manifest, bool child, CancellationToken ct)
        {
            await HoldStagingAsync(ct).ConfigureAwait(false);
            await _staging.PutManifestAsync(repository, reference, manifest, child, ct).ConfigureAwait(false);
        }

        public async Task PutBlobAsync(string repository, Descriptor blob, Stream content, CancellationToken ct)
        {
            await HoldStagingAsync(ct).ConfigureAwait(false);
            await _staging.PutBlobAsync(repository, blob, content, ct).ConfigureAwait(false);
        }

        /// <summary>
        /// The staging belongs to one run until its archive is written: another process writing the same
        /// archive would otherwise delete the staging under this one (when it finishes first) and leave a
        /// tag on blobs that went with it. Taken at the first write, held until <see cref="FlushAsync"/>.
        /// </summary>
        private Task<LayoutLock> HoldStagingAsync(CancellationToken ct)
        {
            lock (_lock)
            {
                if (_runLock == null || _runLock.IsFaulted || _runLock.IsCanceled)
                {
                    Directory.CreateDirectory(_staging.Root);
                    _runLock = LayoutLock.AcquireAsync(_staging.Root, Name, OciLayoutStore.LockWait, ct, LayoutLock.RunFileName);
                }
                return _runLock;
            }
        }

        /// <summary>
        /// Renamed away first, then deleted: a run killed while deleting leaves a <c>.deleting</c> directory
        /// (swept by the next flush), never a half-deleted staging whose index names blobs that are gone.
        /// </summary>
        private void DeleteStaging()
        {
            ReleaseStaging(); // closed first: Windows moves and deletes no open file
            var doomed = $"{_staging.Root}.{Guid.NewGuid():N}.deleting";
            Directory.Move(_staging.Root, doomed);
            Directory.Delete(doomed, recursive: true);
        }

        private void SweepDeletedStagings()
        {
            try
            {
                foreach (var dir in Directory.GetDirectories(Path.GetDirectoryName(_path)!, Path.GetFileName(_staging.Root) + ".*.deleting"))
                    Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { /* costs disk space, not correctness */ }
        }

        private void ReleaseStaging()
        {
            lock (_lock)
            {
                if (_runLock != null && _runLock.Status == TaskStatus.RanToCompletion) _runLock.Result.Dispose();
                _runLock = null;
            }
        }

        public Task<bool> TryMountBlobAsync(string repository, Digest digest, string fromRepository, CancellationToken ct) => Task.FromResult(false);

        public void ForgetFailures() { }

        /// <summary>Writes the archive anew from the old one and the staging, index.json last, and renames it into place.</summary>
        public async Task FlushAsync(CancellationToken ct)
        {
            SweepDeletedStagings();
            if (!Directory.Exists(_staging.Root) || !await OwnStagingAsync(ct).ConfigureAwait(false)) return;
            try
            {
                if (Staged) await WriteArchiveAsync(ct).ConfigureAwait(false);
                else DeleteStaging(); // nothing was staged in it
            }
            finally
            {
                ReleaseStaging();
            }
        }

        /// <summary>
        /// True when this run may write the archive from the staging: it holds the staging since its first
        /// write, or the staging was left by a run that died (finished here, as a re-run should). A staging
        /// another live run holds is that run's to write.
        /// </summary>
        private async Task<bool> OwnStagingAsync(CancellationToken ct)
        {
            Task<LayoutLock>? held;
            lock (_lock) held = _runLock;
            if (held != null)
            {
                try { await held.ConfigureAwait(false); return true; }
                catch (RegistryException e) when (e.ErrorId == ErrorIds.LayoutBusy) { return false; } // every write of this run failed on it
            }
            try
            {
                var left = await LayoutLock.AcquireAsync(_staging.Root, Name, TimeSpan.Zero, ct, LayoutLock.RunFileName).ConfigureAwait(false);
                lock (_lock) _runLock = Task.FromResult(left);
                return true;
            }
            catch (RegistryException e) when (e.ErrorId == ErrorIds.LayoutBusy)
            {
                return false;
            }
        }

        private async Task WriteArchiveAsync(CancellationToken ct)
        {
            var archive = Open();
            var staged = await _staging.ReadIndexJsonAsync(ct).ConfigureAwait(false);
            var index = archive?.IndexJson() ?? OciLayoutStore.EmptyIndex();
            foreach (var entry in (staged["manifests"] as JsonArray)?.ToList() ?? new List<JsonNode?>())
                if (entry is JsonObject e && e["annotations"]?[OciLayoutStore.RefNameAnnotation] is JsonValue v && v.TryGetValue<string>(out var tag))
                    OciLayoutStore.Tag(index, tag, e.DeepClone());

            Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
            var temp = _path + "." + Guid.NewGuid().ToString("N") + ".partial";
            try
            {
                using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1024 * 1024, FileOptions.Asynchronous))
                {
                    var tar = new TarWriter(file);
                    await tar.AddAsync("oci-layout", OciLayoutStore.LayoutFile, ct).ConfigureAwait(false);
                    var written = new HashSet<string>(StringComparer.Ordinal);
                    foreach (var blob in StagedBlobs())
                    {
                        if (!written.Add(blob.Name)) continue;
                        using var content = new FileStream(blob.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1024 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
                        await tar.AddAsync(blob.Name, content.Length, content, ct).ConfigureAwait(false);
                    }
                    if (archive != null)
                        foreach (var (name, size) in archive.Blobs())
                        {
                            if (!written.Add(name)) continue;
                            using var content = archive.Member(name);
                            await tar.AddAsync(name, size, content, ct).ConfigureAwait(false);
                        }
                    await tar.AddAsync("index.json", Encoding.UTF8.GetBytes(index.ToJsonString()), ct).ConfigureAwait(false);
                    await tar.FinishAsync(ct).ConfigureAwait(false);
                    await file.FlushAsync(ct).ConfigureAwait(false);
                    file.Flush(flushToDisk: true);
                }
                lock (_lock) _archive = null;
                if (File.Exists(_path)) File.Replace(temp, _path, null);
                else OciLayoutStore.MoveIntoPlace(temp, _path);
                Durability.FlushDirectory(Path.GetDirectoryName(_path)!);
                DeleteStaging();
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                throw new RegistryException(ErrorIds.LayoutInvalid, $"{Name} could not be written ({e.Message}); what was copied is kept in {_staging.Root} for the next run.", e);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
        }

        /// <summary>The staging's verified blobs (never its .partial files), by tar member name.</summary>
        private IEnumerable<(string Name, string Path)> StagedBlobs()
        {
            var blobs = Path.Combine(_staging.Root, "blobs");
            if (!Directory.Exists(blobs)) yield break;
            foreach (var algorithm in Directory.GetDirectories(blobs))
                foreach (var file in Directory.GetFiles(algorithm))
                {
                    var hex = Path.GetFileName(file);
                    if (hex.StartsWith(".", StringComparison.Ordinal)) continue;
                    yield return ($"blobs/{Path.GetFileName(algorithm)}/{hex}", file);
                }
        }

        private static ManifestHead Head(Manifest m) => new ManifestHead(m.Digest, m.MediaType, m.Bytes.Length);

        /// <summary>The archive as it is on disk, indexed once; null when there is none yet.</summary>
        private Archive? Open()
        {
            lock (_lock)
            {
                if (_archive == null && File.Exists(_path)) _archive = Archive.Read(_path, Name, _options);
                return _archive;
            }
        }

        /// <summary>An archive on disk: its members by name, and its index.json read once.</summary>
        private sealed class Archive
        {
            private readonly string _path;
            private readonly string _name;
            private readonly TarIndex _tar;
            private readonly JsonObject _index;

            private Archive(string path, string name, TarIndex tar, JsonObject index)
            {
                _path = path;
                _name = name;
                _tar = tar;
                _index = index;
                Entries = OciLayoutStore.Entries(index);
            }

            public IReadOnlyList<Descriptor> Entries { get; }

            public static Archive Read(string path, string name, RegistryClientOptions options)
            {
                var tar = TarIndex.Read(path);
                if (!tar.Entries.TryGetValue("oci-layout", out var layout) || !tar.Entries.TryGetValue("index.json", out var index))
                    throw new RegistryException(ErrorIds.LayoutInvalid, $"{name} is not an OCI archive: it has no oci-layout or no index.json.");
                if (index.Size > options.MaxBufferedBodyBytes || layout.Size > 64 * 1024)
                    throw new RegistryException(ErrorIds.LayoutInvalid, $"{name}: its index.json or oci-layout is too large.");
                CheckLayout(ReadAll(path, layout), name);
                try
                {
                    var node = JsonNode.Parse(ReadAll(path, index)) as JsonObject ?? throw new RegistryException(ErrorIds.LayoutInvalid, $"{name}: its index.json is not a JSON object.");
                    return new Archive(path, name, tar, node);
                }
                catch (JsonException e)
                {
                    throw new RegistryException(ErrorIds.LayoutInvalid, $"{name}: its index.json is not valid JSON: {e.Message}", e);
                }
            }

            private static void CheckLayout(byte[] bytes, string name)
            {
                try
                {
                    using var doc = JsonDocument.Parse(bytes);
                    if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("imageLayoutVersion", out var v) &&
                        v.ValueKind == JsonValueKind.String && v.GetString() == "1.0.0") return;
                }
                catch (JsonException) { }
                throw new RegistryException(ErrorIds.LayoutInvalid, $"{name}: its oci-layout does not say imageLayoutVersion 1.0.0.");
            }

            public JsonObject IndexJson() => (JsonObject)_index.DeepClone();

            public bool Has(Digest digest) => _tar.Entries.ContainsKey(BlobName(digest));

            public Stream Member(Digest digest) => Member(BlobName(digest));

            public Stream Member(string name)
            {
                var (offset, size) = _tar.Entries[name];
                return new FileSlice(_path, offset, size);
            }

            public IEnumerable<(string Name, long Size)> Blobs() =>
                _tar.Entries.Where(e => e.Key.StartsWith("blobs/", StringComparison.Ordinal)).Select(e => (e.Key, e.Value.Size));

            public async Task<Manifest> ManifestAsync(Digest digest, string? mediaType, RegistryClientOptions options, CancellationToken ct)
            {
                if (!_tar.Entries.TryGetValue(BlobName(digest), out var member))
                    throw new RegistryException(ErrorIds.ManifestNotFound, $"{_name}: the manifest {digest} is missing.");
                if (member.Size > options.MaxManifestBytes) throw new RegistryException(ErrorIds.ManifestInvalid, $"{_name}: the manifest {digest} is larger than {options.MaxManifestBytes} bytes.");
                var bytes = new byte[member.Size];
                using (var slice = new FileSlice(_path, member.Offset, member.Size))
                {
                    var read = 0;
                    while (read < bytes.Length)
                    {
                        var n = await slice.ReadAsync(bytes, read, bytes.Length - read, ct).ConfigureAwait(false);
                        if (n == 0) break;
                        read += n;
                    }
                }
                return OciLayoutStore.ParseManifest(_name, digest, bytes, mediaType);
            }

            private static string BlobName(Digest digest) => $"blobs/{digest.Algorithm}/{digest.Hex}";

            private static byte[] ReadAll(string path, (long Offset, long Size) member)
            {
                using var slice = new FileSlice(path, member.Offset, member.Size);
                using var buffer = new MemoryStream();
                slice.CopyTo(buffer);
                return buffer.ToArray();
            }
        }
    }
}
