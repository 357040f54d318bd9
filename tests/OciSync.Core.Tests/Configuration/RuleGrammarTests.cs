using System;
using System.Collections.Generic;
using System.Linq;
using OciSync.Core.Configuration;
using Xunit;

namespace OciSync.Core.Tests.Configuration
{
    public class RuleGrammarTests
    {
        internal const string D1 = "sha256:14b267eb38aa85fd12d0e168fffa2d8a6187ac53a14a0212b0d4fce8d729598c";
        internal const string D2 = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
        private const string Src = "quay.io/coreos/kube-rbac-proxy";

        /// <summary>"DefaultRegistry=x;DefaultNamespace=y;VAR=value" → options with a private environment.</summary>
        internal static RuleOptions Options(string? spec)
        {
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            var options = new RuleOptions { GetEnvironmentVariable = n => env.TryGetValue(n, out var v) ? v : null };
            if (spec == null) return options;
            foreach (var item in spec.Split(';'))
            {
                var eq = item.IndexOf('=');
                var name = item.Substring(0, eq);
                var value = item.Substring(eq + 1);
                if (name == "DefaultRegistry") options.DefaultRegistry = value;
                else if (name == "DefaultNamespace") options.DefaultNamespace = value;
                else env[name] = value;
            }
            return options;
        }

