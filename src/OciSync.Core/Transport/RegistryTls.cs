using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Security;
using System.Reflection;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace OciSync.Core.Transport
{
    /// <summary>
    /// TLS settings of one registry, on top of the platform's: a CA bundle it may also be trusted by (a private CA,
    /// without touching the process-wide trust), and a client certificate for mutual TLS. Files are read when a
    /// connection pool for them is first made; a file that cannot be used is an error naming it (and never its key).
    /// </summary>
    public sealed class RegistryTls
    {
        /// <param name="caFile">PEM (one or more certificates) or DER; the registry's chain may end at any of them.</param>
        /// <param name="certFile">The client certificate: PEM with <paramref name="keyFile"/>, or a PKCS#12 file (.pfx, .p12) holding its key.</param>
        /// <param name="keyFile">The client certificate's private key (PEM, PKCS#8 or RSA/EC); with a PEM <paramref name="certFile"/> only.</param>
        public RegistryTls(string? caFile = null, string? certFile = null, string? keyFile = null)
        {
            if (keyFile != null && certFile == null) throw new ArgumentException("A key file needs its certificate file (certFile).", nameof(keyFile));
            CaFile = Blank(caFile);
            CertFile = Blank(certFile);
            KeyFile = Blank(keyFile);
        }

        /// <summary>The extra CA bundle, or null.</summary>
        public string? CaFile { get; }
        /// <summary>The client certificate file, or null.</summary>
        public string? CertFile { get; }
        /// <summary>The client key file, or null.</summary>
        public string? KeyFile { get; }

        /// <summary>True when nothing is set: the platform's defaults.</summary>
        public bool IsDefault => CaFile == null && CertFile == null;

        internal string PoolKey => CaFile + "|" + CertFile + "|" + KeyFile;

        /// <summary>The CA files' certificates.</summary>
        internal X509Certificate2Collection LoadBundle()
        {
            var bundle = new X509Certificate2Collection();
            if (CaFile == null) return bundle;
            try
            {
                var bytes = File.ReadAllBytes(CaFile);
                var pem = PemBlocks(Encoding.ASCII.GetString(bytes), "CERTIFICATE").ToList();
                if (pem.Count == 0) bundle.Add(new X509Certificate2(bytes));
                foreach (var der in pem) bundle.Add(new X509Certificate2(der));
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is System.Security.Cryptography.CryptographicException || e is FormatException)
            {
                throw Invalid($"The CA file {CaFile} cannot be used ({e.GetType().Name}: {OneLine(e)}).", e);
            }
            if (bundle.Count == 0) throw Invalid($"The CA file {CaFile} holds no certificate.");
            return bundle;
        }

        /// <summary>The client certificate with its key, or null when none is set.</summary>
        internal X509Certificate2? LoadClientCertificate()
        {
            if (CertFile == null) return null;
            try
            {
                X509Certificate2 loaded;
                if (KeyFile == null)
                {
                    loaded = new X509Certificate2(CertFile, (string?)null, X509KeyStorageFlags.Exportable);
                }
                else
                {
                    // PEM with a separate key needs .NET 5 or later (PowerShell 7); Windows PowerShell takes a .pfx.
                    var fromPem = typeof(X509Certificate2).GetMethod("CreateFromPemFile", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(string), typeof(string) }, null)
                        ?? throw Invalid($"A PEM client certificate with a separate key file needs PowerShell 7; give {CertFile} as a .pfx holding its key instead.");
                    try { loaded = (X509Certificate2)fromPem.Invoke(null, new object[] { CertFile, KeyFile })!; }
                    catch (TargetInvocationException t) when (t.InnerException != null) { throw t.InnerException; }
                }
                if (!loaded.HasPrivateKey) throw Invalid($"The client certificate {CertFile} comes without its private key.");
                // A key made in memory cannot be used by the TLS layer on every platform: round-trip it through PKCS#12.
                using (loaded) return new X509Certificate2(loaded.Export(X509ContentType.Pkcs12));
            }
            catch (RegistryException) { throw; }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is System.Security.Cryptography.CryptographicException || e is ArgumentException || e is FormatException)
            {
                // The message names the files only: a key's bytes never reach it.
                throw Invalid($"The client certificate {CertFile}{(KeyFile != null ? " with key " + KeyFile : "")} cannot be used ({e.GetType().Name}).", e);
            }
        }

        /// <summary>
        /// The platform's verdict, or else the bundle's: a chain the platform does not trust is accepted when it ends
        /// at one of the bundle's certificates and has nothing else wrong (the name matches, every date is valid).
        /// </summary>
        /// <param name="presented">The chain the handshake built, whose intermediates the server sent (a bundle may hold only the root).</param>
        internal static bool Accepts(X509Certificate2? certificate, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection bundle)
        {
            if (errors == SslPolicyErrors.None) return true;
            if (certificate == null || bundle.Count == 0 || errors != SslPolicyErrors.RemoteCertificateChainErrors) return false;
            using var chain = new X509Chain();
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
            // A server certificate: one the private CA issued for clients does not pass for a registry.
            chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1"));
            chain.ChainPolicy.ExtraStore.AddRange(bundle);
            if (presented != null)
                foreach (var element in presented.ChainElements) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            if (!chain.Build(certificate)) return false;
            // Only an unknown root may be excused, and only when the chain reaches a certificate of the bundle.
            if (chain.ChainElements.Cast<X509ChainElement>().Any(e => e.ChainElementStatus.Any(s => s.Status != X509ChainStatusFlags.NoError && s.Status != X509ChainStatusFlags.UntrustedRoot)))
                return false;
            return chain.ChainElements.Cast<X509ChainElement>().Any(e => bundle.Cast<X509Certificate2>().Any(b => b.RawData.SequenceEqual(e.Certificate.RawData)));
        }

        private static IEnumerable<byte[]> PemBlocks(string text, string label)
        {
            var begin = "-----BEGIN " + label + "-----";
            var end = "-----END " + label + "-----";
            var at = 0;
            while ((at = text.IndexOf(begin, at, StringComparison.Ordinal)) >= 0)
            {
                var start = at + begin.Length;
                var stop = text.IndexOf(end, start, StringComparison.Ordinal);
                if (stop < 0) throw new FormatException("a PEM block has no end line");
                yield return Convert.FromBase64String(text.Substring(start, stop - start).Replace("\r", "").Replace("\n", "").Trim());
                at = stop + end.Length;
            }
        }

        private static string? Blank(string? s) => string.IsNullOrWhiteSpace(s) ? null : s;
        private static string OneLine(Exception e) => References.UntrustedText.OneLine(e.Message, 200);
        private static RegistryException Invalid(string message, Exception? inner = null) => new RegistryException(ErrorIds.RegistryTlsInvalid, message, inner);
    }
}
