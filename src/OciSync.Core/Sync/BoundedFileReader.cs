using System;
using System.IO;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// Reads a file that comes from elsewhere (a plan, a shard's summary) whole, but never more than a bound and never
    /// for ever: open(2) of a FIFO blocks and no token interrupts it, so the read runs aside and is abandoned on timeout.
    /// </summary>
    internal static class BoundedFileReader
    {
        /// <exception cref="TimeoutException">Not read within <paramref name="timeout"/> (not a regular file?).</exception>
        /// <exception cref="InvalidDataException">Larger than <paramref name="maxBytes"/>.</exception>
        /// <exception cref="IOException">And the other exceptions of opening and reading the file, as they were thrown.</exception>
        public static byte[] Read(string path, long maxBytes, TimeSpan timeout)
        {
            var read = Task.Run(() =>
            {
                using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 81920);
                if (file.CanSeek && file.Length > maxBytes) return null;   // a regular file says its size: nothing need be read
                var buffer = new MemoryStream();
                var chunk = new byte[81920];
                int n;
                while ((n = file.Read(chunk, 0, chunk.Length)) > 0)
                {
                    buffer.Write(chunk, 0, n);
                    if (buffer.Length > maxBytes) return null;
                }
                return buffer.ToArray();
            });
            try
            {
                if (!read.Wait(timeout))
                {
                    _ = read.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
                    throw new TimeoutException($"'{path}' could not be read within {timeout.TotalSeconds:0} s.");
                }
            }
            catch (AggregateException e) when (e.InnerException != null)
            {
                ExceptionDispatchInfo.Capture(e.InnerException).Throw();
            }
            return read.Result ?? throw new InvalidDataException($"'{path}' is larger than {maxBytes} bytes.");
        }
    }
}
