using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;
using OciSync.Core.Registry;
using OciSync.Core.Sync;
using OciSync.Core.Transport;
using Xunit;

namespace OciSync.Core.Tests.Transport;

/// <summary>A registry's catalog is hostile until checked, like its tag lists: Links, names, endless pages, refusals.</summary>
public sealed class HostileCatalogTests
{
    private const string Host = "registry.example.test";
    private const string Canary = "CANARY-pw-c4t4l0g";
    private static readonly RetryPolicy Fast = new() { MaxAttempts = 1, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(5) };

    private static RegistryClientFactory Factory(ScriptedHandler handler, string? user = "alice", Action<RegistryClientOptions>? configure = null)
    {
        var store = new CredentialStore();
        if (user != null) store.Add(new RegistryCredential(Host, user, RegistryCredential.ToSecureString(Canary)));
        var options = new RegistryClientOptions { SocketHandlerFactory = _ => handler, Retry = Fast };
        configure?.Invoke(options);
        return new RegistryClientFactory(options, store);
    }

    private static HttpResponseMessage Page(params string[] names) => new(HttpStatusCode.OK)
    {
        Content = new StringContent("{\"repositories\":[" + string.Join(",", names.Select(n => System.Text.Json.JsonSerializer.Serialize(n))) + "]}"),
    };

    private static bool IsPing(HttpRequestMessage r) => r.RequestUri!.AbsolutePath == "/v2/";

    private static async Task<List<string>> ListAsync(RegistryClient client)
    {
        var all = new List<string>();
        await foreach (var n in client.ListRepositoriesAsync()) all.Add(n);
        return all;
    }

    [Theory]
    [InlineData("<https://elsewhere.example.test/v2/_catalog?last=a>; rel=\"next\"", "not on", 1)]
    [InlineData("</v2/_catalog?n=1000>; rel=\"next\"", "loop", 1)]                                         // the page itself
    [InlineData("</v2/victim/tags/list?last=a>; rel=\"next\"", "loop", 2)]                                // only the query is taken, on the catalog
    [InlineData("<https://u:" + Canary + "@registry.example.test/v2/_catalog?last=a>; rel=\"next\"", "loop", 2)]
    [InlineData("<ftp://registry.example.test/x>; rel=\"next\"", "not an HTTP URL", 1)]
    public async Task A_catalog_Link_is_followed_only_to_the_catalog_on_the_same_origin_and_never_twice(string link, string expected, int pages)
    {
        var handler = new ScriptedHandler((req, _) =>
        {
            if (IsPing(req)) return new HttpResponseMessage(HttpStatusCode.OK);
            var page = Page("team/app");
            page.Headers.TryAddWithoutValidation("Link", link);
            return page;
        });
        var e = await Assert.ThrowsAsync<RegistryException>(() => ListAsync(Factory(handler).Get(Host, "")));

        Assert.Equal(ErrorIds.RegistryProtocolError, e.ErrorId);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain(Canary, e.Message);
        // Nothing, least of all the credential, went anywhere but the registry's own catalog.
        Assert.All(handler.Seen, s => Assert.Equal(Host, s.Uri.Host));
        Assert.All(handler.Seen, s => Assert.Equal("https", s.Uri.Scheme));
        Assert.All(handler.Seen, s => Assert.True(s.Uri.AbsolutePath == "/v2/" || s.Uri.AbsolutePath == "/v2/_catalog", s.Uri.ToString()));
        Assert.Equal(pages, handler.Seen.Count(s => s.Uri.AbsolutePath == "/v2/_catalog"));
    }

