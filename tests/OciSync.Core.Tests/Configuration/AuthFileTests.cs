using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;
using Xunit;

namespace OciSync.Core.Tests.Configuration
{
    public class AuthFileTests
    {
        internal static string Reveal(SecureString? s)
        {
            if (s == null) return "<null>";
            var p = Marshal.SecureStringToGlobalAllocUnicode(s);
            try { return Marshal.PtrToStringUni(p) ?? ""; }
            finally { Marshal.ZeroFreeGlobalAllocUnicode(p); }
        }

        private static Func<string, string?> Env(params string[] kv)
        {
            var d = new Dictionary<string, string>();
            for (int i = 0; i < kv.Length; i += 2) d[kv[i]] = kv[i + 1];
            return n => d.TryGetValue(n, out var v) ? v : null;
        }

        /// <summary>The seed document's auth.yaml with its indentation restored and its comments kept.</summary>
        internal const string SeedAuthYaml =
            "quay.io: #支持 \"registry\" 和 \"registry/namespace\"(v1.0.3之后的版本) 的形式\n" +
            "  username: xxx\n" +
            "  password: xxxxxxxxx\n" +
            "  insecure: true # 可选,(v1.0.1 之后支持)registry是否是http服务\n" +
            "registry.ksyunkcr.com:\n" +
            "  username: xxx # 可选,(v1.3.1 之后支持)\n" +
            "  password: xxxxxxxxx # 可选\n" +
            "docker.io:\n" +
            "  username: \"${env}\"\n" +
            "  password: \"$env\"\n" +
            "quay.io/coreos:\n" +
            "  username: abc\n" +
            "  password: xxxxxxxxx\n" +
            "  insecure: true\n";

        internal const string SeedAuthJson =
            "{\n" +
            "  \"quay.io\": {\"username\": \"xxx\", \"password\": \"xxxxxxxxx\", \"insecure\": true},\n" +
            "  \"registry.ksyunkcr.com\": {\"username\": \"xxx\", \"password\": \"xxxxxxxxx\"},\n" +
            "  \"docker.io\": {\"username\": \"${env}\", \"password\": \"$env\"},\n" +
            "  \"quay.io/coreos\": {\"username\": \"abc\", \"password\": \"xxxxxxxxx\", \"insecure\": \"true\"}\n" +
            "}\n";

        [Theory]
        [InlineData("auth.yaml", SeedAuthYaml, "1,5,8,11")]
        [InlineData("auth.json", SeedAuthJson, "2,3,4,5")]
        public void The_seed_auth_file_parses(string name, string text, string lines)
        {
            var result = AuthFile.Parse(text, name, Env("env", "from-env"));
            Assert.Empty(result.Errors);
            Assert.Equal(
                new[] { "quay.io|xxx|xxxxxxxxx|True", "registry.ksyunkcr.com|xxx|xxxxxxxxx|False", "docker.io|from-env|from-env|False", "quay.io/coreos|abc|xxxxxxxxx|True" },
                result.Credentials.Select(c => $"{c.Key}|{c.Username}|{Reveal(c.Password)}|{c.Insecure}"));
            Assert.Equal(lines.Split(',').Select(l => name + ":" + l), result.Credentials.Select(c => c.Origin));
        }

        [Theory]
        [InlineData("a.yaml", "r.example.com:\n  username: ${U}\n  password: $P\n", "user-1|pw-1")]
        [InlineData("a.json", "{\"r.example.com\": {\"username\": \"${U}\", \"password\": \"$P\"}}", "user-1|pw-1")]
        [InlineData("a.yaml", "r.example.com:\n  username: ${NOPE}\n  password: $NOPE\n", "|")]
        [InlineData("a.yaml", "r.example.com:\n  username: pre-${U}-post\n  password: '$$P'\n", "pre-user-1-post|$pw-1")]
        public void Username_and_password_expand_the_environment(string name, string text, string expected)
        {
            var c = AuthFile.Parse(text, name, Env("U", "user-1", "P", "pw-1")).Credentials.Single();
            Assert.Equal(expected, (c.Username ?? "") + "|" + Reveal(c.Password));
            Assert.Equal(expected == "|", c.IsAnonymous);
        }

