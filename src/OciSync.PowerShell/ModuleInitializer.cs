using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;

namespace OciSync.PowerShell
{
    /// <summary>
    /// Windows PowerShell 5.1 applies no binding redirects to modules, and Polly and System.Text.Json
    /// ask for dependency versions other than the ones shipped beside us: answer those loads from the
    /// module folder. PowerShell 7 resolves them itself and never calls this.
    /// </summary>
    public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
    {
        private static readonly string ModuleDirectory = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? ".";

        public void OnImport() => AppDomain.CurrentDomain.AssemblyResolve += Resolve;

        public void OnRemove(PSModuleInfo module) => AppDomain.CurrentDomain.AssemblyResolve -= Resolve;

        private static Assembly? Resolve(object? sender, ResolveEventArgs args)
        {
            var name = new AssemblyName(args.Name).Name;
            var candidate = Path.Combine(ModuleDirectory, name + ".dll");
            return File.Exists(candidate) ? Assembly.LoadFrom(candidate) : null;
        }
    }
}
