namespace OciSync.Core.Transport
{
    public enum OciLogLevel { Debug, Verbose, Information, Warning }

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
