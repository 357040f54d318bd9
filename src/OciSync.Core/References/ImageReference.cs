using System;

namespace OciSync.Core.References
{
    /// <summary>
    /// <c>registry/repository[:tag][@digest]</c>, normalised the way <c>docker pull</c> reads
    /// names: a first component is a registry only if it holds '.' or ':' or is 'localhost';
    /// otherwise the image is on Docker Hub (<c>nginx</c> → <c>docker.io/library/nginx</c>).
    /// </summary>
    public sealed class ImageReference : IEquatable<ImageReference>
    {
        /// <summary>Docker Hub's registry name as references spell it (<c>index.docker.io</c> and <see cref="DockerHubEndpoint"/> are normalised to it).</summary>
        public const string DockerHub = "docker.io";
        /// <summary>The host that actually serves Docker Hub's registry API.</summary>
        public const string DockerHubEndpoint = "registry-1.docker.io";

        /// <summary>A reference from parts that are already normalised; nothing is validated (user text goes through <see cref="Parse"/>).</summary>
        public ImageReference(string registry, string repository, string? tag = null, Digest? digest = null)
        {
            Registry = registry ?? throw new ArgumentNullException(nameof(registry));
            Repository = repository ?? throw new ArgumentNullException(nameof(repository));
            Tag = tag;
            Digest = digest;
        }

        /// <summary>Registry name as users write it (<c>docker.io</c>, <c>quay.io</c>, <c>127.0.0.1:5000</c>).</summary>
        public string Registry { get; }
        /// <summary>Repository path within the registry (<c>library/nginx</c>).</summary>
        public string Repository { get; }
        /// <summary>The tag, or null when the reference names none.</summary>
        public string? Tag { get; }
        /// <summary>The manifest digest, or null when the reference names none.</summary>
        public Digest? Digest { get; }

        /// <summary><c>registry/repository</c> (or <c>oci:PATH</c>), the key auth lookup and deduplication use.</summary>
        public string RepositoryName => IsRegistry ? Registry + "/" + Repository : Registry;

        /// <summary>How a reference names an OCI image layout directory instead of a registry (skopeo's transport name).</summary>
        public const string LayoutPrefix = "oci:";
        /// <summary>How a reference names a tar of an OCI image layout (skopeo's <c>oci-archive:</c>).</summary>
        public const string ArchivePrefix = "oci-archive:";

        /// <summary>An OCI image layout (<c>oci:PATH[:TAG]</c>): one repository, in a directory.</summary>
        // A local reference has no repository; a registry called "oci" on a port (oci:5000) always has one.
        public bool IsLayout => Repository.Length == 0 && Registry.StartsWith(LayoutPrefix, StringComparison.Ordinal);

        /// <summary>An OCI archive (<c>oci-archive:FILE[:TAG]</c>): a layout in one tar file.</summary>
        public bool IsArchive => Repository.Length == 0 && Registry.StartsWith(ArchivePrefix, StringComparison.Ordinal);

        /// <summary>A registry, not a local layout or archive: only registries get credentials.</summary>
        public bool IsRegistry => !IsLayout && !IsArchive;

        /// <summary>The layout's directory or the archive's file, for a local reference.</summary>
        public string? LocalPath => IsLayout ? Registry.Substring(LayoutPrefix.Length) : IsArchive ? Registry.Substring(ArchivePrefix.Length) : null;

        /// <summary>A reference to the layout at <paramref name="path"/> (kept as given: callers resolve it first).</summary>
        public static ImageReference Layout(string path, string? tag = null, Digest? digest = null) => new ImageReference(LayoutPrefix + path, string.Empty, tag, digest);

        /// <summary>A local reference of the kind <paramref name="prefix"/> names (<see cref="LayoutPrefix"/> or <see cref="ArchivePrefix"/>).</summary>
        public static ImageReference Local(string prefix, string path, string? tag = null, Digest? digest = null) => new ImageReference(prefix + path, string.Empty, tag, digest);

        /// <summary>As <see cref="TrySplitLocal"/>, for layouts only.</summary>
        public static bool TrySplitLayout(string text, out string path, out string rest) =>
            TrySplitLocal(text, out var prefix, out path, out rest) && prefix == LayoutPrefix;

