using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using OciSync.Core.References;

namespace OciSync.Core.Configuration
{
    /// <summary>
    /// The rule grammar of SPEC §2.2: a source and its destinations as written (files, -Source, objects)
    /// → a validated <see cref="SyncRule"/>, or the grammar point broken. The model is SyncRule; this is
    /// only the reading of it.
    /// </summary>
    internal static class RuleParser
    {
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
            out SyncRule? rule, out Problem? problem, TagSelectionSpec? selection = null)
        {
            rule = null;
            var written = source ?? string.Empty;
            if (string.IsNullOrWhiteSpace(written)) { problem = new Problem(ConfigErrorIds.RuleEmptySide, "the source is empty."); return false; }
            if (CatalogGrammar.IsCatalogSource(written)) return CatalogGrammar.TryBuild(written, destinations, options, origin, out rule, out problem);
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
                    if (CatalogGrammar.IsPrefixDestination(expanded, out detail)) { problem = new Problem(ConfigErrorIds.RuleCatalogInvalid, $"{label} {shown}: {detail}", i); return false; }
                    if (!TryParseSide(expanded, false, options, out var dst, out id, out detail)) { problem = new Problem(id, $"{label} {shown}: {detail}", i); return false; }
                    if (!CheckTarget(kind, src, dst, out id, out detail)) { problem = new Problem(id, $"{label} {shown}: {detail}", i); return false; }
                    var target = new SyncTarget(dst.Repository, dst.Tags, dst.Digest);
                    if (!seen.Add(target.ToString())) continue;
                    targets.Add(target);
                    spelled.Add(expanded);
                }
            }

            if (!TagSelection.TryCreate(selection, out var chosen, out id, out detail)) { problem = new Problem(id, detail); return false; }
            if (chosen.FiltersTags && kind != SourceSelectorKind.AllTags && kind != SourceSelectorKind.Regex)
            {
                problem = new Problem(ConfigErrorIds.RuleSelectionNeedsTagList,
                    $"exclude, semver and latest filter the tags a repository lists, but the source names {(kind == SourceSelectorKind.Digest ? "a digest" : "its tags")}; select all tags (repo) or a /regex/ (repo:/regex/), or drop them.");
                return false;
            }

            rule = new SyncRule(written, spelled.AsReadOnly(), src.Repository, kind,
                kind == SourceSelectorKind.Tags ? src.Tags : Array.Empty<string>(), src.Digest, src.Regex, targets.AsReadOnly(), origin, chosen);
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

        internal sealed class Side
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
        internal static bool TryParseSide(string written, bool isSource, RuleOptions options, out Side side, out string id, out string detail)
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
                text = selector;
            }
            if (text.IndexOf("://", StringComparison.Ordinal) >= 0) { detail = "an image reference has no scheme (write registry/repository, not https://…)."; return false; }
            if (text.IndexOf(' ') >= 0) { detail = "an image reference cannot contain spaces."; return false; }

            ImageReference.SplitSelector(text, out var name, out var tagPart, out var digestPart);
            ImageReference repo;
            if (layout != null && name.Length > 0)
            {
                // oci:/backups/app@2024:/^v/ — the path ended at '@', and '2024' is neither tag nor digest.
                detail = $"a {(layout.IsArchive ? "layout archive" : "layout directory")} path ends at its first ':' or '@', and what follows ('{text}') is not a tag, tag list, /regex/ or digest.";
                return false;
            }
            if (layout != null) repo = layout;
            else if (name.Length == 0) { detail = "the repository name is missing."; return false; }
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
