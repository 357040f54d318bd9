using System;
using System.Collections.Generic;
using System.Linq;
using OciSync.Core.Configuration;
using Xunit;

namespace OciSync.Core.Tests.Configuration
{
    /// <summary>A password must never reach an error, an exception or a ToString, however broken the file.</summary>
    public class SecretLeakTests
    {
        private const string Canary = "Zq9CANARYpw7";

        public static IEnumerable<object[]> Documents()
        {
            var yaml = new[]
            {
                $"r.io:\n  username: u\n  password: \"{Canary}\n",
                $"r.io:\n  username: u\n  password: {Canary}: x\n",
                $"r.io:\n  password: '{Canary}' trailing\n",
                $"r.io:\n  password: {{{Canary}: 1}}\n",
                $"r.io:\n  password: [{Canary}]\n",
                $"r.io: {{username: u, {Canary}}}\n",
                $"r.io: {{username: u, password:{Canary}}}\n",
                $"r.io:\n  password: {Canary}\n   - x\n",
                $"r.io:\n  password: *{Canary}\n",
                $"r.io:\n  password: !{Canary} x\n",
                $"r.io:\n  password: {Canary}\n\tusername: u\n",
                $"{Canary}\n",
                $"r.io: {Canary}\n",
                $"r.io:\n  password: {Canary}\n  insecure: maybe-{Canary}\n",
                $"r.io:\n  password: {Canary}\n  password: {Canary}\n",
                $"r.io:\n  username: u\n  password: {Canary}\n  {Canary}: x\n",
                $"r.io:\n  password: \"{Canary}\\q\"\n",
                $"r.io:\n  password: {Canary}\n  username: [u\n",
                $"r.io:\n  password: |\n    {Canary}\n  x\n",
                $"{Canary}:\n  username: [\n",
                $"- {Canary}\n",
                $"r.io:\n  username: u\n  password: {Canary}\n",
                // Past the parser's limits, SecureString's length, an unset variable.
                $"r.io:\n  password: {new string('[', 70)}{Canary}\n",
                $"r.io:\n  password: {string.Concat(Enumerable.Repeat(Canary, 6000))}\n",
                $"r.io:\n  password: {string.Concat(Enumerable.Repeat(Canary, 25000))}\n",
                $"r.io:\n  password: ${Canary}\n",
                $"r.io:\n  password: \"${{{Canary}}}\"\n",
                $"a: &a [{Canary}, {Canary}, {Canary}, {Canary}, {Canary}, {Canary}, {Canary}, {Canary}]\n" + string.Concat(Enumerable.Range(1, 8).Select(i => $"a{i}: &a{i} [" + string.Join(", ", Enumerable.Repeat(i == 1 ? "*a" : $"*a{i - 1}", 8)) + "]\n")),
            };
            foreach (var d in yaml)
            {
                yield return new object[] { "auth.yaml", d };
                yield return new object[] { "config.yaml", "auth:\n" + string.Concat(d.Split('\n').Select(l => l.Length == 0 ? "\n" : "  " + l + "\n")) + "images: {}\n" };
            }
            var json = new[]
            {
                $"{{\"r.io\": {{\"password\": \"{Canary}\" \"x\"}}}}",
                $"{{\"r.io\": {{\"password\": \"{Canary}\",, }}}}",
                $"{{\"r.io\": {{\"password\": {{\"{Canary}\": 1}}}}}}",
                $"{{\"r.io\": {{\"password\": \"{Canary}\"}}",
                $"{{\"r.io\": {{\"password\": {Canary}}}}}",
                $"{{\"r.io\": {{\"password\": \"{Canary}\", \"{Canary}\": null}}}}",
                $"{{\"r.io\": \"{Canary}\"}}",
                $"[\"{Canary}\"]",
            };
            foreach (var d in json)
            {
                yield return new object[] { "auth.json", d };
                yield return new object[] { "config.json", "{\"auth\": " + d + ", \"images\": {}}" };
            }
        }

        [Theory]
        [MemberData(nameof(Documents))]
        public void The_canary_password_never_appears(string name, string text)
        {
            var seen = new List<string>();
            try
            {
                if (name.StartsWith("auth", StringComparison.Ordinal))
                {
                    var r = AuthFile.Parse(text, name);
                    seen.AddRange(r.Errors.SelectMany(e => new[] { e.Message, e.Detail, e.ToString(), e.Rule ?? "" }));
                    seen.AddRange(r.Credentials.Select(c => c.ToString() + " " + c.Key + " " + c.Origin + " " + c.Username));
                }
                else
                {
                    var r = LegacyConfigFile.Parse(text, name);
                    seen.AddRange(r.Errors.SelectMany(e => new[] { e.Message, e.Detail, e.ToString(), e.Rule ?? "" }));
                    seen.AddRange(r.Auth.Credentials.Select(c => c.ToString() + " " + c.Key + " " + c.Origin + " " + c.Username));
                }
            }
            catch (ConfigException e)
            {
                seen.Add(e.ToString());
                seen.Add(e.Error.ToString());
                Assert.Null(e.InnerException);
                Assert.True(e.Error.Line > 0 && e.Error.Column > 0, e.Message);
            }
            foreach (var s in seen)
                Assert.DoesNotContain("CANARYpw", s, StringComparison.OrdinalIgnoreCase);
        }

        [Fact]
        public void Images_files_keep_the_parsers_words_but_auth_files_do_not()
        {
            var images = Assert.Throws<ConfigException>(() => ImagesFile.Parse("a: [b\n", "i.yaml"));
            Assert.NotNull(images.InnerException);
            var auth = Assert.Throws<ConfigException>(() => AuthFile.Parse("a: [b\n", "a.yaml"));
            Assert.Equal("a.yaml:2:1: invalid YAML/JSON structure (the parser's details are withheld because this file holds credentials).", auth.Message);
        }
    }
}
