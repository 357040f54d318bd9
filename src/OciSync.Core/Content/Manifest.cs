using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using OciSync.Core.References;

namespace OciSync.Core.Content
{
    /// <summary>
    /// A manifest or index exactly as the registry served it. <see cref="Bytes"/> are what we
    /// push again, so the digest is preserved; the parsed fields are only for walking the graph.
    /// </summary>
    public sealed class Manifest
    {
        private Manifest(byte[] bytes, string mediaType, Digest digest, Descriptor? config,
            IReadOnlyList<Descriptor> layers, IReadOnlyList<Descriptor> children, Descriptor? subject, string? artifactType,
            IReadOnlyDictionary<string, string>? annotations)
        {
            Subject = subject;
            ArtifactType = artifactType;
            Annotations = annotations;
            Bytes = bytes;
            MediaType = mediaType;
            Digest = digest;
            Config = config;
            Layers = layers;
            Children = children;
        }

        /// <summary>The body exactly as served, pushed unchanged so the digest holds; do not modify the array.</summary>
        public byte[] Bytes { get; }
        /// <summary>The body's <c>mediaType</c>, else the Content-Type without parameters, else inferred (an OCI index when it has <c>manifests</c>).</summary>
        public string MediaType { get; }
        /// <summary>The digest of <see cref="Bytes"/>.</summary>
        public Digest Digest { get; }
        /// <summary>The config blob of an image manifest; null for an index.</summary>
        public Descriptor? Config { get; }
        /// <summary>The layer blobs of an image manifest, in order; empty for an index.</summary>
        public IReadOnlyList<Descriptor> Layers { get; }
        /// <summary>Entries of an index or manifest list; empty for an image manifest.</summary>
        public IReadOnlyList<Descriptor> Children { get; }
        /// <summary>The manifest this one refers to (a signature's or an SBOM's image, OCI 1.1 <c>subject</c>); null for an ordinary image.</summary>
        public Descriptor? Subject { get; }
        /// <summary>The <c>artifactType</c> field, else the config's media type (as the referrers API reports it); null when neither is given.</summary>
        public string? ArtifactType { get; }
        /// <summary>The manifest's own annotations (string values only); null when it has none.</summary>
        public IReadOnlyDictionary<string, string>? Annotations { get; }
        /// <summary>True for an OCI index or a Docker manifest list, whose manifests are in <see cref="Children"/>.</summary>
        public bool IsIndex => MediaTypes.IsIndex(MediaType);
        /// <summary>The length of <see cref="Bytes"/>, in bytes.</summary>
        public long Size => Bytes.LongLength;

        /// <summary>Config then layers: every blob an image manifest references.</summary>
        public IEnumerable<Descriptor> Blobs => Config is null ? Layers : new[] { Config }.Concat(Layers);

        /// <summary>Parses manifest bytes. The media type comes from the body when present, else from the response header.</summary>
        public static Manifest Parse(byte[] bytes, string? contentType) => Parse(bytes, contentType, DigestCalculator.Sha256(bytes));

        /// <summary>As <see cref="Parse(byte[], string?)"/>, for bytes whose digest the caller has already computed.</summary>
        internal static Manifest Parse(byte[] bytes, string? contentType, Digest digest)
        {
            try
            {
                using var doc = JsonDocument.Parse(bytes);
                var root = doc.RootElement;
                if (root.ValueKind != JsonValueKind.Object) throw new FormatException("the manifest is not a JSON object");
                var mediaType = GetString(root, "mediaType");
                if (string.IsNullOrEmpty(mediaType)) mediaType = StripParameters(contentType);
                if (string.IsNullOrEmpty(mediaType))
                    mediaType = root.TryGetProperty("manifests", out _) ? MediaTypes.OciIndex : MediaTypes.OciManifest;
                if (!MediaTypes.IsValid(mediaType))
                    throw new FormatException($"The manifest {digest} has an invalid media type ({UntrustedText.Quote(mediaType!)}).");

                if (root.TryGetProperty("schemaVersion", out var sv) && sv.ValueKind == JsonValueKind.Number && sv.GetInt32() == 1)
                    throw new NotSupportedException("Docker schema 1 manifests are deprecated and not copied; convert the image first.");

                Descriptor? config = root.TryGetProperty("config", out var c) && c.ValueKind == JsonValueKind.Object ? ReadDescriptor(c) : null;
                var layers = ReadArray(root, "layers");
                var children = ReadArray(root, "manifests");
                Descriptor? subject = root.TryGetProperty("subject", out var sub) && sub.ValueKind == JsonValueKind.Object ? ReadDescriptor(sub) : null;
                var artifactType = GetString(root, "artifactType");
                if (string.IsNullOrEmpty(artifactType)) artifactType = config?.MediaType;
                if (string.IsNullOrEmpty(artifactType) || !MediaTypes.IsValid(artifactType)) artifactType = null;
                return new Manifest(bytes, mediaType!, digest, config, layers, children, subject, artifactType, ReadAnnotations(root));
            }
            catch (JsonException e)
            {
                throw new FormatException($"The manifest {digest} is not valid JSON: {e.Message}", e);
            }
        }

