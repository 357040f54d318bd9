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
        /// <summary>An image or child manifest was pushed to the destination.</summary>
        public const string Synced = "Synced";
        /// <summary>The destination already had the same digest; nothing was pushed.</summary>
        public const string Unchanged = "Unchanged";
        /// <summary>No platform of the image passed the <see cref="PlatformFilter"/>; nothing was copied.</summary>
        public const string Filtered = "Filtered";
        // Blobs
        /// <summary>The blob's bytes were uploaded.</summary>
        public const string Copied = "Copied";
        /// <summary>The destination registry mounted the blob from another of its repositories; no bytes were sent.</summary>
        public const string Mounted = "Mounted";
        /// <summary>The destination repository already had the blob.</summary>
        public const string Present = "Present";
        // Destination tags (-Prune)
        /// <summary>A destination tag the rule produces from a tag its source no longer has was deleted (-Prune).</summary>
        public const string Deleted = "Deleted";
        /// <summary>
        /// A stale destination tag -Prune did not delete: the registry deletes only by digest, and that digest is
        /// also another kept tag's (or a child of a kept index), which would have gone with it; Error says which.
        /// </summary>
        public const string Kept = "Kept";
        // All three
        /// <summary>It could not be copied (or, in the Pruning phase, deleted); <see cref="SyncResult.Error"/> says why.</summary>
        public const string Failed = "Failed";
    }

    /// <summary>Where a run was with an image when it finished (or failed).</summary>
    public static class SyncPhase
    {
        /// <summary>Listing the tags of the rule's source repository (or, for a <c>registry/namespace/*</c> rule, the registry's catalog).</summary>
        public const string Listing = "Listing";
        /// <summary>Asking source and destination for their digests (HEAD).</summary>
        public const string Planning = "Planning";
        /// <summary>Copying blobs and manifests to the destination.</summary>
        public const string Copying = "Copying";
        /// <summary>Deleting the destination tags whose source tags are gone (-Prune), after the rule's copies.</summary>
        public const string Pruning = "Pruning";
    }

    /// <summary>
    /// What every result shares, so one table view renders images, manifests and layers in a single
    /// table (PowerShell falls back to lists whenever the view changes mid-stream).
    /// </summary>
    public abstract class SyncResult
    {
        /// <summary>Image, Manifest or Layer.</summary>
        public abstract string Kind { get; }
        /// <summary>What happened: one of the <see cref="SyncAction"/> values.</summary>
        public string Action { get; init; } = SyncAction.Failed;
        /// <summary>Where it came from: an image reference, or <c>registry/repository</c> for a layer (a rule whose listing failed names its repository).</summary>
        public string Source { get; init; } = string.Empty;
        /// <summary>Where it went, in the same form as <see cref="Source"/> (a rule whose listing failed lists its destinations, comma-separated).</summary>
        public string Destination { get; init; } = string.Empty;
        /// <summary>The digest pushed or found at the destination (a layer's blob digest); null for an image that failed.</summary>
        public string? Digest { get; init; }
        /// <summary>The media type of the manifest or blob; null when it was not read (an image found unchanged by its HEAD, or one that failed).</summary>
        public string? MediaType { get; init; }
        /// <summary>Time it took, in seconds; 0 for a blob another transfer had already settled.</summary>
        public double Seconds { get; init; }
        /// <summary>The <see cref="Transport.ErrorIds"/> id of why an image failed; null otherwise (layer and manifest results leave it null).</summary>
        public string? ErrorId { get; init; }
        /// <summary>Why it failed; scrubbed of secrets by the engine before anyone sees it.</summary>
        public string? Error { get; internal set; }
        /// <inheritdoc/>
        public override string ToString() => $"{Action} {Source} -> {Destination}";
    }

    /// <summary>One blob (config or layer) for one destination repository.</summary>
    public sealed class LayerResult : SyncResult
    {
        /// <inheritdoc/>
        public override string Kind => "Layer";
        /// <summary>The blob's size in bytes.</summary>
        public long Size { get; init; }
        /// <summary>The repository a mounted blob came from.</summary>
        public string? MountedFrom { get; init; }
        /// <summary>Time spent waiting for a transfer slot (or for another image's upload of the same blob); not in <see cref="SyncResult.Seconds"/>.</summary>
        public double QueuedSeconds { get; init; }
        /// <inheritdoc/>
        public override string ToString() => $"{Action} {Digest} ({Size} bytes) -> {Destination}";
    }

    /// <summary>One child manifest of an index, pushed (or skipped) by digest at a destination.</summary>
    public sealed class ManifestResult : SyncResult
    {
        /// <inheritdoc/>
        public override string Kind => "Manifest";
        /// <summary>The child's digest at the source; children are pushed by digest, so it is also <see cref="SyncResult.Digest"/>.</summary>
        public string? SourceDigest { get; init; }
        /// <summary>The index entry's platform (<c>linux/arm64/v8</c>, say); null for an entry without one (an attestation).</summary>
        public string? Platform { get; init; }
        /// <summary>For a referrer (a signature, SBOM or attestation): the digest of the manifest it refers to; null for an index's child.</summary>
        public string? Subject { get; init; }
        /// <summary>For a referrer: its artifact type (for cosign's tags, the media type of their first layer); null when it has none.</summary>
        public string? ArtifactType { get; init; }
    }

    /// <summary>
    /// The one result of one image a rule named (a tag or digest to one destination), written when
    /// that image is finished — or a rule that could not even be listed. Its child manifests and
    /// layers hang off it; the bytes are those this image's copy really sent (a blob shared with
    /// another image counts for the one that sent it).
    /// </summary>
    public sealed class ImageResult : SyncResult
    {
        /// <inheritdoc/>
        public override string Kind => "Image";
        /// <summary>The rule the image came from, as written (<c>source -> destinations</c>).</summary>
        public string? Rule { get; init; }
        /// <summary>The source manifest's digest; differs from <see cref="SyncResult.Digest"/> when an index was filtered to fewer platforms. Null when the run failed before learning it.</summary>
        public string? SourceDigest { get; init; }
        /// <summary>Listing, Planning or Copying: how far the image got.</summary>
        public string Phase { get; init; } = SyncPhase.Copying;
        /// <summary>The -Retries pass (1 is the first) that gave this result.</summary>
        public int Pass { get; init; } = 1;
        /// <summary>Platforms copied: an index's kept entries, or a single image's platform when it was read.</summary>
        public IReadOnlyList<string> Platforms { get; init; } = Array.Empty<string>();
        /// <summary>Bytes this image's own requests sent (a blob another image sent counts there).</summary>
        public long BytesCopied { get; init; }
        /// <summary>When the image's copy began (UTC); for a listing or HEAD failure, when its pass began.</summary>
        public DateTime StartTime { get; init; }
        /// <summary>When the result was made (UTC).</summary>
        public DateTime EndTime { get; init; }
        /// <summary>The child manifests of an index, pushed or found present; empty for a single-platform image.</summary>
        public IReadOnlyList<ManifestResult> Manifests { get; init; } = Array.Empty<ManifestResult>();
        /// <summary>Every blob (config and layers) the image needed at its destination, whichever image sent it.</summary>
        public IReadOnlyList<LayerResult> Layers { get; init; } = Array.Empty<LayerResult>();
        /// <summary>The image's referrers (signatures, SBOMs, attestations, and theirs), copied or found present; empty with -NoReferrers.</summary>
        public IReadOnlyList<ManifestResult> Referrers { get; internal set; } = Array.Empty<ManifestResult>();
    }

    /// <summary>The totals of a run, returned when it ends.</summary>
    public sealed class SyncSummary
    {
        /// <summary>Images with a result (a rule whose listing failed counts as one).</summary>
        public int Images { get; init; }
        /// <summary>Images pushed to their destination.</summary>
        public int Synced { get; init; }
        /// <summary>Images whose destination already had the same digest.</summary>
        public int Unchanged { get; init; }
        /// <summary>Images with no platform the platform filter lets through.</summary>
        public int Filtered { get; init; }
        /// <summary>Images that failed after every pass, a rule whose listing failed counting as one.</summary>
        public int Failed { get; init; }
        /// <summary>Copies -Confirm or -WhatIf declined: not copied, no result (stale tags not deleted for the same reason count here too).</summary>
        public int Declined { get; init; }
        /// <summary>Stale destination tags -Prune deleted (each also an image result with Action Deleted; not in <see cref="Images"/>).</summary>
        public int Deleted { get; init; }
        /// <summary>Stale destination tags -Prune kept because deleting them by digest would have removed a kept tag (Action Kept).</summary>
        public int Kept { get; init; }
        /// <summary>Referrers (signatures, SBOMs, attestations) pushed to a destination.</summary>
        public int ReferrersSynced { get; init; }
        /// <summary>Referrers the destination already had.</summary>
        public int ReferrersUnchanged { get; init; }
        /// <summary>Blobs uploaded, once per destination repository and digest.</summary>
        public int BlobsCopied { get; init; }
        /// <summary>Blobs mounted from another repository of the destination registry instead of uploaded.</summary>
        public int BlobsMounted { get; init; }
        /// <summary>Blobs the destination repository already had.</summary>
        public int BlobsPresent { get; init; }
        /// <summary>Bytes of every blob really sent, each counted once.</summary>
        public long BytesCopied { get; init; }
        /// <summary>Requests and blob transfers sent again after a transient failure (a 503, a reset, a body cut short, a stalled transfer).</summary>
        public int RequestRetries { get; init; }
        /// <summary>Passes run (1 + the -Retries passes that had work).</summary>
        public int Passes { get; init; }
        /// <summary>When the run began (UTC).</summary>
        public DateTime StartTime { get; init; }
        /// <summary>When the run ended (UTC).</summary>
        public DateTime EndTime { get; init; }
        /// <summary>The run's length in seconds.</summary>
        public double Seconds { get; init; }
        /// <summary>The shard this run was (<see cref="SyncOptions.Shard"/>), from 0; null for a whole job and for a merged summary.</summary>
        public int? Shard { get; init; }
        /// <summary>How many shards the job was split into; null for a whole job (a merged summary: the count merged from).</summary>
        public int? ShardCount { get; init; }
        /// <summary>The job's run id (<see cref="SyncOptions.RunId"/>, Invoke-ImageSync -RunId); null when none was given.</summary>
        public string? RunId { get; init; }
        /// <summary>A merged summary (Merge-SyncResult): the shards it adds up, ascending; empty otherwise.</summary>
        public int[] Shards { get; init; } = Array.Empty<int>();
        /// <summary>A merged summary: the shards of <see cref="ShardCount"/> no result was found for, ascending; empty otherwise.</summary>
        public int[] MissingShards { get; init; } = Array.Empty<int>();
        /// <summary>True when no image failed (declined copies do not count as failures) and, for a merged summary, no shard is missing.</summary>
        public bool Succeeded => Failed == 0 && MissingShards.Length == 0;
        /// <inheritdoc/>
        public override string ToString() =>
            ShardText() +
            $"{Images} image{(Images == 1 ? "" : "s")}: {Synced} synced, {Unchanged} unchanged, {Filtered} filtered, {Failed} failed; " +
            (ReferrersSynced > 0 ? $"{ReferrersSynced} referrer{(ReferrersSynced == 1 ? "" : "s")} synced; " : "") +
            (Deleted + Kept > 0 ? $"{Deleted} stale tag{(Deleted == 1 ? "" : "s")} deleted{(Kept > 0 ? $", {Kept} kept" : "")}; " : "") +
            $"{Size(BytesCopied)} sent in {Seconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} s";

        internal string ShardText()
        {
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            if (Shard != null && ShardCount != null) return string.Format(inv, "shard {0} of {1}: ", Shard, ShardCount);
            if (ShardCount == null) return string.Empty;
            return string.Format(inv, "{0} of {1} shard{2} merged", Shards.Length, ShardCount, ShardCount == 1 ? "" : "s")
                + (MissingShards.Length > 0 ? " (missing " + Join(MissingShards) + ")" : "") + ": ";
        }

        /// <summary><c>0, 2, 5</c>, or the first twenty and how many more: a line, not a list of 10,000.</summary>
        internal static string Join(IReadOnlyList<int> shards)
        {
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            var shown = string.Join(", ", System.Linq.Enumerable.Select(System.Linq.Enumerable.Take(shards, 20), i => i.ToString(inv)));
            return shards.Count > 20 ? shown + string.Format(inv, " and {0} more", shards.Count - 20) : shown;
        }

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
