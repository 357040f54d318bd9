using System;

namespace OciSync.Core.References
{
    /// <summary>A content digest such as <c>sha256:…</c>, validated on creation.</summary>
    public sealed class Digest : IEquatable<Digest>
    {
        private Digest(string algorithm, string hex)
        {
            Algorithm = algorithm;
            Hex = hex;
        }

        /// <summary><c>sha256</c> or <c>sha512</c>.</summary>
        public string Algorithm { get; }
        /// <summary>The hash in lower-case hex: 64 characters for sha256, 128 for sha512.</summary>
        public string Hex { get; }

        /// <summary>Parses <c>algorithm:hex</c>; throws <see cref="FormatException"/> saying what is wrong.</summary>
        public static Digest Parse(string value)
        {
            if (TryParse(value, out var digest, out var problem)) return digest!;
            throw new FormatException(problem);
        }

        /// <summary>As <see cref="Parse"/>, but returns false instead of throwing.</summary>
        public static bool TryParse(string? value, out Digest? digest) => TryParse(value, out digest, out _);

        /// <summary>As <see cref="Parse"/>, but returns false instead of throwing; <paramref name="problem"/> says what is wrong (empty on success).</summary>
        public static bool TryParse(string? value, out Digest? digest, out string problem)
        {
            digest = null;
            if (string.IsNullOrEmpty(value)) { problem = "A digest cannot be empty."; return false; }
            var colon = value!.IndexOf(':');
            var alg = colon < 0 ? string.Empty : value.Substring(0, colon);
            var hex = colon < 0 ? string.Empty : value.Substring(colon + 1);
            if (!NameGrammar.IsDigestAlgorithm(alg) || !IsEncoded(hex)) { problem = $"'{value}' is not a digest (expected algorithm:hex)."; return false; }
            int expected = alg switch { "sha256" => 64, "sha512" => 128, _ => -1 };
            if (expected < 0) { problem = $"Digest algorithm '{alg}' is not supported (sha256, sha512)."; return false; }
            if (hex.Length != expected || !IsLowerHex(hex)) { problem = $"'{value}' is not a valid {alg} digest ({expected} lower-case hex characters)."; return false; }
            digest = new Digest(alg, hex);
            problem = string.Empty;
            return true;
        }

        /// <summary>The <c>sha256</c> digest of a hash's raw bytes (32 of them; the length is not checked).</summary>
        public static Digest FromSha256(byte[] hash) => new Digest("sha256", ToHex(hash));

        internal static string ToHex(byte[] bytes)
        {
            var chars = new char[bytes.Length * 2];
            const string alphabet = "0123456789abcdef";
            for (int i = 0; i < bytes.Length; i++)
            {
                chars[2 * i] = alphabet[bytes[i] >> 4];
                chars[2 * i + 1] = alphabet[bytes[i] & 0xF];
            }
            return new string(chars);
        }

        // The OCI grammar for the encoded part: [a-zA-Z0-9=_-]+
        private static bool IsEncoded(string s)
        {
            if (s.Length == 0) return false;
            foreach (var c in s)
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '=' || c == '_' || c == '-')) return false;
            return true;
        }

        private static bool IsLowerHex(string s)
        {
            foreach (var c in s)
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
            return true;
        }

        /// <summary><c>algorithm:hex</c>.</summary>
        public override string ToString() => Algorithm + ":" + Hex;
        /// <summary>True when algorithm and hex are the same.</summary>
        public bool Equals(Digest? other) => other is not null && other.Algorithm == Algorithm && other.Hex == Hex;
        /// <inheritdoc/>
        public override bool Equals(object? obj) => obj is Digest d && Equals(d);
        /// <inheritdoc/>
        public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());
        /// <summary>True when both are null or both name the same digest.</summary>
        public static bool operator ==(Digest? a, Digest? b) => a is null ? b is null : a.Equals(b);
        /// <summary>True unless both are null or both name the same digest.</summary>
        public static bool operator !=(Digest? a, Digest? b) => !(a == b);
    }
}
