using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using OciSync.Core.Configuration;
using OciSync.Core.Content;
using OciSync.Core.References;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>Plan files (Export-SyncPlan / Invoke-ImageSync -PlanPath): the round trip, hostile files, and size balancing.</summary>
public sealed class PlanFileTests
{
    private static readonly string D1 = "sha256:" + new string('a', 64);
    private static readonly string D2 = "sha256:" + new string('b', 64);

    private static ImageCopy Copy(string source, string destination, long? size = null, string? rule = null, TagSelection? selection = null) =>
        new ImageCopy(ImageReference.Parse(source), ImageReference.Parse(destination), rule, selection).WithSize(size);

    private static PlanFile Sample()
    {
        TagSelection.TryCreate(new TagSelectionSpec { Platforms = new[] { "linux/amd64", "linux/arm64/v8" } }, out var platforms, out _, out _);
        var copies = new[]
        {
            Copy("quay.io/org/app:1.0", "registry.example.com/mirror/app:1.0", 1234, "quay.io/org/app:1.0: registry.example.com/mirror/app", platforms)
                .WithPlan(Digest.Parse(D1), Digest.Parse(D2)),
            Copy("quay.io/org/alpine:3.19", "registry.example.com/mirror/alpine:3.19").WithPlan(Digest.Parse(D1), null),
            Copy("quay.io/org/app@" + D1, "oci:/media/usb/mirror:app", 0),
        };
        return new PlanFile(copies.Select((c, i) => c.WithShard(i)).ToList(), 3, PlanBalance.Hash, new DateTime(2026, 12, 2, 15, 0, 0, DateTimeKind.Utc));
    }

    private static byte[] Bytes(PlanFile plan)
    {
        using var stream = new MemoryStream();
        plan.WriteTo(stream);
        return stream.ToArray();
    }

    [Fact]
    public void A_plan_reads_back_as_written_copy_by_copy()
    {
        var plan = Sample();
        var path = Path.Combine(Path.GetTempPath(), "ocisync-plan-" + Guid.NewGuid().ToString("N") + ".json");
        try
        {
            plan.Write(path);
            plan.Write(path); // replacing an existing file
            var read = PlanFile.Read(path);
            Assert.Equal(3, read.ShardCount);
            Assert.Equal(PlanBalance.Hash, read.Balance);
            Assert.Equal(plan.Created, read.Created);
            Assert.Equal(plan.Copies.Count, read.Copies.Count);
            for (var i = 0; i < plan.Copies.Count; i++)
            {
                var a = plan.Copies[i];
                var b = read.Copies[i];
                Assert.Equal(a.ToString(), b.ToString());
                Assert.Equal(a.Rule, b.Rule);
                Assert.Equal(a.Platforms?.ToString(), b.Platforms?.ToString());
                Assert.Equal(a.SourceDigest, b.SourceDigest);
                Assert.Equal(a.DestinationDigest, b.DestinationDigest);
                Assert.Equal(a.Size, b.Size);
                Assert.Equal(a.Shard, b.Shard);
            }
            Assert.Equal("linux/amd64,linux/arm64/v8", read.Copies[0].Platforms!.ToString());
            Assert.Null(read.Copies[1].Size);
            Assert.Equal(Enumerable.Range(0, 3).Sum(i => read.CopiesOf(i).Count), read.Copies.Count);
            Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(path)!, Path.GetFileName(path) + ".tmp-*"));

