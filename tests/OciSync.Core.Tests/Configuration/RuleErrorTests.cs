using System.IO;
using System.Linq;
using OciSync.Core.Configuration;
using Xunit;

namespace OciSync.Core.Tests.Configuration
{
    public class RuleErrorTests
    {
        private const string D1 = RuleGrammarTests.D1;
        private const string D2 = RuleGrammarTests.D2;

        [Theory]
        [InlineData("", "quay.io/r/x", null, ConfigErrorIds.RuleEmptySide, "the source is empty")]
        [InlineData("quay.io/a/b", "quay.io/r/x|", null, ConfigErrorIds.RuleEmptySide, "destination #2 is empty")]
        [InlineData("quay.io/a/b", "${OCISYNC_SURELY_UNSET}", null, ConfigErrorIds.RuleEmptySide, "expands to an empty string")]
        [InlineData("quay.io/A/b", "quay.io/r/x", null, ConfigErrorIds.RuleInvalidReference, "not a valid repository name")]
        [InlineData("quay.io/a/b:bad!tag", "quay.io/r/x", null, ConfigErrorIds.RuleInvalidReference, "'bad!tag' is not a valid tag")]
        [InlineData("quay.io/a/b:v1,,v2", "quay.io/r/x", null, ConfigErrorIds.RuleInvalidReference, "has an empty tag")]
        [InlineData("quay.io/a/b:", "quay.io/r/x", null, ConfigErrorIds.RuleInvalidReference, "nothing follows ':'")]
        [InlineData("quay.io/a/b:v1@" + D1, "quay.io/r/x", null, ConfigErrorIds.RuleInvalidReference, "both tags and a digest")]
        [InlineData("quay.io/a/b@" + D1 + "," + D2, "quay.io/r/x", null, ConfigErrorIds.RuleInvalidReference, "more than one digest")]
        [InlineData("quay.io/a/b@sha256:abc", "quay.io/r/x", null, ConfigErrorIds.RuleInvalidReference, "not a valid sha256 digest")]
        [InlineData("https://quay.io/a/b", "quay.io/r/x", null, ConfigErrorIds.RuleInvalidReference, "no scheme")]
        [InlineData("quay.io/a/b:v1", "quay.io/r/x:/a/", null, ConfigErrorIds.RuleInvalidReference, "allowed only in the source")]
        [InlineData("quay.io/a/b:v1", "quay.io/r/UPPER", null, ConfigErrorIds.RuleInvalidReference, "destination 'quay.io/r/UPPER'")]
        [InlineData("quay.io/a/b:v1", "127.0.0.1:99999/app", null, ConfigErrorIds.RuleInvalidReference, "'127.0.0.1:99999' is not a valid registry host")]
        [InlineData("127.0.0.1:0/app:v1", "quay.io/r/x", null, ConfigErrorIds.RuleInvalidReference, "'127.0.0.1:0' is not a valid registry host")]
        [InlineData("quay.io/a/b:v1,v2", "quay.io/r/x:x1", null, ConfigErrorIds.RuleTagCountMismatch, "names 1 tag but the source names 2 tags")]
        [InlineData("quay.io/a/b:v1", "quay.io/r/x:x1,x2", null, ConfigErrorIds.RuleTagCountMismatch, "names 2 tags but the source names 1 tag")]
        [InlineData("quay.io/a/b@" + D1, "quay.io/r/x:x1,x2", null, ConfigErrorIds.RuleTagCountMismatch, "one digest")]
        [InlineData("quay.io/a/b@" + D1, "quay.io/r/x@" + D2, null, ConfigErrorIds.RuleDigestMismatch, "must be the same")]
        [InlineData("quay.io/a/b:v1", "quay.io/r/x@" + D1, null, ConfigErrorIds.RuleDigestMismatch, "the source names no digest")]
        [InlineData("quay.io/a/b:/a/,/b/", "quay.io/r/x", null, ConfigErrorIds.RuleMultipleRegex, "only one regex")]
        [InlineData("quay.io/a/b:v1,/b/", "quay.io/r/x", null, ConfigErrorIds.RuleMultipleRegex, "combines a regex with tags")]
        [InlineData("quay.io/a/b:/a(/", "quay.io/r/x", null, ConfigErrorIds.RuleBadRegex, "not a valid regular expression")]
        [InlineData("quay.io/a/b://", "quay.io/r/x", null, ConfigErrorIds.RuleInvalidReference, "no scheme")]
        [InlineData("quay.io/a/b:/abc", "quay.io/r/x", null, ConfigErrorIds.RuleBadRegex, "enclosed in slashes")]
        [InlineData("quay.io/a/b", "quay.io/r/x:v1", null, ConfigErrorIds.RuleDestinationTagsNeedSourceTags, "selects all tags")]
        [InlineData("quay.io/a/b:/v/", "quay.io/r/x:v1", null, ConfigErrorIds.RuleDestinationTagsNeedSourceTags, "tags by regex")]
        [InlineData("quay.io/a/b:v1", null, null, ConfigErrorIds.RuleNoDefaultDestination, "a default registry and a default namespace")]
        [InlineData("quay.io/a/b:v1", "", "DefaultRegistry=r.example.com", ConfigErrorIds.RuleNoDefaultDestination, "needs a default namespace")]
        [InlineData("quay.io/a/b:v1", "[]", "DEFAULT_NAMESPACE=ns", ConfigErrorIds.RuleNoDefaultDestination, "needs a default registry")]
        [InlineData("quay.io/a/b:v1", null, "DefaultRegistry=bad host;DefaultNamespace=ns", ConfigErrorIds.RuleInvalidReference, "default destination")]
        public void Broken_rules_are_reported_with_their_id(string source, string? destination, string? options, string id, string fragment)
        {
            foreach (var form in RuleFixture.Forms)
            {
                var (rule, error) = RuleFixture.Build(form, source, destination, RuleGrammarTests.Options(options));
                Assert.True(rule == null, $"{form}: expected {id}, got rule {rule}");
                Assert.Equal(form + ": " + id, form + ": " + error!.ErrorId);
                Assert.Contains(fragment, error.Message);
                Assert.Equal(source.Length == 0 ? null : source, error.Rule);
                if (form == "create")
                {
                    Assert.Equal("", error.File);
                    Assert.Equal(0, error.Line);
                }
                else
                {
                    Assert.StartsWith("images." + form + ":", error.Message);
                    Assert.True(error.Line > 0 && error.Column > 0, error.Message);
                }
            }
        }

