using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using OciSync.Core.Transport;
using OciSync.PowerShell.Infrastructure;
using OciSync.PowerShell.Output;

namespace OciSync.PowerShell.Commands
{
    /// <summary>Lists the tags of repositories, following the registry's pagination.</summary>
    [Cmdlet(VerbsCommon.Get, "RegistryTag")]
    [OutputType(typeof(RegistryTag))]
    public sealed class GetRegistryTagCommand : RegistryCmdlet
    {
        private readonly List<ImageReference> _repositories = new List<ImageReference>();
        private Regex? _pattern;

        /// <summary>Repositories such as <c>nginx</c>, <c>quay.io/coreos/etcd</c> or <c>127.0.0.1:5000/demo/app</c>.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("Name", "Source", "RepositoryName")]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(ImageReferenceCompleter))]
        public string[] Repository { get; set; } = Array.Empty<string>();

        /// <summary>Only tags matching this regular expression (unanchored, like image-syncer's /regex/).</summary>
        [Parameter(Position = 1)]
        [ValidateNotNullOrEmpty]
        public string? Filter { get; set; }

        protected override void BeginProcessing()
        {
            if (Filter == null) return;
            try
            {
                _pattern = TagFilter.Compile(Filter);
            }
            catch (ArgumentException e)
            {
                ThrowTerminatingError(new ErrorRecord(e, ErrorIds.InvalidFilter, ErrorCategory.InvalidArgument, Filter));
            }
        }

        protected override void ProcessRecord()
        {
            foreach (var text in Repository)
            {
                if (ImageReference.TryParse(text, out var reference, out var problem) && !reference!.IsRegistry)
                    // Layouts and archives are read by Invoke-ImageSync and Get-SyncPlan; this cmdlet speaks to registries.
                    WriteError(new ErrorRecord(new ArgumentException($"'{text}' names an OCI layout or archive, not a registry; use Get-SyncPlan -Source '{text}' -Destination ... to see its tags."),
                        ErrorIds.InvalidReference, ErrorCategory.InvalidArgument, text));
                else if (reference != null)
                    _repositories.Add(reference!.AsRepository());
                else
                    WriteError(new ErrorRecord(new ArgumentException(problem), ErrorIds.InvalidReference, ErrorCategory.InvalidArgument, text));
            }
        }

        protected override void EndProcessing()
        {
            var credentials = BuildCredentials(_repositories.Select(r => r.Registry));
            var clients = CreateClients(credentials);
            // One matching budget for the whole call, checked tag by tag, so Ctrl+C and a catastrophic
            // pattern both stop it within a match timeout.
            var filter = _pattern == null ? null : new TagFilter(_pattern);
            Run(async ct =>
            {
                foreach (var repository in _repositories.Distinct())
                {
                    try
                    {
                        var client = clients.Get(repository);
                        await foreach (var tag in client.ListTagsAsync(repository.Repository, ct).ConfigureAwait(false))
                        {
                            ct.ThrowIfCancellationRequested();
                            if (filter == null || filter.IsMatch(tag)) PostObject(new RegistryTag(repository.RepositoryName, tag));
                        }
                    }
                    catch (Exception e) when (!(e is OperationCanceledException))
                    {
                        PostError(Errors.From(e, repository.RepositoryName));
                    }
                }
            });
            base.EndProcessing();
        }
    }
}
