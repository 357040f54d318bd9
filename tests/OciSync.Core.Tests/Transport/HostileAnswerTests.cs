using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Configuration;
using OciSync.Core.Content;
using OciSync.Core.References;
using OciSync.Core.Registry;
using OciSync.Core.Transport;
using Xunit;

namespace OciSync.Core.Tests.Transport;

/// <summary>
/// What a registry sends is hostile until checked: names, Link and Location targets, realms, token
/// answers, error texts, descriptors and trickling bodies, each against scripted answers.
/// </summary>
public sealed class HostileAnswerTests
{
    private const string Host = "registry.example.test";
    private const string Canary = "CANARY-pw-7f3e1c";
    private static readonly RetryPolicy Fast = new() { MaxAttempts = 1, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(5) };

    private static RegistryClientFactory Factory(ScriptedHandler handler, string host = Host, string? user = "alice", Action<RegistryClientOptions>? configure = null)
    {
        var store = new CredentialStore();
        if (user != null) store.Add(new RegistryCredential(host, user, RegistryCredential.ToSecureString(Canary)));
        var options = new RegistryClientOptions { SocketHandlerFactory = _ => handler, Retry = Fast };
        configure?.Invoke(options);
        return new RegistryClientFactory(options, store);
    }

    private static HttpResponseMessage Tags(params string[] tags) => new(HttpStatusCode.OK)
    {
        Content = new StringContent("{\"name\":\"team/app\",\"tags\":[" + string.Join(",", tags.Select(t => System.Text.Json.JsonSerializer.Serialize(t))) + "]}"),
    };

    private static async Task<List<string>> ListAsync(RegistryClient client)
    {
        var all = new List<string>();
        await foreach (var t in client.ListTagsAsync("team/app")) all.Add(t);
        return all;
    }

    [Fact]
    public async Task Listed_tags_that_break_the_grammar_are_skipped_with_a_warning()
    {
        var log = new RecordingLog();
        var handler = new ScriptedHandler((req, _) => req.RequestUri!.AbsolutePath == "/v2/" ? new HttpResponseMessage(HttpStatusCode.OK)
            : Tags("good1", "../../../victim/manifests/prod", "%2F..%2Fvictim", "v1\u0000", new string('a', 129), "-bad", ".bad", "a/b", "good2"));
        var tags = await ListAsync(Factory(handler, user: null, configure: o => o.Log = log).Get(Host, "team/app"));

        Assert.Equal(new[] { "good1", "good2" }, tags);
        Assert.Contains(log.Lines, l => l.Level == OciLogLevel.Warning && l.Text.Contains("skipped 7 listed tag(s)"));
    }

    [Fact]
    public void A_rule_expanded_from_a_hostile_tag_list_yields_only_valid_tags()
    {
        var rule = SyncRule.Create("registry.example.test/team/app", new[] { "127.0.0.1:5000/mirror/app" });
        var pairs = rule.Expand(new[] { "v1", "../../../victim/manifests/prod", "x%2Fy", "v2" }).ToList();
        Assert.Equal(new[] { "v1", "v2" }, pairs.Select(p => p.Destination.Tag));
    }

    [Theory]
    [InlineData("../../victim/manifests/prod")]
    [InlineData("%2E%2E%2Fvictim")]
    [InlineData("sha256:../../x")]
    [InlineData("")]
    public async Task A_name_that_breaks_the_grammar_never_becomes_a_request(string reference)
    {
        var handler = new ScriptedHandler((_, _) => new HttpResponseMessage(HttpStatusCode.OK));
        var client = Factory(handler, user: null).Get(Host, "team/app");

        var head = await Assert.ThrowsAsync<RegistryException>(() => client.HeadManifestAsync("team/app", reference, CancellationToken.None));
        var put = await Assert.ThrowsAsync<RegistryException>(() => client.HeadManifestAsync("team/../victim", "v1", CancellationToken.None));

        Assert.Equal(ErrorIds.InvalidReference, head.ErrorId);
        Assert.Equal(ErrorIds.InvalidReference, put.ErrorId);
        Assert.DoesNotContain(handler.Seen, s => s.Uri.AbsolutePath.StartsWith("/v2/team", StringComparison.Ordinal) || s.Uri.AbsolutePath.Contains("victim"));
    }

