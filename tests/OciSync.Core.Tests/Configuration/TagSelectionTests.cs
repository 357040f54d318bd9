using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using OciSync.Core.Configuration;
using OciSync.Core.Content;
using OciSync.Core.References;
using Xunit;

namespace OciSync.Core.Tests.Configuration
{
    /// <summary>
    /// Tag selection (exclude, semver, latest, platforms) built three ways — SyncRule.Create with a
    /// TagSelectionSpec (the -ExcludeTag/-SemVer/-Latest/-Platform path), a YAML rule map and a JSON
    /// rule map — and expanded against listed tags.
    /// </summary>
    public class TagSelectionTests
    {
        private const string Src = "quay.io/coreos/kube-rbac-proxy";
        private const string Dst = "registry.example.com/ns/repo";

        internal static string Yaml(string source, string destination, TagSelectionSpec spec)
        {
            var sb = new StringBuilder();
            sb.Append(RuleFixture.Quote(source)).Append(":\n");
            sb.Append("  destinations: ").Append(RuleFixture.Quote(destination)).Append('\n');
            if (spec.ExcludeTag != null) sb.Append("  exclude: ").Append(RuleFixture.Quote(spec.ExcludeTag)).Append('\n');
            if (spec.SemVer != null) sb.Append("  semver: ").Append(RuleFixture.Quote(spec.SemVer)).Append('\n');
            if (spec.Latest != null) sb.Append("  latest: ").Append(spec.Latest.Value).Append('\n');
            if (spec.Platforms != null)
            {
                sb.Append("  platforms:\n");
                foreach (var p in spec.Platforms) sb.Append("    - ").Append(RuleFixture.Quote(p)).Append('\n');
            }
            return sb.ToString();
        }

        internal static string Json(string source, string destination, TagSelectionSpec spec)
        {
            var parts = new List<string> { "\"destinations\": [" + RuleFixture.Quote(destination) + "]" };
            if (spec.ExcludeTag != null) parts.Add("\"exclude\": " + RuleFixture.Quote(spec.ExcludeTag));
            if (spec.SemVer != null) parts.Add("\"semver\": " + RuleFixture.Quote(spec.SemVer));
            if (spec.Latest != null) parts.Add("\"latest\": " + spec.Latest.Value);
            if (spec.Platforms != null) parts.Add("\"platforms\": [" + string.Join(", ", spec.Platforms.Select(RuleFixture.Quote)) + "]");
            return "{\n  " + RuleFixture.Quote(source) + ": {\n    " + string.Join(",\n    ", parts) + "\n  }\n}\n";
        }

        internal static (SyncRule? Rule, ConfigError? Error) Build(string form, string source, TagSelectionSpec spec, string destination = Dst)
        {
            if (form == "create")
            {
                try { return (SyncRule.Create(source, new[] { destination }, null, spec), null); }
                catch (RuleException e) { return (null, e.Error); }
            }
            var result = form == "yaml"
                ? ImagesFile.Parse(Yaml(source, destination, spec), "images.yaml")
                : ImagesFile.Parse(Json(source, destination, spec), "images.json");
            Assert.True(result.Rules.Count + result.Errors.Count == 1,
                $"{form}: expected one rule or one error, got {result.Rules.Count} rules and {string.Join("; ", result.Errors)}");
            return (result.Rules.FirstOrDefault(), result.Errors.FirstOrDefault());
        }

        private static TagSelectionSpec Spec(string? exclude, string? semver, int? latest, string? platforms = null) => new TagSelectionSpec
        {
            ExcludeTag = exclude,
            SemVer = semver,
            Latest = latest,
            Platforms = platforms?.Split('|'),
        };

        private static string[] List(string csv) => csv.Length == 0 ? Array.Empty<string>() : csv.Split(',');

