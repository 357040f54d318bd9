using System;
using System.Collections.Concurrent;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.TestBed;

/// <summary>
/// A plain HTTP forward proxy for tests: CONNECT opens a tunnel (https registries), an absolute-form request
/// (http registries) is relayed to the host it names, one request per connection (the registry takes absolute-form
/// request lines). It records what it saw: tunnels, relayed requests, and whether any request it
/// could read carried an Authorization header in clear text.
/// </summary>
public sealed class ForwardProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly ConcurrentQueue<string> _seen = new();
    private int _tunnels, _relayed, _clearAuthorization;

    public ForwardProxy()
    {
        _listener.Start(256);
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }
    public Uri Uri => new($"http://127.0.0.1:{Port}");
    public int Tunnels => Volatile.Read(ref _tunnels);
    public int Relayed => Volatile.Read(ref _relayed);
    /// <summary>Requests seen in clear text that carried an Authorization header.</summary>
    public int ClearAuthorization => Volatile.Read(ref _clearAuthorization);
    /// <summary>First lines of what came through: "CONNECT host:port" and "GET http://host/...".</summary>
    public string[] Seen => _seen.ToArray();

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try { client = await _listener.AcceptTcpClientAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (SocketException) { continue; }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                var head = await ReadHeadAsync(stream).ConfigureAwait(false);
                if (head == null) return;
                var firstLine = head.Substring(0, head.IndexOf("\r\n", StringComparison.Ordinal));
                _seen.Enqueue(firstLine.Length > 200 ? firstLine[..200] : firstLine);
                var parts = firstLine.Split(' ');
                string host;
                int port;
                byte[]? forward = null;
                if (parts[0] == "CONNECT")
                {
                    var authority = parts[1];
                    var colon = authority.LastIndexOf(':');
                    host = authority[..colon];
                    port = int.Parse(authority[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture);
                    Interlocked.Increment(ref _tunnels);
                }
                else
                {
                    var target = new Uri(parts[1]);
                    host = target.Host;
                    port = target.Port;
                    Interlocked.Increment(ref _relayed);
                    Note(head);
                    // One request per connection: the client may send its next request on this connection to
                    // another host, so the upstream closes after answering (and says so to the client).
                    var lines = head.Split("\r\n").Where(l => !l.StartsWith("Connection:", StringComparison.OrdinalIgnoreCase)
                        && !l.StartsWith("Proxy-Connection:", StringComparison.OrdinalIgnoreCase)).ToList();
                    lines.Insert(1, "Connection: close");
                    forward = Encoding.ASCII.GetBytes(string.Join("\r\n", lines));
                }
                using var upstream = new TcpClient();
                await upstream.ConnectAsync(host, port, _stop.Token).ConfigureAwait(false);
                var up = upstream.GetStream();
                if (forward == null)
                {
                    var ok = Encoding.ASCII.GetBytes("HTTP/1.1 200 Connection established\r\n\r\n");
                    await stream.WriteAsync(ok, _stop.Token).ConfigureAwait(false);
                }
                else await up.WriteAsync(forward, _stop.Token).ConfigureAwait(false);
                var toUpstream = PipeAsync(stream, up, inspect: forward != null);
                var toClient = PipeAsync(up, stream, inspect: false);
                await Task.WhenAny(toUpstream, toClient).ConfigureAwait(false);
            }
            catch (Exception e) when (e is System.IO.IOException || e is SocketException || e is OperationCanceledException || e is ObjectDisposedException || e is FormatException) { }
        }
    }

    private async Task PipeAsync(NetworkStream from, NetworkStream to, bool inspect)
    {
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await from.ReadAsync(buffer, _stop.Token).ConfigureAwait(false)) > 0)
        {
            // Later requests on a relayed (clear-text) connection: a header anywhere in the bytes is enough to count.
            if (inspect) Note(Encoding.ASCII.GetString(buffer, 0, n));
            await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token).ConfigureAwait(false);
        }
        to.Socket.Shutdown(SocketShutdown.Send);
    }

    private void Note(string text)
    {
        if (text.Contains("\r\nAuthorization:", StringComparison.OrdinalIgnoreCase)) Interlocked.Increment(ref _clearAuthorization);
    }

    private static async Task<string?> ReadHeadAsync(NetworkStream stream)
    {
        var bytes = new System.Collections.Generic.List<byte>();
        var one = new byte[1];
        while (bytes.Count < 64 * 1024)
        {
            if (await stream.ReadAsync(one).ConfigureAwait(false) == 0) return null;
            bytes.Add(one[0]);
            var c = bytes.Count;
            if (c >= 4 && bytes[c - 4] == '\r' && bytes[c - 3] == '\n' && bytes[c - 2] == '\r' && bytes[c - 1] == '\n') return Encoding.ASCII.GetString(bytes.ToArray());
        }
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _accept.ConfigureAwait(false); } catch { }
        _stop.Dispose();
    }
}
