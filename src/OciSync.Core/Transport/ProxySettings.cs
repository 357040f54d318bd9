using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;

namespace OciSync.Core.Transport
{
    /// <summary>
    /// Which HTTP proxy a request goes through, read the same way on every runtime: <c>HTTPS_PROXY</c> for https
    /// URLs, <c>HTTP_PROXY</c> for http ones (either case, <c>ALL_PROXY</c> for both), <c>NO_PROXY</c> for the hosts
    /// that go direct, or one proxy given by the user (<c>-Proxy</c>). Windows PowerShell would otherwise ignore the
    /// variables. Proxy credentials (in the URL's user part) go only to an https:// proxy, never in clear text.
    /// </summary>
    public sealed class ProxySettings : IWebProxy
    {
        private readonly string[] _noProxy;

        private ProxySettings(Uri? https, Uri? http, IEnumerable<string> noProxy)
        {
            HttpsProxy = Checked(https);
            HttpProxy = Checked(http);
            _noProxy = noProxy.Select(n => n.Trim().ToLowerInvariant()).Where(n => n.Length > 0).ToArray();
            var userInfo = (HttpsProxy ?? HttpProxy)?.UserInfo;
            if (!string.IsNullOrEmpty(userInfo))
            {
                var colon = userInfo!.IndexOf(':');
                Credentials = new NetworkCredential(Uri.UnescapeDataString(colon < 0 ? userInfo : userInfo.Substring(0, colon)),
                    colon < 0 ? string.Empty : Uri.UnescapeDataString(userInfo.Substring(colon + 1)));
            }
        }

        /// <summary>The proxy for https:// registries, or null (direct).</summary>
        public Uri? HttpsProxy { get; }
        /// <summary>The proxy for http:// registries, or null (direct).</summary>
        public Uri? HttpProxy { get; }
        /// <summary>Hosts that go direct (NO_PROXY): a name matches itself and its subdomains, <c>*</c> every host.</summary>
        public IReadOnlyList<string> NoProxy => _noProxy;
        /// <summary>The proxy's own credentials, from its URL; sent only to an https:// proxy.</summary>
        public ICredentials? Credentials { get; set; }

        /// <summary>The proxies the environment names, or null when it names none.</summary>
        public static ProxySettings? FromEnvironment(Func<string, string?>? getEnvironmentVariable = null)
        {
            var env = getEnvironmentVariable ?? Environment.GetEnvironmentVariable;
            string? Var(string name) => env(name) is { Length: > 0 } v ? v : env(name.ToLowerInvariant()) is { Length: > 0 } w ? w : null;
            var all = Var("ALL_PROXY");
            var https = Var("HTTPS_PROXY") ?? all;
            var http = Var("HTTP_PROXY") ?? all;
            if (https == null && http == null) return null;
            return new ProxySettings(Parse(https, "HTTPS_PROXY"), Parse(http, "HTTP_PROXY"), (Var("NO_PROXY") ?? string.Empty).Split(','));
        }

        /// <summary>One proxy for every registry (<c>-Proxy</c>), with the environment's NO_PROXY.</summary>
        public static ProxySettings ForAll(Uri proxy, Func<string, string?>? getEnvironmentVariable = null)
        {
            var env = getEnvironmentVariable ?? Environment.GetEnvironmentVariable;
            var noProxy = env("NO_PROXY") is { Length: > 0 } n ? n : env("no_proxy") ?? string.Empty;
            return new ProxySettings(proxy, proxy, noProxy.Split(','));
        }

        /// <summary>The proxy for <paramref name="destination"/>; the destination itself when it goes direct.</summary>
        public Uri GetProxy(Uri destination) => ProxyFor(destination) ?? destination;

        /// <summary>True when <paramref name="host"/> goes direct.</summary>
        public bool IsBypassed(Uri host) => ProxyFor(host) == null;

        /// <summary>The proxy a request to <paramref name="destination"/> crosses, or null.</summary>
        public Uri? ProxyFor(Uri destination)
        {
            var proxy = destination.Scheme == Uri.UriSchemeHttps ? HttpsProxy : HttpProxy;
            if (proxy == null || Bypassed(destination)) return null;
            return proxy;
        }