        [Theory]
        // all tags
        [InlineData(Src, "registry.example.com/ns/repo", "v1,v2", null,
            "quay.io/coreos/kube-rbac-proxy:v1 -> registry.example.com/ns/repo:v1 ; quay.io/coreos/kube-rbac-proxy:v2 -> registry.example.com/ns/repo:v2")]
        [InlineData(Src, "registry.example.com/ns/repo", "a,a,b", null,
            "quay.io/coreos/kube-rbac-proxy:a -> registry.example.com/ns/repo:a ; quay.io/coreos/kube-rbac-proxy:b -> registry.example.com/ns/repo:b")]
        [InlineData(Src, "registry.example.com/ns/repo", "", null, "")]
        // one tag, kept
        [InlineData(Src + ":v1.0", "quay.io/ruohe/kube-rbac-proxy", null, null, "quay.io/coreos/kube-rbac-proxy:v1.0 -> quay.io/ruohe/kube-rbac-proxy:v1.0")]
        // several tags
        [InlineData(Src + ":v1.0,v2.0", "quay.io/ruohe/kube-rbac-proxy", null, null,
            "quay.io/coreos/kube-rbac-proxy:v1.0 -> quay.io/ruohe/kube-rbac-proxy:v1.0 ; quay.io/coreos/kube-rbac-proxy:v2.0 -> quay.io/ruohe/kube-rbac-proxy:v2.0")]
        // by digest, kept
        [InlineData(Src + "@" + D1, "quay.io/ruohe/kube-rbac-proxy", null, null,
            "quay.io/coreos/kube-rbac-proxy@" + D1 + " -> quay.io/ruohe/kube-rbac-proxy@" + D1)]
        // digest with the same digest on the destination
        [InlineData(Src + "@" + D1, "quay.io/ruohe/x@" + D1, null, null, "quay.io/coreos/kube-rbac-proxy@" + D1 + " -> quay.io/ruohe/x@" + D1)]
        // digest to one tag
        [InlineData(Src + "@" + D1, "quay.io/ruohe/x:pinned", null, null, "quay.io/coreos/kube-rbac-proxy@" + D1 + " -> quay.io/ruohe/x:pinned")]
        // several destinations
        [InlineData(Src + ":v1.1", "quay.io/ruohe/kube-rbac-proxy1|quay.io/ruohe/kube-rbac-proxy2", null, null,
            "quay.io/coreos/kube-rbac-proxy:v1.1 -> quay.io/ruohe/kube-rbac-proxy1:v1.1 ; quay.io/coreos/kube-rbac-proxy:v1.1 -> quay.io/ruohe/kube-rbac-proxy2:v1.1")]
        // regex, unanchored
        [InlineData(Src + ":/a+/", "quay.io/ruohe/kube-rbac-proxy", "v1,alpha,beta,1.0", null,
            "quay.io/coreos/kube-rbac-proxy:alpha -> quay.io/ruohe/kube-rbac-proxy:alpha ; quay.io/coreos/kube-rbac-proxy:beta -> quay.io/ruohe/kube-rbac-proxy:beta")]
        // regex with a comma and anchors written by the user
        [InlineData(Src + ":/^v[0-9]{1,2}$/", "quay.io/r/x", "v1,v10,v100,xv1", null,
            "quay.io/coreos/kube-rbac-proxy:v1 -> quay.io/r/x:v1 ; quay.io/coreos/kube-rbac-proxy:v10 -> quay.io/r/x:v10")]
        // tags mapped left to right
        [InlineData(Src + ":v1,v2", "quay.io/r/x:x1,x2", null, null,
            "quay.io/coreos/kube-rbac-proxy:v1 -> quay.io/r/x:x1 ; quay.io/coreos/kube-rbac-proxy:v2 -> quay.io/r/x:x2")]
        [InlineData(Src + ":v1", "quay.io/r/x:latest", null, null, "quay.io/coreos/kube-rbac-proxy:v1 -> quay.io/r/x:latest")]
        // Docker Hub short names
        [InlineData("nginx:1.25", "bitnami/nginx", null, null, "docker.io/library/nginx:1.25 -> docker.io/bitnami/nginx:1.25")]
        [InlineData("bitnami/nginx:1", "localhost:5000/mirror/nginx", null, null, "docker.io/bitnami/nginx:1 -> localhost:5000/mirror/nginx:1")]
        [InlineData("localhost:5000/a/b:v1", "127.0.0.1:5001/c", null, null, "localhost:5000/a/b:v1 -> 127.0.0.1:5001/c:v1")]
        // duplicates dropped after normalisation
        [InlineData("nginx:1", "bitnami/nginx|docker.io/bitnami/nginx|index.docker.io/bitnami/nginx|quay.io/b/nginx", null, null,
            "docker.io/library/nginx:1 -> docker.io/bitnami/nginx:1 ; docker.io/library/nginx:1 -> quay.io/b/nginx:1")]
        // environment in destinations
        [InlineData("nginx:1", "${REG}/ns/$REPO", null, "REG=r.example.com;REPO=app", "docker.io/library/nginx:1 -> r.example.com/ns/app:1")]
        [InlineData("nginx:1", "r.example.com/ns${UNSET}/app", null, "REG=x", "docker.io/library/nginx:1 -> r.example.com/ns/app:1")]
        // empty destination → default registry/namespace, from options or environment (option wins)
        [InlineData(Src + ":v1", null, null, "DefaultRegistry=reg.example.com;DefaultNamespace=mirror", "quay.io/coreos/kube-rbac-proxy:v1 -> reg.example.com/mirror/kube-rbac-proxy:v1")]
        [InlineData(Src + ":v1", "", null, "DEFAULT_REGISTRY=env.example.com;DEFAULT_NAMESPACE=envns", "quay.io/coreos/kube-rbac-proxy:v1 -> env.example.com/envns/kube-rbac-proxy:v1")]
        [InlineData(Src + ":v1", "[]", null, "DefaultRegistry=opt.example.com;DEFAULT_REGISTRY=env.example.com;DEFAULT_NAMESPACE=envns", "quay.io/coreos/kube-rbac-proxy:v1 -> opt.example.com/envns/kube-rbac-proxy:v1")]
        [InlineData(Src, null, "t1", "DefaultRegistry=localhost:5000;DefaultNamespace=a/b", "quay.io/coreos/kube-rbac-proxy:t1 -> localhost:5000/a/b/kube-rbac-proxy:t1")]
        public void Valid_rules_expand_to_the_expected_pairs(string source, string? destination, string? listed, string? options, string expected)
        {
            foreach (var form in RuleFixture.Forms)
            {
                var (rule, error) = RuleFixture.Build(form, source, destination, Options(options));
                Assert.True(error == null, $"{form}: {error}");
                var tags = listed == null ? null : RuleFixture.Split(listed);
                var pairs = rule!.Expand(tags).Select(p => p.ToString());
                Assert.Equal(form + ": " + expected, form + ": " + string.Join(" ; ", pairs));
                Assert.Equal(source, rule.Source);
            }
        }