        [Theory]
        // exclude alone, on all tags and on a regex; slashes around it are allowed
        [InlineData(Src, "-rc", null, null, "1.0,1.1-rc1,latest,rc", "1.0,latest,rc")]
        [InlineData(Src, "/-rc/", null, null, "1.0,1.1-rc1", "1.0")]
        [InlineData(Src + ":/^v/", "beta", null, null, "v1,v2-beta,x1,v3", "v1,v3")]
        [InlineData(Src, "^(latest|edge)$", null, null, "latest,edge,1.0,latest-old", "1.0,latest-old")]
        // semver ranges: comparators, a v prefix on tags and in the range, two-part versions, non-versions dropped
        [InlineData(Src, null, ">=1.20 <2", null, "1.19,1.20,1.21.3,2.0,v1.25.0,latest,1.22.0-rc1,1.2.3.4,2024.01.05", "1.20,1.21.3,v1.25.0")]
        [InlineData(Src, null, ">= v1.20 < v2", null, "1.19.9,v1.20.0,1.99", "v1.20.0,1.99")]
        [InlineData(Src, null, "^1.2", null, "1.1.9,1.2.0,1.9.9,2.0.0,v1.3", "1.2.0,1.9.9,v1.3")]
        [InlineData(Src, null, "^0.2.3", null, "0.2.2,0.2.3,0.2.9,0.3.0", "0.2.3,0.2.9")]
        [InlineData(Src, null, "~1.2", null, "1.1,1.2,1.2.9,1.3.0", "1.2,1.2.9")]
        [InlineData(Src, null, "1.x", null, "0.9,1,1.0.1,1.99.99,2", "1,1.0.1,1.99.99")]
        [InlineData(Src, null, "1.2", null, "1.1.9,1.2,1.2.5,1.3", "1.2,1.2.5")]
        [InlineData(Src, null, "=1.2.3", null, "1.2.3,v1.2.3,1.2.4", "1.2.3,v1.2.3")]
        [InlineData(Src, null, "1.2 - 1.4", null, "1.1,1.2,1.4.9,1.5", "1.2,1.4.9")]
        [InlineData(Src, null, "<1 || >=3", null, "0.9,1.0,2.9,3.0,4", "0.9,3.0,4")]
        [InlineData(Src, null, "[1.20,2.0)", null, "1.19,1.20,1.99,2.0", "1.20,1.99")]
        [InlineData(Src, null, "*", null, "1,v2,latest,1.0-rc1", "1,v2")]
        // prereleases (and -suffix variants) only when the range names one
        [InlineData(Src, null, ">=1.0.0-0", null, "0.9,1.0.0-rc.1,1.1.0,1.25.3-alpine", "1.0.0-rc.1,1.1.0,1.25.3-alpine")]
        [InlineData(Src, null, ">=1.0", null, "1.0.0-rc.1,1.1.0,1.25.3-alpine", "1.1.0")]
        // latest N: by semver order (1.10 > 1.9), non-versions and prereleases never among them, listing order kept
        [InlineData(Src, null, null, 2, "1.0,1.2,1.10,1.9,latest,v2.0.0-rc1", "1.10,1.9")]
        [InlineData(Src, null, null, 10, "1.0,latest,x", "1.0")]
        // ties: tags spelling one version count once and are kept together
        [InlineData(Src, null, null, 1, "1.1,1.2,1.2.0,v1.2.0", "1.2,1.2.0,v1.2.0")]
        [InlineData(Src, null, null, 2, "1.2.0,1.1,1.2,1.0", "1.2.0,1.1,1.2")]
        // the order: include, exclude, semver, latest
        [InlineData(Src, null, ">=1 <1.5", 1, "1.4.2,1.5,1.4.10,0.9", "1.4.10")]
        [InlineData(Src, "^1\\.4\\.10$", ">=1 <1.5", 1, "1.4.2,1.5,1.4.10,0.9", "1.4.2")]
        [InlineData(Src + ":/^v/", null, null, 1, "v1.0,2.0,v1.1", "v1.1")]
        [InlineData(Src + ":/-alpine$/", null, ">=0.0.0-0", 1, "1.25.3-alpine,1.25.2-alpine,1.26.0,1.26.0-perl", "1.25.3-alpine")]
        // hostile or invalid listed tags never become references; huge numbers are not versions
        [InlineData(Src, null, ">=0", null, "../x,1.0\n,1.0,A,-1,.1,99999999999.0.0,1.0", "1.0")]
        [InlineData(Src, null, null, 1, "99999999999,3,bad tag", "3")]
        public void Selection_expands_to_the_expected_tags(string source, string? exclude, string? semver, int? latest, string listed, string expected)
        {
            foreach (var form in RuleFixture.Forms)
            {
                var (rule, error) = Build(form, source, Spec(exclude, semver, latest));
                Assert.True(error == null, $"{form}: {error}");
                var tags = rule!.Expand(List(listed)).Select(c => c.Source.Tag).ToArray();
                Assert.Equal(List(expected), tags);
                Assert.All(rule.Expand(List(listed)), c => Assert.Same(rule.Selection, c.Selection));
            }
        }

