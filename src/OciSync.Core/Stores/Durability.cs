using System;
using System.Runtime.InteropServices;

namespace OciSync.Core.Stores
{
    /// <summary>
    /// Makes renames survive a power cut, not only a kill: on Unix a rename is durable once its directory
    /// is fsynced (files are fsynced before they are renamed). Windows (NTFS) journals renames itself and
    /// has no directory handle to flush, so there it is nothing. Best effort: a file system that cannot
    /// fsync a directory (some FAT drivers) loses durability across power loss, never correctness.
    /// </summary>
    internal static class Durability
    {
        private static readonly bool Unix = !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

        internal static void FlushDirectory(string directory)
        {
            if (!Unix) return;
            try
            {
                var fd = open(directory, 0 /* O_RDONLY */);
                if (fd < 0) return;
                try { fsync(fd); }
                finally { close(fd); }
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException)
            {
                // No libc to call (an unusual runtime): the rename is still atomic, only not forced to disk.
            }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int open([MarshalAs(UnmanagedType.LPStr)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        private static extern int close(int fd);
    }
}
