using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Registry;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Security;

/// <summary>The hostile registries' credentials: a password found nowhere else, and every spelling it could leak in.</summary>
internal sealed class Canary
{
    public string User { get; } = "hostile-user";
    // The tail needs escaping in a URL, so the URL-encoded spelling differs from the plain one.
    public string Password { get; } = $"CANARY-pw-{Guid.NewGuid():N}+/@:";

    public string Basic => Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}"));
    public string UserInfo => $"{User}:{Uri.EscapeDataString(Password)}";

    /// <summary>(label, text) of each spelling; labels go into failure messages, the secrets never do.</summary>
    public IEnumerable<(string Label, string Text)> Forms => new[]
    {
        ("the password", Password),
        ("the password's unique part", Password.Substring(0, Password.IndexOf('+'))),
        ("base64(user:password)", Basic),
        ("base64(password)", Convert.ToBase64String(Encoding.UTF8.GetBytes(Password))),
        ("the URL-encoded password", Uri.EscapeDataString(Password)),
    };

    public string? Find(string? text) => text == null ? null : Forms.Where(f => text.Contains(f.Text, StringComparison.Ordinal)).Select(f => f.Label).FirstOrDefault();

    /// <summary>An error body that echoes every spelling of the secret and the request's own Authorization header.</summary>
    public HostileReply Echo(int status, HostileRequest request) => HostileReply.Error(status, "X",
        $"refused {User}: password {Password}, basic {Basic}, header {request.Authorization}, encoded {Uri.EscapeDataString(Password)}, b64 {Convert.ToBase64String(Encoding.UTF8.GetBytes(Password))}");
}

/// <summary>Collects every violated expectation of a scenario, so one run reports all of them.</summary>
internal sealed class Expectations
{
    private readonly List<string> _failures = new();

    public void That(bool condition, string failure)
    {
        if (!condition) _failures.Add(failure);
    }

    public void Verify()
    {
        if (_failures.Count > 0) Assert.Fail($"{_failures.Count} expectation(s) not met:\n- " + string.Join("\n- ", _failures));
    }
}

/// <summary>
/// Runs the real planner and engine with hostile and real registries side by side, recording every
/// request the client makes (with its Authorization), every log line and every result.
/// </summary>
internal sealed class SecurityHarness : ISyncObserver, IOciLog
{
    private static readonly Regex Tag = new("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", RegexOptions.CultureInvariant);
    private static readonly Regex Digest = new("^sha256:[0-9a-f]{64}$", RegexOptions.CultureInvariant);
    private static readonly Regex Api = new("^/v2/(?<repo>.+?)/(?:manifests/(?<ref>[^/]+)|blobs/(?<digest>sha256:[^/]+)|blobs/uploads/[^/]*|tags/list|referrers/(?<digest>sha256:[^/]+))$", RegexOptions.CultureInvariant);

    public SecurityHarness(RegistryFixture registries, Canary canary, IEnumerable<HostileRegistry> hostiles,
        Func<bool, HttpMessageHandler>? sockets = null, Action<RegistryClientOptions>? configure = null)
    {
        Canary = canary;
        var store = new CredentialStore();
        foreach (var server in registries.All.Where(s => s.Username != null))
            store.Add(new RegistryCredential(server.Host, server.Username, RegistryCredential.ToSecureString(server.Password)));
        foreach (var server in hostiles.Where(h => h.Username != null))
            store.Add(new RegistryCredential(server.Host, server.Username, RegistryCredential.ToSecureString(server.Password)));
        var options = new RegistryClientOptions
        {
            RequestObserver = (req, resp) => Requests.Enqueue(new Sent(req.Method.Method, req.RequestUri!, req.Headers.Authorization?.ToString(), (int?)resp?.StatusCode ?? 0)),
            SocketHandlerFactory = sockets,
            Log = this,
            Retry = new RetryPolicy { MaxAttempts = 1, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(50) },
        };
        configure?.Invoke(options);
        Clients = new RegistryClientFactory(options, store);
    }

    public sealed record Sent(string Method, Uri Uri, string? Authorization, int Status)
    {
        public string Origin => Uri.GetLeftPart(UriPartial.Authority).Replace(Uri.UserInfo + "@", "");
        public override string ToString() => $"{Method} {Uri.GetLeftPart(UriPartial.Path)}";
    }

