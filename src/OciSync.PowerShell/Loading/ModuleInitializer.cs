using System;
using System.IO;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OciSync.PowerShell.Loading
{
    /// <summary>
    /// Runs before PowerShell looks at the cmdlets: OciSync.Core and the packages it needs (YamlDotNet, Polly,
    /// NuGet.Versioning, ...) sit in the module's Dependencies folder, where no other loader looks, and are
    /// loaded from there privately. PowerShell 7 gets them in a load context of their own
    /// (<see cref="DependencyLoadContext"/>); Windows PowerShell 5.1, which has no load contexts, gets a resolve
    /// handler that answers only our own assemblies' requests for our own files (<see cref="FrameworkDependencyResolver"/>).
    /// PowerShell loads every class of this assembly to find the cmdlets before it calls <see cref="OnImport"/>: a cmdlet
    /// field (or auto-property) of a Core enum or struct would need OciSync.Core then, and the import fails. Use a string
    /// or a reference type there (Isolation.Tests checks).
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        private static readonly object Gate = new object();
        private static bool _installed;

        /// <summary>The folder beside OciSync.PowerShell.dll that holds OciSync.Core.dll and its dependencies.</summary>
        public static string DependencyDirectory { get; } = Path.Combine(
            Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? ".", "Dependencies");

        /// <summary>.NET (Core), where load contexts exist; false on .NET Framework (Windows PowerShell 5.1).</summary>
        public static bool HasLoadContexts { get; } = !RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.OrdinalIgnoreCase);

        public void OnImport()
        {
            lock (Gate)
            {
                // Once per process: a second runspace, or Import-Module -Force, finds it in place.
                if (_installed) return;
                if (HasLoadContexts) InstallLoadContext(); else InstallFrameworkResolver();
                _installed = true;
            }
        }

        public void OnRemove(PSModuleInfo module)
        {
            // Nothing is undone. The load context cannot be unloaded while the session holds its types, and the 5.1
            // resolve handler is the process's while import and removal are per runspace: removing it when one runspace
            // removes the module would break the module in the others. It answers only our own assemblies' requests.
        }

        // Separate methods, never inlined: .NET Framework must not compile a method that names AssemblyLoadContext.
        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void InstallLoadContext() => DependencyLoadContext.Install(DependencyDirectory);

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void InstallFrameworkResolver() => FrameworkDependencyResolver.Install(DependencyDirectory);
    }
}
