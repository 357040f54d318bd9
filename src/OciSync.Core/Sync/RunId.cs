using System.Text.RegularExpressions;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// The name of one job's run, shared by its shards (a Kubernetes Job's uid, a workflow's run id, a GUID), so that
    /// Merge-SyncResult never counts a summary left over from another run as this one's: up to 128 letters, digits and
    /// <c>. _ : -</c>.
    /// </summary>
    public static class RunId
    {
        private static readonly Regex Grammar = new Regex(@"^[A-Za-z0-9._:\-]{1,128}$", RegexOptions.CultureInvariant);

        /// <summary>True when <paramref name="value"/> is a run id.</summary>
        public static bool IsValid(string? value) => value != null && Grammar.IsMatch(value);
    }
}
