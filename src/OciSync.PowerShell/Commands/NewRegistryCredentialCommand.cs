using System.Management.Automation;
using OciSync.Core.Auth;
using OciSync.PowerShell.Infrastructure;

namespace OciSync.PowerShell.Commands
{
    /// <summary>A registry credential from a PSCredential; the password stays a SecureString.</summary>
    [Cmdlet(VerbsCommon.New, "RegistryCredential")]
    [OutputType(typeof(RegistryCredential))]
    public sealed class NewRegistryCredentialCommand : PSCmdlet
    {
        /// <summary><c>registry</c> or <c>registry/namespace</c>; the longest matching key wins at lookup.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("Key")]
        [ValidateNotNullOrEmpty]
        public string Registry { get; set; } = string.Empty;

        /// <summary>User and password (Get-Credential, Get-AutomationPSCredential). Omit for anonymous access.</summary>
        [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
        [Credential]
        public PSCredential? Credential { get; set; }

        /// <summary>Allow plain HTTP and unverified TLS for this registry.</summary>
        [Parameter]
        public SwitchParameter Insecure { get; set; }

        /// <summary>A CA bundle (PEM or DER) this registry's certificate may also chain to.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? CaFile { get; set; }

        /// <summary>A client certificate for mutual TLS: PEM with -KeyFile, or a .pfx/.p12 holding its key.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? CertFile { get; set; }

        /// <summary>The private key of a PEM -CertFile.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? KeyFile { get; set; }

        /// <summary>Requests awaiting an answer at once at this registry.</summary>
        [Parameter]
        [ValidateRange(1, 256)]
        public int? MaxConcurrency { get; set; }

        /// <summary>Requests started per second at this registry.</summary>
        [Parameter]
        [ValidateRange(0.01, 10000.0)]
        public double? RequestsPerSecond { get; set; }

        protected override void ProcessRecord()
        {
            if (KeyFile != null && CertFile == null)
                ThrowTerminatingError(new ErrorRecord(new PSArgumentException("-KeyFile needs the certificate it belongs to (-CertFile)."),
                    "KeyFileWithoutCertFile", ErrorCategory.InvalidArgument, KeyFile));
            var tls = new Core.Transport.RegistryTls(Existing(CaFile, nameof(CaFile)), Existing(CertFile, nameof(CertFile)), Existing(KeyFile, nameof(KeyFile)));
            var limits = new Core.Transport.RegistryLimits(MaxConcurrency, RequestsPerSecond);
            WriteObject(Credential != null
                ? Credential.ToRegistryCredential(Registry, "New-RegistryCredential", Insecure, tls, limits)
                : new RegistryCredential(Registry, null, null, Insecure, "New-RegistryCredential", tls, limits));
        }

        // Resolved against the PowerShell location now: the object may be used from another directory.
        private string? Existing(string? path, string parameter)
        {
            if (path == null) return null;
            var full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
            if (!System.IO.File.Exists(full))
                ThrowTerminatingError(new ErrorRecord(new System.IO.FileNotFoundException($"-{parameter} names {full}, which does not exist.", full),
                    "TlsFileNotFound", ErrorCategory.ObjectNotFound, path));
            return full;
        }
    }
}
