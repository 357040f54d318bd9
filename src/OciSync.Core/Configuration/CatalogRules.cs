using System;
using System.Collections.Generic;
using System.Linq;
using OciSync.Core.References;

namespace OciSync.Core.Configuration
{
    /// <summary>Catalog rules: <c>registry/namespace/*</c> selects every repository under a prefix.</summary>
    public sealed partial class SyncRule
    {
        /// <summary>
        /// For a catalog rule (<c>registry/namespace/*</c>, <c>registry/*</c>): the repository path prefix whose
        /// repositories the rule selects (<c>namespace</c>; empty for the whole registry). Null for other rules.
        /// <see cref="SourceRepository"/> is then the registry with this prefix as its repository.
        /// </summary>
        public string? CatalogPrefix { get; private set; }

        /// <summary>True for a rule whose source is a repository prefix (<c>registry/namespace/*</c>), expanded through the registry's catalog.</summary>
        public bool IsCatalog => CatalogPrefix != null;

        /// <summary>For a rule made by <see cref="ExpandCatalog"/>: the catalog rule it came from; null otherwise.</summary>
        public SyncRule? CatalogRule { get; private set; }

        /// <summary>What a failed listing names: <c>registry/namespace/*</c> for a catalog rule, otherwise the source repository.</summary>
        internal string ListedName => IsCatalog ? CatalogGrammar.PrefixText(SourceRepository) : SourceRepository.RepositoryName;

        internal static SyncRule Catalog(string source, IReadOnlyList<string> destinations, ImageReference prefix, SourceSelectorKind kind,
            System.Text.RegularExpressions.Regex? tagPattern, IReadOnlyList<SyncTarget> targets, string? origin) =>
            new SyncRule(source, destinations, prefix, kind, Array.Empty<string>(), null, tagPattern, targets, origin) { CatalogPrefix = prefix.Repository };

