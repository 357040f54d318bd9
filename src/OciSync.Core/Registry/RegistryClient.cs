using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
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
    /// </summary>
    public sealed class RegistryClient : Stores.IImageStore
    {
        /// <summary>
        /// Copy buffer of one blob upload (rented from the shared pool per transfer, so memory stays at
        /// most concurrency × this). Large chunks mean fewer socket reads, hash updates and writes per GB.
        /// </summary>
        internal const int UploadBufferSize = 1024 * 1024;
        private readonly RegistryClientOptions _options;
        private readonly RegistryCredential? _credential;
        private readonly HttpMessageInvoker _pingClient;
        private readonly HttpMessageInvoker _probeClient;
        private readonly HttpMessageInvoker _client;
        private readonly AuthHandler _auth;
        private readonly IOciLog _log;
        private readonly SecretScrubber _scrubber;
        private readonly bool _allowPlainHttp;
        private readonly RequestStatistics _statistics;
        private readonly object _pingLock = new object();
        private Task<Uri>? _ping;

        internal RegistryClient(string registry, RegistryCredential? credential, RegistryClientOptions options, IOciLog log, SecretScrubber scrubber, RequestStatistics? statistics = null)
        {
            _statistics = statistics ?? new RequestStatistics();
            Registry = registry;
            _options = options;
            _log = log;
            _scrubber = scrubber;
            _credential = credential;
            Insecure = credential?.Insecure ?? false;
            _allowPlainHttp = Insecure || IsLoopback(EndpointHost);

            var socket = options.SocketHandlerFactory?.Invoke(Insecure) ?? SocketHandlers.Get(Insecure);
            HttpMessageHandler observed = options.RequestObserver != null ? new ObservingHandler(options.RequestObserver, socket) : socket;
            var redirect = new RedirectHandler(observed);
            // The invokers never dispose their chain: the socket handler below is shared process-wide.
            var pingRetry = options.Retry.WithResponseTimeout(options.PingTimeout);
            _pingClient = new HttpMessageInvoker(new RetryHandler(pingRetry, log, redirect, _statistics), disposeHandler: false);
            // One try only (when HTTPS is refused, plain HTTP is next, not a backoff), with the same deadline.
            _probeClient = new HttpMessageInvoker(new RetryHandler(pingRetry.WithoutRetries(), log, redirect), disposeHandler: false);
            _auth = new AuthHandler(credential, _pingClient, _allowPlainHttp, options.PingTimeout, log, scrubber, redirect);
            _client = new HttpMessageInvoker(new RetryHandler(options.Retry, log, _auth, _statistics), disposeHandler: false);
        }

        /// <summary>The registry as users name it (<c>docker.io</c>, <c>127.0.0.1:5000</c>).</summary>
        public string Registry { get; }
        public string EndpointHost => Registry == ImageReference.DockerHub ? ImageReference.DockerHubEndpoint : Registry;
        public bool Insecure { get; }
        public string CredentialDescription => _credential == null || _credential.IsAnonymous ? "anonymous" : $"{_credential.Username} (from {_credential.Key})";

        // ---- manifests -------------------------------------------------------------------

        /// <summary>HEAD a manifest by tag or digest; null when the registry does not have it.</summary>
        public Task<ManifestHead?> HeadManifestAsync(string repository, string reference, CancellationToken ct) => Scrubbed(HeadManifestCoreAsync(repository, reference, ct));

        private async Task<ManifestHead?> HeadManifestCoreAsync(string repository, string reference, CancellationToken ct)
        {
            RequestNames.CheckReference(reference);
            using var response = await SendAsync(HttpMethod.Head, repository, $"manifests/{reference}", RequestScope.Pull(repository), ct,
                accept: MediaTypes.AllManifests).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound) return null;
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.ManifestNotFound).ConfigureAwait(false);
            Digest.TryParse(RegistryResponses.HeaderValue(response, "Docker-Content-Digest"), out var digest);
            return new ManifestHead(digest, Manifest.StripParameters(response.Content?.Headers.ContentType?.ToString()),
                response.Content?.Headers.ContentLength ?? -1);
        }

        /// <summary>GET a manifest; its bytes are checked against the digest asked for or announced.</summary>
        public Task<Manifest> GetManifestAsync(string repository, string reference, CancellationToken ct) =>
            Scrubbed(RetryDamagedAsync($"GET {Registry}/{repository}:{reference}", () => GetManifestCoreAsync(repository, reference, ct), ct));

        private async Task<Manifest> GetManifestCoreAsync(string repository, string reference, CancellationToken ct)
        {
            RequestNames.CheckReference(reference);
            using var response = await SendAsync(HttpMethod.Get, repository, $"manifests/{reference}", RequestScope.Pull(repository), ct,
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
        public Task PutManifestAsync(string repository, string reference, Manifest manifest, CancellationToken ct) => Scrubbed(PutManifestCoreAsync(repository, reference, manifest, ct));

        private async Task PutManifestCoreAsync(string repository, string reference, Manifest manifest, CancellationToken ct)
        {
            RequestNames.CheckReference(reference);
            var content = new ByteArrayContent(manifest.Bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue(manifest.MediaType);
            using var response = await SendAsync(HttpMethod.Put, repository, $"manifests/{reference}", RequestScope.PullPush(repository), ct, content: content).ConfigureAwait(false);
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.ManifestInvalid).ConfigureAwait(false);
            if (Digest.TryParse(RegistryResponses.HeaderValue(response, "Docker-Content-Digest"), out var stored) && stored != manifest.Digest)
                throw new DigestMismatchException(manifest.Digest, $"{Registry} stored the manifest as {stored}");
        }

        // ---- blobs -----------------------------------------------------------------------

        public Task<bool> BlobExistsAsync(string repository, Digest digest, CancellationToken ct) => Scrubbed(BlobExistsCoreAsync(repository, digest, ct));

        private async Task<bool> BlobExistsCoreAsync(string repository, Digest digest, CancellationToken ct)
        {
            using var response = await SendAsync(HttpMethod.Head, repository, $"blobs/{digest}", RequestScope.Pull(repository), ct).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound) return false;
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.BlobNotFound).ConfigureAwait(false);
            return true;
        }

        /// <summary>
        /// Opens a blob for streaming. The returned stream verifies size and digest as it is read and
        /// throws at the end on a mismatch. <paramref name="onBytes"/> reports progress.
        /// </summary>
        public Task<VerifyingStream> OpenBlobAsync(string repository, Descriptor blob, Action<long>? onBytes, CancellationToken ct) => Scrubbed(OpenBlobCoreAsync(repository, blob, onBytes, ct));

        private async Task<VerifyingStream> OpenBlobCoreAsync(string repository, Descriptor blob, Action<long>? onBytes, CancellationToken ct)
        {
            var response = await SendAsync(HttpMethod.Get, repository, $"blobs/{blob.Digest}", RequestScope.Pull(repository), ct, streamBody: true).ConfigureAwait(false);
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

        /// <summary>Asks the registry to link a blob from another of its repositories.</summary>
        public Task<MountResult> MountBlobAsync(string repository, Digest digest, string fromRepository, CancellationToken ct) => Scrubbed(MountBlobCoreAsync(repository, digest, fromRepository, ct));

        private async Task<MountResult> MountBlobCoreAsync(string repository, Digest digest, string fromRepository, CancellationToken ct)
        {
            RequestNames.CheckRepository(fromRepository);
            var scope = RequestScope.PullPush(repository) + " " + RequestScope.Pull(fromRepository);
            var path = $"blobs/uploads/?mount={Uri.EscapeDataString(digest.ToString())}&from={Uri.EscapeDataString(fromRepository)}";
            using var response = await SendAsync(HttpMethod.Post, repository, path, scope, ct, content: new ByteArrayContent(Array.Empty<byte>())).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Created) return new MountResult(true, null);
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.BlobNotFound).ConfigureAwait(false);
            return new MountResult(false, RegistryResponses.UploadLocation(response));
        }

        /// <summary>
        /// Uploads a blob: POST for an upload session (unless one is given), then one streaming PUT
        /// with the digest. The body is not buffered, so the request is not replayed on failure;
        /// the caller retries the whole blob from a fresh source stream.
        /// </summary>
        public Task UploadBlobAsync(string repository, Descriptor blob, Stream content, Uri? uploadLocation, CancellationToken ct) => Scrubbed(UploadBlobCoreAsync(repository, blob, content, uploadLocation, ct));

        private async Task UploadBlobCoreAsync(string repository, Descriptor blob, Stream content, Uri? uploadLocation, CancellationToken ct)
        {
            if (uploadLocation == null)
            {
                using var start = await SendAsync(HttpMethod.Post, repository, "blobs/uploads/", RequestScope.PullPush(repository), ct,
                    content: new ByteArrayContent(Array.Empty<byte>())).ConfigureAwait(false);
                await RegistryResponses.EnsureSuccessAsync(start, ErrorIds.RegistryProtocolError).ConfigureAwait(false);
                uploadLocation = RegistryResponses.UploadLocation(start);
            }

            // The one check of every upload target, whether the POST or a declined mount gave it.
            uploadLocation = RegistryResponses.CheckUploadLocation(uploadLocation, await GetBaseUriAsync(ct).ConfigureAwait(false));
            var target = new UriBuilder(uploadLocation);
            var digestParam = "digest=" + Uri.EscapeDataString(blob.Digest.ToString());
            target.Query = string.IsNullOrEmpty(target.Query) ? digestParam : target.Query.TrimStart('?') + "&" + digestParam;
            var body = new StreamContent(content, UploadBufferSize);
            body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            if (blob.Size >= 0) body.Headers.ContentLength = blob.Size;
            using var request = new HttpRequestMessage(HttpMethod.Put, target.Uri) { Content = body };
            RequestScope.Set(request, RequestScope.PullPush(repository));
            using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.RegistryProtocolError).ConfigureAwait(false);
        }

        // ---- as an image store --------------------------------------------------------------

        // A declined mount opens an upload session; the next put of that blob into that repository uses it.
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Uri> _declinedMounts = new System.Collections.Concurrent.ConcurrentDictionary<string, Uri>(StringComparer.Ordinal);

        string Stores.IImageStore.Name => Registry;
        bool Stores.IImageStore.CanMount => true;

        Task Stores.IImageStore.PutManifestAsync(string repository, string reference, Manifest manifest, bool child, CancellationToken ct) =>
            PutManifestAsync(repository, reference, manifest, ct);

        async Task<bool> Stores.IImageStore.TryMountBlobAsync(string repository, Digest digest, string fromRepository, CancellationToken ct)
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
            var baseUri = await Scrubbed(GetBaseUriAsync(ct)).ConfigureAwait(false);
            var pages = new TagPages(Registry, repository, baseUri, _options.MaxTagPages, _options.MaxTags);
            Uri? next = new Uri(baseUri, $"v2/{repository}/tags/list?n={_options.TagPageSize}");
            while (next != null)
            {
                Uri visit;
                try { visit = pages.Visit(next); } // once per page, however often a damaged answer makes us ask
                catch (RegistryException e) { throw _scrubber.Scrub(e); }
                var (page, following) = await Scrubbed(RetryDamagedAsync($"GET {RegistryException.Redact(visit)}", () => FetchTagPageAsync(repository, visit, ct), ct)).ConfigureAwait(false);
                next = following;
                foreach (var tag in page)
                    if (pages.Accept(tag)) yield return tag;
            }
            if (pages.Skipped > 0)
                _log.Write(OciLogLevel.Warning, $"{Registry}/{repository}: skipped {pages.Skipped} listed tag(s) that are not valid tag names, e.g. {UntrustedText.Quote(pages.FirstSkipped!)}.");
        }

        private async Task<(List<string> Tags, Uri? Next)> FetchTagPageAsync(string repository, Uri page, CancellationToken ct)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, page);
            RequestScope.Set(request, RequestScope.Pull(repository));
            using var response = await SendRawAsync(request, HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound)
                throw await RegistryResponses.ErrorAsync(response, ErrorIds.RepositoryNotFound).ConfigureAwait(false);
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.RepositoryNotFound).ConfigureAwait(false);
            return (await RegistryResponses.ReadTagsAsync(response).ConfigureAwait(false), RegistryResponses.NextLink(response, page));
        }

        // ---- plumbing ---------------------------------------------------------------------

        /// <summary>
        /// A 200 whose body is damaged — cut short, not JSON, or not the digest asked for — is a transient
        /// fault like a 503: asked again with the same backoff, logged and counted. (The retry handler
        /// below sees statuses and connection errors, not what the body turned out to be.)
        /// </summary>
        private async Task<T> RetryDamagedAsync<T>(string request, Func<Task<T>> attempt, CancellationToken ct)
        {
            for (var n = 1; ; n++)
            {
                try
                {
                    return await attempt().ConfigureAwait(false);
                }
                catch (Exception e) when (IsDamagedBody(e) && n <= _options.Retry.MaxAttempts && !ct.IsCancellationRequested)
                {
                    var wait = TimeSpan.FromTicks(Math.Min(_options.Retry.MaxDelay.Ticks, _options.Retry.BaseDelay.Ticks << Math.Min(n - 1, 20)));
                    _statistics.Retried();
                    _log.Write(OciLogLevel.Verbose, $"Retrying {request} ({n}/{_options.Retry.MaxAttempts}) after a damaged answer ({e.Message}), waiting {wait.TotalSeconds:0.0} s.");
                    await Task.Delay(wait, ct).ConfigureAwait(false);
                }
            }
        }

        private static bool IsDamagedBody(Exception e) =>
            e is DigestMismatchException || (e is RegistryException r && r.ErrorId == ErrorIds.RegistryResponseInvalid);

        /// <summary>
        /// Every exception leaving the client has the run's secrets masked: error bodies, Location and
        /// Link URLs are the registry's words and may echo a password or token.
        /// </summary>
        private async Task<T> Scrubbed<T>(Task<T> work)
        {
            try { return await work.ConfigureAwait(false); }
            catch (Exception e) when (!(e is OperationCanceledException) && !ReferenceEquals(_scrubber.Scrub(e), e)) { throw _scrubber.Scrub(e); }
        }

        private async Task Scrubbed(Task work)
        {
            try { await work.ConfigureAwait(false); }
            catch (Exception e) when (!(e is OperationCanceledException) && !ReferenceEquals(_scrubber.Scrub(e), e)) { throw _scrubber.Scrub(e); }
        }

        /// <summary>The registry's base URL once pinged. The ping is shared, so a caller that is cancelled stops waiting without cancelling it for others.</summary>
        public async Task<Uri> GetBaseUriAsync(CancellationToken ct)
        {
            Task<Uri> ping;
            lock (_pingLock)
            {
                // A failed ping is remembered, so every image of an unreachable registry fails at once
                // instead of each paying the retries again; ForgetFailedPing lets a later pass try anew.
                if (_ping == null || _ping.IsCanceled) _ping = PingAsync();
                ping = _ping;
            }
            if (ping.IsCompleted || !ct.CanBeCanceled) return await ping.ConfigureAwait(false);
            var cancelled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (ct.Register(() => cancelled.TrySetResult(true)))
            {
                if (await Task.WhenAny(ping, cancelled.Task).ConfigureAwait(false) != ping) ct.ThrowIfCancellationRequested();
            }
            return await ping.ConfigureAwait(false);
        }

        /// <summary>The next request pings again if the last ping failed.</summary>
        public void ForgetFailedPing()
        {
            lock (_pingLock)
            {
                if (_ping != null && _ping.IsFaulted) _ping = null;
            }
        }

        /// <summary>
        /// One /v2/ ping per client: picks HTTPS (or plain HTTP where allowed) and learns the auth
        /// challenge, so later requests carry credentials from the start.
        /// </summary>
        private async Task<Uri> PingAsync()
        {
            var https = new Uri($"https://{EndpointHost}/");
            _auth.Origin = https;
            try
            {
                return await PingAtAsync(https, _allowPlainHttp ? _probeClient : _pingClient).ConfigureAwait(false);
            }
            catch (RegistryException e) when (_allowPlainHttp && e.ErrorId == ErrorIds.RegistryUnreachable)
            {
                _log.Write(OciLogLevel.Verbose, $"{Registry}: HTTPS failed ({e.InnerException?.Message ?? e.Message}); using plain HTTP as the registry allows.");
                // Credentials follow the origin the ping settled on: plain HTTP is this host's only.
                var plain = new Uri($"http://{EndpointHost}/");
                _auth.Origin = plain;
                return await PingAtAsync(plain, _pingClient).ConfigureAwait(false);
            }
        }

        private async Task<Uri> PingAtAsync(Uri baseUri, HttpMessageInvoker client)
        {
            var uri = new Uri(baseUri, "v2/");
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.UserAgent.ParseAdd(_options.UserAgent);
            HttpResponseMessage response;
            try
            {
                response = await client.SendAsync(request, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception e) when (RequestScope.CertificateRejection(request) is { } rejected)
            {
                // Not retried over plain HTTP: a server that speaks TLS with an untrusted certificate is not a plain-HTTP registry.
                throw new RegistryException(ErrorIds.RegistryCertificateUntrusted, HttpMethod.Get, uri, null, Array.Empty<string>(),
                    $"the TLS certificate is not trusted ({rejected}). Mark the registry insecure (auth file 'insecure: true', New-RegistryCredential -Insecure) to skip the check.", e);
            }
            catch (Exception e) when (e is HttpRequestException || e is TimeoutException || e is IOException)
            {
                throw new RegistryException(ErrorIds.RegistryUnreachable, HttpMethod.Get, uri, null, Array.Empty<string>(), RegistryResponses.Flatten(e), e);
            }
            using (response)
            {
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    _auth.Challenge = AuthChallenge.From(response.Headers.WwwAuthenticate);
                    _log.Write(OciLogLevel.Verbose, $"{Registry}: {_auth.Challenge?.Scheme ?? "unknown"} authentication, {CredentialDescription}.");
                }
                else if (response.IsSuccessStatusCode)
                {
                    _log.Write(OciLogLevel.Verbose, $"{Registry}: no authentication required.");
                }
                else
                {
                    throw await RegistryResponses.ErrorAsync(response, ErrorIds.RegistryUnavailable).ConfigureAwait(false);
                }
            }
            return baseUri;
        }

        private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string repository, string path, string scope, CancellationToken ct,
            IEnumerable<string>? accept = null, HttpContent? content = null, bool streamBody = false)
        {
            RequestNames.CheckRepository(repository);
            var baseUri = await GetBaseUriAsync(ct).ConfigureAwait(false);
            var request = new HttpRequestMessage(method, new Uri(baseUri, $"v2/{repository}/{path}")) { Content = content };
            if (accept != null) foreach (var a in accept) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(a));
            RequestScope.Set(request, scope);
            return await SendRawAsync(request, streamBody ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        }

        /// <summary>The whole body in memory (JSON answers: tags, errors, uploads), bounded in size and time.</summary>
        private async Task<HttpContent> BufferAsync(HttpResponseMessage response, CancellationToken ct)
        {
            var bytes = await BodyReader.ReadAsync(response.Content, _options.MaxBufferedBodyBytes, _options.Retry.ResponseTimeout,
                $"The answer of {RegistryException.Redact(response.RequestMessage!.RequestUri!)}", ErrorIds.RegistryProtocolError, ct).ConfigureAwait(false);
            var buffered = new ByteArrayContent(bytes);
            foreach (var header in response.Content!.Headers) buffered.Headers.TryAddWithoutValidation(header.Key, header.Value);
            response.Content.Dispose();
            return buffered;
        }

        private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken ct)
        {
            request.Headers.UserAgent.ParseAdd(_options.UserAgent);
            HttpResponseMessage response;
            try
            {
                response = await _client.SendAsync(request, ct).ConfigureAwait(false);
                if (completion == HttpCompletionOption.ResponseContentRead && response.Content != null && request.Method != HttpMethod.Head)
                {
                    try { response.Content = await BufferAsync(response, ct).ConfigureAwait(false); }
                    catch { response.Dispose(); throw; }
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception e) when (RegistryResponses.Find<DigestMismatchException>(e) is { } mismatch)
            {
                throw mismatch; // the source stream failed verification while the upload read it
            }
            catch (Exception e) when (RegistryResponses.Find<TimeoutException>(e) is { } stalled && !(e is TimeoutException))
            {
                throw new RegistryException(ErrorIds.RegistryTimeout, request.Method, request.RequestUri!, null, Array.Empty<string>(), stalled.Message, e);
            }
            catch (Exception e) when (e is HttpRequestException || e is IOException || e is OperationCanceledException)
            {
                throw new RegistryException(ErrorIds.RegistryUnreachable, request.Method, request.RequestUri!, null, Array.Empty<string>(), RegistryResponses.Flatten(e), e);
            }
            catch (TimeoutException e)
            {
                throw new RegistryException(ErrorIds.RegistryTimeout, request.Method, request.RequestUri!, null, Array.Empty<string>(), e.Message, e);
            }
            return response;
        }

        internal static bool IsLoopback(string host)
        {
            var name = host;
            if (name.StartsWith("[", StringComparison.Ordinal)) name = name.Substring(1, Math.Max(0, name.IndexOf(']') - 1));
            else if (name.IndexOf(':') >= 0) name = name.Substring(0, name.LastIndexOf(':'));
            if (string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase)) return true;
            return IPAddress.TryParse(name, out var ip) && IPAddress.IsLoopback(ip);
        }
    }
}
