using System;
using System.Collections.Generic;
using System.Linq;

namespace OciSync.Core.Auth
{
    // Placeholder: replaced by the configuration branch's full implementation.
    public sealed class CredentialStore
    {
        private readonly List<RegistryCredential> _items = new List<RegistryCredential>();
        public void Add(RegistryCredential c) => _items.Add(c);
        public void AddRange(IEnumerable<RegistryCredential> cs) => _items.AddRange(cs);
        public RegistryCredential? Find(string registry, string repository)
        {
            var full = registry + "/" + repository + "/";
            return _items.Where(c => full.StartsWith(c.Key + "/", StringComparison.Ordinal)).OrderByDescending(c => c.Key.Length).FirstOrDefault();
        }
        public bool IsInsecure(string registry) => _items.Any(c => c.Registry == registry && c.Insecure);
    }
}
