using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.TestBed;

public static class Program
{
    private const string Usage =
        "usage:\n" +
        "  OciSync.TestBed up [--anonymous] [--basic] [--token] [--seed demo|bench] [--state PATH] [--no-stdin]\n" +
        "      starts registries (default: --anonymous), seeds the first, prints the state JSON and READY,\n" +
        "      then runs until stdin closes (unless --no-stdin) or SIGTERM/SIGINT.\n" +
        "  OciSync.TestBed hostile [--state PATH] [--no-stdin]\n" +
        "      starts the hostile registry scenario (HostileScenario) with a fresh canary password, prints its\n" +
        "      state JSON (host, username, password, canaryHost) and READY, then runs like up.\n" +
        "  OciSync.TestBed verify --host HOST [--username U --password P] --repository R --reference T\n" +
        "      prints the manifest digest; exit 1 if any referenced blob or child manifest is missing.\n" +
        ServeCommand.Usage;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Error.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            return args[0] switch
            {
                "up" => await UpAsync(args.Skip(1).ToArray()).ConfigureAwait(false),
                "hostile" => await HostileAsync(args.Skip(1).ToArray()).ConfigureAwait(false),
                "verify" => await VerifyAsync(args.Skip(1).ToArray()).ConfigureAwait(false),
                "serve" => await ServeCommand.RunAsync().ConfigureAwait(false),
                _ => Fail($"unknown command '{args[0]}'\n{Usage}", 2),
            };
        }
        catch (ArgumentException ex)
        {
            return Fail(ex.Message + "\n" + Usage, 2);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.Net.Http.HttpRequestException)
        {
            return Fail(ex.Message, 1);
        }
    }

    private static int Fail(string message, int code)
    {
        Console.Error.WriteLine(message);
        return code;
    }

    private static async Task<int> UpAsync(string[] args)
    {
        var kinds = new List<RegistryAuthKind>();
        string? seed = null, statePath = null;
        bool watchStdin = true;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--anonymous": kinds.Add(RegistryAuthKind.Anonymous); break;
                case "--basic": kinds.Add(RegistryAuthKind.Basic); break;
                case "--token": kinds.Add(RegistryAuthKind.Token); break;
                case "--seed": seed = Value(args, ref i); break;
                case "--state": statePath = Value(args, ref i); break;
                case "--no-stdin": watchStdin = false; break;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }
        if (kinds.Count == 0) kinds.Add(RegistryAuthKind.Anonymous);
        if (seed is not (null or "demo" or "bench")) throw new ArgumentException($"--seed must be demo or bench, not '{seed}'");

        using var stop = new CancellationTokenSource();
        // Signals only cancel; cleanup happens below so the exit code stays 0.
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => { c.Cancel = true; stop.Cancel(); });

        var servers = new List<RegistryServer>();
        try
        {
            foreach (var kind in kinds)
            {
                var s = await RegistryServer.StartAsync(kind, stop.Token).ConfigureAwait(false);
                servers.Add(s);
                Console.Error.WriteLine($"started {s}");
            }

            if (seed != null)
            {
                Console.Error.WriteLine($"seeding {seed} into {servers[0].Host} ...");
                var report = seed == "demo"
                    ? await SeedSets.SeedDemoAsync(servers[0]).WaitAsync(stop.Token).ConfigureAwait(false)
                    : await SeedSets.SeedBenchAsync(servers[0], progress: m => Console.Error.WriteLine(m)).WaitAsync(stop.Token).ConfigureAwait(false);
                Console.Error.WriteLine($"seeded: {report}");
            }

            var state = servers.Select(s => new Dictionary<string, object?>
            {
                ["name"] = s.Kind.ToString().ToLowerInvariant(),
                ["host"] = s.Host,
                ["baseUri"] = s.BaseUri.ToString().TrimEnd('/'),
                ["username"] = s.Username,
                ["password"] = s.Password,
                ["refreshToken"] = s.Tokens?.RefreshToken,
                ["kind"] = s.Kind.ToString(),
            }).ToArray();
            string json = JsonSerializer.Serialize(state, new JsonSerializerOptions { WriteIndented = true });
            await AnnounceAndWaitAsync(json, statePath, watchStdin, stop.Token).ConfigureAwait(false);
            Console.Error.WriteLine("stopping registries");
            return 0;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            Console.Error.WriteLine("interrupted before READY");
            return 0;
        }
        finally
        {
            foreach (var s in servers) await s.DisposeAsync().ConfigureAwait(false);
        }
    }

    private static async Task<int> HostileAsync(string[] args)
    {
        string? statePath = null;
        bool watchStdin = true;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--state": statePath = Value(args, ref i); break;
                case "--no-stdin": watchStdin = false; break;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }
        using var stop = new CancellationTokenSource();
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.Cancel(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.Cancel(); });

        // The tail needs escaping in a URL, so the URL-encoded spelling of the canary differs from the plain one.
        var password = $"CANARY-pw-{Guid.NewGuid():N}+/@:";
        var (registry, canary) = HostileScenario.Start(password, out var flaky);
        await using (registry)
        await using (flaky)
        using (canary)
        {
            var json = JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["host"] = registry.Host,
                ["baseUri"] = registry.BaseUri.ToString().TrimEnd('/'),
                ["username"] = registry.Username,
                ["password"] = password,
                ["canaryHost"] = canary.Host,
                ["flakyHost"] = flaky.Host,
            }, new JsonSerializerOptions { WriteIndented = true });
            await AnnounceAndWaitAsync(json, statePath, watchStdin, stop.Token).ConfigureAwait(false);
        }
        return 0;
    }

    /// <summary>The state JSON (to the file too, when asked), then READY; returns on stop or, when watched, stdin EOF.</summary>
    private static async Task AnnounceAndWaitAsync(string json, string? statePath, bool watchStdin, CancellationToken stop)
    {
        if (statePath != null)
        {
            string full = Path.GetFullPath(statePath);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            await File.WriteAllTextAsync(full, json + "\n").ConfigureAwait(false);
        }
        Console.Out.WriteLine(json);
        Console.Out.WriteLine("READY");
        Console.Out.Flush();
        var waits = new List<Task> { Task.Delay(Timeout.Infinite, stop) };
        if (watchStdin) waits.Add(Task.Run(DrainStdin));
        await Task.WhenAny(waits).ConfigureAwait(false);
    }

    private static void DrainStdin()
    {
        using var stdin = Console.OpenStandardInput();
        var buf = new byte[4096];
        while (stdin.Read(buf, 0, buf.Length) > 0) { }
    }

    private static async Task<int> VerifyAsync(string[] args)
    {
        string? host = null, user = null, pass = null, repo = null, reference = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--host": host = Value(args, ref i); break;
                case "--username": user = Value(args, ref i); break;
                case "--password": pass = Value(args, ref i); break;
                case "--repository": repo = Value(args, ref i); break;
                case "--reference": reference = Value(args, ref i); break;
                default: throw new ArgumentException($"unknown option '{args[i]}'");
            }
        }
        if (host == null || repo == null || reference == null) throw new ArgumentException("verify needs --host, --repository and --reference");
        var baseUri = host.Contains("://") ? new Uri(host) : new Uri("http://" + host);
        var http = new RegistryHttp(baseUri, user, pass);

        var top = await http.GetManifestWithMediaTypeAsync(repo, reference).ConfigureAwait(false);
        if (top == null) return Fail($"{repo}:{reference}: manifest not found", 1);
        Console.Out.WriteLine(ImageFactory.Sha256Digest(top.Value.Bytes));

        var missing = new List<string>();
        await CheckManifestAsync(http, repo, top.Value.Bytes, top.Value.MediaType, missing).ConfigureAwait(false);
        foreach (var m in missing) Console.Error.WriteLine("missing: " + m);
        if (missing.Count > 0) return 1;
        Console.Error.WriteLine($"{repo}:{reference} is complete");
        return 0;
    }

    private static async Task CheckManifestAsync(RegistryHttp http, string repo, byte[] bytes, string mediaType, List<string> missing)
    {
        using var doc = JsonDocument.Parse(bytes);
        var root = doc.RootElement;
        if (root.TryGetProperty("mediaType", out var mt) && mt.GetString() is { Length: > 0 } declared) mediaType = declared;
        if (MediaTypes.IsIndex(mediaType) || root.TryGetProperty("manifests", out _))
        {
            foreach (var d in root.GetProperty("manifests").EnumerateArray())
            {
                string digest = d.GetProperty("digest").GetString()!;
                var child = await http.GetManifestWithMediaTypeAsync(repo, digest).ConfigureAwait(false);
                if (child == null) { missing.Add($"manifest {digest}"); continue; }
                if (ImageFactory.Sha256Digest(child.Value.Bytes) != digest) missing.Add($"manifest {digest} (content does not match digest)");
                await CheckManifestAsync(http, repo, child.Value.Bytes, child.Value.MediaType, missing).ConfigureAwait(false);
            }
            return;
        }
        var blobs = new List<string>();
        if (root.TryGetProperty("config", out var cfg)) blobs.Add(cfg.GetProperty("digest").GetString()!);
        if (root.TryGetProperty("layers", out var layers))
            blobs.AddRange(layers.EnumerateArray().Select(l => l.GetProperty("digest").GetString()!));
        foreach (var b in blobs)
            if (!await http.BlobExistsAsync(repo, b).ConfigureAwait(false)) missing.Add($"blob {b}");
    }

    private static string Value(string[] args, ref int i)
    {
        if (i + 1 >= args.Length) throw new ArgumentException($"{args[i]} needs a value");
        return args[++i];
    }
}
