using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Reflection;

namespace OciSync.PowerShell.Loading
{
    /// <summary>
    /// PowerShell 7 resolves a type literal such as [OciSync.Core.Sync.ImageResult] only among the default load
    /// context's assemblies, and OciSync.Core lives in its own (<see cref="DependencyLoadContext"/>). Its public types
    /// are therefore made known by their full names as type accelerators, the registration about_Classes documents for
    /// exporting types. A name some other module already registered is left as it is.
    /// </summary>
    internal static class CoreTypeNames
    {
        public static IReadOnlyList<string> Publish(Assembly core)
        {
            var accelerators = typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");
            var add = accelerators?.GetMethod("Add", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(string), typeof(Type) }, null);
            var get = accelerators?.GetProperty("Get", BindingFlags.Public | BindingFlags.Static);
            if (add == null || get == null) return Array.Empty<string>();   // a PowerShell without them: type literals stay unknown, nothing else changes

            var published = new List<string>();
            try
            {
                var known = (IDictionary<string, Type>)get.GetValue(null)!;
                foreach (var type in core.GetExportedTypes().Where(t => !t.IsGenericTypeDefinition && t.FullName != null))
                {
                    if (known.ContainsKey(type.FullName!)) continue;
                    add.Invoke(null, new object[] { type.FullName!, type });
                    published.Add(type.FullName!);
                }
            }
            catch (Exception e) when (e is TargetInvocationException || e is InvalidCastException || e is ArgumentException)
            {
                // A PowerShell whose accelerator table is not what this expects: type literals stay unknown, the cmdlets work.
            }
            return published;
        }
    }
}
