using OciSync.Core.Sync;

namespace OciSync.Core.Tests.Sync;

/// <summary>An observer for tests that look only at the summary.</summary>
internal sealed class NullObserver : ISyncObserver
{
    public void OnLayer(LayerResult result) { }
    public void OnManifest(ManifestResult result) { }
    public void OnBytes(long count) { }
    public void OnImage(ImageResult result) { }
    public void OnProgress(SyncProgress progress) { }
}