    [Theory]
    [InlineData("</v2/team/app/tags/list?n=1000>; rel=\"next\"", "loop", 1)]                       // the page itself
    [InlineData("<https://elsewhere.example.test/v2/team/app/tags/list?last=a>; rel=\"next\"", "not on", 1)]
    // On the registry's host, only the query is taken, on the repository's own list and origin (then this one loops).
    [InlineData("<http://registry.example.test:8080/v2/team/app/tags/list?last=a>; rel=\"next\"", "loop", 2)] // https → http, other port
    [InlineData("</v2/victim/tags/list?last=a>; rel=\"next\"", "loop", 2)]
    [InlineData("</artifactory/api/docker/team/v2/app/tags/list?last=a>; rel=\"next\"", "loop", 2)]      // a proxy's path prefix
    [InlineData("<https://u:" + Canary + "@registry.example.test/v2/team/app/tags/list?last=a>; rel=\"next\"", "loop", 2)]
    [InlineData("<ftp://registry.example.test/x>; rel=\"next\"", "not an HTTP URL", 1)]
    public async Task A_tags_Link_is_followed_only_within_the_repository_on_the_same_origin_and_never_twice(string link, string expected, int pages)
    {
        var handler = new ScriptedHandler((req, _) =>
        {
            if (req.RequestUri!.AbsolutePath == "/v2/") return new HttpResponseMessage(HttpStatusCode.OK);
            var page = Tags("v1");
            page.Headers.TryAddWithoutValidation("Link", link);
            return page;
        });
        var e = await Assert.ThrowsAsync<RegistryException>(() => ListAsync(Factory(handler, user: null).Get(Host, "team/app")));

        Assert.Equal(ErrorIds.RegistryProtocolError, e.ErrorId);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain(Canary, e.Message);
        Assert.All(handler.Seen, s => Assert.Equal(Host, s.Uri.Host));
        Assert.All(handler.Seen, s => Assert.Equal("https", s.Uri.Scheme));
        Assert.All(handler.Seen, s => Assert.True(s.Uri.AbsolutePath == "/v2/" || s.Uri.AbsolutePath == "/v2/team/app/tags/list", s.Uri.ToString()));
        Assert.Equal(pages, handler.Seen.Count(s => s.Uri.AbsolutePath.Contains("/tags/list")));
    }

    [Fact]
    public async Task A_tags_answer_that_is_JSON_but_not_an_object_is_a_protocol_error_and_not_asked_again()
    {
        var handler = new ScriptedHandler((req, _) => req.RequestUri!.AbsolutePath == "/v2/" ? new HttpResponseMessage(HttpStatusCode.OK)
            : ScriptedHandler.Status(HttpStatusCode.OK, "[\"v1\"]"));
        var factory = Factory(handler, user: null);
        var e = await Assert.ThrowsAsync<RegistryException>(() => ListAsync(factory.Get(Host, "team/app")));
        Assert.Equal(ErrorIds.RegistryProtocolError, e.ErrorId);
        Assert.Contains("tags list", e.Message);
        Assert.Equal(0, factory.Statistics.RequestRetries);
    }

