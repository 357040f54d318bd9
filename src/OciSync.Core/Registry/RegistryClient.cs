using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Linq;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Content;
using OciSync.Core.References;
using OciSync.Core.Transport;

namespace OciSync.Core.Registry
{
    /// <summary>
    /// The registry API of one registry host, for one credential: manifests (head, get, put), blobs
    /// (exists, open as a verified stream, mount, upload) and tags (paged). Repositories are passed
    /// per call, so one client — one ping, one token cache — serves every repository of the host.
    /// This class is the API only: <see cref="RegistryPing"/> settles the origin and auth challenge,
    /// <see cref="RegistrySender"/> sends, buffers, retries damaged answers and translates errors.
    /// </summary>
    public sealed partial class RegistryClient : Stores.IImageStore, Stores.IRepositoryLister, Stores.IManifestDeleter
    {
        /// <summary>
        /// Copy buffer of one blob upload (rented from the shared pool per transfer, so memory stays at
        /// most concurrency × this). Large chunks mean fewer socket reads, hash updates and writes per GB.
        /// </summary>
        internal const int UploadBufferSize = 1024 * 1024;
        private readonly RegistryClientOptions _options;
        private readonly RegistryCredential? _credential;
        private readonly RegistrySender _send;
        private readonly IOciLog _log;

        internal RegistryClient(string registry, RegistryCredential? credential, RegistryClientOptions options, IOciLog log, SecretScrubber scrubber, RequestStatistics? statistics = null,
            RegistryThrottle? throttle = null)
        {
            Registry = registry;
            _options = options;
            _log = log;
            _credential = credential;
            Insecure = credential?.Insecure ?? false;
            _send = new RegistrySender(registry, EndpointHost, credential, CredentialDescription, options, log, scrubber, statistics ?? new RequestStatistics(),
                throttle ?? new RegistryThrottle(registry, credential?.Limits, log));
        }

        /// <summary>The registry as users name it (<c>docker.io</c>, <c>127.0.0.1:5000</c>).</summary>
        public string Registry { get; }
        /// <summary>The host requests go to: <c>registry-1.docker.io</c> for Docker Hub, otherwise <see cref="Registry"/>.</summary>
        public string EndpointHost => Registry == ImageReference.DockerHub ? ImageReference.DockerHubEndpoint : Registry;
        /// <summary>Plain HTTP or unverified TLS is allowed, as the client's credential says.</summary>
        public bool Insecure { get; }
        /// <summary>Who the client authenticates as, for messages: <c>anonymous</c>, or the username and the key of its credential.</summary>
        public string CredentialDescription => _credential == null || _credential.IsAnonymous ? "anonymous" : $"{_credential.Username} (from {_credential.Key})";

        // ---- manifests -------------------------------------------------------------------

        /// <summary>HEAD a manifest by tag or digest; null when the registry does not have it.</summary>
        public Task<ManifestHead?> HeadManifestAsync(string repository, string reference, CancellationToken ct) => _send.Scrubbed(HeadManifestCoreAsync(repository, reference, ct));

