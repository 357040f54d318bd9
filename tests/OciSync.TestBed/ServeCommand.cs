using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading.Tasks;

namespace OciSync.TestBed;

/// <summary>
/// <c>OciSync.TestBed serve</c>: registries started, seeded, counted and stopped on command, for scripts
/// that need more than <c>up</c> gives (the benchmarks: fresh destinations per run, access-log counts,
/// one huge layer). One command per stdin line; each answer is one stdout line <c>@@ {json}</c> or
/// <c>@@ERR message</c>; anything else on stdout is chatter. Everything stops on <c>quit</c> or stdin EOF.
/// </summary>
internal static class ServeCommand
{
    internal const string Usage =
        "  OciSync.TestBed serve\n" +
        "      answers commands on stdin, one per line, each with one '@@ {json}' (or '@@ERR message') line:\n" +
        "        start                            an anonymous registry: {id, host}\n" +
        "        seed-bench ID [REPOS TAGS BIG SMALL LAYERS]  SeedSets.SeedBenchAsync (defaults 20 3 12 2359296 5): {tags, digests, totalBytes, ...}\n" +
        "        seed-big ID REPO TAG MIB         an OCI image with one MIB-MiB random layer, streamed from a temp file\n" +
        "        log-clear ID | log-count ID      forget / count the access log: {total, byKind, byAgent}\n" +
        "        digests ID REPO:TAG[,REPO:TAG]   {\"repo:tag\": digest or null}\n" +
        "        delay ID RTT_MS MBIT             a delay line (DelayLine) in front of registry ID: {line, host}; MBIT 0 = unlimited\n" +
        "        line-stats LINE                  {connections, bytesToUpstream, bytesToClient} of a delay line\n" +
        "        stop ID | quit                   stop one registry (and delete its storage) or delay line / everything";

    private static readonly Regex AccessLine = new(@"""(?<m>[A-Z]+) (?<p>\S+) HTTP/1\.1"" (?<s>\d{3}) \S+ ""[^""]*"" ""(?<a>[^""]*)""", RegexOptions.Compiled);

    internal static async Task<int> RunAsync()
    {
        var servers = new Dictionary<string, RegistryServer>(StringComparer.Ordinal);
        var lines = new Dictionary<string, DelayLine>(StringComparer.Ordinal);
        var next = 0;
        try
        {
            string? line;
            while ((line = await Console.In.ReadLineAsync().ConfigureAwait(false)) != null)
            {
                var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (words.Length == 0) continue;
                if (words[0] == "quit") { Answer(new { ok = true }); break; }
                try
                {
                    object answer = words[0] switch
                    {
                        "start" => await StartAsync(servers, "r" + ++next).ConfigureAwait(false),
                        "seed-bench" => await SeedBenchAsync(Get(servers, words), words).ConfigureAwait(false),
                        "seed-big" => await SeedBigAsync(Get(servers, words), Word(words, 2), Word(words, 3), int.Parse(Word(words, 4))).ConfigureAwait(false),
                        "log-clear" => Clear(Get(servers, words)),
                        "log-count" => Count(Get(servers, words)),
                        "digests" => await DigestsAsync(Get(servers, words), Word(words, 2)).ConfigureAwait(false),
                        "delay" => Delay(lines, "d" + ++next, Get(servers, words), double.Parse(Word(words, 2), System.Globalization.CultureInfo.InvariantCulture), double.Parse(Word(words, 3), System.Globalization.CultureInfo.InvariantCulture)),
                        "line-stats" => Stats(lines, Word(words, 1)),
                        "stop" when lines.ContainsKey(Word(words, 1)) => await StopLineAsync(lines, words[1]).ConfigureAwait(false),
                        "stop" => await StopAsync(servers, words).ConfigureAwait(false),
                        _ => throw new ArgumentException($"unknown command '{words[0]}'"),
                    };
                    Answer(answer);
                }
                catch (Exception e)
                {
                    Console.Out.WriteLine("@@ERR " + Regex.Replace(e.GetBaseException().Message, @"\s+", " "));
                    Console.Out.Flush();
                }
            }
        }
        finally
        {
            foreach (var l in lines.Values) await l.DisposeAsync().ConfigureAwait(false);
            foreach (var s in servers.Values) await s.DisposeAsync().ConfigureAwait(false);
        }
        return 0;
    }

