using System;
using System.Text;
using System.Text.RegularExpressions;
using OciSync.Core.References;
using Xunit;

namespace OciSync.Core.Tests;

/// <summary>
/// The hand-written grammar checks agree with the distribution reference grammar, written here as
/// regexes (the oracle), on chosen edge cases and on many random strings over the relevant alphabet.
/// </summary>
public sealed class NameGrammarTests
{
    private static readonly Regex Repository = new(@"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$");
    private static readonly Regex Tag = new(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$");
    private static readonly Regex Host = new(@"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$");
    private static readonly Regex HostLike = new(@"^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$");
    private static readonly Regex Algorithm = new(@"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$");
    private static readonly Regex Port = new(@":([0-9]+)$");

    /// <summary>The grammar's port is any digits; a registry host's must also be a URL's port, 1 to 65535.</summary>
    private static bool IsHost(string host)
    {
        if (!Host.IsMatch(host)) return false;
        var port = Port.Match(host);
        return !port.Success || (decimal.Parse(port.Groups[1].Value) is >= 1 and <= 65535);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("library/nginx")]
    [InlineData("a__b")]
    [InlineData("a___b")]
    [InlineData("a--b-c")]
    [InlineData("a._b")]
    [InlineData("a/b/")]
    [InlineData("/a")]
    [InlineData("a//b")]
    [InlineData("a.b_c__d---e/f0")]
    [InlineData("A/b")]
    [InlineData("a-")]
    [InlineData("-a")]
    public void Repository_paths_match_the_reference_grammar(string path) =>
        Assert.Equal(Repository.IsMatch(path), NameGrammar.IsRepositoryPath(path));

    [Theory]
    [InlineData("localhost")]
    [InlineData("localhost:5000")]
    [InlineData("127.0.0.1:5000")]
    [InlineData("quay.io")]
    [InlineData("my-registry.example.com:443")]
    [InlineData("-bad.io")]
    [InlineData("bad-.io")]
    [InlineData("a..b")]
    [InlineData("host:")]
    [InlineData("host:5x")]
    [InlineData("[::1]:5000")]
    [InlineData("[::1]")]
    [InlineData("[]")]
    [InlineData("[::1")]
    [InlineData("[::g]")]
    [InlineData("[::1]x")]
    [InlineData(".io")]
    [InlineData("io.")]
    [InlineData("127.0.0.1:99999")]
    [InlineData("host:0")]
    [InlineData("host:00000")]
    [InlineData("host:1")]
    [InlineData("host:65535")]
    [InlineData("host:65536")]
    [InlineData("host:0000080")]
    [InlineData("host:99999999999999999999999")]
    [InlineData("[::1]:65536")]
    [InlineData("[::1]:443")]
    public void Registry_hosts_match_the_reference_grammar(string host)
    {
        Assert.Equal(IsHost(host), NameGrammar.IsRegistryHost(host));
        Assert.Equal(HostLike.IsMatch(host), NameGrammar.IsHostLike(host));
    }

    [Fact]
    public void Random_strings_get_the_same_verdict_as_the_grammar()
    {
        var random = new Random(20261127);
        for (int n = 0; n < 20000; n++)
        {
            var repository = RandomText(random, "ab0/._-", 10);
            Assert.True(Repository.IsMatch(repository) == NameGrammar.IsRepositoryPath(repository), $"repository '{repository}'");
            var host = RandomText(random, "aZ9.-:[]1f", 10);
            Assert.True(IsHost(host) == NameGrammar.IsRegistryHost(host), $"host '{host}'");
            Assert.True(HostLike.IsMatch(host) == NameGrammar.IsHostLike(host), $"host-like '{host}'");
            var tag = RandomText(random, "aZ9_.-/", 6);
            Assert.True(Tag.IsMatch(tag) == NameGrammar.IsTag(tag), $"tag '{tag}'");
            var algorithm = RandomText(random, "a2.+_-:", 6);
            Assert.True(Algorithm.IsMatch(algorithm) == NameGrammar.IsDigestAlgorithm(algorithm), $"algorithm '{algorithm}'");
        }
    }

    [Fact]
    public void Random_ports_get_the_same_verdict_as_the_grammar_and_URLs()
    {
        var random = new Random(20261128);
        for (int n = 0; n < 20000; n++)
        {
            var digits = RandomText(random, "0123456789", 7);
            foreach (var host in new[] { "h.io:" + digits, "[::1]:" + digits })
            {
                Assert.True(IsHost(host) == NameGrammar.IsRegistryHost(host), $"host '{host}'");
                Assert.True(HostLike.IsMatch(host) == NameGrammar.IsHostLike(host), $"host-like '{host}'");
                // What the grammar accepts, a URL accepts with the same port.
                if (NameGrammar.IsRegistryHost(host))
                    Assert.Equal(int.Parse(digits), new Uri("https://" + host + "/v2/").Port);
            }
        }
    }

    [Theory]
    [InlineData("127.0.0.1:99999/app")]
    [InlineData("localhost:0/app:v1")]
    [InlineData("[::1]:70000/a/b")]
    public void A_reference_with_a_port_out_of_range_is_rejected(string text)
    {
        Assert.False(ImageReference.TryParse(text, out _, out var problem));
        Assert.Contains("is not a valid registry host", problem);
    }

    [Fact]
    public void Tags_are_at_most_128_characters()
    {
        Assert.True(NameGrammar.IsTag(new string('a', 128)));
        Assert.False(NameGrammar.IsTag(new string('a', 129)));
        Assert.False(NameGrammar.IsTag(""));
    }

    [Theory]
    [InlineData("sha256:abc", "is not a valid sha256 digest")]
    [InlineData("sha256", "is not a digest")]
    [InlineData("sha256:", "is not a digest")]
    [InlineData(":abc", "is not a digest")]
    [InlineData("sha256:ab:cd", "is not a digest")]
    [InlineData("md5:abcdef", "is not supported")]
    [InlineData("SHA256:abc", "is not a digest")]
    public void Malformed_digests_say_what_is_wrong(string text, string problem)
    {
        Assert.False(Digest.TryParse(text, out _, out var message));
        Assert.Contains(problem, message);
    }

    private static string RandomText(Random random, string alphabet, int maxLength)
    {
        var sb = new StringBuilder();
        var length = random.Next(0, maxLength + 1);
        for (int i = 0; i < length; i++) sb.Append(alphabet[random.Next(alphabet.Length)]);
        return sb.ToString();
    }
}
