using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using OciSync.Core.Auth;
using OciSync.Core.Content;
using OciSync.Core.References;
using OciSync.Core.Registry;
using OciSync.Core.Transport;
using Xunit;

namespace OciSync.Core.Tests.Transport;

/// <summary>Auth, redirect and retry behaviour against scripted responses (faults a real registry won't produce on demand).</summary>
public sealed class TransportTests
{
    private const string Host = "registry.example.test";
    private static readonly byte[] BlobBytes = Encoding.UTF8.GetBytes("hello blob");
    private static readonly Descriptor Blob = new("application/octet-stream", DigestCalculator.Sha256(BlobBytes), BlobBytes.Length);

    private static RegistryClient Client(ScriptedHandler handler, string? user = "alice", string? password = "s3cret-canary", RetryPolicy? retry = null, TimeSpan? pingTimeout = null)
    {
        var store = new CredentialStore();
        if (user != null) store.Add(new RegistryCredential(Host, user, RegistryCredential.ToSecureString(password)));
        var factory = new RegistryClientFactory(new RegistryClientOptions
        {
            SocketHandlerFactory = _ => handler,
            Retry = retry ?? new RetryPolicy { BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromSeconds(2) },
            PingTimeout = pingTimeout ?? TimeSpan.FromSeconds(30),
        }, store);
        return factory.Get(Host, "team/app");
    }

    private static HttpResponseMessage BearerChallenge() => new(HttpStatusCode.Unauthorized)
    {
        Headers = { { "WWW-Authenticate", $"Bearer realm=\"https://auth.example.test/token\",service=\"{Host}\"" } },
    };

    private static HttpResponseMessage TokenResponse(string token) => new(HttpStatusCode.OK)
    {
        Content = new StringContent($"{{\"token\":\"{token}\",\"expires_in\":300}}"),
    };

    [Fact]
    public async Task A_redirected_blob_download_carries_no_authorization_to_the_other_host()
    {
        var handler = new ScriptedHandler((req, _) => req.RequestUri!.Host switch
        {
            "auth.example.test" => TokenResponse("tok-1"),
            "storage.example.test" => new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(BlobBytes) },
            _ when req.RequestUri.AbsolutePath == "/v2/" => BearerChallenge(),
            _ when req.Headers.Authorization?.Parameter != "tok-1" => BearerChallenge(),
            _ => new HttpResponseMessage(HttpStatusCode.TemporaryRedirect) { Headers = { Location = new Uri("https://storage.example.test/blob?sig=abc") } },
        });

        using var stream = await Client(handler).OpenBlobAsync("team/app", Blob, null, CancellationToken.None);
        var buffer = new byte[64];
        while (await stream.ReadAsync(buffer) > 0) { }

