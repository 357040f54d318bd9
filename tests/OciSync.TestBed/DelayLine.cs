using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;

namespace OciSync.TestBed;

/// <summary>
/// One direction of an emulated wide-area link, shared by every connection through the
/// <see cref="DelayLine"/>: bytes are sent one after another at the link's bandwidth (so parallel
/// connections share it, as on a real uplink) and arrive one-way-delay later.
/// </summary>
internal sealed class LinkDirection
{
    private readonly double _bytesPerSecond;
    private readonly TimeSpan _delay;
    private readonly object _lock = new();
    private long _freeAtTicks; // Stopwatch ticks when the link has sent everything queued so far

    internal LinkDirection(double bytesPerSecond, TimeSpan delay)
    {
        _bytesPerSecond = bytesPerSecond;
        _delay = delay;
    }

    /// <summary>When <paramref name="bytes"/> read now arrive at the far end (Stopwatch ticks).</summary>
    internal long Schedule(int bytes)
    {
        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        long sent;
        lock (_lock)
        {
            var start = Math.Max(now, _freeAtTicks);
            var transmit = _bytesPerSecond > 0 ? (long)(bytes / _bytesPerSecond * System.Diagnostics.Stopwatch.Frequency) : 0;
            _freeAtTicks = start + transmit;
            sent = _freeAtTicks;
        }
        return sent + (long)(_delay.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
    }
}

/// <summary>
/// A TCP delay line in front of one upstream (a registry): what a client 20 ms and a shared 500 Mbit/s
/// away from it sees. Each direction has a one-way delay and a bandwidth shared by all connections; a
/// new connection pays one round trip before its first byte (the TCP handshake); each connection keeps
/// at most <see cref="WindowBytes"/> in flight per direction (a receive window), so a reader that stops
/// reading stops the sender. Counts connections and the bytes each way.
/// </summary>
public sealed class DelayLine : IAsyncDisposable
{
    /// <summary>Bytes one connection may have in flight per direction; large enough not to limit one stream at 40 ms and 1 Gbit/s.</summary>
    public const int WindowBytes = 8 * 1024 * 1024;
    private const int ChunkBytes = 64 * 1024;
    private readonly TcpListener _listener;
    private readonly IPEndPoint _upstream;
    private readonly LinkDirection _toUpstream;
    private readonly LinkDirection _toClient;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = new();
    private readonly Task _accepting;
    private int _connectionCount;
    private long _bytesUp, _bytesDown;

    private DelayLine(IPEndPoint upstream, TimeSpan rtt, double megabitsPerSecond)
    {
        _upstream = upstream;
        Rtt = rtt;
        MegabitsPerSecond = megabitsPerSecond;
        var bytesPerSecond = megabitsPerSecond > 0 ? megabitsPerSecond * 1_000_000 / 8 : 0;
        _toUpstream = new LinkDirection(bytesPerSecond, rtt / 2);
        _toClient = new LinkDirection(bytesPerSecond, rtt / 2);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start(512);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>A delay line to <paramref name="upstreamHost"/> (<c>127.0.0.1:5000</c>) on a free loopback port.</summary>
    /// <param name="megabitsPerSecond">Shared per direction; 0 = unlimited.</param>
    public static DelayLine Start(string upstreamHost, TimeSpan rtt, double megabitsPerSecond)
    {
        var colon = upstreamHost.LastIndexOf(':');
        var address = IPAddress.Parse(upstreamHost[..colon].Trim('[', ']'));
        return new DelayLine(new IPEndPoint(address, int.Parse(upstreamHost[(colon + 1)..])), rtt, megabitsPerSecond);
    }

    public int Port { get; }
    /// <summary>Where clients connect: <c>127.0.0.1:port</c>.</summary>
    public string Host => $"127.0.0.1:{Port}";
    public TimeSpan Rtt { get; }
    public double MegabitsPerSecond { get; }
    /// <summary>TCP connections accepted so far (each paid one round trip to open).</summary>
    public int Connections => Volatile.Read(ref _connectionCount);
    public long BytesToUpstream => Interlocked.Read(ref _bytesUp);
    public long BytesToClient => Interlocked.Read(ref _bytesDown);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (SocketException) { continue; }
            Interlocked.Increment(ref _connectionCount);
            lock (_connections)
            {
                _connections.RemoveAll(t => t.IsCompleted);
                _connections.Add(Task.Run(() => ServeAsync(client)));
            }
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var upstream = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try
        {
            // SYN, SYN-ACK: the client's first byte can leave one round trip after it connected.
            await Task.Delay(Rtt, _stop.Token).ConfigureAwait(false);
            await upstream.ConnectAsync(_upstream, _stop.Token).ConfigureAwait(false);
            using var done = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            var up = PumpAsync(client, upstream, _toUpstream, b => Interlocked.Add(ref _bytesUp, b), done.Token);
            var down = PumpAsync(upstream, client, _toClient, b => Interlocked.Add(ref _bytesDown, b), done.Token);
            await Task.WhenAny(up, down).ConfigureAwait(false);
            // One side closed: let the other finish delivering what is in flight, then close both.
            await Task.WhenAll(up, down).WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException || e is SocketException || e is TimeoutException || e is ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    /// <summary>Reads from one socket, delivers to the other at the scheduled times; a FIN is delivered after the data before it.</summary>
    private static async Task PumpAsync(Socket from, Socket to, LinkDirection link, Action<int> count, CancellationToken ct)
    {
        // The window: at most WindowBytes read and not yet delivered.
        var window = new SemaphoreSlim(WindowBytes / ChunkBytes, WindowBytes / ChunkBytes);
        var queue = Channel.CreateUnbounded<(byte[] Data, int Length, long DueTicks)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var writer = Task.Run(async () =>
        {
            try
            {
                await foreach (var (data, length, due) in queue.Reader.ReadAllAsync(ct).ConfigureAwait(false))
                {
                    var wait = due - System.Diagnostics.Stopwatch.GetTimestamp();
                    if (wait > 0) await Task.Delay(TimeSpan.FromSeconds((double)wait / System.Diagnostics.Stopwatch.Frequency), ct).ConfigureAwait(false);
                    if (length == 0) { to.Shutdown(SocketShutdown.Send); return; }
                    await to.SendAsync(data.AsMemory(0, length), SocketFlags.None, ct).ConfigureAwait(false);
                    window.Release();
                }
            }
            catch (Exception e) when (e is SocketException || e is OperationCanceledException || e is ObjectDisposedException)
            {
                from.Dispose(); // the far side is gone: stop reading
            }
        }, ct);
        try
        {
            while (true)
            {
                await window.WaitAsync(ct).ConfigureAwait(false);
                var buffer = new byte[ChunkBytes];
                int read;
                try { read = await from.ReceiveAsync(buffer, SocketFlags.None, ct).ConfigureAwait(false); }
                catch (Exception e) when (e is SocketException || e is ObjectDisposedException) { read = 0; }
                count(read);
                queue.Writer.TryWrite((buffer, read, link.Schedule(read)));
                if (read == 0) break;
            }
        }
        finally
        {
            queue.Writer.TryComplete();
        }
        await writer.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _accepting.ConfigureAwait(false); } catch (Exception) { }
        Task[] open;
        lock (_connections) open = _connections.ToArray();
        try { await Task.WhenAll(open).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); } catch (Exception) { }
        _stop.Dispose();
    }

    public override string ToString() => $"delay line {Host} -> {_upstream} ({Rtt.TotalMilliseconds:0} ms RTT, {(MegabitsPerSecond > 0 ? $"{MegabitsPerSecond:0} Mbit/s" : "unlimited")})";
}
