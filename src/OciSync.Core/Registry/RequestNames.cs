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
    /// Guards one tag listing: a next page must be this repository's tag list on the registry's own
    /// origin and not one already read, and pages and tags are capped, so a registry cannot lead the
    /// client elsewhere, round in a loop or fill memory.
    /// </summary>
    internal sealed class TagPages
    {
        private readonly string _what;
        private readonly Uri _base;
        private readonly string _path;
        private readonly int _maxPages;
        private readonly int _maxTags;
        private readonly System.Collections.Generic.HashSet<string> _seen = new System.Collections.Generic.HashSet<string>(StringComparer.Ordinal);
        private int _tags;

        public TagPages(string registry, string repository, Uri baseUri, int maxPages, int maxTags)
        {
            _what = $"{registry}/{repository}";
            _base = baseUri;
            _path = $"/v2/{repository}/tags/list";
            _maxPages = maxPages;
            _maxTags = maxTags;
        }

        public int Skipped { get; private set; }
        public string? FirstSkipped { get; private set; }

        /// <summary>
        /// The page to fetch for a next link. A link on this registry's host is taken for its query only,
        /// applied to this repository's tag list on the origin the ping chose: registries behind proxies
        /// send other schemes, ports or path prefixes (Artifactory, Nexus), and the query cannot lead elsewhere.
        /// A link to another host is refused.
        /// </summary>
        public Uri Visit(Uri page)
        {
            if (!string.Equals(page.IdnHost, _base.IdnHost, StringComparison.OrdinalIgnoreCase))
                throw new RegistryException(ErrorIds.RegistryProtocolError,
                    $"{_what}: the tags list's next page is {RegistryException.Redact(page)}, not on {RegistryException.Redact(_base)}; it is not followed.");
            page = new UriBuilder(_base) { Path = _path, Query = page.Query.TrimStart('?') }.Uri;
            if (!_seen.Add(page.AbsoluteUri))
                throw new RegistryException(ErrorIds.RegistryProtocolError, $"{_what}: the tags list's next page {RegistryException.Redact(page)} was already read; the listing goes round in a loop.");
            if (_seen.Count > _maxPages)
                throw new RegistryException(ErrorIds.RegistryProtocolError, $"{_what}: the tags list has more than {_maxPages} pages; the listing is abandoned.");
            return page;
        }

        /// <summary>True for a tag to use; false (counted) for a name that is not a valid tag.</summary>
        public bool Accept(string tag)
        {
            if (!NameGrammar.IsTag(tag))
            {
                if (Skipped++ == 0) FirstSkipped = tag;
                return false;
            }
            if (++_tags > _maxTags)
                throw new RegistryException(ErrorIds.RegistryProtocolError, $"{_what}: the registry lists more than {_maxTags} tags; the listing is abandoned.");
            return true;
        }
    }
}
