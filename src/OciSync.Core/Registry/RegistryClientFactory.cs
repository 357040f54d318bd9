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

        /// <summary>A factory for one run; null <paramref name="options"/> are the defaults, null <paramref name="credentials"/> none. The options are validated here.</summary>
        public RegistryClientFactory(RegistryClientOptions? options = null, CredentialStore? credentials = null)
        {
            Options = options ?? new RegistryClientOptions();
            Options.Validate();
            Credentials = credentials ?? new CredentialStore();
            Scrubber = new SecretScrubber(Credentials);
            Log = new ScrubbingLog(Options.Log, Scrubber);
        }

        /// <summary>The settings every client of this factory shares.</summary>
        public RegistryClientOptions Options { get; }
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
            var insecure = credential?.Insecure == true || Credentials.IsInsecure(registry);
            if (credential == null && insecure) credential = new RegistryCredential(registry, null, null, insecure: true);
            else if (credential != null && insecure && !credential.Insecure)
                credential = new RegistryCredential(credential.Key, credential.Username, credential.Password, insecure: true, credential.Origin);
            var key = registry + "|" + (credential?.Key ?? string.Empty) + "|" + insecure;
            return _clients.GetOrAdd(key, _ => new RegistryClient(registry, credential, Options, Log, Scrubber, Statistics));
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