    [Fact]
    public async Task A_catalog_that_pages_for_ever_is_cut_off_and_one_too_long_is_refused()
    {
        var endless = new ScriptedHandler((req, n) =>
        {
            if (IsPing(req)) return new HttpResponseMessage(HttpStatusCode.OK);
            var page = Page($"team/app{n}");
            page.Headers.TryAddWithoutValidation("Link", $"</v2/_catalog?last=team%2Fapp{n}>; rel=\"next\"");
            return page;
        });
        var e = await Assert.ThrowsAsync<RegistryException>(() => ListAsync(Factory(endless, configure: o => o.MaxTagPages = 40).Get(Host, "")));
        Assert.Equal(ErrorIds.RegistryProtocolError, e.ErrorId);
        Assert.Contains("more than 40 pages", e.Message);
        Assert.Equal(40, endless.Seen.Count(s => s.Uri.AbsolutePath == "/v2/_catalog"));

        var big = new ScriptedHandler((req, _) => IsPing(req) ? new HttpResponseMessage(HttpStatusCode.OK)
            : Page(Enumerable.Range(0, 500).Select(i => $"team/r{i}").ToArray()));
        var tooMany = await Assert.ThrowsAsync<RegistryException>(() => ListAsync(Factory(big, configure: o => o.MaxRepositories = 100).Get(Host, "")));
        Assert.Contains("more than 100 repositories", tooMany.Message);
    }

    [Fact]
    public async Task Listed_names_that_break_the_grammar_or_lie_outside_the_prefix_never_become_requests()
    {
        var log = new List<string>();
        var handler = new ScriptedHandler((req, _) =>
        {
            if (IsPing(req)) return new HttpResponseMessage(HttpStatusCode.OK);
            var path = req.RequestUri!.AbsolutePath;
            if (path == "/v2/_catalog")
                return Page("team/good", "../team/victim", "team/../victim", "team/%2e%2e/victim", "Team/Upper", "team/a b", "team//x", "", new string('a', 256), "other/app", "team", "teamx/app");
            if (path == "/v2/team/good/tags/list") return ScriptedHandler.Status(HttpStatusCode.OK, "{\"name\":\"team/good\",\"tags\":[\"v1\"]}");
            return ScriptedHandler.Status(HttpStatusCode.NotFound, "{\"errors\":[{\"code\":\"NAME_UNKNOWN\"}]}");
        });
        var factory = Factory(handler, user: null, configure: o => o.Log = new ListLog(log));

        var listed = await ListAsync(factory.Get(Host, ""));
        Assert.Equal(new[] { "team/good", "other/app", "team", "teamx/app" }, listed);
        Assert.Contains(log, l => l.Contains("skipped 8 catalog entr(ies)"));

        var rule = SyncRule.Create($"{Host}/team/*", new[] { "127.0.0.1:5000/mirror" });
        var plan = await new SyncPlanner(factory, 5).ExpandAsync(new[] { rule }, CancellationToken.None);
        Assert.Empty(plan.Errors);
        Assert.Equal($"{Host}/team/good:v1 -> 127.0.0.1:5000/mirror/good:v1", Assert.Single(plan.Copies).ToString());
        Assert.All(handler.Seen, s => Assert.True(s.Uri.AbsolutePath is "/v2/" or "/v2/_catalog" or "/v2/team/good/tags/list", s.Uri.ToString()));
    }

