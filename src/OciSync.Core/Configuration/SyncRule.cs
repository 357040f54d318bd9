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
        internal SyncTarget(ImageReference repository, IReadOnlyList<string> tags, Digest? digest, bool isPrefix = false)
        {
            Repository = repository;
            Tags = tags;
            Digest = digest;
            IsPrefix = isPrefix;
        }

        /// <summary>
        /// The destination of a catalog rule: <see cref="Repository"/> is a repository prefix (empty: the
        /// registry's root), and each source repository goes under it with the source prefix replaced.
        /// </summary>
        public bool IsPrefix { get; }

        /// <summary>The destination repository, without tag or digest.</summary>
        public ImageReference Repository { get; }
        /// <summary>Destination tags, as many as the source's; empty = each image keeps its source tag (or digest).</summary>
        public IReadOnlyList<string> Tags { get; }
        /// <summary>A digest the destination named; always equal to the source digest.</summary>
        public Digest? Digest { get; }

        /// <summary>The normalised destination as a rule would spell it.</summary>
        public override string ToString()
        {
            if (IsPrefix) return CatalogGrammar.PrefixText(Repository);
            var s = Repository.RepositoryName;
            if (Tags.Count > 0) s += ":" + string.Join(",", Tags);
            if (Digest is not null) s += "@" + Digest;
            return s;
        }
    }

    /// <summary>
    /// An image-syncer rule <c>source → destination(s)</c>, validated against the grammar of
    /// SPEC §2.2. Immutable. <see cref="Expand"/> turns it into concrete image copies once the
    /// engine has listed the source repository's tags (only needed when <see cref="NeedsTagList"/>).
    /// </summary>
    public sealed partial class SyncRule
    {
        /// <summary>Built by <see cref="RuleParser"/> only, which has validated every part.</summary>
        internal SyncRule(string source, IReadOnlyList<string> destinations, ImageReference sourceRepository, SourceSelectorKind kind,
            IReadOnlyList<string> sourceTags, Digest? sourceDigest, Regex? tagPattern, IReadOnlyList<SyncTarget> targets, string? origin,
            TagSelection? selection = null)
        {
            Selection = selection ?? TagSelection.None;
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
        /// <summary>Which images of <see cref="SourceRepository"/> the rule selects.</summary>
        public SourceSelectorKind Kind { get; }
        /// <summary>The tags of a <see cref="SourceSelectorKind.Tags"/> rule, in the written order; empty otherwise.</summary>
        public IReadOnlyList<string> SourceTags { get; }
        /// <summary>The digest of a <see cref="SourceSelectorKind.Digest"/> rule; null otherwise.</summary>
        public Digest? SourceDigest { get; }
        /// <summary>The regex of a <see cref="SourceSelectorKind.Regex"/> rule; unanchored, as image-syncer matches.</summary>
        public Regex? TagPattern { get; }
        /// <summary>The parsed destinations, one per entry of <see cref="Destinations"/> (the default destination when none was given).</summary>
        public IReadOnlyList<SyncTarget> Targets { get; }
        /// <summary><c>file:line</c> of the rule, or null for rules made in code.</summary>
        public string? Origin { get; }
        /// <summary>Exclude, semver, latest and platforms (<see cref="TagSelection"/>); <see cref="TagSelection.None"/> for a plain image-syncer rule.</summary>
        public TagSelection Selection { get; }

        /// <summary>True when <see cref="Expand"/> needs the tags the registry lists (all tags, or a regex).</summary>
        public bool NeedsTagList => Kind == SourceSelectorKind.AllTags || Kind == SourceSelectorKind.Regex;

        /// <summary><c>source -> destination, destination</c>: the source as written, the destinations after expansion.</summary>
        /// <remarks>A rule with a selection adds it in brackets: <c>repo:/^v/ -> dst [semver &gt;=1.20 &lt;2, latest 3]</c>.</remarks>
        public override string ToString() => _shownAs ?? Source + " -> " + string.Join(", ", Destinations) + (Selection.IsEmpty ? string.Empty : " [" + Selection + "]");

        // A rule restricted to some of its targets still shows (and is recorded as) the rule it came from.
        private string? _shownAs;

        /// <summary>
        /// This rule with only the targets <paramref name="keep"/> accepts (a shard's): the same rule when it keeps
        /// them all, null when it keeps none. The copies keep the whole rule's text. A catalog rule's prefix targets
        /// name no repository yet: restrict the rules <see cref="ExpandCatalog"/> makes instead.
        /// </summary>
        internal SyncRule? RestrictTargets(Func<SyncTarget, bool> keep)
        {
            if (IsCatalog) throw new InvalidOperationException($"Rule '{Source}' is a catalog rule; restrict the rules ExpandCatalog makes of it.");
            var kept = new List<int>();
            for (int i = 0; i < Targets.Count; i++) if (keep(Targets[i])) kept.Add(i);
            if (kept.Count == Targets.Count) return this;
            if (kept.Count == 0) return null;
            // Destinations[i] spells Targets[i] (both dedupe the same way); keep them paired.
            var destinations = Destinations.Count == Targets.Count ? kept.Select(i => Destinations[i]).ToList() : kept.Select(i => Targets[i].ToString()).ToList();
            return new SyncRule(Source, destinations.AsReadOnly(), SourceRepository, Kind, SourceTags, SourceDigest, TagPattern, kept.Select(i => Targets[i]).ToList().AsReadOnly(), Origin, Selection)
            {
                _shownAs = ToString(),
                CatalogRule = CatalogRule,
            };
        }

        /// <summary>
        /// Concrete copies, source-major (every destination of the first source image, then the
        /// next). <paramref name="listedTags"/> is what the registry listed for the source
        /// repository; required when <see cref="NeedsTagList"/>, ignored otherwise. Repeated
        /// copies are produced once.
        /// </summary>
        public IEnumerable<ImageCopy> Expand(IReadOnlyList<string>? listedTags)
        {
            if (IsCatalog)
                throw new InvalidOperationException($"Rule '{Source}' selects repositories from the registry's catalog; expand it per repository with ExpandCatalog first.");
            if (NeedsTagList && listedTags == null)
                throw new ArgumentNullException(nameof(listedTags), $"Rule '{Source}' selects tags from the registry's tag list; pass the listed tags.");
            return ExpandCore(listedTags);
        }

        private IEnumerable<ImageCopy> ExpandCore(IReadOnlyList<string>? listedTags)
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
                    var included = new List<string>();
                    foreach (var tag in listedTags!)
                    {
                        // Listed tags come from the registry: one that is not a valid tag never becomes a reference.
                        if (tag == null || !NameGrammar.IsTag(tag) || !seenTags.Add(tag)) continue;
                        if (filter != null && !filter.IsMatch(tag)) continue;
                        included.Add(tag);
                    }
                    // Then exclude, semver, latest (TagSelection): still only valid tags, in listing order.
                    sources.AddRange(Selection.Apply(included).Select(t => SourceRepository.WithTag(t)));
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
                    if (seen.Add(source + " " + destination)) yield return new ImageCopy(source, destination, ToString(), Selection);
                }
            }
        }

        /// <summary>
        /// Validates and builds a rule (the <c>New-SyncRule</c> path). <paramref name="destinations"/>
        /// null, empty, or a single empty string means "the default destination". Throws
        /// <see cref="RuleException"/> with the grammar point broken.
        /// </summary>
        /// <param name="selection">Exclude, semver, latest and platforms (-ExcludeTag, -SemVer, -Latest, -Platform); null selects as a plain rule does.</param>
        public static SyncRule Create(string source, IEnumerable<string?>? destinations, RuleOptions? options = null, TagSelectionSpec? selection = null)
        {
            var list = destinations?.ToList() ?? new List<string?>();
            if (RuleParser.TryBuild(source, list, options ?? RuleOptions.Default, null, out var rule, out var problem, selection)) return rule!;
            throw new RuleException(new ConfigError(problem!.ErrorId, null, 0, 0, string.IsNullOrWhiteSpace(source) ? null : source, problem.Detail));
        }
    }
}
