using System;
using System.Management.Automation;
using OciSync.Core.References;
using OciSync.PowerShell.Infrastructure;

namespace OciSync.PowerShell.Commands
{
    public sealed partial class InvokeImageSyncCommand
    {
        /// <summary>
        /// Mirror pruning: after the rules synced, delete the destination tags a rule produces from a tag its
        /// source no longer has (rules that list their source only: all tags, or a /regex/). Each deletion is of
        /// High impact: it asks at the default $ConfirmPreference unless -Confirm:$false.
        /// </summary>
        [Parameter]
        public SwitchParameter Prune { get; set; }

        private bool _yesToAllDeletes, _noToAllDeletes, _cannotAskWarned;

        /// <summary>
        /// How each deletion is approved. The cmdlet's ConfirmImpact is Medium (copies); a deletion is High: ShouldProcess
        /// (which prints -WhatIf and prompts under -Confirm or a $ConfirmPreference of Medium or below), then, where that
        /// did not prompt and $ConfirmPreference is High (the default), ShouldContinue. -Confirm:$false or a
        /// $ConfirmPreference of None deletes without asking (runbooks); null then, so no deletion waits on the pipeline thread.
        /// </summary>
        private Func<ImageReference, bool>? DeleteApproval(bool whatIf)
        {
            if (!Prune) return null;
            bool? confirm = null;
            if (MyInvocation.BoundParameters.TryGetValue("Confirm", out var bound)) confirm = bound is SwitchParameter s ? s.IsPresent : LanguagePrimitives.IsTrue(bound);
            var preference = ConfirmPreferenceValue();
            if (!whatIf && (confirm == false || (confirm == null && preference == ConfirmImpact.None))) return null;
            var shouldProcessAsked = confirm == true || (preference != ConfirmImpact.None && preference <= ConfirmImpact.Medium);
            return target => Ask(() =>
            {
                var what = target.ToString();
                if (!ShouldProcess(what, "Delete tag")) return false;
                if (shouldProcessAsked) return true;
                if (_yesToAllDeletes) return true;
                if (_noToAllDeletes) return false;
                try
                {
                    return ShouldContinue($"Delete the tag {what}? The source no longer has it. (-Confirm:$false deletes without asking.)", "Invoke-ImageSync -Prune",
                        ref _yesToAllDeletes, ref _noToAllDeletes);
                }
                catch (Exception e) when (e is PSInvalidOperationException || e is System.Management.Automation.Host.HostException || e is NotImplementedException)
                {
                    // A host that cannot prompt (pwsh -NonInteractive, a runbook): nothing is deleted without a yes.
                    if (!_cannotAskWarned)
                        this.Warning($"-Prune: stale tags are kept, because deleting asks for confirmation and this host cannot ask ({e.Message}). Pass -Confirm:$false to delete without asking.");
                    _cannotAskWarned = true;
                    _noToAllDeletes = true;
                    return false;
                }
            });
        }

        private ConfirmImpact ConfirmPreferenceValue()
        {
            var preference = GetVariableValue("ConfirmPreference");
            if (preference is PSObject pso) preference = pso.BaseObject;
            return preference is ConfirmImpact ci ? ci : Enum.TryParse(preference?.ToString(), true, out ConfirmImpact parsed) ? parsed : ConfirmImpact.High;
        }
    }
}
