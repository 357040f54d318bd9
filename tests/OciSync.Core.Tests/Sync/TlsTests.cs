using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.References;
using OciSync.Core.Registry;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>A real registry serving HTTPS with a self-signed certificate: refused unless marked insecure.</summary>
public sealed class TlsTests : IAsyncLifetime
{
    private RegistryServer? _tls;
    private TestImage? _image;

    public async Task InitializeAsync()
    {
        _tls = await RegistryServer.StartAsync(RegistryAuthKind.Anonymous, tls: true);
        _image = ImageFactory.CreateImage(95_000);
        await new RegistryHttp(_tls).PushImageAsync("tls/app", _image, "v1");
    }

    public async Task DisposeAsync()
    {
        if (_tls != null) await _tls.DisposeAsync();
    }

    [Fact]
    public async Task An_untrusted_certificate_is_refused_without_falling_back_to_plain_http()
    {
        var clients = new RegistryClientFactory(new RegistryClientOptions());
        var e = await Assert.ThrowsAsync<RegistryException>(() => clients.Get(_tls!.Host, "tls/app").HeadManifestAsync("tls/app", "v1", CancellationToken.None));
        Assert.Equal(ErrorIds.RegistryCertificateUntrusted, e.ErrorId);
        Assert.Contains("insecure", e.Message);
        Assert.StartsWith("https://", e.Url);
    }

    [Fact]
    public async Task Marked_insecure_it_syncs()
    {
        var store = new CredentialStore();
        store.Add(new RegistryCredential(_tls!.Host, null, null, insecure: true));
        var clients = new RegistryClientFactory(new RegistryClientOptions(), store);
        var copy = new ImageCopy(ImageReference.Parse($"{_tls.Host}/tls/app:v1"), ImageReference.Parse($"{_tls.Host}/tls/copy:v1"));
        var summary = await new SyncEngine(clients, new SyncOptions(), new NullObserver()).RunAsync(new[] { copy }, CancellationToken.None);
        Assert.Equal(1, summary.Synced);
        Assert.Equal(_image!.Digest, await new RegistryHttp(_tls).GetManifestDigestAsync("tls/copy", "v1"));
    }
}
