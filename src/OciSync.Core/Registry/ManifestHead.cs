using OciSync.Core.References;

namespace OciSync.Core.Registry
{
    /// <summary>What a manifest HEAD tells: enough to decide "unchanged" without a GET.</summary>
    public sealed record ManifestHead(Digest? Digest, string? MediaType, long Size);

    /// <summary>Result of a cross-repository mount attempt: mounted, or an upload session to use instead.</summary>
    public sealed record MountResult(bool Mounted, System.Uri? UploadLocation);
}