            var json = Encoding.UTF8.GetString(Bytes(plan));
            Assert.Contains("\"format\": \"ocisync-plan/1\"", json);
            Assert.Contains("\"created\": \"2026-12-02T15:00:00.000Z\"", json);
        }
        finally { File.Delete(path); }
    }

    public static IEnumerable<object[]> Hostile()
    {
        string Valid() => Encoding.UTF8.GetString(Bytes(Sample()));
        yield return new object[] { "bad format", Valid().Replace("ocisync-plan/1", "ocisync-plan/2"), "format is 'ocisync-plan/2'" };
        yield return new object[] { "no format", "{\"shardCount\":1,\"balance\":\"Hash\",\"copies\":[]}", "format is missing" };
        yield return new object[] { "bad reference", Valid().Replace("registry.example.com/mirror/alpine:3.19", "registry.example.com/Mirror/../alpine:3.19"), "copies[1].destination" };
        yield return new object[] { "source without tag", Valid().Replace("\"quay.io/org/alpine:3.19\"", "\"quay.io/org/alpine\""), "copies[1]" };
        yield return new object[] { "huge size", Valid().Replace("\"size\": 1234", "\"size\": 9223372036854775807"), "copies[0].size" };
        yield return new object[] { "negative size", Valid().Replace("\"size\": 1234", "\"size\": -1"), "copies[0].size" };
        yield return new object[] { "fractional size", Valid().Replace("\"size\": 1234", "\"size\": 12.5"), "copies[0].size" };
        yield return new object[] { "truncated JSON", Valid().Substring(0, Valid().Length / 2), "not valid JSON" };
        yield return new object[] { "not a digest", Valid().Replace(D2, "sha256:../../etc/passwd"), "copies[0].destinationDigest" };
        yield return new object[] { "digest too short", Valid().Replace(D2, "sha256:abc"), "copies[0].destinationDigest" };
        yield return new object[] { "shard out of range", Valid().Replace("\"shardCount\": 3", "\"shardCount\": 1"), ".shard is" };
        yield return new object[] { "shard count zero", Valid().Replace("\"shardCount\": 3", "\"shardCount\": 0"), "shardCount is" };
        yield return new object[] { "unknown field", Valid().Replace("\"shard\":", "\"trust\": true, \"shard\":"), "'trust' is not a field" };
        yield return new object[] { "bad platform", Valid().Replace("linux/arm64/v8", "linux/arm64/v8/x/y"), "copies[0].platforms" };
        yield return new object[] { "balance", Valid().Replace("\"balance\": \"Hash\"", "\"balance\": \"hash\""), "balance is 'hash'" };
        yield return new object[] { "copy twice", "{\"format\":\"ocisync-plan/1\",\"shardCount\":1,\"balance\":\"Hash\",\"copies\":[" +
            "{\"source\":\"a.io/x:1\",\"destination\":\"b.io/x:1\",\"shard\":0},{\"source\":\"a.io/x:1\",\"destination\":\"b.io/x:1\",\"shard\":0}]}", "in the plan twice" };
        yield return new object[] { "not an object", "[]", "not a JSON object" };
        yield return new object[] { "deep", "{\"format\":\"ocisync-plan/1\",\"x\":" + new string('[', 100) + new string(']', 100) + "}", "not valid JSON" };
    }

    [Theory]
    [MemberData(nameof(Hostile))]
    public void A_hostile_or_garbled_plan_file_is_PlanFileInvalid_naming_file_and_problem(string what, string json, string problem)
    {
        var e = Assert.Throws<PlanFileException>(() => PlanFile.Parse(Encoding.UTF8.GetBytes(json), "shard.json"));
        Assert.Equal(ErrorIds.PlanFileInvalid, e.ErrorId);
        Assert.Equal("InvalidData", ErrorIds.Describe(e.ErrorId).Category);
        Assert.Contains("'shard.json'", e.Message);
        Assert.True(e.Message.Contains(problem, StringComparison.Ordinal), $"{what}: {e.Message}");
    }

    [Fact]
    public void A_missing_file_and_one_over_64_MiB_are_PlanFileInvalid()
    {
        var missing = Path.Combine(Path.GetTempPath(), "ocisync-none-" + Guid.NewGuid().ToString("N") + ".json");
        Assert.Contains("cannot be read", Assert.Throws<PlanFileException>(() => PlanFile.Read(missing)).Message);
        var big = Path.Combine(Path.GetTempPath(), "ocisync-big-" + Guid.NewGuid().ToString("N") + ".json");
        try
        {
            using (var f = File.Create(big)) f.SetLength(PlanFile.MaxFileBytes + 1); // sparse: nothing is read
            Assert.Contains("at most 67108864 bytes", Assert.Throws<PlanFileException>(() => PlanFile.Read(big, "big.json")).Message);
        }
        finally { File.Delete(big); }
    }

    [Fact]
    public void Size_balancing_keeps_repositories_whole_largest_first_to_the_least_loaded_shard()
    {
        var copies = new[]
        {
            Copy("s.io/a:1", "d.io/a:1", 50), Copy("s.io/a:2", "d.io/a:2", 50),   // d.io/a: 100
            Copy("s.io/b:1", "d.io/b:1", 90),                                       // d.io/b: 90
            Copy("s.io/c:1", "d.io/c:1", 60),                                       // d.io/c: 60
            Copy("s.io/d:1", "d.io/d:1", 40),                                       // d.io/d: 40
            Copy("s.io/e:1", "d.io/e:1", 30),                                       // d.io/e: 30
            Copy("s.io/f:1", "d.io/f:1", 30),                                       // d.io/f: 30 (after e by key)
            Copy("s.io/g:1", "D.IO/g:1", null),                                     // d.io/g: unknown, 0
        };
        var assigned = PlanBalancer.Assign(copies, 3, PlanBalance.Size, out var unknown);
        Assert.Equal(1, unknown);
        // a(100)->0; b(90)->1; c(60)->2; d(40)->2 (60 < 90, 100); e(30)->1 (90 < 100); f(30)->0 (0 and 2 tie at 100: the lower shard); g(0)->2 (130, 120, 100).
        var expected = new Dictionary<string, int> { ["d.io/a"] = 0, ["d.io/b"] = 1, ["d.io/c"] = 2, ["d.io/d"] = 2, ["d.io/e"] = 1, ["d.io/f"] = 0, ["d.io/g"] = 2 };
        foreach (var c in assigned) Assert.Equal(expected[ShardSpec.KeyOf(c.Destination)], c.Shard);
        Assert.Equal(copies.Select(c => c.ToString()), assigned.Select(c => c.ToString()));
        // The same plan in another order gives the same shards.
        var again = PlanBalancer.Assign(copies.Reverse().ToList(), 3, PlanBalance.Size, out _);
        foreach (var c in again) Assert.Equal(expected[ShardSpec.KeyOf(c.Destination)], c.Shard);
        // Hash: the destination repository's hash, as shards without a plan.
        Assert.All(PlanBalancer.Assign(copies, 7, PlanBalance.Hash, out _), c => Assert.Equal(ShardSpec.ShardOf(c.Destination, 7), c.Shard));
    }

    [Fact]
    public void Sizes_a_registry_claims_saturate_instead_of_overflowing()
    {
        Assert.Equal(PlanSizes.MaxBytes, PlanSizes.Add(PlanSizes.MaxBytes - 1, 2));
        Assert.Equal(PlanSizes.MaxBytes, PlanSizes.Add(long.MaxValue, long.MaxValue));
        Assert.Equal(5, PlanSizes.Add(-10, 5));
        var big = long.MaxValue / 2;
        var manifest = Manifest.Parse(Encoding.UTF8.GetBytes(
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\"," +
            $"\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{D1}\",\"size\":{big}}}," +
            $"\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{D2}\",\"size\":{big}}},{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{D2}\",\"size\":{big}}}]}}"), null);
        Assert.Equal(PlanSizes.MaxBytes, PlanSizes.SumBlobs(manifest));
        // A saturated size still fits a plan file.
        var copy = Copy("s.io/a:1", "d.io/a:1", PlanSizes.MaxBytes).WithShard(0);
        var read = PlanFile.Parse(Bytes(new PlanFile(new[] { copy }, 1, PlanBalance.Size, DateTime.UtcNow)), "x.json");
        Assert.Equal(PlanSizes.MaxBytes, read.Copies[0].Size);
    }
}