        [Fact]
        public void Create_throws_a_RuleException_carrying_the_error()
        {
            var e = Assert.Throws<RuleException>(() => SyncRule.Create("quay.io/a/b:v1,v2", new[] { "quay.io/r/x:x1" }));
            Assert.Equal(ConfigErrorIds.RuleTagCountMismatch, e.ErrorId);
            Assert.Equal("rule 'quay.io/a/b:v1,v2': destination 'quay.io/r/x:x1': names 1 tag but the source names 2 tags; they are mapped left to right and must be as many.", e.Message);
        }

        [Theory]
        [InlineData("a.yaml", "a.io/x: 123\n", "RuleInvalidReference@1:9", "rule 'a.io/x': the destination 123 is a number; quote it if it is meant as a name.")]
        [InlineData("a.yaml", "a.io/x: true\n", "RuleInvalidReference@1:9", "the destination true is a boolean")]
        [InlineData("a.yaml", "a.io/x: FALSE\n", "RuleInvalidReference@1:9", "is a boolean")]
        [InlineData("a.yaml", "a.io/x: [b.io/y, 1.5]\n", "RuleInvalidReference@1:18", "destination #2 (1.5) is a number")]
        [InlineData("a.yaml", "a.io/x:\n  - 0x1F\n", "RuleInvalidReference@2:5", "destination #1 (0x1F) is a number")]
        [InlineData("a.yaml", "a.io/x: -5\n", "RuleInvalidReference@1:9", "is a number")]
        [InlineData("a.yaml", "a.io/x: 1e3\n", "RuleInvalidReference@1:9", "is a number")]
        [InlineData("a.yaml", "a.io/x: 0o17\n", "RuleInvalidReference@1:9", "is a number")]
        [InlineData("a.yaml", "a.io/x: .inf\n", "RuleInvalidReference@1:9", "is a number")]
        [InlineData("a.yaml", "123: b.io/y\n", "RuleInvalidReference@1:1", "rule '123': the source is a number; quote it if it is meant as a name.")]
        [InlineData("a.yaml", "True: b.io/y\n", "RuleInvalidReference@1:1", "the source is a boolean")]
        [InlineData("a.json", "{\"a.io/x\": 5}", "RuleInvalidReference@1:12", "the destination 5 is a number")]
        [InlineData("a.json", "{\"a.io/x\": true}", "RuleInvalidReference@1:12", "is a boolean")]
        [InlineData("a.json", "{\"a.io/x\": [\"b.io/y\", 5]}", "RuleInvalidReference@1:23", "destination #2 (5) is a number")]
        [InlineData("c.yaml", "images:\n  a.io/x: 5\n", "RuleInvalidReference@2:11", "is a number")]
        // Quoted, or not a number in YAML 1.2: a name.
        [InlineData("a.yaml", "a.io/x: '123'\n", "a.io/x -> docker.io/library/123", null)]
        [InlineData("a.json", "{\"a.io/x\": \"5\"}", "a.io/x -> docker.io/library/5", null)]
        [InlineData("a.yaml", "\"123\": b.io/y\n", "123 -> b.io/y", null)]
        [InlineData("a.yaml", "a.io/x: 1.2.3\n", "a.io/x -> docker.io/library/1.2.3", null)]
        [InlineData("a.yaml", "a.io/x: yes\n", "a.io/x -> docker.io/library/yes", null)]
        [InlineData("a.yaml", "a.io/x: !!str 123\n", "a.io/x -> docker.io/library/123", null)]
        [InlineData("a.yaml", "!!str 1.5: b.io/y\n", "1.5 -> b.io/y", null)]
        public void Numbers_and_booleans_are_not_names(string name, string text, string expected, string? message)
        {
            var result = name.StartsWith("c.") ? LegacyConfigFile.Parse(text, name).Images : ImagesFile.Parse(text, name);
            if (message == null)
            {
                Assert.Empty(result.Errors);
                var rule = result.Rules.Single();
                Assert.Equal(expected, rule.Source + " -> " + rule.Targets.Single());
                return;
            }
            Assert.Empty(result.Rules);
            var error = result.Errors.Single();
            Assert.Equal(expected, $"{error.ErrorId}@{error.Line}:{error.Column}");
            Assert.StartsWith($"{name}:{error.Line}:{error.Column}: ", error.Message);
            Assert.Contains(message, error.Message);
        }

