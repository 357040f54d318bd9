using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using OciSync.TestBed;
using Xunit;
using Xunit.Abstractions;

namespace OciSync.Core.Tests.Sync;

/// <summary>
/// SIGKILLs a child pwsh in the middle of <c>Invoke-ImageSync</c> (the packaged module) at seeded random
/// points, and after every kill checks that each tag in the destination names complete content; then a
/// run without kills must finish everything. The source sits behind the fault proxy, throttled so a sync
/// lasts a few seconds, with a few transient faults on blob downloads.
/// </summary>
[Collection("registries")]
public sealed class KillTests
{
    private const int Seed = 4242;
    private const int Kills = 10;
    private const int KillsPerRound = 4; // then a fresh destination prefix, so kills also land early in a sync
    private readonly RegistryFixture _registries;
    private readonly ITestOutputHelper _output;

    public KillTests(RegistryFixture registries, ITestOutputHelper output)
    {
        _registries = registries;
        _output = output;
    }

    internal static readonly Lazy<(string Repository, string Tag, byte[] Manifest, string Digest, Func<RegistryHttp, Task> Push)[]> Set = new(() =>
    {
        var images = new List<(string, string, byte[], string, Func<RegistryHttp, Task>)>();
        void Image(string repo, TestImage image, params string[] tags)
        {
            foreach (var tag in tags) images.Add((repo, tag, image.ManifestBytes, image.Digest, http => http.PushImageAsync(repo, image, tag)));
        }
        void Index(string repo, TestIndex index, string tag) => images.Add((repo, tag, index.ManifestBytes, index.Digest, http => http.PushIndexAsync(repo, index, tag)));
        Image("kill/base", ImageFactory.CreateImage(72_001, layerCount: 3, layerSize: 1536 * 1024), "1.0", "latest");
        Image("kill/docker", ImageFactory.CreateImage(72_002, layerCount: 3, layerSize: 1536 * 1024, format: ImageFormat.Docker), "2.0");
        Image("kill/big", ImageFactory.CreateImage(72_003, layerCount: 2, layerSize: 3 * 1024 * 1024), "1");
        Image("kill/more", ImageFactory.CreateImage(72_004, layerCount: 4, layerSize: 1024 * 1024), "0.9");
        Index("kill/app", ImageFactory.CreateIndex(72_005, ImageFormat.Oci, includePlatformlessEntry: true, ("linux", "amd64", null), ("linux", "arm64", "v8")), "1.0");
        Index("kill/legacy", ImageFactory.CreateIndex(72_006, ImageFormat.Docker, ("linux", "amd64", null), ("linux", "arm", "v7")), "1.0");
        return images.ToArray();
    });

