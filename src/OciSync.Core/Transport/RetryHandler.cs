using System;
using System.Net;
using System.Net.Http;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;
using Polly;
using Polly.Retry;

namespace OciSync.Core.Transport
{
    /// <summary>What is retried and how long we wait, as data (see go-containerregistry remote/options.go).</summary>
    public sealed class RetryPolicy
    {
        /// <summary>Statuses a registry or its proxy uses for "try again later".</summary>
        public static readonly HttpStatusCode[] RetryableStatuses =
        {
            HttpStatusCode.RequestTimeout, (HttpStatusCode)429, HttpStatusCode.InternalServerError,
            HttpStatusCode.BadGateway, HttpStatusCode.ServiceUnavailable, HttpStatusCode.GatewayTimeout,
        };

        /// <summary>Retries after the first attempt, not attempts in all (0: the request is sent once).</summary>
        public int MaxAttempts { get; set; } = 4;
        /// <summary>The wait before the first retry, growing exponentially, with jitter, for each one after.</summary>
        public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);
        /// <summary>The longest wait between attempts, a Retry-After header's included.</summary>
        public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(60);
        /// <summary>How long to wait for response headers of one attempt. Body transfers have their own idle timeout.</summary>
        public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(100);

        /// <summary>True for the <see cref="RetryableStatuses"/>.</summary>
        public static bool IsRetryable(HttpStatusCode status) => Array.IndexOf(RetryableStatuses, status) >= 0;

        /// <summary>One attempt only, with the same response timeout.</summary>
        public RetryPolicy WithoutRetries() => new RetryPolicy { MaxAttempts = 0, BaseDelay = BaseDelay, MaxDelay = MaxDelay, ResponseTimeout = ResponseTimeout };

        /// <summary>The same retries with a response timeout no longer than <paramref name="timeout"/>.</summary>
        public RetryPolicy WithResponseTimeout(TimeSpan timeout) => new RetryPolicy
        {
            MaxAttempts = MaxAttempts,
            BaseDelay = BaseDelay,
            MaxDelay = MaxDelay,
            ResponseTimeout = timeout < ResponseTimeout ? timeout : ResponseTimeout,
        };