        private const string NotARepository = "is not a valid repository name (lower-case letters, digits and separators . _ - /).";

        [Fact]
        public void A_huge_source_or_destination_is_shown_shortened()
        {
            var huge = "quay.io/a/" + new string('b', 10_000_000);
            var e = Assert.Throws<RuleException>(() => SyncRule.Create(huge, new[] { "quay.io/r/x" }));
            Assert.Equal(huge, e.Error.Rule);
            Assert.StartsWith("rule '" + huge.Substring(0, ConfigError.MaxShownChars) + "… (10,000,010 characters)': source: 'a/bbb", e.Message);
            Assert.EndsWith(NotARepository, e.Message);
            Assert.True(e.Message.Length < 1000, e.Message.Length.ToString());

            e = Assert.Throws<RuleException>(() => SyncRule.Create("quay.io/a/b:v1", new[] { huge.ToUpperInvariant() }));
            Assert.StartsWith("rule 'quay.io/a/b:v1': destination 'QUAY.IO/A/BBB", e.Message);
            Assert.EndsWith(NotARepository, e.Message);
            Assert.True(e.Message.Length < 1000, e.Message.Length.ToString());
        }

        [Fact]
        public void A_long_value_of_short_words_keeps_the_start_and_the_end_of_the_detail()
        {
            var spaced = string.Concat(Enumerable.Repeat("quay.io/r/x ", 100_000));
            var e = Assert.Throws<RuleException>(() => SyncRule.Create("quay.io/a/b", new[] { spaced }));
            Assert.StartsWith("rule 'quay.io/a/b': destination 'quay.io/r/x quay.io/r/x ", e.Message);
            Assert.Contains("characters left out", e.Message);
            Assert.EndsWith("an image reference cannot contain spaces.", e.Message);
            Assert.True(e.Message.Length < 1100, e.Message.Length.ToString());
        }

