using System;
using System.Diagnostics;
using System.Management.Automation;
using System.Threading;
using OciSync.Core.Sync;

namespace OciSync.PowerShell.Infrastructure
{
    /// <summary>
    /// Turns engine events into pipeline output and a Write-Progress bar sampled every 250 ms: the host
    /// renders every record it gets, and on a fast copy that rendering was a tenth of the CPU.
    /// </summary>
    internal sealed class ProgressObserver : ISyncObserver
    {
        private const int ActivityId = 1;
        private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
        private readonly Action<object> _output;
        private readonly Action<ManifestResult> _imageDone;
        private readonly Action<ProgressRecord> _progress;
        private readonly int _images;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private long _bytes;
        private int _done;
        private long _lastTick; // first record after one interval

        /// <param name="imageDone">Called with the final result of each image the rules named.</param>
        public ProgressObserver(int images, Action<object> output, Action<ManifestResult> imageDone, Action<ProgressRecord> progress)
        {
            _images = images;
            _output = output;
            _imageDone = imageDone;
            _progress = progress;
        }

        public void OnLayer(LayerResult result) => _output(result);

        public void OnManifest(ManifestResult result)
        {
            _output(result);
            if (result.IsTopLevel)
            {
                Interlocked.Increment(ref _done);
                _imageDone(result);
                Report();
            }
        }

        public void OnBytes(long count)
        {
            Interlocked.Add(ref _bytes, count);
            Report();
        }

        private void Report()
        {
            var now = _clock.ElapsedTicks;
            var last = Interlocked.Read(ref _lastTick);
            if (now - last < Interval.Ticks * Stopwatch.Frequency / TimeSpan.TicksPerSecond) return;
            if (Interlocked.CompareExchange(ref _lastTick, now, last) != last) return; // another thread reports this tick
            var done = Volatile.Read(ref _done);
            var mib = Interlocked.Read(ref _bytes) / (1024.0 * 1024.0);
            var rate = mib / Math.Max(_clock.Elapsed.TotalSeconds, 0.001);
            _progress(new ProgressRecord(ActivityId, "Syncing images", $"{done} of {_images} images, {mib:0.0} MiB copied ({rate:0.0} MiB/s)")
            {
                PercentComplete = _images == 0 ? 100 : Math.Min(100, done * 100 / _images),
            });
        }

        public ProgressRecord Completed() =>
            new ProgressRecord(ActivityId, "Syncing images", "Done") { RecordType = ProgressRecordType.Completed, PercentComplete = 100 };
    }
}