    public Canary Canary { get; }
    public RegistryClientFactory Clients { get; }
    public ConcurrentQueue<Sent> Requests { get; } = new();
    public ConcurrentQueue<(OciLogLevel Level, string Message)> Log { get; } = new();
    public ConcurrentQueue<ManifestResult> Manifests { get; } = new();
    public ConcurrentQueue<ImageResult> Images { get; } = new();
    public ConcurrentQueue<LayerResult> Layers { get; } = new();
    /// <summary>Exception texts (ToString, inner ones included) a test saw, checked for secrets too.</summary>
    public ConcurrentQueue<string> Exceptions { get; } = new();

    public void Write(OciLogLevel level, string message) => Log.Enqueue((level, message));
    public void OnLayer(LayerResult result) => Layers.Enqueue(result);
    public void OnManifest(ManifestResult result) => Manifests.Enqueue(result);
    public void OnBytes(long count) { }
    public void OnImage(ImageResult result) => Images.Enqueue(result);
    public void OnProgress(SyncProgress progress) { }

    public Task<SyncPlan> PlanAsync(params SyncRule[] rules) => PlanAsync(rules.AsEnumerable());

    public async Task<SyncPlan> PlanAsync(IEnumerable<SyncRule> rules)
    {
        var plan = await new SyncPlanner(Clients, 4).PlanAsync(rules, headDestinations: true, CancellationToken.None);
        foreach (var error in plan.Errors) Exceptions.Enqueue(error.Error.ToString());
        return plan;
    }

    public Task<SyncSummary> RunAsync(SyncOptions options, params (string Source, string Destination)[] copies) =>
        RunAsync(options, copies.Select(c => new ImageCopy(ImageReference.Parse(c.Source), ImageReference.Parse(c.Destination))));

    public Task<SyncSummary> RunAsync(SyncOptions options, IEnumerable<ImageCopy> copies) =>
        new SyncEngine(Clients, options, this).RunAsync(copies.ToList(), CancellationToken.None);

    /// <summary>The top-level result of the image copied from <paramref name="source"/>, or null.</summary>
    public ImageResult? Result(string source) => Images.FirstOrDefault(m => m.Source == source);

    public static string Describe(SyncResult? r) => r == null ? "no result" : $"{r.Action} {r.ErrorId}".Trim();

    /// <summary>Expects the image from <paramref name="source"/> to fail with <paramref name="errorId"/>.</summary>
    public void ExpectFailed(Expectations expect, string source, string errorId)
    {
        var r = Result(source);
        expect.That(r?.Action == SyncAction.Failed && r.ErrorId == errorId, $"{source}: expected Failed {errorId}, got {Describe(r)}");
    }

    /// <summary>Expects the image to be Synced and whole in the real destination.</summary>
    public async Task ExpectSyncedAsync(Expectations expect, string source, RegistryServer destination, string repository, string tag)
    {
        var r = Result(source);
        expect.That(r?.Action == SyncAction.Synced, $"{source}: expected Synced, got {Describe(r)} {r?.Error}");
        try { await Sync.SyncHarness.AssertCompleteAsync(new RegistryHttp(destination), repository, tag); }
        catch (Exception e) { expect.That(false, $"{destination.Host}/{repository}:{tag} is not complete: {e.Message}"); }
    }

    /// <summary>
    /// Every request the client sent to <paramref name="origin"/> is the ping, the token realm or a
    /// registry API path in one of <paramref name="repositories"/> whose tag or digest is well-formed.
    /// </summary>
    public void ExpectOnlyApiPaths(Expectations expect, Uri origin, params string[] repositories)
    {
        var home = origin.GetLeftPart(UriPartial.Authority);
        foreach (var sent in Requests.Where(s => s.Origin == home))
            expect.That(IsApiPath(sent.Uri.AbsolutePath, repositories), $"the client sent a request outside the allowed paths of {home}: {sent.Method} {Cut(sent.Uri.PathAndQuery, 100)}");
    }

    /// <summary>The same check on what the hostile server itself received (the raw request targets).</summary>
    public static void ExpectOnlyApiTargets(Expectations expect, HostileRegistry server, params string[] repositories)
    {
        foreach (var request in server.Requests)
            expect.That(IsApiPath(request.Path, repositories), $"{server.Host} received a request outside the allowed paths: {request.Method} {Cut(request.Target, 100)}");
    }

