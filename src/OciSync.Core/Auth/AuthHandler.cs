using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Transport;

namespace OciSync.Core.Auth
{
    /// <summary>
    /// Adds credentials to requests for one registry: Basic, or a Bearer token for the request's
    /// scope from the registry's token server (anonymous or with the user's credentials). Once the
    /// registry's challenge is known, the header goes out up front; a 401 refreshes it and the
    /// request is replayed once when its body allows.
    /// </summary>
    internal sealed class AuthHandler : DelegatingHandler
    {
        private static readonly TimeSpan ExpiryMargin = TimeSpan.FromSeconds(30);
        private readonly RegistryCredential? _credential;
        private readonly HttpMessageInvoker _tokenClient;
        private readonly IOciLog _log;
        private readonly TokenCache _tokens = new TokenCache();
        private readonly bool _allowPlainRealm;
        private readonly SecretScrubber _scrubber;
        private readonly TimeSpan _tokenDeadline;
        // Tokens are cached at most this long, whatever the server claims (and a claim of 10^11 s is no crash).
        private static readonly TimeSpan MaxTokenLifetime = TimeSpan.FromHours(24);
        // A token answer is a small JSON document (some carry a refresh token too).
        private const int MaxTokenBodyBytes = 1024 * 1024;
        private volatile AuthChallenge? _challenge;
        private volatile Uri? _origin;

        /// <param name="allowPlainRealm">The registry is insecure or loopback, so plain HTTP on its own host is allowed.</param>
        /// <param name="tokenDeadline">How long a token server's answer may take to arrive, once its headers are in.</param>
        public AuthHandler(RegistryCredential? credential, HttpMessageInvoker tokenClient, bool allowPlainRealm, TimeSpan tokenDeadline,
            IOciLog log, SecretScrubber scrubber, HttpMessageHandler inner)
            : base(inner)
        {
            _scrubber = scrubber;
            _tokenDeadline = tokenDeadline;
            _credential = credential != null && !credential.IsAnonymous ? credential : null;
            _tokenClient = tokenClient;
            _allowPlainRealm = allowPlainRealm;
            _log = log;
        }

        /// <summary>Set from the /v2/ ping, so the first real request already carries credentials.</summary>
        public AuthChallenge? Challenge { get => _challenge; set => _challenge = value; }

        /// <summary>
        /// The scheme, host and port the registry was reached at (set by the ping). Credentials and
        /// tokens are attached only to requests for this origin: not to a host a Location or Link
        /// names, and never to plain HTTP unless the ping itself settled on plain HTTP.
        /// </summary>
        public Uri? Origin { get => _origin; set => _origin = value; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var origin = _origin;
            if (origin == null || !RedirectHandler.SameOrigin(request.RequestUri!, origin))
            {
                request.Headers.Authorization = null;
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            var scope = RequestScope.Get(request);
            var challenge = _challenge;
            if (challenge != null) await AuthorizeAsync(request, challenge, scope, forceRefresh: false, cancellationToken).ConfigureAwait(false);

            var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.Unauthorized || !RequestScope.IsReplayable(request)) return response;
            // A 401 from a host a redirect led to is that host's business: its challenge (and realm) is not ours to answer.
            if (response.RequestMessage?.RequestUri is { } answered && !RedirectHandler.SameOrigin(answered, origin)) return response;

            var fresh = AuthChallenge.From(response.Headers.WwwAuthenticate);
            if (fresh == null || !(fresh.IsBearer || (fresh.IsBasic && _credential != null))) return response;
            var hadHeader = request.Headers.Authorization != null;
            if (fresh.IsBasic && hadHeader) return response; // the credentials were refused: nothing better to send
            _challenge = fresh;

            var replay = RequestScope.Clone(request);
            replay.Headers.Authorization = null;
            var wanted = MergeScopes(scope, fresh.Scope);
            await AuthorizeAsync(replay, fresh, wanted, forceRefresh: hadHeader, cancellationToken).ConfigureAwait(false);
            response.Dispose();
            return await base.SendAsync(replay, cancellationToken).ConfigureAwait(false);
        }

