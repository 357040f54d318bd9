using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using OciSync.TestBed;
using Xunit;

namespace OciSync.Core.Tests.Sync;

/// <summary>
/// docker's files against the real registries: a Basic registry from an inline <c>auths</c> entry, the token
/// registry from an identity token (docker's OAuth2 refresh-token flow), explicit credentials first, and a
/// failing helper failing only the images of its registry.
/// </summary>
[Collection("registries")]
public sealed class DockerCredentialSyncTests : IDisposable
{
    private readonly RegistryFixture _registries;
    private readonly string _dir = Directory.CreateTempSubdirectory("ocisync-dockercfg-").FullName;

    public DockerCredentialSyncTests(RegistryFixture registries) => _registries = registries;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private DockerCredentials Config(string json)
    {
        var path = Path.Combine(_dir, "config.json");
        File.WriteAllText(path, json);
        return DockerCredentials.FromFiles(new[] { path }, TimeSpan.FromSeconds(5), new[] { Path.Combine(_dir, "bin") });
    }

    private static string Auth(string? user, string? password) => Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));

    private async Task<string> SeedAsync(string repository, int seed)
    {
        await new RegistryHttp(_registries.Anonymous).PushImageAsync(repository, ImageFactory.CreateImage(seed, layerCount: 1, layerSize: 4096), "v1");
        return $"{_registries.Anonymous.Host}/{repository}:v1";
    }

    [Fact]
    public async Task A_sync_reaches_a_Basic_registry_by_an_auths_entry_and_a_token_registry_by_an_identity_token_with_nothing_else_given()
    {
        var source = await SeedAsync("dockercfg/src", 81_000);
        var basic = _registries.Basic;
        var token = _registries.Token;
        var docker = Config($$"""
            {
              "auths": {
                "{{basic.Host}}": { "auth": "{{Auth(basic.Username, basic.Password)}}" },
                "{{token.Host}}": { "auth": "", "identitytoken": "{{token.Tokens!.RefreshToken}}" }
              }
            }
            """);
        var grantsBefore = token.Tokens!.RefreshGrants;
        var harness = new SyncHarness(_registries, credentials: new CredentialStore(), docker: docker);
        var id = Guid.NewGuid().ToString("N");

        var summary = await harness.RunAsync(new SyncOptions(), (source, $"{basic.Host}/dockercfg/{id}:v1"), (source, $"{token.Host}/dockercfg/{id}:v1"));

        Assert.Equal(2, summary.Synced);
        Assert.True(token.Tokens.RefreshGrants > grantsBefore, "the token registry's tokens came from the refresh-token grant");
        Assert.DoesNotContain(harness.Requests, r => r.Path.Contains(token.Tokens.RefreshToken, StringComparison.Ordinal));
        await SyncHarness.AssertCompleteAsync(new RegistryHttp(basic), $"dockercfg/{id}", "v1");
    }

    [Fact]
    public async Task Explicit_credentials_come_before_dockers_even_when_they_are_wrong()
    {
        var source = await SeedAsync("dockercfg/src2", 81_100);
        var basic = _registries.Basic;
        var docker = Config($"{{\"auths\":{{\"{basic.Host}\":{{\"auth\":\"{Auth(basic.Username, basic.Password)}\"}}}}}}");
        var wrong = new CredentialStore(new[] { new RegistryCredential(basic.Host, basic.Username, RegistryCredential.ToSecureString("not-the-password")) });
        var harness = new SyncHarness(_registries, credentials: wrong, docker: docker);

        var summary = await harness.RunAsync(new SyncOptions { Retries = 0 }, (source, $"{basic.Host}/dockercfg/{Guid.NewGuid():N}:v1"));

        Assert.Equal(1, summary.Failed);
        Assert.Equal(ErrorIds.RegistryUnauthorized, harness.Images.Single().ErrorId);
    }

    [Fact]
    public async Task A_failing_helper_fails_the_images_of_its_registry_only_and_its_output_stays_out_of_results()
    {
        var source = await SeedAsync("dockercfg/src3", 81_200);
        var bin = Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;
        var helper = Path.Combine(bin, "docker-credential-broken");
        File.WriteAllText(helper, "#!/bin/sh\ncat >/dev/null\necho 'token=leaked-helper-secret'\nexit 1\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(helper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var basic = _registries.Basic;
        var docker = Config($"{{\"credHelpers\":{{\"{basic.Host}\":\"broken\"}},\"auths\":{{\"{_registries.Token.Host}\":{{\"auth\":\"{Auth(_registries.Token.Username, _registries.Token.Password)}\"}}}}}}");
        var harness = new SyncHarness(_registries, credentials: new CredentialStore(), docker: docker);
        var id = Guid.NewGuid().ToString("N");

        var summary = await harness.RunAsync(new SyncOptions { Retries = 1 },
            (source, $"{basic.Host}/dockercfg/{id}:v1"), (source, $"{basic.Host}/dockercfg/{id}:v2"), (source, $"{_registries.Token.Host}/dockercfg/{id}:v1"));

        Assert.Equal(1, summary.Synced);
        Assert.Equal(2, summary.Failed);
        Assert.Equal(1, summary.Passes); // not worth another pass
        var failed = harness.Images.Where(i => i.Action == SyncAction.Failed).ToList();
        Assert.All(failed, f => Assert.Equal(ErrorIds.CredentialHelperFailed, f.ErrorId));
        Assert.All(failed, f => Assert.Contains("docker-credential-broken", f.Error));
        Assert.DoesNotContain(harness.Images, i => (i.Error ?? "").Contains("leaked-helper-secret", StringComparison.Ordinal));
    }
}
