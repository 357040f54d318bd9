using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.TestBed;

/// <summary>
/// A Docker-style token endpoint for the distribution registry's <c>auth: token</c>.
/// Known user gets what it asks for; no credentials get pull only; wrong credentials get 401.
/// </summary>
public sealed class TokenServer : IAsyncDisposable
{
    private readonly HttpListener _listener;
    private readonly RSA _key;
    private readonly string _keyId;
    private readonly string _username;
    private readonly string _password;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _tokensIssued;
    private int _requests;
    private int _disposed;

    private TokenServer(HttpListener listener, int port, RSA key, string certPem, string username, string password,
        string service, string issuer)
    {
        _listener = listener; _key = key; _username = username; _password = password;
        Service = service; Issuer = issuer; CertificatePem = certPem;
        Realm = new Uri($"http://127.0.0.1:{port}/token");
        _keyId = LibtrustKeyId(key.ExportSubjectPublicKeyInfo());
        _loop = Task.Run(AcceptLoop);
    }

    public Uri Realm { get; }
    public string Service { get; }
    public string Issuer { get; }
    /// <summary>Self-signed certificate of the signing key, for the registry's rootcertbundle.</summary>
    public string CertificatePem { get; }
    public string KeyId => _keyId;
    /// <summary>Tokens handed out (successful answers), so tests can assert clients cache them.</summary>
    public int TokensIssued => Volatile.Read(ref _tokensIssued);
    /// <summary>All requests, including refused ones.</summary>
    public int Requests => Volatile.Read(ref _requests);
    /// <summary>
    /// The identity (refresh) token this server takes in docker's OAuth2 flow (POST grant_type=refresh_token), as a
    /// docker login would have stored it: it stands for the user's credentials.
    /// </summary>
    public string RefreshToken { get; } = "ocisync-refresh-" + Guid.NewGuid().ToString("N");
    /// <summary>Tokens handed out for a refresh token.</summary>
    public int RefreshGrants => Volatile.Read(ref _refreshGrants);
    private int _refreshGrants;
    /// <summary>Token lifetime in seconds.</summary>
    public int ExpiresIn { get; set; } = 300;

