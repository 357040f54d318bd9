using System;
using System.Management.Automation;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;
using OciSync.PowerShell.Infrastructure;

namespace OciSync.PowerShell.Commands
{
    /// <summary>Reads an image-syncer auth file (YAML or JSON) into credential objects.</summary>
    [Cmdlet(VerbsData.Import, "RegistryCredential")]
    [OutputType(typeof(RegistryCredential))]
    public sealed class ImportRegistryCredentialCommand : PSCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName", "PSPath")]
        [ValidateNotNullOrEmpty]
        public string[] Path { get; set; } = Array.Empty<string>();

        protected override void ProcessRecord()
        {
            foreach (var path in Path)
            {
                var full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
                try
                {
                    var result = AuthFile.Load(full);
                    Errors.Report(this, result.Errors, path);
                    foreach (var credential in result.Credentials)
                    {
                        if (credential.IsAnonymous) this.Verbose($"{credential.Key}: no user or password, requests will be anonymous.");
                        WriteObject(credential);
                    }
                }
                catch (ConfigException e)
                {
                    WriteError(Errors.Record(e, e.Error.ErrorId, path));
                }
            }
        }
    }
}
