using System;
using System.Collections.Generic;

namespace OciSync.Core.Transport
{
    /// <summary>An exception that knows its stable error id (registry errors, blob copies, regex budgets).</summary>
    public interface IHasErrorId
    {
        /// <summary>The stable id, one of <see cref="ErrorIds"/>.</summary>
        string ErrorId { get; }
    }

    /// <summary>What an error id means for handling it: its PowerShell category, and which retries can help.</summary>
    public sealed class ErrorInfo
    {
        internal ErrorInfo(string id, string category, bool transient, bool retryTransfer, bool retryPass)
        {
            Id = id; Category = category; Transient = transient; RetryTransfer = retryTransfer; RetryPass = retryPass;
        }

        /// <summary>The error id described.</summary>
        public string Id { get; }
        /// <summary>The name of the System.Management.Automation.ErrorCategory the cmdlets give it.</summary>
        public string Category { get; }
        /// <summary>The network's or the server's passing trouble: worth the same request again.</summary>
        public bool Transient { get; }
        /// <summary>Worth a blob transfer again from a fresh source stream.</summary>
        public bool RetryTransfer { get; }
        /// <summary>Worth another -Retries pass over the image.</summary>
        public bool RetryPass { get; }
    }

    /// <summary>
    /// The stable error ids, shared by Core's exceptions and the cmdlets' error records, and the one
    /// catalogue of what each means: its category and which retries can help. The bottom layer: it knows
    /// no other part of Core (exceptions say their id through <see cref="IHasErrorId"/>).
    /// </summary>
    public static class ErrorIds
    {
        /// <summary>The registry has no manifest for the tag or digest.</summary>
        public const string ManifestNotFound = "ManifestNotFound";
        /// <summary>A blob a manifest names is not in the repository.</summary>
        public const string BlobNotFound = "BlobNotFound";
        /// <summary>The repository does not exist (a 404 with <c>NAME_UNKNOWN</c>, or a tag listing that found nothing).</summary>
        public const string RepositoryNotFound = "RepositoryNotFound";
        /// <summary>The registry or its token server answered 401: a credential is missing or wrong.</summary>
        public const string RegistryUnauthorized = "RegistryUnauthorized";
        /// <summary>The registry or its token server answered 403: the credential may not do this.</summary>
        public const string RegistryForbidden = "RegistryForbidden";
        /// <summary>The registry answered 429: too many requests; transient, retried.</summary>
        public const string RegistryRateLimited = "RegistryRateLimited";
        /// <summary>The registry answered 408 or 5xx; transient, retried.</summary>
        public const string RegistryUnavailable = "RegistryUnavailable";
        /// <summary>No answer at all: name resolution, connection or TLS failed; transient, retried.</summary>
        public const string RegistryUnreachable = "RegistryUnreachable";
        /// <summary>The registry's TLS certificate is not trusted and the registry is not marked insecure.</summary>
        public const string RegistryCertificateUntrusted = "RegistryCertificateUntrusted";
        /// <summary>A response, body or transfer did not arrive in time; transient, retried.</summary>
        public const string RegistryTimeout = "RegistryTimeout";
        /// <summary>An answer the registry API does not allow (an unexpected status, a missing Location, a malformed tag list).</summary>
        public const string RegistryProtocolError = "RegistryProtocolError";
        /// <summary>A 200 answer whose body was cut short or is not the JSON it should be: transient, retried.</summary>
        public const string RegistryResponseInvalid = "RegistryResponseInvalid";
        /// <summary>Content that does not hash to the digest asked for or announced.</summary>
        public const string DigestMismatch = "DigestMismatch";
        /// <summary>A manifest that cannot be parsed, is not supported or breaks a limit, or that the destination refused.</summary>
        public const string ManifestInvalid = "ManifestInvalid";
        /// <summary>A token server on plain HTTP that credentials are not sent to.</summary>
        public const string InsecureTokenRealm = "InsecureTokenRealm";
        /// <summary>A proxy that would see credentials in clear text (its own over http://, or a plain-HTTP registry's), or a proxy setting that is no proxy URL.</summary>
        public const string InsecureProxy = "InsecureProxy";
        /// <summary>A registry's own TLS files (caFile, certFile, keyFile) that cannot be read or used.</summary>
        public const string RegistryTlsInvalid = "RegistryTlsInvalid";
        /// <summary>A docker credential helper (credHelpers, credsStore) that is missing, failed, hung or answered nonsense.</summary>
        public const string CredentialHelperFailed = "CredentialHelperFailed";
        /// <summary>A repository, tag or digest that breaks the grammar was about to become a request (it never does).</summary>
        public const string InvalidReference = "InvalidReference";
        /// <summary>A user's tag regex ran out of time (per match, or its budget for the rule or call).</summary>
        public const string TagRegexTimeout = "TagRegexTimeout";
        /// <summary>An OCI layout directory or archive whose oci-layout or index.json is missing, too large or not what the image-spec says.</summary>
        public const string LayoutInvalid = "LayoutInvalid";
        /// <summary>Another process holds an OCI layout's lock longer than a write waits for it; transient, retried in the next pass.</summary>
        public const string LayoutBusy = "LayoutBusy";
        /// <summary>A destination that does not delete manifests (a registry answering 405 / UNSUPPORTED, as distribution does with deletes disabled, or an OCI layout): -Prune cannot remove its stale tags.</summary>
        public const string RegistryDeleteUnsupported = "RegistryDeleteUnsupported";
        /// <summary>A stale tag -Prune kept: the registry deletes only by digest, and that digest is also a kept tag's or a child of a kept index.</summary>
        public const string PruneWouldRemoveKept = "PruneWouldRemoveKept";
        /// <summary>The registry refused its repository catalog (<c>/v2/_catalog</c> answered 401/403 after authentication), which a <c>registry/namespace/*</c> rule needs.</summary>
        public const string RegistryCatalogRefused = "RegistryCatalogRefused";
        /// <summary>The registry offers no repository catalog (404, 405, <c>UNSUPPORTED</c>, or Docker Hub), which a <c>registry/namespace/*</c> rule needs.</summary>
        public const string RegistryCatalogUnsupported = "RegistryCatalogUnsupported";
        /// <summary>A failure nothing else classifies.</summary>
        public const string ImageSyncFailed = "ImageSyncFailed";
        /// <summary>The one terminating error of a run under ErrorAction Stop.</summary>
        public const string ImagesFailed = "ImagesFailed";
        /// <summary>A plan file (Invoke-ImageSync -PlanPath) that is missing, too large, not JSON, of another format, or holds a value that breaks the grammar.</summary>
        public const string PlanFileInvalid = "PlanFileInvalid";
        /// <summary>A -LogPath / -SuccessImagesPath / -FailedImagesPath that cannot be written.</summary>
        public const string InvalidOutputPath = "InvalidOutputPath";
        /// <summary>A run summary file (-SummaryPath, read by Merge-SyncResult) that is missing, too large, not JSON or not <c>ocisync-summary/1</c>.</summary>
        public const string SummaryFileInvalid = "SummaryFileInvalid";
        /// <summary>Merge-SyncResult found no result for some shards of the job.</summary>
        public const string ShardResultMissing = "ShardResultMissing";
        /// <summary>Merge-SyncResult was given two results of the same shard (the later one is left out).</summary>
        public const string ShardResultDuplicate = "ShardResultDuplicate";
        /// <summary>Merge-SyncResult was given results of different shard counts (or not the -ShardCount expected).</summary>
        public const string ShardResultMismatch = "ShardResultMismatch";
        /// <summary>Invoke-ImageSync given both -Detailed and -Summary.</summary>
        public const string ConflictingOutputSwitches = "ConflictingOutputSwitches";
        /// <summary>-Prune with a plan (-Plan, -PlanPath): pruning compares a rule's source listing, and a plan has no rules.</summary>
        public const string PruneNeedsRules = "PruneNeedsRules";
        /// <summary>Export-SyncPlan could not list some rules: a plan without them would lose those images for every shard.</summary>
        public const string PlanIncomplete = "PlanIncomplete";
        /// <summary>-ShardCount with neither -ShardIndex nor <c>JOB_COMPLETION_INDEX</c>, where a run must know its shard.</summary>
        public const string ShardIndexMissing = "ShardIndexMissing";
        /// <summary>Shard parameters that name no shard: an index out of range or not a number (-ShardIndex, <c>JOB_COMPLETION_INDEX</c>), or -ShardIndex or -ShardSummary without -ShardCount.</summary>
        public const string ShardIndexInvalid = "ShardIndexInvalid";
        /// <summary>A PSCredential when the call names more than one registry.</summary>
        public const string AmbiguousCredential = "AmbiguousCredential";
        /// <summary>A -Credential value that is neither a RegistryCredential nor a PSCredential.</summary>
        public const string InvalidCredentialArgument = "InvalidCredentialArgument";
        /// <summary>A Get-RegistryTag -Filter that is not a valid regular expression.</summary>
        public const string InvalidFilter = "InvalidFilter";

