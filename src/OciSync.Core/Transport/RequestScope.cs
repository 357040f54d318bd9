using System.Net.Http;

namespace OciSync.Core.Transport
{
    /// <summary>The token scope a request needs travels with the request, so the auth handler can ask for it.</summary>
    internal static class RequestScope
    {
        private const string Key = "OciSync.Scope";
        private const string CertificateKey = "OciSync.CertificateRejected";

        public static string Pull(string repository) => $"repository:{repository}:pull";
        public static string PullPush(string repository) => $"repository:{repository}:pull,push";
        /// <summary>What a manifest DELETE needs (distribution asks for the <c>delete</c> action).</summary>
        public static string Delete(string repository) => $"repository:{repository}:delete";
        /// <summary>The registry's repository list (<c>/v2/_catalog</c>), as distribution's token auth names it.</summary>
        public const string Catalog = "registry:catalog:*";

#pragma warning disable CS0618 // Properties is the netstandard2.0 spelling of Options.
        public static void Set(HttpRequestMessage request, string scope) => request.Properties[Key] = scope;
        public static string? Get(HttpRequestMessage request) => request.Properties.TryGetValue(Key, out var s) ? s as string : null;

        public static void NoteCertificateRejected(HttpRequestMessage request, System.Net.Security.SslPolicyErrors errors) => request.Properties[CertificateKey] = errors;
        public static System.Net.Security.SslPolicyErrors? CertificateRejection(HttpRequestMessage request) =>
            request.Properties.TryGetValue(CertificateKey, out var e) ? e as System.Net.Security.SslPolicyErrors? : null;

        /// <summary>
        /// An attempt's response deadline that starts only when a handler below says so: the registry's throttle starts
        /// it once the request has its turn, so time queued behind other requests or a shared pause is not "no answer".
        /// </summary>
        public static void DeferDeadline(HttpRequestMessage request, System.Action start) => request.Properties[DeadlineKey] = start;
        public static void StartDeadline(HttpRequestMessage request)
        {
            if (request.Properties.TryGetValue(DeadlineKey, out var start) && start is System.Action go) go();
        }
        private const string DeadlineKey = "OciSync.Deadline";

        /// <summary>A copy for a replay: same method, URL, headers, properties and (replayable) content.</summary>
        public static HttpRequestMessage Clone(HttpRequestMessage request, System.Uri? uri = null)
        {
            var copy = new HttpRequestMessage(request.Method, uri ?? request.RequestUri) { Version = request.Version };
            foreach (var h in request.Headers) copy.Headers.TryAddWithoutValidation(h.Key, h.Value);
            foreach (var p in request.Properties) copy.Properties[p.Key] = p.Value;
            copy.Content = request.Content;
            return copy;
        }
#pragma warning restore CS0618

        /// <summary>Only bodies held in memory can be sent again; a streamed blob cannot.</summary>
        public static bool IsReplayable(HttpRequestMessage request) => request.Content == null || request.Content is ByteArrayContent;
    }
}
