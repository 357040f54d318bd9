using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Transport;

namespace OciSync.Core.Stores
{
    /// <summary>
    /// Keeps other OciSync processes out while one writes: an exclusive open of a lock file (an advisory
    /// flock on Unix, a share lock on Windows; read-only, so a file another user created works too).
    /// A layout's index.json rewrite holds <c>.ocisync.lock</c> in the layout for the read-modify-write only
    /// — without it two runs into one layout each rewrite the index they read, and the later drops the
    /// earlier's tags. An archive's run holds <c>FILE.lock</c> beside it (<see cref="OciArchiveStore"/>).
    /// Blobs need no lock: they are content-addressed and renamed into place. Other tools do not take it.
    /// </summary>
    internal sealed class LayoutLock : IDisposable
    {
        internal const string FileName = ".ocisync.lock";
        private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);
        private readonly FileStream _file;

        private LayoutLock(FileStream file) => _file = file;

        /// <summary>Waits up to <paramref name="wait"/> for the lock; then a transient <see cref="ErrorIds.LayoutBusy"/> (another pass tries again).</summary>
        internal static async Task<LayoutLock> AcquireAsync(string path, string name, TimeSpan wait, CancellationToken ct)
        {
            var deadline = DateTime.UtcNow + wait;
            while (true)
            {
                if (TryAcquire(path, name, out var taken)) return taken!;
                if (DateTime.UtcNow >= deadline)
                    throw new RegistryException(ErrorIds.LayoutBusy, $"{name} is being written by another process (its lock {path} stayed taken for {wait.TotalSeconds:0} s).");
                await Task.Delay(Poll, ct).ConfigureAwait(false);
            }
        }

        /// <summary>The lock if nobody holds it; false when another process (or another writer in this one) does.</summary>
        internal static bool TryAcquire(string path, string name, out LayoutLock? taken)
        {
            taken = null;
            // A lock file that is a link could make this open (and create) a file anywhere: a layout is untrusted.
            if (File.Exists(path) && (File.GetAttributes(path) & FileAttributes.ReparsePoint) != 0)
                throw new RegistryException(ErrorIds.LayoutInvalid, $"{name}: its lock file {path} is a symbolic link, which OciSync does not follow.");
            try
            {
                taken = new LayoutLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.None, 1, FileOptions.None));
                return true;
            }
            catch (UnauthorizedAccessException e)
            {
                throw new RegistryException(ErrorIds.LayoutInvalid, $"{name}: its lock file {path} cannot be opened ({e.Message}).", e);
            }
            catch (IOException e) when (!(e is FileNotFoundException || e is DirectoryNotFoundException || e is PathTooLongException))
            {
                return false; // held: a sharing violation (Windows) or a taken flock (Unix)
            }
        }

        public void Dispose() => _file.Dispose();
    }
}
