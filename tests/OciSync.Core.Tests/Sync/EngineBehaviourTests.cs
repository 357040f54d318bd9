using System.Collections.Generic;
using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>Concurrency, blob dedupe and mounts, platform filters and fault survival, against real registries.</summary>
[Collection("registries")]
public sealed class EngineBehaviourTests
{
    private readonly RegistryFixture _registries;

    public EngineBehaviourTests(RegistryFixture registries) => _registries = registries;

    [Fact]
    public async Task No_more_transfers_than_Proc_are_ever_in_flight()
    {
        var source = _registries.Anonymous;
        var http = new RegistryHttp(source);
        var copies = Enumerable.Range(0, 4).Select(i => ($"{source.Host}/proc/img{i}:v1", $"{_registries.Basic.Host}/proc/img{i}:v1")).ToArray();
        for (int i = 0; i < 4; i++)
            await http.PushImageAsync($"proc/img{i}", ImageFactory.CreateImage(20_000 + i * 100, layerCount: 4, layerSize: 256 * 1024), "v1");

        var counter = new InFlightCounter(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        var harness = new SyncHarness(_registries, _ => counter);
        // Every blob in a transfer slot (none counts as a small request) so that -Proc is the limit seen at the socket.
        var summary = await harness.RunAsync(new SyncOptions { Concurrency = 3, SmallBlobBytes = 0 }, copies);

        Assert.Equal(4, summary.Synced);
        Assert.Equal(20, summary.BlobsCopied);
        Assert.InRange(counter.PeakBlobTransfers, 2, 3); // streams observed at the socket: parallel, yet never above 3
        Assert.InRange(harness.PeakConcurrency, 2, 3);
    }

    /// <summary>
    /// Across a network a HEAD is a round trip that moves nothing: small requests get their own limit per
    /// registry (RequestConcurrency), above -Proc, instead of queueing behind the blob transfers.
    /// </summary>
    [Fact]
    public async Task Small_requests_have_their_own_limit_per_registry_above_Proc()
    {
        var source = _registries.Anonymous;
        var http = new RegistryHttp(source);
        var image = ImageFactory.CreateImage(20_900, layerCount: 1, layerSize: 2 * 1024 * 1024);
        for (int i = 0; i < 24; i++) await http.PushImageAsync("small/req", image, $"t{i}");
        var counter = new SmallRequestCounter(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        var harness = new SyncHarness(_registries, _ => counter);
        var destination = $"{_registries.Basic.Host}/small/req-{Guid.NewGuid():N}";

        var summary = await harness.RunAsync(new SyncOptions { Concurrency = 1, RequestConcurrency = 6 },
            Enumerable.Range(0, 24).Select(i => ($"{source.Host}/small/req:t{i}", $"{destination}:t{i}")).ToArray());

        Assert.Equal(24, summary.Synced);
        Assert.Equal(2, summary.BlobsCopied); // the 2 MiB layer in the one transfer slot, and the config as a small blob
        Assert.InRange(counter.PeakAtOneHost, 2, 6); // parallel beyond -Proc 1, never above 6 at one registry
        Assert.True(counter.PeakOverall > counter.PeakAtOneHost, $"source and destination each have their own limit (peak {counter.PeakOverall} over both, {counter.PeakAtOneHost} at one)");
    }

    /// <summary>
    /// A small blob goes as a small request at both ends: its source GET takes a source slot as well as the
    /// destination's, so a source never sees more than RequestConcurrency requests at once (before, each
    /// destination slot holder's GET came on top of the planning HEADs at the source).
    /// </summary>
    [Fact]
    public async Task A_source_never_sees_more_small_requests_than_its_limit_small_blob_reads_included()
    {
        var source = _registries.Anonymous;
        var http = new RegistryHttp(source);
        for (int i = 0; i < 40; i++) await http.PushImageAsync("small/gets", ImageFactory.CreateImage(20_700 + i * 10, layerCount: 2, layerSize: 8 * 1024), $"t{i}");
        var counter = new SmallRequestCounter(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false },
            r => r.RequestUri!.Authority == source.Host && r.RequestUri.AbsolutePath.StartsWith("/v2/small/", StringComparison.Ordinal));
        var harness = new SyncHarness(_registries, _ => counter);
        var destination = $"{_registries.Basic.Host}/small/gets-{Guid.NewGuid():N}";

        var summary = await harness.RunAsync(new SyncOptions { Concurrency = 1, RequestConcurrency = 3 },
            Enumerable.Range(0, 40).Select(i => ($"{source.Host}/small/gets:t{i}", $"{destination}:t{i}")).ToArray());

        Assert.Equal(40, summary.Synced);
        Assert.Equal(120, summary.BlobsCopied); // 2 layers and a config each, all small
        Assert.InRange(counter.PeakAt(source.Host), 2, 3); // a slow source: its 40 ms requests are what the copy waits on
    }

    /// <summary>
    /// The upload session a blob's copy opened early (outside the transfer slot) is cancelled when the copy never
    /// used it: here the source refuses the layer, the image fails, and the destination keeps no upload behind.
    /// </summary>
    [Fact]
    public async Task An_upload_session_a_failed_copy_never_used_is_cancelled_at_the_end_of_the_run()
    {
        var source = _registries.Anonymous;
        var http = new RegistryHttp(source);
        var image = ImageFactory.CreateImage(20_800, layerCount: 1, layerSize: 16 * 1024);
        await http.PushImageAsync("abandon/src", image, "v1");
        var refuse = new RefuseBlobReads(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }, "/v2/abandon/src/blobs/");
        var harness = new SyncHarness(_registries, _ => refuse);
        var repository = $"abandon/dst-{Guid.NewGuid():N}";

        var summary = await harness.RunAsync(new SyncOptions { Retries = 0 }, ($"{source.Host}/abandon/src:v1", $"{_registries.Basic.Host}/{repository}:v1"));

        Assert.Equal(1, summary.Failed);
        Assert.True(refuse.Refused > 0);
        Assert.True(refuse.UploadsStarted > 0, "the copy opened upload sessions at the destination");
        Assert.Equal(refuse.UploadsStarted, refuse.UploadsCancelled);
        // distribution keeps an upload's data and start time until it is cancelled or purged; a cancel leaves only its hash state.
        var uploads = Path.Combine(_registries.Basic.StorageDirectory, "docker", "registry", "v2", "repositories", repository, "_uploads");
        var left = Directory.Exists(uploads) ? Directory.GetFiles(uploads, "*", SearchOption.AllDirectories).Where(f => !f.Contains("hashstates")).ToList() : new List<string>();
        Assert.True(left.Count == 0, $"uploads left at the destination: {string.Join(", ", left)}");
    }

