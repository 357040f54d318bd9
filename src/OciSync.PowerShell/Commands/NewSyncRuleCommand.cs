using System;
using System.Management.Automation;
using OciSync.Core.Configuration;
using OciSync.PowerShell.Infrastructure;

namespace OciSync.PowerShell.Commands
{
    /// <summary>A sync rule from image-syncer grammar, validated; nothing is copied.</summary>
    [Cmdlet(VerbsCommon.New, "SyncRule")]
    [OutputType(typeof(SyncRule))]
    public sealed class NewSyncRuleCommand : PSCmdlet, IDynamicParameters
    {
        /// <summary>Source: a repository (all tags), <c>repo:a,b</c>, <c>repo@sha256:…</c> or <c>repo:/regex/</c>.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Source { get; set; } = string.Empty;

        /// <summary>Destinations; without a tag each image keeps its source tag. Empty uses -DefaultRegistry/-DefaultNamespace.</summary>
        [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
        [AllowEmptyCollection]
        [Alias("Destinations")]
        public string[] Destination { get; set; } = Array.Empty<string>();

        private readonly RuleDefaults _defaults = new RuleDefaults();

        /// <summary>-DefaultRegistry and -DefaultNamespace.</summary>
        public object GetDynamicParameters() => _defaults;

        protected override void ProcessRecord()
        {
            try
            {
                WriteObject(SyncRule.Create(Source, Destination, _defaults.Options(this)));
            }
            catch (RuleException e)
            {
                WriteError(Errors.Record(e, e.Error.ErrorId, ConfigError.Shorten(Source ?? string.Empty)));
            }
        }
    }
}
