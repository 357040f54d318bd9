using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>
/// Signatures, SBOMs and attestations follow their images: by cosign's tags and the referrers tag schema
/// against the real registry (distribution 2.8 has no referrers API), and by the OCI 1.1 referrers API
/// against a scripted registry that has it.
/// </summary>
[Collection("registries")]
public sealed class ReferrerTests
{
    private readonly RegistryFixture _registries;

    public ReferrerTests(RegistryFixture registries) => _registries = registries;

    /// <summary>An image, its cosign signature, an SBOM attached by the tag schema, and the SBOM's own signature.</summary>
    private sealed record Signed(TestImage Image, TestArtifact Signature, TestArtifact Sbom, TestArtifact SbomSignature);

    private static async Task<Signed> SeedSignedAsync(RegistryHttp registry, string repository, int seed)
    {
        var image = ImageFactory.CreateImage(seed, layerCount: 1, layerSize: 4096);
        await registry.PushImageAsync(repository, image, "v1");
        var signature = ReferrerFactory.CosignSignature(image.Digest, $"signer-{seed}");
        await ReferrerFactory.PushAsync(registry, repository, signature, ReferrerFactory.CosignTag(image.Digest));
        var sbom = ReferrerFactory.Artifact(image.Digest, image.ManifestBytes.Length, image.ManifestMediaType, ReferrerFactory.SbomType, $"{{\"sbom\":{seed}}}");
        await ReferrerFactory.AttachByTagSchemaAsync(registry, repository, image.Digest, sbom);
        var sbomSignature = ReferrerFactory.CosignSignature(sbom.Digest, $"sbom-signer-{seed}");
        await ReferrerFactory.PushAsync(registry, repository, sbomSignature, ReferrerFactory.CosignTag(sbom.Digest));
        return new Signed(image, signature, sbom, sbomSignature);
    }

    private static async Task<(SyncSummary Summary, SyncHarness Harness)> SyncAsync(RegistryFixture registries, SyncOptions options, string source, string destination)
    {
        var harness = new SyncHarness(registries);
        var engine = new SyncEngine(harness.Clients, options, harness);
        var summary = await engine.RunAsync(new[] { SyncRule.Create(source, new[] { destination }) }, CancellationToken.None);
        return (summary, harness);
    }

    private static async Task<IReadOnlyList<string>> FallbackEntriesAsync(RegistryHttp registry, string repository, string subject)
    {
        var bytes = await registry.GetManifestAsync(repository, ReferrerFactory.FallbackTag(subject));
        if (bytes == null) return Array.Empty<string>();
        using var doc = JsonDocument.Parse(bytes);
        return doc.RootElement.GetProperty("manifests").EnumerateArray().Select(e => e.GetProperty("digest").GetString()!).ToList();
    }

    [Theory]
    [InlineData("")]
    [InlineData(":v1")]
    public async Task Signatures_an_SBOM_and_the_SBOMs_signature_follow_with_equal_digests_and_a_rerun_copies_nothing(string selector)
    {
        var source = new RegistryHttp(_registries.Anonymous);
        var target = new RegistryHttp(_registries.Basic);
        var repo = "ref/signed-" + (selector.Length == 0 ? "all" : "one");
        var signed = await SeedSignedAsync(source, repo, 9100 + selector.Length);

        var (first, harness) = await SyncAsync(_registries, new SyncOptions(), $"{_registries.Anonymous.Host}/{repo}{selector}", $"{_registries.Basic.Host}/mirror/{repo}");

        // One image: the referrer tags of an all-tags rule go with their image, not as images of their own.
        Assert.Equal(1, first.Images);
        Assert.Equal(1, first.Synced);
        Assert.Equal(0, first.Failed);
        Assert.Equal(3, first.ReferrersSynced);
        var result = Assert.Single(harness.Images);
        Assert.Equal(3, result.Referrers.Count);
        Assert.All(result.Referrers, r => Assert.Equal(SyncAction.Synced, r.Action));
        Assert.Equal(new[] { signed.Image.Digest, signed.Image.Digest, signed.Sbom.Digest }.OrderBy(d => d), result.Referrers.Select(r => r.Subject).OrderBy(d => d));

        var mirror = $"mirror/{repo}";
        Assert.Equal(signed.Image.Digest, await target.GetManifestDigestAsync(mirror, "v1"));
        Assert.Equal(signed.Signature.Digest, await target.GetManifestDigestAsync(mirror, ReferrerFactory.CosignTag(signed.Image.Digest)));
        Assert.Equal(signed.Sbom.Digest, await target.GetManifestDigestAsync(mirror, signed.Sbom.Digest));
        Assert.Equal(signed.SbomSignature.Digest, await target.GetManifestDigestAsync(mirror, ReferrerFactory.CosignTag(signed.Sbom.Digest)));
        Assert.Equal(new[] { signed.Sbom.Digest }, await FallbackEntriesAsync(target, mirror, signed.Image.Digest));
        foreach (var (digest, _) in signed.Sbom.Blobs.Concat(signed.Signature.Blobs).Concat(signed.SbomSignature.Blobs))
            Assert.True(await target.BlobExistsAsync(mirror, digest), $"blob {digest} is missing at the destination");

        var (second, again) = await SyncAsync(_registries, new SyncOptions(), $"{_registries.Anonymous.Host}/{repo}{selector}", $"{_registries.Basic.Host}/mirror/{repo}");
        Assert.Equal(1, second.Unchanged);
        Assert.Equal(0, second.ReferrersSynced);
        Assert.Equal(3, second.ReferrersUnchanged);
        Assert.Equal(0, again.Count("PUT", "/manifests/"));
        Assert.Equal(0, again.Count("POST", "/blobs/uploads/"));
    }

