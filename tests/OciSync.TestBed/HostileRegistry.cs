using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.TestBed;

public enum HostileAuth { None, Basic, Bearer }

/// <summary>One request as the hostile registry read it off the socket.</summary>
public sealed class HostileRequest
{
    public int Sequence { get; init; }
    public string Method { get; init; } = "";
    /// <summary>The request target exactly as the client sent it: path and query, still escaped.</summary>
    public string Target { get; init; } = "";
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
    public byte[] Body { get; init; } = Array.Empty<byte>();
    /// <summary>False for a plain-HTTP request that reached a TLS registry's port (a downgrade).</summary>
    public bool Tls { get; init; }

    public string Path => Target.Split('?')[0];
    public string Query => Target.Contains('?') ? Target[(Target.IndexOf('?') + 1)..] : "";
    public string? Authorization => Headers.TryGetValue("Authorization", out var v) ? v : null;

    public IReadOnlyList<string> QueryValues(string name) => Query.Split('&', StringSplitOptions.RemoveEmptyEntries)
        .Select(p => p.Split('=', 2))
        .Where(p => Uri.UnescapeDataString(p[0]) == name)
        .Select(p => p.Length > 1 ? Uri.UnescapeDataString(p[1].Replace('+', ' ')) : "")
        .ToList();

    public string? QueryValue(string name) => QueryValues(name).FirstOrDefault();

    public override string ToString() => $"{Method} {Target}";
}

/// <summary>What the hostile registry sends back. Anything goes: wrong lengths, odd headers, bodies that never end.</summary>
public sealed class HostileReply
{
    private static readonly JsonSerializerOptions Relaxed = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public int Status { get; init; } = 200;
    public List<KeyValuePair<string, string>> Headers { get; } = new();
    public byte[] Body { get; init; } = Array.Empty<byte>();
    /// <summary>The Content-Length sent: null = the body's length, -1 = none (the body ends when the connection closes). May lie.</summary>
    public long? ContentLength { get; init; }
    /// <summary>Writes the body instead of <see cref="Body"/> (slow, endless); the connection closes after it.</summary>
    public Func<Stream, CancellationToken, Task>? Writer { get; init; }
    public bool Close { get; init; }
    /// <summary>Close the connection without a word: to the client the registry is unreachable.</summary>
    public bool Hangup { get; init; }

    public HostileReply With(string name, string value)
    {
        Headers.Add(new(name, value));
        return this;
    }

    public static HostileReply Empty(int status) => new() { Status = status };

    public static HostileReply Json(int status, string json) =>
        new HostileReply { Status = status, Body = Encoding.UTF8.GetBytes(json) }.With("Content-Type", "application/json");

    public static HostileReply Json(int status, object value) => Json(status, JsonSerializer.Serialize(value, Relaxed));

    /// <summary>A distribution-style error body: <c>{"errors":[{"code","message"}]}</c>.</summary>
    public static HostileReply Error(int status, string code, string message) =>
        Json(status, new { errors = new[] { new { code, message } } });

    public static HostileReply Tags(string name, params string[] tags) => Json(200, new { name, tags });

    public static HostileReply Manifest(byte[] bytes, string mediaType) =>
        new HostileReply { Body = bytes }.With("Content-Type", mediaType).With("Docker-Content-Digest", ImageFactory.Sha256Digest(bytes));

    public static HostileReply Redirect(string location) => Empty(307).With("Location", location);

    /// <summary>
    /// Announces <paramref name="contentLength"/> bytes, then sends one byte per <paramref name="every"/>
    /// until the client leaves or <paramref name="cap"/> passes (so a client without a rule still ends).
    /// </summary>
    public static HostileReply Trickle(long contentLength, TimeSpan every, TimeSpan cap, string contentType = "application/octet-stream") =>
        new HostileReply
        {
            ContentLength = contentLength,
            Writer = async (stream, ct) =>
            {
                var clock = Stopwatch.StartNew();
                var one = new[] { (byte)'a' };
                for (long sent = 0; sent < contentLength && clock.Elapsed < cap; sent++)
                {
                    await stream.WriteAsync(one, ct).ConfigureAwait(false);
                    await stream.FlushAsync(ct).ConfigureAwait(false);
                    await Task.Delay(every, ct).ConfigureAwait(false);
                }
            },
        }.With("Content-Type", contentType);
}