        private bool Bypassed(Uri destination)
        {
            var host = destination.IdnHost.Trim('[', ']').ToLowerInvariant();
            var withPort = host + ":" + destination.Port;
            foreach (var entry in _noProxy)
            {
                if (entry == "*") return true;
                var e = entry.StartsWith(".", StringComparison.Ordinal) ? entry.Substring(1) : entry;
                if (e == withPort || e == host) return true;
                if (e.IndexOf(':') < 0 && host.EndsWith("." + e, StringComparison.Ordinal)) return true;
            }
            return false;
        }

        /// <summary>The settings as a connection pool tells them apart.</summary>
        internal string PoolKey => $"{Redacted(HttpsProxy)}|{Redacted(HttpProxy)}|{string.Join(",", _noProxy)}|{(Credentials != null ? "auth" : "")}";

        /// <summary>A proxy URL as it may be shown: no user part.</summary>
        public static string Redacted(Uri? proxy) => proxy == null ? "direct" : new UriBuilder(proxy) { UserName = string.Empty, Password = string.Empty }.Uri.GetLeftPart(UriPartial.Authority);

        /// <summary><c>https via http://proxy:3128, http direct, NO_PROXY localhost</c>: never a password.</summary>
        public override string ToString() =>
            $"https via {Redacted(HttpsProxy)}, http via {Redacted(HttpProxy)}{(_noProxy.Length > 0 ? ", NO_PROXY " + string.Join(",", _noProxy) : "")}";

        private static Uri? Parse(string? value, string name)
        {
            if (value == null) return null;
            // curl and docker take a bare host:port as http://host:port.
            var text = value.IndexOf("://", StringComparison.Ordinal) < 0 ? "http://" + value : value;
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
                throw new RegistryException(ErrorIds.InsecureProxy, $"{name} is not a proxy URL (http://host:port or https://host:port); it is not used.");
            return uri;
        }

        private static Uri? Checked(Uri? proxy)
        {
            if (proxy == null) return null;
            if (proxy.Scheme != Uri.UriSchemeHttp && proxy.Scheme != Uri.UriSchemeHttps)
                throw new RegistryException(ErrorIds.InsecureProxy, $"The proxy {Redacted(proxy)} is not an http:// or https:// proxy (socks is not supported).");
            if (proxy.UserInfo.Length > 0 && proxy.Scheme != Uri.UriSchemeHttps)
                throw new RegistryException(ErrorIds.InsecureProxy,
                    $"The proxy {Redacted(proxy)} has credentials in its URL, which would cross the network in clear text over http://; give an https:// proxy, or one that needs none.");
            return proxy;
        }
    }
}

namespace OciSync.Core.Transport
{
    /// <summary>
    /// Refuses to send credentials through a proxy in clear text: a plain-HTTP request (a registry marked insecure,
    /// a token realm on http://) that carries an Authorization header and would cross the proxy is not sent.
    /// </summary>
    internal sealed class ProxyGuardHandler : System.Net.Http.DelegatingHandler
    {
        private readonly ProxySettings _proxy;
        public ProxyGuardHandler(ProxySettings proxy, System.Net.Http.HttpMessageHandler inner) : base(inner) => _proxy = proxy;

        protected override System.Threading.Tasks.Task<System.Net.Http.HttpResponseMessage> SendAsync(System.Net.Http.HttpRequestMessage request, System.Threading.CancellationToken cancellationToken)
        {
            var uri = request.RequestUri!;
            if (uri.Scheme == Uri.UriSchemeHttp && request.Headers.Authorization != null && _proxy.ProxyFor(uri) is { } through)
                throw new RegistryException(ErrorIds.InsecureProxy,
                    $"{uri.Authority} is plain HTTP and would be reached through the proxy {ProxySettings.Redacted(through)}, which would see its credentials in clear text; " +
                    "the request is not sent. Add the registry to NO_PROXY or serve it over HTTPS.");
            return base.SendAsync(request, cancellationToken);
        }
    }
}
