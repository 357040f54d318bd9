using System;
using System.IO;
using System.Linq;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using Xunit;

namespace OciSync.Core.Tests.Configuration
{
    public class ImagesFileWriterTests
    {
        private const string D1 = RuleGrammarTests.D1;

        private static ImageCopy P(string s, string d) => new ImageCopy(ImageReference.Parse(s), ImageReference.Parse(d));

        private static readonly ImageCopy[] Pairs =
        {
            P("quay.io/coreos/kube-rbac-proxy:v1", "quay.io/ruohe/kube-rbac-proxy2:v1"),
            P("quay.io/coreos/kube-rbac-proxy:v1", "quay.io/ruohe/kube-rbac-proxy1:v1"),
            P("nginx:1.25", "localhost:5000/mirror/nginx:stable"),
            P("quay.io/coreos/kube-rbac-proxy@" + D1, "quay.io/ruohe/kube-rbac-proxy@" + D1),
            P("quay.io/coreos/kube-rbac-proxy@" + D1, "quay.io/ruohe/pinned:p1"),
            P("quay.io/coreos/kube-rbac-proxy:v1", "quay.io/ruohe/kube-rbac-proxy1:v1"),
        };

        [Fact]
        public void Yaml_text_is_exact_and_deterministic()
        {
            var expected =
                "\"docker.io/library/nginx:1.25\": \"localhost:5000/mirror/nginx:stable\"\n" +
                "\"quay.io/coreos/kube-rbac-proxy:v1\":\n" +
                "  - \"quay.io/ruohe/kube-rbac-proxy1:v1\"\n" +
                "  - \"quay.io/ruohe/kube-rbac-proxy2:v1\"\n" +
                "\"quay.io/coreos/kube-rbac-proxy@" + D1 + "\":\n" +
                "  - \"quay.io/ruohe/kube-rbac-proxy@" + D1 + "\"\n" +
                "  - \"quay.io/ruohe/pinned:p1\"\n";
            Assert.Equal(expected, ImagesFileWriter.Format(Pairs, json: false));
            Assert.Equal(expected, ImagesFileWriter.Format(Pairs.Reverse(), json: false));
        }

        [Fact]
        public void Json_text_is_exact()
        {
            var expected =
                "{\n" +
                "  \"docker.io/library/nginx:1.25\": \"localhost:5000/mirror/nginx:stable\",\n" +
                "  \"quay.io/coreos/kube-rbac-proxy:v1\": [\n" +
                "    \"quay.io/ruohe/kube-rbac-proxy1:v1\",\n" +
                "    \"quay.io/ruohe/kube-rbac-proxy2:v1\"\n" +
                "  ],\n" +
                "  \"quay.io/coreos/kube-rbac-proxy@" + D1 + "\": [\n" +
                "    \"quay.io/ruohe/kube-rbac-proxy@" + D1 + "\",\n" +
                "    \"quay.io/ruohe/pinned:p1\"\n" +
                "  ]\n" +
                "}\n";
            Assert.Equal(expected, ImagesFileWriter.Format(Pairs, json: true));
        }

        [Theory]
        [InlineData("success.yaml")]
        [InlineData("success.json")]
        [InlineData("failed.yml")]
        public void Written_files_read_back_into_the_same_pairs(string fileName)
        {
            var dir = Path.Combine(Path.GetTempPath(), "ocisync-cfg-" + Guid.NewGuid().ToString("N"));
            try
            {
                var path = Path.Combine(dir, "out", fileName);
                ImagesFileWriter.Write(path, Pairs);
                var result = ImagesFile.Load(path);
                Assert.Empty(result.Errors);
                var back = result.Rules.SelectMany(r => r.Expand(null)).Select(p => p.ToString()).OrderBy(s => s, StringComparer.Ordinal);
                var original = Pairs.Distinct().Select(p => p.ToString()).OrderBy(s => s, StringComparer.Ordinal);
                Assert.Equal(original, back);
                Assert.Equal(fileName.EndsWith(".json", StringComparison.Ordinal), File.ReadAllText(path).StartsWith("{", StringComparison.Ordinal));
            }
            finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
        }

        [Fact]
        public void Pairs_expanded_from_rules_round_trip()
        {
            var rules = ImagesFile.Parse(ConfigFilesTests.SeedImagesYaml, "images.yaml").Rules;
            var pairs = rules.SelectMany(r => r.Expand(new[] { "v1.0", "alpha", "latest" })).ToList();
            foreach (var json in new[] { false, true })
            {
                var back = ImagesFile.Parse(ImagesFileWriter.Format(pairs, json), json ? "x.json" : "x.yaml");
                Assert.Empty(back.Errors);
                Assert.Equal(pairs.Select(p => p.ToString()).Distinct().OrderBy(s => s, StringComparer.Ordinal),
                    back.Rules.SelectMany(r => r.Expand(null)).Select(p => p.ToString()).OrderBy(s => s, StringComparer.Ordinal));
            }
        }

        [Fact]
        public void No_pairs_write_an_empty_map()
        {
            Assert.Equal("{}\n", ImagesFileWriter.Format(Array.Empty<ImageCopy>(), json: false));
            Assert.Empty(ImagesFile.Parse("{}\n", "x.yaml").Rules);
        }
    }
}
