using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Registry;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>
/// Registries behind a private CA made by the test, one of them asking for client certificates (mutual TLS):
/// trusted through that registry's own caFile only, never the process's trust, and refused without it.
/// </summary>
public sealed class PrivateCaTests : IAsyncLifetime
{
    private readonly TestCertificateAuthority _ca = new();
    private readonly TestCertificateAuthority _otherCa = new("Another CA");
    private RegistryServer? _registry;
    private RegistryServer? _mutual;
    private TestImage? _image;

    public async Task InitializeAsync()
    {
        _registry = await RegistryServer.StartAsync(RegistryAuthKind.Anonymous, _ca);
        _mutual = await RegistryServer.StartAsync(RegistryAuthKind.Anonymous, _ca, requireClientCertificate: true);
        _image = ImageFactory.CreateImage(96_000, layerCount: 2, layerSize: 64 * 1024);
        await new RegistryHttp(_registry).PushImageAsync("ca/app", _image, "v1");
    }

    public async Task DisposeAsync()
    {
        if (_registry != null) await _registry.DisposeAsync();
        if (_mutual != null) await _mutual.DisposeAsync();
        _ca.Dispose();
        _otherCa.Dispose();
    }

    private static RegistryClientFactory Clients(params RegistryCredential[] entries) => new(new RegistryClientOptions(), new CredentialStore(entries));

    private static Task<SyncSummary> SyncAsync(RegistryClientFactory clients, string source, string destination) =>
        new SyncEngine(clients, new SyncOptions { Retries = 0 }, new NullObserver())
            .RunAsync(new[] { new ImageCopy(ImageReference.Parse(source), ImageReference.Parse(destination)) }, CancellationToken.None);

    [Fact]
    public async Task Without_its_caFile_the_registry_is_refused_and_with_it_a_sync_goes_through_both_ways()
    {
        var e = await Assert.ThrowsAsync<RegistryException>(() => Clients().Get(_registry!.Host, "ca/app").HeadManifestAsync("ca/app", "v1", CancellationToken.None));
        Assert.Equal(ErrorIds.RegistryCertificateUntrusted, e.ErrorId);

        var trusted = new RegistryCredential(_registry!.Host, null, null, tls: new RegistryTls(_ca.CaFile));
        var summary = await SyncAsync(Clients(trusted), $"{_registry.Host}/ca/app:v1", $"{_registry.Host}/ca/copy:v1");
        Assert.Equal(1, summary.Synced);
        Assert.Equal(_image!.Digest, await new RegistryHttp(_registry).GetManifestDigestAsync("ca/copy", "v1"));

        // The trust went to that registry's own connections: a client without the caFile is still refused.
        var again = await Assert.ThrowsAsync<RegistryException>(() => Clients().Get(_registry.Host, "ca/app").HeadManifestAsync("ca/app", "v1", CancellationToken.None));
        Assert.Equal(ErrorIds.RegistryCertificateUntrusted, again.ErrorId);
    }

    [Fact]
    public async Task An_https_registry_is_reached_through_a_proxy_tunnel_with_its_certificate_still_checked()
    {
        await using var proxy = new ForwardProxy();
        var options = new RegistryClientOptions { Proxy = ProxySettings.ForAll(proxy.Uri, _ => null) };
        var trusted = new RegistryCredential(_registry!.Host, null, null, tls: new RegistryTls(_ca.CaFile));
        var clients = new RegistryClientFactory(options, new CredentialStore(new[] { trusted }));

        var summary = await new SyncEngine(clients, new SyncOptions { Retries = 0 }, new NullObserver())
            .RunAsync(new[] { new ImageCopy(ImageReference.Parse($"{_registry.Host}/ca/app:v1"), ImageReference.Parse($"{_registry.Host}/ca/tunnelled:v1")) }, System.Threading.CancellationToken.None);

        Assert.Equal(1, summary.Synced);
        Assert.True(proxy.Tunnels > 0);
        Assert.Equal(0, proxy.Relayed); // nothing in clear text
        var untrusted = new RegistryClientFactory(new RegistryClientOptions { Proxy = ProxySettings.ForAll(proxy.Uri, _ => null) });
        var e = await Assert.ThrowsAsync<RegistryException>(() => untrusted.Get(_registry.Host, "ca/app").HeadManifestAsync("ca/app", "v1", System.Threading.CancellationToken.None));
        Assert.Equal(ErrorIds.RegistryCertificateUntrusted, e.ErrorId);
    }

