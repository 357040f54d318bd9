using System;

namespace OciSync.Core.Content
{
    /// <summary>The media types of the manifests and image configs the module handles.</summary>
    public static class MediaTypes
    {
        /// <summary>An OCI image manifest.</summary>
        public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
        /// <summary>An OCI image index (one manifest per platform).</summary>
        public const string OciIndex = "application/vnd.oci.image.index.v1+json";
        /// <summary>An OCI image config.</summary>
        public const string OciConfig = "application/vnd.oci.image.config.v1+json";
        /// <summary>A Docker image manifest, schema 2.</summary>
        public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
        /// <summary>A Docker manifest list, Docker's counterpart of an OCI index.</summary>
        public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
        /// <summary>A Docker image config.</summary>
        public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
        /// <summary>A Docker schema 1 manifest: deprecated, refused rather than copied.</summary>
        public const string DockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
        /// <summary>A signed Docker schema 1 manifest: deprecated, refused rather than copied.</summary>
        public const string DockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";

        /// <summary>Every manifest type we ask for; the registry then serves the stored bytes unchanged.</summary>
        public static readonly string[] AllManifests =
        {
            OciIndex, DockerManifestList, OciManifest, DockerManifest, DockerSchema1Signed, DockerSchema1,
        };

        /// <summary>
        /// RFC 6838 <c>type/subtype</c> (restricted-name characters, at most 127 each). A manifest's media
        /// type becomes a Content-Type header and a result field, so a registry's CR LF or junk stops here.
        /// </summary>
        public static bool IsValid(string? mediaType)
        {
            if (string.IsNullOrEmpty(mediaType) || mediaType!.Length > 255) return false;
            var slash = mediaType.IndexOf('/');
            return slash > 0 && slash <= 127 && mediaType.Length - slash - 1 is > 0 and <= 127 &&
                   RestrictedName(mediaType, 0, slash) && RestrictedName(mediaType, slash + 1, mediaType.Length);
        }

        private static bool RestrictedName(string s, int start, int end)
        {
            if (!char.IsLetterOrDigit(s[start]) || s[start] > 127) return false;
            for (int i = start + 1; i < end; i++)
            {
                var c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "!#$&-^_.+".IndexOf(c) >= 0)) return false;
            }
            return true;
        }

        /// <summary>True for an OCI index or a Docker manifest list (compared exactly, so without parameters).</summary>
        public static bool IsIndex(string? mediaType) =>
            string.Equals(mediaType, OciIndex, StringComparison.Ordinal) ||
            string.Equals(mediaType, DockerManifestList, StringComparison.Ordinal);
    }
}
