using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Tasks;

namespace OciSync.TestBed;

/// <summary>
/// A deliberately small, independent registry client used to seed and verify (not OciSync.Core).
/// Answers 401 challenges itself: Basic with the known credentials, Bearer via the realm.
/// </summary>
public sealed class RegistryHttp
{
    private static readonly HttpClient Client = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = true,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        // Seeding and checking only: it talks to the test bed's own registries, some self-signed.
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
    })
    {
        Timeout = TimeSpan.FromMinutes(5),
    };

    private readonly Uri _base;
    private readonly string? _username;
    private readonly string? _password;
    private readonly ConcurrentDictionary<string, string> _tokens = new();
    private volatile bool _basicRequired;

    public RegistryHttp(Uri baseUri, string? username = null, string? password = null)
    {
        _base = baseUri; _username = username; _password = password;
    }

    public RegistryHttp(RegistryServer server) : this(server.BaseUri, server.Username, server.Password) { }

    /// <summary>A client for the server that never sends credentials (to test refusals).</summary>
    public static RegistryHttp Anonymous(RegistryServer server) => new(server.BaseUri);

    public Uri BaseUri => _base;

    // ---- push ----

    public async Task PushImageAsync(string repository, TestImage image, params string[] tags)
    {
        await PushImageContentAsync(repository, image).ConfigureAwait(false);
        await PushManifestTagsAsync(repository, image.ManifestBytes, image.ManifestMediaType, image.Digest, tags).ConfigureAwait(false);
    }

    public async Task PushIndexAsync(string repository, TestIndex index, params string[] tags)
    {
        foreach (var child in index.Children)
        {
            await PushImageContentAsync(repository, child).ConfigureAwait(false);
            await PushManifestAsync(repository, child.Digest, child.ManifestBytes, child.ManifestMediaType).ConfigureAwait(false);
        }
        await PushManifestTagsAsync(repository, index.ManifestBytes, index.MediaType, index.Digest, tags).ConfigureAwait(false);
    }

    /// <summary>Monolithic upload: POST, then PUT to the Location with ?digest=. Skips blobs already there.</summary>
    public async Task PushBlobAsync(string repository, string digest, byte[] data)
    {
        if (await BlobExistsAsync(repository, digest).ConfigureAwait(false)) return;
        string scope = PushScope(repository);
        using var start = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, Url($"/v2/{repository}/blobs/uploads/")), scope).ConfigureAwait(false);
        await EnsureAsync(start, HttpStatusCode.Accepted, $"start upload of {digest} to {repository}").ConfigureAwait(false);
        var location = start.Headers.Location ?? throw new InvalidOperationException("Upload start answered without a Location.");
        if (!location.IsAbsoluteUri) location = new Uri(_base, location);
        string sep = location.Query.Length > 0 ? "&" : "?";
        var put = new Uri(location + sep + "digest=" + Uri.EscapeDataString(digest));
        using var done = await SendAsync(() =>
        {
            var content = new ByteArrayContent(data);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            return new HttpRequestMessage(HttpMethod.Put, put) { Content = content };
        }, scope).ConfigureAwait(false);
        await EnsureAsync(done, HttpStatusCode.Created, $"upload of {digest} to {repository}").ConfigureAwait(false);
    }

    /// <summary>Links a blob of <paramref name="from"/> into <paramref name="repository"/> (POST ?mount=&amp;from=); false when the registry declined.</summary>
    public async Task<bool> MountBlobAsync(string repository, string digest, string from)
    {
        string scope = PushScope(repository) + " " + PullScope(from);
        using var resp = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post,
            Url($"/v2/{repository}/blobs/uploads/?mount={Uri.EscapeDataString(digest)}&from={Uri.EscapeDataString(from)}")), scope).ConfigureAwait(false);
        return resp.StatusCode == HttpStatusCode.Created;
    }

    public async Task PushManifestAsync(string repository, string reference, byte[] manifest, string mediaType)
    {
        using var resp = await SendAsync(() =>
        {
            var content = new ByteArrayContent(manifest);
            content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
            return new HttpRequestMessage(HttpMethod.Put, Url($"/v2/{repository}/manifests/{reference}")) { Content = content };
        }, PushScope(repository)).ConfigureAwait(false);
        await EnsureAsync(resp, HttpStatusCode.Created, $"manifest {repository}:{reference}").ConfigureAwait(false);
    }

    internal async Task PushImageContentAsync(string repository, TestImage image)
    {
        foreach (var layer in image.Layers)
        {
            // Descriptor-only layers were pushed earlier by the caller (big seed sets).
            if (layer.Data.Length == 0 && layer.Size != 0) continue;
            await PushBlobAsync(repository, layer.Digest, layer.Data).ConfigureAwait(false);
        }
        await PushBlobAsync(repository, image.ConfigDigest, image.ConfigBytes).ConfigureAwait(false);
    }

    private async Task PushManifestTagsAsync(string repository, byte[] bytes, string mediaType, string digest, string[] tags)
    {
        if (tags.Length == 0)
            await PushManifestAsync(repository, digest, bytes, mediaType).ConfigureAwait(false);
        foreach (var tag in tags)
            await PushManifestAsync(repository, tag, bytes, mediaType).ConfigureAwait(false);
    }

    /// <summary>DELETE a manifest by digest (the registry must have deletes enabled); every tag pointing to it goes too.</summary>
    public async Task DeleteManifestAsync(string repository, string digest)
    {
        using var resp = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, Url($"/v2/{repository}/manifests/{digest}")), $"repository:{repository}:delete").ConfigureAwait(false);
        await EnsureAsync(resp, HttpStatusCode.Accepted, $"DELETE manifest {repository}@{digest}").ConfigureAwait(false);
    }

    /// <summary>Deletes the manifest a tag points to (and so every tag with the same digest).</summary>
    public async Task DeleteTagByDigestAsync(string repository, string tag)
    {
        var digest = await GetManifestDigestAsync(repository, tag).ConfigureAwait(false) ?? throw new InvalidOperationException($"{repository}:{tag} does not exist");
        await DeleteManifestAsync(repository, digest).ConfigureAwait(false);
    }

    // ---- read ----

    /// <summary>HEAD with every manifest type accepted; the Docker-Content-Digest, or null on 404.</summary>
    public async Task<string?> GetManifestDigestAsync(string repository, string reference)
    {
        using var resp = await SendAsync(() => ManifestRequest(HttpMethod.Head, repository, reference), PullScope(repository)).ConfigureAwait(false);
        if (resp.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureAsync(resp, HttpStatusCode.OK, $"HEAD manifest {repository}:{reference}").ConfigureAwait(false);
        return resp.Headers.TryGetValues("Docker-Content-Digest", out var v) ? v.FirstOrDefault() : null;
    }

    public async Task<byte[]?> GetManifestAsync(string repository, string reference)
        => (await GetManifestWithMediaTypeAsync(repository, reference).ConfigureAwait(false))?.Bytes;

    public async Task<(byte[] Bytes, string MediaType)?> GetManifestWithMediaTypeAsync(string repository, string reference)
    {
        using var resp = await SendAsync(() => ManifestRequest(HttpMethod.Get, repository, reference), PullScope(repository)).ConfigureAwait(false);
        if (resp.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureAsync(resp, HttpStatusCode.OK, $"GET manifest {repository}:{reference}").ConfigureAwait(false);
        var bytes = await resp.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        return (bytes, resp.Content.Headers.ContentType?.MediaType ?? "");
    }

    public async Task<bool> BlobExistsAsync(string repository, string digest)
    {
        using var resp = await SendAsync(() => new HttpRequestMessage(HttpMethod.Head, Url($"/v2/{repository}/blobs/{digest}")), PullScope(repository)).ConfigureAwait(false);
        if (resp.StatusCode == HttpStatusCode.NotFound) return false;
        await EnsureAsync(resp, HttpStatusCode.OK, $"HEAD blob {repository}@{digest}").ConfigureAwait(false);
        return true;
    }

    public async Task<byte[]?> GetBlobAsync(string repository, string digest)
    {
        using var resp = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, Url($"/v2/{repository}/blobs/{digest}")), PullScope(repository)).ConfigureAwait(false);
        if (resp.StatusCode == HttpStatusCode.NotFound) return null;
        await EnsureAsync(resp, HttpStatusCode.OK, $"GET blob {repository}@{digest}").ConfigureAwait(false);
        return await resp.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
    }

    /// <summary>All tags (follows Link pagination); empty if the repository is unknown.</summary>
    public async Task<IReadOnlyList<string>> ListTagsAsync(string repository)
        => await ListPagedAsync($"/v2/{repository}/tags/list", "tags", PullScope(repository)).ConfigureAwait(false);

    public async Task<IReadOnlyList<string>> CatalogAsync()
        => await ListPagedAsync("/v2/_catalog", "repositories", "registry:catalog:*").ConfigureAwait(false);

    private async Task<IReadOnlyList<string>> ListPagedAsync(string path, string property, string scope)
    {
        var all = new List<string>();
        Uri? next = Url(path);
        while (next != null)
        {
            var url = next;
            using var resp = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, url), scope).ConfigureAwait(false);
            if (resp.StatusCode == HttpStatusCode.NotFound) return all;
            await EnsureAsync(resp, HttpStatusCode.OK, $"GET {path}").ConfigureAwait(false);
            using var doc = JsonDocument.Parse(await resp.Content.ReadAsByteArrayAsync().ConfigureAwait(false));
            if (doc.RootElement.TryGetProperty(property, out var arr) && arr.ValueKind == JsonValueKind.Array)
                all.AddRange(arr.EnumerateArray().Select(e => e.GetString() ?? ""));
            next = null;
            if (resp.Headers.TryGetValues("Link", out var links))
            {
                var m = Regex.Match(string.Join(",", links), "<([^>]+)>;\\s*rel=\"?next\"?");
                if (m.Success) next = new Uri(_base, m.Groups[1].Value);
            }
        }
        return all;
    }

    // ---- plumbing ----

    private static string PullScope(string repository) => $"repository:{repository}:pull";
    private static string PushScope(string repository) => $"repository:{repository}:pull,push";

    private Uri Url(string path) => new(_base, path);

    private HttpRequestMessage ManifestRequest(HttpMethod method, string repository, string reference)
    {
        var req = new HttpRequestMessage(method, Url($"/v2/{repository}/manifests/{reference}"));
        foreach (var t in MediaTypes.AllManifests) req.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(t));
        return req;
    }

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> make, string scope)
    {
        var resp = await Client.SendAsync(Authorize(make(), scope)).ConfigureAwait(false);
        if (resp.StatusCode != HttpStatusCode.Unauthorized) return resp;

        var challenge = resp.Headers.WwwAuthenticate.FirstOrDefault();
        if (challenge == null) return resp;
        if (challenge.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            if (_username == null || _basicRequired) return resp;
            _basicRequired = true;
        }
        else if (challenge.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            if (!await FetchTokenAsync(challenge.Parameter ?? "", scope).ConfigureAwait(false)) return resp;
        }
        else return resp;

        resp.Dispose();
        return await Client.SendAsync(Authorize(make(), scope)).ConfigureAwait(false);
    }

    private HttpRequestMessage Authorize(HttpRequestMessage req, string scope)
    {
        if (_tokens.TryGetValue(scope, out var token))
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        else if (_basicRequired && _username != null)
            req.Headers.Authorization = BasicHeader();
        return req;
    }

    private AuthenticationHeaderValue BasicHeader() =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_username}:{_password}")));

    private async Task<bool> FetchTokenAsync(string challengeParams, string scope)
    {
        var p = Regex.Matches(challengeParams, "(\\w+)=\"([^\"]*)\"").ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        if (!p.TryGetValue("realm", out var realm)) return false;
        var query = new List<string>();
        if (p.TryGetValue("service", out var service)) query.Add("service=" + Uri.EscapeDataString(service));
        query.Add("scope=" + Uri.EscapeDataString(scope));
        var req = new HttpRequestMessage(HttpMethod.Get, realm + (realm.Contains('?') ? "&" : "?") + string.Join("&", query));
        if (_username != null) req.Headers.Authorization = BasicHeader();
        using var resp = await Client.SendAsync(req).ConfigureAwait(false);
        if (!resp.IsSuccessStatusCode) return false;
        using var doc = JsonDocument.Parse(await resp.Content.ReadAsByteArrayAsync().ConfigureAwait(false));
        string? token = doc.RootElement.TryGetProperty("token", out var t) ? t.GetString()
            : doc.RootElement.TryGetProperty("access_token", out var a) ? a.GetString() : null;
        if (string.IsNullOrEmpty(token)) return false;
        _tokens[scope] = token;
        return true;
    }

    private static async Task EnsureAsync(HttpResponseMessage resp, HttpStatusCode expected, string what)
    {
        if (resp.StatusCode == expected || (expected == HttpStatusCode.Created && resp.StatusCode == HttpStatusCode.OK)) return;
        string body = resp.Content == null ? "" : await resp.Content.ReadAsStringAsync().ConfigureAwait(false);
        throw new HttpRequestException($"{what}: {(int)resp.StatusCode} {resp.StatusCode} {body}".Trim(), null, resp.StatusCode);
    }
}
