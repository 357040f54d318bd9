using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using OciSync.Core.References;

namespace OciSync.Core.Configuration
{
    /// <summary>Which images of the source repository a rule selects.</summary>
    public enum SourceSelectorKind
    {
        /// <summary><c>repo</c>: every tag the registry lists.</summary>
        AllTags,
        /// <summary><c>repo:a,b,c</c>: exactly those tags.</summary>
        Tags,
        /// <summary><c>repo@sha256:…</c>: that one manifest.</summary>
        Digest,
        /// <summary><c>repo:/regex/</c>: every listed tag the (unanchored) regex matches.</summary>
        Regex,
    }

    /// <summary>One destination of a rule: a repository, and either the tags to write (mapped left to right onto the source tags) or nothing (keep the source tag/digest).</summary>
    public sealed class SyncTarget
    {
        internal SyncTarget(ImageReference repository, IReadOnlyList<string> tags, Digest? digest)
        {
            Repository = repository;
            Tags = tags;
            Digest = digest;
        }

        /// <summary>The destination repository, without tag or digest.</summary>
        public ImageReference Repository { get; }
        /// <summary>Destination tags, as many as the source's; empty = each image keeps its source tag (or digest).</summary>
        public IReadOnlyList<string> Tags { get; }
        /// <summary>A digest the destination named; always equal to the source digest.</summary>
        public Digest? Digest { get; }

        /// <summary>The normalised destination as a rule would spell it.</summary>
        public override string ToString()
        {
            var s = Repository.RepositoryName;
            if (Tags.Count > 0) s += ":" + string.Join(",", Tags);
            if (Digest is not null) s += "@" + Digest;
            return s;
        }
    }

    /// <summary>One concrete copy: a source image (tag or digest) to a destination image.</summary>
    public sealed class ImagePair : IEquatable<ImagePair>
    {
        public ImagePair(ImageReference source, ImageReference destination, SyncRule? rule)
        {
            Source = source ?? throw new ArgumentNullException(nameof(source));
            Destination = destination ?? throw new ArgumentNullException(nameof(destination));
            Rule = rule;
        }

        public ImageReference Source { get; }
        public ImageReference Destination { get; }
        /// <summary>The rule that produced the pair (null when made directly).</summary>
        public SyncRule? Rule { get; }

        public override string ToString() => Source + " -> " + Destination;
        public bool Equals(ImagePair? other) => other is not null && other.Source.Equals(Source) && other.Destination.Equals(Destination);
        public override bool Equals(object? obj) => obj is ImagePair p && Equals(p);
        public override int GetHashCode() => Source.GetHashCode() * 31 + Destination.GetHashCode();
    }

    /// <summary>
    /// An image-syncer rule <c>source → destination(s)</c>, validated against the grammar of
    /// SPEC §2.2. Immutable. <see cref="Expand"/> turns it into concrete image pairs once the
    /// engine has listed the source repository's tags (only needed when <see cref="NeedsTagList"/>).
    /// </summary>
    public sealed class SyncRule
    {
        private SyncRule(string source, IReadOnlyList<string> destinations, ImageReference sourceRepository, SourceSelectorKind kind,
            IReadOnlyList<string> sourceTags, Digest? sourceDigest, Regex? tagPattern, IReadOnlyList<SyncTarget> targets, string? origin)
        {
            Source = source;
            Destinations = destinations;
            SourceRepository = sourceRepository;
            Kind = kind;
            SourceTags = sourceTags;
            SourceDigest = sourceDigest;
            TagPattern = tagPattern;
            Targets = targets;
            Origin = origin;
        }

        /// <summary>The source as written (a file's key, or the -Source argument).</summary>
        public string Source { get; }
        /// <summary>The destinations after environment expansion, duplicates dropped (first spelling kept).</summary>
        public IReadOnlyList<string> Destinations { get; }
        /// <summary>The normalised source repository, without tag or digest.</summary>
        public ImageReference SourceRepository { get; }
        public SourceSelectorKind Kind { get; }
        /// <summary>The tags of a <see cref="SourceSelectorKind.Tags"/> rule, in the written order; empty otherwise.</summary>
        public IReadOnlyList<string> SourceTags { get; }
        public Digest? SourceDigest { get; }
        /// <summary>The regex of a <see cref="SourceSelectorKind.Regex"/> rule; unanchored, as image-syncer matches.</summary>
        public Regex? TagPattern { get; }
        public IReadOnlyList<SyncTarget> Targets { get; }
        /// <summary><c>file:line</c> of the rule, or null for rules made in code.</summary>
        public string? Origin { get; }

