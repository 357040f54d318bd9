using System;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.TestBed;

/// <summary>
/// A registry's rate limits as the fault proxy plays them (<see cref="FaultProxy.Limits"/>): so many requests per
/// fixed window, a 429 beyond (with or without Retry-After), and a pull quota (manifest GETs, as Docker Hub counts
/// them) announced in <c>ratelimit-limit</c>/<c>ratelimit-remaining</c> headers, refused with a 429 once used up.
/// It records what the client did: attempts per window, 429s, requests in flight.
/// </summary>
public sealed class RateLimitScript
{
    private readonly object _lock = new();
    private DateTime _windowStart = DateTime.MinValue;
    private int _inWindow, _attemptsInWindow, _inFlight;

    /// <summary>Requests admitted per window; the rest get 429 (pings and token requests are not counted).</summary>
    public int RequestsPerWindow { get; init; } = int.MaxValue;
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>A 429 says Retry-After (the rest of the window), or nothing.</summary>
    public bool SendRetryAfter { get; init; } = true;
    /// <summary>Manifest GETs allowed in all; null: no quota.</summary>
    public int? PullQuota { get; init; }
    /// <summary>The quota's window as announced (w=), in seconds.</summary>
    public int QuotaWindowSeconds { get; init; } = 21600;

    public int TooManyRequests => Volatile.Read(ref _tooMany);
    private int _tooMany;
    public int QuotaRefused => Volatile.Read(ref _quotaRefused);
    private int _quotaRefused;
    public int Pulls => Volatile.Read(ref _pulls);
    private int _pulls;
    /// <summary>Most requests the client tried in any one window, admitted or not.</summary>
    public int MaxAttemptsInWindow { get; private set; }
    /// <summary>Most requests in flight at once, sampled <see cref="PeakSampleDelay"/> after each admission.</summary>
    public int PeakInFlight { get; private set; }
    /// <summary>How long after admitting a request the in-flight count is sampled; shorter than the answers of a concurrency test.</summary>
    public TimeSpan PeakSampleDelay { get; init; } = TimeSpan.FromMilliseconds(20);
    public int Admitted => Volatile.Read(ref _admitted);
    private int _admitted;

    /// <summary>Whether to forward the request; if not, the Retry-After to send (null: none) and the remaining quota to announce.</summary>
    internal (bool Forward, TimeSpan? RetryAfter, int? Remaining) Admit(RequestClass kind)
    {
        if (kind is RequestClass.Ping or RequestClass.Token) return (true, null, null);
        lock (_lock)
        {
            var now = DateTime.UtcNow;
            if (now - _windowStart >= Window)
            {
                _windowStart = now;
                _inWindow = 0;
                _attemptsInWindow = 0;
            }
            _attemptsInWindow++;
            MaxAttemptsInWindow = Math.Max(MaxAttemptsInWindow, _attemptsInWindow);
            if (kind == RequestClass.ManifestGet && PullQuota is { } quota && _pulls >= quota)
            {
                _quotaRefused++;
                _tooMany++;
                return (false, null, 0);
            }
            if (_inWindow >= RequestsPerWindow)
            {
                _tooMany++;
                return (false, SendRetryAfter ? _windowStart + Window - now : null, Remaining);
            }
            _inWindow++;
            _admitted++;
            if (kind == RequestClass.ManifestGet && PullQuota != null) _pulls++;
            _inFlight++;
            // Sampled a moment after admission, not at it: a client may send its next request the instant it read the
            // last byte of an answer, before this proxy's own bookkeeping for that answer (Done) has run on a busy
            // machine. A real overlap lasts as long as an answer (tests make those slow), so it is still seen.
            _ = Task.Delay(PeakSampleDelay).ContinueWith(_ => { lock (_lock) PeakInFlight = Math.Max(PeakInFlight, _inFlight); }, TaskScheduler.Default);
            return (true, null, Remaining);
        }
    }

    internal void Done(RequestClass kind)
    {
        if (kind is RequestClass.Ping or RequestClass.Token) return;
        lock (_lock) _inFlight--;
    }

    /// <summary>Pulls left, for the headers; null without a quota.</summary>
    internal int? Remaining => PullQuota is { } q ? Math.Max(0, q - _pulls) : null;

    internal string QuotaHeaders(int remaining) =>
        $"ratelimit-limit: {PullQuota};w={QuotaWindowSeconds}\r\nratelimit-remaining: {remaining};w={QuotaWindowSeconds}\r\n";
}
