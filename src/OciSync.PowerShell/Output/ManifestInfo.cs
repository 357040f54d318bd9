using System.Collections.Generic;
using System.Linq;
using OciSync.Core.Content;

namespace OciSync.PowerShell.Output
{
    /// <summary>What Get-RegistryManifest shows of an image or an index.</summary>
    public sealed class ManifestInfo
    {
        internal ManifestInfo(string reference, Manifest manifest)
        {
            Reference = reference;
            Digest = manifest.Digest.ToString();
            MediaType = manifest.MediaType;
            Size = manifest.Size;
            IsIndex = manifest.IsIndex;
            Platforms = manifest.Children.Select(c => c.Platform?.ToString() ?? "(none)").ToArray();
            Manifests = manifest.Children.Select(c => new ManifestEntry(c.Digest.ToString(), c.MediaType, c.Size, c.Platform?.ToString())).ToArray();
            Config = manifest.Config?.Digest.ToString();
            Layers = manifest.Layers.Select(l => new LayerEntry(l.Digest.ToString(), l.MediaType, l.Size)).ToArray();
            LayerCount = Layers.Count;
            LayerBytes = manifest.Layers.Aggregate(0L, (sum, l) => l.Size > long.MaxValue - sum ? long.MaxValue : sum + l.Size); // a hostile size must not overflow
        }

        public string Reference { get; }
        public string Digest { get; }
        public string MediaType { get; }
        public long Size { get; }
        public bool IsIndex { get; }
        public IReadOnlyList<string> Platforms { get; }
        public IReadOnlyList<ManifestEntry> Manifests { get; }
        public string? Config { get; }
        public IReadOnlyList<LayerEntry> Layers { get; }
        public int LayerCount { get; }
        public long LayerBytes { get; }
        public override string ToString() => Reference + "@" + Digest;
    }

    public sealed class ManifestEntry
    {
        public ManifestEntry(string digest, string mediaType, long size, string? platform) { Digest = digest; MediaType = mediaType; Size = size; Platform = platform; }
        public string Digest { get; }
        public string MediaType { get; }
        public long Size { get; }
        public string? Platform { get; }
        public override string ToString() => $"{Platform ?? "(none)"} {Digest}";
    }

    public sealed class LayerEntry
    {
        public LayerEntry(string digest, string mediaType, long size) { Digest = digest; MediaType = mediaType; Size = size; }
        public string Digest { get; }
        public string MediaType { get; }
        public long Size { get; }
        public override string ToString() => Digest;
    }
}