    [Fact]
    public async Task Killing_Invoke_ImageSync_at_random_points_never_leaves_a_tag_on_incomplete_content()
    {
        var module = ChildPwsh.PackagedModule();
        var pwsh = await ChildPwsh.ResolveAsync();
        var source = _registries.Anonymous;
        var destination = _registries.Basic;
        var sourceHttp = new RegistryHttp(source);
        foreach (var image in Set.Value) await image.Push(sourceHttp);

        var faults = new FaultSchedule(Seed, 0.08).Only(RequestClass.BlobGet, FaultKind.ServerError, FaultKind.ResetMidBody, FaultKind.TruncatedBody);
        await using var proxy = FaultProxy.Start(source.BaseUri, faults);
        proxy.BytesPerSecond = 6 * 1024 * 1024; // ≈ 19 MB: about three seconds per fresh round

        var work = Directory.CreateTempSubdirectory("ocisync-kill-");
        try
        {
            var auth = Path.Combine(work.FullName, "auth.yaml");
            await File.WriteAllTextAsync(auth, $"{destination.Host}:\n  username: \"{destination.Username}\"\n  password: \"{destination.Password}\"\n");
            var target = new RegistryHttp(destination);
            var random = new Random(Seed);
            var prefixes = new List<string>();
            int round = 0, killsInRound = 0, killed = 0, attempts = 0;
            var watch = Stopwatch.StartNew();

            while (killed < Kills)
            {
                Assert.True(++attempts <= Kills + 6, $"only {killed} of {attempts - 1} runs were still going when their kill came");
                var prefix = $"k{Seed}-{round}";
                if (!prefixes.Contains(prefix)) prefixes.Add(prefix);
                var images = await WriteImagesFileAsync(work.FullName, proxy.Host, destination.Host, new[] { prefix });
                var exchangesBefore = proxy.Exchanges;
                var bytesBefore = proxy.BytesToClients;
                var delay = random.Next(50, 2500);

                using var child = ChildPwsh.StartSync(pwsh, module, images, auth);
                // The clock starts when the sync's first request arrives, not when pwsh starts.
                var started = Stopwatch.StartNew();
                while (proxy.Exchanges == exchangesBefore && !child.Process.HasExited && started.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(5);
                Assert.True(proxy.Exchanges > exchangesBefore, $"the child never reached the source: {child.Output}");
                var startup = started.Elapsed;
                var exited = child.Process.WaitForExitAsync();
                var wasRunning = await Task.WhenAny(exited, Task.Delay(delay)) != exited;
                if (wasRunning) child.Process.Kill(); // SIGKILL: no finally blocks, no cleanup, mid-request
                await exited.WaitAsync(TimeSpan.FromSeconds(30));

                var present = await AssertEveryTagCompleteAsync(target, prefix);
                var pulled = proxy.BytesToClients - bytesBefore;
                // Image and blob results come as they happen.
                var done = child.Lines.Count(l => l.StartsWith("DONE ", StringComparison.Ordinal));
                var blobs = child.Lines.Count(l => l.StartsWith("BLOB ", StringComparison.Ordinal));
                if (wasRunning)
                {
                    killed++;
                    killsInRound++;
                    _output.WriteLine($"kill {killed,2} ({prefix}): SIGKILL {delay,4} ms after the first request (pwsh took {startup.TotalSeconds:0.0} s to get there); {pulled / 1024.0 / 1024:0.0} MiB pulled, " +
                        $"{blobs} blobs and {done} images reported done, {present}/{Set.Value.Length} tags present and complete");
                }
                else
                {
                    Assert.True(child.Process.ExitCode == 0, $"the sync of {prefix} ended with {child.Process.ExitCode} before its kill:\n{child.Output}");
                    _output.WriteLine($"run ({prefix}): finished within {delay} ms, before its kill; {present}/{Set.Value.Length} tags present and complete");
                }
                if (!wasRunning || killsInRound == KillsPerRound || present == Set.Value.Length) { round++; killsInRound = 0; }
            }

            // No more kills, no throttle: one run finishes every round.
            proxy.BytesPerSecond = 0;
            var all = await WriteImagesFileAsync(work.FullName, proxy.Host, destination.Host, prefixes);
            using (var final = ChildPwsh.StartSync(pwsh, module, all, auth))
            {
                await final.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
                Assert.True(final.Process.ExitCode == 0, $"the final run failed ({final.Process.ExitCode}):\n{final.Output}");
                var summary = final.Lines.Single(l => l.StartsWith("SUMMARY ", StringComparison.Ordinal));
                _output.WriteLine($"final run over {prefixes.Count} prefixes: {summary}");
            }
            foreach (var prefix in prefixes)
            {
                Assert.Equal(Set.Value.Length, await AssertEveryTagCompleteAsync(target, prefix));
                foreach (var image in Set.Value)
                    await ContentCheck.AssertVerifiedAsync(target, $"{prefix}/{image.Repository}", image.Tag, image.Digest);
            }
            _output.WriteLine($"{killed} kills in {attempts} runs; {proxy.TotalInjected} transient faults injected; {watch.Elapsed.TotalSeconds:0.0} s\n{proxy.Report()}");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task<string> WriteImagesFileAsync(string dir, string sourceHost, string destinationHost, IEnumerable<string> prefixes)
    {
        // A source is a key once, with all its destinations in a list.
        var lines = Set.Value.SelectMany(i => prefixes.Select(p => $"  - {destinationHost}/{p}/{i.Repository}:{i.Tag}").Prepend($"{sourceHost}/{i.Repository}:{i.Tag}:"));
        var path = Path.Combine(dir, $"images-{Guid.NewGuid():N}.yaml");
        await File.WriteAllLinesAsync(path, lines);
        return path;
    }

    /// <summary>Every tag under the prefix names the source's digest and complete content; returns how many there are.</summary>
    private static async Task<int> AssertEveryTagCompleteAsync(RegistryHttp target, string prefix)
    {
        int present = 0;
        foreach (var repository in Set.Value.Select(i => i.Repository).Distinct())
        {
            foreach (var tag in await target.ListTagsAsync($"{prefix}/{repository}"))
            {
                var expected = Set.Value.SingleOrDefault(i => i.Repository == repository && i.Tag == tag);
                Assert.True(expected.Digest != null, $"{prefix}/{repository}:{tag} should not exist");
                Assert.Equal(expected.Digest, await target.GetManifestDigestAsync($"{prefix}/{repository}", tag));
                await SyncHarness.AssertCompleteAsync(target, $"{prefix}/{repository}", tag);
                present++;
            }
        }
        return present;
    }
}

/// <summary>A fresh pwsh (the repository's dotnet tool, started as one process so a kill hits it) running Invoke-ImageSync.</summary>
internal sealed class ChildPwsh : IDisposable
{
    private readonly ConcurrentQueue<string> _lines = new();
    private ChildPwsh(Process process) => Process = process;

    public Process Process { get; }
    public IReadOnlyList<string> Lines => _lines.ToArray();
    public string Output => string.Join("\n", _lines);

    /// <summary>OCISYNC_MODULE, or out/OciSync/OciSync.psd1 of this repository when it holds the Core these tests were built with.</summary>
    public static string PackagedModule()
    {
        var fromEnv = Environment.GetEnvironmentVariable("OCISYNC_MODULE");
        if (!string.IsNullOrEmpty(fromEnv)) return fromEnv;
        var module = Path.Combine(RepositoryRoot(), "out", "OciSync", "OciSync.psd1");
        Assert.True(File.Exists(module), $"{module} is missing: run `dotnet pwsh ./build.ps1 -Task Package` (Test does it) or set OCISYNC_MODULE.");
        // Builds are not byte-identical, so compare times: a source edited after packaging means a stale module.
        // Each assembly against its own project (an incremental build leaves an unchanged Core's time alone).
        // OciSync.Core sits in the module's Dependencies folder, the cmdlets beside the manifest.
        foreach (var (project, folder) in new[] { ("OciSync.Core", "Dependencies"), ("OciSync.PowerShell", ".") })
        {
            var dll = Path.Combine(Path.GetDirectoryName(module)!, folder, project + ".dll");
            Assert.True(File.Exists(dll), $"{dll} is missing: run `dotnet pwsh ./build.ps1 -Task Package` again.");
            var packaged = File.GetLastWriteTimeUtc(dll);
            var newest = Directory.EnumerateFiles(Path.Combine(RepositoryRoot(), "src", project), "*.cs", SearchOption.AllDirectories)
                .Where(f => !f.Contains("/obj/", StringComparison.Ordinal)).Max(File.GetLastWriteTimeUtc);
            Assert.True(packaged >= newest, $"{module} is older than the sources of {project}: run `dotnet pwsh ./build.ps1 -Task Package` again.");
        }
        return module;
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "build.ps1")) && Directory.Exists(Path.Combine(dir.FullName, ".config"))) return dir.FullName;
        throw new InvalidOperationException($"No repository root above {AppContext.BaseDirectory}.");
    }

