using System;
using OciSync.Core.References;

namespace OciSync.Core.Sync
{
    public enum LayerAction { Copied, Mounted, Present, Failed }

    public enum ManifestAction { Synced, Unchanged, Filtered, Failed }

    /// <summary>One blob (config or layer) for one destination repository.</summary>
    public sealed class LayerResult
    {
        public string Source { get; init; } = string.Empty;
        public string Destination { get; init; } = string.Empty;
        public string Digest { get; init; } = string.Empty;
        public string MediaType { get; init; } = string.Empty;
        public long Size { get; init; }
        public LayerAction Action { get; init; }
        public double Seconds { get; init; }
        /// <summary>The repository a mounted blob came from.</summary>
        public string? MountedFrom { get; init; }
        /// <summary>Why it failed; scrubbed of secrets by the engine before anyone sees it.</summary>
        public string? Error { get; internal set; }
        public override string ToString() => $"{Action} {Digest} ({Size} bytes) -> {Destination}";
    }

    /// <summary>One manifest pushed (or skipped) at a destination: a top-level image or a child of an index.</summary>
    public sealed class ManifestResult
    {
        public string Source { get; init; } = string.Empty;
        public string Destination { get; init; } = string.Empty;
        public string? Digest { get; init; }
        public string? SourceDigest { get; init; }
        public string? MediaType { get; init; }
        public string? Platform { get; init; }
        public ManifestAction Action { get; init; }
        /// <summary>True for the image a rule named; false for the children of an index.</summary>
        public bool IsTopLevel { get; init; }
        public long BytesCopied { get; init; }
        public double Seconds { get; init; }
        /// <summary>Why it failed; scrubbed of secrets by the engine before anyone sees it.</summary>
        public string? Error { get; internal set; }
        public string? ErrorId { get; init; }
        public override string ToString() => $"{Action} {Source} -> {Destination}";
    }

    public sealed class SyncSummary
    {
        public int Images { get; init; }
        public int Synced { get; init; }
        public int Unchanged { get; init; }
        public int Filtered { get; init; }
        public int Failed { get; init; }
        public int BlobsCopied { get; init; }
        public int BlobsMounted { get; init; }
        public int BlobsPresent { get; init; }
        public long BytesCopied { get; init; }
        public TimeSpan Duration { get; init; }
        public bool Succeeded => Failed == 0;
        public override string ToString() =>
            $"{Images} images: {Synced} synced, {Unchanged} unchanged, {Filtered} filtered, {Failed} failed; {BytesCopied} bytes in {Duration.TotalSeconds:0.0} s";
    }

    /// <summary>One concrete copy: a source image (tag or digest) to a destination reference.</summary>
    public sealed class ImageCopy
    {
        public ImageCopy(ImageReference source, ImageReference destination)
        {
            if (source.ApiReference == null) throw new ArgumentException($"The source '{source}' names no tag or digest.", nameof(source));
            Source = source;
            Destination = destination.ApiReference == null ? WithSourceReference(destination, source) : destination;
        }

        public ImageReference Source { get; }
        public ImageReference Destination { get; }
        /// <summary>Filled by the planner's HEAD requests, so the copier need not repeat them.</summary>
        public Digest? SourceDigest { get; set; }
        public Digest? DestinationDigest { get; set; }
        public bool Planned { get; set; }
        /// <summary>The destination already holds the source's digest (known after planning).</summary>
        public bool UpToDate => SourceDigest is not null && SourceDigest == DestinationDigest;
        /// <summary>Rule text this copy came from, for error messages and output files.</summary>
        public string? Rule { get; set; }

        private static ImageReference WithSourceReference(ImageReference destination, ImageReference source) =>
            source.Tag != null ? destination.WithTag(source.Tag) : destination.WithDigest(source.Digest);

        public override string ToString() => $"{Source} -> {Destination}";
    }
}