    public static Task<TokenServer> StartAsync(string username, string password,
        string service = "ocisync-registry", string issuer = "ocisync-testbed-issuer", CancellationToken ct = default)
    {
        var key = RSA.Create(2048);
        var req = new CertificateRequest("CN=ocisync-testbed-token", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        string pem = cert.ExportCertificatePem();

        // A port picked by the OS can be taken before we bind it; try a few.
        for (int attempt = 0; ; attempt++)
        {
            ct.ThrowIfCancellationRequested();
            int port = Ports.GetFreeLoopbackPort();
            var listener = new HttpListener();
            listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            try
            {
                listener.Start();
            }
            catch (HttpListenerException) when (attempt < 5)
            {
                listener.Close();
                continue;
            }
            return Task.FromResult(new TokenServer(listener, port, key, pem, username, password, service, issuer));
        }
    }

    /// <summary>libtrust key id: base32 of the first 240 bits of sha256(DER SPKI), 12 groups of 4.</summary>
    public static string LibtrustKeyId(byte[] subjectPublicKeyInfo)
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        byte[] hash = SHA256.HashData(subjectPublicKeyInfo);
        var chars = new StringBuilder(48);
        // 30 bytes = 240 bits = 48 five-bit groups exactly, so no padding.
        int buffer = 0, bits = 0;
        for (int i = 0; i < 30; i++)
        {
            buffer = (buffer << 8) | hash[i];
            bits += 8;
            while (bits >= 5)
            {
                chars.Append(Alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
        }
        var s = chars.ToString();
        return string.Join(":", Enumerable.Range(0, 12).Select(i => s.Substring(i * 4, 4)));
    }

    /// <summary>Makes a signed token directly (e.g. to test expiry handling).</summary>
    public string CreateToken(string subject, IEnumerable<(string type, string name, string[] actions)> access, TimeSpan lifetime)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        byte[] header = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, string>
        {
            ["typ"] = "JWT", ["alg"] = "RS256", ["kid"] = _keyId,
        });
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer,
            ["sub"] = subject,
            ["aud"] = Service,
            ["exp"] = now + (long)lifetime.TotalSeconds,
            ["nbf"] = now - 10, // tolerate small clock differences
            ["iat"] = now - 10,
            ["jti"] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            ["access"] = access.Select(a => new Dictionary<string, object>
            {
                ["type"] = a.type, ["name"] = a.name, ["actions"] = a.actions,
            }).ToArray(),
        };
        string signingInput = B64Url(header) + "." + B64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        byte[] sig = _key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + B64Url(sig);
    }

    private async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext ctx;
            try { ctx = await _listener.GetContextAsync().ConfigureAwait(false); }
            catch (Exception) when (_stop.IsCancellationRequested || !_listener.IsListening) { return; }
            catch (HttpListenerException) { continue; }
            _ = Task.Run(() => Handle(ctx));
        }
    }

    private void Handle(HttpListenerContext ctx)
    {
        Interlocked.Increment(ref _requests);
        try
        {
            var req = ctx.Request;
            if (req.Url?.AbsolutePath != "/token")
            {
                Respond(ctx, 404, "{\"error\":\"not found\"}");
                return;
            }
            string subject;
            bool authenticated;
            string? auth = req.Headers["Authorization"];
            var query = req.QueryString;
            if (req.HttpMethod == "POST")
            {
                // docker's OAuth2 refresh-token grant: a form body, no Authorization header.
                using var reader = new System.IO.StreamReader(req.InputStream, Encoding.UTF8);
                query = System.Web.HttpUtility.ParseQueryString(reader.ReadToEnd());
                if (query["grant_type"] != "refresh_token" || query["refresh_token"] != RefreshToken || !string.IsNullOrEmpty(auth))
                {
                    Respond(ctx, 401, "{\"error\":\"invalid_grant\"}");
                    return;
                }
                Interlocked.Increment(ref _refreshGrants);
                subject = _username; authenticated = true;
            }
            else if (string.IsNullOrEmpty(auth))
            {
                subject = ""; authenticated = false;
            }
            else if (TryBasic(auth, out var user, out var pass) && user == _username && pass == _password)
            {
                subject = user; authenticated = true;
            }
            else
            {
                ctx.Response.AddHeader("WWW-Authenticate", "Basic realm=\"ocisync-testbed-token\"");
                Respond(ctx, 401, "{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"invalid credentials\"}]}");
                return;
            }

            var service = query["service"];
            if (service != null && service != Service)
            {
                Respond(ctx, 400, "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"unknown service\"}]}");
                return;
            }

            var access = new List<(string type, string name, string[] actions)>();
            foreach (var raw in query.GetValues("scope") ?? Array.Empty<string>())
                foreach (var scope in raw.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    AddScope(access, scope, authenticated);

            string token = CreateToken(subject, access, TimeSpan.FromSeconds(ExpiresIn));
            Interlocked.Increment(ref _tokensIssued);
            string body = JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["token"] = token,
                ["access_token"] = token,
                ["expires_in"] = ExpiresIn,
                ["issued_at"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"),
            });
            Respond(ctx, 200, body);
        }
        catch (Exception ex)
        {
            try { Respond(ctx, 500, JsonSerializer.Serialize(new { error = ex.Message })); } catch { /* client gone */ }
        }
    }

    private static void AddScope(List<(string type, string name, string[] actions)> access, string scope, bool authenticated)
    {
        // type:name:actions, where name may itself hold a ':' (registry host with port).
        int first = scope.IndexOf(':');
        int last = scope.LastIndexOf(':');
        if (first < 0 || last == first) return;
        string type = scope.Substring(0, first);
        string name = scope.Substring(first + 1, last - first - 1);
        var wanted = scope.Substring(last + 1).Split(',', StringSplitOptions.RemoveEmptyEntries);
        string[] granted = authenticated
            ? wanted
            : (type == "repository" ? wanted.Where(a => a == "pull").ToArray() : Array.Empty<string>());

        int existing = access.FindIndex(a => a.type == type && a.name == name);
        if (existing >= 0)
            access[existing] = (type, name, access[existing].actions.Union(granted).ToArray());
        else
            access.Add((type, name, granted));
    }

    private static bool TryBasic(string header, out string user, out string pass)
    {
        user = pass = "";
        if (!header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase)) return false;
        try
        {
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header.Substring(6).Trim()));
            int colon = decoded.IndexOf(':');
            if (colon < 0) return false;
            user = decoded.Substring(0, colon);
            pass = decoded.Substring(colon + 1);
            return true;
        }
        catch (FormatException) { return false; }
    }

    private static void Respond(HttpListenerContext ctx, int status, string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        ctx.Response.StatusCode = status;
        ctx.Response.ContentType = "application/json";
        ctx.Response.ContentLength64 = bytes.Length;
        ctx.Response.OutputStream.Write(bytes);
        ctx.Response.Close();
    }

    private static string B64Url(byte[] data) => Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        try { _listener.Stop(); _listener.Close(); } catch (ObjectDisposedException) { }
        try { await _loop.ConfigureAwait(false); } catch { /* stopping */ }
        _key.Dispose();
        _stop.Dispose();
    }
}
