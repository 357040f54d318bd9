using System;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Registry;
using OciSync.Core.Transport;
using Xunit;

namespace OciSync.Core.Tests.Transport;

/// <summary>A registry that takes the connection and never answers (a hung server, a black-holing proxy).</summary>
public sealed class UnresponsiveRegistryTests
{
    [Fact]
    public async Task A_registry_that_never_answers_is_given_up_after_the_ping_timeout()
    {
        // Listening but never accepting: the kernel completes the handshake, nobody reads or writes.
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            var host = $"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
            var factory = new RegistryClientFactory(new RegistryClientOptions
            {
                PingTimeout = TimeSpan.FromMilliseconds(300),
                Retry = new RetryPolicy { MaxAttempts = 1, BaseDelay = TimeSpan.FromMilliseconds(1) },
            });

            // Guarded so that a hang fails the test instead of stalling the run.
            var call = factory.Get(host, "silent/app").HeadManifestAsync("silent/app", "v1", CancellationToken.None);
            var e = await Assert.ThrowsAsync<RegistryException>(() => call.WaitAsync(TimeSpan.FromSeconds(30)));

            Assert.Equal(ErrorIds.RegistryUnreachable, e.ErrorId);
        }
        finally
        {
            listener.Stop();
        }
    }

    [Fact]
    public void The_ping_timeout_never_lengthens_the_response_timeout()
    {
        var policy = new RetryPolicy { ResponseTimeout = TimeSpan.FromSeconds(10) };
        Assert.Equal(TimeSpan.FromSeconds(10), policy.WithResponseTimeout(TimeSpan.FromSeconds(30)).ResponseTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), policy.WithResponseTimeout(TimeSpan.FromSeconds(2)).ResponseTimeout);
        Assert.Equal(policy.MaxAttempts, policy.WithResponseTimeout(TimeSpan.FromSeconds(2)).MaxAttempts);
    }
}
