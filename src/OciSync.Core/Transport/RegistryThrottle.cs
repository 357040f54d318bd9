using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.Core.Transport
{
    /// <summary>
    /// One registry's pace, shared by every image and request of a run that goes to it. It applies the limits set
    /// for the registry (<see cref="RegistryLimits"/>) and learns the registry's own: a 429 or 503 pauses the whole
    /// registry (until Retry-After, else a back-off that doubles with each episode), halves how many requests may
    /// await an answer at once, and lets that grow back by one per window of successes. A pull quota announced in
    /// <c>ratelimit-remaining</c> (Docker Hub) is counted down; pulls it would not cover are refused here, as
    /// RegistryRateLimited, instead of being sent for a 429.
    /// </summary>
    internal sealed class RegistryThrottle
    {
        private static readonly TimeSpan MaxPause = TimeSpan.FromSeconds(60);
        private readonly object _lock = new object();
        private readonly string _registry;
        private readonly RegistryLimits? _limits;
        private readonly IOciLog _log;
        private readonly Queue<TaskCompletionSource<bool>> _waiting = new Queue<TaskCompletionSource<bool>>();
        private double _limit;           // requests that may await an answer at once (learned; infinity until the first slow-down)
        private int _inFlight;
        private DateTime _resumeAt = DateTime.MinValue;
        private DateTime _nextStart = DateTime.MinValue;
        private int _episode;             // slow-downs so far: a 429 from a request sent before the latest one is the same episode
        private int _backoffSteps;
        private int? _quotaLimit, _quotaRemaining, _quotaWindow;
        private int _pullsInFlight;
        private int _lastReportedRemaining = int.MaxValue;
        private DateTime _quotaSeen;
        private static readonly TimeSpan StaleQuota = TimeSpan.FromSeconds(30);

        public RegistryThrottle(string registry, RegistryLimits? limits, IOciLog log)
        {
            _registry = registry;
            _limits = limits != null && limits.IsDefault ? null : limits;
            _log = log;
            _limit = _limits?.MaxConcurrency ?? double.PositiveInfinity;
        }

        /// <summary>429 and 503 answers this registry gave (each one, not each episode).</summary>
        public int SlowDownAnswers => Volatile.Read(ref _slowDownAnswers);
        private int _slowDownAnswers;

        /// <summary>Pulls refused here because the registry's quota would not cover them.</summary>
        public int QuotaRefusals => Volatile.Read(ref _quotaRefusals);
        private int _quotaRefusals;

        /// <summary>A request's turn: waits out a pause, the rate and the concurrency. A pull the quota cannot cover throws.</summary>
        public async Task<Turn> EnterAsync(bool isPull, CancellationToken ct)
        {
            while (true)
            {
                TimeSpan wait;
                TaskCompletionSource<bool>? queued = null;
                Turn? turn = null;
                lock (_lock)
                {
                    var now = DateTime.UtcNow;
                    // A count older than StaleQuota is not trusted to refuse: the next pull goes out and brings a fresh one.
                    if (isPull && _quotaRemaining is { } remaining && remaining - _pullsInFlight <= 0 && now - _quotaSeen < StaleQuota)
                    {
                        _quotaRefusals++;
                        throw new RegistryException(ErrorIds.RegistryRateLimited,
                            $"{_registry}'s pull quota is used up ({remaining} of {_quotaLimit?.ToString(CultureInfo.InvariantCulture) ?? "?"} pulls left{Window()}, ratelimit-remaining): " +
                            "the pull is not sent; re-run the failed images when the window allows.");
                    }
                    wait = _resumeAt - now;
                    if (wait <= TimeSpan.Zero)
                    {
                        if (_inFlight >= _limit)
                        {
                            queued = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                            _waiting.Enqueue(queued);
                        }
                        else
                        {
                            // The rate: each start books the next free instant.
                            var start = _limits?.RequestsPerSecond != null && _nextStart > now ? _nextStart : now;
                            if (_limits?.RequestsPerSecond is { } perSecond) _nextStart = start + TimeSpan.FromSeconds(1 / perSecond);
                            _inFlight++;
                            if (isPull) _pullsInFlight++;
                            turn = new Turn(this, _episode, isPull);
                            wait = start - now;
                        }
                    }
                }
                if (turn != null) return wait <= TimeSpan.Zero ? turn : await DelayedAsync(turn, wait, ct).ConfigureAwait(false);
                if (queued != null)
                {
                    using (ct.Register(() => queued.TrySetCanceled(ct))) await queued.Task.ConfigureAwait(false);
                }
                else await Task.Delay(wait, ct).ConfigureAwait(false);
            }
        }

        private static async Task<Turn> DelayedAsync(Turn turn, TimeSpan wait, CancellationToken ct)
        {
            try { await Task.Delay(wait, ct).ConfigureAwait(false); }
            catch { turn.Dispose(); throw; }
            return turn;
        }

        /// <summary>What the answer says about the registry's pace; true when it asked to slow down (429, 503).</summary>
        public bool Observe(Turn turn, HttpResponseMessage response)
        {
            ReadQuota(response);
            // The answer's ratelimit-remaining has counted this pull: it is no longer one in flight.
            if (turn.EndPull()) lock (_lock) _pullsInFlight--;
            var status = (int)response.StatusCode;
            if (status != 429 && status != 503)
            {
                lock (_lock)
                {
                    // Additive increase: one more at once after a window's worth of good answers.
                    if (!double.IsPositiveInfinity(_limit) && _limit < Ceiling) _limit = Math.Min(Ceiling, _limit + 1 / Math.Max(1, _limit));
                    if (_backoffSteps > 0 && turn.Episode == _episode) _backoffSteps = 0;
                    WakeLocked();
                }
                return false;
            }
            Interlocked.Increment(ref _slowDownAnswers);
            var retryAfter = RetryAfter(response);
            lock (_lock)
            {
                // Answers to requests sent before the latest slow-down are that same episode: no second halving.
                if (turn.Episode != _episode) return true;
                _episode++;
                _backoffSteps++;
                // Without Retry-After: a 429 waits out a second (the usual window), a 503 (often a passing blip) a quarter; doubling per episode.
                var first = status == 429 ? 1000 : 250;
                var pause = retryAfter ?? TimeSpan.FromMilliseconds(Math.Min(MaxPause.TotalMilliseconds, first * Math.Pow(2, _backoffSteps - 1)));
                if (pause > MaxPause) pause = MaxPause;
                var resume = DateTime.UtcNow + pause;
                if (resume > _resumeAt) _resumeAt = resume;
                _limit = Math.Max(1, Math.Floor(Math.Min(_limit, _inFlight) / 2));
                _log.Write(OciLogLevel.Warning, $"{_registry} asked to slow down ({status}{(retryAfter != null ? ", Retry-After" : "")}): all its requests pause for {pause.TotalSeconds:0.0} s, then at most {_limit:0} await an answer at once, growing back as it answers.");
            }
            return true;
        }

        private double Ceiling => _limits?.MaxConcurrency ?? 256;

        private void Exit(Turn turn)
        {
            lock (_lock)
            {
                _inFlight--;
                if (turn.EndPull()) _pullsInFlight--;
                WakeLocked();
            }
        }

        private void WakeLocked()
        {
            var free = double.IsPositiveInfinity(_limit) ? int.MaxValue : (int)_limit - _inFlight;
            // A waiter that was cancelled meanwhile takes no slot: the wake goes to the next one.
            while (free > 0 && _waiting.Count > 0)
                if (_waiting.Dequeue().TrySetResult(true)) free--;
        }

        private void ReadQuota(HttpResponseMessage response)
        {
            var remaining = FirstNumber(response, "ratelimit-remaining", out var window);
            if (remaining == null) return;
            var limit = FirstNumber(response, "ratelimit-limit", out _);
            string? report = null;
            lock (_lock)
            {
                // Answers overtake each other: a higher count soon after a lower one is an older answer, not a new window.
                var now = DateTime.UtcNow;
                if (_quotaRemaining is { } known && remaining > known && now - _quotaSeen < StaleQuota) return;
                _quotaSeen = now;
                _quotaRemaining = remaining;
                if (limit != null) _quotaLimit = limit;
                if (window != null) _quotaWindow = window;
                // Said when first seen, at each tenth of the quota used, and for each of the last five.
                var step = Math.Max(1, (_quotaLimit ?? 100) / 10);
                if (_lastReportedRemaining == int.MaxValue || remaining <= 5 || remaining / step < _lastReportedRemaining / step)
                {
                    if (remaining < _lastReportedRemaining)
                    {
                        _lastReportedRemaining = remaining.Value;
                        report = $"{_registry}: {remaining} of {_quotaLimit?.ToString(CultureInfo.InvariantCulture) ?? "?"} pulls remain{Window()} (ratelimit-remaining).";
                    }
                }
            }
            if (report != null) _log.Write(remaining <= 0 ? OciLogLevel.Warning : OciLogLevel.Information, report);
        }

        private string Window() => _quotaWindow is { } w ? $" in its {w.ToString(CultureInfo.InvariantCulture)} s window" : "";

        // "76;w=21600" (Docker Hub), "76" (others).
        private static int? FirstNumber(HttpResponseMessage response, string header, out int? window)
        {
            window = null;
            if (!response.Headers.TryGetValues(header, out var values)) return null;
            var value = values.FirstOrDefault();
            if (value == null) return null;
            var parts = value.Split(';');
            if (!int.TryParse(parts[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var number)) return null;
            foreach (var p in parts.Skip(1))
            {
                var kv = p.Trim();
                if (kv.StartsWith("w=", StringComparison.Ordinal) && int.TryParse(kv.Substring(2), NumberStyles.None, CultureInfo.InvariantCulture, out var w)) window = w;
            }
            return number;
        }

        private static TimeSpan? RetryAfter(HttpResponseMessage response)
        {
            var header = response.Headers.RetryAfter;
            if (header == null) return null;
            var wait = header.Delta ?? (header.Date.HasValue ? header.Date.Value - DateTimeOffset.UtcNow : TimeSpan.Zero);
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }

        /// <summary>A request's place at the registry, given back when its answer has been read (disposing twice is harmless).</summary>
        internal sealed class Turn : IDisposable
        {
            private RegistryThrottle? _throttle;
            private int _pull;
            public Turn(RegistryThrottle throttle, int episode, bool isPull) { _throttle = throttle; Episode = episode; _pull = isPull ? 1 : 0; }
            public int Episode { get; }
            /// <summary>True the one time a pull's count in flight is ended (at its answer, or at the turn's end if none came).</summary>
            public bool EndPull() => Interlocked.Exchange(ref _pull, 0) == 1;
            public void Dispose() => Interlocked.Exchange(ref _throttle, null)?.Exit(this);
        }
    }

    /// <summary>
    /// Sends each attempt in its registry's turn (<see cref="RegistryThrottle"/>), held until the answer's body has been
    /// read, since the registry is busy with the request until then. Retrying stays the retry handler's (and -Retries'):
    /// a 429 or 503 here only sets the pause and the lower pace every request to that registry, its retries included, keeps.
    /// </summary>
    internal sealed class ThrottleHandler : DelegatingHandler
    {
        private readonly RegistryThrottle _throttle;

        public ThrottleHandler(RegistryThrottle throttle, HttpMessageHandler inner) : base(inner) => _throttle = throttle;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken ct)
        {
            // Docker Hub counts manifest GETs as pulls; HEADs and blobs are free.
            var isPull = request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath.Contains("/manifests/");
            var turn = await _throttle.EnterAsync(isPull, ct).ConfigureAwait(false);
            RequestScope.StartDeadline(request);
            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(request, ct).ConfigureAwait(false);
            }
            catch
            {
                turn.Dispose();
                throw;
            }
            _throttle.Observe(turn, response);
            // The registry is busy with a request until its body is sent: the turn ends with the body. Not a blob's: its
            // body feeds an upload that needs a turn of its own (at this registry too, in a copy within it), and a
            // stream holding one turn while it waits for another could wait forever; -Proc bounds blob streams.
            if (request.Method != HttpMethod.Head && !request.RequestUri!.AbsolutePath.Contains("/blobs/")
                && response.Content != null && response.Content.Headers.ContentLength != 0)
                response.Content = new TurnContent(response.Content, turn);
            else turn.Dispose();
            return response;
        }

        /// <summary>A response body that gives its request's turn back when it has been read to the end or disposed.</summary>
        private sealed class TurnContent : HttpContent
        {
            private readonly HttpContent _inner;
            private readonly IDisposable _turn;

            public TurnContent(HttpContent inner, IDisposable turn)
            {
                _inner = inner;
                _turn = turn;
                foreach (var header in inner.Headers) Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            protected override async Task<Stream> CreateContentReadStreamAsync() =>
                new EndingStream(await _inner.ReadAsStreamAsync().ConfigureAwait(false), _turn);

            protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
            {
                try { await _inner.CopyToAsync(stream).ConfigureAwait(false); }
                finally { _turn.Dispose(); }
            }

            protected override bool TryComputeLength(out long length)
            {
                length = 0;
                return false;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    _turn.Dispose();
                    _inner.Dispose();
                }
                base.Dispose(disposing);
            }
        }

        private sealed class EndingStream : Stream
        {
            private readonly Stream _inner;
            private readonly IDisposable _turn;
            public EndingStream(Stream inner, IDisposable turn) { _inner = inner; _turn = turn; }

            public override int Read(byte[] buffer, int offset, int count) => Ended(_inner.Read(buffer, offset, count));
            public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct) =>
                Ended(await _inner.ReadAsync(buffer, offset, count, ct).ConfigureAwait(false));

            private int Ended(int read)
            {
                if (read == 0) _turn.Dispose();
                return read;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing) { _turn.Dispose(); _inner.Dispose(); }
                base.Dispose(disposing);
            }

            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override void Flush() { }
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }
}