    [Theory]
    [InlineData("{\"tags\":[\"v1\"")]
    [InlineData("nonsense")]
    public async Task A_tags_answer_cut_short_or_garbled_is_asked_again_like_a_503(string body)
    {
        // Damaged once, then whole: survived by a per-request retry, which the statistics count.
        var handler = new ScriptedHandler((req, n) => req.RequestUri!.AbsolutePath == "/v2/" ? new HttpResponseMessage(HttpStatusCode.OK)
            : n <= 2 ? ScriptedHandler.Status(HttpStatusCode.OK, body) : Tags("v1", "v2"));
        var factory = Factory(handler, user: null);
        Assert.Equal(new[] { "v1", "v2" }, await ListAsync(factory.Get(Host, "team/app")));
        Assert.Equal(1, factory.Statistics.RequestRetries);

        // Damaged every time: a transient RegistryResponseInvalid naming the request, after the retries.
        var always = new ScriptedHandler((req, _) => req.RequestUri!.AbsolutePath == "/v2/" ? new HttpResponseMessage(HttpStatusCode.OK)
            : ScriptedHandler.Status(HttpStatusCode.OK, body));
        var broken = Factory(always, user: null);
        var e = await Assert.ThrowsAsync<RegistryException>(() => ListAsync(broken.Get(Host, "team/app")));
        Assert.Equal(ErrorIds.RegistryResponseInvalid, e.ErrorId);
        Assert.True(e.IsTransient);
        Assert.Contains("/v2/team/app/tags/list", e.Message);
        Assert.Equal(Fast.MaxAttempts, broken.Statistics.RequestRetries);
    }

    [Fact]
    public async Task A_registry_that_pages_for_ever_is_cut_off_at_the_page_cap()
    {
        var handler = new ScriptedHandler((req, n) =>
        {
            if (req.RequestUri!.AbsolutePath == "/v2/") return new HttpResponseMessage(HttpStatusCode.OK);
            var page = Tags("v" + n);
            page.Headers.TryAddWithoutValidation("Link", $"</v2/team/app/tags/list?last=v{n}>; rel=\"next\"");
            return page;
        });
        var e = await Assert.ThrowsAsync<RegistryException>(() => ListAsync(Factory(handler, user: null, configure: o => o.MaxTagPages = 50).Get(Host, "team/app")));

        Assert.Equal(ErrorIds.RegistryProtocolError, e.ErrorId);
        Assert.Equal(50, handler.Seen.Count(s => s.Uri.AbsolutePath.Contains("/tags/list")));
    }

    [Theory]
    [InlineData("https://elsewhere.example.test/v2/team/app/blobs/uploads/1")]
    [InlineData("https://user:" + Canary + "@registry.example.test/v2/team/app/blobs/uploads/1")]
    [InlineData("/not-the-api/upload")]
    public async Task An_upload_Location_outside_the_registrys_own_API_gets_nothing(string location)
    {
        var bytes = Encoding.UTF8.GetBytes("blob");
        var blob = new Descriptor("application/octet-stream", DigestCalculator.Sha256(bytes), bytes.Length);
        var handler = new ScriptedHandler((req, _) =>
        {
            if (req.RequestUri!.AbsolutePath == "/v2/") return new HttpResponseMessage(HttpStatusCode.OK);
            var started = new HttpResponseMessage(HttpStatusCode.Accepted) { Content = new ByteArrayContent(Array.Empty<byte>()) };
            started.Headers.TryAddWithoutValidation("Location", location);
            return started;
        });
        var e = await Assert.ThrowsAsync<RegistryException>(() =>
            Factory(handler).Get(Host, "team/app").UploadBlobAsync("team/app", blob, new System.IO.MemoryStream(bytes), null, CancellationToken.None));

        Assert.Equal(ErrorIds.RegistryProtocolError, e.ErrorId);
        Assert.DoesNotContain(Canary, e.Message);
        Assert.DoesNotContain(handler.Seen, s => s.Method == HttpMethod.Put);
    }