        var toRegistry = handler.Seen.Single(s => s.Uri.AbsolutePath.StartsWith("/v2/team/app/blobs/"));
        Assert.Equal("Bearer tok-1", toRegistry.Authorization);
        var toStorage = handler.Seen.Single(s => s.Uri.Host == "storage.example.test");
        Assert.Null(toStorage.Authorization);
    }

    [Fact]
    public async Task Tokens_are_fetched_once_per_scope_and_reused()
    {
        var handler = new ScriptedHandler((req, _) => req.RequestUri!.Host switch
        {
            "auth.example.test" => TokenResponse("tok-" + req.RequestUri.Query.Length),
            _ when req.RequestUri.AbsolutePath == "/v2/" => BearerChallenge(),
            _ when req.Headers.Authorization == null => BearerChallenge(),
            _ => new HttpResponseMessage(HttpStatusCode.OK),
        });
        var client = Client(handler);
        for (int i = 0; i < 5; i++) Assert.True(await client.BlobExistsAsync("team/app", Blob.Digest, CancellationToken.None));

        Assert.Single(handler.Seen, s => s.Uri.Host == "auth.example.test");
        Assert.Equal(1, handler.Seen.Count(s => s.Uri.AbsolutePath == "/v2/"));
        // Known challenge: every HEAD went out with the token up front, no 401 round trips.
        Assert.Equal(5, handler.Seen.Count(s => s.Uri.AbsolutePath.Contains("/blobs/")));
        var tokenRequest = handler.Seen.Single(s => s.Uri.Host == "auth.example.test");
        Assert.StartsWith("Basic ", tokenRequest.Authorization);
        Assert.Contains("scope=repository%3Ateam%2Fapp%3Apull", tokenRequest.Uri.Query);
    }

    [Fact]
    public async Task Server_errors_and_rate_limits_are_retried_honouring_retry_after()
    {
        var manifestCalls = 0;
        var handler = new ScriptedHandler((req, _) =>
        {
            if (req.RequestUri!.AbsolutePath == "/v2/") return new HttpResponseMessage(HttpStatusCode.OK);
            switch (Interlocked.Increment(ref manifestCalls))
            {
                case 1: return ScriptedHandler.Status(HttpStatusCode.ServiceUnavailable);
                case 2: return new HttpResponseMessage((HttpStatusCode)429) { Headers = { RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(1)) } };
                default:
                    var r = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Array.Empty<byte>()) };
                    r.Headers.Add("Docker-Content-Digest", Blob.Digest.ToString());
                    return r;
            }
        });
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var head = await Client(handler, user: null).HeadManifestAsync("team/app", "v1", CancellationToken.None);
        Assert.Equal(Blob.Digest, head!.Digest);
        Assert.Equal(3, manifestCalls);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(0.9), "Retry-After: 1 was not honoured");
    }

    [Fact]
    public async Task A_reset_connection_is_retried_and_a_lasting_failure_stops_after_the_configured_attempts()
    {
        var calls = 0;
        var flaky = new ScriptedHandler((req, _) =>
        {
            if (req.RequestUri!.AbsolutePath == "/v2/") return new HttpResponseMessage(HttpStatusCode.OK);
            if (Interlocked.Increment(ref calls) == 1) throw new HttpRequestException("Connection reset by peer");
            var r = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Array.Empty<byte>()) };
            r.Headers.Add("Docker-Content-Digest", Blob.Digest.ToString());
            return r;
        });
        Assert.Equal(Blob.Digest, (await Client(flaky, user: null).HeadManifestAsync("team/app", "v1", CancellationToken.None))!.Digest);
        Assert.Equal(2, calls);

        var failing = 0;
        var down = new ScriptedHandler((req, _) =>
        {
            if (req.RequestUri!.AbsolutePath == "/v2/") return new HttpResponseMessage(HttpStatusCode.OK);
            Interlocked.Increment(ref failing);
            return ScriptedHandler.Status(HttpStatusCode.BadGateway);
        });
        var retry = new RetryPolicy { MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(5) };
        await Assert.ThrowsAsync<RegistryException>(() => Client(down, user: null, retry: retry).HeadManifestAsync("team/app", "v1", CancellationToken.None));
        Assert.Equal(3, failing); // the first attempt and two retries

        var once = 0;
        var noRetries = new ScriptedHandler((req, _) =>
        {
            if (req.RequestUri!.AbsolutePath == "/v2/") return new HttpResponseMessage(HttpStatusCode.OK);
            Interlocked.Increment(ref once);
            return ScriptedHandler.Status(HttpStatusCode.ServiceUnavailable);
        });
        await Assert.ThrowsAsync<RegistryException>(() => Client(noRetries, user: null, retry: new RetryPolicy { MaxAttempts = 0 }).HeadManifestAsync("team/app", "v1", CancellationToken.None));
        Assert.Equal(1, once);
    }

    [Fact]
    public async Task A_body_that_stalls_after_the_headers_is_a_timeout_not_a_hang()
    {
        var handler = new ScriptedHandler((req, _) =>
        {
            if (req.RequestUri!.AbsolutePath == "/v2/") return new HttpResponseMessage(HttpStatusCode.OK);
            var r = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new EndlessStream(stallAfter: 10)) };
            r.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/vnd.oci.image.manifest.v1+json");
            return r;
        });
        var retry = new RetryPolicy { MaxAttempts = 0, ResponseTimeout = TimeSpan.FromMilliseconds(300) };

        var tags = await Assert.ThrowsAsync<RegistryException>(async () =>
        {
            await foreach (var _ in Client(handler, user: null, retry: retry).ListTagsAsync("team/app").WithCancellation(CancellationToken.None)) { }
        }).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ErrorIds.RegistryTimeout, tags.ErrorId);

        var manifest = await Assert.ThrowsAsync<RegistryException>(() => Client(handler, user: null, retry: retry).GetManifestAsync("team/app", "v1", CancellationToken.None))
            .WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ErrorIds.RegistryTimeout, manifest.ErrorId);

        // A token server that sends its headers and then nothing.
        var tokenStall = new ScriptedHandler((req, _) =>
            req.RequestUri!.Host == "auth.example.test"
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new EndlessStream(stallAfter: 5)) }
                : BearerChallenge());
        var token = await Assert.ThrowsAsync<RegistryException>(() => Client(tokenStall, retry: retry, pingTimeout: TimeSpan.FromMilliseconds(300))
            .HeadManifestAsync("team/app", "v1", CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ErrorIds.RegistryTimeout, token.ErrorId);
    }

    [Fact]
    public async Task A_request_that_times_out_twice_is_not_tried_again()
    {
        var silent = new SilentHandler();
        var factory = new RegistryClientFactory(new RegistryClientOptions
        {
            SocketHandlerFactory = _ => silent,
            PingTimeout = TimeSpan.FromMilliseconds(200),
            Retry = new RetryPolicy { MaxAttempts = 4, BaseDelay = TimeSpan.FromMilliseconds(1) },
        });

        var e = await Assert.ThrowsAsync<RegistryException>(() => factory.Get(Host, "team/app").HeadManifestAsync("team/app", "v1", CancellationToken.None))
            .WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(ErrorIds.RegistryUnreachable, e.ErrorId); // the ping never got an answer
        Assert.Equal(2, silent.Attempts);                      // the first timeout is retried, the second ends it
    }

    /// <summary>Takes every request and never answers.</summary>
    private sealed class SilentHandler : HttpMessageHandler
    {
        private int _attempts;
        public int Attempts => Volatile.Read(ref _attempts);
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _attempts);
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }
    }

    [Fact]
    public async Task Endless_answers_are_cut_off_at_their_size_limit()
    {
        var endless = new List<EndlessStream>();
        var handler = new ScriptedHandler((req, _) =>
        {
            if (req.RequestUri!.AbsolutePath == "/v2/") return new HttpResponseMessage(HttpStatusCode.OK);
            var stream = new EndlessStream(stallAfter: long.MaxValue);
            lock (endless) endless.Add(stream);
            // Tags list: a 200 that never ends. Manifest: an error whose body never ends.
            return req.RequestUri.AbsolutePath.EndsWith("/tags/list", StringComparison.Ordinal)
                ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(stream) }
                : new HttpResponseMessage(HttpStatusCode.InternalServerError) { Content = new StreamContent(stream) };
        });
        var client = Client(handler, user: null, retry: new RetryPolicy { MaxAttempts = 0 });

        var tags = await Assert.ThrowsAsync<RegistryException>(async () =>
        {
            await foreach (var _ in client.ListTagsAsync("team/app")) { }
        }).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(ErrorIds.RegistryProtocolError, tags.ErrorId);

        var error = await Assert.ThrowsAsync<RegistryException>(() => client.GetManifestAsync("team/app", "v1", CancellationToken.None)).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(ErrorIds.RegistryUnavailable, error.ErrorId); // the status still explains it

        lock (endless)
        {
            Assert.Equal(2, endless.Count);
            Assert.InRange(endless[0].Served, 16L * 1024 * 1024, 16L * 1024 * 1024 + 64 * 1024);   // the 16 MiB cap for answers
            Assert.InRange(endless[1].Served, 64L * 1024, 128L * 1024);                            // 64 KiB for an error body
        }
    }

    /// <summary>Serves 'x' bytes for ever, or stalls (until cancelled) after a number of them.</summary>
    private sealed class EndlessStream : System.IO.Stream
    {
        private readonly long _stallAfter;
        private long _served;
        public EndlessStream(long stallAfter) => _stallAfter = stallAfter;
        public long Served => Interlocked.Read(ref _served);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _served; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();
        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            if (_served >= _stallAfter) await Task.Delay(Timeout.Infinite, cancellationToken);
            var n = (int)Math.Min(count, _stallAfter - _served);
            buffer.AsSpan(offset, n).Fill((byte)'x');
            Interlocked.Add(ref _served, n);
            return n;
        }
        public override void Flush() { }
        public override long Seek(long offset, System.IO.SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    [Fact]
    public async Task Refused_credentials_give_a_stable_error_without_the_password()
    {
        var handler = new ScriptedHandler((req, _) => req.RequestUri!.Host == "auth.example.test"
            ? ScriptedHandler.Status(HttpStatusCode.Unauthorized)
            : BearerChallenge());
        var e = await Assert.ThrowsAsync<RegistryException>(() => Client(handler).BlobExistsAsync("team/app", Blob.Digest, CancellationToken.None));
        Assert.Equal(ErrorIds.RegistryUnauthorized, e.ErrorId);
        Assert.DoesNotContain("s3cret-canary", e.ToString());
        Assert.Contains("alice", e.Message);
    }

    [Fact]
    public async Task Credentials_are_not_sent_to_a_plain_http_token_realm()
    {
        var handler = new ScriptedHandler((req, _) => req.RequestUri!.Host == "auth.example.test"
            ? TokenResponse("t")
            : new HttpResponseMessage(HttpStatusCode.Unauthorized) { Headers = { { "WWW-Authenticate", "Bearer realm=\"http://auth.example.test/token\",service=\"x\"" } } });
        var e = await Assert.ThrowsAsync<RegistryException>(() => Client(handler).BlobExistsAsync("team/app", Blob.Digest, CancellationToken.None));
        Assert.Equal(ErrorIds.InsecureTokenRealm, e.ErrorId);
        Assert.DoesNotContain(handler.Seen, s => s.Uri.Host == "auth.example.test");
    }

    [Fact]
    public async Task A_blob_whose_bytes_do_not_match_its_digest_fails_verification()
    {
        var handler = new ScriptedHandler((req, _) => req.RequestUri!.AbsolutePath == "/v2/"
            ? new HttpResponseMessage(HttpStatusCode.OK)
            : new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes("hello BLOB")) });
        using var stream = await Client(handler, user: null).OpenBlobAsync("team/app", Blob, null, CancellationToken.None);
        await Assert.ThrowsAsync<DigestMismatchException>(async () => { var b = new byte[64]; while (await stream.ReadAsync(b) > 0) { } });
    }

    [Fact]
    public async Task Tags_follow_link_pagination_to_the_end()
    {
        var handler = new ScriptedHandler((req, _) =>
        {
            if (req.RequestUri!.AbsolutePath == "/v2/") return new HttpResponseMessage(HttpStatusCode.OK);
            var last = System.Web.HttpUtility.ParseQueryString(req.RequestUri.Query)["last"];
            var (tags, next) = last switch
            {
                null => ("\"a\",\"b\"", "</v2/team/app/tags/list?n=2&last=b>; rel=\"next\""),
                "b" => ("\"c\",\"d\"", "<https://registry.example.test/v2/team/app/tags/list?n=2&last=d>; rel=\"next\""),
                _ => ("\"e\"", null),
            };
            var r = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent($"{{\"name\":\"team/app\",\"tags\":[{tags}]}}") };
            if (next != null) r.Headers.TryAddWithoutValidation("Link", next);
            return r;
        });
        var listed = new System.Collections.Generic.List<string>();
        await foreach (var tag in Client(handler, user: null).ListTagsAsync("team/app")) listed.Add(tag);
        Assert.Equal(new[] { "a", "b", "c", "d", "e" }, listed);
        Assert.Equal(3, handler.Seen.Count(s => s.Uri.AbsolutePath.EndsWith("/tags/list")));
    }

    [Theory]
    [InlineData("Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\",scope=\"repository:library/nginx:pull\"", "Bearer", "https://auth.docker.io/token", "registry.docker.io", "repository:library/nginx:pull")]
    [InlineData("Basic realm=\"Registry Realm\"", "Basic", "Registry Realm", null, null)]
    [InlineData("Bearer realm=\"https://a/t\", service=\"s\", error=\"insufficient_scope\"", "Bearer", "https://a/t", "s", null)]
    public void Challenges_parse(string header, string scheme, string realm, string? service, string? scope)
    {
        var c = AuthChallenge.Parse(header)!;
        Assert.Equal(scheme, c.Scheme);
        Assert.Equal(realm, c.Realm);
        Assert.Equal(service, c.Service);
        Assert.Equal(scope, c.Scope);
    }
}
