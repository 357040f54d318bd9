using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.Core.Sync
{
    /// <summary>Which waiters a freed slot goes to first.</summary>
    internal enum GatePriority
    {
        /// <summary>Work on an image already being copied: it finishes images, so it goes first.</summary>
        Copying = 0,
        /// <summary>Listing and HEADs that plan images not yet started: they wait while copy work waits.</summary>
        Planning = 1,
    }

    /// <summary>
    /// A limit on operations in flight across every image and destination: the run has one for blob transfers
    /// and one per store for small requests. A freed slot goes to copy work before planning work, so on a run
    /// of 100,000 images the first copies do not queue behind every planning HEAD (a plain FIFO would make them).
    /// </summary>
    internal sealed class ConcurrencyGate
    {
        private readonly object _lock = new object();
        private readonly Queue<Waiter>[] _waiting = { new Queue<Waiter>(), new Queue<Waiter>() };
        private int _free;
        private int _inFlight;
        private int _peak;

        public ConcurrencyGate(int limit)
        {
            if (limit < 1) throw new ArgumentOutOfRangeException(nameof(limit), limit, "A gate needs at least one slot.");
            Limit = limit;
            _free = limit;
        }

        public int Limit { get; }
        /// <summary>Most operations ever in flight at once.</summary>
        public int Peak => Volatile.Read(ref _peak);

        /// <summary>A slot held until the lease is disposed (once; later disposals do nothing): for work that gives its slot back before it ends.</summary>
        public async Task<Lease> EnterAsync(CancellationToken ct, GatePriority priority = GatePriority.Copying)
        {
            await WaitAsync(priority, ct).ConfigureAwait(false);
            return new Lease(this);
        }

        public sealed class Lease : IDisposable
        {
            private ConcurrencyGate? _gate;
            internal Lease(ConcurrencyGate gate) => _gate = gate;

            public void Dispose() => Interlocked.Exchange(ref _gate, null)?.Release();
        }

        public Task RunAsync(Func<Task> work, CancellationToken ct, GatePriority priority = GatePriority.Copying) =>
            RunAsync(async () => { await work().ConfigureAwait(false); return true; }, ct, priority);

        public async Task<T> RunAsync<T>(Func<Task<T>> work, CancellationToken ct, GatePriority priority = GatePriority.Copying)
        {
            await WaitAsync(priority, ct).ConfigureAwait(false);
            try
            {
                return await work().ConfigureAwait(false);
            }
            finally
            {
                Release();
            }
        }

        private Task WaitAsync(GatePriority priority, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            lock (_lock)
            {
                if (_free > 0)
                {
                    _free--;
                    Entered();
                    return Task.CompletedTask;
                }
                var waiter = new Waiter();
                _waiting[(int)priority].Enqueue(waiter);
                // A cancelled waiter stays queued until a release passes it over; its task ends at once.
                if (ct.CanBeCanceled) waiter.Cancellation = ct.Register(() => waiter.Slot.TrySetCanceled(ct));
                return waiter.Slot.Task;
            }
        }

        private void Release()
        {
            while (true)
            {
                Waiter next;
                lock (_lock)
                {
                    _inFlight--;
                    if (_waiting[0].Count > 0) next = _waiting[0].Dequeue();
                    else if (_waiting[1].Count > 0) next = _waiting[1].Dequeue();
                    else
                    {
                        _free++;
                        return;
                    }
                    Entered(); // the slot passes straight to the waiter
                }
                next.Cancellation.Dispose();
                if (next.Slot.TrySetResult(true)) return;
                // That waiter was cancelled: the slot goes to the next one (the loop gives the in-flight count back first).
            }
        }

        // Called under the lock.
        private void Entered()
        {
            _inFlight++;
            if (_inFlight > _peak) Volatile.Write(ref _peak, _inFlight);
        }

        private sealed class Waiter
        {
            // Continuations run elsewhere: a release does not run the next operation on its own stack.
            public TaskCompletionSource<bool> Slot { get; } = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            public CancellationTokenRegistration Cancellation;
        }
    }
}