        private static readonly Dictionary<string, ErrorInfo> Catalogue = Build(
            //  id                            category               transient retryTransfer retryPass
            (ManifestNotFound,             "ObjectNotFound",       false, false, false),
            (BlobNotFound,                 "ObjectNotFound",       false, false, true),
            (RepositoryNotFound,           "ObjectNotFound",       false, false, false),
            (RegistryUnauthorized,         "PermissionDenied",     false, false, false),
            (RegistryForbidden,            "PermissionDenied",     false, false, false),
            (RegistryCatalogRefused,       "PermissionDenied",     false, false, false),
            (RegistryCatalogUnsupported,   "NotImplemented",       false, false, false),
            (InsecureTokenRealm,           "PermissionDenied",     false, false, false),
            (CredentialHelperFailed,       "AuthenticationError",  false, false, false),
            (RegistryTlsInvalid,           "SecurityError",        false, false, false),
            (InsecureProxy,                "SecurityError",        false, false, false),
            (RegistryCertificateUntrusted, "SecurityError",        false, false, false),
            (RegistryRateLimited,          "ResourceUnavailable",  true,  true,  true),
            (RegistryUnavailable,          "ResourceUnavailable",  true,  true,  true),
            (RegistryUnreachable,          "ConnectionError",      true,  true,  true),
            (RegistryTimeout,              "OperationTimeout",     true,  true,  true),
            (RegistryResponseInvalid,      "ProtocolError",        true,  true,  true),
            (RegistryProtocolError,        "ProtocolError",        false, true,  true),
            (DigestMismatch,               "InvalidData",          false, true,  true),
            (ManifestInvalid,              "InvalidData",          false, false, false),
            (InvalidReference,             "InvalidData",          false, false, false),
            (LayoutInvalid,                "InvalidData",          false, false, false),
            (LayoutBusy,                   "ResourceBusy",         true,  false, true),
            (TagRegexTimeout,              "OperationTimeout",     false, false, false),
            (RegistryDeleteUnsupported,    "NotImplemented",       false, false, false),
            (PruneWouldRemoveKept,         "InvalidOperation",     false, false, false),
            (ImageSyncFailed,              "NotSpecified",         false, false, true),
            (ImagesFailed,                 "NotSpecified",         false, false, false),
            (PlanFileInvalid,              "InvalidData",          false, false, false),
            (InvalidOutputPath,            "InvalidArgument",      false, false, false),
            (SummaryFileInvalid,           "InvalidData",          false, false, false),
            (ShardResultMissing,           "ObjectNotFound",       false, false, false),
            (ShardResultDuplicate,         "InvalidArgument",      false, false, false),
            (ShardResultMismatch,          "InvalidArgument",      false, false, false),
            (ConflictingOutputSwitches,    "InvalidArgument",      false, false, false),
            (PruneNeedsRules,              "InvalidArgument",      false, false, false),
            (PlanIncomplete,               "InvalidResult",        false, false, false),
            (ShardIndexMissing,            "InvalidArgument",      false, false, false),
            (ShardIndexInvalid,            "InvalidArgument",      false, false, false),
            (AmbiguousCredential,          "InvalidArgument",      false, false, false),
            (InvalidCredentialArgument,    "InvalidArgument",      false, false, false),
            (InvalidFilter,                "InvalidArgument",      false, false, false));