        /// <summary>True when <see cref="Expand"/> needs the tags the registry lists (all tags, or a regex).</summary>
        public bool NeedsTagList => Kind == SourceSelectorKind.AllTags || Kind == SourceSelectorKind.Regex;

        public override string ToString() => Source + " -> " + string.Join(", ", Destinations);

        /// <summary>
        /// Concrete pairs, source-major (every destination of the first source image, then the
        /// next). <paramref name="listedTags"/> is what the registry listed for the source
        /// repository; required when <see cref="NeedsTagList"/>, ignored otherwise. Repeated
        /// pairs are produced once.
        /// </summary>
        public IEnumerable<ImagePair> Expand(IReadOnlyList<string>? listedTags)
        {
            if (NeedsTagList && listedTags == null)
                throw new ArgumentNullException(nameof(listedTags), $"Rule '{Source}' selects tags from the registry's tag list; pass the listed tags.");
            return ExpandCore(listedTags);
        }

        private IEnumerable<ImagePair> ExpandCore(IReadOnlyList<string>? listedTags)
        {
            var sources = new List<ImageReference>();
            switch (Kind)
            {
                case SourceSelectorKind.Digest:
                    sources.Add(SourceRepository.WithDigest(SourceDigest));
                    break;
                case SourceSelectorKind.Tags:
                    sources.AddRange(SourceTags.Select(t => SourceRepository.WithTag(t)));
                    break;
                default:
                    var seenTags = new HashSet<string>(StringComparer.Ordinal);
                    var filter = Kind == SourceSelectorKind.Regex ? new TagFilter(TagPattern!) : null;
                    foreach (var tag in listedTags!)
                    {
                        // Listed tags come from the registry: one that is not a valid tag never becomes a reference.
                        if (tag == null || !NameGrammar.IsTag(tag) || !seenTags.Add(tag)) continue;
                        if (filter != null && !filter.IsMatch(tag)) continue;
                        sources.Add(SourceRepository.WithTag(tag));
                    }
                    break;
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < sources.Count; i++)
            {
                var source = sources[i];
                foreach (var target in Targets)
                {
                    ImageReference destination;
                    if (target.Tags.Count > 0) destination = target.Repository.WithTag(target.Tags[i]);
                    else if (source.Digest is not null) destination = target.Repository.WithDigest(source.Digest);
                    else destination = target.Repository.WithTag(source.Tag);
                    if (target.Digest is not null && destination.Tag == null) destination = target.Repository.WithDigest(target.Digest);
                    if (seen.Add(source + " " + destination)) yield return new ImagePair(source, destination, this);
                }
            }
        }

        /// <summary>
        /// Validates and builds a rule (the <c>New-SyncRule</c> path). <paramref name="destinations"/>
        /// null, empty, or a single empty string means "the default destination". Throws
        /// <see cref="RuleException"/> with the grammar point broken.
        /// </summary>
        public static SyncRule Create(string source, IEnumerable<string?>? destinations, RuleOptions? options = null)
        {
            var list = destinations?.ToList() ?? new List<string?>();
            if (TryBuild(source, list, options ?? RuleOptions.Default, null, out var rule, out var problem)) return rule!;
            throw new RuleException(new ConfigError(problem!.ErrorId, null, 0, 0, string.IsNullOrWhiteSpace(source) ? null : source, problem.Detail));
        }

        internal sealed class Problem
        {
            public Problem(string errorId, string detail, int destinationIndex = -1)
            {
                ErrorId = errorId;
                Detail = detail;
                DestinationIndex = destinationIndex;
            }

            public string ErrorId { get; }
            public string Detail { get; }
            /// <summary>-1: the source (or the rule as a whole); otherwise the index of the destination at fault.</summary>
            public int DestinationIndex { get; }
        }

