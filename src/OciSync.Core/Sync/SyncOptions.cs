using System;
using System.Collections.Generic;
using OciSync.Core.Configuration;

namespace OciSync.Core.Sync
{
    /// <summary>How a <see cref="SyncEngine"/> run copies: its limits, retries, platform filter and output files.</summary>
    public sealed class SyncOptions
    {
        /// <summary>Blob transfers (a source GET streamed into a destination upload) in flight at once across all images (image-syncer --proc).</summary>
        public int Concurrency { get; set; } = 5;
        /// <summary>
        /// Small requests in flight at once at each registry (or layout), besides the transfers: HEADs, tag
        /// lists, manifests, blob checks, mounts, and blobs up to <see cref="SmallBlobBytes"/>. Across a
        /// network each costs a round trip and moves next to nothing, so they get their own, higher limit
        /// instead of queueing behind the blob transfers.
        /// </summary>
        public int RequestConcurrency { get; set; } = 32;
        /// <summary>Blobs this small (configs, tiny layers) are copied as small requests, not in a transfer slot: their time is the round trip, not the bytes.</summary>
        public long SmallBlobBytes { get; set; } = 1024 * 1024;
        /// <summary>Extra passes over images that failed (image-syncer --retries).</summary>
        public int Retries { get; set; } = 2;
        /// <summary>This worker's part of a job split across several (<see cref="ShardSpec"/>); null: the whole job.</summary>
        public ShardSpec? Shard { get; set; }
        /// <summary>The given copies are already this shard's (a plan file's part, which -Balance Size need not assign by hash): they are not cut again.</summary>
        public bool ShardPreassigned { get; set; }
        /// <summary>The job this run is a part of (<see cref="Sync.RunId"/>), carried by the summary so a merge takes only this job's shards; null: none.</summary>
        public string? RunId { get; set; }
        /// <summary>Attempts per blob transfer, each from a fresh source stream.</summary>
        public int BlobAttempts { get; set; } = 3;
        /// <summary>Push manifests even when the destination already has the same digest.</summary>
        public bool Force { get; set; }
        /// <summary>Which platforms of an image are copied (image-syncer --os/--arch); the default copies all.</summary>
        public PlatformFilter Platforms { get; set; } = new PlatformFilter(null, null);
        /// <summary>
        /// Copy each image's referrers too (signatures, SBOMs, attestations: the OCI 1.1 referrers API or tag
        /// schema, and cosign's tags), and theirs. A rule listing tags then leaves the referrer tags to this.
        /// </summary>
        public bool Referrers { get; set; } = true;
        /// <summary>Only referrers of these artifact types (for cosign's tags: the media type of their first layer); empty: all.</summary>
        public IReadOnlyList<string> ReferrerArtifactTypes { get; set; } = Array.Empty<string>();
        /// <summary>Largest image config read to decide a single-platform image's platform.</summary>
        public int MaxConfigBytes { get; set; } = 4 * 1024 * 1024;
        /// <summary>
        /// Asked once per planned copy before it is copied (the cmdlet's ShouldProcess); false skips it.
        /// Null approves everything.
        /// </summary>
        public Func<ImageCopy, bool>? Approve { get; set; }
        /// <summary>
        /// Mirror pruning: once a rule's copies all succeeded, delete the destination tags the rule would produce from
        /// a tag its source no longer lists (only for rules that list their source: all tags, or a regex).
        /// </summary>
        public bool Prune { get; set; }
        /// <summary>Asked once per stale destination tag before it is deleted (the cmdlet's ShouldProcess at High impact); false keeps it. Null approves every deletion.</summary>
        public Func<References.ImageReference, bool>? ApproveDelete { get; set; }
        /// <summary>An images file (YAML, or JSON by extension) of the images now in sync, written at the end; null: none.</summary>
        public string? SuccessImagesPath { get; set; }
        /// <summary>An images file of what failed (a rule whose listing failed as the rule), to feed back in; null: none.</summary>
        public string? FailedImagesPath { get; set; }

        /// <summary>
        /// The run's summary as JSON (<see cref="SummaryFile"/>, <c>ocisync-summary/1</c>), with the failed and success
        /// images files' YAML text inside whether or not those files are written; null: none.
        /// </summary>
        public string? SummaryPath { get; set; }

        /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a setting is out of range; the engine calls it.</summary>
        public void Validate()
        {
            if (Concurrency < 1 || Concurrency > 256) throw new ArgumentOutOfRangeException(nameof(Concurrency), Concurrency, "Concurrency must be between 1 and 256.");
            if (RequestConcurrency < 1 || RequestConcurrency > 256) throw new ArgumentOutOfRangeException(nameof(RequestConcurrency), RequestConcurrency, "RequestConcurrency must be between 1 and 256.");
            if (Retries < 0 || Retries > 100) throw new ArgumentOutOfRangeException(nameof(Retries), Retries, "Retries must be between 0 and 100.");
            if (BlobAttempts < 1) throw new ArgumentOutOfRangeException(nameof(BlobAttempts), BlobAttempts, "At least one attempt per blob is needed.");
        }
    }

    /// <summary>
    /// Receives results as they happen, from any thread; the cmdlet turns them into pipeline output,
    /// error records and progress. (The images files are the engine's: <see cref="SyncOptions.SuccessImagesPath"/>.)
    /// </summary>
    public interface ISyncObserver
    {
        /// <summary>A blob transfer finished (once per destination repository and digest).</summary>
        void OnLayer(LayerResult result);
        /// <summary>A child manifest of an index was pushed or found present.</summary>
        void OnManifest(ManifestResult result);
        /// <summary>
        /// An image is finished for good: synced, unchanged, filtered, or failed with no pass left to
        /// retry it (a rule whose listing failed is one failed result naming its repository).
        /// </summary>
        void OnImage(ImageResult result);
        /// <summary>Bytes moved (negative when a failed attempt's bytes are taken back).</summary>
        void OnBytes(long count);
        /// <summary>Where the run stands: a phase of a pass, its work done of its work, and images finished of those known.</summary>
        void OnProgress(SyncProgress progress);
    }

    /// <summary>Where a run stands, as given to <see cref="ISyncObserver.OnProgress"/>.</summary>
    public sealed class SyncProgress
    {
        /// <summary>A snapshot; each argument sets the property of the same name.</summary>
        public SyncProgress(int pass, string phase, int phaseDone, int phaseTotal, int imagesDone, int imagesKnown)
        {
            Pass = pass; Phase = phase; PhaseDone = phaseDone; PhaseTotal = phaseTotal; ImagesDone = imagesDone; ImagesKnown = imagesKnown;
        }
        /// <summary>The pass the run is in (1 is the first).</summary>
        public int Pass { get; }
        /// <summary>Listing, Planning or Copying.</summary>
        public string Phase { get; }
        /// <summary>Work of this phase done: images checked while planning, images copied while copying.</summary>
        public int PhaseDone { get; }
        /// <summary>Work of this phase in all, counted as <see cref="PhaseDone"/> is.</summary>
        public int PhaseTotal { get; }
        /// <summary>Images with a final result so far in the run.</summary>
        public int ImagesDone { get; }
        /// <summary>Images the run knows of so far (more appear when a retried rule lists new tags).</summary>
        public int ImagesKnown { get; }
    }
}
