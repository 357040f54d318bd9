using System;
using System.Management.Automation;
using OciSync.Core.Configuration;

namespace OciSync.PowerShell.Infrastructure
{
    /// <summary>
    /// -DefaultRegistry and -DefaultNamespace (image-syncer's DEFAULT_REGISTRY / DEFAULT_NAMESPACE): where a
    /// rule with an empty destination goes. Declared here once and added as dynamic parameters by every
    /// cmdlet that builds rules (New-SyncRule, Import-SyncRule, Get-SyncPlan, Invoke-ImageSync), which sit
    /// in two cmdlet hierarchies — PowerShell has no other way to share a parameter group across them.
    /// </summary>
    public sealed class RuleDefaults
    {
        /// <summary>Registry for rules with an empty destination (env DEFAULT_REGISTRY).</summary>
        [Parameter]
        [Alias("Registry")]
        [ArgumentCompleter(typeof(RegistryCompleter))]
        public string? DefaultRegistry { get; set; }

        /// <summary>Namespace for rules with an empty destination (env DEFAULT_NAMESPACE).</summary>
        [Parameter]
        [Alias("Namespace")]
        public string? DefaultNamespace { get; set; }

        /// <summary>The rule options of a call; layout paths (<c>oci:PATH</c>) resolve against the PowerShell location, as every path parameter does.</summary>
        internal RuleOptions Options(PSCmdlet cmdlet) => new RuleOptions
        {
            DefaultRegistry = DefaultRegistry,
            DefaultNamespace = DefaultNamespace,
            ResolvePath = path =>
            {
                // A drive or provider that does not exist (oci:Q:/x) is a bad rule, not a crash: the parser reports ArgumentExceptions.
                try { return cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path); }
                catch (Exception e) when (e is SessionStateException || e is ProviderInvocationException || e is NotSupportedException)
                {
                    throw new ArgumentException(e.Message, e);
                }
            },
        };
    }
}
