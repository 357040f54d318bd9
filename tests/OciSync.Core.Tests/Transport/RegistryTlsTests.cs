using System;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using OciSync.Core.Transport;
using Xunit;

namespace OciSync.Core.Tests.Transport;

/// <summary>What a registry's own CA bundle may excuse: an unknown root reached through the bundle, nothing else.</summary>
public sealed class RegistryTlsTests
{
    private static X509Certificate2 Ca(string name, X509Certificate2? issuer = null, RSA? issuerKey = null)
    {
        var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        var from = DateTimeOffset.UtcNow.AddMinutes(-10);
        var cert = issuer == null ? request.CreateSelfSigned(from, from.AddDays(2)) : request.Create(issuer, from, from.AddDays(1), Guid.NewGuid().ToByteArray()[..8]);
        return issuer == null ? cert : cert.CopyWithPrivateKey(key);
    }

    private static X509Certificate2 Leaf(X509Certificate2 issuer, string usage)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid(usage) }, false));
        var from = DateTimeOffset.UtcNow.AddMinutes(-5);
        return request.Create(issuer, from, from.AddHours(12), Guid.NewGuid().ToByteArray()[..8]);
    }

    private const string ServerAuth = "1.3.6.1.5.5.7.3.1", ClientAuth = "1.3.6.1.5.5.7.3.2";

    [Fact]
    public void A_leaf_of_the_bundles_CA_passes_for_a_server_but_not_one_the_CA_issued_for_clients()
    {
        using var root = Ca("Root");
        var bundle = new X509Certificate2Collection(root);

        Assert.True(RegistryTls.Accepts(Leaf(root, ServerAuth), null, SslPolicyErrors.RemoteCertificateChainErrors, bundle));
        Assert.False(RegistryTls.Accepts(Leaf(root, ClientAuth), null, SslPolicyErrors.RemoteCertificateChainErrors, bundle));
        Assert.False(RegistryTls.Accepts(Leaf(root, ServerAuth), null, SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors, bundle));
        using var other = Ca("Other");
        Assert.False(RegistryTls.Accepts(Leaf(other, ServerAuth), null, SslPolicyErrors.RemoteCertificateChainErrors, bundle));
    }

    [Fact]
    public void An_intermediate_the_server_sent_links_its_leaf_to_a_bundle_that_holds_only_the_root()
    {
        using var root = Ca("Root");
        using var intermediate = Ca("Intermediate", root);
        var leaf = Leaf(intermediate, ServerAuth);
        var bundle = new X509Certificate2Collection(root);
        using var presented = new X509Chain();
        presented.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        presented.ChainPolicy.ExtraStore.Add(intermediate);
        presented.Build(leaf); // as the handshake builds it: the root unknown to the platform, the intermediate from the server

        Assert.False(RegistryTls.Accepts(leaf, null, SslPolicyErrors.RemoteCertificateChainErrors, bundle));
        Assert.True(RegistryTls.Accepts(leaf, presented, SslPolicyErrors.RemoteCertificateChainErrors, bundle));
    }
}
