using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;
using static OciSync.Core.Tests.Security.SecurityHarness;

namespace OciSync.Core.Tests.Security;

/// <summary>
/// Tags, digests and sizes a registry sends are validated before use (SPEC §4): a hostile source
/// lists tags that are paths, serves descriptors that are not digests, nests indexes without end.
/// Each case runs next to two good images that must still sync into a real registry.
/// </summary>
[Collection("registries")]
public sealed class GrammarTests
{
    private static readonly string[] BadTags =
    {
        "../../../victim/manifests/prod", "a/../../x", "%2F..%2Fvictim", "v1%00", new string('t', 200), "-bad", ".bad",
    };

    private readonly RegistryFixture _registries;

    public GrammarTests(RegistryFixture registries) => _registries = registries;

    [Fact]
    public async Task Listed_tags_outside_the_tag_grammar_are_skipped_with_a_warning_and_never_requested()
    {
        var canary = new Canary();
        await using var source = HostileRegistry.Start(HostileAuth.Basic, canary.User, canary.Password);
        var dst = _registries.Basic;
        var ns = Unique("seca");
        var good1 = Small(700_001);
        var good2 = Small(700_002);
        source.AddImage("a/app", good1, "good1");
        source.AddImage("a/app", good2, "good2");
        source.SetListedTags("a/app", BadTags.Concat(new[] { "good1", "good2" }));
        // Plays along: whatever manifest path a bad tag resolves to "exists", so a client that follows one goes on to copy it.
        source.On(r => r.Path.Contains("/manifests/") && !source.HasManifest("a/app", r.Path.Substring(r.Path.LastIndexOf('/') + 1))
            ? HostileReply.Manifest(good1.ManifestBytes, good1.ManifestMediaType) : null);
        var before = await CatalogAsync(dst);

        var harness = new SecurityHarness(_registries, canary, new[] { source });
        var plan = await harness.PlanAsync(SyncRule.Create($"{source.Host}/a/app", new[] { $"{dst.Host}/{ns}/app" }));
        await harness.RunAsync(new SyncOptions { Retries = 0 }, plan.Copies);

        var expect = new Expectations();
        harness.ExpectOnlyApiPaths(expect, source.BaseUri, "a/app");
        ExpectOnlyApiTargets(expect, source, "a/app");
        harness.ExpectOnlyApiPaths(expect, dst.BaseUri, $"{ns}/app");
        harness.ExpectOnlyOrigins(expect, source.BaseUri, dst.BaseUri);
        var planned = plan.Copies.Select(c => c.Source.Tag).OrderBy(t => t, StringComparer.Ordinal).ToList();
        expect.That(planned.SequenceEqual(new[] { "good1", "good2" }), $"the plan should hold good1 and good2 only, it holds {planned.Count}: {string.Join(", ", planned.Select(Short))}");
        expect.That(plan.Errors.Count == 0, $"skipped tags are not failures, yet planning reported {plan.Errors.Count}: {string.Join("; ", plan.Errors.Select(e => Short(e.Target) + " " + ErrorIds.Of(e.Error)))}");
        expect.That(harness.Log.Any(l => l.Level == OciLogLevel.Warning && l.Message.Contains("a/app")), "no warning names the repository whose invalid tags were skipped");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/a/app:good1", dst, $"{ns}/app", "good1");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/a/app:good2", dst, $"{ns}/app", "good2");
        var created = (await CatalogAsync(dst)).Except(before).ToList();
        expect.That(created.SequenceEqual(new[] { $"{ns}/app" }), $"the run should create only {ns}/app in the destination, it created: {string.Join(", ", created)}");
        expect.That(!created.Contains("victim"), "the destination has a repository 'victim'");
        harness.ExpectNoSecret(expect);
        expect.Verify();
    }

    [Fact]
    public async Task Descriptors_with_malformed_digests_or_sizes_make_that_image_ManifestInvalid_without_a_blob_request()
    {
        var canary = new Canary();
        await using var source = HostileRegistry.Start(HostileAuth.Basic, canary.User, canary.Password);
        var dst = _registries.Basic;
        var ns = Unique("secb");
        var good1 = Small(700_101);
        var good2 = Small(700_102);
        var victim = Small(700_103); // its blobs are referenced only by the bad manifests
        source.AddImage("b/app", good1, "good1");
        source.AddImage("b/app", good2, "good2");
        source.AddImage("b/app", victim);
        var hex = victim.Layers[0].Digest.Substring("sha256:".Length);
        var bad = new Dictionary<string, (byte[] Bytes, string MediaType)>
        {
            ["config-path"] = (Mutate(victim, m => m["config"]!["digest"] = "sha256:../../x"), MediaTypes.OciManifest),
            ["layer-upper"] = (Mutate(victim, m => m["layers"]![0]!["digest"] = "sha256:" + hex.ToUpperInvariant()), MediaTypes.OciManifest),
            ["layer-short"] = (Mutate(victim, m => m["layers"]![0]!["digest"] = "sha256:" + hex.Substring(1)), MediaTypes.OciManifest),
            ["size-negative"] = (Mutate(victim, m => m["layers"]![0]!["size"] = -1), MediaTypes.OciManifest),
            ["size-huge"] = (Mutate(victim, m => m["config"]!["size"] = JsonValue.Create(1e30)), MediaTypes.OciManifest),
            ["child-path"] = (Index("sha256:../../x", MediaTypes.OciManifest, victim.ManifestBytes.Length), MediaTypes.OciIndex),
            ["child-upper"] = (Index(victim.Digest.ToUpperInvariant().Replace("SHA256:", "sha256:"), MediaTypes.OciManifest, victim.ManifestBytes.Length), MediaTypes.OciIndex),
        };
        foreach (var (tag, manifest) in bad) source.AddManifest("b/app", manifest.Bytes, manifest.MediaType, tag);

        var harness = new SecurityHarness(_registries, canary, new[] { source });
        var copies = bad.Keys.Concat(new[] { "good1", "good2" }).Select(t => ($"{source.Host}/b/app:{t}", $"{dst.Host}/{ns}/app:{t}")).ToArray();
        await harness.RunAsync(new SyncOptions { Retries = 0 }, copies);

        var expect = new Expectations();
        foreach (var tag in bad.Keys) harness.ExpectFailed(expect, $"{source.Host}/b/app:{tag}", ErrorIds.ManifestInvalid);
        harness.ExpectOnlyApiPaths(expect, source.BaseUri, "b/app");
        ExpectOnlyApiTargets(expect, source, "b/app");
        harness.ExpectOnlyApiPaths(expect, dst.BaseUri, $"{ns}/app");
        foreach (var blob in new[] { victim.ConfigDigest, victim.Layers[0].Digest })
            expect.That(!harness.Requests.Any(r => r.Uri.AbsolutePath.EndsWith("/blobs/" + blob, StringComparison.Ordinal)),
                $"blob {blob}, named only by invalid manifests, was requested");
        var target = new RegistryHttp(dst);
        foreach (var tag in bad.Keys)
            expect.That(await target.GetManifestDigestAsync($"{ns}/app", tag) == null, $"the invalid image '{tag}' was pushed to the destination");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/b/app:good1", dst, $"{ns}/app", "good1");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/b/app:good2", dst, $"{ns}/app", "good2");
        harness.ExpectNoSecret(expect);
        expect.Verify();
    }

    [Fact]
    public async Task An_index_nested_twenty_deep_is_ManifestInvalid_and_nothing_of_it_is_pushed()
    {
        var canary = new Canary();
        await using var source = HostileRegistry.Start(HostileAuth.Basic, canary.User, canary.Password);
        var dst = _registries.Basic;
        var ns = Unique("seci");
        source.AddImage("i/app", Small(700_201), "good1");
        source.AddImage("i/app", Small(700_202), "good2");
        var leaf = Small(700_203);
        source.AddImage("i/app", leaf);
        var (digest, mediaType, size) = (leaf.Digest, leaf.ManifestMediaType, (long)leaf.ManifestBytes.Length);
        for (int level = 19; level >= 0; level--)
        {
            var index = Index(digest, mediaType, size);
            digest = source.AddManifest("i/app", index, MediaTypes.OciIndex, level == 0 ? new[] { "deep" } : Array.Empty<string>());
            (mediaType, size) = (MediaTypes.OciIndex, index.Length);
        }

        var harness = new SecurityHarness(_registries, canary, new[] { source });
        await harness.RunAsync(new SyncOptions { Retries = 0 },
            ($"{source.Host}/i/app:deep", $"{dst.Host}/{ns}/deep:deep"),
            ($"{source.Host}/i/app:good1", $"{dst.Host}/{ns}/app:good1"),
            ($"{source.Host}/i/app:good2", $"{dst.Host}/{ns}/app:good2"));

        var expect = new Expectations();
        harness.ExpectFailed(expect, $"{source.Host}/i/app:deep", ErrorIds.ManifestInvalid);
        var gets = source.Requests.Count(r => r.Method == "GET" && r.Path.Contains("/manifests/"));
        expect.That(gets <= 12, $"the nesting cap (8) should stop the walk early, yet {gets} manifests were fetched"); // 8 levels, the two good images, slack
        var pushed = harness.Requests.Count(r => r.Method == "PUT" && r.Uri.AbsolutePath.StartsWith($"/v2/{ns}/deep/manifests/", StringComparison.Ordinal));
        expect.That(pushed == 0, $"{pushed} manifest(s) of the over-deep index were pushed to the destination");
        harness.ExpectOnlyApiPaths(expect, source.BaseUri, "i/app");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/i/app:good1", dst, $"{ns}/app", "good1");
        await harness.ExpectSyncedAsync(expect, $"{source.Host}/i/app:good2", dst, $"{ns}/app", "good2");
        harness.ExpectNoSecret(expect);
        expect.Verify();
    }

    private static string Short(string? s) => s == null ? "" : s.Length > 40 ? s.Substring(0, 40) + "…" : s;

    /// <summary>The image's manifest with one field changed, re-serialised.</summary>
    private static byte[] Mutate(TestImage image, Action<JsonObject> change)
    {
        var root = JsonNode.Parse(image.ManifestBytes)!.AsObject();
        change(root);
        return Encoding.UTF8.GetBytes(root.ToJsonString());
    }

    /// <summary>An OCI index with one linux/amd64 entry, whatever its digest says.</summary>
    internal static byte[] Index(string digest, string mediaType, long size) => Encoding.UTF8.GetBytes(new JsonObject
    {
        ["schemaVersion"] = 2,
        ["mediaType"] = MediaTypes.OciIndex,
        ["manifests"] = new JsonArray(new JsonObject
        {
            ["mediaType"] = mediaType,
            ["digest"] = digest,
            ["size"] = size,
            ["platform"] = new JsonObject { ["architecture"] = "amd64", ["os"] = "linux" },
        }),
    }.ToJsonString());
}
