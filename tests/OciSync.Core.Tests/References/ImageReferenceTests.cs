using System;
using OciSync.Core.References;
using Xunit;

namespace OciSync.Core.Tests;

public sealed class ImageReferenceTests
{
    private const string D = "sha256:14b267eb38aa85fd12d0e168fffa2d8a6187ac53a14a0212b0d4fce8d729598c";

    [Theory]
    [InlineData("nginx", "docker.io", "library/nginx", null, null)]
    [InlineData("nginx:1.25", "docker.io", "library/nginx", "1.25", null)]
    [InlineData("bitnami/nginx", "docker.io", "bitnami/nginx", null, null)]
    [InlineData("bitnami/nginx:latest", "docker.io", "bitnami/nginx", "latest", null)]
    [InlineData("docker.io/nginx", "docker.io", "library/nginx", null, null)]
    [InlineData("index.docker.io/library/nginx", "docker.io", "library/nginx", null, null)]
    [InlineData("registry-1.docker.io/bitnami/redis", "docker.io", "bitnami/redis", null, null)]
    [InlineData("quay.io/coreos/kube-rbac-proxy:v1.0", "quay.io", "coreos/kube-rbac-proxy", "v1.0", null)]
    [InlineData("localhost/app", "localhost", "app", null, null)]
    [InlineData("localhost:5000/a/b/c:t", "localhost:5000", "a/b/c", "t", null)]
    [InlineData("127.0.0.1:5000/demo/app@" + D, "127.0.0.1:5000", "demo/app", null, D)]
    [InlineData("quay.io/x/y:v1@" + D, "quay.io", "x/y", "v1", D)]
    [InlineData("[::1]:5000/app", "[::1]:5000", "app", null, null)]
    public void Parses_and_normalises_like_docker_pull(string text, string registry, string repository, string? tag, string? digest)
    {
        var r = ImageReference.Parse(text);
        Assert.Equal(registry, r.Registry);
        Assert.Equal(repository, r.Repository);
        Assert.Equal(tag, r.Tag);
        Assert.Equal(digest, r.Digest?.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("UPPER/case")]
    [InlineData("quay.io/")]
    [InlineData("nginx:bad tag")]
    [InlineData("nginx@sha256:abc")]
    [InlineData("nginx@md5:" + "0123456789abcdef0123456789abcdef")]
    [InlineData("a//b")]
    public void Rejects_malformed_references_with_a_reason(string text)
    {
        Assert.False(ImageReference.TryParse(text, out _, out var problem));
        Assert.False(string.IsNullOrWhiteSpace(problem));
    }

    [Fact]
    public void Docker_hub_is_reached_at_registry_1()
    {
        Assert.Equal("registry-1.docker.io", ImageReference.Parse("nginx").EndpointHost);
        Assert.Equal("quay.io", ImageReference.Parse("quay.io/a/b").EndpointHost);
    }

    [Fact]
    public void With_copies_keep_the_repository()
    {
        var r = ImageReference.Parse("quay.io/a/b:v1");
        Assert.Equal("quay.io/a/b:v2", r.WithTag("v2").ToString());
        Assert.Equal("quay.io/a/b@" + D, r.WithDigest(Digest.Parse(D)).ToString());
        Assert.Equal("quay.io/a/b", r.AsRepository().ToString());
        Assert.Equal("v1", r.ApiReference);
    }
}
