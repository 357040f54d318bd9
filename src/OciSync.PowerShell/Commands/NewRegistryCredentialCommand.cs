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

        protected override void ProcessRecord()
        {
            WriteObject(Credential != null
                ? Credential.ToRegistryCredential(Registry, "New-RegistryCredential", Insecure)
                : new RegistryCredential(Registry, null, null, Insecure, "New-RegistryCredential"));
        }
    }
}