/// <summary>
/// A scripted registry on a real socket, speaking hand-written HTTP/1.1 so it can send what no real
/// registry would. It serves good images from memory (pull and push, Basic or Bearer with itself as
/// the token realm), logs every request, and lets a test answer any request its own way first.
/// </summary>
public sealed class HostileRegistry : IAsyncDisposable
{
    public const string TokenPath = "/token";
    private static readonly Regex ApiPath = new("^/v2/(?<repo>.+?)/(?<kind>manifests|blobs|tags|referrers)/(?<rest>.*)$", RegexOptions.CultureInvariant);

    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Func<HostileRequest, HostileReply?>> _routes = new();
    private readonly ConcurrentQueue<HostileRequest> _requests = new();
    private readonly ConcurrentDictionary<string, Repo> _repos = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _tokens = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<TcpClient, Task> _live = new();
    private readonly Task _accepting;
    private int _sequence, _connections, _issued;

    private HostileRegistry(HostileAuth auth, string? username, string? password, X509Certificate2? certificate, IPAddress address)
    {
        Auth = auth;
        Username = username;
        Password = password;
        Certificate = certificate;
        _listener = new TcpListener(address, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        Host = $"{address}:{Port}";
        BaseUri = new Uri($"{(certificate != null ? "https" : "http")}://{Host}/");
        _accepting = Task.Run(AcceptAsync);
    }

    /// <param name="tls">Serve HTTPS with a fresh self-signed certificate (<see cref="Certificate"/>); plain requests to the port are still answered, and logged as such.</param>
    public static HostileRegistry Start(HostileAuth auth = HostileAuth.None, string? username = null, string? password = null, bool tls = false, IPAddress? address = null)
    {
        if (auth != HostileAuth.None && (username == null || password == null)) throw new ArgumentException("Basic and Bearer need a username and a password.");
        return new HostileRegistry(auth, username, password, tls ? CreateCertificate() : null, address ?? IPAddress.Loopback);
    }

    public HostileAuth Auth { get; }
    public string? Username { get; }
    public string? Password { get; }
    public X509Certificate2? Certificate { get; }
    public string Host { get; }
    public int Port { get; }
    public Uri BaseUri { get; }
    /// <summary>The token realm announced in Bearer challenges; by default this server's own <see cref="TokenPath"/>.</summary>
    public string? Realm { get; set; }
    public string Service { get; set; } = "hostile";
    /// <summary>
    /// Serve the OCI 1.1 referrers API (<c>GET /v2/&lt;name&gt;/referrers/&lt;digest&gt;</c>, the artifactType filter
    /// with <c>OCI-Filters-Applied</c>) and answer a manifest PUT that has a subject with <c>OCI-Subject</c>.
    /// Off: referrers requests get 404, as from a registry that predates the API.
    /// </summary>
    public bool ReferrersApi { get; set; }

    /// <summary>Every request received so far, in order.</summary>
    public IReadOnlyList<HostileRequest> Requests => _requests.ToArray();
    public int Connections => Volatile.Read(ref _connections);
    public int TokensIssued => Volatile.Read(ref _issued);

    /// <summary>
    /// Answers requests its own way: the newest route that returns a reply wins; null passes the
    /// request on. /v2/ requests reach routes only once authorised; other paths (the token endpoint,
    /// "object storage") reach them directly.
    /// </summary>
    public void On(Func<HostileRequest, HostileReply?> route)
    {
        lock (_routes) _routes.Insert(0, route);
    }

    // ---- content ------------------------------------------------------------------------

    public void AddImage(string repository, TestImage image, params string[] tags)
    {
        foreach (var layer in image.Layers) AddBlob(repository, layer.Data);
        AddBlob(repository, image.ConfigBytes);
        AddManifest(repository, image.ManifestBytes, image.ManifestMediaType, tags);
    }

    public void AddArtifact(string repository, TestArtifact artifact, params string[] tags)
    {
        foreach (var (_, data) in artifact.Blobs) AddBlob(repository, data);
        AddManifest(repository, artifact.ManifestBytes, artifact.MediaType, tags);
    }

    public void AddIndex(string repository, TestIndex index, params string[] tags)
    {
        foreach (var child in index.Children) AddImage(repository, child);
        AddManifest(repository, index.ManifestBytes, index.MediaType, tags);
    }

    /// <summary>Stores manifest bytes (valid or not) under their digest and the tags; returns the digest.</summary>
    public string AddManifest(string repository, byte[] bytes, string mediaType, params string[] tags)
    {
        var repo = RepoOf(repository);
        var digest = ImageFactory.Sha256Digest(bytes);
        repo.Manifests[digest] = (bytes, mediaType);
        foreach (var tag in tags)
        {
            repo.Manifests[tag] = (bytes, mediaType);
            lock (repo.Tags) if (!repo.Tags.Contains(tag)) repo.Tags.Add(tag);
        }
        return digest;
    }

    public string AddBlob(string repository, byte[] data)
    {
        var digest = ImageFactory.Sha256Digest(data);
        RepoOf(repository).Blobs[digest] = data;
        return digest;
    }

    /// <summary>What tags/list answers for the repository, instead of the tags stored.</summary>
    public void SetListedTags(string repository, IEnumerable<string> tags) => RepoOf(repository).Listed = tags.ToArray();

    public bool HasManifest(string repository, string reference) => _repos.TryGetValue(repository, out var r) && r.Manifests.ContainsKey(reference);

    private Repo RepoOf(string repository) => _repos.GetOrAdd(repository, _ => new Repo());

    private sealed class Repo
    {
        public ConcurrentDictionary<string, (byte[] Bytes, string MediaType)> Manifests { get; } = new(StringComparer.Ordinal);
        public ConcurrentDictionary<string, byte[]> Blobs { get; } = new(StringComparer.Ordinal);
        public ConcurrentDictionary<string, MemoryStream> Uploads { get; } = new(StringComparer.Ordinal);
        public List<string> Tags { get; } = new();
        public string[]? Listed { get; set; }
    }

    // ---- answering ----------------------------------------------------------------------

    private HostileReply Answer(HostileRequest request)
    {
        if (!request.Path.StartsWith("/v2/", StringComparison.Ordinal))
            return Route(request) ?? (request.Path == TokenPath ? IssueToken(request) : HostileReply.Empty(404));
        if (!IsAuthorised(request)) return Challenge(request);
        return Route(request) ?? Serve(request);
    }

    private HostileReply? Route(HostileRequest request)
    {
        Func<HostileRequest, HostileReply?>[] routes;
        lock (_routes) routes = _routes.ToArray();
        foreach (var route in routes)
            if (route(request) is { } reply) return reply;
        return null;
    }

    public string BasicValue => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Username}:{Password}"));

