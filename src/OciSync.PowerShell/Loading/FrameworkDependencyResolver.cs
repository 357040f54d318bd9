using System;
using System.IO;
using System.Reflection;

namespace OciSync.PowerShell.Loading
{
    /// <summary>
    /// Windows PowerShell 5.1 (.NET Framework): no load contexts and no binding redirects for modules, so a request
    /// for OciSync.Core (not beside the cmdlets) or for the version of a package that Polly or System.Text.Json
    /// were built against fails and lands here. The handler is shared by every module of the session, so it answers
    /// only a request made by one of our own assemblies, only with a file of our Dependencies folder, and only
    /// when that file's version is at least the one asked for; everything else is left to whoever else answers.
    /// It stays for the life of the process (see <see cref="ModuleInitializer.OnRemove"/>).
    /// </summary>
    public sealed class FrameworkDependencyResolver
    {
        private readonly string _directory;
        private readonly string _moduleDirectory;

        public FrameworkDependencyResolver(string directory)
        {
            _directory = Path.GetFullPath(directory);
            _moduleDirectory = Path.GetDirectoryName(_directory) ?? _directory;
        }

        /// <summary>Adds the handler to the process; once (the caller serialises).</summary>
        public static void Install(string directory)
        {
            var resolver = new FrameworkDependencyResolver(directory);
            AppDomain.CurrentDomain.AssemblyResolve += (_, args) => resolver.Resolve(args.Name, args.RequestingAssembly);
        }

        /// <summary>The file that answers <paramref name="requested"/> for <paramref name="requesterLocation"/>, or null to decline.</summary>
        public string? Answer(string requested, string? requesterLocation)
        {
            // A request with no requester (Type.GetType, Assembly.Load by name) may come from anyone: not ours to answer.
            if (string.IsNullOrEmpty(requesterLocation) || !IsOurs(requesterLocation!)) return null;
            AssemblyName name;
            try { name = new AssemblyName(requested); }
            catch (Exception e) when (e is ArgumentException || e is FileLoadException) { return null; }
            if (string.IsNullOrEmpty(name.Name) || name.Name!.IndexOfAny(new[] { '/', '\\', ':' }) >= 0) return null;
            var path = Path.Combine(_directory, name.Name + ".dll");
            if (!File.Exists(path)) return null;
            if (name.Version != null)
            {
                Version? ours;
                try { ours = AssemblyName.GetAssemblyName(path).Version; }
                catch (Exception e) when (e is IOException || e is BadImageFormatException || e is UnauthorizedAccessException) { return null; }
                if (ours == null || ours < name.Version) return null;
            }
            return path;
        }

        private Assembly? Resolve(string requested, Assembly? requester)
        {
            // Every module's failed loads pass through here: whatever goes wrong for a request, it is declined, never
            // thrown into someone else's load (a long path, a dynamic assembly without a location, ...).
            try
            {
                var path = Answer(requested, requester?.Location);
                return path == null ? null : Assembly.LoadFrom(path);
            }
            catch (Exception)
            {
                return null;
            }
        }

        private bool IsOurs(string location)
        {
            // The cheap test first: another module's path is not even normalised.
            if (location.IndexOf(Path.GetFileName(_moduleDirectory), StringComparison.OrdinalIgnoreCase) < 0) return false;
            var directory = Path.GetDirectoryName(Path.GetFullPath(location));
            return string.Equals(directory, _directory, StringComparison.OrdinalIgnoreCase)
                || string.Equals(directory, _moduleDirectory, StringComparison.OrdinalIgnoreCase);
        }
    }
}