        private async Task<ManifestHead?> HeadManifestCoreAsync(string repository, string reference, CancellationToken ct)
        {
            RequestNames.CheckReference(reference);
            using var response = await _send.SendAsync(HttpMethod.Head, repository, $"manifests/{reference}", RequestScope.Pull(repository), ct,
                accept: MediaTypes.AllManifests).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound) return null;
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.ManifestNotFound).ConfigureAwait(false);
            Digest.TryParse(RegistryResponses.HeaderValue(response, "Docker-Content-Digest"), out var digest);
            return new ManifestHead(digest, Manifest.StripParameters(response.Content?.Headers.ContentType?.ToString()),
                response.Content?.Headers.ContentLength ?? -1);
        }

        /// <summary>GET a manifest; its bytes are checked against the digest asked for or announced.</summary>
        public Task<Manifest> GetManifestAsync(string repository, string reference, CancellationToken ct) =>
            _send.Scrubbed(_send.RetryDamagedAsync($"GET {Registry}/{repository}:{reference}", () => GetManifestCoreAsync(repository, reference, ct), ct));

        private async Task<Manifest> GetManifestCoreAsync(string repository, string reference, CancellationToken ct)
        {
            RequestNames.CheckReference(reference);
            using var response = await _send.SendAsync(HttpMethod.Get, repository, $"manifests/{reference}", RequestScope.Pull(repository), ct,
                accept: MediaTypes.AllManifests, streamBody: true).ConfigureAwait(false);
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.ManifestNotFound).ConfigureAwait(false);
            var bytes = await RegistryResponses.ReadLimitedAsync(response, _options.MaxManifestBytes, _options.Retry.ResponseTimeout, ct).ConfigureAwait(false);
            // The digest first: bytes that are not the ones asked for were damaged or swapped on the way
            // (worth another try), whether or not they still parse; only the right bytes can be an invalid manifest.
            Digest.TryParse(RegistryResponses.HeaderValue(response, "Docker-Content-Digest"), out var announced);
            Digest.TryParse(reference, out var asked);
            var expected = asked ?? announced;
            var actual = DigestCalculator.Sha256(bytes);
            if (expected is not null && expected.Algorithm == "sha256" && expected != actual)
                throw new DigestMismatchException(expected, $"the manifest served for {Registry}/{repository}:{reference} hashes to {actual}");
            Manifest manifest;
            try
            {
                manifest = Manifest.Parse(bytes, response.Content?.Headers.ContentType?.MediaType, actual);
            }
            catch (FormatException e) when (e.InnerException is JsonException)
            {
                // Not JSON at all is how a body cut short (or garbled by a proxy) looks when no digest was there to catch it.
                throw new RegistryException(ErrorIds.RegistryResponseInvalid, $"{Registry}/{repository}:{reference}: {e.Message}", e);
            }
            catch (Exception e) when (e is FormatException || e is NotSupportedException)
            {
                throw new RegistryException(ErrorIds.ManifestInvalid, $"{Registry}/{repository}:{reference}: {e.Message}", e);
            }
            return manifest;
        }

        /// <summary>PUT manifest bytes unchanged under a tag or its digest.</summary>
        public Task PutManifestAsync(string repository, string reference, Manifest manifest, CancellationToken ct) => _send.Scrubbed(PutManifestCoreAsync(repository, reference, manifest, ct));

        private async Task PutManifestCoreAsync(string repository, string reference, Manifest manifest, CancellationToken ct)
        {
            RequestNames.CheckReference(reference);
            var content = new ByteArrayContent(manifest.Bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue(manifest.MediaType);
            using var response = await _send.SendAsync(HttpMethod.Put, repository, $"manifests/{reference}", RequestScope.PullPush(repository), ct, content: content).ConfigureAwait(false);
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.ManifestInvalid).ConfigureAwait(false);
            if (Digest.TryParse(RegistryResponses.HeaderValue(response, "Docker-Content-Digest"), out var stored) && stored != manifest.Digest)
                throw new DigestMismatchException(manifest.Digest, $"{Registry} stored the manifest as {stored}");
        }

        /// <summary>
        /// DELETE a manifest by tag or digest (-Prune). By digest the registry removes the manifest and every tag
        /// pointing to it; by tag, where supported (OCI distribution 1.1), only the tag — distribution 2.8 refuses a
        /// tag with 400 DIGEST_INVALID. 405 or UNSUPPORTED (deletes disabled) is <see cref="ErrorIds.RegistryDeleteUnsupported"/>.
        /// </summary>
        public Task DeleteManifestAsync(string repository, string reference, CancellationToken ct) => _send.Scrubbed(DeleteManifestCoreAsync(repository, reference, ct));

        private async Task DeleteManifestCoreAsync(string repository, string reference, CancellationToken ct)
        {
            RequestNames.CheckReference(reference);
            using var response = await _send.SendAsync(HttpMethod.Delete, repository, $"manifests/{reference}", RequestScope.Delete(repository), ct).ConfigureAwait(false);
            if (response.IsSuccessStatusCode) return;
            var error = await RegistryResponses.ErrorAsync(response, ErrorIds.ManifestNotFound).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.MethodNotAllowed || error.Codes.Contains("UNSUPPORTED"))
                throw new RegistryException(ErrorIds.RegistryDeleteUnsupported, HttpMethod.Delete, response.RequestMessage!.RequestUri!, response.StatusCode, error.Codes,
                    $"{Registry} does not delete manifests (with distribution, set storage.delete.enabled: true)");
            // 400 DIGEST_INVALID for a tag is "tags are deleted by digest here", not a damaged digest.
            if (response.StatusCode == HttpStatusCode.BadRequest)
                throw new RegistryException(ErrorIds.RegistryProtocolError, HttpMethod.Delete, response.RequestMessage!.RequestUri!, response.StatusCode, error.Codes,
                    $"{Registry} refused to delete {repository}:{reference}");
            throw error;
        }

        // ---- blobs -----------------------------------------------------------------------

        /// <summary>HEAD a blob; false when the repository does not have it.</summary>
        public Task<bool> BlobExistsAsync(string repository, Digest digest, CancellationToken ct) => _send.Scrubbed(BlobExistsCoreAsync(repository, digest, ct));

        private async Task<bool> BlobExistsCoreAsync(string repository, Digest digest, CancellationToken ct)
        {
            using var response = await _send.SendAsync(HttpMethod.Head, repository, $"blobs/{digest}", RequestScope.Pull(repository), ct).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound) return false;
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.BlobNotFound).ConfigureAwait(false);
            return true;
        }

        /// <summary>
        /// Opens a blob for streaming. The returned stream verifies size and digest as it is read and
        /// throws at the end on a mismatch. <paramref name="onBytes"/> reports progress.
        /// </summary>
        public async Task<Stream> OpenBlobAsync(string repository, Descriptor blob, Action<long>? onBytes, CancellationToken ct) =>
            await _send.Scrubbed(OpenBlobCoreAsync(repository, blob, onBytes, ct)).ConfigureAwait(false);

        Task<VerifyingStream> Stores.IImageStore.OpenBlobAsync(string repository, Descriptor blob, Action<long>? onBytes, CancellationToken ct) =>
            _send.Scrubbed(OpenBlobCoreAsync(repository, blob, onBytes, ct));

        private async Task<VerifyingStream> OpenBlobCoreAsync(string repository, Descriptor blob, Action<long>? onBytes, CancellationToken ct)
        {
            var response = await _send.SendAsync(HttpMethod.Get, repository, $"blobs/{blob.Digest}", RequestScope.Pull(repository), ct, streamBody: true).ConfigureAwait(false);
            try
            {
                await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.BlobNotFound).ConfigureAwait(false);
                var stream = await response.Content!.ReadAsStreamAsync().ConfigureAwait(false);
                return new VerifyingStream(stream, blob.Digest, blob.Size, onBytes, response)
                {
                    ReadIdleTimeout = _options.BlobIdleTimeout,
                    MinimumRate = _options.MinimumTransferRate,
                    RateWindow = _options.TransferRateWindow,
                };
            }
            catch
            {
                response.Dispose();
                throw;
            }
        }

        /// <summary>
        /// Asks the registry to link a blob from another of its repositories (<paramref name="fromRepository"/>);
        /// declined — or with null, where nothing is asked — the answer's upload session is returned for the upload.
        /// </summary>
        public Task<MountResult> MountBlobAsync(string repository, Digest digest, string? fromRepository, CancellationToken ct) => _send.Scrubbed(MountBlobCoreAsync(repository, digest, fromRepository, ct));

        private async Task<MountResult> MountBlobCoreAsync(string repository, Digest digest, string? fromRepository, CancellationToken ct)
        {
            var scope = RequestScope.PullPush(repository);
            // Without a repository to mount from, a plain upload start: a mount without from is optional in
            // OCI distribution 1.1, and a registry that does not know it may refuse the request.
            var path = "blobs/uploads/";
            if (fromRepository != null)
            {
                RequestNames.CheckRepository(fromRepository);
                scope += " " + RequestScope.Pull(fromRepository);
                path += $"?mount={Uri.EscapeDataString(digest.ToString())}&from={Uri.EscapeDataString(fromRepository)}";
            }
            using var response = await _send.SendAsync(HttpMethod.Post, repository, path, scope, ct, content: new ByteArrayContent(Array.Empty<byte>())).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Created) return new MountResult(true, null);
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.BlobNotFound).ConfigureAwait(false);
            return new MountResult(false, RegistryResponses.UploadLocation(response));
        }

        /// <summary>
        /// Uploads a blob: POST for an upload session (unless one is given), then one streaming PUT
        /// with the digest. The body is not buffered, so the request is not replayed on failure;
        /// the caller retries the whole blob from a fresh source stream.
        /// </summary>
        public Task UploadBlobAsync(string repository, Descriptor blob, Stream content, Uri? uploadLocation, CancellationToken ct) => _send.Scrubbed(UploadBlobCoreAsync(repository, blob, content, uploadLocation, ct));

        private async Task UploadBlobCoreAsync(string repository, Descriptor blob, Stream content, Uri? uploadLocation, CancellationToken ct)
        {
            if (uploadLocation == null)
            {
                using var start = await _send.SendAsync(HttpMethod.Post, repository, "blobs/uploads/", RequestScope.PullPush(repository), ct,
                    content: new ByteArrayContent(Array.Empty<byte>())).ConfigureAwait(false);
                await RegistryResponses.EnsureSuccessAsync(start, ErrorIds.RegistryProtocolError).ConfigureAwait(false);
                uploadLocation = RegistryResponses.UploadLocation(start);
            }

            // The one check of every upload target, whether the POST or a declined mount gave it.
            uploadLocation = RegistryResponses.CheckUploadLocation(uploadLocation, await GetBaseUriAsync(ct).ConfigureAwait(false));
            var target = new UriBuilder(uploadLocation);
            var digestParam = "digest=" + Uri.EscapeDataString(blob.Digest.ToString());
            target.Query = string.IsNullOrEmpty(target.Query) ? digestParam : target.Query.TrimStart('?') + "&" + digestParam;
            // A small blob needs no megabyte of buffer (thousands of config blobs go 32 at a time per registry).
            var body = new StreamContent(content, blob.Size >= 0 ? (int)Math.Min(UploadBufferSize, Math.Max(4096, blob.Size)) : UploadBufferSize);
            body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            if (blob.Size >= 0) body.Headers.ContentLength = blob.Size;
            using var request = new HttpRequestMessage(HttpMethod.Put, target.Uri) { Content = body };
            RequestScope.Set(request, RequestScope.PullPush(repository));
            using var response = await _send.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.RegistryProtocolError).ConfigureAwait(false);
        }

        // ---- as an image store --------------------------------------------------------------

        // A declined mount opens an upload session; the next put of that blob into that repository uses it.
        private readonly ConcurrentDictionary<string, Uri> _declinedMounts = new ConcurrentDictionary<string, Uri>(StringComparer.Ordinal);

        string Stores.IImageStore.Name => Registry;
        bool Stores.IImageStore.CanMount => true;

        Task Stores.IImageStore.PutManifestAsync(string repository, string reference, Manifest manifest, bool child, CancellationToken ct) =>
            PutManifestAsync(repository, reference, manifest, ct);

        async Task<bool> Stores.IImageStore.TryMountBlobAsync(string repository, Digest digest, string? fromRepository, CancellationToken ct)
        {
            var mount = await MountBlobAsync(repository, digest, fromRepository, ct).ConfigureAwait(false);
            if (!mount.Mounted && mount.UploadLocation != null) _declinedMounts[repository + "@" + digest] = mount.UploadLocation;
            return mount.Mounted;
        }

        Task Stores.IImageStore.PutBlobAsync(string repository, Descriptor blob, Stream content, CancellationToken ct)
        {
            // Taken once: the put after a declined mount uses its session; a put that fails is retried with a fresh one.
            _declinedMounts.TryRemove(repository + "@" + blob.Digest, out var location);
            return UploadBlobAsync(repository, blob, content, location, ct);
        }

        /// <summary>
        /// Cancels the upload sessions that declined mounts opened and no upload used (the blob's copy failed or
        /// the run was stopped): a registry otherwise keeps each one, with its temporary storage, until it purges
        /// old uploads (distribution: after a week). Best effort; a failure is logged, not raised.
        /// </summary>
        internal async Task AbandonUploadsAsync(CancellationToken ct)
        {
            foreach (var key in _declinedMounts.Keys)
            {
                if (!_declinedMounts.TryRemove(key, out var location)) continue;
                var repository = key.Substring(0, key.LastIndexOf('@'));
                try
                {
                    var target = RegistryResponses.CheckUploadLocation(location, await GetBaseUriAsync(ct).ConfigureAwait(false));
                    using var request = new HttpRequestMessage(HttpMethod.Delete, target);
                    RequestScope.Set(request, RequestScope.PullPush(repository));
                    using var response = await _send.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                    _log.Write(OciLogLevel.Verbose, $"{Registry}/{repository}: an unused upload session was cancelled ({(int)response.StatusCode}).");
                }
                catch (Exception e)
                {
                    _log.Write(OciLogLevel.Verbose, $"{Registry}/{repository}: an unused upload session could not be cancelled ({_send.Scrub(e).Message}).");
                }
            }
        }

        IAsyncEnumerable<string> Stores.IImageStore.ListTagsAsync(string repository, CancellationToken ct) => ListTagsAsync(repository, ct);

        void Stores.IImageStore.ForgetFailures() => ForgetFailedPing();

        Task Stores.IImageStore.FlushAsync(CancellationToken ct) => Task.CompletedTask;

        // ---- tags ------------------------------------------------------------------------

        /// <summary>
        /// Every tag of a repository, following <c>Link</c> pagination. Listed names are untrusted: a
        /// tag that breaks the grammar (<c>../../other/manifests/x</c>) is skipped with a warning, and a
        /// next page must be this repository's tag list on this registry's origin, never seen before.
        /// </summary>
        public async IAsyncEnumerable<string> ListTagsAsync(string repository, [EnumeratorCancellation] CancellationToken ct = default)
        {
            RequestNames.CheckRepository(repository);
            var baseUri = await _send.Scrubbed(GetBaseUriAsync(ct)).ConfigureAwait(false);
            var pages = ListPages.ForTags(Registry, repository, baseUri, _options.MaxTagPages, _options.MaxTags);
            var first = new Uri(baseUri, $"v2/{repository}/tags/list?n={_options.TagPageSize}");
            await foreach (var tag in PagesAsync(pages, first, page => FetchTagPageAsync(repository, page, ct), ct).ConfigureAwait(false)) yield return tag;
            if (pages.Skipped > 0)
                _log.Write(OciLogLevel.Warning, $"{Registry}/{repository}: skipped {pages.Skipped} listed tag(s) that are not valid tag names, e.g. {UntrustedText.Quote(pages.FirstSkipped!)}.");
        }

        /// <summary>
        /// The one pager of every listing: each next page passes <paramref name="pages"/> (same list, same
        /// origin, never twice, capped) before it is asked for, and each listed name before it is yielded.
        /// </summary>
        private async IAsyncEnumerable<string> PagesAsync(ListPages pages, Uri first, Func<Uri, Task<(List<string> Names, Uri? Next)>> fetch,
            [EnumeratorCancellation] CancellationToken ct)
        {
            Uri? next = first;
            while (next != null)
            {
                Uri visit;
                try { visit = pages.Visit(next); } // once per page, however often a damaged answer makes us ask
                catch (RegistryException e) { throw _send.Scrub(e); }
                var (page, following) = await _send.Scrubbed(_send.RetryDamagedAsync($"GET {RegistryException.Redact(visit)}", () => fetch(visit), ct)).ConfigureAwait(false);
                next = following;
                foreach (var name in page)
                    if (pages.Accept(name)) yield return name;
            }
        }

        private async Task<(List<string> Tags, Uri? Next)> FetchTagPageAsync(string repository, Uri page, CancellationToken ct)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, page);
            RequestScope.Set(request, RequestScope.Pull(repository));
            using var response = await _send.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
                throw await RegistryResponses.ErrorAsync(response, ErrorIds.RepositoryNotFound).ConfigureAwait(false);
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.RepositoryNotFound).ConfigureAwait(false);
            return (await RegistryResponses.ReadTagsAsync(response).ConfigureAwait(false), RegistryResponses.NextLink(response, page));
        }

        // ---- the catalog -----------------------------------------------------------------

        IAsyncEnumerable<string> Stores.IRepositoryLister.ListRepositoriesAsync(CancellationToken ct) => ListRepositoriesAsync(ct);

        /// <summary>
        /// Every repository of the registry, from <c>/v2/_catalog</c> following <c>Link</c> pagination through the
        /// same pager as tags (same origin, never twice, capped). Listed names are untrusted: one that is not a
        /// valid repository path is skipped with a warning. A registry that refuses the catalog (401/403 after
        /// authentication: <see cref="ErrorIds.RegistryCatalogRefused"/>) or does not offer one (404, 405,
        /// <c>UNSUPPORTED</c>, Docker Hub: <see cref="ErrorIds.RegistryCatalogUnsupported"/>) says so by name.
        /// </summary>
        public async IAsyncEnumerable<string> ListRepositoriesAsync([EnumeratorCancellation] CancellationToken ct = default)
        {
            // Docker Hub answers /v2/_catalog with an error for everyone: say so without asking.
            if (Registry == ImageReference.DockerHub) throw _send.Scrub(CatalogUnsupported("Docker Hub offers no repository catalog", null));
            var baseUri = await _send.Scrubbed(GetBaseUriAsync(ct)).ConfigureAwait(false);
            var pages = ListPages.ForCatalog(Registry, baseUri, _options.MaxTagPages, _options.MaxRepositories);
            var first = new Uri(baseUri, $"v2/_catalog?n={_options.CatalogPageSize}");
            var count = 0;
            await foreach (var name in PagesAsync(pages, first, page => FetchCatalogPageAsync(page, ct), ct).ConfigureAwait(false))
            {
                count++;
                yield return name;
            }
            if (pages.Skipped > 0)
                _log.Write(OciLogLevel.Warning, $"{Registry}: skipped {pages.Skipped} catalog entr(ies) that are not valid repository names, e.g. {UntrustedText.Quote(pages.FirstSkipped!)}.");
            _log.Write(OciLogLevel.Verbose, $"{Registry}: the catalog lists {count} repositor{(count == 1 ? "y" : "ies")}.");
        }

        private async Task<(List<string> Names, Uri? Next)> FetchCatalogPageAsync(Uri page, CancellationToken ct)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, page);
            RequestScope.Set(request, RequestScope.Catalog);
            using var response = await _send.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var error = await RegistryResponses.ErrorAsync(response, ErrorIds.RegistryCatalogUnsupported).ConfigureAwait(false);
                var status = response.StatusCode;
                if (status == HttpStatusCode.Unauthorized || status == HttpStatusCode.Forbidden)
                    throw new RegistryException(ErrorIds.RegistryCatalogRefused,
                        $"{Registry} refused to list its repositories to {CredentialDescription} ({error.Message}). A '/*' source needs the catalog " +
                        "(a Bearer token with scope registry:catalog:*, which registries often grant to administrators only): give a credential that may read it, " +
                        "or name the repositories as rules of their own.", error);
                if (status == HttpStatusCode.NotFound || status == HttpStatusCode.MethodNotAllowed || System.Linq.Enumerable.Contains(error.Codes, "UNSUPPORTED"))
                    throw CatalogUnsupported($"{Registry} does not offer a repository catalog ({error.Message})", error);
                throw error; // 429, 5xx and the like: the registry's passing trouble, retried as any request is
            }
            return (await RegistryResponses.ReadNamesAsync(response, "repositories", "catalog").ConfigureAwait(false), RegistryResponses.NextLink(response, page));
        }

        private static RegistryException CatalogUnsupported(string why, Exception? inner) => new RegistryException(ErrorIds.RegistryCatalogUnsupported,
            why + ". A '/*' source expands through /v2/_catalog, so it cannot be used with this registry: name the repositories as rules of their own.", inner);

        // ---- the host --------------------------------------------------------------------

        /// <summary>The registry's base URL once pinged (the ping is shared by every request of this client).</summary>
        public Task<Uri> GetBaseUriAsync(CancellationToken ct) => _send.Ping.GetBaseUriAsync(ct);

        /// <summary>The next request pings again if the last ping failed.</summary>
        public void ForgetFailedPing() => _send.Ping.ForgetFailure();
    }
}
