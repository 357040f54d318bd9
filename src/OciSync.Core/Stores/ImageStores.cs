using System;
using System.Collections.Concurrent;
using System.Linq;
using OciSync.Core.References;
using OciSync.Core.Registry;

namespace OciSync.Core.Stores
{
    /// <summary>
    /// The stores of one run, by reference: the registry client of a host (one per host and credential,
    /// from the factory) or the OCI layout of a directory (one per path).
    /// </summary>
    internal sealed class ImageStores
    {
        // By kind and normalised path: oci:/x and oci:/x/ are one store.
        private readonly ConcurrentDictionary<string, IImageStore> _layouts = new ConcurrentDictionary<string, IImageStore>(OciLayoutStore.PathComparer);

        public ImageStores(RegistryClientFactory registries) => Registries = registries;

        public RegistryClientFactory Registries { get; }

        public IImageStore Get(ImageReference reference) =>
            reference.IsRegistry ? Registries.Get(reference)
            : _layouts.GetOrAdd((reference.IsArchive ? ImageReference.ArchivePrefix : ImageReference.LayoutPrefix) + OciLayoutStore.NormalizeRoot(reference.LocalPath!), _ => reference.IsArchive
                ? new OciArchiveStore(reference.LocalPath!, Registries.Options)
                : new OciLayoutStore(reference.LocalPath!, Registries.Options));

        /// <summary>What failed may be tried again by the next pass.</summary>
        public void ForgetFailures()
        {
            Registries.ForgetFailedPings();
            foreach (var layout in _layouts.Values) layout.ForgetFailures();
        }

        /// <summary>
        /// Ends the run's writes: an archive is written out (registries and layouts have nothing left to do).
        /// Every store is flushed even when one fails; the failures are then one error naming each.
        /// </summary>
        public async System.Threading.Tasks.Task FlushAsync(System.Threading.CancellationToken ct)
        {
            var failures = new System.Collections.Generic.List<Exception>();
            foreach (var store in _layouts.Values)
            {
                try { await store.FlushAsync(ct).ConfigureAwait(false); }
                catch (Exception e) when (!(e is OperationCanceledException)) { failures.Add(e); }
            }
            if (failures.Count == 1) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failures[0]).Throw();
            if (failures.Count > 1)
                throw new Transport.RegistryException(Transport.ErrorIds.Of(failures[0]), string.Join(" ", failures.Select(f => f.Message)), new AggregateException(failures));
        }

        /// <summary>
        /// The run is over, written or not (cancelled, failed): stores let go of what they hold — an archive its
        /// run lock, a registry its unused upload sessions (given at most a few seconds, so a stopped run stops).
        /// </summary>
        public async System.Threading.Tasks.Task ReleaseAllAsync()
        {
            foreach (var store in _layouts.Values)
                if (store is OciArchiveStore archive) archive.ReleaseRun();
            using var limit = new System.Threading.CancellationTokenSource(AbandonTimeout);
            await System.Threading.Tasks.Task.WhenAll(Registries.Clients.Select(c => c.AbandonUploadsAsync(limit.Token))).ConfigureAwait(false);
        }

        private static readonly TimeSpan AbandonTimeout = TimeSpan.FromSeconds(5);
    }
}
