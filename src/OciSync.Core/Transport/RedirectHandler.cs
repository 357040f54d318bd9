using System;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.Core.Transport
{
    /// <summary>
    /// Follows redirects of GET and HEAD (blob downloads are often sent to object storage). The
    /// Authorization header only goes to the origin that was asked: a redirect to another scheme,
    /// host or port gets none (go-containerregistry transport/bearer.go does the same).
    /// </summary>
    internal sealed class RedirectHandler : DelegatingHandler
    {
        private const int MaxRedirects = 10;

        public RedirectHandler(HttpMessageHandler inner) : base(inner) { }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var current = request;
            for (int hop = 0; hop < MaxRedirects && IsRedirect(response.StatusCode) && response.Headers.Location != null; hop++)
            {
                if (current.Method != HttpMethod.Get && current.Method != HttpMethod.Head) return response;
                var target = response.Headers.Location.IsAbsoluteUri ? response.Headers.Location : new Uri(current.RequestUri!, response.Headers.Location);
                // Only HTTP(S), and never from HTTPS down to plain HTTP: the redirect is answered as is (an error for the caller).
                if ((target.Scheme != Uri.UriSchemeHttp && target.Scheme != Uri.UriSchemeHttps) ||
                    (current.RequestUri!.Scheme == Uri.UriSchemeHttps && target.Scheme != Uri.UriSchemeHttps)) return response;
                response.Dispose();
                var next = RequestScope.Clone(current, target);
                if (!SameOrigin(current.RequestUri!, target)) next.Headers.Authorization = null;
                current = next;
                response = await base.SendAsync(current, cancellationToken).ConfigureAwait(false);
            }
            return response;
        }

        private static bool IsRedirect(HttpStatusCode s) =>
            s == HttpStatusCode.MovedPermanently || s == HttpStatusCode.Found || s == HttpStatusCode.SeeOther ||
            s == HttpStatusCode.TemporaryRedirect || (int)s == 308;

        internal static bool SameOrigin(Uri a, Uri b) =>
            string.Equals(a.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase) &&
            string.Equals(a.Host, b.Host, StringComparison.OrdinalIgnoreCase) && a.Port == b.Port;
    }
}