        internal static bool TryBuild(string? source, IReadOnlyList<string?> destinations, RuleOptions options, string? origin,
            out SyncRule? rule, out Problem? problem)
        {
            rule = null;
            var written = source ?? string.Empty;
            if (string.IsNullOrWhiteSpace(written)) { problem = new Problem(ConfigErrorIds.RuleEmptySide, "the source is empty."); return false; }
            if (!TryParseSide(written, true, options, out var src, out var id, out var detail)) { problem = new Problem(id, "source: " + detail); return false; }

            var kind = src.Regex != null ? SourceSelectorKind.Regex
                : src.Digest is not null ? SourceSelectorKind.Digest
                : src.Tags.Count > 0 ? SourceSelectorKind.Tags
                : SourceSelectorKind.AllTags;

            var targets = new List<SyncTarget>();
            var spelled = new List<string>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            bool useDefault = destinations.Count == 0 || (destinations.Count == 1 && string.IsNullOrWhiteSpace(destinations[0]));
            if (useDefault)
            {
                if (!TryDefaultDestination(src.Repository, options, out var target, out var text, out problem)) return false;
                targets.Add(target!);
                spelled.Add(text!);
            }
            else
            {
                for (int i = 0; i < destinations.Count; i++)
                {
                    var raw = destinations[i];
                    var label = destinations.Count == 1 ? "destination" : $"destination #{i + 1}";
                    if (string.IsNullOrWhiteSpace(raw)) { problem = new Problem(ConfigErrorIds.RuleEmptySide, label + " is empty.", i); return false; }
                    var expanded = options.Expand(raw!).Trim();
                    if (expanded.Length == 0)
                    {
                        problem = new Problem(ConfigErrorIds.RuleEmptySide, $"{label} '{raw}' expands to an empty string (is the environment variable set?).", i);
                        return false;
                    }
                    var shown = expanded == raw!.Trim() ? $"'{expanded}'" : $"'{expanded}' (from '{raw}')";
                    if (!TryParseSide(expanded, false, options, out var dst, out id, out detail)) { problem = new Problem(id, $"{label} {shown}: {detail}", i); return false; }
                    if (!CheckTarget(kind, src, dst, out id, out detail)) { problem = new Problem(id, $"{label} {shown}: {detail}", i); return false; }
                    var target = new SyncTarget(dst.Repository, dst.Tags, dst.Digest);
                    if (!seen.Add(target.ToString())) continue;
                    targets.Add(target);
                    spelled.Add(expanded);
                }
            }

            rule = new SyncRule(written, spelled.AsReadOnly(), src.Repository, kind,
                kind == SourceSelectorKind.Tags ? src.Tags : Array.Empty<string>(), src.Digest, src.Regex, targets.AsReadOnly(), origin);
            problem = null;
            return true;
        }

        private static bool CheckTarget(SourceSelectorKind kind, Side src, Side dst, out string id, out string detail)
        {
            id = detail = string.Empty;
            if (dst.Digest is not null)
            {
                if (kind != SourceSelectorKind.Digest)
                {
                    id = ConfigErrorIds.RuleDigestMismatch;
                    detail = $"names digest {dst.Digest} but the source names no digest; a destination digest must equal the source digest.";
                    return false;
                }
                if (dst.Digest != src.Digest)
                {
                    id = ConfigErrorIds.RuleDigestMismatch;
                    detail = $"names digest {dst.Digest} but the source names {src.Digest}; they must be the same.";
                    return false;
                }
            }
            if (dst.Tags.Count > 0)
            {
                switch (kind)
                {
                    case SourceSelectorKind.AllTags:
                    case SourceSelectorKind.Regex:
                        id = ConfigErrorIds.RuleDestinationTagsNeedSourceTags;
                        detail = $"names {Count(dst.Tags.Count, "tag")} but the source selects {(kind == SourceSelectorKind.Regex ? "tags by regex" : "all tags")}; destination tags need an explicit source tag list to map onto (or leave the destination without tags).";
                        return false;
                    case SourceSelectorKind.Tags when dst.Tags.Count != src.Tags.Count:
                        id = ConfigErrorIds.RuleTagCountMismatch;
                        detail = $"names {Count(dst.Tags.Count, "tag")} but the source names {Count(src.Tags.Count, "tag")}; they are mapped left to right and must be as many.";
                        return false;
                    case SourceSelectorKind.Digest when dst.Tags.Count != 1:
                        id = ConfigErrorIds.RuleTagCountMismatch;
                        detail = $"names {Count(dst.Tags.Count, "tag")} but the source names one digest; give one destination tag at most.";
                        return false;
                }
            }
            return true;
        }

