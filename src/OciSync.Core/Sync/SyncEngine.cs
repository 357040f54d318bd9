using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;
using OciSync.Core.Content;
using OciSync.Core.References;
using OciSync.Core.Registry;
using OciSync.Core.Stores;
using OciSync.Core.Transport;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// A whole run: lists the rules' tags, HEADs each image (the planner), asks for approval, then copies
    /// the images under one concurrency limit, and runs further passes (image-syncer --retries) over
    /// whatever failed transiently in any of those steps — a rule whose listing failed is listed again.
    /// Each image's result goes to the observer the moment it is final; the engine keeps no results, only
    /// counts, the source → destination key of each image, and a key and a small record per blob sent
    /// (so a blob goes once per repository), so a run of 100,000 images holds no result but those in flight.
    /// </summary>
    public sealed class SyncEngine
    {
        private readonly RegistryClientFactory _clients;
        private readonly SyncOptions _options;
        private readonly ISyncObserver _observer;
        private readonly IOciLog _log;
        private readonly ConcurrencyGate _gate;
        private readonly BlobCopier _blobs;
        private readonly ImageCopier _images;
        private readonly ReferrerCopier? _referrers;
        private readonly SyncPlanner _planner;
        private readonly ImageStores _stores;
        private readonly LayerTally _tally = new LayerTally();
        private readonly RunFiles _files;
        private readonly RequestGates _requests;

        /// <summary>An engine copying through <paramref name="clients"/>; <paramref name="options"/> are validated here and <paramref name="observer"/> receives every result.</summary>
        public SyncEngine(RegistryClientFactory clients, SyncOptions options, ISyncObserver observer)
        {
            options.Validate();
            _clients = clients;
            _options = options;
            _log = clients.Log;
            _files = new RunFiles(options);
            _observer = new TallyingObserver(observer, _tally, clients.Scrubber);
            _gate = new ConcurrencyGate(options.Concurrency);
            var requests = new RequestGates(options.RequestConcurrency);
            _requests = requests;
            _blobs = new BlobCopier(_gate, requests, options, _observer, _log, clients.Options.BlobIdleTimeout, clients.Statistics);
            _stores = new ImageStores(clients);
            _images = new ImageCopier(_stores, requests, _blobs, options, _observer);
            var referrerTags = new ReferrerTags();
            _referrers = options.Referrers ? new ReferrerCopier(_stores, requests, _images, referrerTags, options.ReferrerArtifactTypes, _log) : null;
            _planner = new SyncPlanner(_stores, requests, options.Referrers ? referrerTags : null, options.Shard);
        }

        /// <summary>Most blob transfers that were ever in flight at once.</summary>
        public int PeakConcurrency => _gate.Peak;

        /// <summary>Runs the rules (listing, planning, copying, retry passes) and returns the run's totals.</summary>
        public Task<SyncSummary> RunAsync(IReadOnlyList<SyncRule> rules, CancellationToken ct) => RunAsync(rules, Array.Empty<ImageCopy>(), ct);

        /// <summary>Copies given as they are; those already planned (from Get-SyncPlan) are not HEADed again.</summary>
        public Task<SyncSummary> RunAsync(IReadOnlyList<ImageCopy> copies, CancellationToken ct) => RunAsync(Array.Empty<SyncRule>(), copies, ct);

        /// <summary>Runs rules and given copies together, a copy both name being copied once; writes the images files, then returns the totals.</summary>
        public async Task<SyncSummary> RunAsync(IReadOnlyList<SyncRule> rules, IReadOnlyList<ImageCopy> copies, CancellationToken ct)
        {
            try
            {
                return await RunPassesAsync(rules, copies, ct).ConfigureAwait(false);
            }
            finally
            {
                // Also when the run is cancelled or fails: an archive's run lock, a registry's unused upload sessions.
                await _stores.ReleaseAllAsync().ConfigureAwait(false);
            }
        }

        private async Task<SyncSummary> RunPassesAsync(IReadOnlyList<SyncRule> rules, IReadOnlyList<ImageCopy> copies, CancellationToken ct)
        {
            var run = new RunState(_options.Prune);
            var shard = _options.Shard;
            if (shard != null)
            {
                // A shard takes only the copies into its own repositories: rules are cut before anything is listed
                // (and the pruning works on the same cut rules), a given plan is filtered.
                var given = copies.Count;
                rules = shard.Restrict(rules);
                if (!_options.ShardPreassigned) copies = copies.Where(c => shard.Owns(c.Destination)).ToList();
                _log.Write(OciLogLevel.Information, $"{shard}: {rules.Count} rule(s) with a destination in this shard" +
                    (given > 0 ? $", {copies.Count} of {given} planned image(s)." : "."));
            }
            IReadOnlyList<SyncRule> pendingRules = rules;
            IReadOnlyList<ImageCopy> pendingCopies = copies.Where(run.Claim).ToList();
            var pass = 0;
            while (pass <= _options.Retries && (pendingRules.Count > 0 || pendingCopies.Count > 0))
            {
                pass++;
                var last = pass == _options.Retries + 1;
                if (pass > 1)
                {
                    _log.Write(OciLogLevel.Information, $"Pass {pass}: retrying {pendingRules.Count} rule listing(s) and {pendingCopies.Count} image(s).");
                    _stores.ForgetFailures();
                }
                var next = new NextPass();
                var passStart = DateTime.UtcNow;

                // Listing: rules → copies. A copy another rule (or an earlier pass) already took is not taken twice.
                var expanded = await _planner.ExpandAsync(pendingRules, ct).ConfigureAwait(false);
                var prePlanned = pendingCopies.Where(c => c.Planned).ToList();
                var toCheck = pendingCopies.Where(c => !c.Planned).Concat(expanded.Copies.Where(run.Claim)).ToList();
                foreach (var failure in expanded.Errors) Settle(run, failure, pass, passStart, last, next);

                // Planning (HEADs for digests, so unchanged images cost no manifest GET) and copying overlap: an
                // image is copied as soon as its HEADs are in, not after every image's are.
                // Under -Confirm the user answers one image at a time: the images are handed over in plan order
                // once planned, not in the order their HEADs came back.
                var inOrder = _options.Approve != null;
                var ready = Channel.CreateUnbounded<ImageCopy>(new UnboundedChannelOptions { SingleWriter = false, SingleReader = false });
                using var stopCopying = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var copying = CopyAllAsync(run, ready.Reader, pass, last, next, stopCopying.Token);
                try
                {
                    foreach (var copy in prePlanned) ready.Writer.TryWrite(copy);
                    Report(run, pass, SyncPhase.Planning, 0, toCheck.Count);
                    var check = await _planner.CheckAsync(toCheck, headDestinations: !_options.Force, ct,
                        (done, total) => Report(run, pass, SyncPhase.Planning, done, total), inOrder ? null : copy => ready.Writer.TryWrite(copy)).ConfigureAwait(false);
                    if (inOrder) foreach (var copy in check.Copies) ready.Writer.TryWrite(copy);
                    foreach (var failure in check.Errors) Settle(run, failure, pass, passStart, last, next);
                }
                catch
                {
                    // Planning broke (or was cancelled): the copies under way stop too, rather than the error waiting for them.
                    stopCopying.Cancel();
                    ready.Writer.TryComplete();
                    // The planning error is the one to report: whatever the stopped copies threw is not.
                    try { await copying.ConfigureAwait(false); }
                    catch (OperationCanceledException) { }
                    catch (Exception e) { _log.Write(OciLogLevel.Warning, $"Copying also failed as planning stopped: {_clients.Scrubber.Scrub(e.Message)}"); }
                    throw;
                }
                ready.Writer.TryComplete();
                await copying.ConfigureAwait(false);
                _blobs.ForgetFailures();
                pendingRules = next.Rules;
                pendingCopies = next.Copies;
            }

            // -Prune: only after every pass, so a rule's copies are final (a rule with a failed one prunes nothing).
            if (_options.Prune && rules.Count > 0) await PruneAsync(run, rules, pass, ct).ConfigureAwait(false);

            // Stores that write as a whole (an archive) write now; a failure here fails the run, as the copies are
            // not there: no images file then, since a success file would list what did not arrive.
            await _stores.FlushAsync(ct).ConfigureAwait(false);
            var end = DateTime.UtcNow;
            var summary = new SyncSummary
            {
                Shard = _options.Shard?.Index,
                ShardCount = _options.Shard?.Count,
                RunId = _options.RunId,
                Images = run.Synced + run.Unchanged + run.Filtered + run.Failed,
                Synced = run.Synced,
                Unchanged = run.Unchanged,
                Filtered = run.Filtered,
                Failed = run.Failed,
                Declined = run.Declined,
                Deleted = run.Deleted,
                Kept = run.Kept,
                ReferrersSynced = _tally.ReferrersSynced,
                ReferrersUnchanged = _tally.ReferrersUnchanged,
                BlobsCopied = _tally.Copied,
                BlobsMounted = _tally.Mounted,
                BlobsPresent = _tally.Present,
                BytesCopied = _tally.Bytes,
                RequestRetries = _clients.Statistics.RequestRetries,
                Passes = pass,
                StartTime = run.Start,
                EndTime = end,
                Seconds = (end - run.Start).TotalSeconds,
            };
            _files.Write(summary);
            return summary;
        }

        /// <summary>
        /// Copies images side by side as the planner hands them over, each approved first (ShouldProcess);
        /// each result is settled the moment its image is done.
        /// </summary>
        private async Task CopyAllAsync(RunState run, ChannelReader<ImageCopy> ready, int pass, bool last, NextPass next, CancellationToken ct)
        {
            // A fixed set of workers takes the images in order: the gates, not this, limit the requests in
            // flight, and no image waits as a task of its own (100,000 images are 100,000 queue entries, no more).
            // Enough images at once to keep both gates busy: an image is a chain of round trips (manifest, blob
            // checks, blobs, manifest), so across a network many must be under way for the requests to overlap.
            var width = Math.Max(_options.Concurrency * 4, _options.RequestConcurrency * 2);
            var approve = run.Approve(_options.Approve);
            var started = 0;
            var copied = 0;
            await Task.WhenAll(Enumerable.Range(0, width).Select(_ => Task.Run(async () =>
            {
                while (await ready.WaitToReadAsync(ct).ConfigureAwait(false))
                {
                    if (!ready.TryRead(out var copy)) continue;
                    if (!approve(copy)) continue;
                    Report(run, pass, SyncPhase.Copying, Volatile.Read(ref copied), Interlocked.Increment(ref started));
                    var work = new ImageWork(copy, pass, _observer);
                    ImageResult result;
                    try
                    {
                        result = await _images.CopyAsync(copy, work, ct).ConfigureAwait(false);
                        result = await FollowReferrersAsync(copy, result, work, ct).ConfigureAwait(false);
                    }
                    catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
                    {
                        result = work.Fail(e);
                    }
                    Settle(run, copy, result, last, next);
                    Report(run, pass, SyncPhase.Copying, Interlocked.Increment(ref copied), Volatile.Read(ref started));
                }
            }, ct))).ConfigureAwait(false);
        }

        /// <summary>
        /// The image is at its destination: its referrers follow (those of the digest pushed, when it is the
        /// source's, and of the child manifests pushed). An image whose referrers did not all arrive failed:
        /// a mirror without the signature breaks the policies that verify it.
        /// </summary>
        private async Task<ImageResult> FollowReferrersAsync(ImageCopy copy, ImageResult result, ImageWork work, CancellationToken ct)
        {
            if (_referrers == null || (result.Action != SyncAction.Synced && result.Action != SyncAction.Unchanged)) return result;
            var subjects = new List<Digest>();
            // A filtered index has a digest of its own: what refers to the source's does not refer to it.
            if (result.Digest != null && result.Digest == result.SourceDigest) subjects.Add(Digest.Parse(result.Digest));
            subjects.AddRange(work.SyncedChildren());
            try
            {
                await _referrers.CopyAsync(copy, subjects, work, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (!(e is OperationCanceledException && ct.IsCancellationRequested))
            {
                var error = _clients.Scrubber.Scrub(e);
                return work.Fail(new RegistryException(ErrorIds.Of(error), $"{copy.Destination} is copied, but not all its referrers are: {error.Message}", error));
            }
            result.Referrers = work.Referrers();
            return result;
        }

        /// <summary>A failure while listing or HEADing: into the next pass if another try can help, else a Failed result.</summary>
        private void Settle(RunState run, PlanError failure, int pass, DateTime passStart, bool last, NextPass next)
        {
            var errorId = ErrorIds.Of(failure.Error);
            if (!last && IsRetryable(errorId))
            {
                _log.Write(OciLogLevel.Warning, $"{failure.Target}: {failure.Phase.ToLowerInvariant()} failed [{errorId}]: {failure.Error.Message} (retrying in pass {pass + 1})");
                if (failure.Copy != null) next.Add(failure.Copy);
                else next.Rules.Add(failure.Rule!);
                return;
            }
            Emit(run, ImageWork.PlanFailure(failure, pass, passStart), failure.Copy, failure.Rule);
        }

        private void Settle(RunState run, ImageCopy copy, ImageResult result, bool last, NextPass next)
        {
            if (result.Action == SyncAction.Failed && !last && IsRetryable(result.ErrorId))
            {
                _log.Write(OciLogLevel.Warning, $"{copy}: [{result.ErrorId}] {_clients.Scrubber.Scrub(result.Error ?? string.Empty)} (retrying in pass {result.Pass + 1})");
                next.Add(copy);
                return;
            }
            Emit(run, result, copy, null);
        }

        private void Emit(RunState run, ImageResult result, ImageCopy? copy, SyncRule? rule)
        {
            if (_options.Prune && result.Action == SyncAction.Failed) run.NoteFailure(result, copy);
            run.Count(result.Action);
            if (rule != null) run.RuleFailed();
            _observer.OnImage(result); // scrubs result.Error first
            _files.Record(result, copy, rule);
            _log.Write(result.Action == SyncAction.Failed ? OciLogLevel.Error : OciLogLevel.Information, LogLine(result));
        }

        /// <summary>Deletes the rules' stale destination tags (<see cref="Pruner"/>), each result settled as it comes.</summary>
        private async Task PruneAsync(RunState run, IReadOnlyList<SyncRule> rules, int pass, CancellationToken ct)
        {
            var recorded = new HashSet<SyncRule>();
            var pruner = new Pruner(_stores, _requests, _clients.Scrubber, _options.ApproveDelete, pass, (result, rule) =>
            {
                run.Count(result.Action);
                _observer.OnImage(result); // scrubs result.Error first
                // A failed deletion puts its rule in the failed images file (once): a re-run with -Prune tries it again.
                var failed = result.Action == SyncAction.Failed;
                lock (recorded) if (failed && recorded.Add(rule)) _files.Record(result, null, rule);
                _log.Write(failed ? OciLogLevel.Error : result.Action == SyncAction.Kept ? OciLogLevel.Warning : OciLogLevel.Information, LogLine(result));
            }, _options.Shard);
            var produced = run.Produced;
            foreach (var rule in rules.Distinct()) await pruner.PruneAsync(rule, run.RuleFailed, produced, ct).ConfigureAwait(false);
            run.Decline(pruner.Declined);
        }

        /// <summary>The -LogPath line of a finished image: what happened, where, which digest, how much, how long, and why not.</summary>
        internal static string LogLine(ImageResult r)
        {
            var inv = System.Globalization.CultureInfo.InvariantCulture;
            var line = $"{r.Action} {r.Source} -> {r.Destination}";
            if (r.Digest != null) line += " " + r.Digest;
            line += $" ({SyncSummary.Size(r.BytesCopied)}, {r.Seconds.ToString("0.00", inv)} s, pass {r.Pass})";
            if (r.Action == SyncAction.Failed) line += $" [{r.ErrorId}] {r.Phase.ToLowerInvariant()}: {r.Error}";
            else if (r.Action == SyncAction.Kept) line += $" [{r.ErrorId}] {r.Error}";
            return line;
        }

        private void Report(RunState run, int pass, string phase, int done, int total) =>
            _observer.OnProgress(new SyncProgress(pass, phase, done, total, run.Done, run.Known));

        /// <summary>What a run counts and remembers: copies taken (by key), approvals, and one count per outcome.</summary>
        private sealed class RunState
        {
            private readonly HashSet<string> _claimed = new HashSet<string>(StringComparer.Ordinal);
            private readonly Dictionary<string, bool> _approved = new Dictionary<string, bool>(StringComparer.Ordinal);
            private int _synced, _unchanged, _filtered, _failed, _declined, _ruleFailures, _deleted, _kept;
            // -Prune only: every destination the run's copies name, and what failed (copy keys, rule texts).
            private readonly HashSet<string> _produced = new HashSet<string>(StringComparer.Ordinal);
            private readonly HashSet<string> _failedKeys = new HashSet<string>(StringComparer.Ordinal);
            private readonly HashSet<string> _failedRules = new HashSet<string>(StringComparer.Ordinal);

            private readonly bool _prune;
            public RunState(bool prune) => _prune = prune;

            public DateTime Start { get; } = DateTime.UtcNow;
            public int Synced => Volatile.Read(ref _synced);
            public int Unchanged => Volatile.Read(ref _unchanged);
            public int Filtered => Volatile.Read(ref _filtered);
            public int Failed => Volatile.Read(ref _failed);
            public int Declined => Volatile.Read(ref _declined);
            public int Deleted => Volatile.Read(ref _deleted);
            public int Kept => Volatile.Read(ref _kept);
            public ISet<string> Produced { get { lock (_claimed) return new HashSet<string>(_produced, StringComparer.Ordinal); } }

            /// <summary>A copy or rule listing that failed for good: its rule prunes nothing.</summary>
            public void NoteFailure(ImageResult result, ImageCopy? copy)
            {
                lock (_failedKeys)
                {
                    if (copy != null) _failedKeys.Add(copy.Key);
                    if (result.Rule != null) _failedRules.Add(result.Rule);
                }
            }

            /// <summary>True when the rule, or one of <paramref name="copies"/> (its copies, when known), failed in this run.</summary>
            public bool RuleFailed(SyncRule rule, IReadOnlyList<ImageCopy>? copies)
            {
                lock (_failedKeys)
                    return _failedRules.Contains(rule.ToString()) || (copies != null && copies.Any(c => _failedKeys.Contains(c.Key)));
            }

            public void Decline(int count) => Interlocked.Add(ref _declined, count);
            public int Done => Synced + Unchanged + Filtered + Failed;
            public int Known { get { lock (_claimed) return _claimed.Count - _declined + _ruleFailures; } }

            /// <summary>True the first time a source → destination is seen in this run.</summary>
            public bool Claim(ImageCopy copy)
            {
                lock (_claimed)
                {
                    if (_prune) _produced.Add(copy.Destination.ToString());
                    return _claimed.Add(copy.Key);
                }
            }

            /// <summary>Asks once per copy; a retried copy is not asked again.</summary>
            public Func<ImageCopy, bool> Approve(Func<ImageCopy, bool>? ask) => copy =>
            {
                if (ask == null) return true;
                bool yes;
                lock (_approved) if (_approved.TryGetValue(copy.Key, out yes)) return yes;
                yes = ask(copy);
                lock (_approved) _approved[copy.Key] = yes;
                if (!yes) Interlocked.Increment(ref _declined);
                return yes;
            };

            public void Count(string action)
            {
                switch (action)
                {
                    case SyncAction.Synced: Interlocked.Increment(ref _synced); break;
                    case SyncAction.Unchanged: Interlocked.Increment(ref _unchanged); break;
                    case SyncAction.Filtered: Interlocked.Increment(ref _filtered); break;
                    case SyncAction.Deleted: Interlocked.Increment(ref _deleted); break;
                    case SyncAction.Kept: Interlocked.Increment(ref _kept); break;
                    default: Interlocked.Increment(ref _failed); break;
                }
            }

            public void RuleFailed() => Interlocked.Increment(ref _ruleFailures);
        }

        private sealed class NextPass
        {
            public List<SyncRule> Rules { get; } = new List<SyncRule>();
            public List<ImageCopy> Copies { get; } = new List<ImageCopy>();

            /// <summary>Concurrent images fail at once, so adding is locked; the copy is planned afresh next pass.</summary>
            public void Add(ImageCopy copy)
            {
                lock (Copies) Copies.Add(copy.Unplanned());
            }
        }

        /// <summary>Failures another pass cannot fix are not retried (the catalogue says which).</summary>
        private static bool IsRetryable(string? errorId) => ErrorIds.Describe(errorId).RetryPass;

        private sealed class LayerTally
        {
            private int _copied, _mounted, _present, _referrersSynced, _referrersUnchanged;
            private long _bytes;
            public int ReferrersSynced => Volatile.Read(ref _referrersSynced);
            public int ReferrersUnchanged => Volatile.Read(ref _referrersUnchanged);

            public void Add(ManifestResult r)
            {
                if (r.Subject == null) return;
                if (r.Action == SyncAction.Synced) Interlocked.Increment(ref _referrersSynced);
                else if (r.Action == SyncAction.Unchanged) Interlocked.Increment(ref _referrersUnchanged);
            }
            public int Copied => _copied;
            public int Mounted => _mounted;
            public int Present => _present;
            public long Bytes => Interlocked.Read(ref _bytes);

            public void Add(LayerResult r)
            {
                switch (r.Action)
                {
                    case SyncAction.Copied: Interlocked.Increment(ref _copied); Interlocked.Add(ref _bytes, r.Size); break;
                    case SyncAction.Mounted: Interlocked.Increment(ref _mounted); break;
                    case SyncAction.Present: Interlocked.Increment(ref _present); break;
                }
            }
        }

        private sealed class TallyingObserver : ISyncObserver
        {
            private readonly ISyncObserver _inner;
            private readonly LayerTally _tally;
            private readonly SecretScrubber _scrubber;
            public TallyingObserver(ISyncObserver inner, LayerTally tally, SecretScrubber scrubber) { _inner = inner; _tally = tally; _scrubber = scrubber; }

            // Every result leaves the engine through here, so this is where error texts lose their secrets.
            public void OnLayer(LayerResult result)
            {
                if (result.Error != null) result.Error = _scrubber.Scrub(result.Error);
                _tally.Add(result);
                _inner.OnLayer(result);
            }

            public void OnManifest(ManifestResult result)
            {
                if (result.Error != null) result.Error = _scrubber.Scrub(result.Error);
                _tally.Add(result);
                _inner.OnManifest(result);
            }

            public void OnImage(ImageResult result)
            {
                if (result.Error != null) result.Error = _scrubber.Scrub(result.Error);
                _inner.OnImage(result);
            }

            public void OnBytes(long count) => _inner.OnBytes(count);
            public void OnProgress(SyncProgress progress) => _inner.OnProgress(progress);
        }
    }
}
