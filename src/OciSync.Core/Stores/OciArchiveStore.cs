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
            if (TrustStaging() && await _staging.HeadManifestAsync(repository, reference, ct).ConfigureAwait(false) is { } staged) return staged;
            var archive = Open();
            if (archive == null) return null;
            if (Digest.TryParse(reference, out var digest))
                return archive.Has(digest!) ? Head(await archive.ManifestAsync(digest!, null, _options, ct).ConfigureAwait(false)) : null;
            var entry = OciLayoutStore.FindTag(archive.Entries, reference);
            return entry == null ? null : new ManifestHead(entry.Digest, entry.MediaType, entry.Size);
        }

        public async Task<Manifest> GetManifestAsync(string repository, string reference, CancellationToken ct)
        {
            if (TrustStaging())
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
            (TrustStaging() && await _staging.BlobExistsAsync(repository, digest, ct).ConfigureAwait(false)) || (Open()?.Has(digest) ?? false);

        public async Task<VerifyingStream> OpenBlobAsync(string repository, Descriptor blob, Action<long>? onBytes, CancellationToken ct)
        {
            if (TrustStaging() && await _staging.BlobExistsAsync(repository, blob.Digest, ct).ConfigureAwait(false))
                return await _staging.OpenBlobAsync(repository, blob, onBytes, ct).ConfigureAwait(false);
            var archive = Open();
            if (archive == null || !archive.Has(blob.Digest)) throw new RegistryException(ErrorIds.BlobNotFound, $"{Name}: the blob {blob.Digest} is missing.");
            return new VerifyingStream(archive.Member(blob.Digest), blob.Digest, blob.Size, onBytes);
        }

        public async IAsyncEnumerable<string> ListTagsAsync(string repository, [EnumeratorCancellation] CancellationToken ct)
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            if (TrustStaging())
                await foreach (var tag in _staging.ListTagsAsync(repository, ct).ConfigureAwait(false))
                    if (seen.Add(tag)) yield return tag;
            foreach (var entry in Open()?.Entries ?? Array.Empty<Descriptor>())
                if (entry.Annotations != null && entry.Annotations.TryGetValue(OciLayoutStore.RefNameAnnotation, out var tag) && seen.Add(tag)) yield return tag;
        }

        // ---- writing: into the staging layout, then the archive at the end -------------------

        public async Task PutManifestAsync(string repository, string reference, Manifest manifest, bool child, CancellationToken ct)
        {
            await HoldRunAsync(ct).ConfigureAwait(false);
            await _staging.PutManifestAsync(repository, reference, manifest, child, ct).ConfigureAwait(false);
        }

        public Task<IReadOnlyList<Descriptor>?> ListReferrersAsync(string repository, Digest subject, string? artifactType, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<Descriptor>?>(null);

        public async Task<bool> PutReferrerAsync(string repository, Manifest manifest, CancellationToken ct)
        {
            await HoldRunAsync(ct).ConfigureAwait(false);
            return await _staging.PutReferrerAsync(repository, manifest, ct).ConfigureAwait(false);
        }

        public async Task PutBlobAsync(string repository, Descriptor blob, Stream content, CancellationToken ct)
        {
            await HoldRunAsync(ct).ConfigureAwait(false);
            await _staging.PutBlobAsync(repository, blob, content, ct).ConfigureAwait(false);
        }

        public Task<bool> TryMountBlobAsync(string repository, Digest digest, string? fromRepository, CancellationToken ct) => Task.FromResult(false);

        // ---- one run at a time: FILE.lock beside the archive ---------------------------------

        /// <summary>
        /// The staging belongs to one run until its archive is written: another process writing the same
        /// archive would otherwise read what is not yet written, write the archive from a stale copy, or
        /// delete the staging under this run. The run lock is <c>FILE.lock</c> beside the archive (not in
        /// the staging, which is deleted while it is held), taken at the first write, held until the
        /// archive is written and the staging gone, or the run ends (<see cref="ReleaseRun"/>). A live
        /// run's staging is left to it; a dead run's is taken over and finished.
        /// </summary>
        private async Task HoldRunAsync(CancellationToken ct)
        {
            Task<LayoutLock> held;
            lock (_lock)
            {
                if (_runLock == null || _runLock.IsFaulted || _runLock.IsCanceled)
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
                    // Not the caller's token: the wait is shared by every write, each of which waits with its own.
                    _runLock = LayoutLock.AcquireAsync(RunLockPath, Name, OciLayoutStore.LockWait, CancellationToken.None);
                }
                held = _runLock;
            }
            if (!held.IsCompleted && ct.CanBeCanceled)
            {
                var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                using (ct.Register(() => cancelled.TrySetResult(true)))
                    if (await Task.WhenAny(held, cancelled.Task).ConfigureAwait(false) != held) ct.ThrowIfCancellationRequested();
            }
            await held.ConfigureAwait(false);
        }

        /// <summary>True when this run holds the run lock, or takes it now because nobody does (a dead run's staging is then this run's).</summary>
        private bool OwnRun()
        {
            lock (_lock)
            {
                if (_runLock != null) return _runLock.Status == TaskStatus.RanToCompletion;
                if (!LayoutLock.TryAcquire(RunLockPath, Name, out var taken)) return false;
                _runLock = Task.FromResult(taken!);
                return true;
            }
        }

        /// <summary>The staging is read only when it is this run's: another live run's is not written yet.</summary>
        private bool TrustStaging() => Staged && OwnRun();

        /// <summary>Lets go of the run lock (the end of a run, whether or not the archive was written).</summary>
        internal void ReleaseRun()
        {
            lock (_lock)
            {
                if (_runLock != null && _runLock.Status == TaskStatus.RanToCompletion) _runLock.Result.Dispose();
                _runLock = null;
            }
        }

        private string RunLockPath => _path + ".lock";

        /// <summary>
        /// Renamed away first, then deleted, with the run lock held: a run killed while deleting leaves a
        /// <c>.deleting</c> directory (swept by the next flush), never a half-deleted staging.
        /// </summary>
        private void DeleteStaging()
        {
            var doomed = $"{_staging.Root}.{Guid.NewGuid():N}.deleting";
            Directory.Move(_staging.Root, doomed);
            Directory.Delete(doomed, recursive: true);
        }

        private string[] DeletedStagings()
        {
            try { return Directory.GetDirectories(Path.GetDirectoryName(_path)!, Path.GetFileName(_staging.Root) + ".*.deleting"); }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { return Array.Empty<string>(); }
        }

        private void SweepDeletedStagings()
        {
            try
            {
                foreach (var dir in DeletedStagings()) Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { /* costs disk space, not correctness */ }
        }

        /// <summary>A later pass reads the archive again (another run may have replaced it).</summary>
        public void ForgetFailures()
        {
            lock (_lock) _archive = null;
        }

        /// <summary>Writes the archive anew from the old one and the staging, index.json last, and renames it into place.</summary>
        public async Task FlushAsync(CancellationToken ct)
        {
            // A source archive gets no lock file: only a staging, or what deleting one left, is worth owning.
            if (!Directory.Exists(_staging.Root) && DeletedStagings().Length == 0) return;
            if (!OwnRun()) return; // a live run's staging is that run's to write
            SweepDeletedStagings();
            if (!Directory.Exists(_staging.Root)) return;
            if (Staged) await WriteArchiveAsync(ct).ConfigureAwait(false);
            else DeleteStaging(); // a run that died before its first write
        }

        private async Task WriteArchiveAsync(CancellationToken ct)
        {
            // Read afresh under the run lock: another run may have written the archive since this one first read it.
            lock (_lock) _archive = null;
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

            private readonly long _length;
            private readonly DateTime _written;

            private Archive(string path, string name, TarIndex tar, JsonObject index, FileInfo file)
            {
                _path = path;
                _name = name;
                _tar = tar;
                _index = index;
                _length = file.Length;
                _written = file.LastWriteTimeUtc;
                Entries = OciLayoutStore.Entries(index);
            }

            public IReadOnlyList<Descriptor> Entries { get; }

            public static Archive Read(string path, string name, RegistryClientOptions options)
            {
                var file = new FileInfo(path);
                var tar = TarIndex.Read(path);
                if (!tar.Entries.TryGetValue("oci-layout", out var layout) || !tar.Entries.TryGetValue("index.json", out var index))
                    throw new RegistryException(ErrorIds.LayoutInvalid, $"{name} is not an OCI archive: it has no oci-layout or no index.json.");
                if (index.Size > options.MaxBufferedBodyBytes || layout.Size > 64 * 1024)
                    throw new RegistryException(ErrorIds.LayoutInvalid, $"{name}: its index.json or oci-layout is too large.");
                CheckLayout(ReadAll(path, layout), name);
                try
                {
                    var node = JsonNode.Parse(ReadAll(path, index)) as JsonObject ?? throw new RegistryException(ErrorIds.LayoutInvalid, $"{name}: its index.json is not a JSON object.");
                    return new Archive(path, name, tar, node, file);
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
                return Slice(offset, size);
            }

            /// <summary>
            /// A member of the archive this index was read from. Another run may have replaced the file since
            /// (its members now lie elsewhere): then a transient LayoutBusy, and the next pass reads it anew.
            /// </summary>
            private FileSlice Slice(long offset, long size)
            {
                var slice = new FileSlice(_path, offset, size);
                var now = new FileInfo(_path);
                if (now.Length == _length && now.LastWriteTimeUtc == _written) return slice;
                slice.Dispose();
                throw new RegistryException(ErrorIds.LayoutBusy, $"{_name} was replaced while this run read it; the next pass reads it again.");
            }

            public IEnumerable<(string Name, long Size)> Blobs() =>
                _tar.Entries.Where(e => e.Key.StartsWith("blobs/", StringComparison.Ordinal)).Select(e => (e.Key, e.Value.Size));

            public async Task<Manifest> ManifestAsync(Digest digest, string? mediaType, RegistryClientOptions options, CancellationToken ct)
            {
                if (!_tar.Entries.TryGetValue(BlobName(digest), out var member))
                    throw new RegistryException(ErrorIds.ManifestNotFound, $"{_name}: the manifest {digest} is missing.");
                if (member.Size > options.MaxManifestBytes) throw new RegistryException(ErrorIds.ManifestInvalid, $"{_name}: the manifest {digest} is larger than {options.MaxManifestBytes} bytes.");
                var bytes = new byte[member.Size];
                using (var slice = Slice(member.Offset, member.Size))
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
