using System;
using System.Linq;
using OciSync.Core.Configuration;
using Xunit;

namespace OciSync.Core.Tests.Configuration
{
    /// <summary>Catalog rules (<c>registry/namespace/*</c>): what they accept and refuse, and how repositories map to destinations.</summary>
    public class CatalogGrammarTests
    {
        // The catalog as a registry lists it: in and around the prefix, and names that must never become rules.
        private static readonly string[] Listed =
        {
            "team/app", "team/tools/cli", "team", "teamx/app", "other/app", "team/app", "../team/victim", "team/UPPER", "team//x", "",
        };

        [Theory]
        // a namespace, all tags; the destination as a prefix, with or without /*
        [InlineData("src.example/team/*", "dst.example/mirror", null, "src.example/team/app -> dst.example/mirror/app ; src.example/team/tools/cli -> dst.example/mirror/tools/cli")]
        [InlineData("src.example/team/*", "dst.example/mirror/*", null, "src.example/team/app -> dst.example/mirror/app ; src.example/team/tools/cli -> dst.example/mirror/tools/cli")]
        // the registry's root on either side
        [InlineData("src.example/team/*", "dst.example/*", null, "src.example/team/app -> dst.example/app ; src.example/team/tools/cli -> dst.example/tools/cli")]
        [InlineData("src.example/team/*", "localhost:5000", null, "src.example/team/app -> localhost:5000/app ; src.example/team/tools/cli -> localhost:5000/tools/cli")]
        [InlineData("src.example/*", "dst.example/all", null,
            "src.example/team/app -> dst.example/all/team/app ; src.example/team/tools/cli -> dst.example/all/team/tools/cli ; src.example/team -> dst.example/all/team ; " +
            "src.example/teamx/app -> dst.example/all/teamx/app ; src.example/other/app -> dst.example/all/other/app")]
        // a deeper prefix, a port, a tag regex
        [InlineData("127.0.0.1:5000/team/tools/*", "dst.example/t", null, "127.0.0.1:5000/team/tools/cli -> dst.example/t/cli")]
        [InlineData("src.example/team/*:/^v1/", "dst.example/m", null, "src.example/team/app:/^v1/ -> dst.example/m/app ; src.example/team/tools/cli:/^v1/ -> dst.example/m/tools/cli")]
        // several destinations, duplicates (after normalisation) dropped; a Docker Hub destination namespace
        [InlineData("src.example/team/*", "dst.example/a|dst.example/a/*|myorg/*", null,
            "src.example/team/app -> dst.example/a/app, docker.io/myorg/app ; src.example/team/tools/cli -> dst.example/a/tools/cli, docker.io/myorg/tools/cli")]
        // the default destination: <registry>/<namespace> is the prefix, the path under the source prefix kept
        [InlineData("src.example/team/*", null, "DefaultRegistry=reg.example;DefaultNamespace=mirror",
            "src.example/team/app -> reg.example/mirror/app ; src.example/team/tools/cli -> reg.example/mirror/tools/cli")]
        [InlineData("src.example/team/*", "", "DEFAULT_REGISTRY=localhost:5001;DEFAULT_NAMESPACE=a/b",
            "src.example/team/app -> localhost:5001/a/b/app ; src.example/team/tools/cli -> localhost:5001/a/b/tools/cli")]
        // environment in destinations
        [InlineData("src.example/team/*", "${REG}/m/*", "REG=r.example", "src.example/team/app -> r.example/m/app ; src.example/team/tools/cli -> r.example/m/tools/cli")]
        public void Catalog_rules_map_each_repository_under_the_prefix(string source, string? destination, string? options, string expected)
        {
            foreach (var form in RuleFixture.Forms)
            {
                var (rule, error) = RuleFixture.Build(form, source, destination, RuleGrammarTests.Options(options));
                Assert.True(error == null, $"{form}: {error}");
                Assert.True(rule!.IsCatalog);
                Assert.Equal(source, rule.Source);
                Assert.Throws<InvalidOperationException>(() => rule.Expand(Array.Empty<string>()));
                var children = rule.ExpandCatalog(Listed);
                Assert.All(children, c => Assert.False(c.IsCatalog));
                Assert.All(children, c => Assert.Same(rule, c.CatalogRule));
                Assert.Equal(form + ": " + expected, form + ": " + string.Join(" ; ", children.Select(c => c.Source + " -> " + string.Join(", ", c.Targets))));
            }
        }