        /// <summary>
        /// A catalog rule's repositories → one ordinary rule per repository under <see cref="CatalogPrefix"/>
        /// (<c>ns/a/b</c> → each destination prefix + <c>/a/b</c>), with this rule's tag selection. The names come
        /// from the registry: one that is not a valid repository, lies outside the prefix, or would make a
        /// destination name that is not valid never becomes a rule. Repeated names count once; the order is kept.
        /// </summary>
        public IReadOnlyList<SyncRule> ExpandCatalog(IEnumerable<string?> repositories)
        {
            if (!IsCatalog) throw new InvalidOperationException($"Rule '{Source}' names one repository; only a '/*' rule expands through a catalog.");
            if (repositories == null) throw new ArgumentNullException(nameof(repositories));
            var prefix = CatalogPrefix!;
            var rules = new List<SyncRule>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in repositories)
            {
                if (name == null || name.Length > 255 || !NameGrammar.IsRepositoryPath(name) || !seen.Add(name)) continue;
                string rest;
                if (prefix.Length == 0) rest = name;
                else if (name.Length > prefix.Length + 1 && name.StartsWith(prefix, StringComparison.Ordinal) && name[prefix.Length] == '/') rest = name.Substring(prefix.Length + 1);
                else continue;

                var targets = new List<SyncTarget>();
                foreach (var target in Targets)
                {
                    var path = target.Repository.Repository.Length == 0 ? rest : target.Repository.Repository + "/" + rest;
                    if (path.Length > 255) continue;
                    targets.Add(new SyncTarget(target.Repository.WithRepository(path), Array.Empty<string>(), null));
                }
                if (targets.Count == 0) continue;

                var repository = new ImageReference(SourceRepository.Registry, name);
                var source = repository.RepositoryName + (TagPattern != null ? ":/" + TagPattern + "/" : string.Empty);
                var destinations = targets.Select(t => t.ToString()).ToList().AsReadOnly();
                rules.Add(new SyncRule(source, destinations, repository, Kind, Array.Empty<string>(), null, TagPattern, targets.AsReadOnly(), Origin) { CatalogRule = this });
            }
            return rules;
        }
    }

    /// <summary>
    /// The grammar of catalog rules, read by <see cref="RuleParser"/>:
    /// <list type="bullet">
    /// <item>source <c>registry/namespace/*</c> or <c>registry/*</c> (a registry, not <c>oci:</c>), optionally
    /// followed by <c>:/regex/</c> to select tags in every repository; a tag list or a digest is refused;</item>
    /// <item>each destination a repository prefix, <c>dst/mirror</c> or <c>dst/mirror/*</c> (the same), or
    /// <c>dst/*</c> for the registry's root; no tags, no digest;</item>
    /// <item>no destination: <c>&lt;default registry&gt;/&lt;default namespace&gt;</c> is the prefix;</item>
    /// <item>Docker Hub has no usable catalog: a Docker Hub source is refused here already.</item>
    /// </list>
    /// Source repository <c>namespace/a/b</c> goes to <c>&lt;prefix&gt;/a/b</c>; the repository <c>namespace</c> itself is not under its prefix.
    /// </summary>
    internal static class CatalogGrammar
    {
        private const string Star = "/*";

        /// <summary><c>registry/prefix/*</c>, or <c>registry/*</c> for the root.</summary>
        internal static string PrefixText(ImageReference prefix) =>
            (prefix.Repository.Length == 0 ? prefix.Registry : prefix.Registry + "/" + prefix.Repository) + Star;

        /// <summary>True when the source's name (before any tag, regex or digest) holds a '*': a catalog rule, or a broken attempt at one.</summary>
        internal static bool IsCatalogSource(string written)
        {
            var text = written.Trim();
            if (ImageReference.TrySplitLocal(text, out _, out var path, out _)) return path.EndsWith(Star, StringComparison.Ordinal);
            ImageReference.SplitSelector(text, out var name, out _, out _);
            return name.IndexOf('*') >= 0;
        }

        /// <summary>True (with why) when a destination of an ordinary rule is written as a prefix (<c>dst/mirror/*</c>).</summary>
        internal static bool IsPrefixDestination(string expanded, out string detail)
        {
            detail = string.Empty;
            var text = expanded.Trim();
            if (ImageReference.TrySplitLocal(text, out _, out _, out _)) return false;
            ImageReference.SplitSelector(text, out var name, out _, out _);
            if (name.IndexOf('*') < 0) return false;
            detail = "a destination ending in /* is a repository prefix, for a source that ends in /* too (registry/namespace/*); this source names one repository.";
            return true;
        }

        internal static bool TryBuild(string written, IReadOnlyList<string?> destinations, RuleOptions options, string? origin,
            out SyncRule? rule, out RuleParser.Problem? problem)
        {
            rule = null;
            var text = written.Trim();
            if (ImageReference.TrySplitLocal(text, out var localPrefix, out _, out _))
            {
                problem = Invalid($"source: a '/*' source expands through a registry's catalog; an OCI {(localPrefix == ImageReference.ArchivePrefix ? "archive" : "layout")} holds one repository (name it without /*).");
                return false;
            }
            if (text.IndexOf("://", StringComparison.Ordinal) >= 0 || text.IndexOf(' ') >= 0)
            {
                // The ordinary parser says what is wrong with those.
                RuleParser.TryParseSide(text, true, options, out _, out var id, out var why);
                problem = new RuleParser.Problem(id, "source: " + why);
                return false;
            }
            ImageReference.SplitSelector(text, out var name, out var selector, out var digest);
            if (!name.EndsWith(Star, StringComparison.Ordinal) || name.IndexOf('*') != name.Length - 1)
            {
                problem = Invalid($"source: '*' may only end the repository part, as registry/namespace/* or registry/* ('{name}').");
                return false;
            }
            if (!TrySplitPrefix(name.Substring(0, name.Length - Star.Length), out var registry, out var path, out var detail))
            {
                problem = new RuleParser.Problem(ConfigErrorIds.RuleInvalidReference, "source: " + detail);
                return false;
            }
            if (registry == ImageReference.DockerHub)
            {
                problem = new RuleParser.Problem(ConfigErrorIds.RuleCatalogUnsupported,
                    $"source: Docker Hub offers no repository catalog, so '{name}' cannot be expanded; name its repositories as rules of their own.");
                return false;
            }
            if (digest != null || (selector != null && !(selector.Length >= 2 && selector[0] == '/' && selector[selector.Length - 1] == '/')))
            {
                problem = Invalid("source: a '/*' source selects tags in every repository by /regex/ only (e.g. :/^latest$/ for one tag); " +
                    "a tag list or a digest names images of one repository.");
                return false;
            }

            System.Text.RegularExpressions.Regex? regex = null;
            if (selector != null)
            {
                // The one selector parser reads the regex, on a stand-in repository of this registry.
                if (!RuleParser.TryParseSide(registry + "/catalog:" + selector, true, options, out var side, out var id, out var why))
                {
                    problem = new RuleParser.Problem(id, "source: " + why);
                    return false;
                }
                regex = side.Regex;
            }
            var kind = regex != null ? SourceSelectorKind.Regex : SourceSelectorKind.AllTags;

            var targets = new List<SyncTarget>();
            var spelled = new List<string>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            if (destinations.Count == 0 || (destinations.Count == 1 && string.IsNullOrWhiteSpace(destinations[0])))
            {
                if (!TryDefaultPrefix(options, out var target, out problem)) return false;
                targets.Add(target!);
                spelled.Add(target!.ToString());
            }
            else
            {
                for (int i = 0; i < destinations.Count; i++)
                {
                    var raw = destinations[i];
                    var label = destinations.Count == 1 ? "destination" : $"destination #{i + 1}";
                    if (string.IsNullOrWhiteSpace(raw)) { problem = new RuleParser.Problem(ConfigErrorIds.RuleEmptySide, label + " is empty.", i); return false; }
                    var expanded = options.Expand(raw!).Trim();
                    if (expanded.Length == 0)
                    {
                        problem = new RuleParser.Problem(ConfigErrorIds.RuleEmptySide, $"{label} '{raw}' expands to an empty string (is the environment variable set?).", i);
                        return false;
                    }
                    var shown = expanded == raw!.Trim() ? $"'{expanded}'" : $"'{expanded}' (from '{raw}')";
                    if (!TryParseDestination(expanded, out var target, out var id, out detail)) { problem = new RuleParser.Problem(id, $"{label} {shown}: {detail}", i); return false; }
                    if (!seen.Add(target!.ToString())) continue;
                    targets.Add(target);
                    spelled.Add(expanded);
                }
            }

            rule = SyncRule.Catalog(written, spelled.AsReadOnly(), new ImageReference(registry, path), kind, regex, targets.AsReadOnly(), origin);
            problem = null;
            return true;
        }

        private static RuleParser.Problem Invalid(string detail, int destination = -1) => new RuleParser.Problem(ConfigErrorIds.RuleCatalogInvalid, detail, destination);

        /// <summary><c>dst/mirror</c>, <c>dst/mirror/*</c>, <c>dst/*</c> or <c>dst</c> (a registry's root) → a prefix target.</summary>
        private static bool TryParseDestination(string text, out SyncTarget? target, out string id, out string detail)
        {
            target = null;
            id = ConfigErrorIds.RuleCatalogInvalid;
            if (ImageReference.TrySplitLocal(text, out _, out _, out _))
            {
                detail = "a '/*' rule copies many repositories, and an OCI layout or archive holds one; give a registry prefix (registry/namespace).";
                return false;
            }
            if (text.IndexOf("://", StringComparison.Ordinal) >= 0) { id = ConfigErrorIds.RuleInvalidReference; detail = "an image reference has no scheme (write registry/namespace, not https://…)."; return false; }
            if (text.IndexOf(' ') >= 0) { id = ConfigErrorIds.RuleInvalidReference; detail = "an image reference cannot contain spaces."; return false; }
            var prefix = text.EndsWith(Star, StringComparison.Ordinal) ? text.Substring(0, text.Length - Star.Length) : text;
            if (prefix.IndexOf('*') >= 0) { detail = "'*' may only end a destination prefix, as registry/namespace/* or registry/*."; return false; }
            // A registry alone (dst.example, localhost:5000) is its root; otherwise tags or a digest have no place in a prefix.
            var root = prefix.IndexOf('/') < 0 && ImageReference.IsRegistryComponent(prefix);
            if (!root)
            {
                ImageReference.SplitSelector(prefix, out var name, out var selector, out var digest);
                if (selector != null || digest != null)
                {
                    detail = "the destination of a '/*' rule is a repository prefix; each repository keeps its tags, so it names no tag or digest.";
                    return false;
                }
            }
            if (!TrySplitPrefix(prefix, out var registry, out var path, out detail)) { id = ConfigErrorIds.RuleInvalidReference; return false; }
            target = new SyncTarget(new ImageReference(registry, path), Array.Empty<string>(), null, isPrefix: true);
            return true;
        }

        private static bool TryDefaultPrefix(RuleOptions options, out SyncTarget? target, out RuleParser.Problem? problem)
        {
            target = null;
            var registry = options.ResolveDefaultRegistry();
            var ns = options.ResolveDefaultNamespace();
            if (registry == null || ns == null)
            {
                var missing = registry == null && ns == null ? "a default registry and a default namespace"
                    : registry == null ? "a default registry" : "a default namespace";
                problem = new RuleParser.Problem(ConfigErrorIds.RuleNoDefaultDestination,
                    $"the destination is empty, which needs {missing} (-DefaultRegistry/-DefaultNamespace, or the environment variables DEFAULT_REGISTRY/DEFAULT_NAMESPACE); " +
                    "a '/*' rule then copies each repository under <registry>/<namespace>/.");
                return false;
            }
            var reg = Auth.RegistryCredential.NormalizeKey(registry);
            var path = ns.Trim('/');
            // The default registry is a registry even without a '.' in it; validate the pieces separately.
            if (reg.IndexOf('/') >= 0 || !NameGrammar.IsRegistryHost(reg) || path.Length > 255 || !NameGrammar.IsRepositoryPath(path))
            {
                problem = new RuleParser.Problem(ConfigErrorIds.RuleInvalidReference,
                    $"the default destination prefix '{registry.TrimEnd('/')}/{path}' is not a valid registry and repository path.");
                return false;
            }
            target = new SyncTarget(new ImageReference(reg, path), Array.Empty<string>(), null, isPrefix: true);
            problem = null;
            return true;
        }

        /// <summary>
        /// <c>registry[/path]</c> → its parts: the first component is the registry when it looks like one
        /// (docker's rule), else the prefix is on Docker Hub (without the <c>library/</c> a single name gets:
        /// a prefix is not a repository). An empty path is the registry's root.
        /// </summary>
        private static bool TrySplitPrefix(string text, out string registry, out string path, out string problem)
        {
            registry = path = string.Empty;
            if (text.Length == 0) { problem = "the registry is missing before /* (write registry/namespace/* or registry/*)."; return false; }
            var slash = text.IndexOf('/');
            var first = slash < 0 ? text : text.Substring(0, slash);
            if (ImageReference.IsRegistryComponent(first))
            {
                registry = first;
                path = slash < 0 ? string.Empty : text.Substring(slash + 1);
            }
            else
            {
                registry = ImageReference.DockerHub;
                path = text;
            }
            if (registry == "index.docker.io" || registry == ImageReference.DockerHubEndpoint) registry = ImageReference.DockerHub;
            if (!NameGrammar.IsRegistryHost(registry)) { problem = $"'{registry}' is not a valid registry host."; return false; }
            if (path.Length > 0 && (path.Length > 255 || !NameGrammar.IsRepositoryPath(path)))
            {
                problem = $"'{path}' is not a valid repository path prefix (lower-case letters, digits and separators . _ - /).";
                return false;
            }
            problem = string.Empty;
            return true;
        }
    }
}