        /// <summary>
        /// Splits <c>oci:PATH[:rest][@rest]</c> or <c>oci-archive:FILE…</c>: the path ends at the first ':' or
        /// '@' after the prefix (as skopeo reads it; a Windows drive letter's colon is part of the path).
        /// False when the text names a registry.
        /// </summary>
        public static bool TrySplitLocal(string text, out string prefix, out string path, out string rest)
        {
            path = rest = string.Empty;
            prefix = text.StartsWith(LayoutPrefix, StringComparison.Ordinal) ? LayoutPrefix
                : text.StartsWith(ArchivePrefix, StringComparison.Ordinal) ? ArchivePrefix : string.Empty;
            if (prefix.Length == 0) return false;
            var body = text.Substring(prefix.Length);
            // oci:5000/team/app is a registry called oci on port 5000, as it always was; ./5000 names such a directory.
            var digits = 0;
            while (digits < body.Length && char.IsDigit(body[digits])) digits++;
            if (digits > 0 && (digits == body.Length || body[digits] == '/')) { prefix = string.Empty; return false; }
            var from = body.Length >= 3 && char.IsLetter(body[0]) && body[1] == ':' && (body[2] == '\\' || body[2] == '/') ? 2 : 0;
            var end = body.IndexOfAny(new[] { ':', '@' }, from);
            path = end < 0 ? body : body.Substring(0, end);
            rest = end < 0 ? string.Empty : body.Substring(end);
            return true;
        }

        /// <summary>The tag or digest string a registry API call uses; the digest wins when both are set.</summary>
        public string? ApiReference => Digest?.ToString() ?? Tag;

        /// <summary>The host name the registry API is reached at.</summary>
        public string EndpointHost => Registry == DockerHub ? DockerHubEndpoint : Registry;

        /// <summary>This repository with <paramref name="tag"/> and no digest.</summary>
        public ImageReference WithTag(string? tag) => new ImageReference(Registry, Repository, tag, null);
        /// <summary>This repository with <paramref name="digest"/> and no tag.</summary>
        public ImageReference WithDigest(Digest? digest) => new ImageReference(Registry, Repository, null, digest);
        /// <summary>The same registry, tag and digest with another repository path (not validated).</summary>
        public ImageReference WithRepository(string repository) => new ImageReference(Registry, repository, Tag, Digest);
        /// <summary>This reference without its tag and digest.</summary>
        public ImageReference AsRepository() => new ImageReference(Registry, Repository);

        /// <summary>Parses and normalises <c>[registry/]repository[:tag][@digest]</c>, <c>oci:PATH[:TAG]</c> or <c>oci-archive:FILE[:TAG]</c>; throws <see cref="FormatException"/> saying what is wrong.</summary>
        public static ImageReference Parse(string value)
        {
            if (TryParse(value, out var reference, out var problem)) return reference!;
            throw new FormatException(problem);
        }

        /// <summary>As <see cref="Parse"/>, but returns false instead of throwing.</summary>
        public static bool TryParse(string? value, out ImageReference? reference) => TryParse(value, out reference, out _);

        /// <summary>As <see cref="Parse"/>, but returns false instead of throwing; <paramref name="problem"/> says what is wrong (empty on success).</summary>
        public static bool TryParse(string? value, out ImageReference? reference, out string problem)
        {
            reference = null;
            var text = value?.Trim();
            if (string.IsNullOrEmpty(text)) { problem = "An image reference cannot be empty."; return false; }
            if (text!.IndexOf("://", StringComparison.Ordinal) >= 0) { problem = $"'{value}': an image reference has no scheme (write registry/repository, not https://…)."; return false; }

            string? localPrefix = null, localPath = null;
            if (TrySplitLocal(text, out var prefix, out var path, out var rest))
            {
                if (path.Length == 0) { problem = $"'{value}': the layout {(prefix == ArchivePrefix ? "archive" : "directory")} is missing ({prefix}PATH[:TAG])."; return false; }
                localPrefix = prefix;
                localPath = path;
                text = rest;
            }

            SplitSelector(text, out var name, out var tag, out var digestText);
            Digest? digest = null;
            if (digestText != null && !Digest.TryParse(digestText, out digest, out problem)) { problem = $"'{value}': {problem}"; return false; }
            if (tag != null && !NameGrammar.IsTag(tag)) { problem = $"'{value}': '{tag}' is not a valid tag."; return false; }
            if (localPrefix != null)
            {
                if (name.Length > 0) { problem = $"'{value}': a layout path ends at its first ':' or '@', and '{name}' is neither a tag nor a digest."; return false; }
                reference = Local(localPrefix, localPath!, tag, digest);
                problem = string.Empty;
                return true;
            }
            if (!SplitRegistry(name, out var registry, out var repository, out problem)) { problem = $"'{value}': {problem}"; return false; }
            reference = new ImageReference(registry, repository, tag, digest);
            return true;
        }