    [Fact]
    public async Task Referrers_already_at_the_destination_stay_in_its_referrers_tag()
    {
        var source = new RegistryHttp(_registries.Anonymous);
        var target = new RegistryHttp(_registries.Basic);
        const string repo = "ref/merge";
        var signed = await SeedSignedAsync(source, repo, 9200);
        // The destination already has the image with a referrer of its own (attached there, not at the source).
        await target.PushImageAsync($"mirror/{repo}", signed.Image, "v1");
        var local = ReferrerFactory.Artifact(signed.Image.Digest, signed.Image.ManifestBytes.Length, signed.Image.ManifestMediaType, ReferrerFactory.SignatureType, "{\"local\":true}");
        await ReferrerFactory.AttachByTagSchemaAsync(target, $"mirror/{repo}", signed.Image.Digest, local);

        var (summary, _) = await SyncAsync(_registries, new SyncOptions(), $"{_registries.Anonymous.Host}/{repo}:v1", $"{_registries.Basic.Host}/mirror/{repo}");

        Assert.Equal(0, summary.Failed);
        Assert.Equal(1, summary.Unchanged);
        Assert.Equal(3, summary.ReferrersSynced);
        Assert.Equal(new[] { local.Digest, signed.Sbom.Digest }.OrderBy(d => d), (await FallbackEntriesAsync(target, $"mirror/{repo}", signed.Image.Digest)).OrderBy(d => d));
    }

    [Fact]
    public async Task NoReferrers_copies_the_image_alone_and_an_artifact_type_filter_copies_only_that_type()
    {
        var source = new RegistryHttp(_registries.Anonymous);
        var target = new RegistryHttp(_registries.Basic);
        const string repo = "ref/choose";
        var signed = await SeedSignedAsync(source, repo, 9300);

        var (none, _) = await SyncAsync(_registries, new SyncOptions { Referrers = false }, $"{_registries.Anonymous.Host}/{repo}:v1", $"{_registries.Basic.Host}/mirror/{repo}");
        Assert.Equal(1, none.Synced);
        Assert.Equal(0, none.ReferrersSynced);
        Assert.Null(await target.GetManifestDigestAsync($"mirror/{repo}", ReferrerFactory.CosignTag(signed.Image.Digest)));
        Assert.Null(await target.GetManifestDigestAsync($"mirror/{repo}", signed.Sbom.Digest));

        var (sboms, harness) = await SyncAsync(_registries, new SyncOptions { ReferrerArtifactTypes = new[] { ReferrerFactory.SbomType } },
            $"{_registries.Anonymous.Host}/{repo}:v1", $"{_registries.Basic.Host}/mirror/{repo}");
        Assert.Equal(1, sboms.ReferrersSynced);
        Assert.Equal(ReferrerFactory.SbomType, Assert.Single(Assert.Single(harness.Images).Referrers).ArtifactType);
        Assert.Equal(signed.Sbom.Digest, await target.GetManifestDigestAsync($"mirror/{repo}", signed.Sbom.Digest));
        Assert.Null(await target.GetManifestDigestAsync($"mirror/{repo}", ReferrerFactory.CosignTag(signed.Image.Digest)));

        // With -NoReferrers an all-tags rule copies the referrer tags as the images they are.
        var (asImages, _) = await SyncAsync(_registries, new SyncOptions { Referrers = false }, $"{_registries.Anonymous.Host}/{repo}", $"{_registries.Basic.Host}/plain/{repo}");
        Assert.Equal(4, asImages.Images);
        Assert.Equal(0, asImages.Failed);
    }

