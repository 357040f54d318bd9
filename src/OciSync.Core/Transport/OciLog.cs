namespace OciSync.Core.Transport
{
    /// <summary>How much a log line matters. The cmdlets show Debug lines on the debug stream, Warning lines as warnings and the rest as verbose.</summary>
    public enum OciLogLevel
    {
        /// <summary>Request-level detail: each request, token requests; the debug stream.</summary>
        Debug,
        /// <summary>What a run is doing: retries, pings, tag counts.</summary>
        Verbose,
        /// <summary>A finished image, or the start of a retry pass.</summary>
        Information,
        /// <summary>Something the user should see: a retried failure, a rule matching no tag.</summary>
        Warning,
        /// <summary>An image that failed for good.</summary>
        Error,
    }

    /// <summary>Counts a run's requests that were sent again; shared by every client of the run.</summary>
    public sealed class RequestStatistics
    {
        private int _retries;
        /// <summary>Requests repeated after a transient failure: a retryable status, a reset, a timeout, a damaged body.</summary>
        public int RequestRetries => System.Threading.Volatile.Read(ref _retries);
        internal void Retried() => System.Threading.Interlocked.Increment(ref _retries);
    }

    /// <summary>Where Core writes diagnostics. The cmdlets route it to Verbose/Debug streams and -LogPath.
    /// Nothing written here carries a credential: headers are never logged.</summary>
    public interface IOciLog
    {
        /// <summary>Writes one line; called from any thread, so implementations must be thread-safe.</summary>
        void Write(OciLogLevel level, string message);
    }

    /// <summary>A log that discards everything; the default.</summary>
    public sealed class NullOciLog : IOciLog
    {
        /// <summary>The one instance.</summary>
        public static readonly NullOciLog Instance = new NullOciLog();
        /// <inheritdoc/>
        public void Write(OciLogLevel level, string message) { }
    }
}