        /// <summary>
        /// Splits <c>name[:selector][@digest]</c> — the one place the parts of a reference are found, for
        /// <see cref="TryParse(string?, out ImageReference?, out string)"/> and the rule parser (whose
        /// selector may also be a tag list <c>a,b</c> or a <c>/regex/</c>). The selector starts at the
        /// first ':' after the registry (a registry's port is not a tag); a ":/" starts a regex, which runs
        /// to the end (a regex may hold '@'). For a layout, pass what follows its path: the name is then
        /// empty, unless that text is malformed (<c>@2024:/^v/</c> leaves <c>@2024</c>), which callers refuse.
        /// </summary>
        internal static void SplitSelector(string text, out string name, out string? selector, out string? digest)
        {
            selector = digest = null;
            var regexStart = text.IndexOf(":/", StringComparison.Ordinal);
            if (regexStart >= 0)
            {
                // ":/" cannot occur in a registry or repository name (a port is digits), so a regex tag starts here.
                name = text.Substring(0, regexStart);
                selector = text.Substring(regexStart + 1);
                return;
            }
            var at = text.IndexOf('@');
            var rest = at >= 0 ? text.Substring(0, at) : text;
            if (at >= 0) digest = text.Substring(at + 1);
            var skip = 0;
            var slash = rest.IndexOf('/');
            if (slash > 0)
            {
                var first = rest.Substring(0, slash);
                if (IsRegistryComponent(first) && NameGrammar.IsHostLike(first)) skip = slash + 1;
            }
            var colon = rest.IndexOf(':', skip);
            name = colon >= 0 ? rest.Substring(0, colon) : rest;
            if (colon >= 0) selector = rest.Substring(colon + 1);
        }

        /// <summary>Splits <c>[registry/]repository</c> with Docker Hub normalisation and validates both parts.</summary>
        public static bool SplitRegistry(string name, out string registry, out string repository, out string problem)
        {
            registry = DockerHub;
            repository = name;
            var slash = name.IndexOf('/');
            if (slash > 0 && IsRegistryComponent(name.Substring(0, slash)))
            {
                registry = name.Substring(0, slash);
                repository = name.Substring(slash + 1);
            }

            if (registry == "index.docker.io" || registry == DockerHubEndpoint) registry = DockerHub;
            if (!NameGrammar.IsRegistryHost(registry)) { problem = $"'{registry}' is not a valid registry host."; return false; }
            if (registry == DockerHub && repository.IndexOf('/') < 0) repository = "library/" + repository;
            if (repository.Length == 0 || repository.Length > 255 || !NameGrammar.IsRepositoryPath(repository))
            {
                problem = $"'{repository}' is not a valid repository name (lower-case letters, digits and separators . _ - /).";
                return false;
            }
            problem = string.Empty;
            return true;
        }

        /// <summary>True for a valid tag: <c>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}</c>.</summary>
        public static bool IsValidTag(string tag) => NameGrammar.IsTag(tag);

        /// <summary>
        /// Whether the first component of a name is a registry (docker's rule: it holds '.' or ':', is
        /// 'localhost', or is an IPv6 literal) rather than the start of a Docker Hub repository. The one
        /// place this is decided: references and rules both ask here.
        /// </summary>
        public static bool IsRegistryComponent(string first) =>
            first.IndexOf('.') >= 0 || first.IndexOf(':') >= 0 || first == "localhost" || first.StartsWith("[", StringComparison.Ordinal);

        /// <summary>The normalised reference: <see cref="RepositoryName"/>, then <c>:tag</c> and <c>@digest</c> when set.</summary>
        public override string ToString()
        {
            var s = RepositoryName;
            if (Tag != null) s += ":" + Tag;
            if (Digest is not null) s += "@" + Digest;
            return s;
        }

        /// <summary>True when both spell the same normalised reference.</summary>
        public bool Equals(ImageReference? other) => other is not null && other.ToString() == ToString();
        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is ImageReference r && Equals(r);
        /// <inheritdoc/>
        public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());
    }
}