        private async Task AuthorizeAsync(HttpRequestMessage request, AuthChallenge challenge, string? scope, bool forceRefresh, CancellationToken ct)
        {
            if (challenge.IsBasic)
            {
                // A refresh token is for a token server, never a Basic header.
                if (_credential != null && !_credential.IsIdentityToken) request.Headers.Authorization = new AuthenticationHeaderValue("Basic", BasicValue(_credential));
                return;
            }
            if (!challenge.IsBearer) return;
            var key = scope ?? string.Empty;
            if (forceRefresh) _tokens.Invalidate(key);
            var token = await _tokens.GetAsync(key, () => FetchTokenAsync(challenge, scope, ct)).ConfigureAwait(false);
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        private async Task<CachedToken> FetchTokenAsync(AuthChallenge challenge, string? scope, CancellationToken ct)
        {
            if (!Uri.TryCreate(challenge.Realm, UriKind.Absolute, out var realm) || (realm.Scheme != Uri.UriSchemeHttps && realm.Scheme != Uri.UriSchemeHttp) || realm.UserInfo.Length > 0)
                throw new RegistryException(ErrorIds.RegistryProtocolError, $"The registry's Bearer challenge has no usable realm ({References.UntrustedText.Quote(challenge.Realm ?? string.Empty)}).");

            var query = new List<string>();
            if (!string.IsNullOrEmpty(challenge.Service)) query.Add("service=" + Uri.EscapeDataString(challenge.Service));
            if (!string.IsNullOrEmpty(scope))
                foreach (var s in scope!.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries)) query.Add("scope=" + Uri.EscapeDataString(s));
            var builder = new UriBuilder(realm);
            var existing = builder.Query.TrimStart('?');
            builder.Query = string.Join("&", (existing.Length > 0 ? new[] { existing } : Array.Empty<string>()).Concat(query));

            if (_credential != null && realm.Scheme != Uri.UriSchemeHttps && !PlainRealmAllowed(realm))
                throw new RegistryException(ErrorIds.InsecureTokenRealm,
                    $"The token server {RegistryException.Redact(realm)} is not HTTPS; credentials for {_credential.Key} are not sent there. " +
                    "Plain HTTP is allowed only to the host of a registry marked insecure (or a loopback registry), not to another host.");
            using var request = _credential?.IsIdentityToken == true
                ? RefreshTokenRequest(realm, challenge.Service, scope, _credential)
                : new HttpRequestMessage(HttpMethod.Get, builder.Uri);
            if (_credential != null && !_credential.IsIdentityToken)
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", BasicValue(_credential));
            _log.Write(OciLogLevel.Debug, $"Requesting a token from {RegistryException.Redact(realm)} for '{scope}' ({(_credential == null ? "anonymous" : "as " + _credential.Username)}).");

            using var response = await _tokenClient.SendAsync(request, ct).ConfigureAwait(false);
            var body = Encoding.UTF8.GetString(await BodyReader.ReadAsync(response.Content, MaxTokenBodyBytes, _tokenDeadline,
                $"The token server's answer from {RegistryException.Redact(realm)}", ErrorIds.RegistryProtocolError, ct).ConfigureAwait(false));
            if (!response.IsSuccessStatusCode)
            {
                var id = response.StatusCode == HttpStatusCode.Unauthorized ? ErrorIds.RegistryUnauthorized
                    : response.StatusCode == HttpStatusCode.Forbidden ? ErrorIds.RegistryForbidden
                    : (int)response.StatusCode == 429 ? ErrorIds.RegistryRateLimited : ErrorIds.RegistryUnavailable;
                throw new RegistryException(id, HttpMethod.Get, realm, response.StatusCode, Array.Empty<string>(),
                    _credential == null ? "the token server refused anonymous access" : $"the token server refused the credentials of {_credential.Username}");
            }
            var token = ParseToken(body, realm);
            _scrubber.Add(token.Value);
            return token;
        }