    [Fact]
    public async Task An_upload_Location_on_the_registrys_host_with_another_scheme_is_put_back_on_the_registrys_origin()
    {
        // A TLS-terminating proxy in front of distribution says http:// in its Location headers.
        var bytes = Encoding.UTF8.GetBytes("blob");
        var blob = new Descriptor("application/octet-stream", DigestCalculator.Sha256(bytes), bytes.Length);
        var handler = new ScriptedHandler((req, _) =>
        {
            if (req.Method == HttpMethod.Post)
            {
                var started = new HttpResponseMessage(HttpStatusCode.Accepted) { Content = new ByteArrayContent(Array.Empty<byte>()) };
                started.Headers.TryAddWithoutValidation("Location", $"http://{Host}:80/v2/team/app/blobs/uploads/1?_state=s");
                return started;
            }
            return new HttpResponseMessage(req.Method == HttpMethod.Put ? HttpStatusCode.Created : HttpStatusCode.OK);
        });
        await Factory(handler).Get(Host, "team/app").UploadBlobAsync("team/app", blob, new System.IO.MemoryStream(bytes), null, CancellationToken.None);

        var put = handler.Seen.Single(s => s.Method == HttpMethod.Put);
        Assert.Equal($"https://{Host}/v2/team/app/blobs/uploads/1", put.Uri.GetLeftPart(UriPartial.Path));
        Assert.Contains("_state=s", put.Uri.Query);
    }

    [Fact]
    public async Task A_redirect_away_from_HTTPS_or_to_another_scheme_is_not_followed()
    {
        foreach (var target in new[] { $"http://{Host}/plain", "ftp://files.example.test/blob" })
        {
            var handler = new ScriptedHandler((req, _) => req.RequestUri!.AbsolutePath == "/v2/" ? new HttpResponseMessage(HttpStatusCode.OK)
                : new HttpResponseMessage(HttpStatusCode.Found) { Headers = { Location = new Uri(target) } });
            var e = await Assert.ThrowsAsync<RegistryException>(() => Factory(handler, user: null).Get(Host, "team/app").GetManifestAsync("team/app", "v1", CancellationToken.None));
            Assert.Equal(ErrorIds.RegistryProtocolError, e.ErrorId);
            Assert.DoesNotContain(handler.Seen, s => s.Uri.ToString().StartsWith(target.Substring(0, 10), StringComparison.Ordinal) && s.Uri.Scheme != "https");
        }
    }

    [Fact]
    public void A_message_cut_short_never_shows_part_of_a_secret()
    {
        var store = new CredentialStore(new[] { new RegistryCredential(Host, "alice", RegistryCredential.ToSecureString("CANARYPASSWORD0123456789")) });
        var scrubber = new SecretScrubber(store);
        var e = new RegistryException(ErrorIds.RegistryProtocolError, HttpMethod.Get, new Uri($"https://{Host}/v2/"), HttpStatusCode.BadRequest,
            Array.Empty<string>(), new string('x', 985) + " CANARYPASSWORD0123456789 and more\u2028forged\u202Eline");
        var shown = scrubber.Scrub(e).Message;
        Assert.DoesNotContain("CANARY", shown);
        Assert.DoesNotContain('\u2028', e.Message);
    }

    [Fact]
    public void A_short_token_is_masked_only_as_a_whole_word()
    {
        var scrubber = new SecretScrubber();
        scrubber.Add("sha256");
        Assert.Equal("digest sha256:abc, token ***", scrubber.Scrub("digest sha256:abc, token sha256"));
    }

    [Theory]
    [InlineData(Host, "http://auth.example.test/token", false)]          // verified HTTPS registry, plain realm elsewhere
    [InlineData("127.0.0.1:5000", "http://127.0.0.1:5001/token", true)] // loopback registry, its own host
    [InlineData("127.0.0.1:5000", "http://127.0.0.2:5001/token", false)]// loopback registry, another host
    [InlineData("127.0.0.1:5000", "http://auth.example.test/token", false)]
    public async Task Credentials_go_to_a_plain_HTTP_token_realm_only_on_the_registrys_own_host(string registry, string realm, bool allowed)
    {
        var handler = new ScriptedHandler((req, _) =>
        {
            if (req.RequestUri!.AbsolutePath == "/token") return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("{\"token\":\"tok\",\"expires_in\":300}") };
            if (req.Headers.Authorization?.Parameter == "tok") return new HttpResponseMessage(HttpStatusCode.NotFound);
            return new HttpResponseMessage(HttpStatusCode.Unauthorized) { Headers = { { "WWW-Authenticate", $"Bearer realm=\"{realm}\",service=\"svc\"" } } };
        });
        var client = Factory(handler, host: registry).Get(registry, "team/app");