        [Theory]
        [InlineData("a.yaml", "r.io:\n  username: ${DOCKER_USER}\n  password: \"$DOCKER_PASS\"\n",
            "AuthVariableUnset@2:13 'username' of the entry for 'r.io' uses the environment variable 'DOCKER_USER'|AuthVariableUnset@3:13 'password' of the entry for 'r.io' uses the environment variable 'DOCKER_PASS'")]
        [InlineData("a.json", "{\"r.io\": {\"username\": \"u\", \"password\": \"${P}-${NOPE}-${NOPE}\"}}",
            "AuthVariableUnset@1:40 'password' of the entry for 'r.io' uses the environment variable 'NOPE'")]
        [InlineData("c.yaml", "auth:\n  r.io:\n    password: $NOPE_1\n",
            "AuthVariableUnset@3:15 'password' of the entry for 'r.io' uses the environment variable 'NOPE_1'")]
        [InlineData("a.yaml", "r.io:\n  username: u\n  password: $Zq9CANARYpw7\n",
            "AuthVariableUnset@3:13 'password' of the entry for 'r.io' uses an environment variable (not named")]
        [InlineData("a.yaml", "r.io:\n  username: ${U}\n  password: $P$$\n", "")]
        public void An_unset_variable_is_a_warning_and_the_entry_is_kept(string name, string text, string expected)
        {
            var env = Env("U", "user-1", "P", "pw-1");
            var result = name.StartsWith("c.") ? LegacyConfigFile.Parse(text, name, new RuleOptions { GetEnvironmentVariable = env }).Auth : AuthFile.Parse(text, name, env);
            Assert.Equal("r.io", result.Credentials.Single().Key);
            var shown = result.Errors.Select(e => $"{e.ErrorId}@{e.Line}:{e.Column} " + e.Message.Substring($"{name}:{e.Line}:{e.Column}: ".Length)).ToList();
            Assert.Equal(expected.Length == 0 ? 0 : expected.Split('|').Length, shown.Count);
            foreach (var (want, got) in (expected.Length == 0 ? new string[0] : expected.Split('|')).Zip(shown))
                Assert.StartsWith(want, got);
            foreach (var e in result.Errors)
            {
                Assert.Equal(ConfigSeverity.Warning, e.Severity);
                Assert.EndsWith("which is not set; it expands to an empty string.", e.Message);
                Assert.DoesNotContain("CANARY", e.Message);
                Assert.DoesNotContain("pw-1", e.Message);
            }
        }

        [Fact]
        public void The_process_environment_is_the_default()
        {
            var name = "OCISYNC_TEST_AUTH_" + Guid.NewGuid().ToString("N");
            Environment.SetEnvironmentVariable(name, "env-user");
            try
            {
                var c = AuthFile.Parse($"r.example.com:\n  username: ${{{name}}}\n  password: p\n", "a.yaml").Credentials.Single();
                Assert.Equal("env-user", c.Username);
            }
            finally { Environment.SetEnvironmentVariable(name, null); }
        }

        [Theory]
        [InlineData("https://index.docker.io/v1/", "docker.io")]
        [InlineData("index.docker.io", "docker.io")]
        [InlineData("registry-1.docker.io/library", "docker.io/library")]
        [InlineData("Quay.IO/coreos/", "quay.io/coreos")]
        [InlineData("localhost:5000", "localhost:5000")]
        public void Keys_are_normalised(string key, string expected)
        {
            foreach (var (name, text) in new[] { ("a.yaml", $"\"{key}\":\n  username: u\n  password: p\n"), ("a.json", $"{{\"{key}\": {{\"username\": \"u\", \"password\": \"p\"}}}}") })
                Assert.Equal(name + ":" + expected, name + ":" + AuthFile.Parse(text, name).Credentials.Single().Key);
        }

        [Theory]
        // insecure spellings
        [InlineData("a.yaml", "r.io:\n  insecure: \"true\"\n", "", "r.io:True")]
        [InlineData("a.yaml", "r.io:\n  insecure: False\n", "", "r.io:False")]
        [InlineData("a.json", "{\"r.io\": {\"insecure\": false}}", "", "r.io:False")]
        [InlineData("a.yaml", "r.io:\n  insecure: yes\n", "AuthInvalidEntry@2:13", "")]
        [InlineData("a.json", "{\"r.io\": {\"insecure\": [true]}}", "AuthInvalidEntry@1:23", "")]
        // unknown keys are warnings; the entry is still used
        [InlineData("a.yaml", "r.io:\n  username: u\n  email: e@x\n", "ConfigUnknownKey@3:3", "r.io:False")]
        [InlineData("a.json", "{\"r.io\": {\"username\": \"u\", \"identitytoken\": \"t\"}}", "ConfigUnknownKey@1:28", "r.io:False")]
        // broken entries are dropped, the others kept
        [InlineData("a.yaml", "r.io:\n  password: {a: b}\ns.io:\n  username: u\n", "AuthInvalidEntry@2:13", "s.io:False")]
        [InlineData("a.yaml", "r.io: just-a-string\ns.io:\n  username: u\n", "AuthInvalidEntry@1:1", "s.io:False")]
        [InlineData("a.yaml", "r.io:\ns.io:\n  username: u\n", "AuthInvalidEntry@1:1", "s.io:False")]
        [InlineData("a.json", "{\"r.io\": [\"u\", \"p\"], \"s.io\": {}}", "AuthInvalidEntry@1:2", "s.io:False")]
        [InlineData("a.yaml", "r.io:\n  username: u\n  username: v\n", "AuthInvalidEntry@3:3", "")]
        [InlineData("a.yaml", "\"\":\n  username: u\n", "AuthInvalidEntry@1:1", "")]
        // a repeated key: warning, both returned, the store keeps the later
        [InlineData("a.yaml", "r.io:\n  username: u\nr.io:\n  username: v\n", "AuthDuplicateKey@3:1", "r.io:False r.io:False")]
        public void Entry_problems(string name, string text, string errors, string credentials)
        {
            var result = AuthFile.Parse(text, name);
            Assert.Equal(errors, string.Join(" ", result.Errors.Select(e => $"{e.ErrorId}@{e.Line}:{e.Column}")));
            Assert.Equal(credentials, string.Join(" ", result.Credentials.Select(c => $"{c.Key}:{c.Insecure}")));
            foreach (var e in result.Errors)
            {
                Assert.Equal(e.ErrorId == ConfigErrorIds.ConfigUnknownKey || e.ErrorId == ConfigErrorIds.AuthDuplicateKey ? ConfigSeverity.Warning : ConfigSeverity.Error, e.Severity);
                Assert.StartsWith($"{name}:{e.Line}:{e.Column}: ", e.Message);
            }
        }

