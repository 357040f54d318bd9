using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace OciSync.Core.Configuration
{
    /// <summary>
    /// The extended value of an images-file rule: instead of a destination string or list, a map
    /// <code>
    /// quay.io/coreos/kube-rbac-proxy:/^v/:
    ///   destinations: registry.example.com/ns/repo   # a string or a list, as the plain form
    ///   exclude: -rc                                 # regex; listed tags it matches are left out
    ///   semver: "&gt;=0.10 &lt;1"                           # range (quoted: a plain YAML value cannot start with &gt;)
    ///   latest: 3                                    # the 3 highest versions left
    ///   platforms: [linux/amd64, linux/arm64/v8]     # a string or a list
    /// </code>
    /// (JSON alike). Every key is optional; no destinations means the default destination, as a null
    /// value does. A key it does not know, or a key twice, is <see cref="ConfigErrorIds.RuleUnknownKey"/>;
    /// a value of the wrong type is the error of its key. Plain image-syncer values are not read here.
    /// </summary>
    internal static class RuleMapping
    {
        internal const string Destinations = "destinations", Exclude = "exclude", SemVer = "semver", Latest = "latest", Platforms = "platforms";
        private static readonly string[] Keys = { Destinations, Exclude, SemVer, Latest, Platforms };

        /// <summary>Reads the map into destinations (with their nodes, for positions) and a selection; null when it is right, else the first problem.</summary>
        internal static ConfigError? Read(YMapping map, string fileName, string source, List<string?> destinations, List<YNode> positions, out TagSelectionSpec spec)
        {
            spec = new TagSelectionSpec();
            var rule = source.Length == 0 ? null : source;
            ConfigError Error(string id, YNode at, string detail) => new ConfigError(id, fileName, at.Line, at.Column, rule, detail);
            // A map with none of a rule map's keys is no rule map at all: the destination has the wrong shape, as before rule maps.
            if (!map.Entries.Any(e => e.Key is YScalar named && Keys.Contains(named.Value)))
                return Error(ConfigErrorIds.RuleInvalidReference, map,
                    $"the destination must be a string, a list of strings, or a rule map (with {string.Join(", ", Keys)}), not a map without any of those keys.");
            var seen = new HashSet<string>(System.StringComparer.Ordinal);
            foreach (var entry in map.Entries)
            {
                var name = entry.Key is YScalar k && !k.IsNull ? k.Value : null;
                if (name == null || !Keys.Contains(name))
                    return Error(ConfigErrorIds.RuleUnknownKey, entry.Key, name == null
                        ? $"a key of the rule's map must be a string, not {entry.Key.Kind}."
                        : $"'{ConfigError.Shorten(name)}' is not a key of a rule's map (it has {string.Join(", ", Keys)}).");
                if (!seen.Add(name)) return Error(ConfigErrorIds.RuleUnknownKey, entry.Key, $"'{name}' appears twice in the rule's map.");
                var value = entry.Value;
                switch (name)
                {
                    case Destinations:
                        if (value is YScalar d && d.IsNull) break;
                        if (value is YScalar one && one.CoreType == null) { destinations.Add(one.Value); positions.Add(one); break; }
                        if (value is YSequence list)
                        {
                            foreach (var item in list.Items)
                            {
                                if (!(item is YScalar s) || s.CoreType != null)
                                    return Error(ConfigErrorIds.RuleInvalidReference, item,
                                        $"destination #{(positions.Count + 1).ToString(CultureInfo.InvariantCulture)} must be a string, not {Describe(item)}.");
                                destinations.Add(s.IsNull ? null : s.Value);
                                positions.Add(s);
                            }
                            break;
                        }
                        return Error(ConfigErrorIds.RuleInvalidReference, value, $"destinations must be a string or a list of strings, not {Describe(value)}.");
                    case Exclude:
                    case SemVer:
                        if (!(value is YScalar text) || text.IsNull || text.CoreType == "a boolean")
                            return Error(name == Exclude ? ConfigErrorIds.RuleBadRegex : ConfigErrorIds.RuleBadSemVerRange, value,
                                $"{name} must be a string, not {Describe(value)}.");
                        if (name == Exclude) spec.ExcludeTag = text.Value;
                        else spec.SemVer = text.Value;
                        break;
                    case Latest:
                        if (!(value is YScalar number) || number.CoreType != "a number" || !IsInteger(number.Value, out var n))
                            return Error(ConfigErrorIds.RuleBadLatest, value,
                                $"latest must be a whole number of at least 1, not {(value is YScalar v && v.CoreType == "a number" ? v.Value : Describe(value))}.");
                        spec.Latest = n;
                        break;
                    case Platforms:
                        var platforms = new List<string>();
                        if (value is YScalar p && !p.IsNull && p.CoreType == null) platforms.Add(p.Value);
                        else if (value is YSequence items && items.Items.All(i => i is YScalar s && !s.IsNull && s.CoreType == null))
                            platforms.AddRange(items.Items.Cast<YScalar>().Select(i => i.Value));
                        else
                            return Error(ConfigErrorIds.RuleBadPlatform, value, $"platforms must be a string or a list of strings (os/arch[/variant]), not {Describe(value)}.");
                        if (platforms.Count == 0) return Error(ConfigErrorIds.RuleBadPlatform, value, "the platform list is empty; leave the key out to copy every platform.");
                        spec.Platforms = platforms;
                        break;
                }
            }

            // Checked here too, so the error points at the value at fault; the rule parser checks it again.
            if (!TagSelection.TryCreate(spec, out _, out var id, out var problem))
            {
                var key = id == ConfigErrorIds.RuleBadRegex ? Exclude : id == ConfigErrorIds.RuleBadSemVerRange ? SemVer : id == ConfigErrorIds.RuleBadLatest ? Latest : Platforms;
                var at = map.Entries.First(e => e.Key is YScalar s && s.Value == key).Value;
                return Error(id, at, problem);
            }
            return null;
        }

        private static string Describe(YNode node) => node is YScalar s && s.CoreType != null ? s.CoreType + " (" + ConfigError.Shorten(s.Value) + ")" : node.Kind;

        // A YAML/JSON integer: digits with an optional sign; anything else (1.5, 1e3, 0x10) is not a count.
        private static bool IsInteger(string text, out int value)
        {
            value = 0;
            var body = text.StartsWith("-") || text.StartsWith("+") ? text.Substring(1) : text;
            return body.Length > 0 && body.All(c => c >= '0' && c <= '9') &&
                   int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
        }
    }
}
