using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Content;
using OciSync.Core.References;
using OciSync.Core.Transport;

namespace OciSync.Core.Registry
{
    // The OCI 1.1 referrers API: listing a manifest's referrers, and pushing one so the registry indexes it.
    public sealed partial class RegistryClient
    {
        // Settled by the first answer: a registry without the API answers 404 to every such request.
        private volatile bool _noReferrersApi;

        /// <summary>
        /// The referrers of <paramref name="subject"/> as the registry's referrers API lists them
        /// (<c>GET /v2/&lt;name&gt;/referrers/&lt;digest&gt;</c>); null when the registry has no such API
        /// (404 or 405: then the referrers tag schema is the way). Untrusted: the caller checks each
        /// referrer's subject when it fetches it. <paramref name="artifactType"/> is passed on as the filter;
        /// the registry may ignore it, so the caller filters again.
        /// </summary>
        public Task<IReadOnlyList<Descriptor>?> ListReferrersAsync(string repository, Digest subject, string? artifactType, CancellationToken ct) =>
            _send.Scrubbed(ListReferrersCoreAsync(repository, subject, artifactType, ct));

        private async Task<IReadOnlyList<Descriptor>?> ListReferrersCoreAsync(string repository, Digest subject, string? artifactType, CancellationToken ct)
        {
            if (_noReferrersApi) return null;
            RequestNames.CheckRepository(repository);
            var path = $"referrers/{subject}";
            if (artifactType != null) path += "?artifactType=" + Uri.EscapeDataString(artifactType);
            using var response = await _send.SendAsync(HttpMethod.Get, repository, path, RequestScope.Pull(repository), ct,
                accept: new[] { MediaTypes.OciIndex }).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound || response.StatusCode == HttpStatusCode.MethodNotAllowed)
            {
                if (!_noReferrersApi) _log.Write(OciLogLevel.Verbose, $"{Registry}: no referrers API ({(int)response.StatusCode}); referrers are found by the tag schema.");
                _noReferrersApi = true;
                return null;
            }
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.ManifestNotFound).ConfigureAwait(false);
            var bytes = await RegistryResponses.ReadLimitedAsync(response, _options.MaxManifestBytes, _options.Retry.ResponseTimeout, ct).ConfigureAwait(false);
            Manifest index;
            try
            {
                index = Manifest.Parse(bytes, MediaTypes.OciIndex);
            }
            catch (Exception e) when (e is FormatException || e is NotSupportedException)
            {
                throw new RegistryException(ErrorIds.RegistryResponseInvalid, $"{Registry}/{repository}: the referrers of {subject} are not a valid index: {e.Message}", e);
            }
            if (!index.IsIndex)
                throw new RegistryException(ErrorIds.RegistryResponseInvalid, $"{Registry}/{repository}: the referrers of {subject} are not an image index.");
            if (response.Headers.Contains("Link"))
                _log.Write(OciLogLevel.Warning, $"{Registry}/{repository}: the referrers of {subject} are paged; only the first page is followed.");
            return index.Children;
        }

        /// <summary>
        /// PUTs a manifest that names a subject, by its digest. True when the registry says it indexed it
        /// under that subject (the <c>OCI-Subject</c> answer of OCI 1.1); false when the caller must add it to
        /// the subject's referrers tag itself.
        /// </summary>
        public Task<bool> PutReferrerAsync(string repository, Manifest manifest, CancellationToken ct) => _send.Scrubbed(PutReferrerCoreAsync(repository, manifest, ct));

        private async Task<bool> PutReferrerCoreAsync(string repository, Manifest manifest, CancellationToken ct)
        {
            var content = new ByteArrayContent(manifest.Bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue(manifest.MediaType);
            using var response = await _send.SendAsync(HttpMethod.Put, repository, $"manifests/{manifest.Digest}", RequestScope.PullPush(repository), ct, content: content).ConfigureAwait(false);
            await RegistryResponses.EnsureSuccessAsync(response, ErrorIds.ManifestInvalid).ConfigureAwait(false);
            if (Digest.TryParse(RegistryResponses.HeaderValue(response, "Docker-Content-Digest"), out var stored) && stored != manifest.Digest)
                throw new DigestMismatchException(manifest.Digest, $"{Registry} stored the manifest as {stored}");
            return manifest.Subject != null && Digest.TryParse(RegistryResponses.HeaderValue(response, "OCI-Subject"), out var indexed) && indexed == manifest.Subject.Digest;
        }

        Task<IReadOnlyList<Descriptor>?> Stores.IImageStore.ListReferrersAsync(string repository, Digest subject, string? artifactType, CancellationToken ct) =>
            ListReferrersAsync(repository, subject, artifactType, ct);

        Task<bool> Stores.IImageStore.PutReferrerAsync(string repository, Manifest manifest, CancellationToken ct) => PutReferrerAsync(repository, manifest, ct);
    }
}