        /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for negative retries or delays, or a response timeout that is not positive.</summary>
        public void Validate()
        {
            if (MaxAttempts < 0) throw new ArgumentOutOfRangeException(nameof(MaxAttempts), "Retry attempts cannot be negative.");
            if (BaseDelay < TimeSpan.Zero || MaxDelay < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(BaseDelay), "Delays cannot be negative.");
            if (ResponseTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(ResponseTimeout), "The response timeout must be positive.");
        }
    }

    /// <summary>
    /// Retries idempotent, replayable requests on 408/429/5xx, resets and timeouts (a timeout only
    /// once) with jittered exponential backoff, honouring Retry-After. Streamed uploads are not replayed here; the
    /// copier retries the whole blob from a fresh source stream instead.
    /// </summary>
    internal sealed class RetryHandler : DelegatingHandler
    {
        private readonly RetryPolicy _policy;
        private readonly IOciLog _log;
        private readonly ResiliencePipeline<HttpResponseMessage> _pipeline;

        private readonly bool _deadlineStartsBelow;

        /// <param name="deadlineStartsBelow">A handler below (the registry's throttle) starts each attempt's response deadline when the request gets its turn.</param>
        public RetryHandler(RetryPolicy policy, IOciLog log, HttpMessageHandler inner, RequestStatistics? statistics = null, bool deadlineStartsBelow = false) : base(inner)
        {
            _deadlineStartsBelow = deadlineStartsBelow;
            _policy = policy;
            _log = log;
            _pipeline = _policy.MaxAttempts == 0 ? ResiliencePipeline<HttpResponseMessage>.Empty : new ResiliencePipelineBuilder<HttpResponseMessage>()
                .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
                {
                    MaxRetryAttempts = policy.MaxAttempts,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = policy.BaseDelay,
                    MaxDelay = policy.MaxDelay,
                    ShouldHandle = args => new ValueTask<bool>(ShouldRetry(args.Outcome, args.Context.CancellationToken)),
                    DelayGenerator = args => new ValueTask<TimeSpan?>(RetryAfter(args.Outcome.Result)),
                    OnRetry = args =>
                    {
                        statistics?.Retried();
                        var why = args.Outcome.Result != null ? $"{(int)args.Outcome.Result.StatusCode}" : args.Outcome.Exception?.GetType().Name;
                        var request = args.Context.Properties.TryGetValue(RequestKey, out var r) ? $"{r.Method} {RegistryException.Redact(r.RequestUri!)}" : "request";
                        _log.Write(OciLogLevel.Verbose, $"Retrying {request} ({args.AttemptNumber + 1}/{policy.MaxAttempts}) after {why}, waiting {args.RetryDelay.TotalSeconds:0.0} s.");
                        return default;
                    },
                })
                .Build();
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (!RequestScope.IsReplayable(request))
                return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);

            // Nearly every request succeeds at once, so the first attempt is a plain await and the
            // pipeline takes over only after a retryable failure: its first attempt hands that failure
            // back, so delays, Retry-After and attempt counts all stay Polly's. (Running every request
            // through the pipeline cost some 300 more JIT compilations in a session's first sync.)
            HttpResponseMessage? firstResponse = null;
            Exception? firstError = null;
            try
            {
                firstResponse = await AttemptAsync(request, cancellationToken).ConfigureAwait(false);
                if (!RetryPolicy.IsRetryable(firstResponse.StatusCode) || cancellationToken.IsCancellationRequested) return firstResponse;
            }
            catch (Exception e) when (IsRetryable(e) && !cancellationToken.IsCancellationRequested)
            {
                firstError = e;
            }

            var replayed = false;
            var timedOut = firstError is TimeoutException;
            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(RequestKey, request); // names the request in the retry's log line
            try
            {
                return await _pipeline.ExecuteAsync(async ctx =>
                {
                    var ct = ctx.CancellationToken;
                    if (!replayed)
                    {
                        replayed = true;
                        if (firstError != null) ExceptionDispatchInfo.Capture(firstError).Throw();
                        return firstResponse!;
                    }
                    try
                    {
                        return await AttemptAsync(RequestScope.Clone(request), ct).ConfigureAwait(false);
                    }
                    catch (TimeoutException e) when (timedOut)
                    {
                        // A server that let two attempts run out the clock is not coming back within this
                        // request; more attempts would only multiply the wait (a black-holed host: 5 × 30 s).
                        throw new RepeatedTimeoutException(e);
                    }
                    catch (TimeoutException)
                    {
                        timedOut = true;
                        throw;
                    }
                }, context).ConfigureAwait(false);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }

        private static readonly ResiliencePropertyKey<HttpRequestMessage> RequestKey = new ResiliencePropertyKey<HttpRequestMessage>("OciSync.Request");

        /// <summary>One attempt, with a deadline for the response headers.</summary>
        private async Task<HttpResponseMessage> AttemptAsync(HttpRequestMessage attempt, CancellationToken ct)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            if (_deadlineStartsBelow) RequestScope.DeferDeadline(attempt, () => timeout.CancelAfter(_policy.ResponseTimeout));
            else timeout.CancelAfter(_policy.ResponseTimeout);
            try
            {
                return await base.SendAsync(attempt, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException($"No response within {_policy.ResponseTimeout.TotalSeconds:0} s.", e);
            }
        }

        private static bool IsRetryable(Exception e) =>
            e is HttpRequestException || e is System.IO.IOException || (e is TimeoutException && !(e is RepeatedTimeoutException));

        /// <summary>A second timeout of the same request: reported like any timeout, never retried.</summary>
        private sealed class RepeatedTimeoutException : TimeoutException
        {
            public RepeatedTimeoutException(TimeoutException inner) : base(inner.Message, inner) { }
        }

        private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, CancellationToken ct)
        {
            if (ct.IsCancellationRequested) return false;
            if (outcome.Exception != null) return IsRetryable(outcome.Exception);
            return outcome.Result != null && RetryPolicy.IsRetryable(outcome.Result.StatusCode);
        }

        private TimeSpan? RetryAfter(HttpResponseMessage? response)
        {
            var header = response?.Headers.RetryAfter;
            if (header == null) return null; // Polly's own backoff
            TimeSpan wait = header.Delta ?? (header.Date.HasValue ? header.Date.Value - DateTimeOffset.UtcNow : TimeSpan.Zero);
            if (wait < TimeSpan.Zero) wait = TimeSpan.Zero;
            return wait > _policy.MaxDelay ? _policy.MaxDelay : wait;
        }
    }
}
