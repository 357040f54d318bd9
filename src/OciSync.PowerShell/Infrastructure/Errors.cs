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

        /// <summary>The category Core's catalogue gives the id (ErrorIds.Describe), as PowerShell's enum.</summary>
        public static ErrorCategory CategoryOf(string errorId) =>
            Enum.TryParse<ErrorCategory>(ErrorIds.Describe(errorId).Category, out var category) ? category : ErrorCategory.NotSpecified;
    }
}