        [Theory]
        [InlineData("images.yaml")]
        [InlineData("images.json")]
        public void A_long_key_in_a_file_is_shown_shortened(string name)
        {
            var key = "quay.io/a/" + new string('b', 200_000);
            var text = name.EndsWith(".json") ? $"{{\"{key}\": \"quay.io/r/x\"}}" : $"? {key}\n: quay.io/r/x\n";
            var error = ImagesFile.Parse(text, name).Errors.Single();
            Assert.Equal(ConfigErrorIds.RuleInvalidReference, error.ErrorId);
            Assert.Equal(key, error.Rule);
            Assert.StartsWith($"{name}:1:{error.Column}: rule '{key.Substring(0, ConfigError.MaxShownChars)}… (200,010 characters)': source: 'a/bbb", error.Message);
            Assert.EndsWith(NotARepository, error.Message);
            Assert.True(error.Message.Length < 1000, error.Message.Length.ToString());
        }

        private const string YamlFile =
            "quay.io/a/b: quay.io/c/d\n" +                 // 1 ok
            "quay.io/a/e:v1,v2: quay.io/c/f:x\n" +          // 2 count mismatch at the destination, col 20
            "quay.io/a/g:\n" +                              // 3
            "  - quay.io/c/h\n" +                           // 4
            "  - quay.io/c/i:/x/\n" +                       // 5 regex in destination, col 5
            "quay.io/a/b: quay.io/z/z\n" +                  // 6 duplicate key, col 1
            "  # comment\n" +                               // 7
            "quay.io/a/j:/(/: quay.io/c/k\n" +              // 8 bad regex at the key, col 1
            "quay.io/a/l:\n" +                              // 9 no default destination at the key
            "quay.io/a/m: {x: y}\n";                        // 10 map destination, col 14

        private const string JsonFile =
            "{\n" +
            "  \"quay.io/a/b\": \"quay.io/c/d\",\n" +            // 2
            "  \"quay.io/a/e:v1,v2\": \"quay.io/c/f:x\",\n" +    // 3 col 24
            "  \"quay.io/a/g\": [\"quay.io/c/h\",\n" +           // 4
            "\t\t\"quay.io/c/i:/x/\"],\n" +                      // 5 col 3 (tabs are JSON whitespace)
            "  \"quay.io/a/b\": \"quay.io/z/z\",\n" +            // 6 col 3
            "  \"quay.io/a/j:/(/\": \"quay.io/c/k\",\n" +        // 7 col 3
            "  \"quay.io/a/l\": null,\n" +                       // 8 col 3
            "  \"quay.io/a/m\": {\"x\": \"y\"}\n" +              // 9 col 18
            "}\n";

        [Theory]
        [InlineData("yaml", "RuleTagCountMismatch@2:20 RuleInvalidReference@5:5 RuleDuplicateKey@6:1 RuleBadRegex@8:1 RuleNoDefaultDestination@9:1 RuleInvalidReference@10:14")]
        [InlineData("json", "RuleTagCountMismatch@3:24 RuleInvalidReference@5:3 RuleDuplicateKey@6:3 RuleBadRegex@7:3 RuleNoDefaultDestination@8:3 RuleInvalidReference@9:18")]
        public void Errors_carry_line_and_column_and_the_good_rules_survive(string form, string expected)
        {
            var result = form == "yaml"
                ? ImagesFile.Parse(YamlFile, "x.yaml", RuleGrammarTests.Options(null))
                : ImagesFile.Parse(JsonFile, "x.json", RuleGrammarTests.Options(null));
            Assert.Equal(expected, string.Join(" ", result.Errors.Select(e => $"{e.ErrorId}@{e.Line}:{e.Column}")));
            Assert.Equal(new[] { "quay.io/a/b -> quay.io/c/d" }, result.Rules.Select(r => r.ToString()));
            Assert.Equal("x." + form + ":" + (form == "yaml" ? 1 : 2), result.Rules[0].Origin);
            var dup = result.Errors.Single(e => e.ErrorId == ConfigErrorIds.RuleDuplicateKey);
            Assert.Equal($"x.{form}:6:{dup.Column}: rule 'quay.io/a/b': the source appears again (first at line {(form == "yaml" ? 1 : 2)}); a source may be a key only once, so this entry is ignored (put all destinations of a source in one list).", dup.Message);
        }

