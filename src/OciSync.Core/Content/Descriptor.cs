using System;
using System.Collections.Generic;
using OciSync.Core.References;

namespace OciSync.Core.Content
{
    /// <summary>A pointer to content: media type, digest and size, plus the platform of an index entry.</summary>
    public sealed record Descriptor(string MediaType, Digest Digest, long Size)
    {
        public Platform? Platform { get; init; }
        public IReadOnlyDictionary<string, string>? Annotations { get; init; }
    }

    public sealed record Platform(string Os, string Architecture)
    {
        public string? Variant { get; init; }
        public string? OsVersion { get; init; }

        public override string ToString()
        {
            var s = Os + "/" + Architecture;
            if (!string.IsNullOrEmpty(Variant)) s += "/" + Variant;
            if (!string.IsNullOrEmpty(OsVersion)) s += " (" + OsVersion + ")";
            return s;
        }
    }
}
