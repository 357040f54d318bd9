using System;
using System.Net.Http;
using OciSync.Core.Transport;

namespace OciSync.Core.Registry
{
    /// <summary>Settings shared by every registry client of one run.</summary>
    public sealed class RegistryClientOptions
    {
        /// <summary>How requests are retried, and each attempt's response timeout.</summary>
        public RetryPolicy Retry { get; set; } = new RetryPolicy();
        /// <summary>Where diagnostics go (the factory scrubs every line first); <see cref="NullOciLog"/> by default.</summary>
        public IOciLog Log { get; set; } = NullOciLog.Instance;
        /// <summary>Called for every request that reaches the network (counting in tests, listing with -Debug).</summary>
        public Action<HttpRequestMessage, HttpResponseMessage?>? RequestObserver { get; set; }
        /// <summary>The HTTP proxy; null: HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY from the environment, read alike on every runtime (none set: the platform's default).</summary>
        public Transport.ProxySettings? Proxy { get; set; }
        /// <summary>Replaces the shared socket handler; tests use it to script faults.</summary>
        public Func<bool, HttpMessageHandler>? SocketHandlerFactory { get; set; }
        /// <summary>Largest manifest accepted (the OCI spec suggests registries accept at least 4 MiB).</summary>
        public int MaxManifestBytes { get; set; } = 4 * 1024 * 1024;
        /// <summary>Largest non-blob answer read into memory (a page of tags, an error, an upload reply).</summary>
        public int MaxBufferedBodyBytes { get; set; } = 16 * 1024 * 1024;
        /// <summary>Longest time a blob transfer may move no byte, whichever side stalls.</summary>
        public TimeSpan BlobIdleTimeout { get; set; } = TimeSpan.FromSeconds(120);
        /// <summary>
        /// How long the /v2/ ping and token requests wait for an answer, per attempt. They are small, so
        /// a registry behind a black-holing firewall is given up sooner than with the general response timeout.
        /// </summary>
        public TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(30);
        /// <summary>Tags asked for per page; registries may return fewer and page with <c>Link</c> headers.</summary>
        public int TagPageSize { get; set; } = 1000;
        /// <summary>Repositories asked for per catalog page (<c>/v2/_catalog?n=</c>); distribution 2.8 serves at most 1000 (its <c>catalog.maxentries</c>).</summary>
        public int CatalogPageSize { get; set; } = 1000;
        /// <summary>Most repositories one catalog may list; a larger catalog is an error rather than unbounded memory.</summary>
        public int MaxRepositories { get; set; } = 200000;
        /// <summary>Most pages one tag listing (or catalog listing) may take (a registry that pages for ever is cut off).</summary>
        public int MaxTagPages { get; set; } = 10000;
        /// <summary>Most tags one repository may list; a larger listing is an error rather than unbounded memory.</summary>
        public int MaxTags { get; set; } = 500000;
        /// <summary>
        /// Slowest blob transfer tolerated, in bytes per second averaged over <see cref="TransferRateWindow"/>
        /// (0 = no minimum). The idle timeout alone cannot catch a server that trickles a byte every few seconds.
        /// </summary>
        public long MinimumTransferRate { get; set; } = 1024;
        /// <summary>The span <see cref="MinimumTransferRate"/> is averaged over.</summary>
        public TimeSpan TransferRateWindow { get; set; } = TimeSpan.FromSeconds(60);
        /// <summary>The User-Agent header of every request; <c>OciSync/</c> and the assembly version by default.</summary>
        public string UserAgent { get; set; } = "OciSync/" + typeof(RegistryClientOptions).Assembly.GetName().Version?.ToString(3);

        /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a setting is out of range; the factory calls it.</summary>
        public void Validate()
        {
            Retry.Validate();
            if (MaxManifestBytes <= 0) throw new ArgumentOutOfRangeException(nameof(MaxManifestBytes));
            if (MaxBufferedBodyBytes <= 0) throw new ArgumentOutOfRangeException(nameof(MaxBufferedBodyBytes));
            if (TagPageSize < 1) throw new ArgumentOutOfRangeException(nameof(TagPageSize));
            if (MaxTagPages < 1) throw new ArgumentOutOfRangeException(nameof(MaxTagPages));
            if (MaxTags < 1) throw new ArgumentOutOfRangeException(nameof(MaxTags));
            if (CatalogPageSize < 1) throw new ArgumentOutOfRangeException(nameof(CatalogPageSize));
            if (MaxRepositories < 1) throw new ArgumentOutOfRangeException(nameof(MaxRepositories));
            if (MinimumTransferRate < 0) throw new ArgumentOutOfRangeException(nameof(MinimumTransferRate));
            if (TransferRateWindow <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(TransferRateWindow));
            if (BlobIdleTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(BlobIdleTimeout));
            if (PingTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(PingTimeout));
        }
    }
}
