using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using OciSync.Core.References;

namespace OciSync.Core.Configuration
{
    /// <summary>
    /// Writes image copies as an images file (YAML, or JSON for a <c>.json</c> path) that
    /// <see cref="ImagesFile.Load"/> reads back into rules producing the same pairs. Sources
    /// are sorted, each with its sorted destinations; one destination is written as a string,
    /// several as a list. Used for <c>-SuccessImagesPath</c> / <c>-FailedImagesPath</c>.
    /// </summary>
    public static class ImagesFileWriter
    {
        /// <param name="rules">Whole rules to write as well, as their source and resolved destinations (a rule whose listing failed: the re-run lists again).</param>
        /// <param name="comment">A first line for a YAML file (<c># </c> and this; a shard's <c>OciSync shard 1 of 3</c>); JSON has no comments, so a JSON file leaves it out.</param>
        public static void Write(string path, IEnumerable<ImageCopy> pairs, IEnumerable<SyncRule>? rules = null, string? comment = null)
        {
            if (path == null) throw new ArgumentNullException(nameof(path));
            var text = Format(pairs, YamlTree.FormatOf(path) == ConfigFormat.Json, rules, comment);
            var full = Path.GetFullPath(path);
            var dir = Path.GetDirectoryName(full);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            File.WriteAllText(full, text, new UTF8Encoding(false));
        }

        /// <summary>The file text: JSON when <paramref name="json"/>, otherwise YAML (after <paramref name="comment"/>'s line, when given).</summary>
        public static string Format(IEnumerable<ImageCopy> pairs, bool json, IEnumerable<SyncRule>? rules = null, string? comment = null)
        {
            var text = FormatBody(pairs, json, rules);
            // One line: a newline inside would end the comment and the rest would be read as YAML.
            return json || string.IsNullOrEmpty(comment) ? text : "# " + comment!.Replace('\r', ' ').Replace('\n', ' ') + "\n" + text;
        }

        private static string FormatBody(IEnumerable<ImageCopy> pairs, bool json, IEnumerable<SyncRule>? rules)
        {
            if (pairs == null) throw new ArgumentNullException(nameof(pairs));
            var groups = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
            void Add(string source, string destination)
            {
                if (!groups.TryGetValue(source, out var set)) groups[source] = set = new SortedSet<string>(StringComparer.Ordinal);
                set.Add(destination);
            }
            var selections = new RuleSelections();
            foreach (var pair in pairs)
            {
                if (pair == null) continue;
                var (source, byDigest) = SourceText(pair.Source);
                Add(source, DestinationText(pair.Destination, byDigest ? pair.Source.Digest : null));
                // A pair names its tag or digest: of its rule's selection only the platform list still applies.
                selections.Add(source, pair.Platforms == null ? null : new TagSelectionSpec { Platforms = pair.Platforms.Spelled.ToList() });
            }
            foreach (var rule in rules ?? Enumerable.Empty<SyncRule>())
            {
                foreach (var target in rule.Targets) Add(rule.Source, target.ToString());
                selections.Add(rule.Source, rule.Selection.IsEmpty ? null : rule.Selection.ToSpec());
            }

            var sb = new StringBuilder();
            if (groups.Count == 0) return "{}\n";
            if (json)
            {
                sb.Append("{\n");
                int i = 0;
                foreach (var g in groups)
                {
                    sb.Append("  ").Append(Quote(g.Key)).Append(": ");
                    if (selections.For(g.Key) is { } spec) sb.Append(RuleMap(g.Value, spec));
                    else if (g.Value.Count == 1) sb.Append(Quote(g.Value.Min!));
                    else sb.Append("[\n").Append(string.Join(",\n", g.Value.Select(d => "    " + Quote(d)))).Append("\n  ]");
                    sb.Append(++i < groups.Count ? ",\n" : "\n");
                }
                sb.Append("}\n");
            }
            else
            {
                foreach (var g in groups)
                {
                    sb.Append(Quote(g.Key)).Append(':');
                    if (selections.For(g.Key) is { } spec) sb.Append(' ').Append(RuleMap(g.Value, spec)).Append('\n');
                    else if (g.Value.Count == 1) sb.Append(' ').Append(Quote(g.Value.Min!)).Append('\n');
                    else
                    {
                        sb.Append('\n');
                        foreach (var d in g.Value) sb.Append("  - ").Append(Quote(d)).Append('\n');
                    }
                }
            }
            return sb.ToString();
        }