    private bool IsAuthorised(HostileRequest request) => Auth switch
    {
        HostileAuth.None => true,
        HostileAuth.Basic => request.Authorization == BasicValue,
        _ => request.Authorization is { } a && a.StartsWith("Bearer ", StringComparison.Ordinal) && _tokens.ContainsKey(a[7..]),
    };

    private HostileReply Challenge(HostileRequest request)
    {
        var reply = HostileReply.Error(401, "UNAUTHORIZED", "authentication required");
        if (Auth == HostileAuth.Basic) return reply.With("WWW-Authenticate", "Basic realm=\"hostile\"");
        var challenge = $"Bearer realm=\"{Realm ?? new Uri(BaseUri, TokenPath).ToString()}\",service=\"{Service}\"";
        var m = ApiPath.Match(request.Path);
        if (m.Success) challenge += $",scope=\"repository:{m.Groups["repo"].Value}:{(request.Method is "GET" or "HEAD" ? "pull" : "pull,push")}\"";
        return reply.With("WWW-Authenticate", challenge);
    }

    private static string? SubjectOf(byte[] manifest)
    {
        try
        {
            using var doc = JsonDocument.Parse(manifest);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("subject", out var s)
                && s.ValueKind == JsonValueKind.Object && s.TryGetProperty("digest", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The referrers API's answer: an index of every stored manifest whose subject is the digest, filtered by artifact type.</summary>
    private HostileReply ListReferrers(Repo? repo, string digest, string? artifactType)
    {
        var entries = new List<object>();
        if (repo != null)
            foreach (var pair in repo.Manifests.Where(p => p.Key.StartsWith("sha256:", StringComparison.Ordinal)).OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (SubjectOf(pair.Value.Bytes) != digest) continue;
                using var doc = JsonDocument.Parse(pair.Value.Bytes);
                var root = doc.RootElement;
                var type = root.TryGetProperty("artifactType", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString()
                    : root.TryGetProperty("config", out var c) && c.TryGetProperty("mediaType", out var cm) ? cm.GetString() : null;
                if (artifactType != null && type != artifactType) continue;
                entries.Add(new { mediaType = pair.Value.MediaType, digest = pair.Key, size = pair.Value.Bytes.Length, artifactType = type });
            }
        var body = JsonSerializer.SerializeToUtf8Bytes(new { schemaVersion = 2, mediaType = MediaTypes.OciIndex, manifests = entries });
        var reply = new HostileReply { Body = body }.With("Content-Type", MediaTypes.OciIndex);
        return artifactType != null ? reply.With("OCI-Filters-Applied", "artifactType") : reply;
    }

    /// <summary>A token this registry accepts, for routes that answer the token endpoint their own way.</summary>
    public string NewToken()
    {
        var token = $"hostile-token-{Interlocked.Increment(ref _issued)}";
        _tokens[token] = 0;
        return token;
    }

    /// <summary>The token realm: the right Basic credentials get a token, anything else a 401.</summary>
    private HostileReply IssueToken(HostileRequest request)
    {
        if (Auth == HostileAuth.None || request.Authorization != BasicValue) return HostileReply.Error(401, "UNAUTHORIZED", "bad credentials");
        var token = NewToken();
        return HostileReply.Json(200, new { token, access_token = token, expires_in = 300 });
    }

    /// <summary>The well-behaved registry: what the stored images make of the request.</summary>
    private HostileReply Serve(HostileRequest request)
    {
        if (request.Path == "/v2/") return HostileReply.Json(200, "{}");
        var m = ApiPath.Match(request.Path);
        if (!m.Success) return HostileReply.Error(404, "NOT_FOUND", "no such route");
        var name = m.Groups["repo"].Value;
        var rest = m.Groups["rest"].Value;
        _repos.TryGetValue(name, out var repo);
        switch (m.Groups["kind"].Value)
        {
            case "tags" when rest == "list" && request.Method == "GET":
                if (repo == null) return HostileReply.Error(404, "NAME_UNKNOWN", "repository name not known to registry");
                string[] tags;
                lock (repo.Tags) tags = repo.Listed ?? repo.Tags.ToArray();
                return HostileReply.Tags(name, tags);

            case "manifests" when request.Method is "GET" or "HEAD":
                return repo != null && repo.Manifests.TryGetValue(rest, out var manifest)
                    ? HostileReply.Manifest(manifest.Bytes, manifest.MediaType)
                    : HostileReply.Error(404, "MANIFEST_UNKNOWN", "manifest unknown");

            case "manifests" when request.Method == "PUT":
                AddManifest(name, request.Body, request.Headers.TryGetValue("Content-Type", out var type) ? type : "application/octet-stream",
                    rest.StartsWith("sha256:", StringComparison.Ordinal) ? Array.Empty<string>() : new[] { rest });
                var put = HostileReply.Empty(201).With("Docker-Content-Digest", ImageFactory.Sha256Digest(request.Body))
                    .With("Location", $"/v2/{name}/manifests/{ImageFactory.Sha256Digest(request.Body)}");
                return ReferrersApi && SubjectOf(request.Body) is { } subject ? put.With("OCI-Subject", subject) : put;

            case "referrers" when ReferrersApi && request.Method == "GET":
                return ListReferrers(repo, rest, request.QueryValue("artifactType"));

            case "blobs" when rest == "uploads/" && request.Method == "POST":
                var id = Guid.NewGuid().ToString("N");
                // Expandable: the upload's PATCHes and PUT append to what the POST brought.
                var session = new MemoryStream();
                session.Write(request.Body);
                RepoOf(name).Uploads[id] = session;
                return HostileReply.Empty(202).With("Location", $"/v2/{name}/blobs/uploads/{id}").With("Range", "0-0").With("Docker-Upload-UUID", id);

            case "blobs" when rest.StartsWith("uploads/", StringComparison.Ordinal) && request.Method is "PATCH" or "PUT":
                if (repo == null || !repo.Uploads.TryGetValue(rest["uploads/".Length..], out var upload)) return HostileReply.Error(404, "BLOB_UPLOAD_UNKNOWN", "upload unknown");
                upload.Write(request.Body);
                if (request.Method == "PATCH") return HostileReply.Empty(202).With("Location", request.Path).With("Range", $"0-{upload.Length - 1}");
                var data = upload.ToArray();
                var digest = ImageFactory.Sha256Digest(data);
                if (request.QueryValue("digest") != digest) return HostileReply.Error(400, "DIGEST_INVALID", "provided digest did not match uploaded content");
                repo.Blobs[digest] = data;
                return HostileReply.Empty(201).With("Docker-Content-Digest", digest).With("Location", $"/v2/{name}/blobs/{digest}");

            case "blobs" when request.Method is "GET" or "HEAD":
                return repo != null && repo.Blobs.TryGetValue(rest, out var blob)
                    ? new HostileReply { Body = blob }.With("Content-Type", "application/octet-stream").With("Docker-Content-Digest", rest)
                    : HostileReply.Error(404, "BLOB_UNKNOWN", "blob unknown to registry");
        }
        return HostileReply.Error(405, "UNSUPPORTED", "the operation is unsupported");
    }

    // ---- the wire -----------------------------------------------------------------------

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (SocketException) { continue; }
            Interlocked.Increment(ref _connections);
            _live[client] = Task.Run(() => ServeConnectionAsync(client));
        }
    }

    private async Task ServeConnectionAsync(TcpClient client)
    {
        var ct = _stop.Token;
        try
        {
            client.NoDelay = true;
            Stream stream = client.GetStream();
            var tls = false;
            // Peek: a TLS handshake starts with 0x16. On a TLS port anything else is plain HTTP, served so
            // a downgrade shows in the log; on a plain port a handshake (the client's HTTPS probe) is hung up on.
            var first = new byte[1];
            if (await client.Client.ReceiveAsync(first, SocketFlags.Peek, ct).ConfigureAwait(false) == 0) return;
            if (first[0] == 0x16)
            {
                if (Certificate == null) return;
                var ssl = new SslStream(stream);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = Certificate }, ct).ConfigureAwait(false);
                stream = ssl;
                tls = true;
            }
            var wire = new Wire(stream);
            while (!ct.IsCancellationRequested)
            {
                var request = await ReadRequestAsync(wire, tls, ct).ConfigureAwait(false);
                if (request == null) return;
                _requests.Enqueue(request);
                HostileReply reply;
                try { reply = Answer(request); }
                catch (Exception e) { reply = HostileReply.Error(500, "TESTBED_BUG", e.Message); }
                if (reply.Hangup) return;
                if (!await WriteReplyAsync(stream, request, reply, ct).ConfigureAwait(false)) return;
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException or System.Security.Authentication.AuthenticationException or InvalidDataException)
        {
            // The client went away, or spoke something that is not HTTP: nothing to answer.
        }
        finally
        {
            _live.TryRemove(client, out _);
            client.Dispose();
        }
    }

    private async Task<HostileRequest?> ReadRequestAsync(Wire wire, bool tls, CancellationToken ct)
    {
        var line = await wire.ReadLineAsync(ct).ConfigureAwait(false);
        if (line == null) return null;
        var parts = line.Split(' ');
        if (parts.Length != 3) throw new InvalidDataException("not an HTTP request line");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var h = await wire.ReadLineAsync(ct).ConfigureAwait(false); !string.IsNullOrEmpty(h); h = await wire.ReadLineAsync(ct).ConfigureAwait(false))
        {
            var colon = h.IndexOf(':');
            if (colon > 0) headers[h[..colon].Trim()] = h[(colon + 1)..].Trim();
        }
        byte[] body;
        if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
            body = await wire.ReadChunkedAsync(ct).ConfigureAwait(false);
        else if (headers.TryGetValue("Content-Length", out var cl) && long.TryParse(cl, out var length) && length > 0)
            body = await wire.ReadExactAsync(checked((int)length), ct).ConfigureAwait(false);
        else
            body = Array.Empty<byte>();
        return new HostileRequest
        {
            Sequence = Interlocked.Increment(ref _sequence), Method = parts[0], Target = parts[1], Headers = headers, Body = body, Tls = tls,
        };
    }

