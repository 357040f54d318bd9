using System;
using System.Collections.Generic;
using System.Formats.Tar;
using System.IO;
using System.IO.Compression;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace OciSync.TestBed;

public enum ImageFormat { Oci, Docker }

public static class MediaTypes
{
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    public const string InToto = "application/vnd.in-toto+json";

    /// <summary>Every manifest type, for Accept headers.</summary>
    public static readonly string[] AllManifests = { OciManifest, OciIndex, DockerManifest, DockerManifestList };

    public static bool IsIndex(string mediaType) => mediaType == OciIndex || mediaType == DockerManifestList;
}

public sealed class TestBlob
{
    public TestBlob(string digest, long size, byte[] data, string mediaType, string? diffId = null)
    {
        Digest = digest; Size = size; Data = data; MediaType = mediaType; DiffId = diffId;
    }

    public string Digest { get; }
    public long Size { get; }
    /// <summary>Compressed bytes as stored in the registry. Empty for descriptor-only blobs made while seeding big sets.</summary>
    public byte[] Data { get; }
    public string MediaType { get; }
    /// <summary>sha256 of the uncompressed tar for layers; null for non-layer blobs.</summary>
    public string? DiffId { get; }

    /// <summary>Same descriptor without the bytes, so big layers can be released after pushing.</summary>
    public TestBlob WithoutData() => new(Digest, Size, Array.Empty<byte>(), MediaType, DiffId);
}

public sealed class TestImage
{
    internal TestImage(byte[] manifest, string mediaType, byte[] config, string configMediaType,
        IReadOnlyList<TestBlob> layers, string os, string arch, string? variant)
    {
        ManifestBytes = manifest; ManifestMediaType = mediaType; Digest = ImageFactory.Sha256Digest(manifest);
        ConfigBytes = config; ConfigMediaType = configMediaType; ConfigDigest = ImageFactory.Sha256Digest(config);
        Layers = layers; Os = os; Architecture = arch; Variant = variant;
    }

    public byte[] ManifestBytes { get; }
    public string ManifestMediaType { get; }
    public string Digest { get; }
    public byte[] ConfigBytes { get; }
    public string ConfigMediaType { get; }
    public string ConfigDigest { get; }
    public IReadOnlyList<TestBlob> Layers { get; }
    public string Os { get; }
    public string Architecture { get; }
    public string? Variant { get; }
}

public sealed class TestIndex
{
    internal TestIndex(byte[] manifest, string mediaType, IReadOnlyList<TestImage> children, TestImage? platformless)
    {
        ManifestBytes = manifest; MediaType = mediaType; Digest = ImageFactory.Sha256Digest(manifest);
        Children = children; PlatformlessEntry = platformless;
    }

    public byte[] ManifestBytes { get; }
    public string MediaType { get; }
    public string Digest { get; }
    /// <summary>All children in index order, the platformless entry (if any) last.</summary>
    public IReadOnlyList<TestImage> Children { get; }
    /// <summary>The attestation-like entry listed without a platform, or null.</summary>
    public TestImage? PlatformlessEntry { get; }
}

public static class ImageFactory
{
    // Fixed timestamp so the same seed always gives the same bytes.
    private static readonly DateTimeOffset Epoch = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static TestImage CreateImage(int seed, int layerCount = 2, int layerSize = 64 * 1024,
        ImageFormat format = ImageFormat.Oci, string os = "linux", string arch = "amd64", string? variant = null,
        IReadOnlyList<TestBlob>? sharedLayers = null)
    {
        if (layerCount < 0) throw new ArgumentOutOfRangeException(nameof(layerCount));
        var layers = new List<TestBlob>();
        if (sharedLayers != null) layers.AddRange(sharedLayers);
        for (int i = 0; i < layerCount; i++)
            layers.Add(CreateLayer(unchecked(seed * 1000 + i), layerSize, format));
        return BuildImage(seed, layers, format, os, arch, variant);
    }

