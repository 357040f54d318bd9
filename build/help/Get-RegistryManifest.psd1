@{
    Synopsis    = 'Shows the manifest of an image or an index: digest, media type, size, platforms and layers.'
    Description = @(
        'Get-RegistryManifest reads the manifest a registry serves for an image reference and emits a ManifestInfo object: the digest (sha256 of the bytes the registry served), media type (OCI or Docker), size, whether it is an index / manifest list, the platforms and child manifests of an index, and the config and layers of an image.'
        'References come as arguments or from the pipeline, by value or by a property named Reference or Image, so the output of Get-RegistryTag pipes straight in. A reference without tag or digest means :latest.'
        'A reference that cannot be read is a non-terminating error with a stable error id (ManifestNotFound, RegistryUnauthorized, RegistryUnreachable, ...); the others are still read.'
    )
    Parameters  = @{
        Reference = 'Image references with a tag or digest, such as quay.io/coreos/etcd:v3.5.0 or registry.example.com/app@sha256:... Accepts pipeline input by value and by property name (alias Image).'
    }
    Examples    = @(
        @{ Code = 'Get-RegistryManifest docker.io/library/alpine:3.19 | Format-List Digest, MediaType, Platforms'; Remarks = 'Shows the digest and the platforms of a multi-platform image.' }
        @{ Code = 'Get-RegistryTag registry.example.com/team/app -Auth ./auth.yaml | Get-RegistryManifest -Auth ./auth.yaml'; Remarks = 'Reads the manifest of every tag of a private repository.' }
        @{ Code = '(Get-RegistryManifest quay.io/coreos/etcd:v3.5.0).Digest -eq (Get-RegistryManifest mirror.example.com/coreos/etcd:v3.5.0 -Auth ./auth.yaml).Digest'; Remarks = 'Checks that a mirrored image has the digest of its source.' }
    )
}
