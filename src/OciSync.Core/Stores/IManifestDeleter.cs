using System.Threading;
using System.Threading.Tasks;

namespace OciSync.Core.Stores
{
    /// <summary>
    /// A store that can remove manifests: what -Prune needs of a destination. A capability beside
    /// <see cref="IImageStore"/>, not part of it: a store that does not implement it (an OCI layout or
    /// archive) refuses pruning with <see cref="Transport.ErrorIds.RegistryDeleteUnsupported"/>.
    /// </summary>
    internal interface IManifestDeleter
    {
        /// <summary>
        /// Deletes a manifest by tag (only that tag goes, where the store supports it) or by digest (the
        /// manifest goes, and with it every tag that points to it). Throws a
        /// <see cref="Transport.RegistryException"/>: <see cref="Transport.ErrorIds.RegistryDeleteUnsupported"/>
        /// when the store does not delete (405 / UNSUPPORTED), <see cref="Transport.ErrorIds.ManifestNotFound"/>
        /// when it is not there, and the status (400, say) on the exception when the store refused the reference.
        /// </summary>
        Task DeleteManifestAsync(string repository, string reference, CancellationToken ct);
    }
}
