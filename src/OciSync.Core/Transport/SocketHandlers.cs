using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;

namespace OciSync.Core.Transport
{
    /// <summary>
    /// One connection pool per process (and one more that skips certificate checks, used only for
    /// registries marked insecure), and one per distinct per-registry TLS setting (a CA bundle, a client
    /// certificate). Every registry client shares them, so connections are reused across images, rules
    /// and cmdlet calls.
    /// </summary>
    internal static class SocketHandlers
    {
        private static readonly ConcurrentDictionary<string, Lazy<HttpMessageHandler>> Pools = new ConcurrentDictionary<string, Lazy<HttpMessageHandler>>(StringComparer.Ordinal);

        /// <summary>The pool for these settings; a TLS file that cannot be used throws <see cref="RegistryException"/> (RegistryTlsInvalid), every time.</summary>
        public static HttpMessageHandler Get(bool insecure, RegistryTls? tls = null, ProxySettings? proxy = null)
        {
            if (tls != null && tls.IsDefault) tls = null;
            var key = (insecure ? "insecure|" : "verified|") + (tls?.PoolKey ?? string.Empty) + "|" + (proxy?.PoolKey ?? "default");
            var pool = Pools.GetOrAdd(key, _ => new Lazy<HttpMessageHandler>(() => Create(insecure, tls, proxy)));
            try
            {
                return pool.Value;
            }
            catch
            {
                // A TLS file that could not be used is read again next time (the user may have fixed it), not remembered for the session.
                ((System.Collections.Generic.ICollection<System.Collections.Generic.KeyValuePair<string, Lazy<HttpMessageHandler>>>)Pools).Remove(new System.Collections.Generic.KeyValuePair<string, Lazy<HttpMessageHandler>>(key, pool));
                throw;
            }
        }

        private static HttpMessageHandler Create(bool insecure, RegistryTls? tls, ProxySettings? proxy)
        {
            // Read first: a file that cannot be used fails here, before any connection.
            var bundle = tls?.LoadBundle() ?? new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            var client = tls?.LoadClientCertificate();
            var handler = new HttpClientHandler
            {
                // Redirects are followed by RedirectHandler, which drops Authorization on a host change.
                AllowAutoRedirect = false,
                UseCookies = false,
                AutomaticDecompression = DecompressionMethods.None,
                MaxConnectionsPerServer = 64,
            };
            // .NET Framework: TLS 1.2 (1.3 where Windows has it) for these handlers alone; elsewhere the OS's default.
            var protocols = TlsPolicy.ForThisProcess();
            if (protocols != System.Security.Authentication.SslProtocols.None)
            {
                try
                {
                    handler.SslProtocols = protocols;
                }
                catch (NotSupportedException)
                {
                    // A framework that refuses TLS 1.3 although TlsPolicy judged it new enough: TLS 1.2 still beats its default.
                    handler.SslProtocols = protocols & ~TlsPolicy.Tls13;
                }
            }
            if (proxy != null)
            {
                handler.UseProxy = true;
                handler.Proxy = proxy;
            }
            if (client != null)
            {
                handler.ClientCertificateOptions = ClientCertificateOption.Manual;
                handler.ClientCertificates.Add(client);
            }
            // Insecure: accept any certificate. Otherwise the platform's verdict stands, or the registry's own CA
            // bundle's; a refusal is noted on the request so the error can say "untrusted certificate" rather
            // than "unreachable".
            handler.ServerCertificateCustomValidationCallback = insecure
                ? (_, _, _, _) => true
                : (request, certificate, chain, errors) =>
                {
                    if (RegistryTls.Accepts(certificate, chain, errors, bundle)) return true;
                    RequestScope.NoteCertificateRejected(request, errors);
                    return false;
                };
            return handler;
        }
    }
}
