using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;
using OciSync.Core.Transport;
using Xunit;

namespace OciSync.Core.Tests.Auth;

/// <summary>
/// docker's config.json and podman's auth.json: which entry answers for which registry, in which order, and
/// what a helper's failures look like (scripted helpers here; the real docker-credential-pass is in the Pester tests).
/// </summary>
public sealed class DockerCredentialsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ocisync-docker-").FullName;
    private const string Secret = "s3cr3t-Pa55-from-docker";

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string json)
    {
        var path = Path.Combine(_dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, json);
        return path;
    }

    private static string Auth(string user, string password) => Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));

    /// <summary>A helper script: answers JSON for <paramref name="known"/>, the protocol's not-found otherwise; it records what it was asked.</summary>
    private string Helper(string name, string body)
    {
        var bin = Path.Combine(_dir, "bin");
        Directory.CreateDirectory(bin);
        var path = Path.Combine(bin, "docker-credential-" + name);
        File.WriteAllText(path, "#!/bin/sh\nurl=$(cat)\necho \"$url\" >> \"$0.asked\"\n" + body + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private string[] Asked(string name)
    {
        var path = Path.Combine(_dir, "bin", "docker-credential-" + name + ".asked");
        return File.Exists(path) ? File.ReadAllLines(path) : Array.Empty<string>();
    }

    private DockerCredentials Load(params string[] files) => DockerCredentials.FromFiles(files, TimeSpan.FromSeconds(5), new[] { Path.Combine(_dir, "bin") });

    [Theory]
    [InlineData("https://index.docker.io/v1/")]
    [InlineData("index.docker.io")]
    [InlineData("docker.io")]
    [InlineData("registry-1.docker.io")]
    [InlineData("https://registry-1.docker.io/v2/")]
    public void Every_spelling_of_Docker_Hub_answers_for_docker_io(string key)
    {
        var docker = Load(Write("config.json", $"{{\"auths\":{{\"{key}\":{{\"auth\":\"{Auth("hubuser", Secret)}\"}}}}}}"));

        var found = docker.Find("docker.io", "library/alpine");

        Assert.NotNull(found);
        Assert.Equal("hubuser", found!.Username);
        Assert.Equal(Secret, found.RevealPassword());
        Assert.Null(docker.Find("quay.io", "x/y"));
    }

    [Fact]
    public void Inline_entries_take_auth_or_username_and_password_or_an_identity_token_and_the_longest_namespace_wins()
    {
        var path = Write("auth.json", $$"""
            {
              "auths": {
                "reg.example:5000": { "auth": "{{Auth("whole", "pw-whole")}}" },
                "reg.example:5000/team": { "username": "team", "password": "pw-team" },
                "tokens.example": { "auth": "", "identitytoken": "refresh-abc" },
                "empty.example": {}
              }
            }
            """);
        var docker = Load(path);

        Assert.Equal("whole", docker.Find("reg.example:5000", "other/app")!.Username);
        Assert.Equal("team", docker.Find("reg.example:5000", "team/app")!.Username);
        var token = docker.Find("tokens.example", "a/b")!;
        Assert.True(token.IsIdentityToken);
        Assert.Equal("refresh-abc", token.RevealPassword());
        Assert.Null(docker.Find("empty.example", "a/b")); // {} is a store's marker; no store here
        Assert.Empty(docker.Problems);
        Assert.Contains(path + ":3", docker.Find("reg.example:5000", "other/app")!.Origin);
    }

    [Fact]
    public void A_registrys_credHelper_comes_first_then_the_inline_entry_then_the_credsStore()
    {
        Helper("first", $"[ \"$url\" = \"reg.example\" ] && echo '{{\"ServerURL\":\"reg.example\",\"Username\":\"from-helper\",\"Secret\":\"{Secret}\"}}' && exit 0\necho 'credentials not found in native keychain'; exit 1");
        Helper("store", $"echo '{{\"ServerURL\":\"'$url'\",\"Username\":\"from-store\",\"Secret\":\"{Secret}\"}}'");
        var docker = Load(Write("config.json", $$"""
            {
              "credHelpers": { "reg.example": "first", "other.example": "first" },
              "credsStore": "store",
              "auths": { "other.example": { "auth": "{{Auth("inline", "pw")}}" }, "https://index.docker.io/v1/": {} }
            }
            """));

        Assert.Equal("from-helper", docker.Find("reg.example", "a/b")!.Username);
        Assert.Equal("inline", docker.Find("other.example", "a/b")!.Username); // its helper had nothing
        Assert.Equal("from-store", docker.Find("third.example", "a/b")!.Username);
        Assert.Equal("from-store", docker.Find("docker.io", "library/alpine")!.Username);
        Assert.Equal(new[] { "reg.example", "other.example" }, Asked("first"));
        // The store is asked with the key as docker stored it: Docker Hub as https://index.docker.io/v1/.
        Assert.Equal(new[] { "third.example", "https://index.docker.io/v1/" }, Asked("store"));

        docker.Find("reg.example", "c/d");
        docker.Find("third.example", "e/f");
        Assert.Equal(2, Asked("first").Length + Asked("store").Length - 2); // asked once per registry, not per repository
    }

    [Fact]
    public void A_helper_identity_token_answer_is_a_refresh_token()
    {
        Helper("oauth", "echo '{\"ServerURL\":\"reg.example\",\"Username\":\"<token>\",\"Secret\":\"refresh-xyz\"}'");
        var docker = Load(Write("config.json", "{\"credsStore\":\"oauth\"}"));

        var found = docker.Find("reg.example", "a/b")!;

        Assert.True(found.IsIdentityToken);
        Assert.Equal("refresh-xyz", found.RevealPassword());
    }

    [Fact]
    public void The_podman_file_is_asked_before_dockers_and_both_are_found_from_the_environment()
    {
        var env = new Dictionary<string, string?>
        {
            ["REGISTRY_AUTH_FILE"] = Path.Combine(_dir, "podman", "auth.json"),
            ["DOCKER_CONFIG"] = Path.Combine(_dir, "dockercfg"),
            ["HOME"] = "/nonexistent-home",
        };
        Write("podman/auth.json", $"{{\"auths\":{{\"reg.example\":{{\"auth\":\"{Auth("podman", "pw")}\"}}}}}}");
        Write("dockercfg/config.json", $"{{\"auths\":{{\"reg.example\":{{\"auth\":\"{Auth("docker", "pw")}\"}},\"only-docker.example\":{{\"auth\":\"{Auth("docker", "pw")}\"}}}}}}");

        var docker = DockerCredentials.FromEnvironment(name => env.GetValueOrDefault(name));

        Assert.Equal(new[] { env["REGISTRY_AUTH_FILE"]!, Path.Combine(_dir, "dockercfg", "config.json") }, docker.Files);
        Assert.Equal("podman", docker.Find("reg.example", "a/b")!.Username);
        Assert.Equal("docker", docker.Find("only-docker.example", "a/b")!.Username);

        Assert.Equal(new[] { "/run/user/1000/containers/auth.json", "/home/u/.docker/config.json" },
            DockerCredentials.DefaultPaths(name => name == "XDG_RUNTIME_DIR" ? "/run/user/1000" : name == "HOME" ? "/home/u" : null));
    }

    [Theory]
    [InlineData("{\"auths\": {\"reg.example\": {\"auth\": \"%%%not-base64\"}}}", 1, "not base64")]
    [InlineData("{\"auths\": {\"reg.example\": {\"auth\": \"bm9jb2xvbg==\"}}}", 1, "not base64 of user:password")]
    [InlineData("{\"auths\": [1, 2]}", 1, "'auths' must be an object")]
    [InlineData("{\n  \"credsStore\": \"../../bin/sh\"\n}", 2, "not a helper name")]
    [InlineData("{\n  \"credHelpers\": {\"reg.example\": \"a b\"}\n}", 2, "helper name")]
    [InlineData("{\n  \"auths\": {\n    \"reg.example\": {\"auth\": \"x\"},,\n  }\n}", 3, "")]
    public void A_broken_file_or_entry_is_a_warning_naming_file_and_line_never_a_value(string json, int line, string says)
    {
        var path = Write("config.json", json);

        var docker = Load(path);

        var problem = Assert.Single(docker.Problems);
        Assert.Equal(ConfigErrorIds.AuthDockerConfigInvalid, problem.ErrorId);
        Assert.Equal(ConfigSeverity.Warning, problem.Severity);
        Assert.Equal(path, problem.File);
        Assert.Equal(line, problem.Line);
        Assert.Contains(says, problem.Message);
        Assert.DoesNotContain("not-base64", problem.Message);
        Assert.Null(docker.Find("reg.example", "a/b"));
    }

    [Fact]
    public void A_failing_helper_is_an_error_naming_it_and_never_showing_what_it_printed_and_it_runs_once()
    {
        Helper("leaky", $"echo 'fatal: could not use {Secret}'; echo '{Secret}' >&2; exit 3");
        var docker = Load(Write("config.json", "{\"credsStore\":\"leaky\"}"));

        var e = Assert.Throws<RegistryException>(() => docker.Find("reg.example", "a/b"));
        Assert.Equal(ErrorIds.CredentialHelperFailed, e.ErrorId);
        Assert.Contains("docker-credential-leaky", e.Message);
        Assert.Contains("exit code 3", e.Message);
        Assert.Contains("config.json:1", e.Message);
        Assert.DoesNotContain(Secret, e.ToString());

        Assert.Throws<RegistryException>(() => docker.Find("reg.example", "c/d"));
        Assert.Single(Asked("leaky"));
    }

    [Theory]
    [InlineData("missing", null, "was not found on PATH")]
    [InlineData("garbage", "echo 'user=x password=" + Secret + "'", "not its JSON")]
    [InlineData("slow", "sleep 30", "no answer within")]
    public void A_missing_hanging_or_nonsense_helper_is_a_clear_error(string name, string? body, string says)
    {
        if (body != null) Helper(name, body);
        var docker = DockerCredentials.FromFiles(new[] { Write("config.json", $"{{\"credHelpers\":{{\"reg.example\":\"{name}\"}}}}") }, TimeSpan.FromSeconds(1), new[] { Path.Combine(_dir, "bin") });

        var watch = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<RegistryException>(() => docker.Find("reg.example", "a/b"));

        Assert.Equal(ErrorIds.CredentialHelperFailed, e.ErrorId);
        Assert.Contains("docker-credential-" + name, e.Message);
        Assert.Contains(says, e.Message);
        Assert.DoesNotContain(Secret, e.ToString());
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(20), "a hanging helper is stopped at its timeout");
    }

    [Fact]
    public void A_helper_is_found_only_in_absolute_PATH_directories_never_the_current_one()
    {
        Helper("here", "exit 0");
        var bin = Path.Combine(_dir, "bin");
        var program = "docker-credential-here";

        Assert.Equal(Path.Combine(bin, program), CredentialHelper.Locate(program, new[] { "/nonexistent", bin }));
        // A relative entry (".", "bin") is the current directory's business: skipped, as a bare name given to
        // Process.Start would have run a docker-credential-* file lying in the folder a sync runs from.
        var relative = Path.GetRelativePath(Directory.GetCurrentDirectory(), bin);
        Assert.Null(CredentialHelper.Locate(program, new[] { relative, ".", "" }));
        Assert.Equal(new[] { "/a", "/b c", "/d" }, CredentialHelper.PathDirectories($"/a{Path.PathSeparator}\"/b c\"{Path.PathSeparator}{Path.PathSeparator}/d"));
    }

    [Fact]
    public void A_password_learned_from_dockers_files_is_masked_in_every_form_the_stores_are_even_short()
    {
        var scrubber = new SecretScrubber(new CredentialStore());
        var learned = new RegistryCredential("reg.example", "bob", RegistryCredential.ToSecureString("pw2"));
        scrubber.Add(learned);
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("bob:pw2"));

        var text = scrubber.Scrub($"the registry echoed Basic {basic} and bob:pw2 and the password pw2 was refused");

        Assert.DoesNotContain(basic, text);
        Assert.DoesNotContain("bob:pw2", text);
        Assert.DoesNotContain(" pw2 ", text);
    }
}
