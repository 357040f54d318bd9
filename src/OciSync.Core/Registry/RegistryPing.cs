using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Transport;

namespace OciSync.Core.Registry
{
    /// <summary>
    /// The first request to a registry host: one <c>GET /v2/</c> that settles the origin (HTTPS, or plain
    /// HTTP where the registry allows it) and learns the auth challenge, so later requests carry
    /// credentials from the start. Shared by every request of the client, and remembered when it fails.
    /// </summary>
    internal sealed class RegistryPing
    {
        private readonly string _registry;
        private readonly string _endpointHost;
        private readonly bool _allowPlainHttp;
        private readonly HttpMessageInvoker _pingClient;
        private readonly HttpMessageInvoker _probeClient;
        private readonly AuthHandler _auth;
        private readonly string _userAgent;
        private readonly string _credentialDescription;
        private readonly IOciLog _log;
        private readonly object _lock = new object();
        private Task<Uri>? _ping;

        /// <param name="pingClient">Retries with the ping's deadline.</param>
        /// <param name="probeClient">One try only: when HTTPS is refused, plain HTTP is next, not a backoff.</param>
        internal RegistryPing(string registry, string endpointHost, bool allowPlainHttp, HttpMessageInvoker pingClient, HttpMessageInvoker probeClient,
            AuthHandler auth, string userAgent, string credentialDescription, IOciLog log)
        {
            _registry = registry;
            _endpointHost = endpointHost;
            _allowPlainHttp = allowPlainHttp;
            _pingClient = pingClient;
            _probeClient = probeClient;
            _auth = auth;
            _userAgent = userAgent;
            _credentialDescription = credentialDescription;
            _log = log;
        }

        /// <summary>The registry's base URL once pinged. The ping is shared, so a caller that is cancelled stops waiting without cancelling it for others.</summary>
        internal async Task<Uri> GetBaseUriAsync(CancellationToken ct)
        {
            Task<Uri> ping;
            lock (_lock)
            {
                // A failed ping is remembered, so every image of an unreachable registry fails at once
                // instead of each paying the retries again; ForgetFailure lets a later pass try anew.
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
        internal void ForgetFailure()
        {
            lock (_lock)
            {
                if (_ping != null && _ping.IsFaulted) _ping = null;
            }
        }

        private async Task<Uri> PingAsync()
        {
            var https = new Uri($"https://{_endpointHost}/");
            _auth.Origin = https;
            try
            {
                return await PingAtAsync(https, _allowPlainHttp ? _probeClient : _pingClient).ConfigureAwait(false);
            }
            catch (RegistryException e) when (_allowPlainHttp && e.ErrorId == ErrorIds.RegistryUnreachable)
            {
                _log.Write(OciLogLevel.Verbose, $"{_registry}: HTTPS failed ({e.InnerException?.Message ?? e.Message}); using plain HTTP as the registry allows.");
                // Credentials follow the origin the ping settled on: plain HTTP is this host's only.
                var plain = new Uri($"http://{_endpointHost}/");
                _auth.Origin = plain;
                return await PingAtAsync(plain, _pingClient).ConfigureAwait(false);
            }
        }

        private async Task<Uri> PingAtAsync(Uri baseUri, HttpMessageInvoker client)
        {
            var uri = new Uri(baseUri, "v2/");
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            request.Headers.UserAgent.ParseAdd(_userAgent);
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
                    _log.Write(OciLogLevel.Verbose, $"{_registry}: {_auth.Challenge?.Scheme ?? "unknown"} authentication, {_credentialDescription}.");
                }
                else if (response.IsSuccessStatusCode)
                {
                    _log.Write(OciLogLevel.Verbose, $"{_registry}: no authentication required.");
                }
                else
                {
                    throw await RegistryResponses.ErrorAsync(response, ErrorIds.RegistryUnavailable).ConfigureAwait(false);
                }
            }
            return baseUri;
        }

        /// <summary>Loopback registries may speak plain HTTP without being marked insecure (as docker and skopeo allow).</summary>
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