    private static object Delay(Dictionary<string, DelayLine> lines, string id, RegistryServer server, double rttMs, double megabits)
    {
        var line = DelayLine.Start(server.Host, TimeSpan.FromMilliseconds(rttMs), megabits);
        lines[id] = line;
        return new { line = id, host = line.Host };
    }

    private static object Stats(Dictionary<string, DelayLine> lines, string id)
    {
        var line = lines.TryGetValue(id, out var l) ? l : throw new ArgumentException($"no delay line '{id}'");
        return new { connections = line.Connections, bytesToUpstream = line.BytesToUpstream, bytesToClient = line.BytesToClient };
    }

    private static async Task<object> StopLineAsync(Dictionary<string, DelayLine> lines, string id)
    {
        var line = lines[id];
        lines.Remove(id);
        await line.DisposeAsync().ConfigureAwait(false);
        return new { ok = true };
    }

    private static void Answer(object value)
    {
        Console.Out.WriteLine("@@ " + JsonSerializer.Serialize(value));
        Console.Out.Flush();
    }

    private static string Word(string[] words, int i) =>
        i < words.Length ? words[i] : throw new ArgumentException($"'{words[0]}' needs {i} argument(s)");

    private static RegistryServer Get(Dictionary<string, RegistryServer> servers, string[] words) =>
        servers.TryGetValue(Word(words, 1), out var s) ? s : throw new ArgumentException($"no registry '{words[1]}'");

    private static async Task<object> StartAsync(Dictionary<string, RegistryServer> servers, string id)
    {
        var s = await RegistryServer.StartAsync(RegistryAuthKind.Anonymous).ConfigureAwait(false);
        servers[id] = s;
        return new { id, host = s.Host };
    }

    private static async Task<object> StopAsync(Dictionary<string, RegistryServer> servers, string[] words)
    {
        var s = Get(servers, words);
        servers.Remove(words[1]);
        await s.DisposeAsync().ConfigureAwait(false);
        return new { ok = true };
    }

    private static async Task<object> SeedBenchAsync(RegistryServer server, string[] words)
    {
        // Optional sizes after the id: repositories, tags per repository, big layers, small layer bytes, layers per image
        // (the quick bench seeds a smaller set; the scale set is 200 × 10 tiny images: seed-bench ID 200 10 0 1024 2).
        int At(int i, int fallback) => words.Length > i ? int.Parse(words[i]) : fallback;
        var r = await SeedSets.SeedBenchAsync(server, At(2, 20), At(3, 3), At(6, 5), At(4, 12), 50 * 1024 * 1024, At(5, 9 * 1024 * 1024 / 4)).ConfigureAwait(false);
        return new
        {
            repositories = r.Repositories,
            tags = r.Tags,
            digests = r.Digests,
            blobs = r.Blobs,
            manifests = r.Manifests,
            totalBytes = r.TotalBytes,
            text = r.ToString(),
        };
    }

    private static object Clear(RegistryServer server)
    {
        server.ClearLog();
        return new { ok = true };
    }