    [Fact]
    public async Task By_the_referrers_API_a_destination_that_answers_OCI_Subject_gets_no_referrers_tag_and_one_without_gets_it_merged()
    {
        await using var source = HostileRegistry.Start();
        await using var indexing = HostileRegistry.Start();
        source.ReferrersApi = true;
        indexing.ReferrersApi = true;
        var image = ImageFactory.CreateImage(9400, layerCount: 1, layerSize: 2048);
        source.AddImage("app", image, "v1");
        var sbom = ReferrerFactory.Artifact(image.Digest, image.ManifestBytes.Length, image.ManifestMediaType, ReferrerFactory.SbomType, "{\"api\":1}");
        var signature = ReferrerFactory.Artifact(sbom.Digest, sbom.Size, sbom.MediaType, ReferrerFactory.SignatureType, "{\"signs\":\"sbom\"}");
        source.AddArtifact("app", sbom);
        source.AddArtifact("app", signature);

        // A destination with the API: it indexes what it is given, and no referrers tag is written.
        var (toApi, harness) = await SyncAsync(_registries, new SyncOptions(), $"{source.Host}/app:v1", $"{indexing.Host}/mirror/app");
        Assert.True(toApi.Failed == 0, string.Join("; ", harness.Images.Select(i => i.Error)));
        Assert.Equal(2, toApi.ReferrersSynced);
        Assert.True(indexing.HasManifest("mirror/app", sbom.Digest));
        Assert.True(indexing.HasManifest("mirror/app", signature.Digest));
        Assert.False(indexing.HasManifest("mirror/app", ReferrerFactory.FallbackTag(image.Digest)));
        Assert.False(indexing.HasManifest("mirror/app", ReferrerFactory.FallbackTag(sbom.Digest)));
        Assert.Contains(source.Requests, r => r.Path == $"/v2/app/referrers/{image.Digest}");
        Assert.Contains(source.Requests, r => r.Path == $"/v2/app/referrers/{sbom.Digest}");
        Assert.Equal(0, harness.Count("HEAD", "/manifests/sha256-"));

        // The real registry has no API: both referrers tags are written, and an entry already there is kept.
        var target = new RegistryHttp(_registries.Basic);
        await target.PushImageAsync("mirror/api-app", image, "v1");
        var local = ReferrerFactory.Artifact(image.Digest, image.ManifestBytes.Length, image.ManifestMediaType, ReferrerFactory.SignatureType, "{\"local\":2}");
        await ReferrerFactory.AttachByTagSchemaAsync(target, "mirror/api-app", image.Digest, local);
        var (toTags, _) = await SyncAsync(_registries, new SyncOptions(), $"{source.Host}/app:v1", $"{_registries.Basic.Host}/mirror/api-app");
        Assert.Equal(0, toTags.Failed);
        Assert.Equal(2, toTags.ReferrersSynced);
        Assert.Equal(new[] { local.Digest, sbom.Digest }.OrderBy(d => d), (await FallbackEntriesAsync(target, "mirror/api-app", image.Digest)).OrderBy(d => d));
        Assert.Equal(new[] { signature.Digest }, await FallbackEntriesAsync(target, "mirror/api-app", sbom.Digest));
        Assert.Equal(sbom.Digest, await target.GetManifestDigestAsync("mirror/api-app", sbom.Digest));
        Assert.Equal(signature.Digest, await target.GetManifestDigestAsync("mirror/api-app", signature.Digest));

        // The artifact type filter goes to the API when it names one type.
        var (filtered, _) = await SyncAsync(_registries, new SyncOptions { ReferrerArtifactTypes = new[] { ReferrerFactory.SbomType } }, $"{source.Host}/app:v1", $"{indexing.Host}/filtered/app");
        Assert.Equal(1, filtered.ReferrersSynced);
        Assert.Contains(source.Requests, r => r.Path == $"/v2/app/referrers/{image.Digest}" && r.QueryValue("artifactType") == ReferrerFactory.SbomType);
        Assert.False(indexing.HasManifest("filtered/app", signature.Digest));
    }

