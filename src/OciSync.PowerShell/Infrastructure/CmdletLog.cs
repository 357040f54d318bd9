using System;
using System.IO;
using System.Text;
using OciSync.Core.Transport;

namespace OciSync.PowerShell.Infrastructure
{
    /// <summary>
    /// Core's diagnostics into the Verbose/Debug/Warning streams and, with -LogPath, into a file of
    /// timestamped lines (image-syncer's --log). Core never hands it a secret.
    /// </summary>
    internal sealed class CmdletLog : IOciLog, IDisposable
    {
        private readonly Action<OciLogLevel, string> _write;
        private StreamWriter? _file;
        private readonly object _fileLock = new object();
        private readonly Func<string, string> _scrub;

        /// <param name="scrub">Masks secrets in every line before it is written anywhere.</param>
        public CmdletLog(Action<OciLogLevel, string> write, string? logPath, Func<string, string> scrub)
        {
            _write = write;
            _scrub = scrub;
            if (!string.IsNullOrEmpty(logPath))
            {
                var full = Path.GetFullPath(logPath);
                var dir = Path.GetDirectoryName(full);
                if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
                _file = new StreamWriter(new FileStream(full, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)) { AutoFlush = true };
            }
        }

        public void Write(OciLogLevel level, string message)
        {
            message = _scrub(message);
            string? failed = null;
            lock (_fileLock)
            {
                try
                {
                    // ISO 8601 in UTC with the invariant culture: fi-FI would write 18.49.26 and ar-SA a Hijri date.
                    _file?.WriteLine($"{DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture)} {level.ToString().ToUpperInvariant(),-11} {message}");
                }
                catch (Exception e) when (e is IOException || e is ObjectDisposedException)
                {
                    // A full disk stops the log, not the sync: say so once and go on.
                    failed = e.Message;
                    try { _file?.Dispose(); } catch (IOException) { }
                    _file = null;
                }
            }
            if (failed != null) _write(OciLogLevel.Warning, $"The log file could not be written ({failed}); it stops here, the sync goes on.");
            _write(level, message);
        }

        public void Dispose()
        {
            lock (_fileLock) _file?.Dispose();
        }
    }
}
