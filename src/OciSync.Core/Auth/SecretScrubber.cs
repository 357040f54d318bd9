using System;
using System.Collections.Generic;
using System.Text;

namespace OciSync.Core.Auth
{
    /// <summary>
    /// Removes secrets from text before it is shown, logged or stored in a result. Registries echo
    /// what they are sent (an error body quoting the Authorization header, a Location with
    /// <c>user:password@</c>), so every string that leaves the module passes through here: the
    /// passwords of the call's credentials in the forms they travel in (plain, <c>user:password</c>,
    /// base64 of either, URL- and JSON-escaped), the bearer tokens received, and URL userinfo.
    /// Thread-safe.
    /// </summary>
    public sealed class SecretScrubber
    {
        public const string Mask = "***";
        // Shorter secrets are masked only as whole words: masking every "ab" would garble every message.
        private const int MinAnywhereLength = 4;
        private readonly CredentialStore? _store;
        private readonly object _gate = new object();
        private readonly HashSet<string> _extra = new HashSet<string>(StringComparer.Ordinal);
        private int _storeVersion = -1;
        private int _extraVersion;
        private int _builtExtraVersion = -1;
        private string[] _secrets = Array.Empty<string>();

        public SecretScrubber(CredentialStore? store = null) { _store = store; }

        /// <summary>A scrubber that only strips URL userinfo (no credentials known).</summary>
        public static SecretScrubber None { get; } = new SecretScrubber();

        /// <summary>Adds a secret learned during the run (a bearer token).</summary>
        public void Add(string? secret)
        {
            if (string.IsNullOrEmpty(secret)) return;
            lock (_gate)
            {
                if (_extra.Add(secret!)) _extraVersion++;
            }
        }

        /// <summary>The text with every known secret and any URL userinfo replaced by <see cref="Mask"/>.</summary>
        public string Scrub(string? text)
        {
            if (string.IsNullOrEmpty(text)) return text ?? string.Empty;
            var result = StripUserInfo(text!);
            foreach (var secret in Secrets())
            {
                if (result.IndexOf(secret, StringComparison.Ordinal) < 0) continue;
                result = secret.Length >= MinAnywhereLength ? result.Replace(secret, Mask) : ReplaceWholeWords(result, secret);
            }
            return result;
        }

        /// <summary>
        /// The exception itself when no message in its chain holds a secret; otherwise a
        /// <see cref="Transport.RegistryException"/> with the same error id (and request facts), the
        /// message scrubbed and the inner exceptions left behind, since they carry the raw text.
        /// </summary>
        public Exception Scrub(Exception e)
        {
            bool dirty = false;
            for (var x = e; x != null && !dirty; x = x.InnerException) dirty = Dirty(x.Message);
            if (!dirty) return e;
            return e is Transport.RegistryException r ? r.Scrubbed(this) : new Transport.RegistryException(Transport.ErrorIds.Of(e), Scrub(e.Message));
        }

        /// <summary>True when <see cref="Scrub"/> would change the text.</summary>
        public bool Dirty(string? text) => !string.IsNullOrEmpty(text) && !string.Equals(Scrub(text), text, StringComparison.Ordinal);

        private string[] Secrets()
        {
            var storeVersion = _store?.Version ?? 0;
            lock (_gate)
            {
                if (storeVersion == _storeVersion && _extraVersion == _builtExtraVersion) return _secrets;
                var all = new HashSet<string>(StringComparer.Ordinal);
                if (_store != null)
                    foreach (var credential in _store)
                    {
                        var password = credential.RevealPassword();
                        if (password.Length == 0) continue;
                        var pair = (credential.Username ?? string.Empty) + ":" + password;
                        AddForms(all, password);
                        AddForms(all, pair);
                        AddForms(all, Convert.ToBase64String(Encoding.UTF8.GetBytes(pair)));
                        AddForms(all, Convert.ToBase64String(Encoding.UTF8.GetBytes(password)));
                    }
                foreach (var token in _extra) AddForms(all, token);
                // Longest first, so a secret that contains another is masked whole.
                var list = new List<string>(all);
                list.Sort((a, b) => b.Length.CompareTo(a.Length));
                _secrets = list.ToArray();
                _storeVersion = storeVersion;
                _builtExtraVersion = _extraVersion;
                return _secrets;
            }
        }

        private static void AddForms(HashSet<string> all, string secret)
        {
            if (secret.Length == 0) return;
            all.Add(secret);
            all.Add(Uri.EscapeDataString(secret));
            var trimmed = secret.TrimEnd('=');
            if (trimmed.Length > 0) all.Add(trimmed); // base64 without padding
            all.Add(trimmed.Replace('+', '-').Replace('/', '_')); // base64url
            // Inside a JSON string, escaped the way a strict encoder writes it and the way a lax one does.
            foreach (var encoder in new[] { System.Text.Encodings.Web.JavaScriptEncoder.Default, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping })
            {
                var json = System.Text.Json.JsonSerializer.Serialize(secret, new System.Text.Json.JsonSerializerOptions { Encoder = encoder });
                all.Add(json.Substring(1, json.Length - 2));
            }
            all.Remove(string.Empty);
        }

        private static string ReplaceWholeWords(string text, string secret)
        {
            var sb = new StringBuilder(text.Length);
            int i = 0;
            while (i < text.Length)
            {
                var at = text.IndexOf(secret, i, StringComparison.Ordinal);
                if (at < 0) { sb.Append(text, i, text.Length - i); break; }
                var end = at + secret.Length;
                bool whole = (at == 0 || !char.IsLetterOrDigit(text[at - 1])) && (end == text.Length || !char.IsLetterOrDigit(text[end]));
                sb.Append(text, i, at - i).Append(whole ? Mask : secret);
                i = end;
            }
            return sb.ToString();
        }

        /// <summary><c>scheme://user:password@host</c> → <c>scheme://***@host</c>, wherever it occurs in the text.</summary>
        internal static string StripUserInfo(string text)
        {
            var at = text.IndexOf("://", StringComparison.Ordinal);
            if (at < 0) return text;
            var sb = new StringBuilder(text.Length);
            int i = 0;
            while (at >= 0)
            {
                var start = at + 3;
                int end = start;
                // The authority ends at the first '/', '?', '#' or whitespace; userinfo is what precedes its last '@'.
                while (end < text.Length && text[end] != '/' && text[end] != '?' && text[end] != '#' && !char.IsWhiteSpace(text[end]) && text[end] != '"' && text[end] != '\'' && text[end] != '>') end++;
                var userEnd = text.LastIndexOf('@', end - 1, end - start);
                sb.Append(text, i, start - i);
                if (userEnd >= start)
                {
                    sb.Append(Mask).Append('@');
                    i = userEnd + 1;
                }
                else i = start;
                at = text.IndexOf("://", Math.Max(i, start), StringComparison.Ordinal);
            }
            sb.Append(text, i, text.Length - i);
            return sb.ToString();
        }
    }
}

namespace OciSync.Core.Auth
{
    /// <summary>Core's log with every line scrubbed: what a registry says can end up in a log line.</summary>
    internal sealed class ScrubbingLog : Transport.IOciLog
    {
        private readonly Transport.IOciLog _inner;
        private readonly SecretScrubber _scrubber;

        public ScrubbingLog(Transport.IOciLog inner, SecretScrubber scrubber) { _inner = inner; _scrubber = scrubber; }

        public void Write(Transport.OciLogLevel level, string message) => _inner.Write(level, _scrubber.Scrub(message));
    }
}