        [Theory]
        [InlineData(Src, "a(", null, null, null, ConfigErrorIds.RuleBadRegex, "exclude regex /a(/ is not a valid regular expression")]
        [InlineData(Src, "//", null, null, null, ConfigErrorIds.RuleBadRegex, "exclude regex is empty")]
        [InlineData(Src, null, ">=abc", null, null, ConfigErrorIds.RuleBadSemVerRange, "'abc' is not a version")]
        [InlineData(Src, null, ">=1.2.3.4", null, null, ConfigErrorIds.RuleBadSemVerRange, "not a valid semver range")]
        [InlineData(Src, null, "1.0 ||", null, null, ConfigErrorIds.RuleBadSemVerRange, "empty alternative")]
        [InlineData(Src, null, "[1.0,", null, null, ConfigErrorIds.RuleBadSemVerRange, "not a valid version interval")]
        [InlineData(Src, null, ">=1.2-rc1", null, null, ConfigErrorIds.RuleBadSemVerRange, "needs all three parts")]
        [InlineData(Src, null, null, 0, null, ConfigErrorIds.RuleBadLatest, "latest is 0")]
        [InlineData(Src, null, null, -3, null, ConfigErrorIds.RuleBadLatest, "at least 1")]
        [InlineData(Src, null, null, null, "linux", ConfigErrorIds.RuleBadPlatform, "'linux' is not os/arch[/variant]")]
        [InlineData(Src, null, null, null, "linux/amd64/v1/x", ConfigErrorIds.RuleBadPlatform, "is not os/arch")]
        [InlineData(Src, null, null, null, "linux/amd 64", ConfigErrorIds.RuleBadPlatform, "is not os/arch")]
        [InlineData(Src + ":v1,v2", null, null, 1, null, ConfigErrorIds.RuleSelectionNeedsTagList, "names its tags")]
        [InlineData(Src + ":v1", "x", null, null, null, ConfigErrorIds.RuleSelectionNeedsTagList, "names its tags")]
        [InlineData(Src + "@" + RuleGrammarTests.D1, null, ">=1", null, null, ConfigErrorIds.RuleSelectionNeedsTagList, "names a digest")]
        public void Broken_selections_are_rule_errors_with_their_id(string source, string? exclude, string? semver, int? latest, string? platforms, string id, string fragment)
        {
            foreach (var form in RuleFixture.Forms)
            {
                var (rule, error) = Build(form, source, Spec(exclude, semver, latest, platforms));
                Assert.True(rule == null, $"{form}: expected {id}, got rule {rule}");
                Assert.Equal(id, error!.ErrorId);
                Assert.Contains(fragment, error.Detail);
                if (form != "create") Assert.True(error.Line > 0, $"{form}: {error} has no line");
            }
        }

        [Theory]
        [InlineData(Src + ":v1,v2")]
        [InlineData(Src + "@" + RuleGrammarTests.D1)]
        [InlineData(Src)]
        public void A_platform_list_goes_with_any_rule_and_onto_its_copies(string source)
        {
            foreach (var form in RuleFixture.Forms)
            {
                var (rule, error) = Build(form, source, Spec(null, null, null, "linux/AMD64|linux/arm64/v8|linux/amd64"));
                Assert.True(error == null, $"{form}: {error}");
                Assert.Equal("linux/amd64,linux/arm64/v8", rule!.Selection.Platforms!.ToString());
                Assert.EndsWith(" [platforms linux/amd64,linux/arm64/v8]", rule.ToString());
                Assert.All(rule.Expand(new[] { "v1" }), c => Assert.Equal("linux/amd64,linux/arm64/v8", c.Platforms!.ToString()));
            }
        }

        [Theory]
        [InlineData("linux/amd64", "linux", "amd64", null, true)]
        [InlineData("linux/amd64", "Linux", "AMD64", null, true)]
        [InlineData("linux/amd64", "linux", "arm64", null, false)]
        [InlineData("linux/amd64", "windows", "amd64", null, false)]
        [InlineData("linux/arm", "linux", "arm", "v7", true)]
        [InlineData("linux/arm/v7", "linux", "arm", "v6", false)]
        [InlineData("linux/arm64/v8", "linux", "arm64", null, true)]
        [InlineData("linux/arm64/v8", "linux", "arm64", "v8", true)]
        [InlineData("linux/arm64/v9", "linux", "arm64", null, false)]
        [InlineData("linux/amd64|linux/arm/v7", "linux", "arm", "v7", true)]
        [InlineData("linux/amd64", null, null, null, false)]
        public void A_platform_list_matches_os_arch_and_variant(string list, string? os, string? arch, string? variant, bool expected)
        {
            Assert.True(RulePlatforms.TryParse(list.Split('|'), out var platforms, out var problem), problem);
            var platform = os == null ? null : new Platform(os, arch!) { Variant = variant };
            Assert.Equal(expected, platforms!.Matches(platform));
        }

