using System;
using System.Collections.Generic;
using OciSync.Core.References;

namespace OciSync.Core.Content
{
    /// <summary>A pointer to content: media type, digest and size, plus the platform of an index entry.</summary>
    public sealed record Descriptor(string MediaType, Digest Digest, long Size)
    {
        /// <summary>The platform of an index entry's image; null for other descriptors, or when the entry gives none.</summary>
        public Platform? Platform { get; init; }
        /// <summary>The descriptor's annotations (string values only); null when it has none.</summary>
        public IReadOnlyDictionary<string, string>? Annotations { get; init; }
        /// <summary>The referrer's artifact type, as a referrers index lists it; null elsewhere.</summary>
        public string? ArtifactType { get; init; }
    }

    /// <summary>The platform an index entry's image is for, as the index spells it.</summary>
    /// <param name="Os">The operating system (<c>linux</c>, <c>windows</c>); empty when the entry omits it.</param>
    /// <param name="Architecture">The CPU architecture (<c>amd64</c>, <c>arm64</c>); empty when the entry omits it.</param>
    public sealed record Platform(string Os, string Architecture)
    {
        /// <summary>The CPU variant (<c>v7</c>, <c>v8</c>), or null.</summary>
        public string? Variant { get; init; }
        /// <summary>The <c>os.version</c> field (Windows images give it), or null.</summary>
        public string? OsVersion { get; init; }

        /// <summary><c>os/architecture[/variant]</c>, followed by <c>(os.version)</c> when that is given.</summary>
        public override string ToString()
        {
            var s = Os + "/" + Architecture;
            if (!string.IsNullOrEmpty(Variant)) s += "/" + Variant;
            if (!string.IsNullOrEmpty(OsVersion)) s += " (" + OsVersion + ")";
            return s;
        }
    }
}
