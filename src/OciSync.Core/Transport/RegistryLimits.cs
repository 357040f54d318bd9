using System;
using System.Linq;

namespace OciSync.Core.Transport
{
    /// <summary>
    /// What a registry's operator asks of clients, set per registry (the auth file's <c>maxConcurrency</c> and
    /// <c>requestsPerSecond</c>, New-RegistryCredential's parameters), on top of the run's own limits.
    /// </summary>
    public sealed class RegistryLimits
    {
        /// <param name="maxConcurrency">Requests awaiting an answer at once at this registry (1–256); null: the run's own limits only.</param>
        /// <param name="requestsPerSecond">Requests started per second (more than 0, at most 10,000); null: no rate limit of its own.</param>
        public RegistryLimits(int? maxConcurrency = null, double? requestsPerSecond = null)
        {
            if (maxConcurrency is { } c && (c < 1 || c > 256)) throw new ArgumentOutOfRangeException(nameof(maxConcurrency), c, "maxConcurrency must be between 1 and 256.");
            if (requestsPerSecond is { } r && (double.IsNaN(r) || r <= 0 || r > 10_000)) throw new ArgumentOutOfRangeException(nameof(requestsPerSecond), r, "requestsPerSecond must be more than 0 and at most 10,000.");
            MaxConcurrency = maxConcurrency;
            RequestsPerSecond = requestsPerSecond;
        }

        /// <summary>Requests awaiting an answer at once, or null.</summary>
        public int? MaxConcurrency { get; }
        /// <summary>Requests started per second, or null.</summary>
        public double? RequestsPerSecond { get; }
        /// <summary>True when neither is set.</summary>
        public bool IsDefault => MaxConcurrency == null && RequestsPerSecond == null;

        /// <summary><c>maxConcurrency 4, 10 requests/s</c>.</summary>
        public override string ToString() =>
            IsDefault ? "no limits of its own"
            : string.Join(", ", new[] { MaxConcurrency is { } c ? $"maxConcurrency {c}" : null, RequestsPerSecond is { } r ? $"{r.ToString(System.Globalization.CultureInfo.InvariantCulture)} requests/s" : null }.Where(s => s != null));
    }
}
