using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Sync;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>The gate's order and accounting: copy work before planning work, cancelled waiters skipped, no slot lost.</summary>
public sealed class ConcurrencyGateTests
{
    [Fact]
    public async Task A_freed_slot_goes_to_copy_work_before_planning_work_that_waited_longer()
    {
        var gate = new ConcurrencyGate(1);
        var holder = await gate.EnterAsync(CancellationToken.None);
        var order = new List<string>();
        var planning = Queue(gate, GatePriority.Planning, "plan", order, 3);
        var copying = Queue(gate, GatePriority.Copying, "copy", order, 2);

        holder.Dispose();
        await Task.WhenAll(planning);
        await Task.WhenAll(copying);

        Assert.Equal(new[] { "copy0", "copy1", "plan0", "plan1", "plan2" }, order);
        Assert.Equal(1, gate.Peak);
    }

    [Fact]
    public async Task A_cancelled_waiter_gives_its_turn_to_the_next_and_no_slot_is_lost()
    {
        var gate = new ConcurrencyGate(1);
        var holder = await gate.EnterAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var cancelled = gate.EnterAsync(cancel.Token);
        var next = gate.EnterAsync(CancellationToken.None);

        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        holder.Dispose();
        using (await next) { }
        // Both slots' worth of work still gets through one at a time: nothing leaked, nothing doubled.
        using (await gate.EnterAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5))) { }
        Assert.Equal(1, gate.Peak);
    }

    [Fact]
    public async Task Never_more_than_the_limit_in_flight_under_contention()
    {
        var gate = new ConcurrencyGate(4);
        var now = 0;
        var seen = 0;
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => gate.RunAsync(async () =>
        {
            var n = Interlocked.Increment(ref now);
            InterlockedMax(ref seen, n);
            await Task.Yield();
            Interlocked.Decrement(ref now);
        }, CancellationToken.None, i % 2 == 0 ? GatePriority.Copying : GatePriority.Planning)));

        Assert.InRange(seen, 1, 4);
        Assert.InRange(gate.Peak, 1, 4);
    }

    private static List<Task> Queue(ConcurrencyGate gate, GatePriority priority, string name, List<string> order, int count)
    {
        var tasks = new List<Task>();
        for (int i = 0; i < count; i++)
        {
            var label = name + i;
            tasks.Add(gate.RunAsync(() => { lock (order) order.Add(label); return Task.CompletedTask; }, CancellationToken.None, priority));
        }
        return tasks;
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while (value > (seen = Volatile.Read(ref target)) && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }
}