        /// <summary>Every id of the catalogue.</summary>
        public static IEnumerable<string> All => Catalogue.Keys;

        /// <summary>What <paramref name="id"/> means; the configuration ids (Config*, Rule*, Auth*) are invalid input, never retried.</summary>
        public static ErrorInfo Describe(string? id)
        {
            if (id != null && Catalogue.TryGetValue(id, out var info)) return info;
            var input = id != null && (id.StartsWith("Config", StringComparison.Ordinal) || id.StartsWith("Rule", StringComparison.Ordinal) || id.StartsWith("Auth", StringComparison.Ordinal));
            return new ErrorInfo(id ?? ImageSyncFailed, input ? "InvalidData" : "NotSpecified", false, false, !input);
        }

        /// <summary>The stable id for any failure: the one place exceptions are classified.</summary>
        public static string Of(Exception e) => e switch
        {
            IHasErrorId known => known.ErrorId,
            System.Text.RegularExpressions.RegexMatchTimeoutException => TagRegexTimeout,
            TimeoutException => RegistryTimeout,
            _ => ImageSyncFailed,
        };

        private static Dictionary<string, ErrorInfo> Build(params (string Id, string Category, bool Transient, bool RetryTransfer, bool RetryPass)[] rows)
        {
            var map = new Dictionary<string, ErrorInfo>(StringComparer.Ordinal);
            foreach (var r in rows) map.Add(r.Id, new ErrorInfo(r.Id, r.Category, r.Transient, r.RetryTransfer, r.RetryPass));
            return map;
        }
    }
}