    [Fact]
    public async Task Another_CA_does_not_vouch_for_it()
    {
        var wrong = new RegistryCredential(_registry!.Host, null, null, tls: new RegistryTls(_otherCa.CaFile));
        var e = await Assert.ThrowsAsync<RegistryException>(() => Clients(wrong).Get(_registry.Host, "ca/app").HeadManifestAsync("ca/app", "v1", CancellationToken.None));
        Assert.Equal(ErrorIds.RegistryCertificateUntrusted, e.ErrorId);
    }

    [Fact]
    public async Task A_registry_asking_for_client_certificates_takes_ours_and_refuses_a_client_without_one()
    {
        var (cert, key) = _ca.IssueClient();
        var withoutCertificate = new RegistryCredential(_mutual!.Host, null, null, tls: new RegistryTls(_ca.CaFile));
        var refused = await SyncAsync(Clients(withoutCertificate), $"{_registry!.Host}/ca/app:v1", $"{_mutual.Host}/ca/app:v1");
        Assert.Equal(1, refused.Failed);

        var both = new[]
        {
            new RegistryCredential(_registry.Host, null, null, tls: new RegistryTls(_ca.CaFile)),
            new RegistryCredential(_mutual.Host, null, null, tls: new RegistryTls(_ca.CaFile, cert, key)),
        };
        var summary = await SyncAsync(Clients(both), $"{_registry.Host}/ca/app:v1", $"{_mutual.Host}/ca/app:v1");
        Assert.Equal(1, summary.Synced);
    }

    [Fact]
    public async Task The_auth_file_gives_caFile_certFile_and_keyFile_relative_to_itself()
    {
        var (cert, key) = _ca.IssueClient("from-file");
        var dir = Directory.CreateTempSubdirectory("ocisync-authfile-").FullName;
        try
        {
            foreach (var f in new[] { _ca.CaFile, cert, key }) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            var path = Path.Combine(dir, "auth.yaml");
            File.WriteAllText(path, $"{_registry!.Host}:\n  caFile: ca.pem\n{_mutual!.Host}:\n  caFile: ./ca.pem\n  certFile: from-file.pem\n  keyFile: from-file.key\n");

            var auth = AuthFile.Load(path);

            Assert.Empty(auth.Errors);
            Assert.Equal(Path.Combine(dir, "ca.pem"), auth.Credentials[0].Tls!.CaFile);
            var summary = await SyncAsync(new RegistryClientFactory(new RegistryClientOptions(), new CredentialStore(auth.Credentials)),
                $"{_registry.Host}/ca/app:v1", $"{_mutual.Host}/ca/from-file:v1");
            Assert.Equal(1, summary.Synced);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public async Task A_caFile_that_is_no_certificate_is_a_RegistryTlsInvalid_error_naming_it()
    {
        var bad = Path.Combine(_ca.Directory, "not-a-ca.pem");
        File.WriteAllText(bad, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        var entry = new RegistryCredential(_registry!.Host, null, null, tls: new RegistryTls(bad));

        var e = await Assert.ThrowsAsync<RegistryException>(() => Clients(entry).Get(_registry.Host, "ca/app").HeadManifestAsync("ca/app", "v1", CancellationToken.None));

        Assert.Equal(ErrorIds.RegistryTlsInvalid, e.ErrorId);
        Assert.Contains(bad, e.Message);
    }

    [Fact]
    public void Auth_file_TLS_keys_that_cannot_be_used_drop_the_entry_with_an_error_naming_the_line()
    {
        var result = AuthFile.Parse("reg.example:\n  caFile: /nonexistent/ca.pem\nother.example:\n  keyFile: " + _ca.CaFile + "\n", "auth.yaml");

        Assert.Empty(result.Credentials);
        Assert.Equal(2, result.Errors.Count);
        Assert.Contains("does not exist", result.Errors[0].Message);
        Assert.Equal(2, result.Errors[0].Line);
        Assert.Contains("keyFile without its certFile", result.Errors[1].Message);
    }
}
