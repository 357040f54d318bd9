using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using OciSync.Core.Configuration;
using Xunit;

namespace OciSync.Core.Tests.Configuration
{
    /// <summary>
    /// Hostile files (deep nesting, huge files and values, alias bombs) end in one clean
    /// <see cref="ConfigException"/> with a position, in every reader, instead of a stack
    /// overflow that kills the process or a walk that never ends.
    /// </summary>
    public class ConfigLimitsTests
    {
        private const string Canary = "Zq9CANARYpw7";

        public static IEnumerable<object[]> Names() =>
            new[] { "images.yaml", "images.json", "auth.yaml", "auth.json", "config.yaml", "config.json" }.Select(n => new object[] { n });

        private static void Parse(string name, string text)
        {
            if (name.StartsWith("images", StringComparison.Ordinal)) ImagesFile.Parse(text, name);
            else if (name.StartsWith("auth", StringComparison.Ordinal)) AuthFile.Parse(text, name);
            else LegacyConfigFile.Parse(text, name);
        }

        private static ConfigError Fails(string name, string text, string id, int line, int column)
        {
            var e = Assert.Throws<ConfigException>(() => Parse(name, text));
            Assert.Equal(id, e.ErrorId);
            Assert.Equal((line, column), (e.Error.Line, e.Error.Column));
            Assert.StartsWith($"{name}:{line}:{column}: ", e.Message);
            Assert.DoesNotContain(Canary, e.Message);
            Assert.Null(e.InnerException);
            return e.Error;
        }

        private static string Repeat(string s, int n) => new StringBuilder(s.Length * n).Insert(0, s, n).ToString();

        [Theory]
        [MemberData(nameof(Names))]
        public void Deep_brackets_are_ConfigTooDeep_at_the_first_level_too_many(string name)
        {
            // 100,000 levels: a stack overflow (exit 134) when the tree reader recursed without a bound.
            Fails(name, new string('[', 100_000), ConfigErrorIds.ConfigTooDeep, 1, 65);
            Fails(name, new string('{', 100_000), ConfigErrorIds.ConfigTooDeep, 1, 65);
            Fails(name, Repeat("{\"" + Canary + "\": [", 40_000), ConfigErrorIds.ConfigTooDeep, 1, 1 + 32 * (2 + Canary.Length + 4));
            Fails(name, new string('[', 70) + new string(']', 70), ConfigErrorIds.ConfigTooDeep, 1, 65);
        }

        [Theory]
        [InlineData("images.yaml")]
        [InlineData("auth.yaml")]
        [InlineData("config.yaml")]
        public void Deep_block_nesting_is_ConfigTooDeep(string name)
        {
            Fails(name, Repeat("- ", 100_000) + Canary, ConfigErrorIds.ConfigTooDeep, 1, 129);
            var indented = string.Concat(Enumerable.Range(0, 100).Select(i => new string(' ', i) + Canary + ":\n"));
            Fails(name, indented, ConfigErrorIds.ConfigTooDeep, 65, 65);
        }

        [Fact]
        public void Sixty_four_levels_are_still_read()
        {
            // The root map and 63 lists: read, then rejected for its shape, not its depth.
            var result = ImagesFile.Parse("a.io/x: " + new string('[', 63) + new string(']', 63) + "\nb.io/x: c.io/y\n", "images.yaml");
            Assert.Equal(ConfigErrorIds.RuleInvalidReference, result.Errors.Single().ErrorId);
            Assert.Single(result.Rules);
        }

        [Theory]
        [MemberData(nameof(Names))]
        public void A_document_over_8_Mi_characters_is_ConfigTooLarge_where_the_limit_falls(string name)
        {
            // Lines of 1,024 characters: the first character beyond the limit starts line 8,193.
            var text = Repeat("#" + new string(' ', 1022) + "\n", ConfigLimits.MaxDocumentChars / 1024 + 1);
            var error = Fails(name, text, ConfigErrorIds.ConfigTooLarge, 8193, 1);
            Assert.Contains("8,388,608 characters", error.Message);
        }

        [Fact]
        public void A_document_of_exactly_8_Mi_characters_is_read()
        {
            var rule = "a.io/x: b.io/y\n";
            var text = rule + "#" + new string(' ', ConfigLimits.MaxDocumentChars - rule.Length - 2) + "\n";
            Assert.Equal(ConfigLimits.MaxDocumentChars, text.Length);
            Assert.Single(ImagesFile.Parse(text, "images.yaml").Rules);
        }