    [Fact]
    public async Task A_listed_referrer_that_names_another_subject_is_not_copied_and_tags_that_point_in_a_circle_end()
    {
        await using var source = HostileRegistry.Start();
        await using var destination = HostileRegistry.Start();
        source.ReferrersApi = true;
        var image = ImageFactory.CreateImage(9500, layerCount: 1, layerSize: 1024);
        var other = ImageFactory.CreateImage(9501, layerCount: 1, layerSize: 1024);
        source.AddImage("app", image, "v1");
        // Listed under the image, but it refers to another one.
        var stranger = ReferrerFactory.Artifact(other.Digest, other.ManifestBytes.Length, other.ManifestMediaType, ReferrerFactory.SbomType, "{\"not\":\"yours\"}");
        source.AddArtifact("app", stranger);
        source.On(r => r.Path == $"/v2/app/referrers/{image.Digest}"
            ? new HostileReply { Body = ReferrerFactory.FallbackIndex(stranger) }.With("Content-Type", TestBed.MediaTypes.OciIndex) : null);
        // The image's signature tag points at a manifest whose own signature tag points back at the image.
        var signature = ReferrerFactory.CosignSignature(image.Digest, "circle");
        source.AddArtifact("app", signature, ReferrerFactory.CosignTag(image.Digest));
        source.AddManifest("app", image.ManifestBytes, image.ManifestMediaType, ReferrerFactory.CosignTag(signature.Digest));

        var (summary, harness) = await SyncAsync(_registries, new SyncOptions(), $"{source.Host}/app:v1", $"{destination.Host}/mirror/app");

        Assert.True(summary.Failed == 0, string.Join("; ", harness.Images.Select(i => i.Error)));
        Assert.False(destination.HasManifest("mirror/app", stranger.Digest));
        Assert.True(destination.HasManifest("mirror/app", ReferrerFactory.CosignTag(image.Digest)));
        Assert.True(destination.HasManifest("mirror/app", ReferrerFactory.CosignTag(signature.Digest)));
        Assert.Equal(2, summary.ReferrersSynced);
    }

    [Fact]
    public async Task An_image_whose_referrer_cannot_be_copied_fails_with_its_error_and_the_others_go_on()
    {
        await using var source = HostileRegistry.Start();
        await using var destination = HostileRegistry.Start();
        var broken = ImageFactory.CreateImage(9600, layerCount: 1, layerSize: 1024);
        var fine = ImageFactory.CreateImage(9601, layerCount: 1, layerSize: 1024);
        source.AddImage("app", broken, "broken");
        source.AddImage("app", fine, "fine");
        var signature = ReferrerFactory.CosignSignature(broken.Digest, "lost");
        // The signature's manifest is there, its payload blob is not.
        source.AddManifest("app", signature.ManifestBytes, signature.MediaType, ReferrerFactory.CosignTag(broken.Digest));
        source.AddBlob("app", signature.Blobs[0].Data);

        var harness = new SyncHarness(_registries);
        var engine = new SyncEngine(harness.Clients, new SyncOptions { Retries = 0 }, harness);
        var summary = await engine.RunAsync(new[] { SyncRule.Create($"{source.Host}/app:broken,fine", new[] { $"{destination.Host}/mirror/app" }) }, CancellationToken.None);

        Assert.True(summary.Failed == 1 && summary.Synced == 1, string.Join("; ", harness.Images.Select(i => i.Action + " " + i.Error)));
        var failed = Assert.Single(harness.Images, i => i.Action == SyncAction.Failed);
        Assert.EndsWith(":broken", failed.Source);
        Assert.Equal("BlobNotFound", failed.ErrorId);
        Assert.Contains("referrers", failed.Error);
        // The image itself is there; its tag was pushed before the referrers were looked for.
        Assert.True(destination.HasManifest("mirror/app", "broken"));
        Assert.False(destination.HasManifest("mirror/app", ReferrerFactory.CosignTag(broken.Digest)));
    }