        [Theory]
        [InlineData("1.2.3", "1.2.3")]
        [InlineData("v1.2.3", "1.2.3")]
        [InlineData("V1.2.3", "1.2.3")]
        [InlineData("1.20", "1.20.0")]
        [InlineData("1", "1.0.0")]
        [InlineData("1.2.3-rc.1", "1.2.3-rc.1")]
        [InlineData("1.25.3-alpine", "1.25.3-alpine")]
        [InlineData("0.0.0", "0.0.0")]
        [InlineData("1.2.3.4", null)]
        [InlineData("2024.01.05", null)]
        [InlineData("01.2.3", null)]
        [InlineData("latest", null)]
        [InlineData("v", null)]
        [InlineData("vv1", null)]
        [InlineData("1.2.3_x", null)]
        [InlineData("99999999999", null)]
        [InlineData("", null)]
        public void Tags_read_as_versions(string tag, string? expected)
        {
            var ok = SemVerTag.TryParse(tag, out var version);
            Assert.Equal(expected != null, ok);
            if (expected != null) Assert.Equal(expected, version!.ToNormalizedString());
        }

        [Fact]
        public void Versions_order_as_semver_with_ties()
        {
            NuGet.Versioning.NuGetVersion V(string tag) { Assert.True(SemVerTag.TryParse(tag, out var v), tag); return v!; }
            var cmp = NuGet.Versioning.VersionComparer.VersionRelease;
            Assert.Equal(0, cmp.Compare(V("1.2"), V("1.2.0")));
            Assert.Equal(0, cmp.Compare(V("1.2.0"), V("v1.2.0")));
            Assert.True(cmp.Compare(V("1.10"), V("1.9")) > 0);
            Assert.True(cmp.Compare(V("1.10.0-rc.1"), V("1.10")) < 0);
            Assert.True(cmp.Compare(V("1.10.0-rc.1"), V("1.9")) > 0);
            Assert.True(cmp.Compare(V("1.25.3-alpine"), V("1.25.3")) < 0);
        }

