using System;
using System.IO;
using System.Linq;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using Xunit;

namespace OciSync.Core.Tests.Configuration
{
    public class ConfigFilesTests
    {
        /// <summary>The seed document's images.yaml, hosts unchanged.</summary>
        internal const string SeedImagesYaml =
            "quay.io/coreos/kube-rbac-proxy: registry.ksyunkcr.com/namespace/repository\n" +
            "quay.io/coreos/kube-rbac-proxy:v1.0: quay.io/ruohe/kube-rbac-proxy\n" +
            "quay.io/coreos/kube-rbac-proxy:v1.0,v2.0: quay.io/ruohe/kube-rbac-proxy\n" +
            "quay.io/coreos/kube-rbac-proxy@sha256:14b267eb38aa85fd12d0e168fffa2d8a6187ac53a14a0212b0d4fce8d729598c: quay.io/ruohe/kube-rbac-proxy\n" +
            "quay.io/coreos/kube-rbac-proxy:v1.1:\n" +
            "- quay.io/ruohe/kube-rbac-proxy1\n" +
            "- quay.io/ruohe/kube-rbac-proxy2\n" +
            "quay.io/coreos/kube-rbac-proxy:/a+/: quay.io/ruohe/kube-rbac-proxy\n";

        internal const string SeedImagesJson =
            "{\n" +
            "\t\"quay.io/coreos/kube-rbac-proxy\": \"registry.ksyunkcr.com/namespace/repository\",\n" +
            "\t\"quay.io/coreos/kube-rbac-proxy:v1.0\": \"quay.io/ruohe/kube-rbac-proxy\",\n" +
            "\t\"quay.io/coreos/kube-rbac-proxy:v1.0,v2.0\": \"quay.io/ruohe/kube-rbac-proxy\",\n" +
            "\t\"quay.io/coreos/kube-rbac-proxy@sha256:14b267eb38aa85fd12d0e168fffa2d8a6187ac53a14a0212b0d4fce8d729598c\": \"quay.io/ruohe/kube-rbac-proxy\",\n" +
            "\t\"quay.io/coreos/kube-rbac-proxy:v1.1\": [\"quay.io/ruohe/kube-rbac-proxy1\", \"quay.io/ruohe/kube-rbac-proxy2\"],\n" +
            "\t\"quay.io/coreos/kube-rbac-proxy:/a+/\": \"quay.io/ruohe/kube-rbac-proxy\"\n" +
            "}\n";

        [Theory]
        [InlineData("images.yaml", SeedImagesYaml, "1,2,3,4,5,8")]
        [InlineData("images.json", SeedImagesJson, "2,3,4,5,6,7")]
        public void The_seed_images_file_parses(string name, string text, string lines)
        {
            var result = ImagesFile.Parse(text, name);
            Assert.Empty(result.Errors);
            Assert.Equal(new[] { SourceSelectorKind.AllTags, SourceSelectorKind.Tags, SourceSelectorKind.Tags, SourceSelectorKind.Digest, SourceSelectorKind.Tags, SourceSelectorKind.Regex },
                result.Rules.Select(r => r.Kind));
            Assert.Equal(lines.Split(',').Select(l => name + ":" + l), result.Rules.Select(r => r.Origin));
            Assert.Equal(new[] { 1, 1, 1, 1, 2, 1 }, result.Rules.Select(r => r.Targets.Count));
            Assert.Equal(name, result.Path);
        }

        [Fact]
        public void The_seed_KCR_example_parses()
        {
            var auth = AuthFile.Parse("registry.ksyunkcr.com:\n  username: zhouhanjing # KCR企业版仓库用户名\n  password: abcdef1234567 # KCR企业版仓库密码\nhub.kce.ksyun.com:\n  username: zhouhanjing #KCR个人版仓库用户名\n  password: 12345678 #KCR个人版仓库密码\n", "auth.yaml");
            Assert.Empty(auth.Errors);
            Assert.Equal(new[] { "registry.ksyunkcr.com", "hub.kce.ksyun.com" }, auth.Credentials.Select(c => c.Key));
            Assert.Equal("12345678", AuthFileTests.Reveal(auth.Credentials[1].Password));
            var images = ImagesFile.Parse("# KCR个人版仓库访问域名/命名空间/仓库 : KCR企业版仓库访问域名/命名空间/仓库\nhub.kce.ksyun.com/nszhj/repozhj: registry.ksyunkcr.com/namespace/repository\n", "images.yaml");
            Assert.Equal("hub.kce.ksyun.com/nszhj/repozhj:t -> registry.ksyunkcr.com/namespace/repository:t",
                images.Rules.Single().Expand(new[] { "t" }).Single().ToString());
        }

        [Theory]
        [InlineData("config.yaml", "auth:\n  quay.io:\n    username: u\n    password: p\nimages:\n  quay.io/a/b:v1: quay.io/c/d\nextra: 1\n", "ConfigUnknownKey@7:1")]
        [InlineData("config.json", "{\"auth\": {\"quay.io\": {\"username\": \"u\", \"password\": \"p\"}},\n \"images\": {\"quay.io/a/b:v1\": \"quay.io/c/d\"}, \"extra\": 1}", "ConfigUnknownKey@2:47")]
        public void Legacy_config_files_split_into_auth_and_images(string name, string text, string errors)
        {
            var result = LegacyConfigFile.Parse(text, name);
            Assert.Equal(errors, string.Join(" ", result.Errors.Select(e => $"{e.ErrorId}@{e.Line}:{e.Column}")));
            Assert.Equal("quay.io", result.Auth.Credentials.Single().Key);
            Assert.Equal("quay.io/a/b:v1 -> quay.io/c/d:v1", result.Images.Rules.Single().Expand(null).Single().ToString());
            Assert.Equal(ConfigSeverity.Warning, result.Errors.Single().Severity);
        }

        [Fact]
        public void Legacy_config_rule_errors_and_auth_errors_are_both_reported()
        {
            var result = LegacyConfigFile.Parse("images:\n  quay.io/a/b:v1,v2: quay.io/c/d:x\nauth:\n  r.io: 5\n", "c.yaml");
            Assert.Equal("AuthInvalidEntry@4:3 RuleTagCountMismatch@2:22", string.Join(" ", result.Errors.Select(e => $"{e.ErrorId}@{e.Line}:{e.Column}")));
            Assert.Empty(result.Images.Rules);
            Assert.Single(result.Images.Errors);
            Assert.Single(result.Auth.Errors);
        }

        [Fact]
        public void Files_load_from_disk_by_extension()
        {
            var dir = Path.Combine(Path.GetTempPath(), "ocisync-cfg-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                File.WriteAllText(Path.Combine(dir, "images.json"), SeedImagesJson);
                File.WriteAllText(Path.Combine(dir, "images.txt"), SeedImagesYaml);
                File.WriteAllText(Path.Combine(dir, "auth.yml"), "\uFEFF" + AuthFileTests.SeedAuthYaml);
                Assert.Equal(6, ImagesFile.Load(Path.Combine(dir, "images.json")).Rules.Count);
                Assert.Equal(6, ImagesFile.Load(Path.Combine(dir, "images.txt")).Rules.Count);
                Assert.Equal(4, AuthFile.Load(Path.Combine(dir, "auth.yml")).Credentials.Count);
            }
            finally { Directory.Delete(dir, true); }
        }
    }
}