        [Fact]
        public void A_catalog_rule_keeps_its_selector_for_every_repository_and_reads_back_as_written()
        {
            var rule = SyncRule.Create("src.example/team/*:/^v[0-9]+$/", new[] { "dst.example/mirror/*", "dst.example/*" });
            Assert.Equal("team", rule.CatalogPrefix);
            Assert.Equal(SourceSelectorKind.Regex, rule.Kind);
            Assert.True(rule.NeedsTagList);
            Assert.Equal(new[] { "dst.example/mirror/*", "dst.example/*" }, rule.Targets.Select(t => t.ToString()));
            Assert.All(rule.Targets, t => Assert.True(t.IsPrefix));

            var child = rule.ExpandCatalog(new[] { "team/app" }).Single();
            Assert.Equal(new[] { "v1", "v10" }, child.Expand(new[] { "v1", "latest", "v10", "v1-rc" }).Select(c => c.Source.Tag).Distinct());
            Assert.Equal("src.example/team/app:v1 -> dst.example/mirror/app:v1", child.Expand(new[] { "v1" }).First().ToString());

            // The whole registry: an empty prefix, written back as registry/*.
            var all = SyncRule.Create("src.example/*", new[] { "dst.example/*" });
            Assert.Equal("", all.CatalogPrefix);
            Assert.Equal("dst.example/*", all.Targets.Single().ToString());

            // A failed catalog rule is written to a failed-images file as its source and prefixes, and reads back as the same rule.
            var text = ImagesFileWriter.Format(Array.Empty<ImageCopy>(), json: false, new[] { rule });
            var back = ImagesFile.Parse(text, "failed.yaml");
            Assert.Empty(back.Errors);
            var again = Assert.Single(back.Rules);
            Assert.True(again.IsCatalog);
            Assert.Equal(rule.Source, again.Source);
            Assert.Equal(rule.Targets.Select(t => t.ToString()).OrderBy(t => t), again.Targets.Select(t => t.ToString()).OrderBy(t => t));
            var json = ImagesFileWriter.Format(Array.Empty<ImageCopy>(), json: true, new[] { all });
            Assert.Equal("src.example/* -> dst.example/*", Assert.Single(ImagesFile.Parse(json, "failed.json").Rules).ToString());
        }

        [Fact]
        public void An_ordinary_rule_is_not_a_catalog_rule()
        {
            var rule = SyncRule.Create("src.example/team/app:/a*/", new[] { "dst.example/m/app" });
            Assert.False(rule.IsCatalog);
            Assert.Null(rule.CatalogPrefix);
            Assert.Throws<InvalidOperationException>(() => rule.ExpandCatalog(new[] { "team/app" }));
        }

