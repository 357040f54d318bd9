using System;
using System.Collections;
using System.Collections.Generic;
using OciSync.Core.References;

namespace OciSync.Core.Auth
{
    /// <summary>
    /// Registry credentials keyed by <c>registry</c> or <c>registry/namespace[/…]</c>. A lookup
    /// takes the longest key that is a prefix of <c>registry/repository</c> ending on a '/'
    /// boundary (or equal to it). Adding a key that is already present replaces the entry.
    /// Thread-safe.
    /// </summary>
    public sealed class CredentialStore : IEnumerable<RegistryCredential>
    {
        private readonly object _gate = new object();
        // Insertion order is kept for enumeration; a replaced key keeps its first position.
        private readonly List<string> _order = new List<string>();
        private readonly Dictionary<string, RegistryCredential> _byKey = new Dictionary<string, RegistryCredential>(StringComparer.Ordinal);

        /// <summary>An empty store.</summary>
        public CredentialStore() { }

        /// <summary>A store of <paramref name="credentials"/>, added in order (a repeated key keeps the later entry).</summary>
        public CredentialStore(IEnumerable<RegistryCredential> credentials) => AddRange(credentials);

        /// <summary>The number of entries, one per key.</summary>
        public int Count { get { lock (_gate) return _byKey.Count; } }

        /// <summary>Changes whenever an entry is added or replaced (the secret scrubber rebuilds its list then).</summary>
        public int Version { get { lock (_gate) return _version; } }
        private int _version;

        /// <summary>Adds an entry, replacing any with the same key (compared normalised, the host case-insensitively).</summary>
        public void Add(RegistryCredential credential)
        {
            if (credential == null) throw new ArgumentNullException(nameof(credential));
            var key = LookupKey(credential.Key);
            lock (_gate)
            {
                if (!_byKey.ContainsKey(key)) _order.Add(key);
                _byKey[key] = credential;
                _version++;
            }
        }

        /// <summary>Adds each entry in order, as <see cref="Add"/> does.</summary>
        public void AddRange(IEnumerable<RegistryCredential> credentials)
        {
            if (credentials == null) throw new ArgumentNullException(nameof(credentials));
            foreach (var c in credentials) Add(c);
        }

        /// <summary>The entry for a repository (tag and digest are ignored), or null: anonymous.</summary>
        public RegistryCredential? Find(ImageReference repository)
        {
            if (repository == null) throw new ArgumentNullException(nameof(repository));
            return Find(repository.Registry, repository.Repository);
        }

        /// <summary>The entry for <c>registry/repository</c>, or null: anonymous.</summary>
        public RegistryCredential? Find(string registry, string repository)
        {
            if (registry == null) throw new ArgumentNullException(nameof(registry));
            var host = LookupKey(registry);
            var path = (repository ?? string.Empty).Trim('/');
            if (host == ImageReference.DockerHub && path.Length > 0 && path.IndexOf('/') < 0) path = "library/" + path;
            var target = path.Length == 0 ? host : host + "/" + path;

            lock (_gate)
            {
                RegistryCredential? best = null;
                int bestLength = -1;
                foreach (var pair in _byKey)
                {
                    var key = pair.Key;
                    if (key.Length <= bestLength) continue;
                    bool matches = target.Length == key.Length
                        ? string.Equals(target, key, StringComparison.Ordinal)
                        : target.Length > key.Length && target[key.Length] == '/' && target.StartsWith(key, StringComparison.Ordinal);
                    if (!matches) continue;
                    best = pair.Value;
                    bestLength = key.Length;
                }
                return best;
            }
        }

        /// <summary>True if any entry for <paramref name="registry"/> (whatever its namespace) says insecure.</summary>
        public bool IsInsecure(string registry)
        {
            if (registry == null) throw new ArgumentNullException(nameof(registry));
            var host = LookupKey(registry);
            var slash = host.IndexOf('/');
            if (slash >= 0) host = host.Substring(0, slash);
            lock (_gate)
            {
                foreach (var pair in _byKey)
                {
                    if (!pair.Value.Insecure) continue;
                    var key = pair.Key;
                    if (key.Length == host.Length ? key == host : key.Length > host.Length && key[host.Length] == '/' && key.StartsWith(host, StringComparison.Ordinal))
                        return true;
                }
            }
            return false;
        }

        /// <summary>The TLS settings for <paramref name="registry"/>: those of its host's own entry, else of the first of its namespace entries that has some; null when none has.</summary>
        public Transport.RegistryTls? TlsFor(string registry) => HostSetting(registry, c => c.Tls);

        /// <summary>The request limits for <paramref name="registry"/>, found as <see cref="TlsFor"/> finds TLS settings.</summary>
        public Transport.RegistryLimits? LimitsFor(string registry) => HostSetting(registry, c => c.Limits);

        // A transport setting belongs to the host, whichever of its entries gave it.
        private T? HostSetting<T>(string registry, Func<RegistryCredential, T?> setting) where T : class
        {
            if (registry == null) throw new ArgumentNullException(nameof(registry));
            var host = LookupKey(registry).Split('/')[0];
            lock (_gate)
            {
                if (_byKey.TryGetValue(host, out var own) && setting(own) is { } mine) return mine;
                foreach (var key in _order)
                    if (key.StartsWith(host + "/", StringComparison.Ordinal) && setting(_byKey[key]) is { } found) return found;
            }
            return null;
        }

        /// <summary>A snapshot of the entries, in the order their keys were first added.</summary>
        public IEnumerator<RegistryCredential> GetEnumerator()
        {
            List<RegistryCredential> snapshot;
            lock (_gate)
            {
                snapshot = new List<RegistryCredential>(_order.Count);
                foreach (var key in _order) snapshot.Add(_byKey[key]);
            }
            return snapshot.GetEnumerator();
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        /// <summary>
        /// The key as lookups compare it: <see cref="RegistryCredential.NormalizeKey"/>, the host
        /// lower-cased (host names are case-insensitive), and Docker's own
        /// <c>https://index.docker.io/v1/</c> spelling read as <c>docker.io</c>.
        /// </summary>
        internal static string LookupKey(string key)
        {
            var k = RegistryCredential.NormalizeKey(key);
            var slash = k.IndexOf('/');
            var host = (slash < 0 ? k : k.Substring(0, slash)).ToLowerInvariant();
            var rest = slash < 0 ? string.Empty : k.Substring(slash);
            if (host == ImageReference.DockerHub && (rest == "/v1" || rest == "/v2")) rest = string.Empty;
            return host + rest;
        }
    }
}
