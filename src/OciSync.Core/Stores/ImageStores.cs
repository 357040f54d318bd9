using System;
using System.Collections.Concurrent;
using OciSync.Core.References;
using OciSync.Core.Registry;

namespace OciSync.Core.Stores
{
    /// <summary>
    /// The stores of one run, by reference: the registry client of a host (one per host and credential,
    /// from the factory) or the OCI layout of a directory (one per path).
    /// </summary>
    public sealed class ImageStores
    {
        private readonly ConcurrentDictionary<string, IImageStore> _layouts = new ConcurrentDictionary<string, IImageStore>(StringComparer.Ordinal);

        public ImageStores(RegistryClientFactory registries) => Registries = registries;

        public RegistryClientFactory Registries { get; }

        public IImageStore Get(ImageReference reference) =>
            reference.IsLayout ? _layouts.GetOrAdd(reference.LayoutPath!, path => new OciLayoutStore(path, Registries.Options)) : Registries.Get(reference);

        /// <summary>What failed may be tried again by the next pass.</summary>
        public void ForgetFailures()
        {
            Registries.ForgetFailedPings();
            foreach (var layout in _layouts.Values) layout.ForgetFailures();
        }
    }
}