        [Theory]
        // Docker Hub has no usable catalog: refused at once, however it is spelled
        [InlineData("docker.io/library/*", "dst.example/m", ConfigErrorIds.RuleCatalogUnsupported, "Docker Hub")]
        [InlineData("bitnami/*", "dst.example/m", ConfigErrorIds.RuleCatalogUnsupported, "Docker Hub")]
        [InlineData("index.docker.io/*", "dst.example/m", ConfigErrorIds.RuleCatalogUnsupported, "Docker Hub")]
        // selectors that name images of one repository
        [InlineData("src.example/team/*:v1", "dst.example/m", ConfigErrorIds.RuleCatalogInvalid, "/regex/ only")]
        [InlineData("src.example/team/*:v1,v2", "dst.example/m", ConfigErrorIds.RuleCatalogInvalid, "/regex/ only")]
        [InlineData("src.example/team/*@" + RuleGrammarTests.D1, "dst.example/m", ConfigErrorIds.RuleCatalogInvalid, "/regex/ only")]
        [InlineData("src.example/team/*:/a/,/b/", "dst.example/m", ConfigErrorIds.RuleMultipleRegex, "one regex")]
        [InlineData("src.example/team/*:/(/", "dst.example/m", ConfigErrorIds.RuleBadRegex, "not a valid regular expression")]
        // '*' anywhere else, or without a registry
        [InlineData("src.example/team*", "dst.example/m", ConfigErrorIds.RuleCatalogInvalid, "may only end")]
        [InlineData("src.example/*/app", "dst.example/m", ConfigErrorIds.RuleCatalogInvalid, "may only end")]
        [InlineData("src.example/team/**", "dst.example/m", ConfigErrorIds.RuleCatalogInvalid, "may only end")]
        [InlineData("/*", "dst.example/m", ConfigErrorIds.RuleInvalidReference, "registry is missing")]
        [InlineData("src.example/Team/*", "dst.example/m", ConfigErrorIds.RuleInvalidReference, "not a valid repository path prefix")]
        [InlineData("https://src.example/team/*", "dst.example/m", ConfigErrorIds.RuleInvalidReference, "no scheme")]
        // an OCI layout holds one repository
        [InlineData("oci:/backups/*", "dst.example/m", ConfigErrorIds.RuleCatalogInvalid, "holds one repository")]
        [InlineData("oci-archive:/backups/*", "dst.example/m", ConfigErrorIds.RuleCatalogInvalid, "holds one repository")]
        // destinations: a prefix only
        [InlineData("src.example/team/*", "dst.example/m:v1", ConfigErrorIds.RuleCatalogInvalid, "repository prefix")]
        [InlineData("src.example/team/*", "dst.example/m@" + RuleGrammarTests.D1, ConfigErrorIds.RuleCatalogInvalid, "repository prefix")]
        [InlineData("src.example/team/*", "dst.example/m/*/x", ConfigErrorIds.RuleCatalogInvalid, "may only end")]
        [InlineData("src.example/team/*", "oci:/mirror", ConfigErrorIds.RuleCatalogInvalid, "holds one")]
        [InlineData("src.example/team/*", "dst.example/M", ConfigErrorIds.RuleInvalidReference, "not a valid repository path prefix")]
        [InlineData("src.example/team/*", "dst.example/ok|", ConfigErrorIds.RuleEmptySide, "destination #2 is empty")]
        [InlineData("src.example/team/*", "", ConfigErrorIds.RuleNoDefaultDestination, "needs a default registry")]
        // a prefix destination for a source that names one repository
        [InlineData("src.example/team/app", "dst.example/m/*", ConfigErrorIds.RuleCatalogInvalid, "ends in /* too")]
        [InlineData("src.example/team/app:v1", "dst.example/*", ConfigErrorIds.RuleCatalogInvalid, "ends in /* too")]
        public void Broken_catalog_rules_are_refused_with_the_grammar_point(string source, string? destination, string errorId, string detail)
        {
            foreach (var form in RuleFixture.Forms)
            {
                var (rule, error) = RuleFixture.Build(form, source, destination, RuleGrammarTests.Options(null));
                Assert.True(rule == null, $"{form}: '{source}' -> '{destination}' was accepted");
                Assert.Equal(errorId, error!.ErrorId);
                Assert.Contains(detail, error.Detail);
            }
        }

        [Fact]
        public void A_destination_name_that_would_be_too_long_never_becomes_a_rule()
        {
            var rule = SyncRule.Create("src.example/team/*", new[] { "dst.example/" + new string('m', 240) });
            var children = rule.ExpandCatalog(new[] { "team/short", "team/" + new string('x', 20) });
            Assert.Equal("src.example/team/short", Assert.Single(children).Source);
        }
    }
}
