using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>Shard results that merge: the summary file (ocisync-summary/1), the shard header of the images files, Merge.</summary>
[Collection("registries")]
public sealed class ShardResultTests
{
    private readonly RegistryFixture _registries;

    public ShardResultTests(RegistryFixture registries) => _registries = registries;

    /// <summary>A destination repository under <paramref name="prefix"/> that shard <paramref name="shard"/> of <paramref name="count"/> owns (so a shard filter keeps it).</summary>
    private static string OwnedBy(string host, string prefix, int shard, int count)
    {
        for (int i = 0; ; i++)
        {
            var candidate = $"{host}/{prefix}-{i}";
            if (ShardSpec.ShardOf(ImageReference.Parse(candidate), count) == shard) return candidate;
        }
    }

    [Fact]
    public async Task A_shards_run_writes_its_shard_into_the_summary_the_YAML_files_and_the_summary_file()
    {
        var source = _registries.Anonymous;
        var repo = $"results/ok-{Guid.NewGuid():N}";
        await new RegistryHttp(source).PushImageAsync(repo, ImageFactory.CreateImage(91_000, layerCount: 1, layerSize: 2048), "v1");
        var dst = OwnedBy(_registries.Basic.Host, $"results/dst-{Guid.NewGuid():N}", 1, 3);
        var gone = OwnedBy(_registries.Basic.Host, $"results/gone-{Guid.NewGuid():N}", 1, 3);
        // v1 syncs; "missing" is no tag (ManifestNotFound); the second rule's repository does not exist (a listing failure).
        var tags = SyncRule.Create($"{source.Host}/{repo}:v1,missing", new[] { dst });
        var listing = SyncRule.Create($"{source.Host}/results/none-{Guid.NewGuid():N}", new[] { gone });
        var dir = Path.Combine(Path.GetTempPath(), $"ocisync-shard-{Guid.NewGuid():N}");
        var options = new SyncOptions
        {
            Retries = 0,
            Shard = new ShardSpec(1, 3),
            FailedImagesPath = Path.Combine(dir, "failed.yaml"),
            SuccessImagesPath = Path.Combine(dir, "success.json"),
            SummaryPath = Path.Combine(dir, "summary.json"),
        };
        try
        {
            var harness = new SyncHarness(_registries);
            var summary = await new SyncEngine(harness.Clients, options, harness).RunAsync(new[] { tags, listing }, CancellationToken.None);

            Assert.Equal(1, summary.Shard);
            Assert.Equal(3, summary.ShardCount);
            Assert.Empty(summary.Shards);
            Assert.StartsWith("shard 1 of 3: 3 images: 1 synced, 0 unchanged, 0 filtered, 2 failed;", summary.ToString());
            var failedYaml = File.ReadAllText(options.FailedImagesPath);
            Assert.StartsWith("# OciSync shard 1 of 3\n", failedYaml);
            Assert.Contains($"\"{listing.Source}\": \"{listing.Targets[0]}\"\n", failedYaml); // the listing failure as its rule
            Assert.Contains($"\"{source.Host}/{repo}:missing\": \"{dst}:missing\"\n", failedYaml);
            Assert.StartsWith("{", File.ReadAllText(options.SuccessImagesPath)); // JSON: no comment line

            var back = SummaryFile.Read(options.SummaryPath);
            Assert.Equal(failedYaml, back.FailedImages); // exactly the failed file's text
            Assert.StartsWith("# OciSync shard 1 of 3\n", back.SuccessImages);
            Assert.Equal($"\"{source.Host}/{repo}:v1\": \"{dst}:v1\"\n", back.SuccessImages.Split('\n', 2)[1]);
            AssertSameSummary(summary, back.Summary);
            Assert.Equal(2, back.FailedRules.Count);
            Assert.Contains(back.FailedRules, r => r.Kind == SourceSelectorKind.AllTags && r.Source == listing.Source);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task An_unsharded_run_has_no_shard_and_the_summary_file_embeds_the_texts_without_the_images_files()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"ocisync-shard-{Guid.NewGuid():N}");
        var rule = SyncRule.Create($"{_registries.Anonymous.Host}/results/none-{Guid.NewGuid():N}", new[] { $"{_registries.Basic.Host}/results/x" });
        try
        {
            var harness = new SyncHarness(_registries);
            var options = new SyncOptions { Retries = 0, SummaryPath = Path.Combine(dir, "s.json") };
            var summary = await new SyncEngine(harness.Clients, options, harness).RunAsync(new[] { rule }, CancellationToken.None);

            Assert.Null(summary.Shard);
            Assert.Null(summary.ShardCount);
            Assert.StartsWith("1 image: 0 synced", summary.ToString());
            var json = File.ReadAllText(options.SummaryPath);
            Assert.Contains("\"format\": \"ocisync-summary/1\"", json);
            Assert.Contains("\"shard\": null", json);
            Assert.Contains("\"shardCount\": null", json);
            var back = SummaryFile.Read(options.SummaryPath);
            Assert.Equal($"\"{rule.Source}\": \"{rule.Targets[0]}\"\n", back.FailedImages);
            Assert.Equal(string.Empty, back.SuccessImages);
            Assert.Equal(new[] { "s.json" }, Directory.GetFiles(dir).Select(Path.GetFileName)); // no images file asked for, none written
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void The_summary_file_round_trips_every_field()
    {
        var full = new SyncSummary
        {
            Shard = 2, ShardCount = 5, RunId = "job-7f3a:2", Images = 10, Synced = 4, Unchanged = 2, Filtered = 1, Failed = 3, Declined = 7, Deleted = 8, Kept = 9,
            ReferrersSynced = 11, ReferrersUnchanged = 12, BlobsCopied = 13, BlobsMounted = 14, BlobsPresent = 15, BytesCopied = 5_000_000_000L,
            RequestRetries = 16, Passes = 3, StartTime = new DateTime(2026, 12, 2, 10, 0, 0, 123, DateTimeKind.Utc),
            EndTime = new DateTime(2026, 12, 2, 10, 0, 12, 373, DateTimeKind.Utc), Seconds = 12.25,
        };
        var text = SummaryFile.Format(full, "\"a.example/x:1\": \"b.example/x:1\"\n", "");
        var back = SummaryFile.Parse(text, "s.json");
        AssertSameSummary(full, back.Summary);
        Assert.Equal(DateTimeKind.Utc, back.Summary.StartTime.Kind);
        Assert.Equal("\"a.example/x:1\": \"b.example/x:1\"\n", back.FailedImages);
        Assert.Equal("b.example/x:1", Assert.Single(back.FailedRules).Targets[0].ToString());
        Assert.Contains("\"succeeded\": false", text);
    }

    private static SyncSummary Summary(int? shard, int? count, int images = 1, int failed = 0, long bytes = 0, double seconds = 1, int passes = 1) => new SyncSummary
    {
        Shard = shard, ShardCount = count, Images = images, Synced = images - failed, Failed = failed, BytesCopied = bytes, Seconds = seconds, Passes = passes,
        StartTime = new DateTime(2026, 12, 2, 10, 0, 0, DateTimeKind.Utc).AddSeconds(shard ?? 0),
        EndTime = new DateTime(2026, 12, 2, 10, 0, 0, DateTimeKind.Utc).AddSeconds((shard ?? 0) + seconds),
    };

    private static ShardResult Shard(string path, SyncSummary summary, string failed = "", string success = "") =>
        SummaryFile.Parse(SummaryFile.Format(summary, failed, success), path);

    private static string Yaml(string comment, params (string Source, string Destination)[] copies) =>
        ImagesFileWriter.Format(copies.Select(c => new ImageCopy(ImageReference.Parse(c.Source), ImageReference.Parse(c.Destination))), json: false, null, comment);

    [Fact]
    public void Merge_sums_the_shards_keeps_the_longest_time_and_makes_one_key_of_a_source_that_failed_in_two_shards()
    {
        var listingRule = SyncRule.Create("src.example/gone", new[] { "dst.example/gone" });
        var shard0 = Yaml("OciSync shard 0 of 3", ("src.example/app:1", "dst.example/a/app:1"));
        var shard1 = Yaml("OciSync shard 1 of 3", ("src.example/app:1", "dst.example/b/app:1"))
            + ImagesFileWriter.Format(Array.Empty<ImageCopy>(), false, new[] { listingRule });
        var results = new[]
        {
            Shard("s2.json", Summary(2, 3, images: 4, bytes: 100, seconds: 7, passes: 1), success: Yaml("OciSync shard 2 of 3", ("src.example/ok:1", "dst.example/ok:1"))),
            Shard("s0.json", Summary(0, 3, images: 2, failed: 1, bytes: 1000, seconds: 30, passes: 3), shard0),
            Shard("s1.json", Summary(1, 3, images: 5, failed: 2, bytes: 10, seconds: 2), shard1),
        };

        var merge = SyncResultMerger.Merge(results);

        Assert.Empty(merge.Problems);
        var s = merge.Summary;
        Assert.Null(s.Shard);
        Assert.Equal(3, s.ShardCount);
        Assert.Equal(new[] { 0, 1, 2 }, s.Shards);
        Assert.Empty(s.MissingShards);
        Assert.Equal(11, s.Images);
        Assert.Equal(3, s.Failed);
        Assert.Equal(8, s.Synced);
        Assert.Equal(1110, s.BytesCopied);
        Assert.Equal(30, s.Seconds); // the longest shard, not the sum
        Assert.Equal(3, s.Passes);
        Assert.Equal(results[1].Summary.StartTime, s.StartTime);
        Assert.Equal(results[1].Summary.EndTime, s.EndTime); // shard 0: started first, ran longest
        Assert.StartsWith("3 of 3 shards merged: 11 images:", s.ToString());

        var failed = merge.FailedImages(json: false);
        Assert.Equal("# OciSync 3 of 3 shards merged\n" +
                     "\"src.example/app:1\":\n  - \"dst.example/a/app:1\"\n  - \"dst.example/b/app:1\"\n" +
                     "\"src.example/gone\": \"dst.example/gone\"\n", failed);
        var rules = ImagesFile.Parse(failed, "merged.yaml");
        Assert.Empty(rules.Errors);
        Assert.Equal(2, rules.Rules.Count);
        Assert.Equal(2, rules.Rules[0].Targets.Count);
        Assert.Equal(SourceSelectorKind.AllTags, rules.Rules[1].Kind); // the listing failure is re-run as the rule
        Assert.Equal("{\n  \"src.example/ok:1\": \"dst.example/ok:1\"\n}\n", merge.SuccessImages(json: true));
    }

    [Fact]
    public void Merge_reports_missing_duplicate_and_mismatched_shards_and_merges_the_rest()
    {
        var results = new[]
        {
            Shard("a.json", Summary(0, 4, images: 1)),
            Shard("b.json", Summary(3, 4, images: 2)),
            Shard("c.json", Summary(0, 4, images: 100)),   // shard 0 again
            Shard("d.json", Summary(1, 3, images: 1000)),  // another job's count
        };

        var merge = SyncResultMerger.Merge(results);

        Assert.Equal(new[] { ErrorIds.ShardResultDuplicate, ErrorIds.ShardResultMismatch, ErrorIds.ShardResultMissing }, merge.Problems.Select(p => p.ErrorId));
        Assert.Equal("c.json", merge.Problems[0].Path);
        Assert.Contains("'a.json'", merge.Problems[0].Message);
        Assert.Equal("d.json", merge.Problems[1].Path);
        Assert.Null(merge.Problems[2].Path);
        Assert.Contains("shards 1, 2 of 4", merge.Problems[2].Message);
        Assert.Equal(new[] { 0, 3 }, merge.Summary.Shards);
        Assert.Equal(new[] { 1, 2 }, merge.Summary.MissingShards);
        Assert.Equal(3, merge.Summary.Images);
        Assert.StartsWith("2 of 4 shards merged (missing 1, 2): ", merge.Summary.ToString());
        Assert.Equal("# OciSync 2 of 4 shards merged (missing 1, 2)\n{}\n", merge.FailedImages(false));
    }

    [Fact]
    public void Merge_with_an_expected_count_refuses_files_of_another_and_an_unsharded_run_is_shard_0_of_1()
    {
        var merge = SyncResultMerger.Merge(new[] { Shard("a.json", Summary(0, 3)), Shard("b.json", Summary(1, 3)) }, shardCount: 2);
        Assert.Equal(new[] { ErrorIds.ShardResultMismatch, ErrorIds.ShardResultMismatch, ErrorIds.ShardResultMissing }, merge.Problems.Select(p => p.ErrorId));
        Assert.Empty(merge.Summary.Shards);
        Assert.Equal(new[] { 0, 1 }, merge.Summary.MissingShards);

        var whole = SyncResultMerger.Merge(new[] { Shard("w.json", Summary(null, null, images: 4, failed: 1), Yaml("", ("src.example/w:1", "dst.example/w:1"))) });
        Assert.Empty(whole.Problems);
        Assert.Equal(1, whole.Summary.ShardCount);
        Assert.Equal(new[] { 0 }, whole.Summary.Shards);
        Assert.Contains("\"src.example/w:1\": \"dst.example/w:1\"", whole.FailedImages(false));
    }

    [Fact]
    public void Merge_takes_one_run_leaves_out_a_stale_shard_of_another_and_is_not_Succeeded_with_a_shard_missing()
    {
        SyncSummary Of(int shard, string? run) => new SyncSummary { Shard = shard, ShardCount = 3, RunId = run, Images = 1, Synced = 1 };
        var files = new[]
        {
            Shard("today-0.json", Of(0, "job-today")), Shard("today-2.json", Of(2, "job-today")),
            Shard("yesterday-1.json", Of(1, "job-yesterday")),   // shard 1 of today never wrote its file
        };

        var merge = SyncResultMerger.Merge(files);

        Assert.Equal(new[] { ErrorIds.ShardResultMismatch, ErrorIds.ShardResultMissing }, merge.Problems.Select(p => p.ErrorId));
        Assert.Equal("yesterday-1.json", merge.Problems[0].Path);
        Assert.Contains("run 'job-yesterday', not 'job-today'", merge.Problems[0].Message);
        Assert.Equal("job-today", merge.Summary.RunId);
        Assert.Equal(new[] { 1 }, merge.Summary.MissingShards);
        Assert.Equal(0, merge.Summary.Failed);
        Assert.False(merge.Summary.Succeeded); // no image failed, but a shard's images are unaccounted for

        var asked = SyncResultMerger.Merge(files, runId: "job-yesterday");
        Assert.Equal(new[] { 1 }, asked.Summary.Shards);
        Assert.Equal(3, asked.Problems.Count); // two of today's left out, shards 0 and 2 missing

        Assert.Equal("job-today", SummaryFile.Parse(SummaryFile.Format(Of(0, "job-today"), "", ""), "r.json").Summary.RunId);
        var bad = Assert.Throws<SyncResultException>(() => SummaryFile.Parse(SummaryFile.Format(Of(0, null), "", "").Replace("\"runId\": null", "\"runId\": \"a b/../c\""), "r.json"));
        Assert.Equal(ErrorIds.SummaryFileInvalid, bad.ErrorId);
    }

    [Fact]
    public void Merge_of_hostile_counts_saturates_and_a_file_that_names_no_shard_is_SummaryFileInvalid()
    {
        var huge = new SyncSummary { Shard = 0, ShardCount = 2, Images = int.MaxValue, Synced = int.MaxValue, BytesCopied = long.MaxValue };
        var merge = SyncResultMerger.Merge(new[] { Shard("a.json", huge), Shard("b.json", new SyncSummary { Shard = 1, ShardCount = 2, Images = int.MaxValue, BytesCopied = long.MaxValue }) });
        Assert.Equal(int.MaxValue, merge.Summary.Images);
        Assert.Equal(long.MaxValue, merge.Summary.BytesCopied);

        var none = SummaryFile.Format(new SyncSummary { ShardCount = 3 }, "", "");
        var e = Assert.Throws<SyncResultException>(() => SummaryFile.Parse(none, "none.json"));
        Assert.Equal(ErrorIds.SummaryFileInvalid, e.ErrorId);
        Assert.Contains("neither a \"shard\" nor any \"shards\"", e.Message);
    }

    [Theory]
    [InlineData("{not json", "it is not JSON")]
    [InlineData("[1, 2]", "must be a JSON object, not an array")]
    [InlineData("{\"format\": \"ocisync-plan/1\"}", "its format is 'ocisync-plan/1'")]
    [InlineData("{\"images\": 1}", "no \"format\"")]
    [InlineData("{\"format\": \"ocisync-summary/1\", \"images\": 1, \"synced\": 1, \"unchanged\": 0, \"filtered\": 0, \"failed\": \"x\", \"failedImages\": \"\", \"successImages\": \"\"}", "\"failed\" must be a whole number")]
    [InlineData("{\"format\": \"ocisync-summary/1\", \"images\": -1, \"synced\": 1, \"unchanged\": 0, \"filtered\": 0, \"failed\": 0, \"failedImages\": \"\", \"successImages\": \"\"}", "\"images\" must be a whole number")]
    [InlineData("{\"format\": \"ocisync-summary/1\", \"images\": 1, \"synced\": 1, \"unchanged\": 0, \"filtered\": 0, \"failed\": 0, \"successImages\": \"\"}", "no \"failedImages\"")]
    [InlineData("{\"format\": \"ocisync-summary/1\", \"shard\": 3, \"shardCount\": 3, \"images\": 1, \"synced\": 1, \"unchanged\": 0, \"filtered\": 0, \"failed\": 0, \"failedImages\": \"\", \"successImages\": \"\"}", "shard 3 is not one of its 3")]
    [InlineData("{\"format\": \"ocisync-summary/1\", \"shard\": 1, \"images\": 1, \"synced\": 1, \"unchanged\": 0, \"filtered\": 0, \"failed\": 0, \"failedImages\": \"\", \"successImages\": \"\"}", "no \"shardCount\"")]
    [InlineData("{\"format\": \"ocisync-summary/1\", \"images\": 1, \"synced\": 1, \"unchanged\": 0, \"filtered\": 0, \"failed\": 1, \"failedImages\": \"a: [\", \"successImages\": \"\"}", "\"failedImages\" is not an images file")]
    [InlineData("{\"format\": \"ocisync-summary/1\", \"images\": 1, \"synced\": 1, \"unchanged\": 0, \"filtered\": 0, \"failed\": 1, \"failedImages\": \"\\\"bad ref!\\\": \\\"x\\\"\", \"successImages\": \"\"}", "\"failedImages\" has a broken entry")]
    [InlineData("{\"format\": \"ocisync-summary/1\", \"a\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", "it is not JSON")]
    [InlineData("{\"format\": \"ocisync-summary/1\", \"images\": 1, \"synced\": 1, \"unchanged\": 0, \"filtered\": 0, \"failed\": 1, \"failedImages\": \"\\\"a.example/x:1\\\": \\\"evil.example/${HOME}\\\"\", \"successImages\": \"\"}", "environment variable HOME")]
    [InlineData("{\"format\": \"ocisync-summary/1\", \"images\": 1, \"synced\": 1, \"unchanged\": 0, \"filtered\": 0, \"failed\": 1, \"failedImages\": \"\\\"a.example/x:1\\\": \\\"\\\"\", \"successImages\": \"\"}", "\"failedImages\"")]
    public void A_garbled_summary_file_is_SummaryFileInvalid_naming_the_file_and_the_problem(string text, string problem)
    {
        var e = Assert.Throws<SyncResultException>(() => SummaryFile.Parse(text, "shard-7.json"));
        Assert.Equal(ErrorIds.SummaryFileInvalid, e.ErrorId);
        Assert.Equal("shard-7.json", e.Path);
        Assert.Contains("'shard-7.json'", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void A_missing_a_too_large_and_a_FIFO_summary_file_are_SummaryFileInvalid_without_hanging()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"ocisync-shard-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            Assert.Contains("does not exist", Assert.Throws<SyncResultException>(() => SummaryFile.Read(Path.Combine(dir, "none.json"))).Message);
            var big = Path.Combine(dir, "big.json");
            using (var f = File.Create(big)) f.SetLength(SummaryFile.MaxBytes + 1L); // sparse: costs no disk
            Assert.Contains("larger than 64 MiB", Assert.Throws<SyncResultException>(() => SummaryFile.Read(big)).Message);
            Assert.Contains("directory", Assert.Throws<SyncResultException>(() => SummaryFile.Read(dir)).Message);
            if (!OperatingSystem.IsWindows())
            {
                var fifo = Path.Combine(dir, "fifo.json");
                using (var p = Process.Start("mkfifo", fifo)) p.WaitForExit();
                var old = SummaryFile.ReadTimeout;
                SummaryFile.ReadTimeout = TimeSpan.FromSeconds(1);
                try
                {
                    var watch = Stopwatch.StartNew();
                    var e = Assert.Throws<SyncResultException>(() => SummaryFile.Read(fifo));
                    Assert.Contains("could not be read within", e.Message);
                    Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10));
                }
                finally
                {
                    SummaryFile.ReadTimeout = old;
                    // Unblock the abandoned open so its thread ends.
                    try { using var w = new FileStream(fifo, FileMode.Open, FileAccess.Write); } catch (IOException) { }
                }
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private const string Punctuation = "{}[]\":,\\0-9e.$#\n";

    [Fact]
    public void Mutated_summary_files_parse_or_are_SummaryFileInvalid_never_another_exception()
    {
        var failed = Yaml("OciSync shard 1 of 3", ("src.example/app:1", "dst.example/app:1"), ("src.example/app@sha256:" + new string('a', 64), "dst.example/pinned"))
            + "\"src.example/gone:/^v[0-9]+$/\": {\"destinations\": [\"dst.example/gone\"], \"latest\": 2}\n";
        var valid = Encoding.UTF8.GetBytes(SummaryFile.Format(Summary(1, 3, images: 3, failed: 3), failed, ""));
        Assert.Equal(3, SummaryFile.Parse(Encoding.UTF8.GetString(valid), "ok.json").FailedRules.Count); // the seed itself is valid
        var random = new Random(14);
        var outcomes = new int[2];
        for (int i = 0; i < 3000; i++)
        {
            var bytes = (byte[])valid.Clone();
            switch (i % 3)
            {
                case 0: for (int k = 0; k < 1 + random.Next(4); k++) bytes[random.Next(bytes.Length)] = (byte)random.Next(256); break;
                case 1: Array.Resize(ref bytes, random.Next(bytes.Length)); break;
                default: for (int k = 0; k < 1 + random.Next(4); k++) bytes[random.Next(bytes.Length)] = (byte)Punctuation[random.Next(Punctuation.Length)]; break;
            }
            try
            {
                SummaryFile.Parse(Encoding.UTF8.GetString(bytes), "m.json");
                outcomes[0]++;
            }
            catch (SyncResultException e)
            {
                Assert.Equal(ErrorIds.SummaryFileInvalid, e.ErrorId);
                outcomes[1]++;
            }
        }
        Assert.True(outcomes[0] > 0 && outcomes[1] > 0, $"parsed {outcomes[0]}, refused {outcomes[1]}");
    }

    private static void AssertSameSummary(SyncSummary expected, SyncSummary actual)
    {
        foreach (var p in typeof(SyncSummary).GetProperties())
        {
            var a = p.GetValue(expected);
            var b = p.GetValue(actual);
            if (a is DateTime da) Assert.Equal(da.ToUniversalTime(), ((DateTime)b!).ToUniversalTime());
            else if (a is int[] ia) Assert.Equal(ia, (int[])b!);
            else if (a is double d) Assert.Equal(d, (double)b!, 9);
            else Assert.True(Equals(a, b), $"{p.Name}: {a} != {b}");
        }
    }
}
