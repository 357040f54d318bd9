using System.IO;
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>What a run tells: one result per image as it finishes, passes that re-plan, right numbers, nothing kept.</summary>
[Collection("registries")]
public sealed class RunReportTests
{
    private readonly RegistryFixture _registries;

    public RunReportTests(RegistryFixture registries) => _registries = registries;

    [Fact]
    public async Task A_blob_shared_by_two_images_counts_its_bytes_for_one_of_them_only()
    {
        var source = _registries.Anonymous;
        var http = new RegistryHttp(source);
        var shared = ImageFactory.CreateLayer(90_001, 200 * 1024);
        for (int i = 0; i < 2; i++)
            await http.PushImageAsync("report/shared", ImageFactory.CreateImage(90_100 + i * 10, layerCount: 1, layerSize: 50 * 1024, sharedLayers: new[] { shared }), $"t{i}");

        var harness = new SyncHarness(_registries);
        var dst = _registries.Basic.Host;
        var summary = await harness.RunAsync(new SyncOptions(), ($"{source.Host}/report/shared:t0", $"{dst}/report/shared:t0"), ($"{source.Host}/report/shared:t1", $"{dst}/report/shared:t1"));

        Assert.Equal(2, summary.Synced);
        var sent = harness.Layers.Where(l => l.Action == SyncAction.Copied).Sum(l => l.Size);
        Assert.Equal(sent, summary.BytesCopied);
        Assert.Equal(sent, harness.Images.Sum(i => i.BytesCopied)); // before: the shared layer counted in both images
        Assert.All(harness.Images, i => Assert.Contains(i.Layers, l => l.Digest == shared.Digest)); // yet both list it
    }

