using System;
using System.IO;
using System.Linq;
using OciSync.Core.Configuration;
using OciSync.Core.References;
using Xunit;

namespace OciSync.Core.Tests.Configuration;

/// <summary><c>oci:PATH[:TAG]</c> in references, rules and images files, as skopeo spells an OCI layout.</summary>
public sealed class LayoutGrammarTests
{
    private static readonly string Digest64 = "sha256:" + new string('a', 64);

    [Theory]
    [InlineData("oci:/media/usb/mirror", "/media/usb/mirror", null, false)]
    [InlineData("oci:/media/usb/mirror:v1.0", "/media/usb/mirror", "v1.0", false)]
    [InlineData("oci:relative/dir:latest", "relative/dir", "latest", false)]
    [InlineData("oci:/m@DIGEST", "/m", null, true)]
    [InlineData("oci:C:/Users/me/mirror:v1", "C:/Users/me/mirror", "v1", false)]
    public void A_layout_reference_names_its_directory_and_tag(string text, string path, string? tag, bool byDigest)
    {
        var reference = ImageReference.Parse(text.Replace("DIGEST", Digest64));
        Assert.True(reference.IsLayout);
        Assert.Equal(path, reference.LocalPath);
        Assert.Equal(tag, reference.Tag);
        Assert.Equal(byDigest ? Digest64 : null, reference.Digest?.ToString());
        Assert.Equal(text.Replace("DIGEST", Digest64), reference.ToString()); // written back as read
        Assert.Equal("oci:" + path, reference.RepositoryName);
    }

    [Theory]
    [InlineData("oci:")]
    [InlineData("oci::v1")]
    [InlineData("oci:/m:-bad")]
    [InlineData("oci:/m@sha256:short")]
    [InlineData("oci:/backups/app@2024:/^v/")]
    public void A_broken_layout_reference_is_refused(string text) => Assert.False(ImageReference.TryParse(text, out _));

    [Fact]
    public void A_registry_called_oci_with_a_port_is_still_a_registry()
    {
        var reference = ImageReference.Parse("oci:5000/team/app:1.0");
        Assert.True(reference.IsRegistry);
        Assert.Equal("oci:5000", reference.Registry);
        Assert.True(ImageReference.Parse("oci:./5000/team").IsLayout);
    }

    [Theory]
    [InlineData("oci:localhost:5000/app:v1")]
    [InlineData("oci:/mnt/usb:8080/foo")]
    // Before: read as the layout /backups/app with the regex /^v/ (the wrong directory), and the digest dropped.
    [InlineData("oci:/backups/app@2024:/^v/")]
    [InlineData("oci:/m@sha256:14b267eb38aa85fd12d0e168fffa2d8a6187ac53a14a0212b0d4fce8d729598c:/^v/")]
    public void A_layout_path_with_a_colon_is_refused_rather_than_cut(string source)
    {
        var e = Assert.Throws<RuleException>(() => SyncRule.Create(source, new[] { "registry.example.com/app" }));
        Assert.Equal(ConfigErrorIds.RuleInvalidReference, e.Error.ErrorId);
        var d = Assert.Throws<RuleException>(() => SyncRule.Create("registry.example.com/app:v1", new[] { source }));
        Assert.Equal(ConfigErrorIds.RuleInvalidReference, d.Error.ErrorId);
    }

    [Fact]
    public void Rules_take_layouts_on_either_side_with_the_usual_selectors_and_resolve_relative_paths()
    {
        var options = new RuleOptions { ResolvePath = p => Path.IsPathRooted(p) ? p : "/work/here/" + p };
        var all = SyncRule.Create("oci:carry/mirror", new[] { "registry.example.com/mirror/app" }, options);
        Assert.True(all.SourceRepository.IsLayout);
        Assert.Equal("/work/here/carry/mirror", all.SourceRepository.LocalPath);
        Assert.True(all.NeedsTagList);

        var regex = SyncRule.Create("oci:/m:/^v1\\./", new[] { "registry.example.com/app" }, options);
        Assert.Equal(SourceSelectorKind.Regex, regex.Kind);

        var tags = SyncRule.Create("quay.io/coreos/etcd:v3.5.0,v3.5.1", new[] { "oci:usb/etcd" }, options);
        var target = Assert.Single(tags.Targets);
        Assert.True(target.Repository.IsLayout);
        Assert.Equal(new[] { "oci:/work/here/usb/etcd:v3.5.0", "oci:/work/here/usb/etcd:v3.5.1" },
            tags.Expand(null).Select(p => p.Destination.ToString()));

        var renamed = SyncRule.Create("quay.io/coreos/etcd:v3.5.0", new[] { "oci:/usb/etcd:stable" }, options);
        Assert.Equal("oci:/usb/etcd:stable", renamed.Expand(null).Single().Destination.ToString());

        var e = Assert.Throws<RuleException>(() => SyncRule.Create("oci::v1", new[] { "registry.example.com/app" }, options));
        Assert.Equal(ConfigErrorIds.RuleInvalidReference, e.Error.ErrorId);
        Assert.Contains("layout directory is missing", e.Message);
    }

    [Fact]
    public void An_images_file_with_layouts_is_written_and_read_back_to_the_same_pairs()
    {
        var rule = SyncRule.Create("quay.io/coreos/etcd:v3.5.0,v3.5.1", new[] { "oci:/usb/etcd" });
        var pairs = rule.Expand(null).ToList();
        foreach (var json in new[] { false, true })
        {
            var text = ImagesFileWriter.Format(pairs, json);
            var back = ImagesFile.Parse(text, json ? "images.json" : "images.yaml");
            Assert.Empty(back.Errors);
            Assert.Equal(pairs.Select(p => p.ToString()).OrderBy(s => s), back.Rules.SelectMany(r => r.Expand(null)).Select(p => p.ToString()).OrderBy(s => s));
        }
    }
}
