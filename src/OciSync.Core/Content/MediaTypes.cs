using System;

namespace OciSync.Core.Content
{
    public static class MediaTypes
    {
        public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
        public const string OciIndex = "application/vnd.oci.image.index.v1+json";
        public const string OciConfig = "application/vnd.oci.image.config.v1+json";
        public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
        public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
        public const string DockerConfig = "application/vnd.docker.container.image.v1+json";
        public const string DockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
        public const string DockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";

        /// <summary>Every manifest type we ask for; the registry then serves the stored bytes unchanged.</summary>
        public static readonly string[] AllManifests =
        {
            OciIndex, DockerManifestList, OciManifest, DockerManifest, DockerSchema1Signed, DockerSchema1,
        };

        public static bool IsIndex(string? mediaType) =>
            string.Equals(mediaType, OciIndex, StringComparison.Ordinal) ||
            string.Equals(mediaType, DockerManifestList, StringComparison.Ordinal);
    }
}