        // File-only shapes: what a parameter cannot spell.
        [Theory]
        [InlineData("\"q.io/a/b\":\n  destinations: \"r.io/x/b\"\n  tags: [v1]\n", ConfigErrorIds.RuleUnknownKey, 3, "'tags' is not a key of a rule's map")]
        [InlineData("\"q.io/a/b\":\n  latest: 1\n  latest: 2\n", ConfigErrorIds.RuleUnknownKey, 3, "'latest' appears twice")]
        [InlineData("\"q.io/a/b\":\n  tags: [v1]\n", ConfigErrorIds.RuleInvalidReference, 2, "not a map without any of those keys")]
        [InlineData("\"q.io/a/b\":\n  destinations: \"r.io/x/b\"\n  latest: 1.5\n", ConfigErrorIds.RuleBadLatest, 3, "not 1.5")]
        [InlineData("\"q.io/a/b\":\n  destinations: \"r.io/x/b\"\n  latest: \"3\"\n", ConfigErrorIds.RuleBadLatest, 3, "not a string")]
        [InlineData("\"q.io/a/b\":\n  destinations: \"r.io/x/b\"\n  latest: true\n", ConfigErrorIds.RuleBadLatest, 3, "not a boolean")]
        [InlineData("\"q.io/a/b\":\n  destinations: \"r.io/x/b\"\n  latest: [3]\n", ConfigErrorIds.RuleBadLatest, 3, "not a list")]
        [InlineData("\"q.io/a/b\":\n  destinations: \"r.io/x/b\"\n  latest: 99999999999\n", ConfigErrorIds.RuleBadLatest, 3, "not 99999999999")]
        [InlineData("\"q.io/a/b\":\n  destinations: \"r.io/x/b\"\n  latest: 0\n", ConfigErrorIds.RuleBadLatest, 3, "latest is 0")]
        [InlineData("\"q.io/a/b\":\n  destinations: \"r.io/x/b\"\n  exclude: [a, b]\n", ConfigErrorIds.RuleBadRegex, 3, "exclude must be a string, not a list")]
        [InlineData("\"q.io/a/b\":\n  destinations: \"r.io/x/b\"\n  semver: {a: 1}\n", ConfigErrorIds.RuleBadSemVerRange, 3, "semver must be a string, not a map")]
        [InlineData("\"q.io/a/b\":\n  destinations: \"r.io/x/b\"\n  semver: \">=y\"\n", ConfigErrorIds.RuleBadSemVerRange, 3, "'y' is not a version")]
        [InlineData("\"q.io/a/b\":\n  destinations: \"r.io/x/b\"\n  platforms: {os: linux}\n", ConfigErrorIds.RuleBadPlatform, 3, "platforms must be a string or a list")]
        [InlineData("\"q.io/a/b\":\n  destinations: \"r.io/x/b\"\n  platforms: []\n", ConfigErrorIds.RuleBadPlatform, 3, "the platform list is empty")]
        [InlineData("\"q.io/a/b\":\n  destinations: {a: b}\n", ConfigErrorIds.RuleInvalidReference, 2, "destinations must be a string or a list of strings, not a map")]
        [InlineData("\"q.io/a/b\":\n  destinations: [\"r.io/x/b\", 5]\n", ConfigErrorIds.RuleInvalidReference, 2, "destination #2 must be a string, not a number")]
        [InlineData("\"q.io/a/b:v1\":\n  destinations: \"r.io/x/b\"\n  latest: 2\n", ConfigErrorIds.RuleSelectionNeedsTagList, 1, "names its tags")]
        [InlineData("{\"q.io/a/b\": {\"destinations\": \"r.io/x/b\",\n \"Latest\": 2}}", ConfigErrorIds.RuleUnknownKey, 2, "'Latest' is not a key")]
        [InlineData("{\"q.io/a/b\": {\"destinations\": \"r.io/x/b\",\n \"latest\": \"2\"}}", ConfigErrorIds.RuleBadLatest, 2, "not a string")]
        public void Rule_maps_with_unknown_keys_or_wrong_types_are_errors_naming_file_and_line(string text, string id, int line, string fragment)
        {
            var name = text.StartsWith("{") ? "images.json" : "images.yaml";
            var json = name.EndsWith("json");
            var result = ImagesFile.Parse(json ? text : text + "\"q.io/ok/c\": \"r.io/x/c\"\n", name);
            var error = Assert.Single(result.Errors);
            Assert.Equal(id, error.ErrorId);
            Assert.Equal(ConfigSeverity.Error, error.Severity);
            Assert.Equal(name, error.File);
            Assert.Equal(line, error.Line);
            Assert.Contains(fragment, error.Detail);
            Assert.StartsWith(name + ":" + line + ":", error.Message);
            if (!json) Assert.Equal("q.io/ok/c", Assert.Single(result.Rules).Source); // the other rules still load
        }

        [Fact]
        public void A_rule_map_without_destinations_uses_the_default_destination()
        {
            var options = RuleGrammarTests.Options("DefaultRegistry=r.example.com;DefaultNamespace=mirror");
            var result = ImagesFile.Parse("\"q.io/a/b\":\n  latest: 1\n", "images.yaml", options);
            Assert.Empty(result.Errors);
            Assert.Equal("r.example.com/mirror/b", Assert.Single(result.Rules).Destinations.Single());
        }

        [Fact]
        public void A_rule_map_with_a_destination_list_keeps_every_destination()
        {
            var result = ImagesFile.Parse("q.io/a/b:/^v/:\n  destinations:\n    - r.io/x/b\n    - r.io/y/b\n  semver: ^1.2\n  latest: 2\n  platforms: linux/amd64,linux/arm64\n", "images.yaml");
            Assert.Empty(result.Errors);
            var rule = Assert.Single(result.Rules);
            Assert.Equal(new[] { "r.io/x/b", "r.io/y/b" }, rule.Destinations);
            Assert.Equal("semver ^1.2, latest 2, platforms linux/amd64,linux/arm64", rule.Selection.ToString());
            Assert.Equal("images.yaml:1", rule.Origin);
        }

        [Theory]
        [InlineData("images.yaml", ConfigFilesTests.SeedImagesYaml)]
        [InlineData("images.json", ConfigFilesTests.SeedImagesJson)]
        public void Plain_image_syncer_files_have_no_selection_and_unchanged_rule_text(string name, string text)
        {
            var result = ImagesFile.Parse(text, name);
            Assert.NotEmpty(result.Rules);
            Assert.All(result.Rules, r =>
            {
                Assert.Same(TagSelection.None, r.Selection);
                Assert.Equal(r.Source + " -> " + string.Join(", ", r.Destinations), r.ToString());
            });
        }