    private sealed class RefuseBlobReads : DelegatingHandler
    {
        private readonly string _prefix;
        private int _refused, _started, _cancelled;
        public RefuseBlobReads(HttpMessageHandler inner, string prefix) : base(inner) => _prefix = prefix;
        public int Refused => Volatile.Read(ref _refused);
        public int UploadsStarted => Volatile.Read(ref _started);
        public int UploadsCancelled => Volatile.Read(ref _cancelled);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var path = request.RequestUri!.AbsolutePath;
            if (request.Method == HttpMethod.Get && path.StartsWith(_prefix, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _refused);
                return new HttpResponseMessage(HttpStatusCode.NotFound) { RequestMessage = request, Content = new StringContent("{\"errors\":[{\"code\":\"BLOB_UNKNOWN\"}]}") };
            }
            var response = await base.SendAsync(request, ct);
            if (path.Contains("/blobs/uploads/", StringComparison.Ordinal))
            {
                if (request.Method == HttpMethod.Post && response.StatusCode == HttpStatusCode.Accepted) Interlocked.Increment(ref _started);
                if (request.Method == HttpMethod.Delete && response.StatusCode == HttpStatusCode.NoContent) Interlocked.Increment(ref _cancelled);
            }
            return response;
        }
    }

    /// <summary>
    /// Planning and copying overlap: an image is copied as soon as its HEADs are in. Image b's source HEAD
    /// is held until image a's manifest has been pushed (up to 10 s); before, every image was planned
    /// before any was copied, so a's push could only come after b's HEAD.
    /// </summary>
    [Fact]
    public async Task An_image_is_copied_while_others_are_still_being_planned()
    {
        var source = _registries.Anonymous;
        var http = new RegistryHttp(source);
        await http.PushImageAsync("overlap/src", ImageFactory.CreateImage(20_950, layerCount: 1, layerSize: 4096), "a");
        await http.PushImageAsync("overlap/src", ImageFactory.CreateImage(20_951, layerCount: 1, layerSize: 4096), "b");
        var gate = new HoldHeadUntilPush(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        var harness = new SyncHarness(_registries, _ => gate);
        var destination = $"{_registries.Basic.Host}/overlap/dst-{Guid.NewGuid():N}";

        var summary = await harness.RunAsync(new SyncOptions(), ($"{source.Host}/overlap/src:a", $"{destination}:a"), ($"{source.Host}/overlap/src:b", $"{destination}:b"));

        Assert.Equal(2, summary.Synced);
        Assert.True(gate.PushedBeforeHeadEnded, "image a was pushed only after image b's HEAD: planning did not overlap copying");
    }

    private sealed class HoldHeadUntilPush : DelegatingHandler
    {
        private readonly TaskCompletionSource<bool> _pushed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public HoldHeadUntilPush(HttpMessageHandler inner) : base(inner) { }
        public bool PushedBeforeHeadEnded { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var path = request.RequestUri!.AbsolutePath;
            if (request.Method == HttpMethod.Head && path == "/v2/overlap/src/manifests/b")
                PushedBeforeHeadEnded = await Task.WhenAny(_pushed.Task, Task.Delay(TimeSpan.FromSeconds(10), ct)) == _pushed.Task;
            var response = await base.SendAsync(request, ct);
            if (request.Method == HttpMethod.Put && path.EndsWith("/manifests/a", StringComparison.Ordinal) && response.IsSuccessStatusCode) _pushed.TrySetResult(true);
            return response;
        }
    }

    [Fact]
    public async Task A_shared_layer_moves_once_per_repository_and_is_mounted_into_the_next()
    {
        var source = _registries.Anonymous;
        var http = new RegistryHttp(source);
        var shared = ImageFactory.CreateLayer(30_001, 300 * 1024);
        var images = Enumerable.Range(0, 3).Select(i => ImageFactory.CreateImage(30_100 + i * 100, layerCount: 1, sharedLayers: new[] { shared })).ToList();
        for (int i = 0; i < images.Count; i++) await http.PushImageAsync("shared/src", images[i], $"t{i}");

        var dst = _registries.Token.Host;
        var copies = Enumerable.Range(0, 3).SelectMany(i => new[]
        {
            ($"{source.Host}/shared/src:t{i}", $"{dst}/shared/one:t{i}"),
            ($"{source.Host}/shared/src:t{i}", $"{dst}/shared/two:t{i}"),
        }).ToArray();
        var harness = new SyncHarness(_registries);
        var summary = await harness.RunAsync(new SyncOptions { Concurrency = 4 }, copies);

        Assert.Equal(6, summary.Synced);
        var sharedResults = harness.Layers.Where(l => l.Digest == shared.Digest).ToList();
        Assert.Equal(2, sharedResults.Count); // once per destination repository, not once per image
        Assert.Single(sharedResults, l => l.Action == SyncAction.Copied);
        var mounted = Assert.Single(sharedResults, l => l.Action == SyncAction.Mounted);
        Assert.NotNull(mounted.MountedFrom);
        var escaped = Uri.EscapeDataString(shared.Digest);
        Assert.Equal(1, harness.Requests.Count(r => r.Method == "PUT" && r.Path.Contains("/blobs/uploads/") && r.Path.Contains(escaped) && r.Status == 201));
        var target = new RegistryHttp(_registries.Token);
        Assert.True(await target.BlobExistsAsync("shared/one", shared.Digest));
        Assert.True(await target.BlobExistsAsync("shared/two", shared.Digest));
    }

    [Fact]
    public async Task Within_one_registry_blobs_are_mounted_not_transferred()
    {
        var registry = _registries.Token;
        var image = ImageFactory.CreateImage(35_000, layerCount: 3);
        await new RegistryHttp(registry).PushImageAsync("mount/src", image, "v1");

        var harness = new SyncHarness(_registries);
        var summary = await harness.RunAsync(new SyncOptions(), ($"{registry.Host}/mount/src:v1", $"{registry.Host}/mount/dst:v1"));

        Assert.Equal(1, summary.Synced);
        Assert.Equal(4, summary.BlobsMounted); // config + 3 layers
        Assert.Equal(0, summary.BlobsCopied);
        Assert.Equal(0, harness.Count("GET", "/blobs/sha256:"));
        Assert.Equal(image.Digest, await new RegistryHttp(registry).GetManifestDigestAsync("mount/dst", "v1"));
    }

    [Fact]
    public async Task Without_a_filter_an_index_keeps_its_digest_and_with_arm64_only_arm64_arrives()
    {
        var source = _registries.Anonymous;
        var index = ImageFactory.CreateIndex(40_000, ImageFormat.Oci, includePlatformlessEntry: true,
            ("linux", "amd64", null), ("linux", "arm64", "v8"), ("windows", "amd64", null));
        await new RegistryHttp(source).PushIndexAsync("multi/app", index, "1.0");
        var dst = _registries.Basic;

        var all = new SyncHarness(_registries);
        await all.RunAsync(new SyncOptions(), ($"{source.Host}/multi/app:1.0", $"{dst.Host}/multi/all:1.0"));
        var target = new RegistryHttp(dst);
        Assert.Equal(index.Digest, await target.GetManifestDigestAsync("multi/all", "1.0"));

        var arm = new SyncHarness(_registries);
        var summary = await arm.RunAsync(new SyncOptions { Platforms = new PlatformFilter(null, new[] { "arm64" }) },
            ($"{source.Host}/multi/app:1.0", $"{dst.Host}/multi/arm:1.0"));
        Assert.Equal(1, summary.Synced);
        var pushed = await target.GetManifestAsync("multi/arm", "1.0");
        using var doc = JsonDocument.Parse(pushed!);
        var entries = doc.RootElement.GetProperty("manifests").EnumerateArray().ToList();
        var entry = Assert.Single(entries);
        Assert.Equal("arm64", entry.GetProperty("platform").GetProperty("architecture").GetString());
        var amd = index.Children.First(c => c.Architecture == "amd64" && c.Os == "linux");
        Assert.Null(await target.GetManifestDigestAsync("multi/arm", amd.Digest));
        Assert.False(await target.BlobExistsAsync("multi/arm", amd.Layers[0].Digest));
        await SyncHarness.AssertCompleteAsync(target, "multi/arm", "1.0");

        // A single-platform image that does not match is skipped, not pushed.
        await new RegistryHttp(source).PushImageAsync("multi/single", ImageFactory.CreateImage(40_500, arch: "amd64"), "v1");
        var skip = await new SyncHarness(_registries).RunAsync(new SyncOptions { Platforms = new PlatformFilter(null, new[] { "arm64" }) },
            ($"{source.Host}/multi/single:v1", $"{dst.Host}/multi/single:v1"));
        Assert.Equal(1, skip.Filtered);
        Assert.Null(await target.GetManifestDigestAsync("multi/single", "v1"));
    }

    [Fact]
    public async Task Rate_limits_server_errors_and_a_reset_mid_blob_are_survived()
    {
        var source = _registries.Anonymous;
        var image = ImageFactory.CreateImage(50_000, layerCount: 3, layerSize: 512 * 1024);
        await new RegistryHttp(source).PushImageAsync("faults/app", image, "v1");

        var faults = new FaultInjector(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        var harness = new SyncHarness(_registries, _ => faults);
        harness.Clients.Options.Retry.BaseDelay = TimeSpan.FromMilliseconds(20);
        var summary = await harness.RunAsync(new SyncOptions(), ($"{source.Host}/faults/app:v1", $"{_registries.Basic.Host}/faults/app:v1"));

        Assert.Equal(0, summary.Failed);
        Assert.Equal(1, summary.Synced);
        Assert.True(faults.RateLimited && faults.ServerErrored && faults.Reset, "every fault was injected");
        var target = new RegistryHttp(_registries.Basic);
        Assert.Equal(image.Digest, await target.GetManifestDigestAsync("faults/app", "v1"));
        await SyncHarness.AssertCompleteAsync(target, "faults/app", "v1");
    }

    [Fact]
    public async Task A_destination_that_stops_reading_is_abandoned_and_the_blob_retried()
    {
        var source = _registries.Anonymous;
        var image = ImageFactory.CreateImage(55_000, layerCount: 1, layerSize: 2 * 1024 * 1024);
        await new RegistryHttp(source).PushImageAsync("stall/app", image, "v1");

        var stalling = new StallFirstUpload(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        var harness = new SyncHarness(_registries, _ => stalling);
        harness.Clients.Options.BlobIdleTimeout = TimeSpan.FromSeconds(1);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        // Without the watchdog this would hang for ever: fail instead.
        var summary = await harness.RunAsync(new SyncOptions(), ($"{source.Host}/stall/app:v1", $"{_registries.Basic.Host}/stall/app:v1"))
            .WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, summary.Synced);
        Assert.True(stalling.Stalled, "the first upload was stalled");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), $"took {watch.Elapsed}");
        await SyncHarness.AssertCompleteAsync(new RegistryHttp(_registries.Basic), "stall/app", "v1");
    }

    /// <summary>The first big blob upload: the "server" reads a little of the body, then never reads again.</summary>
    private sealed class StallFirstUpload : DelegatingHandler
    {
        private int _stalled;
        public StallFirstUpload(HttpMessageHandler inner) : base(inner) { }
        public bool Stalled => _stalled > 0;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (request.Method == HttpMethod.Put && request.RequestUri!.AbsolutePath.Contains("/blobs/uploads/") &&
                request.Content?.Headers.ContentLength > 1024 * 1024 && Interlocked.Increment(ref _stalled) == 1)
            {
                var body = await request.Content.ReadAsStreamAsync(ct);
                _ = await body.ReadAsync(new byte[64 * 1024], ct); // some of the body, not all
                await Task.Delay(Timeout.Infinite, ct); // a peer that stopped reading
            }
            return await base.SendAsync(request, ct);
        }
    }

    [Fact]
    public async Task An_unreachable_source_fails_that_image_while_the_others_sync()
    {
        var source = _registries.Anonymous;
        await new RegistryHttp(source).PushImageAsync("partial/ok", ImageFactory.CreateImage(60_000), "v1");
        var closedPort = Ports.GetFreeLoopbackPort();
        var harness = new SyncHarness(_registries);
        harness.Clients.Options.Retry.BaseDelay = TimeSpan.FromMilliseconds(1);
        var summary = await harness.RunAsync(new SyncOptions { Retries = 1 },
            ($"127.0.0.1:{closedPort}/partial/gone:v1", $"{_registries.Basic.Host}/partial/gone:v1"),
            ($"{source.Host}/partial/ok:v1", $"{_registries.Basic.Host}/partial/ok:v1"));

        Assert.Equal(1, summary.Synced);
        Assert.Equal(1, summary.Failed);
        var failed = Assert.Single(harness.Images, m => m.Action == SyncAction.Failed);
        Assert.Equal("RegistryUnreachable", failed.ErrorId);
        Assert.Null(await new RegistryHttp(_registries.Basic).GetManifestDigestAsync("partial/gone", "v1"));
    }

    [Fact]
    public async Task Cancelling_mid_copy_stops_promptly_and_leaves_no_tag()
    {
        var source = _registries.Anonymous;
        await new RegistryHttp(source).PushImageAsync("cancel/app", ImageFactory.CreateImage(80_000, layerCount: 4, layerSize: 1024 * 1024), "v1");
        using var stop = new CancellationTokenSource();
        var observer = new CancelOnFirstBytes(stop);
        var harness = new SyncHarness(_registries);
        var engine = new SyncEngine(harness.Clients, new SyncOptions(), observer);
        var copy = new ImageCopy(OciSync.Core.References.ImageReference.Parse($"{source.Host}/cancel/app:v1"),
            OciSync.Core.References.ImageReference.Parse($"{_registries.Basic.Host}/cancel/app:v1"));

        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => engine.RunAsync(new[] { copy }, stop.Token));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"stopping took {watch.Elapsed}");
        Assert.Null(await new RegistryHttp(_registries.Basic).GetManifestDigestAsync("cancel/app", "v1"));
    }

    private sealed class CancelOnFirstBytes : ISyncObserver
    {
        private readonly CancellationTokenSource _stop;
        public CancelOnFirstBytes(CancellationTokenSource stop) => _stop = stop;
        public void OnLayer(LayerResult result) { }
        public void OnManifest(ManifestResult result) { }
        public void OnBytes(long count) => _stop.Cancel();
        public void OnImage(ImageResult result) { }
        public void OnProgress(SyncProgress progress) { }
    }

    /// <summary>Counts manifest HEADs in flight at the socket, per host and over all.</summary>
    /// <summary>Requests in flight per host, each held a 40 ms round trip: by default manifest HEADs, else those <c>counts</c> picks.</summary>
    private sealed class SmallRequestCounter : DelegatingHandler
    {
        private readonly Dictionary<string, int> _now = new();
        private readonly Func<HttpRequestMessage, bool> _counts;
        private int _overall;
        public SmallRequestCounter(HttpMessageHandler inner, Func<HttpRequestMessage, bool>? counts = null) : base(inner) =>
            _counts = counts ?? (r => r.Method == HttpMethod.Head && r.RequestUri!.AbsolutePath.Contains("/manifests/"));
        public int PeakAtOneHost { get; private set; }
        public int PeakOverall { get; private set; }
        public int PeakAt(string host) { lock (this) return _peaks.GetValueOrDefault(host); }
        private readonly Dictionary<string, int> _peaks = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (!_counts(request)) return await base.SendAsync(request, ct);
            var host = request.RequestUri!.Authority;
            lock (this)
            {
                _now[host] = _now.GetValueOrDefault(host) + 1;
                _overall++;
                PeakAtOneHost = Math.Max(PeakAtOneHost, _now[host]);
                _peaks[host] = Math.Max(_peaks.GetValueOrDefault(host), _now[host]);
                PeakOverall = Math.Max(PeakOverall, _overall);
            }
            try
            {
                await Task.Delay(40, ct); // a round trip: the window in which requests overlap
                return await base.SendAsync(request, ct);
            }
            finally
            {
                lock (this) { _now[host]--; _overall--; }
            }
        }
    }

    /// <summary>
    /// Counts blob streams in flight at the socket: a source GET from its request until its body has been
    /// read to the end (the upload that reads it has then sent its last byte; waiting for the destination's
    /// answer is not streaming, and the copier's slot is free again by then).
    /// </summary>
    private sealed class InFlightCounter : DelegatingHandler
    {
        private int _now, _peak;
        public InFlightCounter(HttpMessageHandler inner) : base(inner) { }
        public int PeakBlobTransfers => _peak;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (request.Method != HttpMethod.Get || !request.RequestUri!.AbsolutePath.Contains("/blobs/sha256:")) return await base.SendAsync(request, ct);
            var n = Interlocked.Increment(ref _now);
            lock (this) _peak = Math.Max(_peak, n);
            var ended = 0;
            void End() { if (Interlocked.Exchange(ref ended, 1) == 0) Interlocked.Decrement(ref _now); }
            try
            {
                await Task.Delay(30, ct); // widen the window so overlap is visible
                var response = await base.SendAsync(request, ct);
                if (response.Content == null) { End(); return response; }
                var body = new EndSignallingStream(await response.Content.ReadAsStreamAsync(ct), End);
                var content = new StreamContent(body);
                foreach (var header in response.Content.Headers) content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                response.Content = content;
                return response;
            }
            catch
            {
                End();
                throw;
            }
        }
    }

    /// <summary>Tells once when its stream is read to the end or disposed.</summary>
    private sealed class EndSignallingStream : System.IO.Stream
    {
        private readonly System.IO.Stream _inner;
        private readonly Action _end;
        public EndSignallingStream(System.IO.Stream inner, Action end) { _inner = inner; _end = end; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, System.IO.SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override int Read(byte[] buffer, int offset, int count) { var n = _inner.Read(buffer, offset, count); if (n == 0) _end(); return n; }
        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) { var n = await _inner.ReadAsync(buffer.AsMemory(offset, count), ct); if (n == 0) _end(); return n; }
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default) { var n = await _inner.ReadAsync(buffer, ct); if (n == 0) _end(); return n; }
        protected override void Dispose(bool disposing) { if (disposing) { _end(); _inner.Dispose(); } base.Dispose(disposing); }
    }

    /// <summary>Real registry traffic with faults: one 429 with Retry-After, one 503, one blob GET cut off mid-stream.</summary>
    private sealed class FaultInjector : DelegatingHandler
    {
        private int _rateLimited, _serverErrored, _reset;
        public FaultInjector(HttpMessageHandler inner) : base(inner) { }
        public bool RateLimited => _rateLimited > 0;
        public bool ServerErrored => _serverErrored > 0;
        public bool Reset => _reset > 0;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            var path = request.RequestUri!.AbsolutePath;
            if (request.Method == HttpMethod.Head && path.Contains("/manifests/") && Interlocked.Increment(ref _rateLimited) == 1)
                return new HttpResponseMessage((HttpStatusCode)429) { RequestMessage = request, Headers = { RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(1)) } };
            if (request.Method == HttpMethod.Put && path.Contains("/manifests/") && Interlocked.Increment(ref _serverErrored) == 1)
                return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable) { RequestMessage = request };
            var response = await base.SendAsync(request, ct);
            if (request.Method == HttpMethod.Get && path.Contains("/blobs/sha256:") && response.IsSuccessStatusCode &&
                response.Content.Headers.ContentLength > 100_000 && Interlocked.Increment(ref _reset) == 1)
            {
                var inner = await response.Content.ReadAsStreamAsync(ct);
                var cut = new StreamContent(new ResettingStream(inner, 50_000));
                foreach (var h in response.Content.Headers) cut.Headers.TryAddWithoutValidation(h.Key, h.Value);
                response.Content = cut;
            }
            return response;
        }
    }

    /// <summary>Serves some bytes, then fails like a connection reset.</summary>
    private sealed class ResettingStream : Stream
    {
        private readonly Stream _inner;
        private long _left;
        public ResettingStream(Stream inner, long bytes) { _inner = inner; _left = bytes; }
        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_left <= 0) throw new IOException("Connection reset by peer (injected).");
            var n = _inner.Read(buffer, offset, (int)Math.Min(count, _left));
            _left -= n;
            return n;
        }
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken ct = default)
        {
            if (_left <= 0) throw new IOException("Connection reset by peer (injected).");
            var n = await _inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _left)], ct);
            _left -= n;
            return n;
        }
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) => ReadAsync(buffer.AsMemory(offset, count), ct).AsTask();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) { if (disposing) _inner.Dispose(); base.Dispose(disposing); }
    }
}
