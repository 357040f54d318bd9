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
        public const string DockerHub = "docker.io";
        /// <summary>The host that actually serves Docker Hub's registry API.</summary>
        public const string DockerHubEndpoint = "registry-1.docker.io";

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
        public string? Tag { get; }
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

        public ImageReference WithTag(string? tag) => new ImageReference(Registry, Repository, tag, null);
        public ImageReference WithDigest(Digest? digest) => new ImageReference(Registry, Repository, null, digest);
        public ImageReference WithRepository(string repository) => new ImageReference(Registry, repository, Tag, Digest);
        public ImageReference AsRepository() => new ImageReference(Registry, Repository);

        public static ImageReference Parse(string value)
        {
            if (TryParse(value, out var reference, out var problem)) return reference!;
            throw new FormatException(problem);
        }

        public static bool TryParse(string? value, out ImageReference? reference) => TryParse(value, out reference, out _);

        public static bool TryParse(string? value, out ImageReference? reference, out string problem)
        {
            reference = null;
            var text = value?.Trim();
            if (string.IsNullOrEmpty(text)) { problem = "An image reference cannot be empty."; return false; }

            if (TrySplitLocal(text!, out var localPrefix, out var layoutPath, out var layoutRest))
                return TryParseLocal(value!, localPrefix, layoutPath, layoutRest, out reference, out problem);

            Digest? digest = null;
            var at = text!.IndexOf('@');
            if (at >= 0)
            {
                if (!Digest.TryParse(text.Substring(at + 1), out digest, out problem)) { problem = $"'{value}': {problem}"; return false; }
                text = text.Substring(0, at);
            }

            string? tag = null;
            var lastSlash = text.LastIndexOf('/');
            var colon = text.LastIndexOf(':');
            if (colon > lastSlash)
            {
                tag = text.Substring(colon + 1);
                text = text.Substring(0, colon);
                if (!NameGrammar.IsTag(tag)) { problem = $"'{value}': '{tag}' is not a valid tag."; return false; }
            }

            if (!SplitRegistry(text, out var registry, out var repository, out problem)) { problem = $"'{value}': {problem}"; return false; }
            reference = new ImageReference(registry, repository, tag, digest);
            return true;
        }

        private static bool TryParseLocal(string value, string prefix, string path, string rest, out ImageReference? reference, out string problem)
        {
            reference = null;
            if (path.Length == 0) { problem = $"'{value}': the layout directory is missing (oci:PATH[:TAG])."; return false; }
            string? tag = null;
            Digest? digest = null;
            if (rest.StartsWith("@", StringComparison.Ordinal))
            {
                if (!Digest.TryParse(rest.Substring(1), out digest, out problem)) { problem = $"'{value}': {problem}"; return false; }
            }
            else if (rest.Length > 0)
            {
                var at = rest.IndexOf('@');
                tag = at < 0 ? rest.Substring(1) : rest.Substring(1, at - 1);
                if (!NameGrammar.IsTag(tag)) { problem = $"'{value}': '{tag}' is not a valid tag."; return false; }
                if (at >= 0 && !Digest.TryParse(rest.Substring(at + 1), out digest, out problem)) { problem = $"'{value}': {problem}"; return false; }
            }
            reference = Local(prefix, path, tag, digest);
            problem = string.Empty;
            return true;
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

        public static bool IsValidTag(string tag) => NameGrammar.IsTag(tag);

        /// <summary>
        /// Whether the first component of a name is a registry (docker's rule: it holds '.' or ':', is
        /// 'localhost', or is an IPv6 literal) rather than the start of a Docker Hub repository. The one
        /// place this is decided: references and rules both ask here.
        /// </summary>
        public static bool IsRegistryComponent(string first) =>
            first.IndexOf('.') >= 0 || first.IndexOf(':') >= 0 || first == "localhost" || first.StartsWith("[", StringComparison.Ordinal);

        public override string ToString()
        {
            var s = RepositoryName;
            if (Tag != null) s += ":" + Tag;
            if (Digest is not null) s += "@" + Digest;
            return s;
        }

        public bool Equals(ImageReference? other) => other is not null && other.ToString() == ToString();
        public override bool Equals(object? obj) => obj is ImageReference r && Equals(r);
        public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());
    }
}
