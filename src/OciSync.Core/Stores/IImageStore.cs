using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Content;
using OciSync.Core.References;
using OciSync.Core.Registry;

namespace OciSync.Core.Stores
{
    /// <summary>
    /// Where images live, as the planner and the copiers see it: a blob store, a manifest store and a
    /// tag lister (oras-dotnet's IRepository, regclient's schemes). A registry is one host of many
    /// repositories; an OCI image layout is a directory of one. Everything a transport needs beyond
    /// this (pings, tokens, upload URLs, temporary files) stays inside its implementation.
    /// </summary>
    internal interface IImageStore
    {
        /// <summary>How results, logs and keys name the store: <c>quay.io</c>, <c>oci:/media/usb/mirror</c>.</summary>
        string Name { get; }

        /// <summary>True when a blob in one repository can be linked into another without copying it (a registry mount).</summary>
        bool CanMount { get; }

        /// <summary>The digest, media type and size of a manifest by tag or digest; null when the store does not have it.</summary>
        Task<ManifestHead?> HeadManifestAsync(string repository, string reference, CancellationToken ct);

        /// <summary>A manifest by tag or digest, its bytes checked against the digest asked for or announced.</summary>
        Task<Manifest> GetManifestAsync(string repository, string reference, CancellationToken ct);

        /// <summary>
        /// Stores manifest bytes unchanged under a tag or their digest; the store must hold everything they
        /// reference. <paramref name="child"/>: an entry of an index, pushed by digest before the index.
        /// </summary>
        Task PutManifestAsync(string repository, string reference, Manifest manifest, bool child, CancellationToken ct);

        Task<bool> BlobExistsAsync(string repository, Digest digest, CancellationToken ct);

        /// <summary>A blob as a stream that verifies size and digest as it is read; <paramref name="onBytes"/> reports progress.</summary>
        Task<VerifyingStream> OpenBlobAsync(string repository, Descriptor blob, Action<long>? onBytes, CancellationToken ct);

        /// <summary>
        /// Links a blob from another repository of this store (<paramref name="fromRepository"/>); false when the
        /// store declined or nothing was named (then <see cref="PutBlobAsync"/>, which a registry starts with the
        /// upload session this request opened).
        /// </summary>
        Task<bool> TryMountBlobAsync(string repository, Digest digest, string? fromRepository, CancellationToken ct);

        /// <summary>Stores a blob read from <paramref name="content"/> (a verifying stream); it becomes visible only whole.</summary>
        Task PutBlobAsync(string repository, Descriptor blob, Stream content, CancellationToken ct);

        /// <summary>The tags of a repository; untrusted, like everything a store says.</summary>
        IAsyncEnumerable<string> ListTagsAsync(string repository, CancellationToken ct);

        /// <summary>
        /// The referrers of <paramref name="subject"/> by the OCI 1.1 referrers API; null when the store has no
        /// such API (then they are found by the referrers tag schema, <c>sha256-&lt;hex&gt;</c>).
        /// </summary>
        Task<IReadOnlyList<Descriptor>?> ListReferrersAsync(string repository, Digest subject, string? artifactType, CancellationToken ct);

        /// <summary>
        /// Stores a manifest that has a subject, by its digest (everything it references is already there).
        /// True when the store indexed it under its subject itself; false when the caller must add it to the
        /// subject's referrers tag.
        /// </summary>
        Task<bool> PutReferrerAsync(string repository, Manifest manifest, CancellationToken ct);

        /// <summary>A later pass may try again what failed before (a registry's failed ping).</summary>
        void ForgetFailures();

        /// <summary>Called once when a run's copies are done: a store that writes as a whole (an archive) writes now.</summary>
        Task FlushAsync(CancellationToken ct);
    }
}
