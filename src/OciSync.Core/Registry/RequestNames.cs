using System;
using System.Text;
using OciSync.Core.References;
using OciSync.Core.Transport;

namespace OciSync.Core.Registry
{
    /// <summary>
    /// The last check before a name becomes part of a request path. Whatever the source (a rule, a
    /// tag list, a manifest), a repository or reference that breaks the grammar never reaches a URL,
    /// where <c>../</c> or <c>%2F</c> would address another repository.
    /// </summary>
    internal static class RequestNames
    {
        public static void CheckRepository(string repository)
        {
            if (repository == null || repository.Length > 255 || !NameGrammar.IsRepositoryPath(repository))
                throw new RegistryException(ErrorIds.InvalidReference, $"{UntrustedText.Quote(repository ?? string.Empty)} is not a valid repository name; no request was made.");
        }

        /// <summary>A tag or a digest, as a manifest URL takes it.</summary>
        public static void CheckReference(string reference)
        {
            if (reference == null || !(NameGrammar.IsTag(reference) || Digest.TryParse(reference, out _)))
                throw new RegistryException(ErrorIds.InvalidReference, $"{UntrustedText.Quote(reference ?? string.Empty)} is not a valid tag or digest; no request was made.");
        }

    }

    /// <summary>
    /// Guards one paged listing (a repository's tags, a registry's catalog): a next page must be the same
    /// list on the registry's own origin and not one already read, and pages and entries are capped, so a
    /// registry cannot lead the client elsewhere, round in a loop or fill memory. Every listed name is
    /// checked against the grammar of what is listed before it is used.
    /// </summary>
    internal sealed class ListPages
    {
        private readonly string _what;
        private readonly string _list;
        private readonly string _entries;
        private readonly Func<string, bool> _valid;
        private readonly Uri _base;
        private readonly string _path;
        private readonly int _maxPages;
        private readonly int _maxEntries;
        private readonly System.Collections.Generic.HashSet<string> _seen = new System.Collections.Generic.HashSet<string>(StringComparer.Ordinal);
        private int _accepted;

        private ListPages(string what, string list, string entries, Func<string, bool> valid, Uri baseUri, string path, int maxPages, int maxEntries)
        {
            _what = what;
            _list = list;
            _entries = entries;
            _valid = valid;
            _base = baseUri;
            _path = path;
            _maxPages = maxPages;
            _maxEntries = maxEntries;
        }

        /// <summary>The tag list of <paramref name="repository"/>: names must be valid tags.</summary>
        public static ListPages ForTags(string registry, string repository, Uri baseUri, int maxPages, int maxTags) =>
            new ListPages($"{registry}/{repository}", "tags list", "tags", NameGrammar.IsTag, baseUri, $"/v2/{repository}/tags/list", maxPages, maxTags);

        /// <summary>The repository catalog of <paramref name="registry"/>: names must be valid repository paths.</summary>
        public static ListPages ForCatalog(string registry, Uri baseUri, int maxPages, int maxRepositories) =>
            new ListPages(registry, "catalog", "repositories", n => n.Length <= 255 && NameGrammar.IsRepositoryPath(n), baseUri, "/v2/_catalog", maxPages, maxRepositories);

        public int Skipped { get; private set; }
        public string? FirstSkipped { get; private set; }

        /// <summary>
        /// The page to fetch for a next link. A link on this registry's host is taken for its query only,
        /// applied to this list's path on the origin the ping chose: registries behind proxies send other
        /// schemes, ports or path prefixes (Artifactory, Nexus), and the query cannot lead elsewhere.
        /// A link to another host is refused.
        /// </summary>
        public Uri Visit(Uri page)
        {
            if (!string.Equals(page.IdnHost, _base.IdnHost, StringComparison.OrdinalIgnoreCase))
                throw new RegistryException(ErrorIds.RegistryProtocolError,
                    $"{_what}: the {_list}'s next page is {RegistryException.Redact(page)}, not on {RegistryException.Redact(_base)}; it is not followed.");
            page = new UriBuilder(_base) { Path = _path, Query = page.Query.TrimStart('?') }.Uri;
            if (!_seen.Add(page.AbsoluteUri))
                throw new RegistryException(ErrorIds.RegistryProtocolError, $"{_what}: the {_list}'s next page {RegistryException.Redact(page)} was already read; the listing goes round in a loop.");
            if (_seen.Count > _maxPages)
                throw new RegistryException(ErrorIds.RegistryProtocolError, $"{_what}: the {_list} has more than {_maxPages} pages; the listing is abandoned.");
            return page;
        }

        /// <summary>True for a name to use; false (counted) for a name that breaks the grammar.</summary>
        public bool Accept(string name)
        {
            if (!_valid(name))
            {
                if (Skipped++ == 0) FirstSkipped = name;
                return false;
            }
            if (++_accepted > _maxEntries)
                throw new RegistryException(ErrorIds.RegistryProtocolError, $"{_what}: the registry lists more than {_maxEntries} {_entries}; the listing is abandoned.");
            return true;
        }
    }
}