        [Theory]
        [InlineData(Src, SourceSelectorKind.AllTags, "", null, null, true)]
        [InlineData(Src + ":v1,v2", SourceSelectorKind.Tags, "v1,v2", null, null, false)]
        [InlineData(Src + "@" + D1, SourceSelectorKind.Digest, "", D1, null, false)]
        [InlineData(Src + ":/a+/", SourceSelectorKind.Regex, "", null, "a+", true)]
        [InlineData("nginx", SourceSelectorKind.AllTags, "", null, null, true)]
        public void The_source_selector_is_classified(string source, SourceSelectorKind kind, string tags, string? digest, string? regex, bool needsTagList)
        {
            foreach (var form in RuleFixture.Forms)
            {
                var (rule, error) = RuleFixture.Build(form, source, "quay.io/r/x", null);
                Assert.True(error == null, $"{form}: {error}");
                Assert.Equal(kind, rule!.Kind);
                Assert.Equal(RuleFixture.Split(tags), rule.SourceTags.ToArray());
                Assert.Equal(digest, rule.SourceDigest?.ToString());
                Assert.Equal(regex, rule.TagPattern?.ToString());
                Assert.Equal(needsTagList, rule.NeedsTagList);
                Assert.Null(rule.SourceRepository.Tag);
                Assert.Null(rule.SourceRepository.Digest);
            }
        }

        [Fact]
        public void Rule_properties_show_expanded_deduplicated_destinations()
        {
            var rule = SyncRule.Create("nginx:1", new[] { "bitnami/nginx", "docker.io/bitnami/nginx", "$R/x/y" }, Options("R=r.example.com"));
            Assert.Equal(new[] { "bitnami/nginx", "r.example.com/x/y" }, rule.Destinations);
            Assert.Equal(new[] { "docker.io/bitnami/nginx", "r.example.com/x/y" }, rule.Targets.Select(t => t.Repository.ToString()));
            Assert.Equal("docker.io/library/nginx", rule.SourceRepository.ToString());
            Assert.Equal("nginx:1 -> bitnami/nginx, r.example.com/x/y", rule.ToString());
            Assert.Null(rule.Origin);
        }

        [Fact]
        public void Source_keys_are_not_expanded()
        {
            var (rule, error) = RuleFixture.Build("create", "quay.io/a/$X", "quay.io/b/c", Options("X=y"));
            Assert.Null(rule);
            Assert.Equal(ConfigErrorIds.RuleInvalidReference, error!.ErrorId);
        }

        [Fact]
        public void Expand_requires_the_tag_list_for_all_tags_and_regex_rules_and_ignores_it_otherwise()
        {
            var all = SyncRule.Create(Src, new[] { "quay.io/r/x" });
            Assert.Throws<ArgumentNullException>(() => all.Expand(null));
            var tagged = SyncRule.Create(Src + ":v1", new[] { "quay.io/r/x" });
            Assert.Equal(new[] { "quay.io/coreos/kube-rbac-proxy:v1 -> quay.io/r/x:v1" }, tagged.Expand(new[] { "other" }).Select(p => p.ToString()));
            Assert.Equal(tagged.ToString(), tagged.Expand(null).Single().Rule); // the rule text, as results and files name it
        }

        [Fact]
        public void Real_process_environment_is_the_default()
        {
            var name = "OCISYNC_TEST_DEST_" + Guid.NewGuid().ToString("N");
            Environment.SetEnvironmentVariable(name, "env.example.com");
            try
            {
                var rule = SyncRule.Create("nginx:1", new[] { "${" + name + "}/ns/app" });
                Assert.Equal("env.example.com/ns/app:1", rule.Expand(null).Single().Destination.ToString());
            }
            finally { Environment.SetEnvironmentVariable(name, null); }
        }

        [Theory]
        [InlineData("plain", "plain")]
        [InlineData("a$", "a$")]
        [InlineData("$1x", "$1x")]
        [InlineData("${A}-${B}", "va-")]
        [InlineData("$A$A", "vava")]
        [InlineData("${A", "${A")]
        [InlineData("x${A}y$A.z", "xvayva.z")]
        [InlineData("${}", "${}")]
        public void Environment_expansion(string text, string expected)
        {
            Assert.Equal(expected, EnvironmentExpander.Expand(text, n => n == "A" ? "va" : null));
        }
    }
}
