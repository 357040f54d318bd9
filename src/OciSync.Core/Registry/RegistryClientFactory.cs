using System;
using System.Collections.Concurrent;
using OciSync.Core.Auth;

namespace OciSync.Core.Registry
{
    /// <summary>
    /// Hands out one <see cref="RegistryClient"/> per registry and credential for the life of a run,
    /// so pings, challenges and tokens are reused across every image of that registry.
    /// </summary>
    public sealed class RegistryClientFactory
    {
        private readonly ConcurrentDictionary<string, RegistryClient> _clients = new ConcurrentDictionary<string, RegistryClient>(StringComparer.Ordinal);
        private readonly ConcurrentDictionary<string, Transport.RegistryThrottle> _throttles = new ConcurrentDictionary<string, Transport.RegistryThrottle>(StringComparer.Ordinal);

        /// <summary>A factory for one run; null <paramref name="options"/> are the defaults, null <paramref name="credentials"/> none. The options are validated here.</summary>
        /// <param name="dockerCredentials">Asked for a registry that <paramref name="credentials"/> leaves anonymous (docker's and podman's files and helpers); null: never.</param>
        public RegistryClientFactory(RegistryClientOptions? options = null, CredentialStore? credentials = null, DockerCredentials? dockerCredentials = null)
        {
            DockerCredentials = dockerCredentials;
            Options = options ?? new RegistryClientOptions();
            Options.Validate();
            Credentials = credentials ?? new CredentialStore();
            Scrubber = new SecretScrubber(Credentials);
            Log = new ScrubbingLog(Options.Log, Scrubber);
        }

        /// <summary>The settings every client of this factory shares.</summary>
        public RegistryClientOptions Options { get; }
        /// <summary>Docker's and podman's credentials, asked after <see cref="Credentials"/>; null when not used.</summary>
        public DockerCredentials? DockerCredentials { get; }
        /// <summary>The credentials clients are given, matched by registry and repository.</summary>
        public CredentialStore Credentials { get; }
        /// <summary>Masks this run's passwords and tokens in anything shown, logged or put in a result.</summary>
        public SecretScrubber Scrubber { get; }
        /// <summary><see cref="RegistryClientOptions.Log"/> with every line scrubbed; all of Core writes here.</summary>
        public Transport.IOciLog Log { get; }
        /// <summary>What this factory's clients did that a run reports: requests retried.</summary>
        public Transport.RequestStatistics Statistics { get; } = new Transport.RequestStatistics();

        /// <summary>The client for <paramref name="registry"/>/<paramref name="repository"/>, using the longest matching credential.</summary>
        public RegistryClient Get(string registry, string repository)
        {
            var credential = Credentials.Find(registry, repository);
            // Explicit credentials first (a -Credential, the auth file); docker's files only for what they leave anonymous.
            if ((credential == null || credential.IsAnonymous) && DockerCredentials?.Find(registry, repository, Log) is { } docker)
            {
                Scrubber.Add(docker); // as the store's passwords are masked: the secret, user:secret and their base64
                credential = credential == null ? docker : credential.WithIdentityOf(docker);
            }
            // Transport settings are the host's: insecure from any of its entries, TLS files from the nearest entry that has them.
            var insecure = credential?.Insecure == true || Credentials.IsInsecure(registry);
            var tls = credential?.Tls ?? Credentials.TlsFor(registry);
            if (credential == null && (insecure || tls != null)) credential = new RegistryCredential(registry, null, null, insecure, tls: tls);
            else if (credential != null) credential = credential.WithTransport(insecure, tls);
            var key = registry + "|" + (credential?.Key ?? string.Empty) + "|" + insecure + "|" + credential?.Tls?.PoolKey;
            // One pace per registry, shared by every client of it (each credential has its own client).
            var throttle = _throttles.GetOrAdd(CredentialStore.LookupKey(registry), _ => new Transport.RegistryThrottle(registry, Credentials.LimitsFor(registry), Log));
            return _clients.GetOrAdd(key, _ => new RegistryClient(registry, credential, Options, Log, Scrubber, Statistics, throttle));
        }

        /// <summary>The client for the registry and repository of <paramref name="reference"/>.</summary>
        public RegistryClient Get(References.ImageReference reference) => Get(reference.Registry, reference.Repository);

        /// <summary>The clients made so far.</summary>
        internal System.Collections.Generic.ICollection<RegistryClient> Clients => _clients.Values;

        /// <summary>Registries whose ping failed get another one on their next request (a retry pass).</summary>
        public void ForgetFailedPings()
        {
            foreach (var client in _clients.Values) client.ForgetFailedPing();
        }
    }
}
