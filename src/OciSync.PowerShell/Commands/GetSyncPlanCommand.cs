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
        protected override void EndProcessing()
        {
            GatherInputs();
            var plan = PlanRules(CreateClients(Credentials), headDestinations: true);
            foreach (var copy in plan.Copies) WriteObject(copy);
            base.EndProcessing();
        }
    }
}
