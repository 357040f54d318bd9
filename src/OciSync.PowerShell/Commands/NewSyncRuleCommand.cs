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

        /// <summary>A regex (unanchored); listed tags it matches are left out. Only for all tags or a /regex/ source.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? ExcludeTag { get; set; }

        /// <summary>A semver range (<c>&gt;=1.20 &lt;2</c>, <c>^1.2</c>, <c>~1.2.3</c>, <c>1.x</c>, <c>[1.20,2.0)</c>): only tags that are versions in it. Only for all tags or a /regex/ source.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? SemVer { get; set; }

        /// <summary>Keep the tags of the N highest versions left after -ExcludeTag and -SemVer. Only for all tags or a /regex/ source.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public int? Latest { get; set; }

        /// <summary>Platforms to copy of this rule's images: <c>os/arch[/variant]</c>; with -OS/-Arch of Invoke-ImageSync a platform must pass both.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Alias("Platforms")]
        [ArgumentCompleter(typeof(PlatformCompleter))]
        public string[]? Platform { get; set; }

        private readonly RuleDefaults _defaults = new RuleDefaults();

        /// <summary>-DefaultRegistry and -DefaultNamespace.</summary>
        public object GetDynamicParameters() => _defaults;

        protected override void ProcessRecord()
        {
            try
            {
                WriteObject(SyncRule.Create(Source, Destination, _defaults.Options(this), TagSelectionParameters.Spec(ExcludeTag, SemVer, Latest, Platform)));
            }
            catch (RuleException e)
            {
                WriteError(Errors.Record(e, e.Error.ErrorId, ConfigError.Shorten(Source ?? string.Empty)));
            }
        }
    }
}
