using System;
using System.Management.Automation;
using OciSync.Core.Configuration;
using OciSync.PowerShell.Infrastructure;

namespace OciSync.PowerShell.Commands
{
    /// <summary>Reads the rules of an image-syncer images file (or the images part of a legacy config file).</summary>
    [Cmdlet(VerbsData.Import, "SyncRule")]
    [OutputType(typeof(SyncRule))]
    public sealed class ImportSyncRuleCommand : PSCmdlet, IDynamicParameters
    {
        /// <summary>images.yaml / images.json, or a legacy config file with -Legacy.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName", "PSPath")]
        [ValidateNotNullOrEmpty]
        public string[] Path { get; set; } = Array.Empty<string>();

        /// <summary>The file is image-syncer's legacy combined config (<c>{ auth: …, images: … }</c>).</summary>
        [Parameter]
        public SwitchParameter Legacy { get; set; }

        private readonly RuleDefaults _defaults = new RuleDefaults();

        /// <summary>-DefaultRegistry and -DefaultNamespace.</summary>
        public object GetDynamicParameters() => _defaults;

        protected override void ProcessRecord()
        {
            var options = _defaults.Options(this);
            foreach (var path in Path)
            {
                var full = SessionState.Path.GetUnresolvedProviderPathFromPSPath(path);
                try
                {
                    var result = Legacy ? LegacyConfigFile.Load(full, options).Images : ImagesFile.Load(full, options);
                    Errors.Report(this, result.Errors, path);
                    WriteObject(result.Rules, enumerateCollection: true);
                }
                catch (ConfigException e)
                {
                    // One unreadable file ends that file, not the others given.
                    WriteError(Errors.Record(e, e.Error.ErrorId, path));
                }
            }
        }
    }
}
