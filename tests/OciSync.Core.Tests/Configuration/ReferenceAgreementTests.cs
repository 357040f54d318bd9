using System.Linq;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using Xunit;

namespace OciSync.Core.Tests.Configuration;

/// <summary>A rule's source and the same text as a reference name the same image: one grammar for where the registry ends.</summary>
public sealed class ReferenceAgreementTests
{
    [Theory]
    [InlineData("localhost/app:v1")]
    [InlineData("localhostx/app:v1")]
    [InlineData("localhost:5000/app:v1")]
    [InlineData("nginx:1.27")]
    [InlineData("library/nginx:1")]
    [InlineData("quay.io/coreos/etcd:v3.5.0")]
    [InlineData("[::1]:5000/team/app:v2")]
    [InlineData("oci:5000/team/app:1.0")]
    [InlineData("oci:/media/usb/mirror:v1")]
    [InlineData("oci-archive:/media/usb/mirror.tar:v1")]
    public void A_rule_source_and_a_reference_agree(string text)
    {
        var reference = ImageReference.Parse(text);
        var pair = SyncRule.Create(text, new[] { "registry.example.com/mirror/x" }).Expand(null).Single();
        Assert.Equal(reference.ToString(), pair.Source.ToString());
        Assert.Equal(reference.IsRegistry, pair.Source.IsRegistry);
    }
}