        /// <summary>Plain HTTP carries credentials only to the very host the user marked insecure (or a loopback registry's own host).</summary>
        private bool PlainRealmAllowed(Uri realm) =>
            _allowPlainRealm && _origin is { } origin && string.Equals(realm.IdnHost, origin.IdnHost, StringComparison.OrdinalIgnoreCase);

        private static CachedToken ParseToken(string body, Uri realm)
        {
            try
            {
                using var doc = JsonDocument.Parse(body);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new JsonException("not an object");
                var token = Content.Manifest.GetString(root, "token") ?? Content.Manifest.GetString(root, "access_token");
                if (string.IsNullOrEmpty(token)) throw new RegistryException(ErrorIds.RegistryProtocolError, $"The token server {RegistryException.Redact(realm)} answered without a token.");
                if (!IsHeaderSafe(token!)) throw new RegistryException(ErrorIds.RegistryProtocolError, $"The token server {RegistryException.Redact(realm)} answered with a token that cannot go in an Authorization header.");
                var lifetime = root.TryGetProperty("expires_in", out var e) && e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var seconds) ? seconds : 60;
                // The token spec's minimum is 60 s; a huge or non-finite claim is capped instead of overflowing.
                if (double.IsNaN(lifetime) || lifetime < 60) lifetime = 60;
                if (lifetime > MaxTokenLifetime.TotalSeconds) lifetime = MaxTokenLifetime.TotalSeconds;
                var issued = DateTimeOffset.UtcNow;
                var expires = issued.AddSeconds(lifetime) - ExpiryMargin;
                return new CachedToken(token!, expires);
            }
            catch (JsonException)
            {
                throw new RegistryException(ErrorIds.RegistryProtocolError, $"The token server {RegistryException.Redact(realm)} answered with something other than JSON.");
            }
        }

        // A bearer token is sent as a header value: visible ASCII only (no space, no CR LF).
        private static bool IsHeaderSafe(string token)
        {
            foreach (var c in token) if (c <= ' ' || c > '~') return false;
            return true;
        }

        /// <summary>
        /// Docker's OAuth2 flow for an identity token: a POST of the refresh token (form-encoded, in the body, never the
        /// URL) with the service and scopes, as the docker token-auth spec's "oauth" section describes.
        /// </summary>
        private static HttpRequestMessage RefreshTokenRequest(Uri realm, string? service, string? scope, RegistryCredential credential)
        {
            var form = new List<KeyValuePair<string, string>>
            {
                new KeyValuePair<string, string>("grant_type", "refresh_token"),
                new KeyValuePair<string, string>("refresh_token", credential.RevealPassword()),
                new KeyValuePair<string, string>("client_id", "ocisync"),
            };
            if (!string.IsNullOrEmpty(service)) form.Add(new KeyValuePair<string, string>("service", service!));
            if (!string.IsNullOrEmpty(scope)) form.Add(new KeyValuePair<string, string>("scope", scope!));
            return new HttpRequestMessage(HttpMethod.Post, realm) { Content = new FormUrlEncodedContent(form) };
        }

        private static string BasicValue(RegistryCredential credential) =>
            Convert.ToBase64String(Encoding.UTF8.GetBytes(credential.Username + ":" + credential.RevealPassword()));

        /// <summary>Union of the scope we asked for and the one the registry says it needs.</summary>
        internal static string? MergeScopes(string? wanted, string? challenged)
        {
            if (string.IsNullOrEmpty(challenged)) return wanted;
            if (string.IsNullOrEmpty(wanted)) return challenged;
            var all = wanted!.Split(' ').Concat(challenged!.Split(' ')).Where(s => s.Length > 0).Distinct(StringComparer.Ordinal);
            return string.Join(" ", all);
        }
    }
}
