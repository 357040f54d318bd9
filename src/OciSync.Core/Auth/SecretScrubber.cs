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
        /// <summary>What a secret or URL userinfo is replaced with.</summary>
        public const string Mask = "***";
        // Shorter secrets are masked only as whole words: masking every "ab" would garble every message.
        private const int MinAnywhereLength = 4;
        // A token is the registry's choice: one of "sha256" would otherwise mask every digest of the run.
        private const int MinAnywhereTokenLength = 16;
        private static readonly System.Text.Json.JsonSerializerOptions[] JsonEscapings =
        {
            new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.Default },
            new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping },
        };
        private readonly CredentialStore? _store;
        private readonly object _gate = new object();
        private readonly Dictionary<string, bool> _tokenForms = new Dictionary<string, bool>(StringComparer.Ordinal);
        private int _storeVersion = -1;
        private Dictionary<string, bool> _storeForms = new Dictionary<string, bool>(StringComparer.Ordinal);
        private KeyValuePair<string, bool>[]? _secrets;

        /// <summary>A scrubber for the passwords in <paramref name="store"/> (read again whenever it changes); without one, only tokens added later and URL userinfo are masked.</summary>
        public SecretScrubber(CredentialStore? store = null) { _store = store; }

        /// <summary>A scrubber that only strips URL userinfo (no credentials known).</summary>
        public static SecretScrubber None { get; } = new SecretScrubber();

        /// <summary>Adds a secret learned during the run (a bearer token).</summary>
        public void Add(string? secret)
        {
            if (string.IsNullOrEmpty(secret)) return;
            lock (_gate)
            {
                if (_tokenForms.ContainsKey(secret!)) return;
                AddForms(_tokenForms, secret!, MinAnywhereTokenLength);
                _secrets = null; // rebuilt (a sort of the forms, not a re-encoding) at the next scrub
            }
        }

        /// <summary>The text with every known secret and any URL userinfo replaced by <see cref="Mask"/>.</summary>
        public string Scrub(string? text)
        {
            if (string.IsNullOrEmpty(text)) return text ?? string.Empty;
            var result = StripUserInfo(text!);
            foreach (var secret in Secrets())
            {
                if (result.IndexOf(secret.Key, StringComparison.Ordinal) < 0) continue;
                result = secret.Value ? result.Replace(secret.Key, Mask) : ReplaceWholeWords(result, secret.Key);
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

        /// <summary>True when <see cref="Scrub(string)"/> would change the text.</summary>
        public bool Dirty(string? text) => !string.IsNullOrEmpty(text) && !string.Equals(Scrub(text), text, StringComparison.Ordinal);

        /// <summary>Every form to mask, longest first (a secret that contains another is masked whole), with "anywhere" or "whole words only".</summary>
        private KeyValuePair<string, bool>[] Secrets()
        {
            var storeVersion = _store?.Version ?? 0;
            lock (_gate)
            {
                if (storeVersion != _storeVersion)
                {
                    var forms = new Dictionary<string, bool>(StringComparer.Ordinal);
                    if (_store != null)
                        foreach (var credential in _store) AddCredentialForms(forms, credential);
                    _storeForms = forms;
                    _storeVersion = storeVersion;
                    _secrets = null;
                }
                if (_secrets == null)
                {
                    var all = new Dictionary<string, bool>(_storeForms, StringComparer.Ordinal);
                    foreach (var form in _tokenForms) all[form.Key] = all.TryGetValue(form.Key, out var anywhere) ? anywhere || form.Value : form.Value;
                    var list = new List<KeyValuePair<string, bool>>(all);
                    list.Sort((a, b) => b.Key.Length.CompareTo(a.Key.Length));
                    _secrets = list.ToArray();
                }
                return _secrets;
            }
        }

        /// <summary>A password learned during the run (docker's files and helpers), masked as the store's are: with its user:password and base64 forms.</summary>
        internal void Add(RegistryCredential credential)
        {
            var password = credential.RevealPassword();
            lock (_gate)
            {
                // Asked for each image of the registry: the forms are made, and the list rebuilt, once.
                if (password.Length == 0 || _tokenForms.ContainsKey((credential.Username ?? string.Empty) + ":" + password)) return;
                AddCredentialForms(_tokenForms, credential);
                _secrets = null;
            }
        }

        private static void AddCredentialForms(Dictionary<string, bool> forms, RegistryCredential credential)
        {
            var password = credential.RevealPassword();
            if (password.Length == 0) return;
            var pair = (credential.Username ?? string.Empty) + ":" + password;
            AddForms(forms, password, MinAnywhereLength);
            AddForms(forms, pair, MinAnywhereLength);
            AddForms(forms, Convert.ToBase64String(Encoding.UTF8.GetBytes(pair)), MinAnywhereLength);
            AddForms(forms, Convert.ToBase64String(Encoding.UTF8.GetBytes(password)), MinAnywhereLength);
        }

        private static void AddForms(Dictionary<string, bool> forms, string secret, int minAnywhere)
        {
            void Put(string form) { if (form.Length > 0) forms[form] = form.Length >= minAnywhere; }
            Put(secret);
            Put(Uri.EscapeDataString(secret));
            var trimmed = secret.TrimEnd('=');
            Put(trimmed); // base64 without padding
            Put(trimmed.Replace('+', '-').Replace('/', '_')); // base64url
            // Inside a JSON string, escaped the way a strict encoder writes it and the way a lax one does.
            foreach (var options in JsonEscapings)
            {
                var json = System.Text.Json.JsonSerializer.Serialize(secret, options);
                Put(json.Substring(1, json.Length - 2));
            }
        }

        // Letters, digits and the characters digests, URLs and base64 are made of: "sha256" is no word in "sha256:ab…".
        private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || ":._-/+=%".IndexOf(c) >= 0;

        private static string ReplaceWholeWords(string text, string secret)
        {
            var sb = new StringBuilder(text.Length);
            int i = 0;
            while (i < text.Length)
            {
                var at = text.IndexOf(secret, i, StringComparison.Ordinal);
                if (at < 0) { sb.Append(text, i, text.Length - i); break; }
                var end = at + secret.Length;
                bool whole = (at == 0 || !IsWordChar(text[at - 1])) && (end == text.Length || !IsWordChar(text[end]));
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
