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
    /// An OCI image layout directory (image-spec: <c>oci-layout</c>, <c>index.json</c>,
    /// <c>blobs/&lt;alg&gt;/&lt;hex&gt;</c>) as a store of one repository, written the way skopeo writes
    /// <c>oci:DIR:TAG</c>: a tag is the <c>org.opencontainers.image.ref.name</c> annotation of an
    /// <c>index.json</c> entry; child manifests are blobs only. Crash-safe: a blob is written under a
    /// temporary name and renamed once its digest is verified; <c>index.json</c> is replaced atomically,
    /// and only by a tagged manifest put, which the copier does last — so an interrupted sync never leaves
    /// a tag pointing at missing content. The repository argument of every call is ignored.
    /// </summary>
    internal sealed class OciLayoutStore : IImageStore
    {
        public const string RefNameAnnotation = "org.opencontainers.image.ref.name";
        private const string LayoutVersion = "1.0.0";
        private const int CopyBufferSize = 1024 * 1024;
        private readonly string _root;
        private readonly RegistryClientOptions _options;
        // One writer of index.json per directory in this process, however many stores or runs name it (another process is not guarded).
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> IndexLocks =
            new System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim>(PathComparer);
        private readonly SemaphoreSlim _indexLock;
        // .partial files a killed run left behind are swept once per store, when it first writes; one still growing is kept.
        private static readonly TimeSpan StalePartial = TimeSpan.FromMinutes(10);
        // A layout's index lock is held for milliseconds, a minute is a stuck one; an archive's run lock is held
        // for a whole run, and a second run into that archive waits this long before its write fails (LayoutBusy).
        internal static readonly TimeSpan LockWait = TimeSpan.FromSeconds(60);
        private int _swept;

        public OciLayoutStore(string root, RegistryClientOptions options)
        {
            _root = NormalizeRoot(root);
            _options = options;
            _indexLock = IndexLocks.GetOrAdd(_root, _ => new SemaphoreSlim(1, 1));
        }

        /// <summary>Case matters on Linux only; elsewhere /X and /x are one directory.</summary>
        internal static StringComparer PathComparer => Path.DirectorySeparatorChar == '/' && !System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.OSX)
            ? StringComparer.Ordinal : StringComparer.OrdinalIgnoreCase;

        /// <summary>The full path without a trailing separator, so oci:/x and oci:/x/ are one layout.</summary>
        internal static string NormalizeRoot(string path)
        {
            var full = Path.GetFullPath(path);
            var root = Path.GetPathRoot(full) ?? string.Empty;
            return full.Length > root.Length ? full.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) : full;
        }

        public string Name => ImageReference.LayoutPrefix + _root;
        public bool CanMount => false;

        private string IndexPath => Path.Combine(_root, "index.json");

        // ---- manifests -------------------------------------------------------------------

        public async Task<ManifestHead?> HeadManifestAsync(string repository, string reference, CancellationToken ct)
        {
            if (Digest.TryParse(reference, out var digest))
            {
                if (!BlobFileExists(digest!)) return null;
                var manifest = await ReadManifestAsync(digest!, null, ct).ConfigureAwait(false);
                return new ManifestHead(manifest.Digest, manifest.MediaType, manifest.Bytes.Length);
            }
            var entry = FindTag(await ReadIndexAsync(ct).ConfigureAwait(false), reference);
            return entry == null ? null : new ManifestHead(entry.Digest, entry.MediaType, entry.Size);
        }

        public async Task<Manifest> GetManifestAsync(string repository, string reference, CancellationToken ct)
        {
            if (Digest.TryParse(reference, out var digest))
            {
                return await ReadManifestAsync(digest!, null, ct).ConfigureAwait(false);
            }
            var entry = FindTag(await ReadIndexAsync(ct).ConfigureAwait(false), reference)
                ?? throw new RegistryException(ErrorIds.ManifestNotFound, $"{Name}:{reference} does not exist (no index.json entry is named '{reference}').");
            return await ReadManifestAsync(entry.Digest, entry.MediaType, ct).ConfigureAwait(false);
        }

        public Task PutManifestAsync(string repository, string reference, Manifest manifest, CancellationToken ct) =>
            PutManifestAsync(repository, reference, manifest, child: false, ct);

        // An image layout has no referrers API: referrers live under the tag schema's tags in index.json.
        public Task<IReadOnlyList<Descriptor>?> ListReferrersAsync(string repository, Digest subject, string? artifactType, CancellationToken ct) =>
            Task.FromResult<IReadOnlyList<Descriptor>?>(null);

        public async Task<bool> PutReferrerAsync(string repository, Manifest manifest, CancellationToken ct)
        {
            // Stored as a child is: its blob only, reached through the referrers tag's index.
            await PutManifestAsync(repository, manifest.Digest.ToString(), manifest, child: true, ct).ConfigureAwait(false);
            return false;
        }

        /// <param name="child">A child of an index: its blob is all a layout holds of it. An image copied by digest
        /// gets an untagged index.json entry (as skopeo writes it), so the layout lists it.</param>
        public async Task PutManifestAsync(string repository, string reference, Manifest manifest, bool child, CancellationToken ct)
        {
            await WriteBlobAsync(manifest.Digest, new MemoryStream(manifest.Bytes, writable: false), ct).ConfigureAwait(false);
            var byDigest = Digest.TryParse(reference, out _);
            if (byDigest && child) return;
            if (!byDigest && !NameGrammar.IsTag(reference)) throw new RegistryException(ErrorIds.InvalidReference, $"{Name}: '{UntrustedText.OneLine(reference, 200)}' is not a valid tag.");
            await _indexLock.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                using var processes = await LayoutLock.AcquireAsync(Path.Combine(_root, LayoutLock.FileName), Name, LockWait, ct).ConfigureAwait(false);
                // The tag moves last and at once: index.json is rewritten whole and renamed over the old one.
                var index = await ReadIndexNodeAsync(ct).ConfigureAwait(false);
                var entry = new JsonObject
                {
                    ["mediaType"] = manifest.MediaType,
                    ["digest"] = manifest.Digest.ToString(),
                    ["size"] = manifest.Bytes.Length,
                };
                if (byDigest) AddUntagged(index, entry);
                else
                {
                    entry["annotations"] = new JsonObject { [RefNameAnnotation] = reference };
                    Tag(index, reference, entry);
                }
                // Power loss: every blob rename before the index names them (files are fsynced before they are renamed).
                Durability.FlushDirectory(Path.Combine(_root, "blobs", manifest.Digest.Algorithm));
                await WriteAtomicallyAsync(IndexPath, Encoding.UTF8.GetBytes(index.ToJsonString()), ct).ConfigureAwait(false);
                Durability.FlushDirectory(_root);
            }
            finally
            {
                _indexLock.Release();
            }
        }

        // ---- blobs -----------------------------------------------------------------------

        public Task<bool> BlobExistsAsync(string repository, Digest digest, CancellationToken ct) => Task.FromResult(BlobFileExists(digest));

        public async Task<VerifyingStream> OpenBlobAsync(string repository, Descriptor blob, Action<long>? onBytes, CancellationToken ct)
        {
            if (!BlobFileExists(blob.Digest)) throw new RegistryException(ErrorIds.BlobNotFound, $"{Name}: the blob {blob.Digest} is missing (blobs/{blob.Digest.Algorithm}/{blob.Digest.Hex}).");
            var file = await OpenReadAsync(BlobPath(blob.Digest), CopyBufferSize, ct).ConfigureAwait(false);
            return new VerifyingStream(file, blob.Digest, blob.Size, onBytes);
        }

        public Task<bool> TryMountBlobAsync(string repository, Digest digest, string? fromRepository, CancellationToken ct) => Task.FromResult(false);

        public Task PutBlobAsync(string repository, Descriptor blob, Stream content, CancellationToken ct) =>
            // Whatever the caller passes, nothing unverified is renamed into place.
            WriteBlobAsync(blob.Digest, content as VerifyingStream ?? new VerifyingStream(content, blob.Digest, blob.Size), ct);

        // ---- tags ------------------------------------------------------------------------

        public async IAsyncEnumerable<string> ListTagsAsync(string repository, [EnumeratorCancellation] CancellationToken ct)
        {
            foreach (var entry in await ReadIndexAsync(ct).ConfigureAwait(false))
                if (entry.Annotations != null && entry.Annotations.TryGetValue(RefNameAnnotation, out var tag)) yield return tag;
        }

        public void ForgetFailures() { }

        public Task FlushAsync(CancellationToken ct) => Task.CompletedTask; // every write is already in place

        // ---- plumbing --------------------------------------------------------------------

        /// <summary>Puts <paramref name="entry"/> into the index under <paramref name="tag"/>, replacing any entry of that name.</summary>
        internal static void Tag(JsonObject index, string tag, JsonNode entry)
        {
            var entries = index["manifests"] as JsonArray ?? new JsonArray();
            for (int i = entries.Count - 1; i >= 0; i--)
                if (entries[i] is JsonObject e && e["annotations"] is JsonObject a && a[RefNameAnnotation] is JsonValue v && v.TryGetValue<string>(out var name) && name == tag)
                    entries.RemoveAt(i);
            entries.Add(entry);
            index["manifests"] = entries;
        }

        internal static JsonObject EmptyIndex() => new JsonObject { ["schemaVersion"] = 2, ["manifests"] = new JsonArray() };

        internal static byte[] LayoutFile => Encoding.UTF8.GetBytes("{\"imageLayoutVersion\":\"" + LayoutVersion + "\"}");

        /// <summary>The directory (a staging layout's) this store writes to.</summary>
        internal string Root => _root;

        /// <summary>The index.json as JSON, or an empty index when the layout has none yet.</summary>
        internal Task<JsonObject> ReadIndexJsonAsync(CancellationToken ct) => ReadIndexNodeAsync(ct);

        /// <summary><c>blobs/&lt;alg&gt;/&lt;hex&gt;</c>; the digest grammar allows no separator or "..", so it stays inside the layout.</summary>
        private string BlobPath(Digest digest) => Path.Combine(_root, "blobs", digest.Algorithm, digest.Hex);

        private async Task<Manifest> ReadManifestAsync(Digest digest, string? mediaType, CancellationToken ct)
        {
            var path = BlobPath(digest);
            if (!BlobFileExists(digest))
                throw new RegistryException(ErrorIds.ManifestNotFound, $"{Name}: the manifest {digest} is missing (no blobs/{digest.Algorithm}/{digest.Hex}).");
            var bytes = await ReadBoundedAsync(path, _options.MaxManifestBytes, $"{Name}: the manifest {digest}", ErrorIds.ManifestInvalid, ct).ConfigureAwait(false);
            return ParseManifest(Name, digest, bytes, mediaType);
        }

        /// <summary>Manifest bytes read from a layout or archive: checked against their digest, then parsed (media type from the index entry when the body has none).</summary>
        internal static Manifest ParseManifest(string store, Digest digest, byte[] bytes, string? mediaType)
        {
            var actual = DigestCalculator.Sha256(bytes);
            if (digest.Algorithm == "sha256" && actual != digest)
                throw new DigestMismatchException(digest, $"blobs/{digest.Algorithm}/{digest.Hex} of {store} hashes to {actual}");
            try
            {
                return Manifest.Parse(bytes, mediaType, actual);
            }
            catch (Exception e) when (e is FormatException || e is NotSupportedException)
            {
                throw new RegistryException(ErrorIds.ManifestInvalid, $"{store}@{digest}: {e.Message}", e);
            }
        }

        /// <summary>The index.json entries (an absent layout has none); entries that are not descriptors are skipped.</summary>
        private async Task<IReadOnlyList<Descriptor>> ReadIndexAsync(CancellationToken ct) => Entries(await ReadIndexNodeAsync(ct).ConfigureAwait(false));

        /// <summary>The entries of an index.json (a layout's or an archive's); entries that are not descriptors are skipped.</summary>
        internal static IReadOnlyList<Descriptor> Entries(JsonObject node)
        {
            var list = new List<Descriptor>();
            if (node["manifests"] is not JsonArray entries) return list;
            foreach (var entry in entries)
            {
                if (entry is not JsonObject e) continue;
                var mediaType = e["mediaType"] is JsonValue m && m.TryGetValue<string>(out var mt) ? mt : null;
                var digestText = e["digest"] is JsonValue d && d.TryGetValue<string>(out var dt) ? dt : null;
                var size = e["size"] is JsonValue s && s.TryGetValue<long>(out var sz) ? sz : -1;
                if (mediaType == null || !MediaTypes.IsValid(mediaType) || !Digest.TryParse(digestText, out var digest) || size < 0) continue;
                var annotations = new Dictionary<string, string>(StringComparer.Ordinal);
                if (e["annotations"] is JsonObject a)
                    foreach (var pair in a)
                        if (pair.Value is JsonValue v && v.TryGetValue<string>(out var text)) annotations[pair.Key] = text;
                list.Add(new Descriptor(mediaType, digest!, size) { Annotations = annotations });
            }
            return list;
        }

        internal static Descriptor? FindTag(IReadOnlyList<Descriptor> index, string tag) =>
            // The last entry of a name wins, as a later write would have replaced the earlier one.
            index.LastOrDefault(e => e.Annotations != null && e.Annotations.TryGetValue(RefNameAnnotation, out var name) && name == tag);

        private async Task<JsonObject> ReadIndexNodeAsync(CancellationToken ct)
        {
            Guard(IndexPath, "index.json");
            if (!File.Exists(IndexPath)) return EmptyIndex();
            CheckLayoutFile();
            var bytes = await ReadBoundedAsync(IndexPath, _options.MaxBufferedBodyBytes, $"{IndexPath}", ErrorIds.LayoutInvalid, ct).ConfigureAwait(false);
            try
            {
                return JsonNode.Parse(bytes) as JsonObject ?? throw new RegistryException(ErrorIds.LayoutInvalid, $"{IndexPath} is not a JSON object.");
            }
            catch (JsonException e)
            {
                throw new RegistryException(ErrorIds.LayoutInvalid, $"{IndexPath} is not valid JSON: {e.Message}", e);
            }
        }

        /// <summary>A directory with an index.json must say it is an OCI layout of the version this reads.</summary>
        private void CheckLayoutFile()
        {
            var path = Path.Combine(_root, "oci-layout");
            string? version = null;
            Guard(path, "oci-layout");
            try
            {
                if (File.Exists(path))
                    using (var doc = JsonDocument.Parse(ReadBoundedAsync(path, 64 * 1024, path, ErrorIds.LayoutInvalid, CancellationToken.None).GetAwaiter().GetResult()))
                        if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("imageLayoutVersion", out var v) && v.ValueKind == JsonValueKind.String)
                            version = v.GetString();
            }
            catch (JsonException) { }
            if (version != LayoutVersion)
                throw new RegistryException(ErrorIds.LayoutInvalid, $"{_root} is not an OCI image layout: its oci-layout file is missing or does not say imageLayoutVersion {LayoutVersion}.");
        }

        /// <summary>Creates the layout's skeleton (oci-layout, blobs/sha256) the first time anything is written.</summary>
        private async Task EnsureLayoutAsync(string algorithm, CancellationToken ct)
        {
            Guard(Path.Combine(_root, "blobs"), "blobs");
            Guard(Path.Combine(_root, "blobs", algorithm), $"blobs/{algorithm}");
            Directory.CreateDirectory(Path.Combine(_root, "blobs", algorithm));
            if (Interlocked.Exchange(ref _swept, 1) == 0) SweepPartials();
            var layout = Path.Combine(_root, "oci-layout");
            Guard(layout, "oci-layout");
            if (!File.Exists(layout))
                await WriteAtomicallyAsync(layout, LayoutFile, ct).ConfigureAwait(false);
        }

        /// <summary>Streams into a temporary file beside the blob, verified by the stream at its end, then renames it into place.</summary>
        private async Task WriteBlobAsync(Digest digest, Stream content, CancellationToken ct)
        {
            var final = BlobPath(digest);
            if (BlobFileExists(digest)) return; // content-addressed: what is there is this blob
            await EnsureLayoutAsync(digest.Algorithm, ct).ConfigureAwait(false);
            var temp = Path.Combine(Path.GetDirectoryName(final)!, $".{digest.Hex}.{Guid.NewGuid():N}.partial");
            try
            {
                using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, CopyBufferSize, FileOptions.Asynchronous))
                {
                    await content.CopyToAsync(file, CopyBufferSize, ct).ConfigureAwait(false);
                    await file.FlushAsync(ct).ConfigureAwait(false);
                    file.Flush(flushToDisk: true);
                }
                if (content is not VerifyingStream && DigestCalculator.Sha256(File.ReadAllBytes(temp)) != digest)
                    throw new DigestMismatchException(digest, $"the bytes written to {Name} hash otherwise");
                MoveIntoPlace(temp, final);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
        }

        internal static void MoveIntoPlace(string temp, string final)
        {
            try
            {
                File.Move(temp, final);
            }
            catch (IOException) when (File.Exists(final))
            {
                // Another image put the same blob first: same digest, same bytes.
            }
        }

        /// <summary>Writes a small file whole or not at all: a temporary file, flushed to disk, renamed over the old one.</summary>
        private async Task WriteAtomicallyAsync(string path, byte[] bytes, CancellationToken ct)
        {
            var temp = path + "." + Guid.NewGuid().ToString("N") + ".partial";
            try
            {
                using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
                {
                    await file.WriteAsync(bytes, 0, bytes.Length, ct).ConfigureAwait(false);
                    file.Flush(flushToDisk: true);
                }
                if (File.Exists(path)) File.Replace(temp, path, null);
                else MoveIntoPlace(temp, path);
            }
            finally
            {
                if (File.Exists(temp)) File.Delete(temp);
            }
        }

        /// <summary>At most <paramref name="limit"/> bytes, whatever the file says its length is (a device reads for ever).</summary>
        internal static async Task<byte[]> ReadBoundedAsync(string path, int limit, string what, string tooLargeId, CancellationToken ct)
        {
            using var file = await OpenReadAsync(path, 16 * 1024, ct).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int n;
            while ((n = await file.ReadAsync(chunk, 0, chunk.Length, ct).ConfigureAwait(false)) > 0)
            {
                buffer.Write(chunk, 0, n);
                if (buffer.Length > limit) throw new RegistryException(tooLargeId, $"{what} is larger than {limit} bytes.");
            }
            return buffer.ToArray();
        }

        /// <summary>
        /// Opens a layout file for reading, giving up after a few seconds: a FIFO in a hostile layout blocks
        /// open(2) for ever, and neither a token nor a watchdog can interrupt that call (its thread is left to it).
        /// </summary>
        internal static async Task<FileStream> OpenReadAsync(string path, int bufferSize, CancellationToken ct)
        {
            var open = Task.Run(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan));
            if (await Task.WhenAny(open, Task.Delay(OpenTimeout, ct)).ConfigureAwait(false) != open)
            {
                ct.ThrowIfCancellationRequested();
                _ = open.ContinueWith(t => { if (t.Status == TaskStatus.RanToCompletion) t.Result.Dispose(); }, TaskScheduler.Default);
                throw new RegistryException(ErrorIds.LayoutInvalid, $"{path} did not open within {OpenTimeout.TotalSeconds:0} s: it is not a regular file.");
            }
            return await open.ConfigureAwait(false);
        }

        private static readonly TimeSpan OpenTimeout = TimeSpan.FromSeconds(10);

        private bool BlobFileExists(Digest digest)
        {
            var path = BlobPath(digest);
            Guard(path, $"blobs/{digest.Algorithm}/{digest.Hex}");
            return File.Exists(path);
        }

        /// <summary>
        /// A layout from removable media is untrusted: a symbolic link inside it (a blobs directory pointing at
        /// /etc/cron.d, a blob pointing at a secret) would lead writes or reads outside it, so none is followed.
        /// </summary>
        private void Guard(string path, string what)
        {
            var info = new FileInfo(path);
            var attributes = info.Attributes;
            if ((int)attributes != -1 && (attributes & FileAttributes.ReparsePoint) != 0)
                throw new RegistryException(ErrorIds.LayoutInvalid, $"{Name}: {what} is a symbolic link; a layout's files and directories must be its own.");
        }

        /// <summary>Deletes the temporary files of killed runs: .partial files nothing has written to for a while.</summary>
        private void SweepPartials()
        {
            try
            {
                var cutoff = DateTime.UtcNow - StalePartial;
                var dirs = new[] { _root }.Concat(Directory.Exists(Path.Combine(_root, "blobs")) ? Directory.GetDirectories(Path.Combine(_root, "blobs")) : Array.Empty<string>());
                foreach (var dir in dirs)
                    foreach (var file in Directory.GetFiles(dir, "*.partial"))
                        if (File.GetLastWriteTimeUtc(file) < cutoff) File.Delete(file);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { /* a sweep that fails costs disk space, not correctness */ }
        }

        /// <summary>Adds an entry without a name for an image copied by digest, once per digest.</summary>
        internal static void AddUntagged(JsonObject index, JsonObject entry)
        {
            var entries = index["manifests"] as JsonArray ?? new JsonArray();
            var digest = entry["digest"]!.GetValue<string>();
            foreach (var e in entries)
                if (e is JsonObject o && o["digest"] is JsonValue d && d.TryGetValue<string>(out var existing) && existing == digest && o["annotations"]?[RefNameAnnotation] == null) return;
            entries.Add(entry);
            index["manifests"] = entries;
        }
    }
}
