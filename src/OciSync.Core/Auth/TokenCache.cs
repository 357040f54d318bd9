using System;
using System.Collections.Concurrent;
using System.Threading.Tasks;

namespace OciSync.Core.Auth
{
    /// <summary>
    /// Bearer tokens by scope, reused until shortly before they expire. Concurrent requests for the
    /// same scope share one token fetch instead of each asking the token server.
    /// </summary>
    internal sealed class TokenCache
    {
        private readonly ConcurrentDictionary<string, Lazy<Task<CachedToken>>> _tokens = new ConcurrentDictionary<string, Lazy<Task<CachedToken>>>();
        private readonly Func<DateTimeOffset> _now;

        public TokenCache(Func<DateTimeOffset>? now = null) { _now = now ?? (() => DateTimeOffset.UtcNow); }

        public async Task<string> GetAsync(string scope, Func<Task<CachedToken>> fetch)
        {
            while (true)
            {
                var entry = _tokens.GetOrAdd(scope, _ => new Lazy<Task<CachedToken>>(fetch));
                CachedToken token;
                try
                {
                    token = await entry.Value.ConfigureAwait(false);
                }
                catch
                {
                    _tokens.TryRemove(scope, out _); // a failed fetch is not cached
                    throw;
                }
                if (token.ExpiresAt > _now()) return token.Value;
                _tokens.TryUpdate(scope, new Lazy<Task<CachedToken>>(fetch), entry);
            }
        }

        public void Invalidate(string scope) => _tokens.TryRemove(scope, out _);
    }

    internal sealed class CachedToken
    {
        public CachedToken(string value, DateTimeOffset expiresAt) { Value = value; ExpiresAt = expiresAt; }
        public string Value { get; }
        public DateTimeOffset ExpiresAt { get; }
        public override string ToString() => "(token)";
    }
}