        if (allowed)
        {
            Assert.Null(await client.HeadManifestAsync("team/app", "v1", CancellationToken.None));
        }
        else
        {
            var e = await Assert.ThrowsAsync<RegistryException>(() => client.HeadManifestAsync("team/app", "v1", CancellationToken.None));
            Assert.Equal(ErrorIds.InsecureTokenRealm, e.ErrorId);
            Assert.DoesNotContain(handler.Seen, s => s.Uri.AbsolutePath == "/token" && s.Authorization != null);
        }
    }

    [Theory]
    [InlineData("{\"token\":\"tok\",\"expires_in\":99999999999}", null)]
    [InlineData("{\"token\":\"tok\",\"expires_in\":\"soon\"}", null)]
    [InlineData("{\"token\":\"tok\",\"expires_in\":1e400}", null)]
    [InlineData("{\"expires_in\":300}", ErrorIds.RegistryProtocolError)]
    [InlineData("{\"token\":\"tok\\r\\nX-Injected: 1\"}", ErrorIds.RegistryProtocolError)]
    [InlineData("{\"token\":\"two words\"}", ErrorIds.RegistryProtocolError)]
    [InlineData("<html>not json</html>", ErrorIds.RegistryProtocolError)]
    [InlineData("[\"token\"]", ErrorIds.RegistryProtocolError)]
    public async Task Junk_token_answers_are_clean_errors_and_odd_lifetimes_are_clamped(string answer, string? expectedId)
    {
        var handler = new ScriptedHandler((req, _) =>
        {
            if (req.RequestUri!.Host == "auth.example.test") return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(answer) };
            if (req.Headers.Authorization?.Parameter == "tok") return new HttpResponseMessage(HttpStatusCode.NotFound);
            return new HttpResponseMessage(HttpStatusCode.Unauthorized) { Headers = { { "WWW-Authenticate", $"Bearer realm=\"https://auth.example.test/token\",service=\"svc\"" } } };
        });
        var call = Factory(handler).Get(Host, "team/app").HeadManifestAsync("team/app", "v1", CancellationToken.None);
        if (expectedId == null) Assert.Null(await call);
        else Assert.Equal(expectedId, (await Assert.ThrowsAsync<RegistryException>(() => call)).ErrorId);
    }

    [Fact]
    public async Task Secrets_a_registry_echoes_are_masked_in_logs_and_scrubbed_errors()
    {
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:" + Canary));
        var log = new RecordingLog();
        var handler = new ScriptedHandler((req, _) =>
        {
            if (req.RequestUri!.AbsolutePath == "/v2/")
                return new HttpResponseMessage(HttpStatusCode.Unauthorized) { Headers = { { "WWW-Authenticate", "Basic realm=\"r\"" } } };
            var body = "{\"errors\":[{\"code\":\"DENIED\",\"message\":\"you sent " + req.Headers.Authorization + " i.e. " + Canary + " and " + Uri.EscapeDataString(Canary + "/") + " see https://alice:" + Canary + "@x.test/\"}]}";
            return new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = new StringContent(body) };
        });
        var factory = Factory(handler, configure: o => o.Log = log);
        var raw = await Assert.ThrowsAsync<RegistryException>(() => factory.Get(Host, "team/app").GetManifestAsync("team/app", "v1", CancellationToken.None));
        factory.Log.Write(OciLogLevel.Warning, raw.Message);

        var scrubbed = factory.Scrubber.Scrub(raw);
        Assert.IsType<RegistryException>(scrubbed);
        Assert.Equal(raw.ErrorId, ((RegistryException)scrubbed).ErrorId);
        foreach (var text in new[] { scrubbed.Message, log.Lines.Single(l => l.Level == OciLogLevel.Warning).Text })
        {
            Assert.DoesNotContain(Canary, text);
            Assert.DoesNotContain(basic, text);
            Assert.Contains(SecretScrubber.Mask, text);
        }
    }

    [Theory]
    [InlineData("GET https://u:p4ssw0rd@host.test/v2/ failed", "GET https://***@host.test/v2/ failed")]
    [InlineData("see http://a@b@host.test:5000/x and ftp://plain.test/", "see http://***@host.test:5000/x and ftp://plain.test/")]
    [InlineData("no url here", "no url here")]
    public void Userinfo_in_any_URL_is_masked(string text, string expected) =>
        Assert.Equal(expected, SecretScrubber.None.Scrub(text));

    [Fact]
    public void Every_form_a_password_travels_in_is_masked_but_short_ones_only_as_words()
    {
        var store = new CredentialStore(new[]
        {
            new RegistryCredential("a.test", "alice", RegistryCredential.ToSecureString("p+ss/wörd\"x")),
            new RegistryCredential("b.test", "bob", RegistryCredential.ToSecureString("ab")),
        });
        var scrubber = new SecretScrubber(store);
        var pair = Convert.ToBase64String(Encoding.UTF8.GetBytes("alice:p+ss/wörd\"x"));
        foreach (var form in new[] { "p+ss/wörd\"x", Uri.EscapeDataString("p+ss/wörd\"x"), pair, pair.TrimEnd('='), "p+ss/wörd\\\"x", System.Text.Json.JsonSerializer.Serialize("p+ss/wörd\"x").Trim('"') })
            Assert.Equal("[***]", scrubber.Scrub("[" + form + "]"));
        Assert.Equal("tab, *** and abc", scrubber.Scrub("tab, ab and abc"));

        scrubber.Add("eyJ-token-value");
        Assert.Equal("Bearer ***", scrubber.Scrub("Bearer eyJ-token-value"));
    }

    [Fact]
    public async Task A_blob_that_trickles_below_the_minimum_rate_is_a_timeout_not_a_hang()
    {
        var bytes = new byte[4096];
        var stream = new VerifyingStream(new TrickleStream(bytes, TimeSpan.FromMilliseconds(30)), DigestCalculator.Sha256(bytes), bytes.Length)
        {
            MinimumRate = 1000,
            RateWindow = TimeSpan.FromMilliseconds(400),
        };
        var buffer = new byte[1024];
        var e = await Assert.ThrowsAsync<TimeoutException>(async () => { while (await stream.ReadAsync(buffer) > 0) { } }).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("below the minimum of 1000 bytes/s", e.Message);
        Assert.Equal(ErrorIds.RegistryTimeout, ErrorIds.Of(e));
    }

    [Fact]
    public void A_catastrophic_tag_regex_stops_at_its_budget_with_its_own_error_id()
    {
        var filter = new TagFilter(TagFilter.Compile("(a+)+$"), TimeSpan.FromMilliseconds(500));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var e = Assert.Throws<TagRegexBudgetException>(() =>
        {
            for (int i = 0; i < 60; i++) filter.IsMatch(new string('a', 18 + i % 6) + "!");
        });
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.Equal(ErrorIds.TagRegexTimeout, ErrorIds.Of(e));
        Assert.Equal(ErrorIds.TagRegexTimeout, ErrorIds.Of(new RegexMatchTimeoutException()));
    }

    [Theory]
    [InlineData("{\"mediaType\":\"x\",\"digest\":\"sha256:../../x\",\"size\":1}")]
    [InlineData("{\"mediaType\":\"x\",\"digest\":\"sha256:ABCDEF\",\"size\":1}")]
    [InlineData("{\"mediaType\":\"x\",\"digest\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\",\"size\":-1}")]
    [InlineData("{\"mediaType\":\"x\",\"digest\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\",\"size\":1e30}")]
    [InlineData("{\"mediaType\":\"x\",\"digest\":\"sha256:0000000000000000000000000000000000000000000000000000000000000000\",\"size\":\"1\"}")]
    [InlineData("17")]
    public void A_descriptor_with_a_bad_digest_or_size_makes_the_manifest_invalid(string layer)
    {
        var bytes = Encoding.UTF8.GetBytes("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"layers\":[" + layer + "]}");
        Assert.Throws<FormatException>(() => Manifest.Parse(bytes, null));
    }

    [Theory]
    [InlineData("application/vnd.oci.image.manifest.v1+json\r\nX-Injected: 1")]
    [InlineData("no-slash")]
    [InlineData("a/b c")]
    public void A_manifest_media_type_that_could_not_be_a_header_makes_the_manifest_invalid(string mediaType)
    {
        var bytes = Encoding.UTF8.GetBytes("{\"schemaVersion\":2,\"mediaType\":" + System.Text.Json.JsonSerializer.Serialize(mediaType) + ",\"layers\":[]}");
        Assert.Throws<FormatException>(() => Manifest.Parse(bytes, null));
    }

    [Fact]
    public async Task Manifest_bytes_damaged_on_the_way_are_a_digest_mismatch_worth_retrying_even_when_they_no_longer_parse()
    {
        var good = Encoding.UTF8.GetBytes("{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"layers\":[]}");
        var digest = DigestCalculator.Sha256(good);
        var damaged = (byte[])good.Clone();
        damaged[0] = (byte)'}';
        var handler = new ScriptedHandler((req, _) => req.RequestUri!.AbsolutePath == "/v2/" ? new HttpResponseMessage(HttpStatusCode.OK)
            : new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(damaged) });
        var e = await Assert.ThrowsAsync<DigestMismatchException>(() =>
            Factory(handler, user: null).Get(Host, "team/app").GetManifestAsync("team/app", digest.ToString(), CancellationToken.None));
        Assert.Equal(ErrorIds.DigestMismatch, ErrorIds.Of(e));
    }

    [Fact]
    public async Task A_registrys_error_text_is_one_bounded_line_in_the_message()
    {
        var handler = new ScriptedHandler((req, _) => req.RequestUri!.AbsolutePath == "/v2/" ? new HttpResponseMessage(HttpStatusCode.OK)
            : ScriptedHandler.Status(HttpStatusCode.BadRequest,
                "{\"errors\":[{\"code\":\"X\",\"message\":\"first\\n2026-12-01 00:00:00 INFO forged line " + new string('z', 20000) + "\"}]}"));
        var e = await Assert.ThrowsAsync<RegistryException>(() => Factory(handler, user: null).Get(Host, "team/app").GetManifestAsync("team/app", "v1", CancellationToken.None));

        Assert.DoesNotContain('\n', e.Message);
        Assert.True(e.Message.Length < 1400, $"{e.Message.Length} characters");
        Assert.Contains("characters)", e.Message);
    }

    private sealed class RecordingLog : IOciLog
    {
        public List<(OciLogLevel Level, string Text)> Lines { get; } = new();
        public void Write(OciLogLevel level, string message) { lock (Lines) Lines.Add((level, message)); }
    }

    /// <summary>Hands out one byte per read after a pause: a slow-loris body.</summary>
    private sealed class TrickleStream : System.IO.Stream
    {
        private readonly byte[] _bytes;
        private readonly TimeSpan _pause;
        private int _at;
        public TrickleStream(byte[] bytes, TimeSpan pause) { _bytes = bytes; _pause = pause; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => _bytes.Length;
        public override long Position { get => _at; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            if (_at >= _bytes.Length) return 0;
            await Task.Delay(_pause, cancellationToken);
            buffer[offset] = _bytes[_at++];
            return 1;
        }
        public override void Flush() { }
        public override long Seek(long offset, System.IO.SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
