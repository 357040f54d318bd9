using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Stores;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// The limit on small requests (HEADs, tag lists, manifests, blob checks, mounts, small blobs), one
    /// gate per store: across a network each costs a round trip and moves next to nothing, so a run keeps
    /// many in flight, yet never more than <see cref="SyncOptions.RequestConcurrency"/> at any one registry.
    /// </summary>
    internal sealed class RequestGates
    {
        private readonly int _limit;
        private readonly ConcurrentDictionary<string, ConcurrencyGate> _gates = new ConcurrentDictionary<string, ConcurrencyGate>(StringComparer.Ordinal);

        public RequestGates(int limitPerStore) => _limit = limitPerStore;

        /// <summary>Most small requests ever in flight at one store.</summary>
        public int Peak
        {
            get
            {
                var peak = 0;
                foreach (var gate in _gates.Values) peak = Math.Max(peak, gate.Peak);
                return peak;
            }
        }

        public Task<T> RunAsync<T>(IImageStore store, Func<Task<T>> work, CancellationToken ct, GatePriority priority = GatePriority.Copying) =>
            Gate(store).RunAsync(work, ct, priority);

        public Task RunAsync(IImageStore store, Func<Task> work, CancellationToken ct, GatePriority priority = GatePriority.Copying) =>
            Gate(store).RunAsync(work, ct, priority);

        /// <summary>
        /// Work that is a small request at two stores at once (a small blob: GET from one, PUT to the other) holds a
        /// slot at each; one when both are the same store. The slots are taken in the stores' name order, so two
        /// runs of such work in opposite directions cannot each hold one slot and wait for the other.
        /// </summary>
        public Task RunAsync(IImageStore source, IImageStore destination, Func<Task> work, CancellationToken ct)
        {
            var order = string.CompareOrdinal(source.Name, destination.Name);
            if (order == 0) return RunAsync(source, work, ct);
            var (first, second) = order < 0 ? (source, destination) : (destination, source);
            return RunAsync(first, () => RunAsync(second, work, ct), ct);
        }

        private ConcurrencyGate Gate(IImageStore store) => _gates.GetOrAdd(store.Name, _ => new ConcurrencyGate(_limit));
    }
}
