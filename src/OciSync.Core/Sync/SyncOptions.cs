using System;

namespace OciSync.Core.Sync
{
    public sealed class SyncOptions
    {
        /// <summary>Blobs and manifests in flight at once across all images (image-syncer --proc).</summary>
        public int Concurrency { get; set; } = 5;
        /// <summary>Extra passes over images that failed (image-syncer --retries).</summary>
        public int Retries { get; set; } = 2;
        /// <summary>Attempts per blob transfer, each from a fresh source stream.</summary>
        public int BlobAttempts { get; set; } = 3;
        /// <summary>Push manifests even when the destination already has the same digest.</summary>
        public bool Force { get; set; }
        public PlatformFilter Platforms { get; set; } = new PlatformFilter(null, null);
        /// <summary>Largest image config read to decide a single-platform image's platform.</summary>
        public int MaxConfigBytes { get; set; } = 4 * 1024 * 1024;

        public void Validate()
        {
            if (Concurrency < 1 || Concurrency > 256) throw new ArgumentOutOfRangeException(nameof(Concurrency), Concurrency, "Concurrency must be between 1 and 256.");
            if (Retries < 0 || Retries > 100) throw new ArgumentOutOfRangeException(nameof(Retries), Retries, "Retries must be between 0 and 100.");
            if (BlobAttempts < 1) throw new ArgumentOutOfRangeException(nameof(BlobAttempts), BlobAttempts, "At least one attempt per blob is needed.");
        }
    }

    /// <summary>Receives results as they happen; the cmdlet turns them into pipeline output and progress.</summary>
    public interface ISyncObserver
    {
        void OnLayer(LayerResult result);
        void OnManifest(ManifestResult result);
        /// <summary>Bytes moved (negative when a failed attempt's bytes are taken back).</summary>
        void OnBytes(long count);
    }
}
