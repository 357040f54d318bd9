using System.Management.Automation;
using OciSync.Core.Auth;

namespace OciSync.PowerShell.Infrastructure
{
    internal static class PSCredentials
    {
        /// <summary>A PSCredential for one registry key; the password is copied as a SecureString, never read.</summary>
        public static RegistryCredential ToRegistryCredential(this PSCredential credential, string key, string origin, bool insecure = false, Core.Transport.RegistryTls? tls = null,
            Core.Transport.RegistryLimits? limits = null) =>
            new RegistryCredential(key, credential.UserName, credential.Password?.Copy(), insecure, origin, tls, limits); // [PSCredential]::Empty has no password: anonymous
    }
}