    /// <summary>One gzip'd tar holding one file of seeded random bytes. Distinct seeds give distinct layers.</summary>
    public static TestBlob CreateLayer(int seed, int size, ImageFormat format = ImageFormat.Oci)
    {
        var payload = new byte[size];
        FillRandom(payload, seed);

        var tar = new MemoryStream(size + 4096);
        using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
        {
            var entry = new UstarTarEntry(TarEntryType.RegularFile, $"testbed/layer-{seed}.bin")
            {
                DataStream = new MemoryStream(payload, writable: false),
                ModificationTime = Epoch,
                Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            };
            writer.WriteEntry(entry);
        }
        payload = null!; // let the GC have it before compressing
        var tarSpan = new ReadOnlySpan<byte>(tar.GetBuffer(), 0, (int)tar.Length);
        string diffId = Sha256Digest(tarSpan);

        var gz = new MemoryStream(tarSpan.Length + tarSpan.Length / 64 + 1024);
        using (var gzip = new GZipStream(gz, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(tarSpan);
        byte[] data = gz.ToArray();
        return new TestBlob(Sha256Digest(data), data.Length, data, LayerMediaType(format), diffId);
    }

    public static TestIndex CreateIndex(int seed, ImageFormat format, params (string os, string arch, string? variant)[] platforms)
        => CreateIndex(seed, format, includePlatformlessEntry: false, platforms);

    public static TestIndex CreateIndex(int seed, ImageFormat format, bool includePlatformlessEntry,
        params (string os, string arch, string? variant)[] platforms)
    {
        var children = new List<TestImage>();
        for (int i = 0; i < platforms.Length; i++)
        {
            var (os, arch, variant) = platforms[i];
            children.Add(CreateImage(unchecked(seed * 100 + i + 1), layerCount: 2, layerSize: 16 * 1024,
                format: format, os: os, arch: arch, variant: variant));
        }
        TestImage? platformless = null;
        if (includePlatformlessEntry)
        {
            if (children.Count == 0) throw new ArgumentException("A platformless entry needs at least one platform entry to refer to.");
            platformless = CreateAttestation(seed, children[0]);
        }

        string mediaType = format == ImageFormat.Oci ? MediaTypes.OciIndex : MediaTypes.DockerManifestList;
        byte[] bytes = WriteJson(w =>
        {
            w.WriteNumber("schemaVersion", 2);
            w.WriteString("mediaType", mediaType);
            w.WriteStartArray("manifests");
            foreach (var c in children)
            {
                w.WriteStartObject();
                WriteDescriptor(w, c.ManifestMediaType, c.Digest, c.ManifestBytes.Length);
                w.WriteStartObject("platform");
                w.WriteString("architecture", c.Architecture);
                w.WriteString("os", c.Os);
                if (c.Variant != null) w.WriteString("variant", c.Variant);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            if (platformless != null)
            {
                // Shaped like a BuildKit attestation entry, minus the platform.
                w.WriteStartObject();
                WriteDescriptor(w, platformless.ManifestMediaType, platformless.Digest, platformless.ManifestBytes.Length);
                w.WriteStartObject("annotations");
                w.WriteString("vnd.docker.reference.digest", children[0].Digest);
                w.WriteString("vnd.docker.reference.type", "attestation-manifest");
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });
        if (platformless != null) children.Add(platformless);
        return new TestIndex(bytes, mediaType, children, platformless);
    }

    public static string Sha256Digest(ReadOnlySpan<byte> data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));

    public static string LayerMediaType(ImageFormat format) => format == ImageFormat.Oci ? MediaTypes.OciLayerGzip : MediaTypes.DockerLayerGzip;

    internal static TestImage BuildImage(int seed, IReadOnlyList<TestBlob> layers, ImageFormat format,
        string os, string arch, string? variant)
    {
        string configType = format == ImageFormat.Oci ? MediaTypes.OciConfig : MediaTypes.DockerConfig;
        string manifestType = format == ImageFormat.Oci ? MediaTypes.OciManifest : MediaTypes.DockerManifest;
        string layerType = LayerMediaType(format);
        string created = Epoch.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");

        byte[] config = WriteJson(w =>
        {
            w.WriteString("architecture", arch);
            w.WriteString("os", os);
            if (variant != null) w.WriteString("variant", variant);
            w.WriteString("created", created);
            w.WriteStartObject("config");
            w.WriteStartArray("Env"); w.WriteStringValue("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"); w.WriteEndArray();
            w.WriteStartArray("Cmd"); w.WriteStringValue("/bin/sh"); w.WriteEndArray();
            w.WriteStartObject("Labels"); w.WriteString("org.ocisync.testbed.seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture)); w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject("rootfs");
            w.WriteString("type", "layers");
            w.WriteStartArray("diff_ids");
            foreach (var l in layers)
                w.WriteStringValue(l.DiffId ?? throw new ArgumentException($"Layer {l.Digest} has no DiffId."));
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteStartArray("history");
            for (int i = 0; i < layers.Count; i++)
            {
                w.WriteStartObject();
                w.WriteString("created", created);
                w.WriteString("created_by", $"/bin/sh -c #(nop) ADD testbed layer {i} of seed {seed}");
                w.WriteEndObject();
            }
            w.WriteEndArray();
        });

        byte[] manifest = WriteManifest(manifestType, configType, config, layers, layerType);
        return new TestImage(manifest, manifestType, config, configType, layers, os, arch, variant);
    }

    private static TestImage CreateAttestation(int seed, TestImage subject)
    {
        byte[] statement = WriteJson(w =>
        {
            w.WriteString("_type", "https://in-toto.io/Statement/v0.1");
            w.WriteString("predicateType", "https://spdx.dev/Document");
            w.WriteStartArray("subject");
            w.WriteStartObject(); w.WriteString("name", "testbed"); w.WriteStartObject("digest");
            w.WriteString("sha256", subject.Digest.Substring("sha256:".Length)); w.WriteEndObject(); w.WriteEndObject();
            w.WriteEndArray();
            w.WriteStartObject("predicate"); w.WriteNumber("seed", seed); w.WriteEndObject();
        });
        var layer = new TestBlob(Sha256Digest(statement), statement.Length, statement, MediaTypes.InToto);
        byte[] config = WriteJson(w =>
        {
            w.WriteString("architecture", "unknown");
            w.WriteString("os", "unknown");
            w.WriteStartObject("config"); w.WriteEndObject();
            w.WriteStartObject("rootfs"); w.WriteString("type", "layers"); w.WriteStartArray("diff_ids");
            w.WriteStringValue(layer.Digest); w.WriteEndArray(); w.WriteEndObject();
        });
        byte[] manifest = WriteManifest(MediaTypes.OciManifest, MediaTypes.OciConfig, config, new[] { layer }, MediaTypes.InToto);
        return new TestImage(manifest, MediaTypes.OciManifest, config, MediaTypes.OciConfig, new[] { layer }, "unknown", "unknown", null);
    }

    private static byte[] WriteManifest(string manifestType, string configType, byte[] config,
        IReadOnlyList<TestBlob> layers, string layerType) => WriteJson(w =>
    {
        w.WriteNumber("schemaVersion", 2);
        w.WriteString("mediaType", manifestType);
        w.WriteStartObject("config");
        WriteDescriptor(w, configType, Sha256Digest(config), config.Length);
        w.WriteEndObject();
        w.WriteStartArray("layers");
        foreach (var l in layers)
        {
            w.WriteStartObject();
            WriteDescriptor(w, layerType, l.Digest, l.Size);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    });

    private static void WriteDescriptor(Utf8JsonWriter w, string mediaType, string digest, long size)
    {
        w.WriteString("mediaType", mediaType);
        w.WriteString("digest", digest);
        w.WriteNumber("size", size);
    }

    private static byte[] WriteJson(Action<Utf8JsonWriter> body)
    {
        var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    // SplitMix64: fast, and unlike System.Random its output is ours to keep stable.
    private static void FillRandom(byte[] buffer, int seed)
    {
        ulong state = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + 0xD1B54A32D192ED03UL);
        var words = MemoryMarshal.Cast<byte, ulong>(buffer.AsSpan());
        for (int i = 0; i < words.Length; i++)
            words[i] = Next(ref state);
        int rest = buffer.Length - words.Length * 8;
        if (rest > 0)
        {
            ulong last = Next(ref state);
            for (int i = 0; i < rest; i++) buffer[words.Length * 8 + i] = (byte)(last >> (8 * i));
        }

        static ulong Next(ref ulong s)
        {
            ulong z = unchecked(s += 0x9E3779B97F4A7C15UL);
            z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
            z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
            return z ^ (z >> 31);
        }
    }
}