        [Theory]
        [InlineData("a.yaml", "password", 66_560, "", "AuthInvalidEntry@5:13")]
        [InlineData("a.json", "password", 65_537, "", "AuthInvalidEntry@3:40")]
        [InlineData("a.yaml", "username", 100_000, "", "AuthInvalidEntry@5:13")]
        [InlineData("a.yaml", "password", 40_000, "$BIG$BIG", "AuthInvalidEntry@5:13")]
        public void A_too_long_username_or_password_drops_only_its_entry(string name, string field, int length, string written, string error)
        {
            // SecureString holds 65,536 characters; the 65,537th used to throw ArgumentOutOfRangeException for the whole file.
            var canary = "Zq9CANARYpw7";
            var value = written.Length > 0 ? written : string.Concat(Enumerable.Repeat(canary, length / canary.Length + 1)).Substring(0, length);
            var text = name.EndsWith(".json")
                ? "{\"a.io\": {\"username\": \"u\", \"password\": \"p\"},\n" +
                  " \"b.io\": {\"username\": \"u\", \"password\": \"p\"},\n" +
                  $" \"c.io\": {{\"username\": \"u\", \"{field}\": \"{value}\"}},\n" +
                  " \"d.io\": {\"username\": \"u\", \"password\": \"p\"}}\n"
                : $"a.io:\n  username: u\n  password: p\nc.io:\n  {field}: {value}\nd.io:\n  username: u\n  password: p\n";
            var result = AuthFile.Parse(text, name, Env("BIG", string.Concat(Enumerable.Repeat(canary, 40_000 / canary.Length + 1))));
            Assert.Equal(error, string.Join(" ", result.Errors.Select(e => $"{e.ErrorId}@{e.Line}:{e.Column}")));
            Assert.Equal(name.EndsWith(".json") ? "a.io b.io d.io" : "a.io d.io", string.Join(" ", result.Credentials.Select(c => c.Key)));
            var message = result.Errors.Single().Message;
            Assert.Contains($"'{field}' of the entry for 'c.io' has", message);
            Assert.DoesNotContain(canary, message);
            Assert.True(message.Length < 300, message);
        }

        [Fact]
        public void A_SecureString_takes_65_536_characters_and_says_so_beyond()
        {
            Assert.Equal(65_536, RegistryCredential.ToSecureString(new string('x', 65_536)).Length);
            var e = Assert.Throws<ArgumentException>(() => RegistryCredential.ToSecureString(new string('x', 65_537)));
            Assert.StartsWith("A password can have at most 65536 characters; this one has 65537.", e.Message);
        }

        [Fact]
        public void Unknown_key_message_names_the_key()
        {
            var e = AuthFile.Parse("r.io:\n  username: u\n  email: e@x\n", "a.yaml").Errors.Single();
            Assert.Equal("a.yaml:3:3: unknown key 'email' in the entry for 'r.io' (known: username, password, insecure, caFile, certFile, keyFile, maxConcurrency, requestsPerSecond); it is ignored and the entry is still used.", e.Message);
            Assert.Equal("warning ConfigUnknownKey: " + e.Message, e.ToString());
        }

        [Theory]
        [InlineData("a.yaml", "- a\n- b\n")]
        [InlineData("a.json", "\"x\"")]
        public void A_root_that_is_not_a_map_throws(string name, string text)
        {
            var e = Assert.Throws<ConfigException>(() => AuthFile.Parse(text, name));
            Assert.Equal(ConfigErrorIds.ConfigSyntaxError, e.ErrorId);
            Assert.Equal((1, 1), (e.Error.Line, e.Error.Column));
        }

        [Fact]
        public void Credentials_feed_a_store()
        {
            var store = new CredentialStore(AuthFile.Parse(SeedAuthYaml, "auth.yaml", Env("env", "hub")).Credentials);
            Assert.Equal("quay.io/coreos", store.Find(References.ImageReference.Parse("quay.io/coreos/kube-rbac-proxy:v1"))!.Key);
            Assert.Equal("quay.io", store.Find(References.ImageReference.Parse("quay.io/other/x"))!.Key);
            Assert.Equal("hub", store.Find(References.ImageReference.Parse("nginx"))!.Username);
            Assert.Null(store.Find(References.ImageReference.Parse("ghcr.io/a/b")));
        }
    }
}
