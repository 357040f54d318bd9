using System.Management.Automation;
using OciSync.Core.Configuration;
using OciSync.Core.Sync;
using OciSync.PowerShell.Infrastructure;

namespace OciSync.PowerShell.Commands
{
    /// <summary>
    /// One object per concrete image copy the rules describe — source, destination, their digests and
    /// whether the destination is already up to date. Copies nothing.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "SyncPlan", DefaultParameterSetName = FilesSet)]
    [OutputType(typeof(ImageCopy))]
    public sealed class GetSyncPlanCommand : SyncRuleCmdlet
    {
        /// <summary>Also GET each source manifest not up to date (and an index's kept children) and set Size; costs a pull each.</summary>
        [Parameter]
        public SwitchParameter MeasureSize { get; set; }

        /// <summary>With -MeasureSize: count only these operating systems of multi-platform images, as Invoke-ImageSync -OS keeps them.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(OsCompleter))]
        public string[]? OS { get; set; }

        /// <summary>With -MeasureSize: count only these architectures of multi-platform images, as Invoke-ImageSync -Arch keeps them.</summary>
        [Parameter]
        [ArgumentCompleter(typeof(ArchCompleter))]
        public string[]? Arch { get; set; }

        protected override void EndProcessing()
        {
            GatherInputs();
            var clients = CreateClients(Credentials);
            var plan = PlanRules(clients, headDestinations: true);
            var copies = MeasureSize ? MeasureSizes(clients, plan.Copies, new PlatformFilter(OS, Arch)) : plan.Copies;
            foreach (var copy in copies) WriteObject(copy);
            base.EndProcessing();
        }
    }
}
