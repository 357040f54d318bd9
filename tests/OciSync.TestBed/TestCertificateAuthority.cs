using System;
using System.IO;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OciSync.TestBed;

/// <summary>
/// A throw-away certificate authority for TLS tests: it issues a registry's server certificate (for 127.0.0.1)
/// and client certificates for mutual TLS, and writes everything as PEM files into a directory of its own.
/// </summary>
public sealed class TestCertificateAuthority : IDisposable
{
    private readonly RSA _key = RSA.Create(2048);
    private readonly X509Certificate2 _certificate;
    private int _serial;

    public TestCertificateAuthority(string name = "OciSync Test CA")
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("ocisync-ca-").FullName;
        var request = new CertificateRequest($"CN={name}", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddDays(2));
        CaFile = Path.Combine(Directory, "ca.pem");
        File.WriteAllText(CaFile, _certificate.ExportCertificatePem());
    }

    /// <summary>Where the files are.</summary>
    public string Directory { get; }
    /// <summary>The CA certificate (PEM): what a client is given as its caFile.</summary>
    public string CaFile { get; }

    /// <summary>A server certificate for 127.0.0.1 (and localhost): (certificate PEM file, key PEM file).</summary>
    public (string CertFile, string KeyFile) IssueServer(string name = "server") =>
        Issue(name, "CN=127.0.0.1", new OidCollection { new Oid("1.3.6.1.5.5.7.3.1") }, server: true);

    /// <summary>A client certificate for mutual TLS: (certificate PEM file, key PEM file).</summary>
    public (string CertFile, string KeyFile) IssueClient(string name = "client") =>
        Issue(name, $"CN=ocisync-{name}", new OidCollection { new Oid("1.3.6.1.5.5.7.3.2") }, server: false);

    private (string, string) Issue(string name, string subject, OidCollection usages, bool server)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        if (server)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
        }
        var serial = BitConverter.GetBytes(System.Threading.Interlocked.Increment(ref _serial) + 1000L);
        using var issued = request.Create(_certificate, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), serial);
        string certFile = Path.Combine(Directory, name + ".pem"), keyFile = Path.Combine(Directory, name + ".key");
        File.WriteAllText(certFile, issued.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return (certFile, keyFile);
    }

    public void Dispose()
    {
        _certificate.Dispose();
        _key.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