    /// <summary>Access-log lines by "METHOD kind status" (kind: v2, tags, manifests, blobs, uploads) and by user agent.</summary>
    private static object Count(RegistryServer server)
    {
        var lines = server.AccessLogLines;
        var byKind = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var byAgent = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var l in lines)
        {
            var m = AccessLine.Match(l);
            if (!m.Success) continue;
            var path = m.Groups["p"].Value;
            var kind = path.Contains("/blobs/uploads/") ? "uploads" : path.Contains("/blobs/") ? "blobs" : path.Contains("/manifests/") ? "manifests"
                : path.Contains("/tags/list") ? "tags" : Regex.IsMatch(path, "^/v2/?$") ? "v2" : "other";
            var key = $"{m.Groups["m"].Value} {kind} {m.Groups["s"].Value}";
            byKind[key] = byKind.GetValueOrDefault(key) + 1;
            var agent = m.Groups["a"].Value.Split('/', ' ')[0];
            byAgent[agent] = byAgent.GetValueOrDefault(agent) + 1;
        }
        return new { total = lines.Count, byKind, byAgent };
    }

    private static async Task<object> DigestsAsync(RegistryServer server, string references)
    {
        var http = new RegistryHttp(server);
        var answer = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var reference in references.Split(','))
        {
            var i = reference.LastIndexOf(':');
            answer[reference] = await http.GetManifestDigestAsync(reference[..i], reference[(i + 1)..]).ConfigureAwait(false);
        }
        return answer;
    }

    /// <summary>
    /// An OCI image whose one layer is <paramref name="mib"/> MiB of random (incompressible) bytes, written
    /// to a temporary file 1 MiB at a time and streamed from it, so the layer never sits in memory.
    /// The layer is labelled gzip but holds raw bytes; registries and copiers do not look inside.
    /// </summary>
    private static async Task<object> SeedBigAsync(RegistryServer server, string repository, string tag, int mib)
    {
        var file = Path.Combine(Path.GetTempPath(), $"ocisync-bench-biglayer-{Environment.ProcessId}.bin");
        string layerDigest;
        long size = (long)mib * 1024 * 1024;
        try
        {
            using (var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256))
            await using (var fs = File.Create(file))
            {
                var buffer = new byte[1024 * 1024];
                for (var i = 0; i < mib; i++)
                {
                    RandomNumberGenerator.Fill(buffer);
                    await fs.WriteAsync(buffer).ConfigureAwait(false);
                    hash.AppendData(buffer);
                }
                layerDigest = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
            }
            await PushFileBlobAsync(server.BaseUri, repository, layerDigest, file).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(file);
        }

        var http = new RegistryHttp(server);
        var config = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            architecture = "amd64",
            os = "linux",
            rootfs = new { type = "layers", diff_ids = new[] { layerDigest } },
        }));
        var configDigest = ImageFactory.Sha256Digest(config);
        await http.PushBlobAsync(repository, configDigest, config).ConfigureAwait(false);
        var manifest = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            schemaVersion = 2,
            mediaType = MediaTypes.OciManifest,
            config = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = configDigest, size = config.Length },
            layers = new[] { new { mediaType = MediaTypes.OciLayerGzip, digest = layerDigest, size } },
        }));
        await http.PushManifestAsync(repository, tag, manifest, MediaTypes.OciManifest).ConfigureAwait(false);
        return new { repository, tag, digest = ImageFactory.Sha256Digest(manifest), layerDigest, layerSize = size };
    }

    /// <summary>POST an upload, then PUT the whole file with <c>?digest=</c>.</summary>
    private static async Task PushFileBlobAsync(Uri baseUri, string repository, string digest, string path)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromMinutes(15) };
        using var start = await client.PostAsync(new Uri(baseUri, $"/v2/{repository}/blobs/uploads/"), null).ConfigureAwait(false);
        if ((int)start.StatusCode != 202) throw new InvalidOperationException($"upload start answered {(int)start.StatusCode}");
        var location = start.Headers.Location!;
        if (!location.IsAbsoluteUri) location = new Uri(baseUri, location);
        var separator = location.Query.Length > 0 ? "&" : "?";
        await using var stream = File.OpenRead(path);
        using var content = new StreamContent(stream, 1024 * 1024);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.ContentLength = stream.Length;
        using var done = await client.PutAsync(new Uri($"{location}{separator}digest={Uri.EscapeDataString(digest)}"), content).ConfigureAwait(false);
        if ((int)done.StatusCode != 201)
            throw new InvalidOperationException($"blob upload answered {(int)done.StatusCode}: {await done.Content.ReadAsStringAsync().ConfigureAwait(false)}");
    }
}
