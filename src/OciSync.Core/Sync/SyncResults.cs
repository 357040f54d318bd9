using System;
using System.Collections.Generic;
using OciSync.Core.References;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// What happened to an image, manifest or blob. Strings, not an enum: ConvertTo-Json writes enums
    /// as numbers, and a runbook reading <c>"Action": 3</c> learns nothing.
    /// </summary>
    public static class SyncAction
    {
        // Images and manifests
        public const string Synced = "Synced";
        public const string Unchanged = "Unchanged";
        public const string Filtered = "Filtered";
        // Blobs
        public const string Copied = "Copied";
        public const string Mounted = "Mounted";
        public const string Present = "Present";
        // All three
        public const string Failed = "Failed";
    }

    /// <summary>Where a run was with an image when it finished (or failed).</summary>
    public static class SyncPhase
    {
        /// <summary>Listing the tags of the rule's source repository.</summary>
        public const string Listing = "Listing";
        /// <summary>Asking source and destination for their digests (HEAD).</summary>
        public const string Planning = "Planning";
        public const string Copying = "Copying";
    }

    /// <summary>
    /// What every result shares, so one table view renders images, manifests and layers in a single
    /// table (PowerShell falls back to lists whenever the view changes mid-stream).
    /// </summary>
    public abstract class SyncResult
    {
        /// <summary>Image, Manifest or Layer.</summary>
        public abstract string Kind { get; }
        public string Action { get; init; } = SyncAction.Failed;
        public string Source { get; init; } = string.Empty;
        public string Destination { get; init; } = string.Empty;
        public string? Digest { get; init; }
        public string? MediaType { get; init; }
        public double Seconds { get; init; }
        public string? ErrorId { get; init; }
        /// <summary>Why it failed; scrubbed of secrets by the engine before anyone sees it.</summary>
        public string? Error { get; internal set; }
        public override string ToString() => $"{Action} {Source} -> {Destination}";
    }

    /// <summary>One blob (config or layer) for one destination repository.</summary>
    public sealed class LayerResult : SyncResult
    {
        public override string Kind => "Layer";
        public long Size { get; init; }
        /// <summary>The repository a mounted blob came from.</summary>
        public string? MountedFrom { get; init; }
        /// <summary>Time spent waiting for a transfer slot (or for another image's upload of the same blob); not in <see cref="SyncResult.Seconds"/>.</summary>
        public double QueuedSeconds { get; init; }
        public override string ToString() => $"{Action} {Digest} ({Size} bytes) -> {Destination}";
    }

    /// <summary>One child manifest of an index, pushed (or skipped) by digest at a destination.</summary>
    public sealed class ManifestResult : SyncResult
    {
        public override string Kind => "Manifest";
        public string? SourceDigest { get; init; }
        public string? Platform { get; init; }
    }

    /// <summary>
    /// The one result of one image a rule named (a tag or digest to one destination), written when
    /// that image is finished — or a rule that could not even be listed. Its child manifests and
    /// layers hang off it; the bytes are those this image's copy really sent (a blob shared with
    /// another image counts for the one that sent it).
    /// </summary>
    public sealed class ImageResult : SyncResult
    {
        public override string Kind => "Image";
        /// <summary>The rule the image came from, as written (<c>source -> destinations</c>).</summary>
        public string? Rule { get; init; }
        public string? SourceDigest { get; init; }
        /// <summary>Listing, Planning or Copying: how far the image got.</summary>
        public string Phase { get; init; } = SyncPhase.Copying;
        /// <summary>The -Retries pass (1 is the first) that gave this result.</summary>
        public int Pass { get; init; } = 1;
        /// <summary>Platforms copied: an index's kept entries, or a single image's platform when it was read.</summary>
        public IReadOnlyList<string> Platforms { get; init; } = Array.Empty<string>();
        public long BytesCopied { get; init; }
        public DateTime StartTime { get; init; }
        public DateTime EndTime { get; init; }
        public IReadOnlyList<ManifestResult> Manifests { get; init; } = Array.Empty<ManifestResult>();
        public IReadOnlyList<LayerResult> Layers { get; init; } = Array.Empty<LayerResult>();
    }

    public sealed class SyncSummary
    {
        /// <summary>Images with a result (a rule whose listing failed counts as one).</summary>
        public int Images { get; init; }
        public int Synced { get; init; }
        public int Unchanged { get; init; }
        public int Filtered { get; init; }
        public int Failed { get; init; }
        /// <summary>Copies -Confirm or -WhatIf declined: not copied, no result.</summary>
        public int Declined { get; init; }
        public int BlobsCopied { get; init; }
        public int BlobsMounted { get; init; }
        public int BlobsPresent { get; init; }
        /// <summary>Bytes of every blob really sent, each counted once.</summary>
        public long BytesCopied { get; init; }
        /// <summary>Requests and blob transfers sent again after a transient failure (a 503, a reset, a body cut short, a stalled transfer).</summary>
        public int RequestRetries { get; init; }
        /// <summary>Passes run (1 + the -Retries passes that had work).</summary>
        public int Passes { get; init; }
        public DateTime StartTime { get; init; }
        public DateTime EndTime { get; init; }
        public double Seconds { get; init; }
        public bool Succeeded => Failed == 0;
        public override string ToString() =>
            $"{Images} image{(Images == 1 ? "" : "s")}: {Synced} synced, {Unchanged} unchanged, {Filtered} filtered, {Failed} failed; {Size(BytesCopied)} sent in {Seconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s";

        internal static string Size(long bytes)
        {
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            if (bytes < 1024) return bytes.ToString(inv) + " B";
            if (bytes < 1024 * 1024) return (bytes / 1024.0).ToString("0.0", inv) + " KiB";
            if (bytes < 1024L * 1024 * 1024) return (bytes / (1024.0 * 1024)).ToString("0.0", inv) + " MiB";
            return (bytes / (1024.0 * 1024 * 1024)).ToString("0.00", inv) + " GiB";
        }
    }
}
