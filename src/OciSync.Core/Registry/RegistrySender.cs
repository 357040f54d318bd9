using System;
using System.Collections.Generic;
using System.IO;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Content;
using OciSync.Core.Transport;

namespace OciSync.Core.Registry
{
    /// <summary>
    /// Sends the requests of one registry host and credential, and turns whatever goes wrong into a
    /// <see cref="RegistryException"/> with a stable id: the handler chain (sockets → redirects → auth →
    /// retries), bounded buffering of JSON answers, another try for a damaged 200, and the masking of
    /// this run's secrets in everything that leaves. It knows HTTP, not the registry API.
    /// </summary>
    internal sealed class RegistrySender
    {
        private readonly RegistryClientOptions _options;
        private readonly HttpMessageInvoker _client;
        private readonly IOciLog _log;
        private readonly SecretScrubber _scrubber;
        private readonly RequestStatistics _statistics;

        internal RegistrySender(string registry, string endpointHost, RegistryCredential? credential, string credentialDescription,
            RegistryClientOptions options, IOciLog log, SecretScrubber scrubber, RequestStatistics statistics, RegistryThrottle throttle)
        {
            _options = options;
            _log = log;
            _scrubber = scrubber;
            _statistics = statistics;
            var insecure = credential?.Insecure ?? false;
            var allowPlainHttp = insecure || RegistryPing.IsLoopback(endpointHost);

            var proxy = options.Proxy ?? ProxySettings.FromEnvironment();
            var socket = options.SocketHandlerFactory?.Invoke(insecure) ?? SocketHandlers.Get(insecure, credential?.Tls, proxy);
            HttpMessageHandler observed = options.RequestObserver != null ? new ObservingHandler(options.RequestObserver, socket) : socket;
            if (proxy != null) observed = new ProxyGuardHandler(proxy, observed);
            var redirect = new RedirectHandler(observed);
            // The invokers never dispose their chain: the socket handler below is shared process-wide.
            var pingRetry = options.Retry.WithResponseTimeout(options.PingTimeout);
            var pingClient = new HttpMessageInvoker(new RetryHandler(pingRetry, log, redirect, statistics), disposeHandler: false);
            var probeClient = new HttpMessageInvoker(new RetryHandler(pingRetry.WithoutRetries(), log, redirect), disposeHandler: false);
            var auth = new AuthHandler(credential, pingClient, allowPlainHttp, options.PingTimeout, log, scrubber, redirect);
            // Each attempt takes the registry's turn: a 429 slows every request to it, not just the one that got it.
            _client = new HttpMessageInvoker(new RetryHandler(options.Retry, log, new ThrottleHandler(throttle, auth), statistics, deadlineStartsBelow: true), disposeHandler: false);
            Ping = new RegistryPing(registry, endpointHost, allowPlainHttp, pingClient, probeClient, auth, options.UserAgent, credentialDescription, log);
        }

        internal RegistryPing Ping { get; }

        /// <summary>A request to <c>/v2/{repository}/{path}</c> on the pinged origin, carrying the token scope it needs.</summary>
        internal async Task<HttpResponseMessage> SendAsync(HttpMethod method, string repository, string path, string scope, CancellationToken ct,
            IEnumerable<string>? accept = null, HttpContent? content = null, bool streamBody = false)
        {
            RequestNames.CheckRepository(repository);
            var baseUri = await Ping.GetBaseUriAsync(ct).ConfigureAwait(false);
            var request = new HttpRequestMessage(method, new Uri(baseUri, $"v2/{repository}/{path}")) { Content = content };
            if (accept != null) foreach (var a in accept) request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(a));
            RequestScope.Set(request, scope);
            return await SendAsync(request, streamBody ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead, ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Sends a prepared request. With <see cref="HttpCompletionOption.ResponseContentRead"/> the body is
        /// read whole, bounded in size and time; transport faults become Unreachable / Timeout errors.
        /// </summary>
        internal async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, HttpCompletionOption completion, CancellationToken ct)
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

        /// <summary>
        /// A 200 whose body is damaged — cut short, not JSON, or not the digest asked for — is a transient
        /// fault like a 503: asked again with the same backoff, logged and counted. (The retry handler
        /// sees statuses and connection errors, not what the body turned out to be.)
        /// </summary>
        internal async Task<T> RetryDamagedAsync<T>(string request, Func<Task<T>> attempt, CancellationToken ct)
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
        internal async Task<T> Scrubbed<T>(Task<T> work)
        {
            try { return await work.ConfigureAwait(false); }
            catch (Exception e) when (!(e is OperationCanceledException) && !ReferenceEquals(_scrubber.Scrub(e), e)) { throw _scrubber.Scrub(e); }
        }

        internal async Task Scrubbed(Task work)
        {
            try { await work.ConfigureAwait(false); }
            catch (Exception e) when (!(e is OperationCanceledException) && !ReferenceEquals(_scrubber.Scrub(e), e)) { throw _scrubber.Scrub(e); }
        }

        internal Exception Scrub(Exception e) => _scrubber.Scrub(e);
    }
}
