using System;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.Core.Sync
{
    /// <summary>A limit on operations in flight across every image and destination: the run has one for blob transfers and one for small requests.</summary>
    internal sealed class ConcurrencyGate
    {
        private readonly SemaphoreSlim _slots;
        private int _inFlight;
        private int _peak;

        public ConcurrencyGate(int limit)
        {
            Limit = limit;
            _slots = new SemaphoreSlim(limit, limit);
        }

        public int Limit { get; }
        /// <summary>Most operations ever in flight at once.</summary>
        public int Peak => Volatile.Read(ref _peak);

        /// <summary>A slot held until the lease is disposed (once; later disposals do nothing): for work that gives its slot back before it ends.</summary>
        public async Task<Lease> EnterAsync(CancellationToken ct)
        {
            await _slots.WaitAsync(ct).ConfigureAwait(false);
            var now = Interlocked.Increment(ref _inFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, seen) != seen) { }
            return new Lease(this);
        }

        public sealed class Lease : IDisposable
        {
            private ConcurrencyGate? _gate;
            internal Lease(ConcurrencyGate gate) => _gate = gate;

            public void Dispose()
            {
                var gate = Interlocked.Exchange(ref _gate, null);
                if (gate == null) return;
                Interlocked.Decrement(ref gate._inFlight);
                gate._slots.Release();
            }
        }

        public Task RunAsync(Func<Task> work, CancellationToken ct) =>
            RunAsync(async () => { await work().ConfigureAwait(false); return true; }, ct);

        public async Task<T> RunAsync<T>(Func<Task<T>> work, CancellationToken ct)
        {
            await _slots.WaitAsync(ct).ConfigureAwait(false);
            var now = Interlocked.Increment(ref _inFlight);
            int seen;
            while (now > (seen = Volatile.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, now, seen) != seen) { }
            try
            {
                return await work().ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
                _slots.Release();
            }
        }
    }
}
