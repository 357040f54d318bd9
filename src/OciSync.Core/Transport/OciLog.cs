namespace OciSync.Core.Transport
{
    public enum OciLogLevel { Debug, Verbose, Information, Warning, Error }

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
        void Write(OciLogLevel level, string message);
    }

    public sealed class NullOciLog : IOciLog
    {
        public static readonly NullOciLog Instance = new NullOciLog();
        public void Write(OciLogLevel level, string message) { }
    }
}
