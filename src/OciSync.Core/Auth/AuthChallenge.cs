using System;
using System.Collections.Generic;
using System.Net.Http.Headers;
using System.Text;

namespace OciSync.Core.Auth
{
    /// <summary>A parsed <c>WWW-Authenticate</c> header: <c>Bearer realm="…",service="…",scope="…"</c> or <c>Basic realm="…"</c>.</summary>
    internal sealed class AuthChallenge
    {
        public AuthChallenge(string scheme, IReadOnlyDictionary<string, string> parameters)
        {
            Scheme = scheme;
            Parameters = parameters;
        }

        public string Scheme { get; }
        public IReadOnlyDictionary<string, string> Parameters { get; }
        public bool IsBearer => string.Equals(Scheme, "Bearer", StringComparison.OrdinalIgnoreCase);
        public bool IsBasic => string.Equals(Scheme, "Basic", StringComparison.OrdinalIgnoreCase);
        public string? Realm => Get("realm");
        public string? Service => Get("service");
        public string? Scope => Get("scope");
        public string? Error => Get("error");

        private string? Get(string key) => Parameters.TryGetValue(key, out var v) ? v : null;

        public static AuthChallenge? From(HttpHeaderValueCollection<AuthenticationHeaderValue> headers)
        {
            AuthChallenge? basic = null;
            foreach (var h in headers)
            {
                var c = Parse(h.Scheme + (h.Parameter != null ? " " + h.Parameter : string.Empty));
                if (c == null) continue;
                if (c.IsBearer) return c; // prefer Bearer when a registry offers both
                if (c.IsBasic) basic = c;
            }
            return basic;
        }

        public static AuthChallenge? Parse(string? header)
        {
            if (string.IsNullOrWhiteSpace(header)) return null;
            var text = header!.Trim();
            var space = text.IndexOf(' ');
            var scheme = space < 0 ? text : text.Substring(0, space);
            var parameters = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            int i = space < 0 ? text.Length : space + 1;
            while (i < text.Length)
            {
                while (i < text.Length && (text[i] == ' ' || text[i] == ',')) i++;
                int eq = text.IndexOf('=', i);
                if (eq < 0) break;
                var key = text.Substring(i, eq - i).Trim();
                i = eq + 1;
                var value = new StringBuilder();
                if (i < text.Length && text[i] == '"')
                {
                    i++;
                    while (i < text.Length && text[i] != '"')
                    {
                        if (text[i] == '\\' && i + 1 < text.Length) i++;
                        value.Append(text[i++]);
                    }
                    i++; // closing quote
                }
                else
                {
                    while (i < text.Length && text[i] != ',') value.Append(text[i++]);
                }
                if (key.Length > 0) parameters[key] = value.ToString().Trim();
            }
            return new AuthChallenge(scheme, parameters);
        }
    }
}
