namespace OciSync.Core.References
{
    /// <summary>
    /// The distribution reference grammar (registry host, repository path, tag, digest algorithm)
    /// checked by hand. Every descriptor, tag and header passes through here, so a regex would be
    /// matched thousands of times per run and drag its interpreter into the JIT's hot set.
    /// </summary>
    internal static class NameGrammar
    {
        private static bool IsLowerAlnum(char c) => (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        private static bool IsAlnum(char c) => IsLowerAlnum(c) || (c >= 'A' && c <= 'Z');
        private static bool IsHexOrAddress(char c) => (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';

        /// <summary><c>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}</c></summary>
        public static bool IsTag(string tag)
        {
            if (tag.Length == 0 || tag.Length > 128) return false;
            if (!(IsAlnum(tag[0]) || tag[0] == '_')) return false;
            for (int i = 1; i < tag.Length; i++)
            {
                var c = tag[i];
                if (!(IsAlnum(c) || c == '_' || c == '.' || c == '-')) return false;
            }
            return true;
        }

        /// <summary>
        /// Path components separated by '/', each <c>[a-z0-9]+</c> runs joined by one of
        /// <c>.</c>, <c>_</c>, <c>__</c> or any number of <c>-</c>.
        /// </summary>
        public static bool IsRepositoryPath(string path)
        {
            if (path.Length == 0) return false;
            int i = 0;
            while (true)
            {
                if (!AlnumRun(path, ref i)) return false;
                if (i == path.Length) return true;
                var c = path[i];
                if (c == '/') { i++; continue; }
                if (c == '.') i++;
                else if (c == '_') i += i + 1 < path.Length && path[i + 1] == '_' ? 2 : 1;
                else if (c == '-') while (i < path.Length && path[i] == '-') i++;
                else return false;
            }
        }

        /// <summary>A digest algorithm: <c>[a-z0-9]+</c> runs joined by single <c>. + _ -</c>.</summary>
        public static bool IsDigestAlgorithm(string algorithm)
        {
            int i = 0;
            while (true)
            {
                if (!AlnumRun(algorithm, ref i)) return false;
                if (i == algorithm.Length) return true;
                var c = algorithm[i];
                if (c != '.' && c != '+' && c != '_' && c != '-') return false;
                i++;
            }
        }

        /// <summary>
        /// A host name of dot-separated labels (letters, digits, inner hyphens) or a bracketed IPv6
        /// address, with an optional <c>:port</c> from 1 to 65535 (the reference grammar allows any
        /// digits, but a URL does not: a larger port would fail later, when the request is built).
        /// </summary>
        public static bool IsRegistryHost(string host)
        {
            if (host.Length == 0) return false;
            int i = 0;
            if (host[0] == '[')
            {
                if (!BracketedAddress(host, out i)) return false;
            }
            else
            {
                var colon = host.IndexOf(':');
                var nameEnd = colon < 0 ? host.Length : colon;
                while (true)
                {
                    int start = i;
                    while (i < nameEnd && (IsAlnum(host[i]) || host[i] == '-')) i++;
                    if (i == start || host[start] == '-' || host[i - 1] == '-') return false;
                    if (i == nameEnd) break;
                    if (host[i] != '.') return false;
                    i++;
                }
            }
            return IsPortSuffix(host, i, strict: true);
        }

        /// <summary>
        /// Looser than <see cref="IsRegistryHost"/>: letters, digits, dots and hyphens in any order (or a
        /// bracketed IPv6 address), with an optional <c>:port</c>. Tells a host prefix from a path while
        /// parsing rules; the strict check follows when the reference is built.
        /// </summary>
        public static bool IsHostLike(string host)
        {
            int i = 0;
            if (host.Length > 0 && host[0] == '[')
            {
                if (!BracketedAddress(host, out i)) return false;
            }
            else
            {
                while (i < host.Length && (IsAlnum(host[i]) || host[i] == '.' || host[i] == '-')) i++;
                if (i == 0) return false;
            }
            return IsPortSuffix(host, i, strict: false);
        }

        // '[' address characters ']' at the start; next is the index after ']'.
        private static bool BracketedAddress(string host, out int next)
        {
            next = host.IndexOf(']') + 1;
            if (next < 3) return false;
            for (int i = 1; i < next - 1; i++)
                if (!IsHexOrAddress(host[i])) return false;
            return true;
        }

        // Nothing, or ':' and at least one digit, up to the end; strict: a port from 1 to 65535
        // (leading zeros allowed, as in URLs).
        private static bool IsPortSuffix(string s, int i, bool strict)
        {
            if (i == s.Length) return true;
            if (s[i] != ':' || i + 1 == s.Length) return false;
            int port = 0;
            for (i++; i < s.Length; i++)
            {
                if (s[i] < '0' || s[i] > '9') return false;
                if (port <= 65535) port = port * 10 + (s[i] - '0');
            }
            return !strict || (port >= 1 && port <= 65535);
        }

        private static bool AlnumRun(string s, ref int i)
        {
            int start = i;
            while (i < s.Length && IsLowerAlnum(s[i])) i++;
            return i > start;
        }
    }
}
