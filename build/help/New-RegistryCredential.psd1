@{
    Synopsis    = 'Creates a registry credential object from a PSCredential.'
    Description = @(
        'New-RegistryCredential makes a RegistryCredential for a registry or a registry/namespace prefix. The password stays a SecureString and is never shown by formatting, ToString or serialisation. Pass the objects to the -Credential parameter of the other cmdlets; at lookup the longest key that is a prefix of registry/repository wins.'
        'Without -Credential the entry is anonymous. Docker Hub spellings (index.docker.io, registry-1.docker.io) and URL schemes in the key are normalised.'
    )
    Parameters  = @{
        Registry   = 'registry or registry/namespace the credential applies to, such as quay.io or quay.io/coreos. Accepts pipeline input by property name (alias Key).'
        Credential = 'User and password: Get-Credential, Get-AutomationPSCredential, or [pscredential]::new(...). Omit for anonymous access. Accepts pipeline input by property name.'
        Insecure   = 'Allow plain HTTP and unverified TLS for this registry (image-syncer''s insecure: true). Loopback registries use plain HTTP without it.'
    }
    Examples    = @(
        @{ Code = '$password = ConvertTo-SecureString ''s3cret'' -AsPlainText -Force
New-RegistryCredential -Registry quay.io/coreos -Credential ([pscredential]::new(''robot'', $password))'; Remarks = 'A credential for one namespace of a registry.' }
        @{ Code = 'New-RegistryCredential -Registry registry.internal.example:5000 -Insecure'; Remarks = 'An anonymous entry for a registry served over plain HTTP.' }
    )
}
