using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Threading.Tasks;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>
/// HTTP proxies read from the environment the same way on every runtime, and a real (scripted) forward proxy in
/// front of the registries: plain-HTTP registries relayed, and never with credentials in clear text.
/// </summary>
[Collection("registries")]
public sealed class ProxyTests
{
    private readonly RegistryFixture _registries;
    public ProxyTests(RegistryFixture registries) => _registries = registries;

    private static Func<string, string?> Env(params (string Name, string Value)[] vars) => name => vars.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void The_environment_names_a_proxy_per_scheme_in_either_case_and_NO_PROXY_sends_hosts_direct()
    {
        var proxy = ProxySettings.FromEnvironment(Env(("https_proxy", "http://proxy.corp:3128"), ("HTTP_PROXY", "plain.corp:8080"),
            ("NO_PROXY", "localhost, .internal.example,reg.example:5000,127.0.0.1")))!;

        Assert.Equal(new Uri("http://proxy.corp:3128"), proxy.ProxyFor(new Uri("https://quay.io/v2/")));
        Assert.Equal(new Uri("http://plain.corp:8080"), proxy.ProxyFor(new Uri("http://mirror.example/v2/")));
        Assert.Null(proxy.ProxyFor(new Uri("https://a.b.internal.example/v2/")));
        Assert.Null(proxy.ProxyFor(new Uri("https://internal.example/v2/")));
        Assert.Null(proxy.ProxyFor(new Uri("http://reg.example:5000/v2/")));
        Assert.NotNull(proxy.ProxyFor(new Uri("http://reg.example:5001/v2/")));
        Assert.Null(proxy.ProxyFor(new Uri("http://127.0.0.1:5000/v2/")));
        Assert.True(proxy.IsBypassed(new Uri("http://localhost:1/")));
        Assert.Null(ProxySettings.FromEnvironment(Env()));
        Assert.Equal(new Uri("http://all.corp:1"), ProxySettings.FromEnvironment(Env(("ALL_PROXY", "http://all.corp:1")))!.ProxyFor(new Uri("https://x.example/")));
        Assert.Null(ProxySettings.FromEnvironment(Env(("HTTPS_PROXY", "http://p:1"), ("NO_PROXY", "*")))!.ProxyFor(new Uri("https://x.example/")));
    }

    [Fact]
    public void Proxy_credentials_go_only_to_an_https_proxy_and_are_never_shown()
    {
        var e = Assert.Throws<RegistryException>(() => ProxySettings.FromEnvironment(Env(("HTTPS_PROXY", "http://me:pr0xy-s3cret@proxy.corp:3128"))));
        Assert.Equal(ErrorIds.InsecureProxy, e.ErrorId);
        Assert.Contains("clear text", e.Message);
        Assert.DoesNotContain("pr0xy-s3cret", e.ToString());

        var tls = ProxySettings.FromEnvironment(Env(("HTTPS_PROXY", "https://me:pr0xy-s3cret@proxy.corp:3129")))!;
        Assert.Equal("pr0xy-s3cret", ((NetworkCredential)tls.Credentials!).Password);
        Assert.DoesNotContain("pr0xy-s3cret", tls.ToString());
        Assert.Equal("https://proxy.corp:3129", ProxySettings.Redacted(tls.HttpsProxy));
    }

    [Fact]
    public async Task A_plain_HTTP_registry_is_reached_through_the_proxy_and_one_needing_credentials_is_refused_rather_than_exposed()
    {
        await using var proxy = new ForwardProxy();
        var source = _registries.Anonymous;
        await new RegistryHttp(source).PushImageAsync("proxy/src", ImageFactory.CreateImage(85_000, layerCount: 1, layerSize: 4096), "v1");
        // Everything through the proxy except the Basic registry; the token registry's token server is on plain HTTP too.
        var settings = ProxySettings.ForAll(proxy.Uri, Env(("NO_PROXY", _registries.Basic.Host)));
        var harness = new SyncHarness(_registries, configure: o => o.Proxy = settings);
        var id = Guid.NewGuid().ToString("N");

        var summary = await harness.RunAsync(new SyncOptions { Retries = 0 },
            ($"{source.Host}/proxy/src:v1", $"{_registries.Basic.Host}/proxy/{id}:v1"),
            ($"{source.Host}/proxy/src:v1", $"{_registries.Token.Host}/proxy/{id}:v1"));

        // The anonymous source through the proxy, into the Basic registry directly.
        Assert.True(summary.Synced == 1, string.Join(" | ", harness.Images.Select(i => $"{i.Destination} {i.Action} {i.ErrorId} {i.Error}")));
        var refused = Assert.Single(harness.Images, i => i.Action == SyncAction.Failed);
        Assert.Equal(ErrorIds.InsecureProxy, refused.ErrorId); // the token server would have got the password across the proxy
        Assert.Contains("clear text", refused.Error);
        Assert.True(proxy.Relayed > 0, "the plain-HTTP registries were reached through the proxy");
        Assert.Contains(proxy.Seen, line => line.Contains($"http://{source.Host}/v2/", StringComparison.Ordinal));
        Assert.Equal(0, proxy.ClearAuthorization);
    }
}