    /// <summary>Writes the reply; true when the connection can carry another request.</summary>
    private static async Task<bool> WriteReplyAsync(Stream stream, HostileRequest request, HostileReply reply, CancellationToken ct)
    {
        var length = reply.ContentLength ?? reply.Body.Length;
        var keep = !reply.Close && reply.Writer == null && length == reply.Body.Length &&
                   !(request.Headers.TryGetValue("Connection", out var c) && c.Equals("close", StringComparison.OrdinalIgnoreCase));
        var head = new StringBuilder($"HTTP/1.1 {reply.Status} {Reason(reply.Status)}\r\n");
        foreach (var (name, value) in reply.Headers) head.Append(name).Append(": ").Append(value).Append("\r\n");
        if (length >= 0 && !reply.Headers.Any(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)))
            head.Append("Content-Length: ").Append(length).Append("\r\n");
        if (!keep) head.Append("Connection: close\r\n");
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.UTF8.GetBytes(head.ToString()), ct).ConfigureAwait(false);
        if (request.Method != "HEAD")
        {
            if (reply.Writer != null) await reply.Writer(stream, ct).ConfigureAwait(false);
            else await stream.WriteAsync(reply.Body, ct).ConfigureAwait(false);
        }
        await stream.FlushAsync(ct).ConfigureAwait(false);
        return keep;
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK", 201 => "Created", 202 => "Accepted", 307 => "Temporary Redirect", 400 => "Bad Request", 401 => "Unauthorized",
        404 => "Not Found", 405 => "Method Not Allowed", 500 => "Internal Server Error", _ => "Whatever",
    };

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=hostile.test", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        // Re-imported so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _listener.Stop();
        foreach (var client in _live.Keys) client.Dispose();
        try { await Task.WhenAll(_live.Values.Append(_accepting)).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (Exception) { /* stopping: whatever the connections were doing is over */ }
        Certificate?.Dispose();
        _stop.Dispose();
    }

    public override string ToString() => $"hostile registry {BaseUri} ({Auth})";

    /// <summary>Buffered reads of lines and bodies off one connection.</summary>
    private sealed class Wire
    {
        private const int MaxLine = 64 * 1024;
        private const int MaxBody = 64 * 1024 * 1024;
        private readonly Stream _stream;
        private readonly byte[] _buffer = new byte[16 * 1024];
        private int _start, _end;

        public Wire(Stream stream) => _stream = stream;

        private async Task<bool> FillAsync(CancellationToken ct)
        {
            if (_start == _end) _start = _end = 0;
            if (_end == _buffer.Length)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            var n = await _stream.ReadAsync(_buffer.AsMemory(_end), ct).ConfigureAwait(false);
            _end += n;
            return n > 0;
        }

        /// <summary>A CRLF-terminated line; null when the connection closed before one began.</summary>
        public async Task<string?> ReadLineAsync(CancellationToken ct)
        {
            var line = new MemoryStream();
            while (true)
            {
                for (; _start < _end; _start++)
                {
                    if (_buffer[_start] == (byte)'\n')
                    {
                        _start++;
                        var bytes = line.ToArray();
                        return Encoding.Latin1.GetString(bytes, 0, bytes.Length > 0 && bytes[^1] == '\r' ? bytes.Length - 1 : bytes.Length);
                    }
                    line.WriteByte(_buffer[_start]);
                    if (line.Length > MaxLine) throw new InvalidDataException("line too long");
                }
                if (!await FillAsync(ct).ConfigureAwait(false))
                    return line.Length == 0 ? null : throw new IOException("connection closed mid-line");
            }
        }

        public async Task<byte[]> ReadExactAsync(int count, CancellationToken ct)
        {
            if (count > MaxBody) throw new InvalidDataException("body too large");
            var result = new byte[count];
            var done = 0;
            while (done < count)
            {
                if (_start == _end && !await FillAsync(ct).ConfigureAwait(false)) throw new IOException("connection closed mid-body");
                var n = Math.Min(count - done, _end - _start);
                Buffer.BlockCopy(_buffer, _start, result, done, n);
                _start += n;
                done += n;
            }
            return result;
        }

        public async Task<byte[]> ReadChunkedAsync(CancellationToken ct)
        {
            var body = new MemoryStream();
            while (true)
            {
                var sizeLine = await ReadLineAsync(ct).ConfigureAwait(false) ?? throw new IOException("connection closed mid-body");
                var size = Convert.ToInt32(sizeLine.Split(';')[0].Trim(), 16);
                if (size == 0) break;
                body.Write(await ReadExactAsync(size, ct).ConfigureAwait(false));
                if (body.Length > MaxBody) throw new InvalidDataException("body too large");
                await ReadLineAsync(ct).ConfigureAwait(false);
            }
            while (!string.IsNullOrEmpty(await ReadLineAsync(ct).ConfigureAwait(false))) { } // trailers
            return body.ToArray();
        }
    }
}