        private static string Count(int n, string noun) => n == 1 ? "1 " + noun : n + " " + noun + "s";

        private static bool TryDefaultDestination(ImageReference source, RuleOptions options, out SyncTarget? target, out string? text, out Problem? problem)
        {
            target = null;
            text = null;
            var registry = options.ResolveDefaultRegistry();
            var ns = options.ResolveDefaultNamespace();
            if (registry == null || ns == null)
            {
                var missing = registry == null && ns == null ? "a default registry and a default namespace"
                    : registry == null ? "a default registry" : "a default namespace";
                problem = new Problem(ConfigErrorIds.RuleNoDefaultDestination,
                    $"the destination is empty, which needs {missing} (-DefaultRegistry/-DefaultNamespace, or the environment variables DEFAULT_REGISTRY/DEFAULT_NAMESPACE).");
                return false;
            }

            var last = source.Repository.Substring(source.Repository.LastIndexOf('/') + 1);
            var reg = Auth.RegistryCredential.NormalizeKey(registry);
            var path = ns.Trim('/') + "/" + last;
            // The default registry is a registry even without a '.' in it; validate the pieces separately.
            if (reg.IndexOf('/') >= 0 || !NameGrammar.IsHostLike(reg) || !ImageReference.SplitRegistry("example.invalid/" + path, out _, out var repository, out _))
            {
                problem = new Problem(ConfigErrorIds.RuleInvalidReference,
                    $"the default destination '{registry.TrimEnd('/')}/{ns.Trim('/')}/{last}' is not a valid repository.");
                return false;
            }
            var repo = new ImageReference(reg, repository);
            target = new SyncTarget(repo, Array.Empty<string>(), null);
            text = repo.RepositoryName;
            problem = null;
            return true;
        }

        private sealed class Side
        {
            public Side(ImageReference repository, IReadOnlyList<string> tags, Digest? digest, Regex? regex)
            {
                Repository = repository;
                Tags = tags;
                Digest = digest;
                Regex = regex;
            }

            public ImageReference Repository { get; }
            public IReadOnlyList<string> Tags { get; }
            public Digest? Digest { get; }
            public Regex? Regex { get; }
        }

        /// <summary>Parses <c>name[:t1,t2|:/regex/][@digest]</c> (regex only when <paramref name="isSource"/>).</summary>
        private static bool TryParseSide(string written, bool isSource, RuleOptions options, out Side side, out string id, out string detail)
        {
            side = null!;
            id = ConfigErrorIds.RuleInvalidReference;
            var text = written.Trim();
            // oci:PATH[selector]: the directory ends at the first ':' or '@', and the selector is read as for a registry.
            ImageReference? layout = null;
            if (ImageReference.TrySplitLocal(text, out var prefix, out var layoutPath, out var selector))
            {
                if (layoutPath.Length == 0) { detail = $"the layout {(prefix == ImageReference.ArchivePrefix ? "archive" : "directory")} is missing ({prefix}PATH[:TAG])."; return false; }
                try { layout = ImageReference.Local(prefix, (options.ResolvePath ?? System.IO.Path.GetFullPath)(layoutPath)); }
                catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is System.IO.PathTooLongException || e is System.Security.SecurityException)
                {
                    detail = $"'{layoutPath}' is not a usable directory path ({e.Message}).";
                    return false;
                }
                text = "layout" + selector;
            }
            if (text.IndexOf("://", StringComparison.Ordinal) >= 0) { detail = "an image reference has no scheme (write registry/repository, not https://…)."; return false; }
            if (text.IndexOf(' ') >= 0) { detail = "an image reference cannot contain spaces."; return false; }

            string name;
            string? tagPart = null;
            string? digestPart = null;
            var regexStart = text.IndexOf(":/", StringComparison.Ordinal);
            if (regexStart >= 0)
            {
                // ":/" cannot occur in a registry or repository name, so this is where a regex tag starts.
                name = text.Substring(0, regexStart);
                tagPart = text.Substring(regexStart + 1);
            }
            else
            {
                var at = text.IndexOf('@');
                var rest = at >= 0 ? text.Substring(0, at) : text;
                if (at >= 0) digestPart = text.Substring(at + 1);
                int skip = 0;
                var slash = rest.IndexOf('/');
                if (slash > 0)
                {
                    var first = rest.Substring(0, slash);
                    if (ImageReference.IsRegistryComponent(first) && NameGrammar.IsHostLike(first))
                        skip = slash + 1;
                }
                var colon = rest.IndexOf(':', skip);
                if (colon >= 0) { name = rest.Substring(0, colon); tagPart = rest.Substring(colon + 1); }
                else name = rest;
            }

