using System;
using System.Runtime.InteropServices;
using System.Security;

namespace OciSync.Core.Auth
{
    /// <summary>
    /// Credentials for a registry or a registry/namespace prefix. The password lives only in a
    /// <see cref="SecureString"/>; nothing here prints it, and <see cref="ToString"/> never shows it.
    /// </summary>
    public sealed class RegistryCredential
    {
        /// <summary>An entry for <paramref name="key"/> (normalised by <see cref="NormalizeKey"/>); <paramref name="password"/> is made read-only, and an empty user name becomes null.</summary>
        /// <param name="tls">This registry's own CA bundle and client certificate; null: the platform's trust only.</param>
        /// <param name="limits">What this registry asks of clients (requests at once, per second); null: the run's own limits only.</param>
        public RegistryCredential(string key, string? username, SecureString? password, bool insecure = false, string? origin = null, Transport.RegistryTls? tls = null,
            Transport.RegistryLimits? limits = null)
        {
            Tls = tls != null && tls.IsDefault ? null : tls;
            Limits = limits != null && limits.IsDefault ? null : limits;
            Key = NormalizeKey(key);
            Username = string.IsNullOrEmpty(username) ? null : username;
            Password = password;
            Password?.MakeReadOnly();
            Insecure = insecure;
            Origin = origin;
        }

        /// <summary><c>registry</c> or <c>registry/namespace[/…]</c>, the prefix this entry applies to.</summary>
        public string Key { get; }
        /// <summary>The user name, or null when none was given.</summary>
        public string? Username { get; }
        /// <summary>The password, read-only; null when none was given.</summary>
        public SecureString? Password { get; }
        /// <summary>Plain HTTP or unverified TLS is allowed for this registry.</summary>
        public bool Insecure { get; }
        /// <summary>Where the entry came from (file and line, or the cmdlet that made it).</summary>
        public string? Origin { get; }
        /// <summary>The registry's own TLS trust and client certificate, or null.</summary>
        public Transport.RegistryTls? Tls { get; }
        /// <summary>The registry's own request limits, or null.</summary>
        public Transport.RegistryLimits? Limits { get; }

        /// <summary>This entry with the registry's transport settings (they belong to the host, whichever entry gave them).</summary>
        internal RegistryCredential WithTransport(bool insecure, Transport.RegistryTls? tls) =>
            insecure == Insecure && ReferenceEquals(tls, Tls) ? this : new RegistryCredential(Key, Username, Password, insecure, Origin, tls, Limits);

        /// <summary>The user and secret of <paramref name="identity"/> with this entry's transport settings (insecure, TLS).</summary>
        internal RegistryCredential WithIdentityOf(RegistryCredential identity) =>
            new RegistryCredential(identity.Key, identity.Username, identity.Password, Insecure, identity.Origin, Tls, Limits);

        /// <summary>
        /// An OAuth2 refresh token (docker's <c>identitytoken</c>, a helper's <c>&lt;token&gt;</c> user): exchanged at the
        /// registry's token server for access tokens (grant_type=refresh_token), never sent as Basic.
        /// </summary>
        public static RegistryCredential ForIdentityToken(string key, SecureString token, string? origin = null) =>
            new RegistryCredential(key, IdentityTokenUser, token, insecure: false, origin);

        /// <summary>The user name docker's credential helpers give for an identity token.</summary>
        public const string IdentityTokenUser = "<token>";

        /// <summary>True when <see cref="Password"/> is an identity (refresh) token rather than a password.</summary>
        public bool IsIdentityToken => Username == IdentityTokenUser;

        /// <summary>True when requests go out without credentials (no user or no password).</summary>
        public bool IsAnonymous => Username == null || Password == null || Password.Length == 0;

        /// <summary>The registry part of the key (before the first '/').</summary>
        public string Registry => Key.Split('/')[0];

        /// <summary>The longest password a <see cref="SecureString"/> holds (and the longest user name accepted with it).</summary>
        public const int MaxLength = 65536;

        /// <summary>A read-only <see cref="SecureString"/> holding <paramref name="plain"/> (empty for null); throws <see cref="ArgumentException"/> above <see cref="MaxLength"/> characters.</summary>
        public static SecureString ToSecureString(string? plain)
        {
            // SecureString itself would throw ArgumentOutOfRangeException at the 65,537th character.
            if (plain != null && plain.Length > MaxLength)
                throw new ArgumentException($"A password can have at most {MaxLength} characters; this one has {plain.Length}.", nameof(plain));
            var s = new SecureString();
            if (plain != null) foreach (var c in plain) s.AppendChar(c);
            s.MakeReadOnly();
            return s;
        }

        /// <summary>Only the auth layer calls this, right before building a request header.</summary>
        internal string RevealPassword()
        {
            if (Password == null) return string.Empty;
            var ptr = Marshal.SecureStringToGlobalAllocUnicode(Password);
            try { return Marshal.PtrToStringUni(ptr) ?? string.Empty; }
            finally { Marshal.ZeroFreeGlobalAllocUnicode(ptr); }
        }

        /// <summary>Docker Hub has several spellings; keys use the one references use.</summary>
        public static string NormalizeKey(string key)
        {
            var k = (key ?? string.Empty).Trim().TrimEnd('/');
            foreach (var prefix in new[] { "https://", "http://" })
                if (k.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) k = k.Substring(prefix.Length);
            var slash = k.IndexOf('/');
            var host = slash < 0 ? k : k.Substring(0, slash);
            var rest = slash < 0 ? string.Empty : k.Substring(slash);
            if (host == "index.docker.io" || host == "registry-1.docker.io") host = References.ImageReference.DockerHub;
            return host + rest;
        }

        /// <summary><c>key (username)</c>, or <c>key (anonymous)</c>; never the password.</summary>
        public override string ToString() => IsAnonymous ? $"{Key} (anonymous)" : $"{Key} ({Username})";
    }
}
