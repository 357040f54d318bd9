using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Transport;

namespace OciSync.Core.Stores
{
    /// <summary>
    /// Keeps other OciSync processes out of a layout's index.json while one rewrites it: an exclusive open
    /// of <c>.ocisync.lock</c> in the layout (an advisory flock on Unix, a share lock on Windows), held for
    /// the read-modify-write only. Without it two runs into one layout each rewrite the index they read,
    /// and the later one drops the tags the earlier one added. Blobs need no lock: they are
    /// content-addressed and renamed into place. Other tools do not take the lock.
    /// </summary>
    internal sealed class LayoutLock : IDisposable
    {
        internal const string FileName = ".ocisync.lock";
        /// <summary>Held by an archive's writer from its first staged write until the archive is written (<see cref="OciArchiveStore"/>).</summary>
        internal const string RunFileName = ".ocisync-run.lock";
        private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);
        private readonly FileStream _file;

        private LayoutLock(FileStream file) => _file = file;

        /// <summary>Waits up to <paramref name="wait"/> for the lock; then a transient <see cref="ErrorIds.LayoutBusy"/> (another pass tries again).</summary>
        internal static async Task<LayoutLock> AcquireAsync(string root, string name, TimeSpan wait, CancellationToken ct, string fileName = FileName)
        {
            var path = Path.Combine(root, fileName);
            var deadline = DateTime.UtcNow + wait;
            while (true)
            {
                try
                {
                    return new LayoutLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.None));
                }
                catch (IOException e) when (!(e is FileNotFoundException || e is DirectoryNotFoundException || e is PathTooLongException))
                {
                    if (DateTime.UtcNow >= deadline)
                        throw new RegistryException(ErrorIds.LayoutBusy, $"{name} is being written by another process (its {fileName} stayed locked for {wait.TotalSeconds:0} s).", e);
                    await Task.Delay(Poll, ct).ConfigureAwait(false);
                }
            }
        }

        public void Dispose() => _file.Dispose();
    }
}
