using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Example;
using OciSync.Core.Sync;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Examples;

/// <summary>
/// The C# usage example (tests/OciSync.Core.Example, compiled against the public surface only) does what
/// it says against the real registries: registry → OCI layout → registry keeps every digest.
/// </summary>
[Collection("registries")]
public sealed class CSharpCallerTests
{
    private readonly RegistryFixture _registries;

    public CSharpCallerTests(RegistryFixture registries) => _registries = registries;

    [Fact]
    public async Task The_public_example_mirrors_through_a_layout_plans_and_inspects()
    {
        var source = _registries.Anonymous;
        var target = _registries.Basic;
        var image = ImageFactory.CreateImage(71_001, layerCount: 2, layerSize: 32 * 1024);
        await new RegistryHttp(source).PushImageAsync("example/app", image, "v1", "v2");
        var dir = Path.Combine(Path.GetTempPath(), "ocisync-example-" + Guid.NewGuid().ToString("N"));
        var success = dir + "-success.yaml";
        var repo = $"example/app-{Guid.NewGuid():N}";
        var credentials = new[] { new RegistryCredential(target.Host, target.Username, RegistryCredential.ToSecureString(target.Password)) };
        try
        {
            var (toLayout, images) = await MirrorExample.MirrorAsync($"{source.Host}/example/app", $"oci:{dir}", Array.Empty<RegistryCredential>(), successFile: null, CancellationToken.None);
            Assert.Equal(2, toLayout.Synced);
            Assert.All(images, i => Assert.Equal(image.Digest, i.Digest));

            var (toRegistry, _) = await MirrorExample.MirrorAsync($"oci:{dir}", $"{target.Host}/{repo}", credentials, success, CancellationToken.None);
            Assert.Equal(2, toRegistry.Synced);
            Assert.Equal(0, toRegistry.Failed);
            Assert.Equal(image.Digest, await new RegistryHttp(target).GetManifestDigestAsync(repo, "v2"));
            Assert.Contains($"{target.Host}/{repo}:v1", File.ReadAllText(success));

            var plan = await MirrorExample.PlanAsync($"oci:{dir}:v1", $"{target.Host}/{repo}", credentials, CancellationToken.None);
            Assert.True(Assert.Single(plan).UpToDate);

            var (tags, digest) = await MirrorExample.InspectAsync($"{source.Host}/example/app", "v1", CancellationToken.None);
            Assert.Equal(new[] { "v1", "v2" }, tags.OrderBy(t => t, StringComparer.Ordinal));
            Assert.Equal(image.Digest, digest?.ToString());
            Assert.Null((await MirrorExample.InspectAsync($"{source.Host}/example/app", "absent", CancellationToken.None)).Digest);
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            File.Delete(success);
        }
    }
}