        [Fact]
        public void A_huge_file_on_disk_is_not_read_whole()
        {
            var path = Path.Combine(Path.GetTempPath(), "ocisync-huge-" + Guid.NewGuid().ToString("N") + ".yaml");
            try
            {
                using (var f = new FileStream(path, FileMode.CreateNew))
                {
                    var line = Encoding.UTF8.GetBytes("#" + new string(' ', 1022) + "\n");
                    for (int i = 0; i < 40 * 1024; i++) f.Write(line, 0, line.Length); // 40 MiB
                }
                foreach (var load in new Action[] { () => ImagesFile.Load(path), () => AuthFile.Load(path), () => LegacyConfigFile.Load(path) })
                {
                    var e = Assert.Throws<ConfigException>(load);
                    Assert.Equal(ConfigErrorIds.ConfigTooLarge, e.ErrorId);
                    Assert.Equal((8193, 1), (e.Error.Line, e.Error.Column));
                }
            }
            finally { File.Delete(path); }
        }

        [Theory]
        [InlineData("images.yaml", "a.io/x: ", "", 1, 9)]
        [InlineData("images.json", "{\"a.io/x\": \"", "\"}", 1, 12)]
        [InlineData("auth.yaml", "r.io:\n  password: ", "\n", 2, 13)]
        [InlineData("auth.json", "{\"r.io\": {\"password\": \"", "\"}}", 1, 23)]
        [InlineData("config.yaml", "auth:\n  r.io: {password: '", "'}\n", 2, 20)]
        public void A_value_over_256_Ki_characters_is_ConfigTooLarge(string name, string before, string after, int line, int column)
        {
            var value = Repeat(Canary, ConfigLimits.MaxScalarChars / Canary.Length + 1);
            var error = Fails(name, before + value + after, ConfigErrorIds.ConfigTooLarge, line, column);
            Assert.Contains($"a value of {value.Length:N0} characters", error.Message);
        }

        [Fact]
        public void A_value_of_exactly_256_Ki_characters_is_read()
        {
            var result = ImagesFile.Parse("a.io/x: a.io/" + new string('Y', ConfigLimits.MaxScalarChars - 5) + "\n", "images.yaml");
            Assert.Equal(ConfigErrorIds.RuleInvalidReference, result.Errors.Single().ErrorId);
        }

        [Theory]
        [MemberData(nameof(Names))]
        public void More_than_200_000_nodes_are_ConfigTooLarge(string name)
        {
            // The list is node 1 and its items are nodes 2...: the 200,001st node is item 200,000, at column 2 * 200,000.
            var error = Fails(name, "[" + Repeat("a,", 250_000) + "a]", ConfigErrorIds.ConfigTooLarge, 1, 400_000);
            Assert.Contains("more than 200,000 values", error.Message);
        }

        [Theory]
        [InlineData("images.yaml")]
        [InlineData("auth.yaml")]
        [InlineData("config.yaml")]
        public void A_billion_laughs_alias_bomb_is_ConfigTooLarge(string name)
        {
            // Nine levels of ten aliases each: 10^9 nodes when walked, 100 in the text.
            var sb = new StringBuilder("l0: &l0 [" + string.Join(",", Enumerable.Repeat("\"" + Canary + "\"", 10)) + "]\n");
            for (int i = 1; i <= 9; i++) sb.Append($"l{i}: &l{i} [").Append(string.Join(",", Enumerable.Repeat($"*l{i - 1}", 10))).Append("]\n");
            var e = Assert.Throws<ConfigException>(() => Parse(name, sb.ToString()));
            Assert.Equal(ConfigErrorIds.ConfigTooLarge, e.ErrorId);
            // l4 weighs 111,111 nodes and 123,461 are read before l5's first alias, which crosses 200,000.
            Assert.Equal((6, 10), (e.Error.Line, e.Error.Column));
            Assert.DoesNotContain(Canary, e.Message);
        }

        [Fact]
        public void Aliases_within_the_budget_still_work()
        {
            var result = ImagesFile.Parse("a.io/x: &d b.io/y\na.io/z: *d\na.io/w: [*d, c.io/v]\n", "images.yaml");
            Assert.Empty(result.Errors);
            Assert.Equal(new[] { "a.io/x -> b.io/y", "a.io/z -> b.io/y", "a.io/w -> b.io/y, c.io/v" }, result.Rules.Select(r => r.ToString()));
        }

        [Theory]
        [InlineData("images.yaml", "a.io/x: &a [*a]\n", 1, 13)]
        [InlineData("config.yaml", "auth: &a\n  r.io: *a\n", 2, 9)]
        public void An_alias_inside_its_own_anchor_is_a_syntax_error(string name, string text, int line, int column)
        {
            var error = Fails(name, text, ConfigErrorIds.ConfigSyntaxError, line, column);
            Assert.Contains("refers to the node that contains it", error.Message);
        }
    }
}