        /// <summary>A rule's extended value (<see cref="RuleMapping"/>) on one line, in flow style: valid YAML and JSON alike.</summary>
        private static string RuleMap(IEnumerable<string> destinations, TagSelectionSpec spec)
        {
            var parts = new List<string> { Quote(RuleMapping.Destinations) + ": [" + string.Join(", ", destinations.Select(Quote)) + "]" };
            if (spec.ExcludeTag != null) parts.Add(Quote(RuleMapping.Exclude) + ": " + Quote(spec.ExcludeTag));
            if (spec.SemVer != null) parts.Add(Quote(RuleMapping.SemVer) + ": " + Quote(spec.SemVer));
            if (spec.Latest != null) parts.Add(Quote(RuleMapping.Latest) + ": " + spec.Latest.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (spec.Platforms != null && spec.Platforms.Count > 0) parts.Add(Quote(RuleMapping.Platforms) + ": [" + string.Join(", ", spec.Platforms.Select(Quote)) + "]");
            return "{" + string.Join(", ", parts) + "}";
        }

        /// <summary>
        /// The selection written with each source. One source key holds one selection: when copies or
        /// rules of the same source bring different ones, the platform lists are joined (any copy without a
        /// list means every platform), and the first exclude/semver/latest is kept for all of them — two
        /// listing rules of one source that select differently are re-run with the first one's selection
        /// (an images file cannot say more: a key appears once).
        /// </summary>
        private sealed class RuleSelections
        {
            private readonly Dictionary<string, TagSelectionSpec?> _specs = new Dictionary<string, TagSelectionSpec?>(StringComparer.Ordinal);

            public void Add(string source, TagSelectionSpec? spec)
            {
                if (!_specs.TryGetValue(source, out var had)) { _specs[source] = spec; return; }
                if (had == null) return;
                var merged = new TagSelectionSpec
                {
                    ExcludeTag = had.ExcludeTag, SemVer = had.SemVer, Latest = had.Latest,
                    // Every platform (null) wins over a list: a plain copy of the same source takes them all.
                    Platforms = had.Platforms == null || spec?.Platforms == null ? null : had.Platforms.Union(spec.Platforms, StringComparer.Ordinal).ToList(),
                };
                _specs[source] = spec == null && merged.ExcludeTag == null && merged.SemVer == null && merged.Latest == null ? null : merged;
            }

            /// <summary>The selection to write with the source; null for the plain form.</summary>
            public TagSelectionSpec? For(string source) =>
                _specs.TryGetValue(source, out var spec) && spec != null && (spec.ExcludeTag != null || spec.SemVer != null || spec.Latest != null || (spec.Platforms?.Count ?? 0) > 0) ? spec : null;
        }

        /// <summary>A tag wins over a digest: a source that was selected by tag is written by tag.</summary>
        private static (string Text, bool ByDigest) SourceText(ImageReference source)
        {
            if (source.Tag != null) return (source.RepositoryName + ":" + source.Tag, false);
            if (source.Digest is not null) return (source.RepositoryName + "@" + source.Digest, true);
            throw new ArgumentException($"The pair's source '{source}' has neither a tag nor a digest.", nameof(source));
        }

        private static string DestinationText(ImageReference destination, Digest? sourceDigest)
        {
            if (destination.Tag != null) return destination.RepositoryName + ":" + destination.Tag;
            // A digest-only destination can be written only when the source is a digest (the grammar needs them equal).
            if (destination.Digest is not null && sourceDigest is not null && destination.Digest == sourceDigest)
                return destination.RepositoryName + "@" + destination.Digest;
            return destination.RepositoryName;
        }

        /// <summary>A double-quoted string valid in both JSON and YAML.</summary>
        private static string Quote(string s)
        {
            var sb = new StringBuilder(s.Length + 2).Append('"');
            foreach (var c in s)
            {
                switch (c)
                {
                    case '"': sb.Append("\\\""); break;
                    case '\\': sb.Append("\\\\"); break;
                    default:
                        if (c < 0x20) sb.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            return sb.Append('"').ToString();
        }
    }
}
