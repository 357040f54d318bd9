using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.References;
using OciSync.Core.Transport;

namespace OciSync.Core.Registry
{
    /// <summary>Reading registry responses: errors into typed exceptions, bounded bodies, paging and upload headers.</summary>
    internal static class RegistryResponses
    {
        // An error body only carries codes and a message.
        private const int MaxErrorBodyBytes = 64 * 1024;
        private static readonly TimeSpan ErrorBodyDeadline = TimeSpan.FromSeconds(10);

        internal static Task<List<string>> ReadTagsAsync(HttpResponseMessage response) => ReadNamesAsync(response, "tags", "tags list");

        /// <summary>The strings of the array <paramref name="property"/> of a JSON object (a tags list, a catalog page); other values are ignored.</summary>
        internal static async Task<List<string>> ReadNamesAsync(HttpResponseMessage response, string property, string what)
        {
            var names = new List<string>();
            var json = await response.Content!.ReadAsStringAsync().ConfigureAwait(false);
            try
            {
                using var doc = JsonDocument.Parse(json);
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw new RegistryException(ErrorIds.RegistryProtocolError, $"{RegistryException.Redact(response.RequestMessage!.RequestUri!)}: the {what} is not a JSON object.");
                if (doc.RootElement.TryGetProperty(property, out var arr) && arr.ValueKind == JsonValueKind.Array)
                    foreach (var t in arr.EnumerateArray())
                        if (t.ValueKind == JsonValueKind.String) names.Add(t.GetString()!);
            }
            catch (JsonException e)
            {
                throw new RegistryException(ErrorIds.RegistryResponseInvalid, $"{RegistryException.Redact(response.RequestMessage!.RequestUri!)}: the {what} is not valid JSON, cut short or garbled ({e.Message})", e);
            }
            return names;
        }

        /// <summary>Parses <c>Link: &lt;/v2/…?last=x&amp;n=100&gt;; rel="next"</c>.</summary>
        internal static Uri? NextLink(HttpResponseMessage response, Uri current)
        {
            if (!response.Headers.TryGetValues("Link", out var values)) return null;
            foreach (var value in values)
                foreach (var part in value.Split(','))
                {
                    var open = part.IndexOf('<');
                    var close = part.IndexOf('>');
                    if (open < 0 || close < open || part.IndexOf("rel=\"next\"", StringComparison.OrdinalIgnoreCase) < 0 && part.IndexOf("rel=next", StringComparison.OrdinalIgnoreCase) < 0) continue;
                    var target = part.Substring(open + 1, close - open - 1).Trim();
                    if (!Uri.TryCreate(current, target, out var next) || (next.Scheme != Uri.UriSchemeHttp && next.Scheme != Uri.UriSchemeHttps))
                        throw new RegistryException(ErrorIds.RegistryProtocolError, $"{RegistryException.Redact(current)}: the Link header's next page {UntrustedText.Quote(target)} is not an HTTP URL.");
                    return next;
                }
            return null;
        }

        internal static async Task EnsureSuccessAsync(HttpResponseMessage response, string notFoundId)
        {
            if (response.IsSuccessStatusCode) return;
            throw await ErrorAsync(response, notFoundId).ConfigureAwait(false);
        }

        internal static async Task<RegistryException> ErrorAsync(HttpResponseMessage response, string notFoundId)
        {
            string body = string.Empty;
            try
            {
                if (response.Content != null && response.RequestMessage?.Method != HttpMethod.Head)
                    body = Encoding.UTF8.GetString(await BodyReader.ReadAsync(response.Content, MaxErrorBodyBytes, ErrorBodyDeadline, "the error body", ErrorIds.RegistryProtocolError, CancellationToken.None).ConfigureAwait(false));
            }
            catch (Exception) { /* too long, too slow or broken: the status alone still explains the failure */ }
            var codes = RegistryException.ParseCodes(body, out var messages);
            var status = response.StatusCode;
            string id = status switch
            {
                HttpStatusCode.Unauthorized => ErrorIds.RegistryUnauthorized,
                HttpStatusCode.Forbidden => ErrorIds.RegistryForbidden,
                HttpStatusCode.NotFound when codes.Contains("NAME_UNKNOWN") => ErrorIds.RepositoryNotFound,
                HttpStatusCode.NotFound => notFoundId,
                (HttpStatusCode)429 => ErrorIds.RegistryRateLimited,
                HttpStatusCode.BadRequest when codes.Contains("MANIFEST_INVALID") || codes.Contains("MANIFEST_BLOB_UNKNOWN") || codes.Contains("BLOB_UNKNOWN") => ErrorIds.ManifestInvalid,
                HttpStatusCode.BadRequest when codes.Contains("DIGEST_INVALID") => ErrorIds.DigestMismatch,
                _ when (int)status >= 500 || status == HttpStatusCode.RequestTimeout => ErrorIds.RegistryUnavailable,
                _ => ErrorIds.RegistryProtocolError,
            };
            var request = response.RequestMessage!;
            return new RegistryException(id, request.Method, request.RequestUri!, status, codes, messages);
        }

        internal static Task<byte[]> ReadLimitedAsync(HttpResponseMessage response, int limit, TimeSpan deadline, CancellationToken ct) =>
            BodyReader.ReadAsync(response.Content, limit, deadline, $"The manifest at {RegistryException.Redact(response.RequestMessage!.RequestUri!)}", ErrorIds.ManifestInvalid, ct);

        internal static Uri UploadLocation(HttpResponseMessage response)
        {
            var location = response.Headers.Location ?? throw new RegistryException(ErrorIds.RegistryProtocolError,
                $"{RegistryException.Redact(response.RequestMessage!.RequestUri!)} started an upload without a Location.");
            return location.IsAbsoluteUri ? location : new Uri(response.RequestMessage!.RequestUri!, location);
        }

        /// <summary>
        /// Where an upload really goes: the registry's own origin (the one the ping chose) and API, with
        /// the path and query the registry gave. A Location on the registry's host with another scheme or
        /// port (a TLS-terminating proxy that says http://) is put back on that origin, never downgraded;
        /// another host, user info or a path outside /v2/ gets nothing sent.
        /// </summary>
        internal static Uri CheckUploadLocation(Uri location, Uri registry)
        {
            if (!string.Equals(location.IdnHost, registry.IdnHost, StringComparison.OrdinalIgnoreCase) || location.UserInfo.Length > 0 ||
                !location.AbsolutePath.StartsWith("/v2/", StringComparison.Ordinal))
                throw new RegistryException(ErrorIds.RegistryProtocolError,
                    $"{RegistryException.Redact(registry)} gave an upload Location outside its own API ({RegistryException.Redact(location)}); nothing is sent there.");
            return RedirectHandler.SameOrigin(location, registry) ? location
                : new UriBuilder(registry) { Path = location.AbsolutePath, Query = location.Query.TrimStart('?') }.Uri;
        }

        internal static string? HeaderValue(HttpResponseMessage response, string name) =>
            response.Headers.TryGetValues(name, out var v) ? v.FirstOrDefault() : null;

        internal static T? Find<T>(Exception e) where T : Exception
        {
            for (var x = e; x != null; x = x.InnerException) if (x is T t) return t;
            return null;
        }

        internal static string Flatten(Exception e)
        {
            var parts = new List<string>();
            for (var x = e; x != null; x = x.InnerException) parts.Add(x.Message);
            return string.Join(" → ", parts.Distinct());
        }
    }
}
