using System.Management.Automation;

namespace OciSync.PowerShell.Infrastructure
{
    /// <summary>
    /// Verbose and warning lines that survive -Debug. PowerShell turns the verbose and warning
    /// preferences into Inquire under -Debug unless -Verbose or -WarningAction say otherwise: a prompt
    /// after every line, and in a non-interactive host (runbooks, CI) a failed command. Under -Debug
    /// those lines go to the debug stream instead, which -Debug shows without asking.
    /// </summary>
    internal static class CmdletStreams
    {
        public static void Verbose(this PSCmdlet cmdlet, string text)
        {
            if (DebugTakesOver(cmdlet, "Verbose")) cmdlet.WriteDebug(text);
            else cmdlet.WriteVerbose(text);
        }

        public static void Warning(this PSCmdlet cmdlet, string text)
        {
            if (DebugTakesOver(cmdlet, "WarningAction")) cmdlet.WriteDebug("WARNING: " + text);
            else cmdlet.WriteWarning(text);
        }

        private static bool DebugTakesOver(PSCmdlet cmdlet, string ownParameter)
        {
            var bound = cmdlet.MyInvocation.BoundParameters;
            return bound.TryGetValue("Debug", out var debug) && debug is SwitchParameter on && on.IsPresent && !bound.ContainsKey(ownParameter);
        }
    }
}