    [Fact]
    public async Task A_source_that_refuses_its_tag_list_has_its_referrer_tags_asked_by_name_and_two_referrers_of_one_subject_are_indexed_in_one_write()
    {
        await using var source = HostileRegistry.Start();
        await using var destination = HostileRegistry.Start();
        var image = ImageFactory.CreateImage(9800, layerCount: 1, layerSize: 1024);
        source.AddImage("app", image, "v1");
        var sbom = ReferrerFactory.Artifact(image.Digest, image.ManifestBytes.Length, image.ManifestMediaType, ReferrerFactory.SbomType, "{\"one\":1}");
        var notation = ReferrerFactory.Artifact(image.Digest, image.ManifestBytes.Length, image.ManifestMediaType, ReferrerFactory.SignatureType, "{\"two\":2}");
        source.AddArtifact("app", sbom);
        source.AddArtifact("app", notation);
        source.AddManifest("app", ReferrerFactory.FallbackIndex(sbom, notation), TestBed.MediaTypes.OciIndex, ReferrerFactory.FallbackTag(image.Digest));
        var signature = ReferrerFactory.CosignSignature(image.Digest, "named");
        source.AddArtifact("app", signature, ReferrerFactory.CosignTag(image.Digest));
        // A pull credential that may not list: the image and its referrers must still come.
        source.On(r => r.Path == "/v2/app/tags/list" ? HostileReply.Error(403, "DENIED", "listing is not allowed") : null);

        var (summary, harness) = await SyncAsync(_registries, new SyncOptions { Retries = 0 }, $"{source.Host}/app:v1", $"{destination.Host}/mirror/app");

        Assert.True(summary.Failed == 0, string.Join("; ", harness.Images.Select(i => i.Error)));
        Assert.Equal(3, summary.ReferrersSynced);
        Assert.True(destination.HasManifest("mirror/app", ReferrerFactory.CosignTag(image.Digest)));
        Assert.Single(source.Requests, r => r.Path == "/v2/app/tags/list"); // refused once, then asked by name
        var entries = Assert.Single(destination.Requests, r => r.Method == "PUT" && r.Path == $"/v2/mirror/app/manifests/{ReferrerFactory.FallbackTag(image.Digest)}").Body;
        using var doc = JsonDocument.Parse(entries);
        Assert.Equal(new[] { notation.Digest, sbom.Digest }.OrderBy(d => d), doc.RootElement.GetProperty("manifests").EnumerateArray().Select(e => e.GetProperty("digest").GetString()).OrderBy(d => d));
    }

    [Fact]
    public void The_referrers_tag_index_keeps_entries_as_written_and_adds_the_new_one_as_the_API_would_list_it()
    {
        var existing = Content.Manifest.Parse(Encoding.UTF8.GetBytes(
            "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.index.v1+json\",\"manifests\":[{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\"sha256:" + new string('a', 64) + "\",\"size\":7,\"x-extra\":1}],\"annotations\":{\"k\":\"v\"}}"), null);
        var image = ImageFactory.CreateImage(9700, layerCount: 1, layerSize: 512);
        var sbom = ReferrerFactory.Artifact(image.Digest, image.ManifestBytes.Length, image.ManifestMediaType, ReferrerFactory.SbomType, "{}");
        var merged = ReferrerCopier.MergeFallback(existing, Content.Manifest.Parse(sbom.ManifestBytes, null));

        using var doc = JsonDocument.Parse(merged.Bytes);
        var entries = doc.RootElement.GetProperty("manifests").EnumerateArray().ToList();
        Assert.Equal(2, entries.Count);
        Assert.Equal(1, entries[0].GetProperty("x-extra").GetInt32());
        Assert.Equal(sbom.Digest, entries[1].GetProperty("digest").GetString());
        Assert.Equal(ReferrerFactory.SbomType, entries[1].GetProperty("artifactType").GetString());
        Assert.Equal(sbom.Size, entries[1].GetProperty("size").GetInt32());
        Assert.Equal("2024-01-01T00:00:00Z", entries[1].GetProperty("annotations").GetProperty("org.opencontainers.image.created").GetString());
        Assert.Equal("v", doc.RootElement.GetProperty("annotations").GetProperty("k").GetString());

        Assert.True(ReferrerTags.IsSchemaTag(ReferrerFactory.CosignTag(image.Digest)));
        Assert.True(ReferrerTags.IsSchemaTag(ReferrerFactory.FallbackTag(image.Digest)));
        Assert.False(ReferrerTags.IsSchemaTag("v1"));
        Assert.False(ReferrerTags.IsSchemaTag("sha256-latest"));
    }
}
