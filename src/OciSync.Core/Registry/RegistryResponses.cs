using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Transport;

namespace OciSync.Core.Registry
{
    /// <summary>Reading registry responses: errors into typed exceptions, bounded bodies, paging and upload headers.</summary>
    internal static class RegistryResponses
    {
        internal static async Task<List<string>> ReadTagsAsync(HttpResponseMessage response)
        {
            var tags = new List<string>();
            var json = await response.Content!.ReadAsStringAsync().ConfigureAwait(false);
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.TryGetProperty("tags", out var arr) && arr.ValueKind == JsonValueKind.Array)
                foreach (var t in arr.EnumerateArray())
                    if (t.ValueKind == JsonValueKind.String) tags.Add(t.GetString()!);
            return tags;
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
                    var target = part.Substring(open + 1, close - open - 1);
                    return new Uri(current, target);
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
                    body = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            }
            catch (Exception) { /* the status alone still explains the failure */ }
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

        internal static async Task<byte[]> ReadLimitedAsync(HttpResponseMessage response, int limit, CancellationToken ct)
        {
            if (response.Content == null) return Array.Empty<byte>();
            if (response.Content.Headers.ContentLength > limit)
                throw new RegistryException(ErrorIds.ManifestInvalid, $"The manifest at {RegistryException.Redact(response.RequestMessage!.RequestUri!)} is larger than {limit} bytes.");
            using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int n;
            while ((n = await stream.ReadAsync(chunk, 0, chunk.Length, ct).ConfigureAwait(false)) > 0)
            {
                buffer.Write(chunk, 0, n);
                if (buffer.Length > limit)
                    throw new RegistryException(ErrorIds.ManifestInvalid, $"The manifest at {RegistryException.Redact(response.RequestMessage!.RequestUri!)} is larger than {limit} bytes.");
            }
            return buffer.ToArray();
        }

        internal static Uri UploadLocation(HttpResponseMessage response)
        {
            var location = response.Headers.Location ?? throw new RegistryException(ErrorIds.RegistryProtocolError,
                $"{RegistryException.Redact(response.RequestMessage!.RequestUri!)} started an upload without a Location.");
            return location.IsAbsoluteUri ? location : new Uri(response.RequestMessage!.RequestUri!, location);
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