        private static IReadOnlyList<Descriptor> ReadArray(JsonElement root, string name)
        {
            if (!root.TryGetProperty(name, out var arr) || arr.ValueKind != JsonValueKind.Array) return Array.Empty<Descriptor>();
            var list = new List<Descriptor>();
            foreach (var e in arr.EnumerateArray()) list.Add(ReadDescriptor(e));
            return list;
        }

        private static Descriptor ReadDescriptor(JsonElement e)
        {
            if (e.ValueKind != JsonValueKind.Object) throw new FormatException("A manifest descriptor is not a JSON object.");
            var mediaType = GetString(e, "mediaType") ?? string.Empty;
            var digestText = GetString(e, "digest");
            if (!Digest.TryParse(digestText, out var digest)) throw new FormatException($"A manifest descriptor has a bad digest ({UntrustedText.Quote(digestText ?? "none")}).");
            // The size is required (OCI and Docker both): without it a blob could stream without end.
            long size = -1;
            if (mediaType.Length > 0 && !MediaTypes.IsValid(mediaType))
                throw new FormatException($"The descriptor of {digest} has an invalid media type ({UntrustedText.Quote(mediaType)}).");
            if (!e.TryGetProperty("size", out var s))
                throw new FormatException($"The descriptor of {digest} has no size.");
            if (s.ValueKind != JsonValueKind.Number || !s.TryGetInt64(out size) || size < 0)
                throw new FormatException($"The descriptor of {digest} has a bad size ({UntrustedText.Quote(s.GetRawText())}); a size is a whole number of bytes, 0 or more.");
            Platform? platform = null;
            if (e.TryGetProperty("platform", out var p) && p.ValueKind == JsonValueKind.Object)
            {
                platform = new Platform(GetString(p, "os") ?? string.Empty, GetString(p, "architecture") ?? string.Empty)
                {
                    Variant = GetString(p, "variant"),
                    OsVersion = GetString(p, "os.version"),
                };
            }
            // A referrer's type as a referrers index lists it; one that breaks the media type grammar is not a type.
            var artifactType = GetString(e, "artifactType");
            if (artifactType != null && !MediaTypes.IsValid(artifactType)) artifactType = null;
            return new Descriptor(mediaType, digest!, size) { Platform = platform, Annotations = ReadAnnotations(e), ArtifactType = artifactType };
        }

        private static Dictionary<string, string>? ReadAnnotations(JsonElement e)
        {
            if (!e.TryGetProperty("annotations", out var a) || a.ValueKind != JsonValueKind.Object) return null;
            var annotations = new Dictionary<string, string>();
            foreach (var prop in a.EnumerateObject())
                if (prop.Value.ValueKind == JsonValueKind.String) annotations[prop.Name] = prop.Value.GetString()!;
            return annotations;
        }

        internal static string? GetString(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

        internal static string? StripParameters(string? contentType)
        {
            if (contentType == null) return null;
            var semi = contentType.IndexOf(';');
            return (semi >= 0 ? contentType.Substring(0, semi) : contentType).Trim();
        }
    }
}