    /// <summary>pwsh.dll of the tool manifest's PowerShell: `dotnet pwsh` is a shim that starts it as a grandchild.</summary>
    public static async Task<string> ResolveAsync()
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = RepositoryRoot(), RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-Command", "[Environment]::GetCommandLineArgs()[0]" }) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = await p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        var dll = stdout.Trim();
        Assert.True(p.ExitCode == 0 && File.Exists(dll), $"`dotnet pwsh` did not start (run `dotnet tool restore`): {stderr}");
        return dll;
    }

    /// <summary>Starts Invoke-ImageSync; prints BLOB per blob, DONE per image and SUMMARY at the end; a failed image ends it non-zero (ErrorAction Stop).</summary>
    public static ChildPwsh StartSync(string pwshDll, string module, string images, string auth)
    {
        var script = "$PSStyle.OutputRendering = 'PlainText'; $ErrorActionPreference = 'Stop'; Import-Module $env:OCISYNC_MODULE; " +
            $"Invoke-ImageSync -Images '{images}' -Auth '{auth}' -Retries 3 -Detailed -InformationVariable info | ForEach-Object {{ " +
            "if ($_ -is [OciSync.Core.Sync.ImageResult]) { \"DONE $($_.Action) $($_.Destination) $($_.ErrorId)\" } " +
            "elseif ($_ -is [OciSync.Core.Sync.LayerResult]) { \"BLOB $($_.Action) $($_.Destination)@$($_.Digest)\" } }; " +
            "$s = ($info | Where-Object Tags -Contains 'OciSync.Summary').MessageData; " +
            "\"SUMMARY $($s.Synced) synced, $($s.Unchanged) unchanged, $($s.Failed) failed\"";
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { pwshDll, "-NoProfile", "-NonInteractive", "-Command", script }) psi.ArgumentList.Add(a);
        psi.Environment["OCISYNC_MODULE"] = module;
        var child = new ChildPwsh(new Process { StartInfo = psi });
        child.Process.OutputDataReceived += (_, e) => { if (e.Data != null) child._lines.Enqueue(e.Data); };
        child.Process.ErrorDataReceived += (_, e) => { if (e.Data != null) child._lines.Enqueue("stderr: " + e.Data); };
        child.Process.Start();
        child.Process.BeginOutputReadLine();
        child.Process.BeginErrorReadLine();
        return child;
    }

    public void Dispose()
    {
        try { if (!Process.HasExited) Process.Kill(); } catch (InvalidOperationException) { }
        Process.Dispose();
    }
}