            if (name.Length == 0) { detail = "the repository name is missing."; return false; }
            ImageReference repo;
            if (layout != null && name != "layout")
            {
                detail = $"a {(layout.IsArchive ? "layout archive" : "layout directory")} path ends at its first ':' or '@', and what follows ('{text.Substring("layout".Length)}') is not a tag, tag list, /regex/ or digest.";
                return false;
            }
            if (layout != null) repo = layout;
            else if (!ImageReference.SplitRegistry(name, out var registry, out var repository, out var problem)) { detail = problem; return false; }
            else repo = new ImageReference(registry, repository);

            var tags = new List<string>();
            Regex? regex = null;
            if (tagPart != null)
            {
                if (tagPart.Length == 0) { detail = "nothing follows ':' (write a tag, a comma-separated tag list, or /regex/)."; return false; }
                if (tagPart.Length >= 2 && tagPart[0] == '/' && tagPart[tagPart.Length - 1] == '/')
                {
                    var body = tagPart.Substring(1, tagPart.Length - 2);
                    if (!isSource) { detail = "a tag regex (/…/) is allowed only in the source."; return false; }
                    if (body.IndexOf("/,/", StringComparison.Ordinal) >= 0)
                    {
                        id = ConfigErrorIds.RuleMultipleRegex;
                        detail = $"'{tagPart}' holds more than one regex; only one regex per rule is allowed.";
                        return false;
                    }
                    if (body.Length == 0) { id = ConfigErrorIds.RuleBadRegex; detail = "the tag regex '//' is empty."; return false; }
                    try
                    {
                        regex = TagFilter.Compile(body);
                    }
                    catch (ArgumentException e)
                    {
                        id = ConfigErrorIds.RuleBadRegex;
                        detail = $"the tag regex /{body}/ is not a valid regular expression: {e.Message}";
                        return false;
                    }
                }
                else
                {
                    var parts = tagPart.Split(',');
                    int regexes = parts.Count(p => p.Length >= 2 && p[0] == '/' && p[p.Length - 1] == '/');
                    if (parts.Any(p => p.StartsWith("/", StringComparison.Ordinal) || p.EndsWith("/", StringComparison.Ordinal)))
                    {
                        if (!isSource) { detail = "a tag regex (/…/) is allowed only in the source."; return false; }
                        if (regexes > 1) { id = ConfigErrorIds.RuleMultipleRegex; detail = $"'{tagPart}' holds {regexes} regexes; only one regex per rule is allowed."; return false; }
                        if (regexes == 1) { id = ConfigErrorIds.RuleMultipleRegex; detail = $"'{tagPart}' combines a regex with tags; a regex must be the rule's only tag selector."; return false; }
                        id = ConfigErrorIds.RuleBadRegex;
                        detail = $"'{tagPart}' is neither a tag list nor a regex; a regex is enclosed in slashes: /regex/.";
                        return false;
                    }
                    foreach (var t in parts)
                    {
                        if (t.Length == 0) { detail = $"the tag list '{tagPart}' has an empty tag."; return false; }
                        if (!ImageReference.IsValidTag(t)) { detail = $"'{t}' is not a valid tag (letters, digits, _ . -; up to 128; not starting with . or -)."; return false; }
                        tags.Add(t);
                    }
                }
            }

            Digest? digest = null;
            if (digestPart != null)
            {
                if (tagPart != null) { detail = "names both tags and a digest; name either tags or one digest."; return false; }
                if (digestPart.IndexOf(',') >= 0 || digestPart.IndexOf('@') >= 0) { detail = "names more than one digest; at most one digest is allowed."; return false; }
                if (!Digest.TryParse(digestPart, out digest, out var why)) { detail = why; return false; }
            }

            side = new Side(repo, tags.AsReadOnly(), digest, regex);
            detail = string.Empty;
            return true;
        }
    }
}
