using System;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace OciSync.Core.Transport
{
    /// <summary>Tells an observer about every request that reaches the network (tests count them; -Debug lists them).</summary>
    internal sealed class ObservingHandler : DelegatingHandler
    {
        private readonly Action<HttpRequestMessage, HttpResponseMessage?> _observer;

        public ObservingHandler(Action<HttpRequestMessage, HttpResponseMessage?> observer, HttpMessageHandler inner) : base(inner)
        {
            _observer = observer;
        }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            HttpResponseMessage? response = null;
            try
            {
                response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
                return response;
            }
            finally
            {
                _observer(request, response);
            }
        }
    }
}