    private static bool IsApiPath(string path, string[] repositories)
    {
        if (path == "/v2/" || path == HostileRegistry.TokenPath) return true;
        var m = Api.Match(path);
        return m.Success && repositories.Contains(m.Groups["repo"].Value) &&
               (!m.Groups["ref"].Success || Tag.IsMatch(m.Groups["ref"].Value) || Digest.IsMatch(m.Groups["ref"].Value)) &&
               (!m.Groups["digest"].Success || Digest.IsMatch(m.Groups["digest"].Value));
    }

    /// <summary>The client talked to nothing but these origins.</summary>
    public void ExpectOnlyOrigins(Expectations expect, params Uri[] origins)
    {
        var allowed = origins.Select(o => o.GetLeftPart(UriPartial.Authority)).ToHashSet();
        // A loopback registry is first pinged over HTTPS without credentials; that probe is expected.
        bool Probe(Sent s) => s.Uri.AbsolutePath == "/v2/" && s.Authorization == null && s.Uri.Scheme == "https" &&
                              allowed.Contains("http://" + s.Uri.Authority);
        foreach (var stray in Requests.Where(s => !allowed.Contains(s.Origin) && !Probe(s)).Select(s => s.ToString()).Distinct())
            expect.That(false, $"a request went to an origin it should not: {stray}");
        foreach (var withUserInfo in Requests.Where(s => s.Uri.UserInfo.Length > 0).Select(s => s.ToString()).Distinct())
            expect.That(false, $"a request URL carried user info: {withUserInfo}");
    }

    /// <summary>No canary spelling in any result, log line or exception text seen, nor in <paramref name="more"/>.</summary>
    public void ExpectNoSecret(Expectations expect, params (string Where, string? Text)[] more)
    {
        var texts = Images.Select(m => ("ImageResult.Error of " + m.Source, m.Error))
            .Concat(Layers.Select(l => ("LayerResult.Error of " + l.Digest, l.Error)))
            .Concat(Log.Select(l => ($"the {l.Level} log line '{Cut(l.Message)}'", (string?)l.Message)))
            .Concat(Exceptions.Select(e => ("an exception", (string?)e)))
            .Concat(more);
        foreach (var (where, text) in texts)
            if (Canary.Find(text) is { } form) expect.That(false, $"{form} appears in {where}");
    }

    internal static string Cut(string s, int length = 60) => s.Length > length ? s.Substring(0, length) + "…" : s;

    /// <summary>A small image (one 8 KiB layer): the scenarios are about the protocol, not the bytes.</summary>
    public static TestImage Small(int seed) => ImageFactory.CreateImage(seed, layerCount: 1, layerSize: 8 * 1024);

    /// <summary>A destination namespace no other test writes to.</summary>
    public static string Unique(string prefix) => prefix + Guid.NewGuid().ToString("N").Substring(0, 10);

    /// <summary>Names of the real registry's repositories, to show which ones a run created.</summary>
    public static async Task<HashSet<string>> CatalogAsync(RegistryServer server) => (await new RegistryHttp(server).CatalogAsync()).ToHashSet();

    /// <summary>A socket handler that trusts the given test certificates (and verifies nothing else differently).</summary>
    public static Func<bool, HttpMessageHandler> Trusting(params X509Certificate2[] certificates)
    {
        var thumbprints = certificates.Select(c => c.Thumbprint).ToHashSet();
        var handler = new HttpClientHandler
        {
            AllowAutoRedirect = false,
            UseCookies = false,
            ServerCertificateCustomValidationCallback = (_, cert, _, errors) => errors == System.Net.Security.SslPolicyErrors.None || (cert != null && thumbprints.Contains(cert.Thumbprint)),
        };
        return _ => handler;
    }

    /// <summary>Sets an option the fix adds by name, so this file compiles before the fix lands; false when it does not exist.</summary>
    public static bool TrySet(object options, string name, object value)
    {
        var property = options.GetType().GetProperty(name);
        if (property == null || !property.CanWrite) return false;
        property.SetValue(options, value is IConvertible && property.PropertyType != value.GetType() ? Convert.ChangeType(value, property.PropertyType) : value);
        return true;
    }
}
