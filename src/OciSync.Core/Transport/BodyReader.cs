using System;
using System.IO;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.Core.Transport
{
    /// <summary>
    /// Reads a response body into memory with a size cap and a deadline. A registry or token server
    /// that stalls mid-body or sends without end yields an error, never a hung run or an unbounded
    /// buffer. (Blob bodies are never read here: they stream through the copier.)
    /// </summary>
    internal static class BodyReader
    {
        /// <param name="what">Names the body in errors, e.g. "the manifest at …".</param>
        /// <param name="tooLargeId">The error id when the body exceeds <paramref name="limit"/>.</param>
        public static async Task<byte[]> ReadAsync(HttpContent? content, int limit, TimeSpan deadline, string what, string tooLargeId, CancellationToken ct)
        {
            // Most upload and mount replies are empty: no buffer for them (two per copied blob).
            if (content == null || content.Headers.ContentLength == 0) return Array.Empty<byte>();
            if (content.Headers.ContentLength > limit) throw TooLarge(what, limit, tooLargeId);
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timer.CancelAfter(deadline);
            try
            {
                using var stream = await content.ReadAsStreamAsync().ConfigureAwait(false);
                using var buffer = new MemoryStream();
                var chunk = new byte[16 * 1024];
                int n;
                while ((n = await stream.ReadAsync(chunk, 0, chunk.Length, timer.Token).ConfigureAwait(false)) > 0)
                {
                    buffer.Write(chunk, 0, n);
                    if (buffer.Length > limit) throw TooLarge(what, limit, tooLargeId);
                }
                return buffer.ToArray();
            }
            catch (OperationCanceledException e) when (timer.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw new RegistryException(ErrorIds.RegistryTimeout, $"{what} did not arrive within {deadline.TotalSeconds:0.#} s.", e);
            }
            catch (Exception e) when (e is System.IO.IOException || e is HttpRequestException)
            {
                // Cut short or reset mid-body: the network's fault, worth another try, not an unclassified failure.
                throw new RegistryException(ErrorIds.RegistryResponseInvalid, $"{what} broke off: {e.Message}", e);
            }
        }

        private static RegistryException TooLarge(string what, int limit, string id) =>
            new RegistryException(id, $"{what} is larger than {limit} bytes.");
    }
}
