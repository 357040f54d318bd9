using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.TestBed;

public enum RegistryAuthKind { Anonymous, Basic, Token }

/// <summary>Loopback ports for servers the tests start, or for nothing at all (a refused connection).</summary>
public static class Ports
{
    /// <summary>A port free a moment ago: start a server on it, or connect to it to be refused.</summary>
    public static int GetFreeLoopbackPort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        try { return ((IPEndPoint)l.LocalEndpoint).Port; }
        finally { l.Stop(); }
    }
}

/// <summary>
/// A CNCF distribution registry process on a free loopback port, with its own temp storage.
/// </summary>
public sealed class RegistryServer : IAsyncDisposable
{
    public const string InstallHint = "apt-get install docker-registry apache2-utils";
    private const string Service = "ocisync-registry";
    private const string Issuer = "ocisync-testbed-issuer";

    // Every live server, so ProcessExit can kill what tests forgot to dispose.
    private static readonly ConcurrentDictionary<RegistryServer, byte> Live = new();
    private static int _exitHookInstalled;

    // The test bed only ever talks to its own loopback registries, some with a self-signed certificate.
    private static readonly HttpClient Probe = new(new SocketsHttpHandler
    {
        UseProxy = false,
        SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true },
    })
    {
        Timeout = TimeSpan.FromSeconds(2),
    };

    // A registry that asks for client certificates is probed with one its CA issued.
    private HttpClient? _clientProbe;

    private static HttpClient ClientCertificateProbe(TestCertificateAuthority ca)
    {
        var (cert, key) = ca.IssueClient("testbed-probe-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        using var pem = System.Security.Cryptography.X509Certificates.X509Certificate2.CreateFromPemFile(cert, key);
        var usable = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(pem.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);
        return new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true, ClientCertificates = new System.Security.Cryptography.X509Certificates.X509CertificateCollection { usable } },
        }) { Timeout = TimeSpan.FromSeconds(2) };
    }

    private readonly object _logLock = new();
    private readonly List<string> _log = new();
    private Process? _process;
    private int _disposed;

    private RegistryServer(RegistryAuthKind kind, string dir, string? user, string? password, TokenServer? tokens)
    {
        Kind = kind; Directory = dir; Username = user; Password = password; Tokens = tokens;
        Host = ""; BaseUri = new Uri("http://127.0.0.1/");
    }

    public RegistryAuthKind Kind { get; }
    public string Host { get; private set; }
    public Uri BaseUri { get; private set; }
    public int Port { get; private set; }
    public string? Username { get; }
    public string? Password { get; }
    public TokenServer? Tokens { get; }
    /// <summary>The temp dir holding config.yml and storage (under data/).</summary>
    public string Directory { get; }
    public string StorageDirectory => Path.Combine(Directory, "data");

    /// <summary>Snapshot of the registry's stdout/stderr lines (access log lines go to stdout).</summary>
    public IReadOnlyList<string> LogLines
    {
        get { lock (_logLock) return _log.ToArray(); }
    }

    /// <summary>Access-log lines (combined log format) seen so far, e.g. to count requests.</summary>
    public IReadOnlyList<string> AccessLogLines => LogLines.Where(l => l.Contains("\" ") && l.Contains(" HTTP/1.1\"")).ToArray();

    public void ClearLog()
    {
        lock (_logLock) _log.Clear();
    }

    public static string RegistryBinary =>
        Environment.GetEnvironmentVariable("OCISYNC_REGISTRY_BINARY") is { Length: > 0 } b ? b : "/usr/bin/docker-registry";

    public static Task<RegistryServer> StartAsync(RegistryAuthKind kind, CancellationToken ct = default) => StartAsync(kind, tls: false, ct);

    /// <param name="tls">Serve HTTPS with a fresh self-signed certificate (for tests of certificate checks).</param>
    public static Task<RegistryServer> StartAsync(RegistryAuthKind kind, bool tls, CancellationToken ct = default) => StartAsync(kind, tls, null, false, ct);

    /// <summary>A registry with <c>storage.delete.enabled: false</c> (distribution's default): every DELETE is 405 UNSUPPORTED.</summary>
    public static Task<RegistryServer> StartWithoutDeletesAsync(RegistryAuthKind kind, CancellationToken ct = default) => StartAsync(kind, false, null, false, ct, deletes: false);

    /// <summary>HTTPS with a certificate <paramref name="ca"/> issued; with <paramref name="requireClientCertificate"/>, only clients holding one of its certificates get in.</summary>
    public static Task<RegistryServer> StartAsync(RegistryAuthKind kind, TestCertificateAuthority ca, bool requireClientCertificate = false, CancellationToken ct = default) =>
        StartAsync(kind, true, ca, requireClientCertificate, ct);

    private static async Task<RegistryServer> StartAsync(RegistryAuthKind kind, bool tls, TestCertificateAuthority? ca, bool requireClientCertificate, CancellationToken ct, bool deletes = true)
    {
        string binary = RegistryBinary;
        if (!File.Exists(binary))
            throw new InvalidOperationException(
                $"The registry binary '{binary}' was not found. Install it with: {InstallHint} (or set OCISYNC_REGISTRY_BINARY).");
        string? htpasswd = null;
        if (kind == RegistryAuthKind.Basic)
        {
            htpasswd = FindOnPath("htpasswd") ?? throw new InvalidOperationException(
                $"'htpasswd' was not found on PATH. Install it with: {InstallHint}");
        }

        SweepStaleDirectories();
        string dir = Path.Combine(Path.GetTempPath(), "ocisync-registry-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)));
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "data"));
        await File.WriteAllTextAsync(Path.Combine(dir, OwnerFile), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), ct).ConfigureAwait(false);

        string? user = null, password = null;
        TokenServer? tokens = null;
        if (kind != RegistryAuthKind.Anonymous)
        {
            user = "ocisync";
            password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        }
        string authYaml = "";
        try
        {
            if (kind == RegistryAuthKind.Basic)
            {
                string line = await RunToolAsync(htpasswd!, new[] { "-Bbn", user!, password! }, ct).ConfigureAwait(false);
                string file = Path.Combine(dir, "htpasswd");
                await File.WriteAllTextAsync(file, line.Trim() + "\n", ct).ConfigureAwait(false);
                authYaml = $"auth:\n  htpasswd:\n    realm: ocisync-testbed\n    path: {file}\n";
            }
            else if (kind == RegistryAuthKind.Token)
            {
                tokens = await TokenServer.StartAsync(user!, password!, Service, Issuer, ct).ConfigureAwait(false);
                string cert = Path.Combine(dir, "token.crt");
                await File.WriteAllTextAsync(cert, tokens.CertificatePem, ct).ConfigureAwait(false);
                authYaml = "auth:\n  token:\n" +
                           $"    realm: {tokens.Realm}\n    service: {Service}\n    issuer: {Issuer}\n    rootcertbundle: {cert}\n";
            }

            string tlsYaml = ca != null ? IssuedCertificateYaml(ca, requireClientCertificate)
                : tls ? await WriteSelfSignedCertificateAsync(dir, ct).ConfigureAwait(false) : "";
            var server = new RegistryServer(kind, dir, user, password, tokens) { Tls = tls, DeletesEnabled = deletes, _clientProbe = requireClientCertificate && ca != null ? ClientCertificateProbe(ca) : null };
            await server.LaunchAsync(binary, authYaml, tlsYaml, ct).ConfigureAwait(false);
            return server;
        }
        catch
        {
            if (tokens != null) await tokens.DisposeAsync().ConfigureAwait(false);
            TryDelete(dir);
            throw;
        }
    }

    /// <summary>True when the registry serves HTTPS with a self-signed certificate.</summary>
    public bool Tls { get; private init; }

    /// <summary>True (the test bed's default) when the registry deletes manifests by digest.</summary>
    public bool DeletesEnabled { get; private init; } = true;

    private static string IssuedCertificateYaml(TestCertificateAuthority ca, bool requireClientCertificate)
    {
        var (certFile, keyFile) = ca.IssueServer("registry-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)));
        var yaml = $"  tls:\n    certificate: {certFile}\n    key: {keyFile}\n";
        if (requireClientCertificate) yaml += $"    clientcas:\n      - {ca.CaFile}\n";
        return yaml;
    }

    private static async Task<string> WriteSelfSignedCertificateAsync(string dir, CancellationToken ct)
    {
        using var key = RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        string certFile = Path.Combine(dir, "tls.crt"), keyFile = Path.Combine(dir, "tls.key");
        await File.WriteAllTextAsync(certFile, cert.ExportCertificatePem(), ct).ConfigureAwait(false);
        await File.WriteAllTextAsync(keyFile, key.ExportRSAPrivateKeyPem(), ct).ConfigureAwait(false);
        return $"  tls:\n    certificate: {certFile}\n    key: {keyFile}\n";
    }

    private async Task LaunchAsync(string binary, string authYaml, string tlsYaml, CancellationToken ct)
    {
        InstallExitHook();
        // A free port can be grabbed by someone else before the registry binds it: retry.
        for (int attempt = 1; ; attempt++)
        {
            int port = Ports.GetFreeLoopbackPort();
            string config = Path.Combine(Directory, "config.yml");
            await File.WriteAllTextAsync(config, BuildConfig(port, authYaml, tlsYaml), ct).ConfigureAwait(false);
            ClearLog();

            var psi = new ProcessStartInfo("/bin/sh")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = false,
                UseShellExecute = false,
                WorkingDirectory = Directory,
            };
            // distribution reads REGISTRY_* variables as configuration (REGISTRY_AUTH_FILE, podman's, would be auth.file):
            // the registry gets only its config file.
            foreach (var name in psi.Environment.Keys.Where(k => k.StartsWith("REGISTRY_", StringComparison.OrdinalIgnoreCase)).ToList())
                psi.Environment.Remove(name);
            // The shell is a watchdog: it kills the registry when this process disappears,
            // even by SIGKILL, where ProcessExit would not run.
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add(
                "\"$0\" serve \"$1\" & c=$!; " +
                "trap 'kill $c 2>/dev/null; exit 0' TERM INT HUP; " +
                "while kill -0 \"$2\" 2>/dev/null && kill -0 $c 2>/dev/null; do sleep 1 & wait $!; done; " +
                "kill $c 2>/dev/null; wait $c");
            psi.ArgumentList.Add(binary);
            psi.ArgumentList.Add(config);
            psi.ArgumentList.Add(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));

            var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
            p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (_logLock) _log.Add(e.Data); };
            p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (_logLock) _log.Add(e.Data); };
            p.Start();
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            _process = p;
            Port = port;
            Host = $"127.0.0.1:{port}";
            BaseUri = new Uri($"{(Tls ? "https" : "http")}://127.0.0.1:{port}");
            Live[this] = 0;

            if (await WaitReadyAsync(p, ct).ConfigureAwait(false)) return;

            KillProcess();
            var log = string.Join("\n", LogLines.TakeLast(20));
            if (attempt < 3 && log.Contains("address already in use")) continue;
            Live.TryRemove(this, out _);
            throw new InvalidOperationException($"The registry did not start on {Host} (attempt {attempt}). Last log lines:\n{log}");
        }
    }

    private async Task<bool> WaitReadyAsync(Process p, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            ct.ThrowIfCancellationRequested();
            if (p.HasExited) return false;
            try
            {
                using var resp = await (_clientProbe ?? Probe).GetAsync(new Uri(BaseUri, "/v2/"), ct).ConfigureAwait(false);
                if (resp.StatusCode is HttpStatusCode.OK or HttpStatusCode.Unauthorized) return true;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            await Task.Delay(50, ct).ConfigureAwait(false);
        }
        return false;
    }

    private string BuildConfig(int port, string authYaml, string tlsYaml) =>
        "version: 0.1\n" +
        "log:\n  level: info\n  formatter: text\n  accesslog:\n    disabled: false\n" +
        "storage:\n" +
        $"  filesystem:\n    rootdirectory: {StorageDirectory}\n" +
        $"  delete:\n    enabled: {(DeletesEnabled ? "true" : "false")}\n" +
        // No blob descriptor cache: tests wipe or delete content and must see it at once.
        "  maintenance:\n    uploadpurging:\n      enabled: false\n" +
        "http:\n" +
        $"  addr: 127.0.0.1:{port}\n" +
        $"  secret: {Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}\n" +
        "  headers:\n    X-Content-Type-Options: [nosniff]\n" +
        tlsYaml +
        "health:\n  storagedriver:\n    enabled: false\n" +
        authYaml;

    private static async Task<string> RunToolAsync(string file, string[] args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        var stderr = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct).ConfigureAwait(false);
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{file} failed ({p.ExitCode}): {await stderr.ConfigureAwait(false)}");
        return await stdout.ConfigureAwait(false);
    }

    private const string OwnerFile = "owner.pid";

    // A host killed with SIGKILL leaves its temp dir behind (the watchdog still kills the
    // registry): remove dirs whose owner process is gone.
    private static void SweepStaleDirectories()
    {
        if (!System.IO.Directory.Exists("/proc/self")) return; // liveness check needs procfs
        try
        {
            foreach (var d in System.IO.Directory.EnumerateDirectories(Path.GetTempPath(), "ocisync-registry-*"))
            {
                var owner = Path.Combine(d, OwnerFile);
                if (!File.Exists(owner) || !int.TryParse(File.ReadAllText(owner).Trim(), out int pid)) continue;
                if (pid == Environment.ProcessId || System.IO.Directory.Exists($"/proc/{pid}")) continue;
                TryDelete(d);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    private static string? FindOnPath(string name)
    {
        foreach (var d in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var f = Path.Combine(d, name);
            if (File.Exists(f)) return f;
        }
        return null;
    }

    private static void InstallExitHook()
    {
        if (Interlocked.Exchange(ref _exitHookInstalled, 1) != 0) return;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var s in Live.Keys) s.StopSync();
        };
    }

    private void KillProcess()
    {
        var p = _process;
        if (p == null) return;
        try
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        catch (System.ComponentModel.Win32Exception) { }
        p.Dispose();
        _process = null;
    }

    private void StopSync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Live.TryRemove(this, out _);
        KillProcess();
        Tokens?.DisposeAsync().AsTask().Wait(2000);
        TryDelete(Directory);
    }

    private static void TryDelete(string dir)
    {
        try { if (System.IO.Directory.Exists(dir)) System.IO.Directory.Delete(dir, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    public ValueTask DisposeAsync()
    {
        StopSync();
        return ValueTask.CompletedTask;
    }

    public override string ToString() => $"{Kind} registry at {Host}";
}