    [Fact]
    public async Task An_image_retried_in_a_later_pass_counts_the_bytes_it_sent_in_an_earlier_one()
    {
        var source = _registries.Anonymous;
        var http = new RegistryHttp(source);
        var image = ImageFactory.CreateImage(90_500, layerCount: 2, layerSize: 64 * 1024);
        await http.PushImageAsync("report/again", image, "v1");
        // Its blobs go in pass 1, then the manifest PUT fails (500, beyond the per-request retry); pass 2 pushes it.
        var failing = new FailManifestPuts(2, new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        var harness = new SyncHarness(_registries, _ => failing,
            o => o.Retry = new RetryPolicy { MaxAttempts = 1, BaseDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(50) });
        var summary = await harness.RunAsync(new SyncOptions { Retries = 1 }, ($"{source.Host}/report/again:v1", $"{_registries.Basic.Host}/report/again-{Guid.NewGuid():N}:v1"));

        var result = Assert.Single(harness.Images);
        Assert.Equal(SyncAction.Synced, result.Action);
        Assert.Equal(2, result.Pass);
        Assert.True(summary.BytesCopied > 0);
        Assert.Equal(summary.BytesCopied, result.BytesCopied); // before: 0, the pass-2 copy of the image was not the blobs' owner
        Assert.True(summary.RequestRetries >= 1);
    }

    [Fact]
    public async Task Layer_seconds_are_the_transfer_and_the_wait_for_a_slot_is_queued_time()
    {
        var source = _registries.Anonymous;
        var http = new RegistryHttp(source);
        await http.PushImageAsync("report/queued", ImageFactory.CreateImage(90_200, layerCount: 6, layerSize: 400 * 1024), "v1");
        var harness = new SyncHarness(_registries);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await harness.RunAsync(new SyncOptions { Concurrency = 1, RequestConcurrency = 1 }, ($"{source.Host}/report/queued:v1", $"{_registries.Basic.Host}/report/queued-{Guid.NewGuid():N}:v1"));
        var wall = watch.Elapsed.TotalSeconds;

        var layers = harness.Layers.ToList();
        Assert.Equal(7, layers.Count);
        // One transfer slot and one request slot: each runs one thing at a time, so the layers' own times
        // (their checks in one, their streams in the other) cannot add up to more than twice the run.
        Assert.True(layers.Sum(l => l.Seconds) <= 2 * wall, $"layer seconds add up to {layers.Sum(l => l.Seconds):0.000} s in a {wall:0.000} s run");
        Assert.Contains(layers, l => l.QueuedSeconds > 0);
        Assert.All(layers, l => Assert.True(l.Seconds >= 0 && l.QueuedSeconds >= 0));
    }

    [Fact]
    public async Task Results_stream_one_per_image_as_each_finishes_and_the_engine_keeps_none_of_them()
    {
        var source = _registries.Anonymous;
        var http = new RegistryHttp(source);
        const int count = 40;
        for (int i = 0; i < count; i++)
            await http.PushImageAsync("report/many", ImageFactory.CreateImage(90_300 + i, layerCount: 1, layerSize: 4 * 1024), $"t{i}");
        var copies = Enumerable.Range(0, count).Select(i => new ImageCopy(ImageReference.Parse($"{source.Host}/report/many:t{i}"),
            ImageReference.Parse($"{_registries.Basic.Host}/report/many-{Guid.NewGuid():N}:t{i}"))).ToList();

        var observer = new WeakObserver();
        var clients = new SyncHarness(_registries).Clients;
        var engine = new SyncEngine(clients, new SyncOptions { Concurrency = 4 }, observer);
        var summary = await engine.RunAsync(copies, CancellationToken.None);

        Assert.Equal(count, summary.Synced);
        Assert.Equal(count, observer.Images);
        // Images were reported while others were still to come, not all at the end of the pass.
        Assert.True(observer.FirstImageBeforeLastProgress, "every image result came after the last copying progress");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        // The engine is still alive (as it is through a long run), yet holds no results per image or layer
        // (before: every layer's). A last image's result may linger in a finished continuation's frame.
        var alive = observer.References.Where(r => r.IsAlive).Select(r => r.Target?.GetType().Name).ToList();
        Assert.True(alive.Count <= 5, $"{alive.Count} of {observer.References.Count} image and layer results are still referenced by the engine: " +
            string.Join(", ", alive.GroupBy(n => n).Select(g => $"{g.Count()} {g.Key}")));
        GC.KeepAlive(engine);
    }

    [Fact]
    public async Task A_rule_whose_listing_failed_is_listed_again_in_the_next_pass_and_synced()
    {
        var source = _registries.Anonymous;
        var http = new RegistryHttp(source);
        await http.PushImageAsync("report/relist", ImageFactory.CreateImage(90_400, layerCount: 1, layerSize: 4 * 1024), "v1");
        // The tag list comes back cut short (200, half a JSON body) more often than one request retries (1 + 2).
        var cut = new CutTagLists(3, new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        var harness = new SyncHarness(_registries, _ => cut,
            o => o.Retry = new RetryPolicy { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(10), MaxDelay = TimeSpan.FromMilliseconds(50) });
        var engine = new SyncEngine(harness.Clients, new SyncOptions { Retries = 1 }, harness);
        var rule = SyncRule.Create($"{source.Host}/report/relist", new[] { $"{_registries.Basic.Host}/report/relist-{Guid.NewGuid():N}" });

        var summary = await engine.RunAsync(new[] { rule }, CancellationToken.None);

        Assert.Equal(3, cut.Cut);
        Assert.Equal(2, summary.Passes);
        Assert.Equal(1, summary.Synced);
        var image = Assert.Single(harness.Images);
        Assert.Equal(SyncAction.Synced, image.Action);
        Assert.Equal(2, image.Pass);
        Assert.Equal(2, summary.RequestRetries); // the two per-request retries of pass 1
    }

    [Fact]
    public async Task A_listing_that_fails_for_good_is_one_Failed_result_for_the_rule()
    {
        var harness = new SyncHarness(_registries);
        var rule = SyncRule.Create($"{_registries.Anonymous.Host}/report/none-{Guid.NewGuid():N}", new[] { $"{_registries.Basic.Host}/report/none" });
        var failedFile = Path.Combine(Path.GetTempPath(), $"ocisync-failed-{Guid.NewGuid():N}.yaml");
        var successFile = failedFile.Replace("failed", "success");

        var summary = await new SyncEngine(harness.Clients, new SyncOptions { Retries = 1, FailedImagesPath = failedFile, SuccessImagesPath = successFile }, harness)
            .RunAsync(new[] { rule }, CancellationToken.None);

        Assert.Equal(1, summary.Failed);
        Assert.Equal(1, summary.Passes); // RepositoryNotFound: another pass cannot help
        var failed = Assert.Single(harness.Images);
        Assert.Equal(SyncAction.Failed, failed.Action);
        Assert.Equal(ErrorIds.RepositoryNotFound, failed.ErrorId);
        Assert.Equal(SyncPhase.Listing, failed.Phase);
        Assert.Equal(rule.SourceRepository.RepositoryName, failed.Source);
        Assert.Contains("listing the tags of", failed.Error);
        // The engine's failed-images file writes the rule itself, and it reads back as that rule; nothing succeeded.
        try
        {
            Assert.Equal($"\"{rule.Source}\": \"{rule.Targets[0]}\"\n", File.ReadAllText(failedFile));
            var again = Assert.Single(ImagesFile.Load(failedFile).Rules);
            Assert.Equal(rule.ToString(), again.ToString());
            Assert.Equal("{}\n", File.ReadAllText(successFile));
        }
        finally
        {
            File.Delete(failedFile);
            File.Delete(successFile);
        }
    }

    /// <summary>Keeps only weak references to what it is shown, and when the first image came relative to the progress.</summary>
    private sealed class WeakObserver : ISyncObserver
    {
        private int _images;
        private int _progressAfterFirstImage;
        public ConcurrentBag<WeakReference> References { get; } = new();
        public int Images => _images;
        public bool FirstImageBeforeLastProgress => _progressAfterFirstImage > 0;
        public void OnLayer(LayerResult result) => References.Add(new WeakReference(result));
        public void OnManifest(ManifestResult result) => References.Add(new WeakReference(result));
        public void OnImage(ImageResult result)
        {
            Interlocked.Increment(ref _images);
            References.Add(new WeakReference(result));
        }
        public void OnBytes(long count) { }
        public void OnProgress(SyncProgress progress)
        {
            if (progress.Phase == SyncPhase.Copying && Volatile.Read(ref _images) > 0 && progress.ImagesDone < progress.PhaseTotal)
                Interlocked.Increment(ref _progressAfterFirstImage);
        }
    }

    /// <summary>Answers the first <c>n</c> manifest PUTs with a 500, as an overloaded registry would.</summary>
    private sealed class FailManifestPuts : DelegatingHandler
    {
        private int _left;
        public FailManifestPuts(int n, HttpMessageHandler inner) : base(inner) => _left = n;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct) =>
            request.Method == HttpMethod.Put && request.RequestUri!.AbsolutePath.Contains("/manifests/", StringComparison.Ordinal) && Interlocked.Decrement(ref _left) >= 0
                ? Task.FromResult(new HttpResponseMessage(HttpStatusCode.InternalServerError) { RequestMessage = request, Content = new StringContent("") })
                : base.SendAsync(request, ct);
    }

    /// <summary>Answers the first <c>n</c> tag-list requests with a 200 whose JSON is cut in half, as a broken proxy would.</summary>
    private sealed class CutTagLists : DelegatingHandler
    {
        private int _left;
        private int _cut;
        public CutTagLists(int n, HttpMessageHandler inner) : base(inner) => _left = n;
        public int Cut => Volatile.Read(ref _cut);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var response = await base.SendAsync(request, ct);
            if (!request.RequestUri!.AbsolutePath.EndsWith("/tags/list", StringComparison.Ordinal) || Interlocked.Decrement(ref _left) < 0) return response;
            Interlocked.Increment(ref _cut);
            var body = await response.Content.ReadAsByteArrayAsync(ct);
            var half = new ByteArrayContent(body[..(body.Length / 2)]);
            half.Headers.ContentType = response.Content.Headers.ContentType;
            response.Content = half;
            return response;
        }
    }
}
