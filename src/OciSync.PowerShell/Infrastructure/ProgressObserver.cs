using System;
using System.Diagnostics;
using System.Management.Automation;
using System.Threading;
using OciSync.Core.Sync;

namespace OciSync.PowerShell.Infrastructure
{
    /// <summary>
    /// A run's Write-Progress: a parent bar for images finished of those known (bytes, rate, time
    /// left) and a child bar for the phase of the current pass (planning or copying). Sampled every
    /// 250 ms: the host renders every record it gets, and on a fast copy that rendering was a tenth
    /// of the CPU.
    /// </summary>
    internal sealed class ProgressObserver
    {
        private const int RunId = 1;
        private const int PhaseId = 2;
        private const string RunActivity = "Syncing images";
        private static readonly long Interval = Stopwatch.Frequency / 4;
        private readonly Action<ProgressRecord> _progress;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _bytes;
        private long _lastTick = -Interval; // the first record goes out at once
        private readonly object _progressLock = new object();
        private SyncProgress? _phase;
        private int _percentShown;
        private string? _phaseShown;

        public ProgressObserver(Action<ProgressRecord> progress) => _progress = progress;

        public void OnBytes(long count)
        {
            Interlocked.Add(ref _bytes, count);
            Report(force: false);
        }

        public void OnProgress(SyncProgress progress)
        {
            SyncProgress? previous;
            lock (_progressLock)
            {
                previous = _phase;
                // Threads report out of order: an older count of the same phase never replaces a newer one.
                if (previous != null && previous.Pass == progress.Pass && previous.Phase == progress.Phase &&
                    (progress.PhaseDone < previous.PhaseDone || progress.ImagesDone < previous.ImagesDone)) return;
                _phase = progress;
            }
            // A new pass, and each whole percent of images finished, is shown at once (at most a hundred
            // records a pass, however many images); everything else is sampled. Not a change of phase: planning
            // and copying overlap and take turns reporting, and forcing each turn would flood the host.
            var percent = Percent(progress.ImagesDone, progress.ImagesKnown);
            var shownPercent = Interlocked.Exchange(ref _percentShown, percent);
            Report(force: previous == null || previous.Pass != progress.Pass || percent != shownPercent);
        }

        private static int Percent(int done, int total) => total == 0 ? 0 : (int)Math.Min(100, done * 100L / total);

        private void Report(bool force)
        {
            var now = _clock.ElapsedTicks;
            var last = Interlocked.Read(ref _lastTick);
            if (!force && now - last < Interval) return;
            if (Interlocked.CompareExchange(ref _lastTick, now, last) != last && !force) return; // another thread reports this tick
            var p = Volatile.Read(ref _phase);
            if (p == null) return;

            var mib = Interlocked.Read(ref _bytes) / (1024.0 * 1024.0);
            var seconds = Math.Max(_clock.Elapsed.TotalSeconds, 0.001);
            var run = new ProgressRecord(RunId, RunActivity, $"{p.ImagesDone} of {p.ImagesKnown} images done, {mib:0.0} MiB sent ({mib / seconds:0.0} MiB/s)")
            {
                PercentComplete = Percent(p.ImagesDone, p.ImagesKnown),
            };
            // Time left from the pace of finished images: rough, but it moves as images finish.
            if (p.ImagesDone > 0 && p.ImagesKnown > p.ImagesDone)
                run.SecondsRemaining = (int)Math.Min(int.MaxValue, seconds / p.ImagesDone * (p.ImagesKnown - p.ImagesDone));
            _progress(run);

            var verb = p.Phase == SyncPhase.Copying ? "copied" : "checked";
            var activity = $"Pass {p.Pass}: {p.Phase.ToLowerInvariant()}";
            _phaseShown = activity;
            _progress(new ProgressRecord(PhaseId, activity, $"{p.PhaseDone} of {p.PhaseTotal} images {verb}")
            {
                ParentActivityId = RunId,
                PercentComplete = p.PhaseTotal == 0 ? 100 : Percent(p.PhaseDone, p.PhaseTotal),
            });
        }

        /// <summary>The records that close both bars.</summary>
        public ProgressRecord[] Completed() => new[]
        {
            new ProgressRecord(PhaseId, _phaseShown ?? "Done", "Done") { ParentActivityId = RunId, RecordType = ProgressRecordType.Completed },
            new ProgressRecord(RunId, RunActivity, "Done") { RecordType = ProgressRecordType.Completed, PercentComplete = 100 },
        };
    }
}
