using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.TestBed;

/// <summary>What the fault proxy can do to one HTTP exchange.</summary>
public enum FaultKind
{
    /// <summary>429 with Retry-After; the request is not forwarded.</summary>
    RateLimited,
    /// <summary>500, 502 or 503; the request is not forwarded.</summary>
    ServerError,
    /// <summary>The request is forwarded and done upstream, but the client gets 500, 502 or 503.</summary>
    ServerErrorAfterUpstream,
    /// <summary>The request is forwarded and answered upstream; the client's connection is reset instead of answered.</summary>
    ResetBeforeResponse,
    /// <summary>Part of the response body, then a TCP reset.</summary>
    ResetMidBody,
    /// <summary>Content-Length announces N bytes, fewer are sent, then the connection closes (FIN).</summary>
    TruncatedBody,
    /// <summary>The whole response body with one byte changed.</summary>
    FlippedByte,
    /// <summary>The response body pauses part way for less than the client's idle timeout.</summary>
    StallMidBody,
    /// <summary>The response body pauses part way for longer than the client's idle timeout.</summary>
    LongStallMidBody,
    /// <summary>The proxy reads part of an upload, then resets the client's connection.</summary>
    ResetMidUpload,
    /// <summary>The proxy stops reading an upload for less than the client's idle timeout.</summary>
    StallMidUpload,
    /// <summary>The proxy stops reading an upload for longer than the client's idle timeout.</summary>
    LongStallMidUpload,
    /// <summary>One byte of an upload is changed on its way upstream.</summary>
    FlippedUploadByte,
    /// <summary>Response headers are held back for the schedule's <see cref="FaultSchedule.SlowDelay"/> (a slow token endpoint).</summary>
    SlowResponse,
    /// <summary>Response headers are held back for <see cref="FaultSchedule.TimedOutDelay"/>, longer than the client waits.</summary>
    TimedOutResponse,
}

/// <summary>Registry (and token) requests as the proxy tells them apart.</summary>
public enum RequestClass { Ping, ManifestHead, ManifestGet, ManifestPut, BlobHead, BlobGet, UploadStart, UploadPut, UploadOther, Token, Other }

/// <summary>
/// Which exchanges get which fault. Each exchange is decided by its own <c>System.Random</c>, seeded
/// from the seed, the request (method and path, upload session ids removed) and how many times that
/// request was seen before, so the n-th try of a given request meets the same fault in every run with
/// the same seed, however concurrent requests interleave.
/// </summary>
public sealed class FaultSchedule
{
    public FaultSchedule(int seed, double rate)
    {
        if (rate < 0 || rate > 1) throw new ArgumentOutOfRangeException(nameof(rate));
        Seed = seed;
        Rate = rate;
    }

    public int Seed { get; }
    /// <summary>Chance that an exchange of a class listed in <see cref="Kinds"/> gets a fault.</summary>
    public double Rate { get; }

