using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Registry;
using OciSync.Core.Transport;
using Xunit;

namespace OciSync.Core.Tests.Transport;

/// <summary>The registry throttle's accounting: wakes, and what counts against an attempt's response deadline.</summary>
public sealed class RegistryThrottleTests
{
    [Fact]
    public async Task A_cancelled_waiter_does_not_use_up_the_wake_of_the_one_behind_it()
    {
        var throttle = new RegistryThrottle("reg.example", new RegistryLimits(maxConcurrency: 1), NullOciLog.Instance);
        var held = await throttle.EnterAsync(isPull: false, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = throttle.EnterAsync(isPull: false, cancel.Token);
        var next = throttle.EnterAsync(isPull: false, CancellationToken.None);

        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        held.Dispose();

        using var turn = await next.WaitAsync(TimeSpan.FromSeconds(5)); // before the fix: never woken
    }

    [Fact]
    public async Task Time_waiting_for_the_registrys_turn_is_not_counted_as_no_answer()
    {
        // One request at a time, each answered after 400 ms, and 600 ms to answer: the third request waits 800 ms
        // for its turn, then is answered in 400 ms. Counted from the start, that would be a timeout at 600 ms.
        const string host = "slow.example.test";
        var handler = new SlowHandler(TimeSpan.FromMilliseconds(400));
        var store = new CredentialStore(new[] { new RegistryCredential(host, null, null, limits: new RegistryLimits(maxConcurrency: 1)) });
        var factory = new RegistryClientFactory(new RegistryClientOptions
        {
            SocketHandlerFactory = _ => handler,
            Retry = new RetryPolicy { MaxAttempts = 0, ResponseTimeout = TimeSpan.FromMilliseconds(600) },
        }, store);
        var client = factory.Get(host, "team/app");
        await client.HeadManifestAsync("team/app", "warm-up", CancellationToken.None); // the ping, out of the way

        var heads = await Task.WhenAll(Enumerable.Range(0, 3).Select(i => Task.Run(() => client.HeadManifestAsync("team/app", $"v{i}", CancellationToken.None))));

        Assert.All(heads, h => Assert.NotNull(h));
        Assert.Equal(1, handler.Peak); // one at a time: the limit held, so the later ones did wait for their turn
    }

    /// <summary>Answers every manifest HEAD after a delay (asynchronously: requests overlap), and counts them in flight.</summary>
    private sealed class SlowHandler : HttpMessageHandler
    {
        private readonly TimeSpan _delay;
        private int _now;
        public SlowHandler(TimeSpan delay) => _delay = delay;
        public int Peak { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            if (request.RequestUri!.AbsolutePath == "/v2/") return new HttpResponseMessage(HttpStatusCode.OK) { RequestMessage = request };
            lock (this) Peak = Math.Max(Peak, ++_now);
            try { await Task.Delay(_delay, ct); }
            finally { lock (this) _now--; }
            var r = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Array.Empty<byte>()), RequestMessage = request };
            r.Headers.Add("Docker-Content-Digest", "sha256:" + new string('a', 64));
            return r;
        }
    }
}
