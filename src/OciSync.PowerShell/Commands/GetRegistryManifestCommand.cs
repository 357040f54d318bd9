using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using OciSync.Core.References;
using OciSync.Core.Transport;
using OciSync.PowerShell.Infrastructure;
using OciSync.PowerShell.Output;

namespace OciSync.PowerShell.Commands
{
    /// <summary>Shows the manifest of an image or index: digest, media type, size, platforms and layers.</summary>
    [Cmdlet(VerbsCommon.Get, "RegistryManifest")]
    [OutputType(typeof(ManifestInfo))]
    public sealed class GetRegistryManifestCommand : RegistryCmdlet
    {
        private readonly List<ImageReference> _references = new List<ImageReference>();

        /// <summary>Image references with a tag or digest; a reference without either means <c>:latest</c>.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Image")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ImageReferenceCompleter))]
        public string[] Reference { get; set; } = Array.Empty<string>();

        protected override void ProcessRecord()
        {
            foreach (var text in Reference)
            {
                if (ImageReference.TryParse(text, out var reference, out var problem) && !reference!.IsRegistry)
                    // Layouts and archives are read by Invoke-ImageSync and Get-SyncPlan; this cmdlet speaks to registries.
                    WriteError(new ErrorRecord(new ArgumentException($"'{text}' names an OCI layout or archive, not a registry; use Get-SyncPlan -Source '{text}' -Destination ... to see its tags."),
                        ErrorIds.InvalidReference, ErrorCategory.InvalidArgument, text));
                else if (reference != null)
                    _references.Add(reference!.ApiReference == null ? reference.WithTag("latest") : reference);
                else
                    WriteError(new ErrorRecord(new ArgumentException(problem), ErrorIds.InvalidReference, ErrorCategory.InvalidArgument, text));
            }
        }

        protected override void EndProcessing()
        {
            var clients = CreateClients(BuildCredentials(_references.Select(r => r.Registry)));
            Run(async ct =>
            {
                foreach (var reference in _references)
                {
                    try
                    {
                        var manifest = await clients.Get(reference).GetManifestAsync(reference.Repository, reference.ApiReference!, ct).ConfigureAwait(false);
                        PostObject(new ManifestInfo(reference.ToString(), manifest));
                    }
                    catch (Exception e) when (!(e is OperationCanceledException))
                    {
                        PostError(Errors.From(e, reference.ToString()));
                    }
                }
            });
            base.EndProcessing();
        }
    }
}
