using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using OciSync.Core.Stores;
using OciSync.Core.Tests.Sync;
using OciSync.TestBed;
using Xunit;
using Xunit.Abstractions;

namespace OciSync.Core.Tests.Stores;

/// <summary>
/// SIGKILLs a child pwsh syncing into OCI layouts (and archives) at seeded random points: after every kill
/// each tag in each layout's index.json (each archive's) names complete, verified content; then a run
/// without kills finishes them all.
/// </summary>
[Collection("registries")]
public sealed class LayoutKillTests
{
    private const int Seed = 5151;
    private const int Kills = 5;
    private readonly RegistryFixture _registries;
    private readonly ITestOutputHelper _output;

    public LayoutKillTests(RegistryFixture registries, ITestOutputHelper output)
    {
        _registries = registries;
        _output = output;
    }

    [Fact]
    public Task Killing_a_sync_into_layouts_never_leaves_a_tag_on_incomplete_content_and_a_rerun_finishes_it() =>
        KillAndFinishAsync(archives: false);

    /// <summary>An archive is written whole at the end (staging directory, then one rename): a kill leaves the old archive or none, never a torn one.</summary>
    [Fact]
    public Task Killing_a_sync_into_archives_never_leaves_a_torn_archive_and_a_rerun_finishes_it() =>
        KillAndFinishAsync(archives: true);

    private async Task KillAndFinishAsync(bool archives)
    {
        var module = ChildPwsh.PackagedModule();
        var pwsh = await ChildPwsh.ResolveAsync();
        var source = _registries.Anonymous;
        var sourceHttp = new RegistryHttp(source);
        foreach (var image in KillTests.Set.Value) await image.Push(sourceHttp);
        await using var proxy = FaultProxy.Start(source.BaseUri, FaultSchedule.None);
        proxy.BytesPerSecond = 6 * 1024 * 1024; // ≈ 19 MB: about three seconds for the whole set

        var work = Directory.CreateTempSubdirectory("ocisync-layout-kill-");
        try
        {
            var layouts = Path.Combine(work.FullName, "layouts");
            var images = Path.Combine(work.FullName, "images.yaml");
            // One layout per source repository (a layout is one repository), every tag of it.
            await File.WriteAllLinesAsync(images, KillTests.Set.Value.GroupBy(i => i.Repository)
                .Select(g => $"\"{proxy.Host}/{g.Key}:{string.Join(",", g.Select(i => i.Tag))}\": \"{(archives ? "oci-archive:" : "oci:")}{Path.Combine(layouts, Store(g.Key, archives))}\""));
            var auth = Path.Combine(work.FullName, "auth.yaml");
            await File.WriteAllTextAsync(auth, "{}\n");
            var random = new Random(Seed);
            int killed = 0, attempts = 0, checkedTags = 0;
            while (killed < Kills)
            {
                Assert.True(++attempts <= Kills + 6, $"only {killed} of {attempts - 1} runs were still going when their kill came");
                var exchanges = proxy.Exchanges;
                using var child = ChildPwsh.StartSync(pwsh, module, images, auth);
                var started = Stopwatch.StartNew();
                while (proxy.Exchanges == exchanges && !child.Process.HasExited && started.Elapsed < TimeSpan.FromSeconds(60)) await Task.Delay(5);
                var exited = child.Process.WaitForExitAsync();
                var delay = random.Next(200, 4500);
                if (await Task.WhenAny(exited, Task.Delay(delay)) != exited)
                {
                    child.Process.Kill();
                    killed++;
                }
                await exited.WaitAsync(TimeSpan.FromSeconds(30));
                var complete = archives ? AssertEveryArchiveComplete(layouts) : AssertEveryTagComplete(layouts);
                checkedTags += complete;
                _output.WriteLine($"run {attempts}: {(child.Process.ExitCode == 0 ? "finished" : $"SIGKILL after {delay} ms")}; {complete} tags present and complete");
                if (complete == KillTests.Set.Value.Length)
                {
                    // Everything arrived before a kill: start over, so kills land early in a sync too.
                    Directory.Delete(layouts, recursive: true);
                }
            }

            proxy.BytesPerSecond = 0;
            using (var final = ChildPwsh.StartSync(pwsh, module, images, auth))
            {
                await final.Process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
                Assert.True(final.Process.ExitCode == 0, $"the final run failed ({final.Process.ExitCode}):\n{final.Output}");
            }
            Assert.Equal(KillTests.Set.Value.Length, archives ? AssertEveryArchiveComplete(layouts) : AssertEveryTagComplete(layouts));
            if (archives) Assert.Empty(Directory.GetDirectories(layouts)); // the staging directories are gone once written
            foreach (var image in KillTests.Set.Value)
            {
                var extracted = archives ? Extract(Path.Combine(layouts, Store(image.Repository, true))) : null;
                var indexPath = Path.Combine(extracted ?? Path.Combine(layouts, Store(image.Repository, false)), "index.json");
                using var index = JsonDocument.Parse(File.ReadAllText(indexPath));
                if (extracted != null) Directory.Delete(Path.GetDirectoryName(extracted)!, recursive: true);
                Assert.Contains(index.RootElement.GetProperty("manifests").EnumerateArray(), m =>
                    m.GetProperty("annotations").GetProperty(OciLayoutStore.RefNameAnnotation).GetString() == image.Tag && m.GetProperty("digest").GetString() == image.Digest);
            }
            _output.WriteLine($"{killed} kills in {attempts} runs; {checkedTags} tag checks after kills");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static string Store(string repository, bool archive) => repository.Replace('/', '-') + (archive ? ".tar" : string.Empty);

    /// <summary>Every archive is a whole tar of a layout whose every tag is complete; returns how many tags.</summary>
    private static int AssertEveryArchiveComplete(string layouts)
    {
        if (!Directory.Exists(layouts)) return 0;
        var tags = 0;
        foreach (var archive in Directory.GetFiles(layouts, "*.tar"))
        {
            var dir = Extract(archive);
            var one = AssertEveryTagComplete(Path.GetDirectoryName(dir)!);
            Assert.True(one > 0, $"{archive} holds no tag");
            tags += one;
            Directory.Delete(Path.GetDirectoryName(dir)!, recursive: true);
        }
        return tags;
    }

    /// <summary>Unpacks an archive (System.Formats.Tar: a torn tar throws) into a fresh directory of its own; returns the layout directory.</summary>
    private static string Extract(string archive)
    {
        var parent = Directory.CreateTempSubdirectory("ocisync-archive-kill-").FullName;
        var dir = Path.Combine(parent, "layout");
        Directory.CreateDirectory(dir);
        System.Formats.Tar.TarFile.ExtractToDirectory(archive, dir, overwriteFiles: false);
        return dir;
    }

    /// <summary>Every tag of every layout names a manifest whose whole tree is there and verified; returns how many tags.</summary>
    private static int AssertEveryTagComplete(string layouts)
    {
        if (!Directory.Exists(layouts)) return 0;
        var tags = 0;
        foreach (var dir in Directory.GetDirectories(layouts))
        {
            var indexPath = Path.Combine(dir, "index.json");
            if (!File.Exists(indexPath)) continue;
            using var index = JsonDocument.Parse(File.ReadAllText(indexPath)); // never half written: it is renamed into place
            foreach (var entry in index.RootElement.GetProperty("manifests").EnumerateArray())
            {
                OciLayoutTests.AssertBlobsPresent(dir, entry.GetProperty("digest").GetString()!);
                tags++;
            }
        }
        return tags;
    }
}
