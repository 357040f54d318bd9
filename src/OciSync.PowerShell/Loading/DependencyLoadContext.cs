using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;

namespace OciSync.PowerShell.Loading
{
    /// <summary>
    /// PowerShell 7: OciSync.Core and its packages load here, not in the default load context, so another module's
    /// YamlDotNet or Polly (of any version, loaded before or after us) never meets ours. Assemblies the platform
    /// itself carries (System.Text.Json, System.Memory, Microsoft.Bcl.AsyncInterfaces, ...) are taken from the platform
    /// when its version is at least the one asked for: a private copy of those would give Core its own Span or
    /// IAsyncEnumerable, which the framework's APIs do not accept, and no module can replace them in the default context.
    /// </summary>
    public sealed class DependencyLoadContext : AssemblyLoadContext
    {
        /// <summary>The assembly the cmdlets reference; asking for it is what brings the context into play.</summary>
        public const string EntryAssembly = "OciSync.Core";

        private readonly string _directory;
        private readonly Dictionary<string, string> _platformPaths;
        private readonly ConcurrentDictionary<string, Version?> _platformVersions = new ConcurrentDictionary<string, Version?>(StringComparer.OrdinalIgnoreCase);

        private DependencyLoadContext(string directory, Dictionary<string, string> platformPaths)
        {
            _directory = directory;
            _platformPaths = platformPaths;
        }

        /// <summary>The one context of this module, once installed.</summary>
        public static DependencyLoadContext? Current { get; private set; }

        /// <summary>
        /// Loads OciSync.Core here and answers the default context's requests for it (the cmdlets' reference: the dll
        /// is not beside them) with that one. Once per process; the caller serialises.
        /// </summary>
        public static void Install(string directory)
        {
            if (Current != null) return;
            var context = new DependencyLoadContext(directory, PlatformAssemblies());
            var core = context.LoadFromAssemblyPath(Path.Combine(directory, EntryAssembly + ".dll"));
            Default.Resolving += (_, name) => string.Equals(name.Name, EntryAssembly, StringComparison.OrdinalIgnoreCase) ? core : null;
            Current = context;
            CoreTypeNames.Publish(core);
        }

        /// <summary>The file this context loads for <paramref name="name"/>, or null when the default context is to answer.</summary>
        public string? PrivatePath(AssemblyName name)
        {
            if (string.IsNullOrEmpty(name.Name)) return null;
            var path = Path.Combine(_directory, name.Name + ".dll");
            if (!File.Exists(path)) return null;
            if (_platformPaths.TryGetValue(name.Name!, out var platformPath))
            {
                var platformVersion = _platformVersions.GetOrAdd(name.Name!, _ => VersionOf(platformPath));
                if (name.Version == null || (platformVersion != null && platformVersion >= name.Version)) return null;
            }
            return path;
        }

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            var path = PrivatePath(assemblyName);
            return path == null ? null : LoadFromAssemblyPath(path);
        }

        /// <summary>The assemblies the host application resolves itself (the runtime's and pwsh's own), by name.</summary>
        private static Dictionary<string, string> PlatformAssemblies()
        {
            var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (!(AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") is string list)) return result;
            foreach (var path in list.Split(new[] { Path.PathSeparator }, StringSplitOptions.RemoveEmptyEntries))
            {
                var name = Path.GetFileNameWithoutExtension(path);
                if (!result.ContainsKey(name)) result[name] = path;
            }
            return result;
        }

        private static Version? VersionOf(string path)
        {
            try { return AssemblyName.GetAssemblyName(path).Version; }
            catch (Exception e) when (e is IOException || e is BadImageFormatException || e is UnauthorizedAccessException) { return null; }
        }
    }
}
