using System.Collections.Generic;
using System.Threading;

namespace OciSync.Core.Stores
{
    /// <summary>
    /// A store of many repositories that can say which it holds (a registry's <c>/v2/_catalog</c>), for
    /// <c>registry/namespace/*</c> rules. A layout or archive is one repository and has no catalog.
    /// </summary>
    internal interface IRepositoryLister
    {
        /// <summary>Every repository the store lists, each a valid repository path; untrusted otherwise, like everything a store says.</summary>
        IAsyncEnumerable<string> ListRepositoriesAsync(CancellationToken ct);
    }
}
