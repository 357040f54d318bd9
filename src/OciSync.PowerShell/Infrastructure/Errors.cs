using System;
using System.Collections.Generic;
using System.Management.Automation;
using OciSync.Core.Configuration;
using OciSync.Core.Transport;

namespace OciSync.PowerShell.Infrastructure
{
    /// <summary>Builds error records with the stable ids Core uses, and the matching category.</summary>
    internal static class Errors
    {
        public static ErrorRecord From(Exception e, object? target) => Record(e, ErrorIds.Of(e), target);

        /// <summary>Config problems of one file: warnings to the warning stream, errors as non-terminating error records.</summary>
        public static void Report(PSCmdlet cmdlet, IEnumerable<ConfigError> problems, object? target)
        {
            foreach (var problem in problems)
            {
                if (problem.Severity == ConfigSeverity.Warning) cmdlet.Warning(problem.Message);
                else cmdlet.WriteError(Record(new ConfigException(problem), problem.ErrorId, problem.Rule != null ? ConfigError.Shorten(problem.Rule) : target)); // a 10 MB key is no target
            }
        }

        public static ErrorRecord Record(Exception e, string errorId, object? target) =>
            new ErrorRecord(e, errorId, CategoryOf(errorId), target);

        public static ErrorCategory CategoryOf(string errorId) => errorId switch
        {
            ErrorIds.ManifestNotFound or ErrorIds.BlobNotFound or ErrorIds.RepositoryNotFound => ErrorCategory.ObjectNotFound,
            ErrorIds.RegistryUnauthorized or ErrorIds.RegistryForbidden or ErrorIds.InsecureTokenRealm => ErrorCategory.PermissionDenied,
            ErrorIds.RegistryCertificateUntrusted => ErrorCategory.SecurityError,
            ErrorIds.RegistryUnreachable => ErrorCategory.ConnectionError,
            ErrorIds.RegistryTimeout => ErrorCategory.OperationTimeout,
            ErrorIds.RegistryRateLimited or ErrorIds.RegistryUnavailable => ErrorCategory.ResourceUnavailable,
            ErrorIds.DigestMismatch or ErrorIds.ManifestInvalid or ErrorIds.InvalidReference or ErrorIds.LayoutInvalid => ErrorCategory.InvalidData,
            ErrorIds.TagRegexTimeout => ErrorCategory.OperationTimeout,
            ErrorIds.RegistryProtocolError => ErrorCategory.ProtocolError,
            _ when errorId.StartsWith("Config", StringComparison.Ordinal) || errorId.StartsWith("Rule", StringComparison.Ordinal) || errorId.StartsWith("Auth", StringComparison.Ordinal) => ErrorCategory.InvalidData,
            _ => ErrorCategory.NotSpecified,
        };
    }
}