    [Theory]
    [InlineData(HttpStatusCode.Unauthorized, "UNAUTHORIZED", ErrorIds.RegistryCatalogRefused, "refused to list its repositories to alice")]
    [InlineData(HttpStatusCode.Forbidden, "DENIED", ErrorIds.RegistryCatalogRefused, "refused to list its repositories")]
    [InlineData(HttpStatusCode.NotFound, "NOT_FOUND", ErrorIds.RegistryCatalogUnsupported, "does not offer a repository catalog")]
    [InlineData(HttpStatusCode.MethodNotAllowed, "UNSUPPORTED", ErrorIds.RegistryCatalogUnsupported, "does not offer a repository catalog")]
    [InlineData(HttpStatusCode.BadRequest, "UNSUPPORTED", ErrorIds.RegistryCatalogUnsupported, "does not offer a repository catalog")]
    [InlineData(HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID", ErrorIds.RegistryProtocolError, "_catalog")]
    public async Task A_refused_catalog_is_an_error_naming_the_registry_and_what_to_do(HttpStatusCode status, string code, string errorId, string message)
    {
        var handler = new ScriptedHandler((req, _) => IsPing(req) ? new HttpResponseMessage(HttpStatusCode.OK)
            : ScriptedHandler.Status(status, "{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"no\"}]}"));
        var factory = Factory(handler);
        var e = await Assert.ThrowsAsync<RegistryException>(() => ListAsync(factory.Get(Host, "")));
        Assert.Equal(errorId, e.ErrorId);
        Assert.Contains(message, e.Message);
        Assert.DoesNotContain(Canary, e.Message);
        if (errorId != ErrorIds.RegistryProtocolError)
        {
            Assert.Contains(Host, e.Message);
            Assert.Contains("name the repositories as rules of their own", e.Message);
        }

        // Through the planner: the rule fails as a whole, the others go on.
        var other = new ScriptedHandler((req, _) => IsPing(req) ? new HttpResponseMessage(HttpStatusCode.OK)
            : req.RequestUri!.AbsolutePath == "/v2/team/app/tags/list" ? ScriptedHandler.Status(HttpStatusCode.OK, "{\"tags\":[\"v1\"]}")
            : ScriptedHandler.Status(status, "{\"errors\":[{\"code\":\"" + code + "\"}]}"));
        var rules = new[] { SyncRule.Create($"{Host}/team/*", new[] { "127.0.0.1:5000/m" }), SyncRule.Create($"{Host}/team/app", new[] { "127.0.0.1:5000/m/app" }) };
        var plan = await new SyncPlanner(Factory(other), 5).ExpandAsync(rules, CancellationToken.None);
        var failure = Assert.Single(plan.Errors);
        Assert.Same(rules[0], failure.Rule);
        Assert.Equal(SyncPhase.Listing, failure.Phase);
        Assert.Equal(errorId, ErrorIds.Of(failure.Error));
        Assert.Single(plan.Copies);
    }

    [Fact]
    public async Task Docker_Hub_is_told_to_have_no_catalog_without_asking_it()
    {
        var handler = new ScriptedHandler((_, _) => new HttpResponseMessage(HttpStatusCode.OK));
        var e = await Assert.ThrowsAsync<RegistryException>(() => ListAsync(Factory(handler).Get("docker.io", "library")));
        Assert.Equal(ErrorIds.RegistryCatalogUnsupported, e.ErrorId);
        Assert.Contains("Docker Hub offers no repository catalog", e.Message);
        Assert.Empty(handler.Seen);
    }

    [Fact]
    public async Task The_catalog_asks_for_the_registry_catalog_scope()
    {
        // Bearer: the challenge sends us to the token server; the token request must carry registry:catalog:*.
        var handler = new ScriptedHandler((req, _) =>
        {
            var path = req.RequestUri!.AbsolutePath;
            if (path == "/token") return ScriptedHandler.Status(HttpStatusCode.OK, "{\"token\":\"t0k3n\"}");
            if (req.Headers.Authorization?.Scheme != "Bearer")
            {
                var challenge = ScriptedHandler.Status(HttpStatusCode.Unauthorized, "{\"errors\":[{\"code\":\"UNAUTHORIZED\"}]}");
                challenge.Headers.TryAddWithoutValidation("WWW-Authenticate", $"Bearer realm=\"https://{Host}/token\",service=\"reg\"");
                return challenge;
            }
            return path == "/v2/_catalog" ? Page("team/app") : new HttpResponseMessage(HttpStatusCode.OK);
        });
        Assert.Equal(new[] { "team/app" }, await ListAsync(Factory(handler).Get(Host, "")));
        Assert.Contains(handler.Seen, s => s.Uri.AbsolutePath == "/token" && Uri.UnescapeDataString(s.Uri.Query).Contains("scope=registry:catalog:*"));
    }

    private sealed class ListLog : IOciLog
    {
        private readonly List<string> _lines;
        public ListLog(List<string> lines) => _lines = lines;
        public void Write(OciLogLevel level, string message) { lock (_lines) _lines.Add(message); }
    }
}
