using System;
using System.Net;
using System.Runtime.InteropServices;
using System.Security.Authentication;

namespace OciSync.Core.Transport
{
    /// <summary>
    /// The TLS versions OciSync's own connections offer. On .NET Framework (Windows PowerShell 5.1) a handler left
    /// alone offers what <see cref="ServicePointManager.SecurityProtocol"/> allows, which in powershell.exe can be
    /// SSL 3 and TLS 1.0 only: registries such as ACR and Docker Hub refuse that. So OciSync's handlers ask for
    /// TLS 1.2 (and 1.3 where Windows has it) themselves, per handler; the session's setting is read, never changed.
    /// On .NET Core and .NET 5+ the OS's own choice is already the best one and is left alone.
    /// </summary>
    internal static class TlsPolicy
    {
        // Not a member of SslProtocols/SecurityProtocolType in netstandard2.0 or .NET Framework 4.7.2; 12288 is its value in both enums.
        internal const SslProtocols Tls13 = (SslProtocols)12288;
        private const SecurityProtocolType SessionTls13 = (SecurityProtocolType)12288;

        // Windows Server 2022 (10.0.20348) is the first Windows whose Schannel has TLS 1.3 on; Windows 11 (22000+) has it too.
        private const int FirstWindowsBuildWithTls13 = 20348;
        // .NET Framework 4.8 is the first whose HttpClientHandler accepts Tls13 (4.7.x throws NotSupportedException).
        private static readonly Version FirstFrameworkWithTls13 = new Version(4, 8);

        private const string FrameworkPrefix = ".NET Framework";

        /// <summary>
        /// What to set <c>HttpClientHandler.SslProtocols</c> to; <see cref="SslProtocols.None"/> means leave the default.
        /// </summary>
        /// <param name="frameworkDescription"><see cref="RuntimeInformation.FrameworkDescription"/>, e.g. ".NET Framework 4.8.4515.0" or ".NET 10.0.1".</param>
        /// <param name="osVersion">Windows' real version (10.0.20348 for Server 2022).</param>
        /// <param name="sessionProtocols"><see cref="ServicePointManager.SecurityProtocol"/> as the session has it.</param>
        public static SslProtocols ProtocolsFor(string frameworkDescription, Version osVersion, SecurityProtocolType sessionProtocols)
        {
            if (!frameworkDescription.StartsWith(FrameworkPrefix, StringComparison.Ordinal)) return SslProtocols.None;
            var protocols = SslProtocols.Tls12;
            if (OsHasTls13(osVersion) && FrameworkVersion(frameworkDescription) >= FirstFrameworkWithTls13) protocols |= Tls13;
            // Never fewer than the session allows: a TLS 1.3 it enabled stays. Its SSL 3, TLS 1.0 and 1.1 are not taken up.
            if ((sessionProtocols & SessionTls13) == SessionTls13) protocols |= Tls13;
            return protocols;
        }

        /// <summary>For this process; read when a connection pool is made, so a session that enabled more since then is seen by the next pool.</summary>
        public static SslProtocols ForThisProcess()
        {
            var framework = RuntimeInformation.FrameworkDescription;
            if (!framework.StartsWith(FrameworkPrefix, StringComparison.Ordinal)) return SslProtocols.None;
            return ProtocolsFor(framework, WindowsVersion(RuntimeInformation.OSDescription) ?? Environment.OSVersion.Version, ServicePointManager.SecurityProtocol);
        }

        /// <summary>
        /// The version in "Microsoft Windows 10.0.20348 " (OSDescription asks RtlGetVersion, so it is the real one;
        /// Environment.OSVersion on .NET Framework says 6.2 to a host without a Windows 10 manifest). Null when there is none.
        /// </summary>
        public static Version? WindowsVersion(string osDescription)
        {
            foreach (var part in osDescription.Split(' '))
            {
                if (Version.TryParse(part, out var version) && version.Build >= 0) return version;
            }
            return null;
        }

        private static bool OsHasTls13(Version os) => os.Major > 10 || (os.Major == 10 && os.Build >= FirstWindowsBuildWithTls13);

        private static Version FrameworkVersion(string frameworkDescription) =>
            Version.TryParse(frameworkDescription.Substring(FrameworkPrefix.Length).Trim(), out var version) ? version : new Version(0, 0);
    }
}
