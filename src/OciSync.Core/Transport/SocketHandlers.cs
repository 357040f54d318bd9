using System;
using System.Net;
using System.Net.Http;

namespace OciSync.Core.Transport
{
    /// <summary>
    /// One connection pool per process (and one more that skips certificate checks, used only for
    /// registries marked insecure). Every registry client shares them, so connections are reused
    /// across images, rules and cmdlet calls.
    /// </summary>
    internal static class SocketHandlers
    {
        private static readonly Lazy<HttpMessageHandler> Verified = new Lazy<HttpMessageHandler>(() => Create(insecure: false));
        private static readonly Lazy<HttpMessageHandler> Unverified = new Lazy<HttpMessageHandler>(() => Create(insecure: true));

        public static HttpMessageHandler Get(bool insecure) => insecure ? Unverified.Value : Verified.Value;

        private static HttpMessageHandler Create(bool insecure)
        {
            var handler = new HttpClientHandler
            {
                // Redirects are followed by RedirectHandler, which drops Authorization on a host change.
                AllowAutoRedirect = false,
                UseCookies = false,
                AutomaticDecompression = DecompressionMethods.None,
                MaxConnectionsPerServer = 64,
            };
            // Insecure: accept any certificate. Otherwise the platform's verdict stands; a refusal is
            // noted on the request so the error can say "untrusted certificate" rather than "unreachable".
            handler.ServerCertificateCustomValidationCallback = insecure
                ? (_, _, _, _) => true
                : (request, _, _, errors) =>
                {
                    if (errors != System.Net.Security.SslPolicyErrors.None) RequestScope.NoteCertificateRejected(request, errors);
                    return errors == System.Net.Security.SslPolicyErrors.None;
                };
            return handler;
        }
    }
}