        public static TheoryData<string> WriterForms() => new TheoryData<string> { "yaml", "json" };

        [Theory]
        [MemberData(nameof(WriterForms))]
        public void Rules_and_copies_written_back_read_back_to_the_same_selection(string form)
        {
            var json = form == "json";
            var rules = new[]
            {
                SyncRule.Create("q.io/a/b:/^v/", new[] { "r.io/x/b", "r.io/y/b" }, null,
                    new TagSelectionSpec { ExcludeTag = "-rc\"\\d", SemVer = ">=1.20 <2", Latest = 3, Platforms = new[] { "linux/amd64", "linux/arm64/v8" } }),
                SyncRule.Create("q.io/a/plain", new[] { "r.io/x/plain" }),
            };
            var platformed = SyncRule.Create("q.io/a/c:v1", new[] { "r.io/x/c" }, null, new TagSelectionSpec { Platforms = new[] { "linux/arm/v7" } });
            var copies = platformed.Expand(null).Concat(SyncRule.Create("q.io/a/d:v1", new[] { "r.io/x/d" }).Expand(null)).ToList();

            var text = ImagesFileWriter.Format(copies, json, rules);
            var back = ImagesFile.Parse(text, json ? "out.json" : "out.yaml");
            Assert.Empty(back.Errors);
            Assert.Equal(4, back.Rules.Count);
            var map = back.Rules.ToDictionary(r => r.Source);
            Assert.Equal(rules[0].Selection.ToString(), map["q.io/a/b:/^v/"].Selection.ToString());
            Assert.Equal(rules[0].Destinations, map["q.io/a/b:/^v/"].Destinations);
            Assert.Equal(new[] { "v1.21", "v1.30", "v1.25" },
                map["q.io/a/b:/^v/"].Expand(new[] { "v1.21", "v1.30", "v1.19", "v1.22-rc1", "v2.0", "x1.23", "v1.25" }).Select(c => c.Source.Tag).Distinct());
            Assert.Same(TagSelection.None, map["q.io/a/plain"].Selection);
            Assert.Equal("platforms linux/arm/v7", map["q.io/a/c:v1"].Selection.ToString());
            Assert.Same(TagSelection.None, map["q.io/a/d:v1"].Selection);
            // Plain groups keep the plain image-syncer form.
            Assert.Contains(json ? "\"q.io/a/d:v1\": \"r.io/x/d:v1\"" : "\"q.io/a/d:v1\": \"r.io/x/d:v1\"", text);
        }

        [Fact]
        public void A_copy_without_platforms_of_the_same_source_writes_every_platform()
        {
            var a = SyncRule.Create("q.io/a/c:v1", new[] { "r.io/x/c" }, null, new TagSelectionSpec { Platforms = new[] { "linux/amd64" } }).Expand(null);
            var b = SyncRule.Create("q.io/a/c:v1", new[] { "r.io/y/c" }).Expand(null);
            var c = SyncRule.Create("q.io/a/c:v1", new[] { "r.io/z/c" }, null, new TagSelectionSpec { Platforms = new[] { "linux/arm64" } }).Expand(null);
            var joined = ImagesFile.Parse(ImagesFileWriter.Format(a.Concat(c), json: false), "x.yaml");
            Assert.Equal("platforms linux/amd64,linux/arm64", Assert.Single(joined.Rules).Selection.ToString());
            var all = ImagesFile.Parse(ImagesFileWriter.Format(a.Concat(b).Concat(c), json: false), "x.yaml");
            Assert.Same(TagSelection.None, Assert.Single(all.Rules).Selection);
        }

        [Fact]
        public void A_catastrophic_exclude_regex_stops_at_its_budget()
        {
            var rule = SyncRule.Create(Src, new[] { Dst }, null, new TagSelectionSpec { ExcludeTag = "(a+)+$" });
            // Valid tags (so validation cannot drop them first), each seconds of backtracking.
            var listed = Enumerable.Range(0, 50).Select(i => new string('a', 28) + "-" + i).ToArray();
            var watch = System.Diagnostics.Stopwatch.StartNew();
            Assert.Throws<TagRegexBudgetException>(() => rule.Expand(listed).ToList());
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), watch.Elapsed.ToString());
        }
    }
}