    /// <summary>The faults each class of request may get, equally likely; a class not listed gets none.</summary>
    public Dictionary<RequestClass, FaultKind[]> Kinds { get; } = new()
    {
        [RequestClass.Ping] = new[] { FaultKind.RateLimited, FaultKind.ServerError },
        [RequestClass.ManifestHead] = new[] { FaultKind.RateLimited, FaultKind.ServerError, FaultKind.ResetBeforeResponse },
        [RequestClass.ManifestGet] = new[]
        {
            FaultKind.RateLimited, FaultKind.ServerError, FaultKind.ResetBeforeResponse, FaultKind.ResetMidBody,
            FaultKind.TruncatedBody, FaultKind.FlippedByte, FaultKind.StallMidBody,
        },
        [RequestClass.ManifestPut] = new[] { FaultKind.RateLimited, FaultKind.ServerError, FaultKind.ServerErrorAfterUpstream, FaultKind.ResetBeforeResponse },
        [RequestClass.BlobHead] = new[] { FaultKind.RateLimited, FaultKind.ServerError, FaultKind.ResetBeforeResponse },
        [RequestClass.BlobGet] = new[]
        {
            FaultKind.RateLimited, FaultKind.ServerError, FaultKind.ResetBeforeResponse, FaultKind.ResetMidBody,
            FaultKind.TruncatedBody, FaultKind.FlippedByte, FaultKind.StallMidBody, FaultKind.LongStallMidBody,
        },
        [RequestClass.UploadStart] = new[] { FaultKind.RateLimited, FaultKind.ServerError, FaultKind.ServerErrorAfterUpstream, FaultKind.ResetBeforeResponse },
        [RequestClass.UploadPut] = new[]
        {
            FaultKind.ServerError, FaultKind.ServerErrorAfterUpstream, FaultKind.ResetBeforeResponse, FaultKind.ResetMidUpload,
            FaultKind.StallMidUpload, FaultKind.LongStallMidUpload, FaultKind.FlippedUploadByte,
        },
        [RequestClass.Token] = new[] { FaultKind.ServerError, FaultKind.TimedOutResponse },
    };

    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Longest short stall; each lasts between a quarter of this and this.</summary>
    public TimeSpan ShortStall { get; init; } = TimeSpan.FromMilliseconds(300);
    public TimeSpan LongStall { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>Every answer waits this long before its headers (zero: none), counted as <see cref="FaultKind.SlowResponse"/>.</summary>
    public TimeSpan SlowDelay { get; init; } = TimeSpan.Zero;
    public TimeSpan TimedOutDelay { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>Body faults need at least this many body bytes (a 2-byte ping body is not worth cutting).</summary>
    public int MinBodyBytes { get; init; } = 64;

    public static FaultSchedule None => new(0, 0);

    /// <summary>Faults only <paramref name="kind"/> requests, with <paramref name="faults"/>.</summary>
    public FaultSchedule Only(RequestClass kind, params FaultKind[] faults)
    {
        Kinds.Clear();
        Kinds[kind] = faults;
        return this;
    }

    /// <summary>The fault for the <paramref name="occurrence"/>-th time (from 0) <paramref name="key"/> is seen, and the Random that places it.</summary>
    public (FaultKind? Kind, Random Random) Choose(RequestClass kind, string key, int occurrence)
    {
        var random = new Random(Mix(Seed, key, occurrence));
        if (Rate <= 0 || !Kinds.TryGetValue(kind, out var kinds) || kinds.Length == 0 || random.NextDouble() >= Rate) return (null, random);
        return (kinds[random.Next(kinds.Length)], random);
    }

    // FNV-1a: string.GetHashCode is randomised per process, this is not.
    private static int Mix(int seed, string key, int occurrence)
    {
        ulong h = 14695981039346656037UL;
        foreach (var c in $"{seed}|{key}|{occurrence}") { h ^= c; h *= 1099511628211UL; }
        return (int)(h ^ (h >> 32));
    }
}

/// <summary>
/// A TCP proxy on a free loopback port in front of one HTTP/1.1 server (a registry or the token
/// server), with real sockets and keep-alive. It parses requests and responses (Content-Length and
/// chunked bodies) and injects the faults its <see cref="FaultSchedule"/> picks: error statuses,
/// resets, bodies cut short or corrupted, stalls and slow answers. It counts what it injected by kind
/// and how many of those were followed by a clean exchange of the same request (a successful retry).
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private const int BufferSize = 64 * 1024;
    private readonly TcpListener _listener;
    private readonly string _upstreamHost;
    private readonly int _upstreamPort;
    private readonly bool _preserveHost;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();
    private readonly ConcurrentDictionary<FaultKind, int> _injected = new();
    private readonly ConcurrentDictionary<FaultKind, int> _retried = new();
    private readonly ConcurrentDictionary<string, int> _occurrences = new(StringComparer.Ordinal);
    // Faults per request key not yet followed by a clean exchange of that key.
    private readonly ConcurrentDictionary<string, List<FaultKind>> _pending = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _log = new();
    private readonly TaskCompletionSource _firstRequest = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _paceLock = new();
    private DateTime _paceNext = DateTime.MinValue;
    private long _toClient, _toUpstream;
    private int _exchanges, _connections, _disposed;

    private FaultProxy(TcpListener listener, string upstreamHost, int upstreamPort, FaultSchedule schedule, bool preserveHost)
    {
        _listener = listener;
        _upstreamHost = upstreamHost;
        _upstreamPort = upstreamPort;
        _preserveHost = preserveHost;
        Schedule = schedule;
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        _accept = Task.Run(AcceptLoopAsync);
    }

    /// <param name="upstream">The server proxied to, e.g. a registry's <see cref="RegistryServer.BaseUri"/> (plain HTTP only).</param>
    /// <param name="preserveHost">
    /// Forward the client's Host header (a registry then writes upload Locations that point back at the
    /// proxy); false sends the upstream's own host, which the token server's HttpListener insists on.
    /// </param>
    public static FaultProxy Start(Uri upstream, FaultSchedule schedule, bool preserveHost = true)
    {
        if (upstream.Scheme != "http") throw new ArgumentException("The fault proxy speaks plain HTTP only.", nameof(upstream));
        var listener = new TcpListener(IPAddress.Loopback, 0); // the OS picks the port: no race with other servers
        listener.Start(512);
        return new FaultProxy(listener, upstream.Host, upstream.Port, schedule, preserveHost);
    }

    public FaultSchedule Schedule { get; set; }
    public int Port { get; }
    public string Host => $"127.0.0.1:{Port}";
    public Uri BaseUri => new($"http://127.0.0.1:{Port}");

    /// <summary>Response header rewrites (plain text replace), e.g. a token realm pointed at another proxy.</summary>
    public List<(string From, string To)> ResponseHeaderRewrites { get; } = new();

    /// <summary>Caps response bytes per second to clients across all connections (0: no cap), to make a sync last.</summary>
    public long BytesPerSecond { get; set; }

    /// <summary>Completes when the first request arrives.</summary>
    public Task FirstRequest => _firstRequest.Task;

    public int Exchanges => Volatile.Read(ref _exchanges);
    /// <summary>Client connections accepted (with keep-alive, far fewer than exchanges).</summary>
    public int Connections => Volatile.Read(ref _connections);
    public long BytesToClients => Interlocked.Read(ref _toClient);
    public long BytesToUpstream => Interlocked.Read(ref _toUpstream);

    public IReadOnlyDictionary<FaultKind, int> Injected => _injected.ToDictionary(p => p.Key, p => p.Value);
    /// <summary>Faults followed by a clean exchange of the same request (a short stall or a slow answer that completes counts too).</summary>
    public IReadOnlyDictionary<FaultKind, int> RetriedOk => _retried.ToDictionary(p => p.Key, p => p.Value);
    public int TotalInjected => _injected.Values.Sum();

    /// <summary>One line per fault: request, occurrence, kind, detail.</summary>
    public IReadOnlyList<string> FaultLog => _log.ToArray();

    /// <summary>A table of faults by kind: injected, and followed by a clean retry of the same request.</summary>
    public string Report()
    {
        var sb = new StringBuilder();
        foreach (var kind in Enum.GetValues<FaultKind>())
        {
            if (!_injected.TryGetValue(kind, out var n)) continue;
            sb.Append(CultureInfo.InvariantCulture, $"  {kind,-26} {n,4} injected, {_retried.GetValueOrDefault(kind),4} followed by a clean retry\n");
        }
        sb.Append(CultureInfo.InvariantCulture, $"  {"total",-26} {TotalInjected,4} injected in {Exchanges} exchanges");
        return sb.ToString();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try { socket = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception) when (_stop.IsCancellationRequested) { return; }
            catch (SocketException) { continue; }
            socket.NoDelay = true;
            Interlocked.Increment(ref _connections);
            _ = Task.Run(() => ServeAsync(socket));
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        var client = new Peer(socket, _sockets);
        Peer? upstream = null;
        var ct = _stop.Token;
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var raw = await client.ReadHeadAsync(ct).ConfigureAwait(false);
                if (raw == null) return; // the client closed between requests
                var request = Head.Parse(raw);
                if (request == null) return; // not HTTP (a TLS probe, say): close, as a plain-HTTP server would
                _firstRequest.TrySetResult();
                var (keepAlive, next) = await ExchangeAsync(client, upstream, request, ct).ConfigureAwait(false);
                upstream = next;
                if (!keepAlive) return;
            }
        }
        catch (AbortException abort)
        {
            if (abort.Reset) client.Reset();
        }
        catch (Exception e) when (e is IOException || e is SocketException || e is OperationCanceledException || e is ObjectDisposedException || e is FormatException)
        {
            // A peer went away or spoke nonsense: this connection is over.
        }
        finally
        {
            client.Dispose();
            upstream?.Dispose();
        }
    }

    /// <summary>A registry's rate limits played in front of it (429s, a pull quota in ratelimit-* headers); null: none.</summary>
    public RateLimitScript? Limits { get; set; }

    /// <summary>One request and its answer, through <see cref="Limits"/> first when set.</summary>
    private async Task<(bool KeepAlive, Peer? Upstream)> ExchangeAsync(Peer client, Peer? upstream, Head request, CancellationToken ct)
    {
        var limits = Limits;
        if (limits == null) return await ExchangeCoreAsync(client, upstream, request, null, ct).ConfigureAwait(false);
        var kind = Classify(request.Method, request.Path);
        var (forward, retryAfter, remaining) = limits.Admit(kind);
        if (!forward)
        {
            Interlocked.Increment(ref _exchanges);
            await PumpAsync(client, null, Framing.OfRequest(request), null, toClient: false, new List<FaultKind>(), ct).ConfigureAwait(false);
            await client.WriteAsync(ErrorResponse(429, retryAfter, remaining is { } r ? limits.QuotaHeaders(r) : null), ct).ConfigureAwait(false);
            return (!request.HasToken("Connection", "close"), upstream);
        }
        try
        {
            return await ExchangeCoreAsync(client, upstream, request, kind is RequestClass.ManifestGet or RequestClass.ManifestHead ? remaining : null, ct).ConfigureAwait(false);
        }
        finally
        {
            limits.Done(kind);
        }
    }

    /// <summary>One request and its answer. Returns whether the client connection stays open, and the upstream connection to reuse.</summary>
    private async Task<(bool KeepAlive, Peer? Upstream)> ExchangeCoreAsync(Peer client, Peer? upstream, Head request, int? announceRemaining, CancellationToken ct)
    {
        Interlocked.Increment(ref _exchanges);
        var kind = Classify(request.Method, request.Path);
        var key = Key(request.Method, request.Target, kind);
        var occurrence = _occurrences.AddOrUpdate(key, 0, (_, n) => n + 1);
        var (fault, random) = Schedule.Choose(kind, key, occurrence);
        var applied = new List<FaultKind>();
        var requestBody = Framing.OfRequest(request);
        var clientWantsClose = request.HasToken("Connection", "close");

        // Answered by the proxy itself: the server never sees the request.
        if (fault is FaultKind.RateLimited or FaultKind.ServerError)
        {
            await PumpAsync(client, null, requestBody, null, toClient: false, applied, ct).ConfigureAwait(false);
            var status = fault == FaultKind.RateLimited ? 429 : ServerErrorStatus(random);
            Count(fault.Value, key, occurrence, $"{status}", applied);
            await client.WriteAsync(ErrorResponse(status, fault == FaultKind.RateLimited ? Schedule.RetryAfter : null), ct).ConfigureAwait(false);
            return (!clientWantsClose, upstream);
        }

        // A kept-alive upstream connection the server has since closed is replaced, not blamed on the client.
        if (upstream == null || upstream.IsStale) { upstream?.Dispose(); upstream = await ConnectAsync(ct).ConfigureAwait(false); }
        try
        {
            if (!_preserveHost) request.Set("Host", $"{_upstreamHost}:{_upstreamPort}");
            await upstream.WriteAsync(request.ToBytes(), ct).ConfigureAwait(false);
            BodyFault? uploadFault = null;
            if (fault is FaultKind.ResetMidUpload or FaultKind.StallMidUpload or FaultKind.LongStallMidUpload or FaultKind.FlippedUploadByte
                && requestBody.Length >= Schedule.MinBodyBytes)
                uploadFault = BodyFault.Create(fault.Value, requestBody.Length, random, Schedule, key, occurrence);
            await PumpAsync(client, upstream, requestBody, uploadFault, toClient: false, applied, ct).ConfigureAwait(false);

            Head response;
            while (true)
            {
                var rawResponse = await upstream.ReadHeadAsync(ct).ConfigureAwait(false)
                    ?? throw new IOException("The upstream closed without answering.");
                response = Head.Parse(rawResponse) ?? throw new FormatException("The upstream answered with something other than HTTP.");
                if (response.Status is >= 100 and < 200 && response.Status != 101)
                {
                    await client.WriteAsync(rawResponse, ct).ConfigureAwait(false);
                    continue;
                }
                break;
            }
            var responseBody = Framing.OfResponse(request, response);
            var upstreamWantsClose = response.HasToken("Connection", "close") || responseBody.UntilClose;

            if (fault == FaultKind.ServerErrorAfterUpstream)
            {
                await PumpAsync(upstream, null, responseBody, null, toClient: false, applied, ct).ConfigureAwait(false);
                var status = ServerErrorStatus(random);
                Count(fault.Value, key, occurrence, $"{status} instead of {response.Status}", applied);
                await client.WriteAsync(ErrorResponse(status, null), ct).ConfigureAwait(false);
                if (upstreamWantsClose) { upstream.Dispose(); upstream = null; }
                return (!clientWantsClose, upstream);
            }
            if (fault == FaultKind.ResetBeforeResponse)
            {
                Count(fault.Value, key, occurrence, $"instead of {response.Status}", applied);
                throw new AbortException(reset: true);
            }

            if (Schedule.SlowDelay > TimeSpan.Zero)
            {
                Count(FaultKind.SlowResponse, key, occurrence, $"{Schedule.SlowDelay.TotalMilliseconds:0} ms", applied);
                await Task.Delay(Schedule.SlowDelay, ct).ConfigureAwait(false);
            }
            if (fault == FaultKind.TimedOutResponse)
            {
                Count(fault.Value, key, occurrence, $"{Schedule.TimedOutDelay.TotalMilliseconds:0} ms", applied);
                await Task.Delay(Schedule.TimedOutDelay, ct).ConfigureAwait(false);
            }

            foreach (var (from, to) in ResponseHeaderRewrites) response.Replace(from, to);
            if (announceRemaining is { } left && Limits is { } script)
            {
                response.Set("ratelimit-limit", $"{script.PullQuota};w={script.QuotaWindowSeconds}");
                response.Set("ratelimit-remaining", $"{left};w={script.QuotaWindowSeconds}");
            }
            BodyFault? bodyFault = null;
            if (fault is FaultKind.ResetMidBody or FaultKind.TruncatedBody or FaultKind.FlippedByte or FaultKind.StallMidBody or FaultKind.LongStallMidBody
                && response.Status == 200 && responseBody.Length >= Schedule.MinBodyBytes)
                bodyFault = BodyFault.Create(fault.Value, responseBody.Length, random, Schedule, key, occurrence);
            await client.WriteAsync(response.ToBytes(), ct).ConfigureAwait(false);
            await PumpAsync(upstream, client, responseBody, bodyFault, toClient: true, applied, ct).ConfigureAwait(false);

            Settle(key, applied, response.Status < 500 && response.Status != 429);
            if (upstreamWantsClose) { upstream.Dispose(); upstream = null; return (false, null); }
            return (!clientWantsClose, upstream);
        }
        catch
        {
            upstream?.Dispose();
            throw;
        }
    }

    private void Count(FaultKind kind, string key, int occurrence, string detail, List<FaultKind> applied)
    {
        _injected.AddOrUpdate(kind, 1, (_, n) => n + 1);
        applied.Add(kind);
        _log.Enqueue($"{key} #{occurrence}: {kind} {detail}");
        if (Benign(kind)) return;
        // Pending from the moment it happens: a retry may finish before this exchange does (a held-back answer).
        var list = _pending.GetOrAdd(key, _ => new List<FaultKind>());
        lock (list) list.Add(kind);
    }

    private static bool Benign(FaultKind kind) => kind is FaultKind.StallMidBody or FaultKind.StallMidUpload or FaultKind.SlowResponse;

    /// <summary>
    /// An answer went through whole. Stalls and slow answers in it were survived in place; if it carried
    /// no other fault (a flipped byte arrives "whole" too) and no error status, it is the clean retry that
    /// settles the earlier faults of its request.
    /// </summary>
    private void Settle(string key, List<FaultKind> applied, bool okStatus)
    {
        foreach (var k in applied.Where(Benign)) _retried.AddOrUpdate(k, 1, (_, n) => n + 1);
        if (!okStatus || applied.Any(k => !Benign(k)) || !_pending.TryGetValue(key, out var list)) return;
        lock (list)
        {
            foreach (var k in list) _retried.AddOrUpdate(k, 1, (_, n) => n + 1);
            list.Clear();
        }
    }

    private async Task<Peer> ConnectAsync(CancellationToken ct)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(_upstreamHost == "localhost" ? IPAddress.Loopback.ToString() : _upstreamHost, _upstreamPort, ct).ConfigureAwait(false);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        return new Peer(socket, _sockets);
    }

    /// <summary>
    /// Copies one body from <paramref name="from"/> to <paramref name="to"/> (null: read and drop),
    /// re-framing chunked bodies, and applies <paramref name="fault"/> at its byte offset.
    /// </summary>
    private async Task PumpAsync(Peer from, Peer? to, Framing framing, BodyFault? fault, bool toClient, List<FaultKind> applied, CancellationToken ct)
    {
        if (framing.None) return;
        var buffer = new byte[BufferSize];
        long position = 0;

        async Task EmitAsync(Memory<byte> data)
        {
            while (fault != null && !fault.Applied && fault.At < position + data.Length)
            {
                int cut = (int)(fault.At - position);
                if (fault.Kind is FaultKind.FlippedByte or FaultKind.FlippedUploadByte)
                {
                    var at = FlipByte(data.Span, cut, fault.Mask);
                    fault.Applied = true;
                    Count(fault.Kind, fault.Key, fault.Occurrence, $"at byte {position + at} of {framing.Length}", applied);
                    break;
                }
                await WriteDataAsync(data[..cut]).ConfigureAwait(false);
                position += cut;
                data = data[cut..];
                fault.Applied = true;
                Count(fault.Kind, fault.Key, fault.Occurrence, $"at byte {fault.At} of {framing.Length}" +
                    (fault.Stall > TimeSpan.Zero ? $" for {fault.Stall.TotalMilliseconds:0} ms" : ""), applied);
                switch (fault.Kind)
                {
                    case FaultKind.ResetMidBody or FaultKind.ResetMidUpload:
                        throw new AbortException(reset: true);
                    case FaultKind.TruncatedBody:
                        throw new AbortException(reset: false);
                    default: // a stall: hold the bytes (or stop reading the upload), then carry on
                        await Task.Delay(fault.Stall, ct).ConfigureAwait(false);
                        break;
                }
            }
            await WriteDataAsync(data).ConfigureAwait(false);
            position += data.Length;
        }

        async Task WriteDataAsync(Memory<byte> data)
        {
            if (data.Length == 0 || to == null) return;
            if (toClient) await PaceAsync(data.Length, ct).ConfigureAwait(false);
            if (framing.Chunked)
            {
                await to.WriteAsync(Encoding.ASCII.GetBytes(data.Length.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), ct).ConfigureAwait(false);
                await to.WriteAsync(data, ct).ConfigureAwait(false);
                await to.WriteAsync("\r\n"u8.ToArray(), ct).ConfigureAwait(false);
            }
            else
            {
                await to.WriteAsync(data, ct).ConfigureAwait(false);
            }
            if (toClient) Interlocked.Add(ref _toClient, data.Length);
            else Interlocked.Add(ref _toUpstream, data.Length);
        }

        if (framing.Chunked)
        {
            while (true)
            {
                var line = await from.ReadLineAsync(ct).ConfigureAwait(false);
                var sizeText = line.Split(';')[0].Trim();
                long size = long.Parse(sizeText, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                if (size == 0)
                {
                    while ((await from.ReadLineAsync(ct).ConfigureAwait(false)).Length > 0) { } // trailers
                    if (to != null) await to.WriteAsync("0\r\n\r\n"u8.ToArray(), ct).ConfigureAwait(false);
                    return;
                }
                await CopyExactAsync(size).ConfigureAwait(false);
                if ((await from.ReadLineAsync(ct).ConfigureAwait(false)).Length != 0) throw new FormatException("A chunk did not end with CRLF.");
            }
        }
        if (framing.UntilClose)
        {
            int n;
            while ((n = await from.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0) await EmitAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
            return;
        }
        await CopyExactAsync(framing.Length).ConfigureAwait(false);

        async Task CopyExactAsync(long count)
        {
            while (count > 0)
            {
                int n = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), ct).ConfigureAwait(false);
                if (n == 0) throw new IOException("The body ended early.");
                count -= n;
                await EmitAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
            }
        }
    }

    private static int FlipByte(Span<byte> data, int at, byte mask)
    {
        data[at] ^= mask;
        return at;
    }

    // The first lowercase hex digit from 'at' on (else before it) becomes another hex digit.

    // One budget across all connections: each write waits for its share of the second.
    private async Task PaceAsync(int bytes, CancellationToken ct)
    {
        var rate = BytesPerSecond;
        if (rate <= 0) return;
        TimeSpan wait;
        lock (_paceLock)
        {
            var now = DateTime.UtcNow;
            if (_paceNext < now) _paceNext = now;
            wait = _paceNext - now;
            _paceNext += TimeSpan.FromSeconds((double)bytes / rate);
        }
        if (wait > TimeSpan.FromMilliseconds(1)) await Task.Delay(wait, ct).ConfigureAwait(false);
    }

    private static int ServerErrorStatus(Random random) => new[] { 500, 502, 503 }[random.Next(3)];

    private static byte[] ErrorResponse(int status, TimeSpan? retryAfter, string? extraHeaders = null)
    {
        var reason = status switch { 429 => "Too Many Requests", 500 => "Internal Server Error", 502 => "Bad Gateway", _ => "Service Unavailable" };
        var code = status == 429 ? "TOOMANYREQUESTS" : "UNAVAILABLE";
        var body = $"{{\"errors\":[{{\"code\":\"{code}\",\"message\":\"injected by the fault proxy\"}}]}}";
        var head = $"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n" +
                   (retryAfter is { } r ? $"Retry-After: {(int)Math.Ceiling(r.TotalSeconds)}\r\n" : "") + extraHeaders + "\r\n";
        return Encoding.ASCII.GetBytes(head + body);
    }

    public static RequestClass Classify(string method, string path)
    {
        if (path.StartsWith("/token", StringComparison.Ordinal)) return RequestClass.Token;
        if (path == "/v2/" || path == "/v2") return RequestClass.Ping;
        if (path.Contains("/manifests/", StringComparison.Ordinal))
            return method switch { "HEAD" => RequestClass.ManifestHead, "GET" => RequestClass.ManifestGet, "PUT" => RequestClass.ManifestPut, _ => RequestClass.Other };
        if (path.Contains("/blobs/uploads/", StringComparison.Ordinal))
            return method switch { "POST" => RequestClass.UploadStart, "PUT" => RequestClass.UploadPut, _ => RequestClass.UploadOther };
        if (path.Contains("/blobs/", StringComparison.Ordinal))
            return method switch { "HEAD" => RequestClass.BlobHead, "GET" => RequestClass.BlobGet, _ => RequestClass.Other };
        return RequestClass.Other;
    }

    /// <summary>The same request across retries: upload session ids and state dropped, the digest kept.</summary>
    private static string Key(string method, string target, RequestClass kind)
    {
        if (kind is RequestClass.UploadPut or RequestClass.UploadOther)
        {
            int q = target.IndexOf('?');
            var path = q < 0 ? target : target[..q];
            var dir = path[..(path.IndexOf("/blobs/uploads/", StringComparison.Ordinal) + "/blobs/uploads/".Length)];
            var digest = q < 0 ? "" : target[(q + 1)..].Split('&').FirstOrDefault(p => p.StartsWith("digest=", StringComparison.Ordinal)) ?? "";
            return $"{method} {dir} {Uri.UnescapeDataString(digest)}";
        }
        return $"{method} {target}";
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _stop.Cancel();
        _listener.Stop();
        try { await _accept.ConfigureAwait(false); } catch { /* stopping */ }
        foreach (var s in _sockets.Keys) { try { s.Dispose(); } catch (ObjectDisposedException) { } }
        _stop.Dispose();
    }

    public override string ToString() => $"fault proxy {Host} -> {_upstreamHost}:{_upstreamPort}";

    /// <summary>Ends the connection: with a reset (RST) or a plain close (FIN).</summary>
    private sealed class AbortException : Exception
    {
        public AbortException(bool reset) : base(reset ? "reset" : "closed") => Reset = reset;
        public bool Reset { get; }
    }

    /// <summary>A fault placed at one byte of a body.</summary>
    private sealed class BodyFault
    {
        public FaultKind Kind { get; private init; }
        public long At { get; private init; }
        public byte Mask { get; private init; }
        public TimeSpan Stall { get; private init; }
        public string Key { get; private init; } = "";
        public int Occurrence { get; private init; }
        public bool Applied { get; set; }

        public static BodyFault Create(FaultKind kind, long length, Random random, FaultSchedule schedule, string key, int occurrence) => new()
        {
            Kind = kind,
            At = random.NextInt64(0, length), // strictly before the end: a cut body is always short
            Mask = (byte)random.Next(1, 256),
            Stall = kind switch
            {
                FaultKind.StallMidBody or FaultKind.StallMidUpload => TimeSpan.FromMilliseconds(random.Next(
                    (int)schedule.ShortStall.TotalMilliseconds / 4, (int)schedule.ShortStall.TotalMilliseconds + 1)),
                FaultKind.LongStallMidBody or FaultKind.LongStallMidUpload => schedule.LongStall,
                _ => TimeSpan.Zero,
            },
            Key = key,
            Occurrence = occurrence,
        };
    }

    /// <summary>How a body is delimited.</summary>
    private readonly struct Framing
    {
        public bool None { get; private init; }
        public bool Chunked { get; private init; }
        public bool UntilClose { get; private init; }
        /// <summary>Content-Length, or -1 when unknown (chunked, until close).</summary>
        public long Length { get; private init; }

        public static Framing OfRequest(Head request)
        {
            if (request.HasToken("Transfer-Encoding", "chunked")) return new Framing { Chunked = true, Length = -1 };
            var length = request.ContentLength;
            return length is > 0 ? new Framing { Length = length.Value } : new Framing { None = true };
        }

        public static Framing OfResponse(Head request, Head response)
        {
            if (request.Method == "HEAD" || response.Status is 204 or 304 || response.Status < 200) return new Framing { None = true };
            if (response.HasToken("Transfer-Encoding", "chunked")) return new Framing { Chunked = true, Length = -1 };
            var length = response.ContentLength;
            if (length == 0) return new Framing { None = true };
            return length is > 0 ? new Framing { Length = length.Value } : new Framing { UntilClose = true, Length = -1 };
        }
    }

    /// <summary>The start line and headers of a request or response.</summary>
    private sealed class Head
    {
        private readonly List<(string Name, string Value)> _headers;
        private string _startLine;

        private Head(string startLine, List<(string, string)> headers) { _startLine = startLine; _headers = headers; }

        public string Method { get; private init; } = "";
        public string Target { get; private init; } = "";
        public string Path => Target.Split('?')[0];
        public int Status { get; private init; }

        public static Head? Parse(byte[] raw)
        {
            var text = Encoding.Latin1.GetString(raw);
            var lines = text.Split("\r\n");
            var parts = lines[0].Split(' ', 3);
            if (parts.Length < 2) return null;
            var headers = new List<(string, string)>();
            foreach (var line in lines.Skip(1))
            {
                if (line.Length == 0) continue;
                int colon = line.IndexOf(':');
                if (colon <= 0) return null;
                headers.Add((line[..colon].Trim(), line[(colon + 1)..].Trim()));
            }
            if (parts[0].StartsWith("HTTP/", StringComparison.Ordinal))
                return int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status) ? new Head(lines[0], headers) { Status = status } : null;
            if (parts.Length < 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal)) return null;
            return new Head(lines[0], headers) { Method = parts[0], Target = parts[1] };
        }

        public string? Get(string name) => _headers.Where(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

        public bool HasToken(string name, string token) => _headers.Any(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase) &&
            h.Value.Split(',').Any(v => v.Trim().Equals(token, StringComparison.OrdinalIgnoreCase)));

        public long? ContentLength => long.TryParse(Get("Content-Length"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;

        public void Set(string name, string value)
        {
            _headers.RemoveAll(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
            _headers.Add((name, value));
        }

        public void Replace(string from, string to)
        {
            for (int i = 0; i < _headers.Count; i++)
                _headers[i] = (_headers[i].Name, _headers[i].Value.Replace(from, to, StringComparison.Ordinal));
        }

        public byte[] ToBytes()
        {
            var sb = new StringBuilder(_startLine).Append("\r\n");
            foreach (var (name, value) in _headers) sb.Append(name).Append(": ").Append(value).Append("\r\n");
            return Encoding.Latin1.GetBytes(sb.Append("\r\n").ToString());
        }
    }

    /// <summary>One socket with a read buffer, so heads, chunk lines and bodies can be read in turn.</summary>
    private sealed class Peer : IDisposable
    {
        private readonly Socket _socket;
        private readonly NetworkStream _stream;
        private readonly ConcurrentDictionary<Socket, byte> _registry;
        private readonly byte[] _buffer = new byte[BufferSize];
        private int _start, _end;

        public Peer(Socket socket, ConcurrentDictionary<Socket, byte> registry)
        {
            _socket = socket;
            _registry = registry;
            registry[socket] = 0;
            _stream = new NetworkStream(socket, ownsSocket: true);
        }

        public bool Closed { get; private set; }

        /// <summary>Closed by the other side while idle (readable with nothing to read).</summary>
        public bool IsStale
        {
            get
            {
                if (Closed) return true;
                if (_end > _start) return false;
                try { return _socket.Poll(0, SelectMode.SelectRead) && _socket.Available == 0; }
                catch (Exception e) when (e is SocketException || e is ObjectDisposedException) { return true; }
            }
        }

        /// <summary>Bytes up to and including the blank line; null on a clean close before any byte.</summary>
        public async Task<byte[]?> ReadHeadAsync(CancellationToken ct)
        {
            while (true)
            {
                var span = _buffer.AsSpan(_start, _end - _start);
                int end = span.IndexOf("\r\n\r\n"u8);
                if (end >= 0)
                {
                    var head = span[..(end + 4)].ToArray();
                    _start += end + 4;
                    return head;
                }
                if (_end - _start > 0 && !IsTokenChar(_buffer[_start])) return Array.Empty<byte>(); // not HTTP
                if (!await FillAsync(ct).ConfigureAwait(false))
                {
                    if (_end == _start) return null;
                    throw new IOException("The connection closed in the middle of a header.");
                }
            }
        }

        public async Task<string> ReadLineAsync(CancellationToken ct)
        {
            while (true)
            {
                var span = _buffer.AsSpan(_start, _end - _start);
                int end = span.IndexOf("\r\n"u8);
                if (end >= 0)
                {
                    var line = Encoding.ASCII.GetString(span[..end]);
                    _start += end + 2;
                    return line;
                }
                if (!await FillAsync(ct).ConfigureAwait(false)) throw new IOException("The connection closed in the middle of a line.");
            }
        }

        public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken ct)
        {
            if (_end > _start)
            {
                int n = Math.Min(destination.Length, _end - _start);
                _buffer.AsMemory(_start, n).CopyTo(destination);
                _start += n;
                return n;
            }
            return await _stream.ReadAsync(destination, ct).ConfigureAwait(false);
        }

        public ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken ct) => _stream.WriteAsync(data, ct);

        private async Task<bool> FillAsync(CancellationToken ct)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            if (_end == _buffer.Length) throw new FormatException("A header is larger than the proxy's buffer.");
            int n = await _stream.ReadAsync(_buffer.AsMemory(_end), ct).ConfigureAwait(false);
            if (n == 0) return false;
            _end += n;
            return true;
        }

        // Request methods and "HTTP/" start with a letter; a TLS ClientHello starts with 0x16.
        private static bool IsTokenChar(byte b) => b is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z';

        /// <summary>Closes with a TCP reset (linger 0) instead of an orderly FIN.</summary>
        public void Reset()
        {
            try { _socket.LingerState = new LingerOption(true, 0); } catch (Exception e) when (e is SocketException || e is ObjectDisposedException) { }
            Dispose();
        }

        public void Dispose()
        {
            if (Closed) return;
            Closed = true;
            _registry.TryRemove(_socket, out _);
            try { _stream.Dispose(); } catch (Exception e) when (e is IOException || e is SocketException) { }
        }
    }
}