        [Theory]
        [InlineData("a.yaml", "quay.io/a/b: [quay.io/c\n", 2, 1)]
        [InlineData("a.yaml", "quay.io/a/b: \"quay.io/c\n", 1, 14)]
        [InlineData("a.yaml", "quay.io/a/b: x\n  bad: indent\n", 2, 6)]
        [InlineData("a.json", "{\"a\": \"x\",, \"b\": \"y\"}", 1, 11)]
        [InlineData("a.json", "{\"a\": \"x\" ]", 1, 11)]
        [InlineData("a.yaml", "auth:\n  r.io:\n    username: [\n\nimages: {}\n", 5, 1)]
        [InlineData("a.json", "{\n  \"a\": [\"x\", }", 2, 14)]
        public void Syntax_errors_throw_with_line_and_column(string name, string text, int line, int column)
        {
            var e = Assert.Throws<ConfigException>(() => ImagesFile.Parse(text, name));
            Assert.Equal(ConfigErrorIds.ConfigSyntaxError, e.ErrorId);
            Assert.Equal((line, column), (e.Error.Line, e.Error.Column));
            Assert.StartsWith($"{name}:{line}:{column}: invalid YAML/JSON", e.Message);
        }

        [Theory]
        [InlineData("a.yaml", "- quay.io/a/b\n- quay.io/c/d\n", 1, 1, "a list")]
        [InlineData("a.json", "[\"quay.io/a/b\"]", 1, 1, "a list")]
        [InlineData("a.yaml", "just a string\n", 1, 1, "a string")]
        [InlineData("a.yaml", "a: b\n---\nc: d\n", 2, 1, "more than one document")]
        public void A_root_that_is_not_one_map_throws(string name, string text, int line, int column, string fragment)
        {
            var e = Assert.Throws<ConfigException>(() => ImagesFile.Parse(text, name));
            Assert.Equal(ConfigErrorIds.ConfigSyntaxError, e.ErrorId);
            Assert.Equal((line, column), (e.Error.Line, e.Error.Column));
            Assert.Contains(fragment, e.Message);
        }

        [Theory]
        [InlineData("a.yaml", "")]
        [InlineData("a.yaml", "# nothing\n")]
        [InlineData("a.json", "{}")]
        [InlineData("a.yaml", "~\n")]
        public void An_empty_file_has_no_rules(string name, string text)
        {
            var result = ImagesFile.Parse(text, name);
            Assert.Empty(result.Rules);
            Assert.Empty(result.Errors);
        }

        [Fact]
        public void Missing_and_unreadable_files_throw()
        {
            var dir = Path.Combine(Path.GetTempPath(), "ocisync-cfg-" + System.Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                var missing = Path.Combine(dir, "nope.yaml");
                var e = Assert.Throws<ConfigException>(() => ImagesFile.Load(missing));
                Assert.Equal(ConfigErrorIds.ConfigFileNotFound, e.ErrorId);
                Assert.Equal(missing + ": the file does not exist.", e.Message);
                Assert.Equal(ConfigErrorIds.ConfigFileNotFound, Assert.Throws<ConfigException>(() => AuthFile.Load(missing)).ErrorId);
                Assert.Equal(ConfigErrorIds.ConfigFileNotFound, Assert.Throws<ConfigException>(() => LegacyConfigFile.Load(Path.Combine(dir, "sub", "c.json"))).ErrorId);

                var e2 = Assert.Throws<ConfigException>(() => ImagesFile.Load(dir));
                Assert.Equal(ConfigErrorIds.ConfigFileUnreadable, e2.ErrorId);
                Assert.Equal(dir + ": the file cannot be read: it is a directory, not a file.", e2.Message);
                var e3 = Assert.Throws<ConfigException>(() => AuthFile.Load(Path.Combine(dir, "bad\0name.yaml")));
                Assert.Equal(ConfigErrorIds.ConfigFileUnreadable, e3.ErrorId);
                Assert.DoesNotContain("Exception", e3.Message);
            }
            finally { Directory.Delete(dir, true); }
        }
    }
}
