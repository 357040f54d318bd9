using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using OciSync.Core.References;

namespace OciSync.Core.Sync
{
    /// <summary>
    /// The tags by which referrers live beside their image when a registry has no referrers API: the
    /// OCI 1.1 tag schema (<c>sha256-&lt;hex&gt;</c>, an index of the digest's referrers) and cosign's tags
    /// (<c>sha256-&lt;hex&gt;.sig</c>, <c>.att</c>, <c>.sbom</c>). Also remembers which of them a run's tag
    /// listings showed, so a listed repository is asked no HEAD for a signature it does not have.
    /// </summary>
    internal sealed class ReferrerTags
    {
        /// <summary>cosign's tags beside an image: its signatures, attestations and attached SBOM.</summary>
        internal static readonly string[] CosignSuffixes = { ".sig", ".att", ".sbom" };
        private static readonly Regex Schema = new Regex("^sha(256|512)-[0-9a-f]{1,128}(\\.(sig|att|sbom))?$", RegexOptions.CultureInvariant);

        // Per store and repository: the schema tags its listing had (only those; a run holds no repository's tags).
        // Lazy: two images of one repository asking at once must not list it twice.
        private readonly ConcurrentDictionary<string, Lazy<Task<HashSet<string>?>>> _listed = new ConcurrentDictionary<string, Lazy<Task<HashSet<string>?>>>(StringComparer.Ordinal);

        /// <summary>True for a tag that only names referrers of a digest: a rule listing tags leaves it to the referrers of its image.</summary>
        public static bool IsSchemaTag(string? tag) => tag != null && Schema.IsMatch(tag);

        /// <summary>The OCI 1.1 referrers tag of a digest: <c>&lt;alg&gt;-&lt;hex&gt;</c>, cut to the 128 characters a tag may have.</summary>
        public static string FallbackTag(Digest subject)
        {
            var tag = subject.Algorithm + "-" + subject.Hex;
            return tag.Length > 128 ? tag.Substring(0, 128) : tag;
        }

        /// <summary>What a tag listing (the planner's) showed of a repository's referrer tags.</summary>
        public void Remember(string store, string repository, IEnumerable<string> listed)
        {
            var tags = SchemaTags(listed);
            _listed[store + "/" + repository] = new Lazy<Task<HashSet<string>?>>(() => Task.FromResult<HashSet<string>?>(tags));
        }

        /// <summary>
        /// The repository's referrer tags: from this run's listing of it, else listed now by <paramref name="list"/>
        /// (once per repository: one listing costs less than a HEAD per tag name per image). Null when the listing
        /// failed (told once to <paramref name="failed"/>): then the caller asks tag by tag, for the rest of the run.
        /// </summary>
        public async Task<HashSet<string>?> GetAsync(string store, string repository, Func<Task<IReadOnlyList<string>>> list, Action<Exception> failed)
        {
            var entry = _listed.GetOrAdd(store + "/" + repository, _ => new Lazy<Task<HashSet<string>?>>(async () =>
            {
                try
                {
                    return SchemaTags(await list().ConfigureAwait(false));
                }
                catch (Exception e) when (!(e is OperationCanceledException))
                {
                    failed(e);
                    return null;
                }
            }));
            return await entry.Value.ConfigureAwait(false);
        }

        private static HashSet<string> SchemaTags(IEnumerable<string> listed)
        {
            var tags = new HashSet<string>(StringComparer.Ordinal);
            foreach (var tag in listed) if (IsSchemaTag(tag)) tags.Add(tag);
            return tags;
        }
    }
}