/// <summary>
/// A listener that should never be reached: it records every connection and what arrived on it,
/// answers a harmless 200 and closes. Tests point hostile Location/Link/realm values at it.
/// </summary>
public sealed class CanaryListener : IDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _received = new();
    private int _connections;

    private CanaryListener(IPAddress address)
    {
        _listener = new TcpListener(address, 0);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        Host = $"{address}:{Port}";
        BaseUri = new Uri($"http://{Host}/");
        _ = Task.Run(AcceptAsync);
    }

    /// <summary>Listens on <paramref name="address"/>, by default 127.0.0.2: loopback, yet another host than 127.0.0.1.</summary>
    public static CanaryListener Start(IPAddress? address = null) => new(address ?? IPAddress.Parse("127.0.0.2"));

    public string Host { get; }
    public int Port { get; }
    public Uri BaseUri { get; }
    public int Connections => Volatile.Read(ref _connections);
    /// <summary>The first bytes of each connection, as text.</summary>
    public IReadOnlyList<string> Received => _received.ToArray();

    /// <summary>"nothing", or the request lines that arrived (no headers: they may hold the secret a test looks for).</summary>
    public string Describe() => Connections == 0 ? "nothing"
        : $"{Connections} connection(s): " + string.Join(" | ", Received.Select(r => r.Split('\n')[0].Trim()));

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception) { return; }
            Interlocked.Increment(ref _connections);
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        using var wait = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                        wait.CancelAfter(TimeSpan.FromSeconds(2));
                        var stream = client.GetStream();
                        var buffer = new byte[4096];
                        var n = await stream.ReadAsync(buffer, wait.Token).ConfigureAwait(false);
                        _received.Enqueue(Encoding.Latin1.GetString(buffer, 0, n));
                        await stream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"), wait.Token).ConfigureAwait(false);
                    }
                    catch (Exception) { _received.Enqueue("(nothing readable)"); }
                }
            });
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }
}

