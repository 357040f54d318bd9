using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.Core.Tests.Transport;

/// <summary>An HTTP "server" made of a function, recording every request it saw (with its Authorization).</summary>
internal sealed class ScriptedHandler : HttpMessageHandler
{
    private readonly Func<HttpRequestMessage, int, HttpResponseMessage> _respond;
    private int _count;

    public ScriptedHandler(Func<HttpRequestMessage, int, HttpResponseMessage> respond) => _respond = respond;

    public ConcurrentQueue<(HttpMethod Method, Uri Uri, string? Authorization)> Seen { get; } = new();

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Seen.Enqueue((request.Method, request.RequestUri!, request.Headers.Authorization?.ToString()));
        var response = _respond(request, Interlocked.Increment(ref _count));
        response.RequestMessage = request;
        return Task.FromResult(response);
    }

    public static HttpResponseMessage Status(HttpStatusCode status, string? body = null)
    {
        var r = new HttpResponseMessage(status);
        if (body != null) r.Content = new StringContent(body);
        return r;
    }
}
