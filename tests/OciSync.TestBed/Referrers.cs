using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Tasks;

namespace OciSync.TestBed;

/// <summary>A manifest that is not an image: a signature, an SBOM, an attestation; with its blobs.</summary>
public sealed class TestArtifact
{
    internal TestArtifact(byte[] manifestBytes, IReadOnlyList<(string Digest, byte[] Data)> blobs, string? artifactType, string? subject)
    {
        ManifestBytes = manifestBytes;
        Digest = ImageFactory.Sha256Digest(manifestBytes);
        Blobs = blobs;
        ArtifactType = artifactType;
        Subject = subject;
    }

    public byte[] ManifestBytes { get; }
    public string MediaType => MediaTypes.OciManifest;
    public string Digest { get; }
    public IReadOnlyList<(string Digest, byte[] Data)> Blobs { get; }
    public string? ArtifactType { get; }
    /// <summary>The digest in its <c>subject</c> field; null for cosign's tagged signatures, which have none.</summary>
    public string? Subject { get; }
    public int Size => ManifestBytes.Length;

    /// <summary>The descriptor a referrers index lists for it.</summary>
    public JsonObject Descriptor()
    {
        var d = new JsonObject { ["mediaType"] = MediaType, ["digest"] = Digest, ["size"] = Size };
        if (ArtifactType != null) d["artifactType"] = ArtifactType;
        return d;
    }
}

/// <summary>
/// Referrers as signing and SBOM tools write them: OCI 1.1 artifacts with a <c>subject</c>, cosign's tagged
/// signatures (<c>sha256-&lt;hex&gt;.sig</c>, no subject), and the referrers tag schema's index.
/// </summary>
public static class ReferrerFactory
{
    public const string SbomType = "application/spdx+json";
    public const string SignatureType = "application/vnd.cncf.notary.signature";
    public const string CosignSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json";
    private const string EmptyType = "application/vnd.oci.empty.v1+json";
    private static readonly byte[] Empty = Encoding.UTF8.GetBytes("{}");

    /// <summary>An OCI 1.1 artifact referring to <paramref name="subjectDigest"/>, with one payload blob.</summary>
    public static TestArtifact Artifact(string subjectDigest, int subjectSize, string subjectMediaType, string artifactType, string payload)
    {
        var data = Encoding.UTF8.GetBytes(payload);
        var blob = ImageFactory.Sha256Digest(data);
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciManifest,
            ["artifactType"] = artifactType,
            ["config"] = new JsonObject { ["mediaType"] = EmptyType, ["digest"] = ImageFactory.Sha256Digest(Empty), ["size"] = Empty.Length },
            ["layers"] = new JsonArray(new JsonObject { ["mediaType"] = artifactType, ["digest"] = blob, ["size"] = data.Length }),
            ["subject"] = new JsonObject { ["mediaType"] = subjectMediaType, ["digest"] = subjectDigest, ["size"] = subjectSize },
            ["annotations"] = new JsonObject { ["org.opencontainers.image.created"] = "2024-01-01T00:00:00Z" },
        };
        return new TestArtifact(Encoding.UTF8.GetBytes(manifest.ToJsonString()), new[] { (ImageFactory.Sha256Digest(Empty), Empty), (blob, data) }, artifactType, subjectDigest);
    }

    /// <summary>cosign's tagged signature of a digest (tag <see cref="CosignTag"/>): an image manifest of a simple-signing payload.</summary>
    public static TestArtifact CosignSignature(string subjectDigest, string signer)
    {
        var payload = Encoding.UTF8.GetBytes($"{{\"critical\":{{\"image\":{{\"docker-manifest-digest\":\"{subjectDigest}\"}},\"type\":\"cosign container image signature\"}},\"optional\":{{\"signer\":\"{signer}\"}}}}");
        var config = Encoding.UTF8.GetBytes("{\"architecture\":\"\",\"os\":\"\",\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciManifest,
            ["config"] = new JsonObject { ["mediaType"] = MediaTypes.OciConfig, ["digest"] = ImageFactory.Sha256Digest(config), ["size"] = config.Length },
            ["layers"] = new JsonArray(new JsonObject
            {
                ["mediaType"] = CosignSimpleSigning,
                ["digest"] = ImageFactory.Sha256Digest(payload),
                ["size"] = payload.Length,
                ["annotations"] = new JsonObject { ["dev.cosignproject.cosign/signature"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(signer)) },
            }),
        };
        return new TestArtifact(Encoding.UTF8.GetBytes(manifest.ToJsonString()),
            new[] { (ImageFactory.Sha256Digest(config), config), (ImageFactory.Sha256Digest(payload), payload) }, null, null);
    }

    /// <summary>The referrers tag of a digest (OCI 1.1 tag schema): <c>sha256-&lt;hex&gt;</c>.</summary>
    public static string FallbackTag(string digest) => digest.Replace(':', '-');

    /// <summary>cosign's tag for a kind of referrer of a digest: <c>sha256-&lt;hex&gt;.sig</c> (or .att, .sbom).</summary>
    public static string CosignTag(string digest, string suffix = ".sig") => FallbackTag(digest) + suffix;

    /// <summary>The tag schema's index listing <paramref name="referrers"/>.</summary>
    public static byte[] FallbackIndex(params TestArtifact[] referrers)
    {
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciIndex,
            ["manifests"] = new JsonArray(referrers.Select(r => (JsonNode)r.Descriptor()).ToArray()),
        };
        return Encoding.UTF8.GetBytes(index.ToJsonString());
    }

    /// <summary>Pushes an artifact's blobs, then its manifest by digest and under <paramref name="tags"/>.</summary>
    public static async Task PushAsync(RegistryHttp registry, string repository, TestArtifact artifact, params string[] tags)
    {
        foreach (var (digest, data) in artifact.Blobs) await registry.PushBlobAsync(repository, digest, data).ConfigureAwait(false);
        await registry.PushManifestAsync(repository, artifact.Digest, artifact.ManifestBytes, artifact.MediaType).ConfigureAwait(false);
        foreach (var tag in tags) await registry.PushManifestAsync(repository, tag, artifact.ManifestBytes, artifact.MediaType).ConfigureAwait(false);
    }

    /// <summary>Attaches referrers to <paramref name="subject"/> the way a registry without the referrers API needs: pushed by digest, listed in the subject's referrers tag.</summary>
    public static async Task AttachByTagSchemaAsync(RegistryHttp registry, string repository, string subject, params TestArtifact[] referrers)
    {
        foreach (var r in referrers) await PushAsync(registry, repository, r).ConfigureAwait(false);
        await registry.PushManifestAsync(repository, FallbackTag(subject), FallbackIndex(referrers), MediaTypes.OciIndex).ConfigureAwait(false);
    }
}