/// <summary>
/// The canned hostile scenario the <c>hostile</c> verb serves (for Pester, out of process): Basic
/// credentials with a canary password, a canary listener, and one repository per attack.
/// <c>GET /_hostile/state</c> (no credentials) reports what the canary and the registry received.
/// </summary>
public static class HostileScenario
{
    public const string User = "hostile-user";
    public static readonly string[] BadTags =
    {
        "../../../victim/manifests/prod", "a/../../x", "%2F..%2Fvictim", "v1%00", new string('t', 200), "-bad", ".bad",
    };

    public static (HostileRegistry Registry, CanaryListener Canary) Start(string password) => Start(password, out _);

    /// <param name="flaky">A second, anonymous registry that hangs up on every request until healed.</param>
    public static (HostileRegistry Registry, CanaryListener Canary) Start(string password, out HostileRegistry flaky)
    {
        var registry = HostileRegistry.Start(HostileAuth.Basic, User, password);
        var canary = CanaryListener.Start();
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{password}"));
        var userInfo = $"{User}:{Uri.EscapeDataString(password)}";
        HostileReply Echo(int status, HostileRequest r) => HostileReply.Error(status, "X",
            $"refused {User}: password {password}, basic {basic}, header {r.Authorization}, encoded {Uri.EscapeDataString(password)}, b64 {Convert.ToBase64String(Encoding.UTF8.GetBytes(password))}");

        // a/app: good1 and good2 among tags that are paths, escapes and grammar breaks.
        registry.AddImage("a/app", ImageFactory.CreateImage(710_001, layerCount: 1, layerSize: 8 * 1024), "good1");
        registry.AddImage("a/app", ImageFactory.CreateImage(710_002, layerCount: 1, layerSize: 8 * 1024), "good2");
        registry.SetListedTags("a/app", BadTags.Concat(new[] { "good1", "good2" }));

        // f/app: e400 and e401 exist (HEAD works) but their GET answers with the credentials echoed.
        foreach (var (tag, status, seed) in new[] { ("e400", 400, 710_010), ("e401", 401, 710_011) })
        {
            var image = ImageFactory.CreateImage(seed, layerCount: 1, layerSize: 8 * 1024);
            registry.AddImage("f/app", image, tag);
            registry.On(r => r.Method == "GET" && r.Path == $"/v2/f/app/manifests/{image.Digest}" ? Echo(status, r) : null);
        }

        // f/linky: the next tag page is a URL with the credentials as user info, and it echoes them.
        registry.AddImage("f/linky", ImageFactory.CreateImage(710_020, layerCount: 1, layerSize: 8 * 1024), "l1");
        registry.On(r => r.Path != "/v2/f/linky/tags/list" ? null : r.QueryValue("last") == null
            ? HostileReply.Tags("f/linky", "l1").With("Link", $"<http://{userInfo}@{registry.Host}/v2/f/linky/tags/list?last=l1>; rel=\"next\"")
            : Echo(400, r));

        // c/self: a tag page that links to itself (answered 1000 times at most, then 404).
        var selfPages = 0;
        registry.On(r => r.Path != "/v2/c/self/tags/list" ? null : Interlocked.Increment(ref selfPages) > 1000
            ? HostileReply.Error(404, "NAME_UNKNOWN", "loop cap of the test bed reached")
            : HostileReply.Tags("c/self", "s1", "s2", "s3", "s4", "s5").With("Link", $"<{r.Target}>; rel=\"next\""));

        // d/away (as a destination): upload sessions "live" on the canary listener.
        registry.On(r => r.Method == "POST" && r.Path == "/v2/d/away/blobs/uploads/"
            ? HostileReply.Empty(202).With("Location", $"{canary.BaseUri}v2/d/away/blobs/uploads/u1?_state=s") : null);

        // Faults that last until POST /_hostile/heal, for "every failure is visible and re-runnable":
        // t/cut lists its tags cut short, t/gone does not exist yet, and the flaky registry hangs up.
        var healed = 0;
        bool Faulty() => Volatile.Read(ref healed) == 0;
        registry.AddImage("t/cut", ImageFactory.CreateImage(710_030, layerCount: 1, layerSize: 8 * 1024), "v1");
        registry.On(r => r.Path == "/v2/t/cut/tags/list" && Faulty() ? HostileReply.Json(200, "{\"name\":\"t/cut\",\"tags\":[\"v1\"") : null);
        registry.AddImage("t/gone", ImageFactory.CreateImage(710_031, layerCount: 1, layerSize: 8 * 1024), "v1");
        registry.On(r => r.Path.StartsWith("/v2/t/gone/", StringComparison.Ordinal) && Faulty()
            ? HostileReply.Error(404, "NAME_UNKNOWN", "repository name not known to registry") : null);
        var down = HostileRegistry.Start(HostileAuth.None, null, null);
        down.AddImage("flaky/app", ImageFactory.CreateImage(710_032, layerCount: 1, layerSize: 8 * 1024), "v1");
        down.On(r => Faulty() ? new HostileReply { Hangup = true } : null);
        flaky = down;
        registry.On(r => r.Method == "POST" && r.Path == "/_hostile/heal" ? Heal() : null);
        HostileReply Heal()
        {
            Interlocked.Exchange(ref healed, 1);
            return HostileReply.Json(200, "{}");
        }

        // once/*: damaged once, then whole, so a per-request retry survives it: once/app lists its tags
        // cut short the first time; once/image serves its manifest's bytes cut short the first time.
        var onceImage = ImageFactory.CreateImage(710_033, layerCount: 1, layerSize: 8 * 1024);
        registry.AddImage("once/app", ImageFactory.CreateImage(710_034, layerCount: 1, layerSize: 8 * 1024), "v1");
        registry.AddImage("once/image", onceImage, "v1");
        var tagsServed = 0;
        var manifestsServed = 0;
        registry.On(r => r.Path == "/v2/once/app/tags/list" && Interlocked.Increment(ref tagsServed) == 1
            ? HostileReply.Json(200, "{\"name\":\"once/app\",\"tags\":[") : null);
        registry.On(r => r.Method == "GET" && r.Path == $"/v2/once/image/manifests/{onceImage.Digest}" && Interlocked.Increment(ref manifestsServed) == 1
            ? HostileReply.Manifest(onceImage.ManifestBytes[..(onceImage.ManifestBytes.Length / 2)], onceImage.ManifestMediaType) : null);

        registry.On(r => r.Path == "/_hostile/state" ? HostileReply.Json(200, new
        {
            canaryConnections = canary.Connections,
            selfPages = Volatile.Read(ref selfPages),
            requests = registry.Requests.Where(q => q.Path != "/_hostile/state")
                .Select(q => new { method = q.Method, target = q.Target, authorization = q.Authorization != null }).ToArray(),
        }) : null);
        return (registry, canary);
    }
}
