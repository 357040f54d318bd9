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
        CaFile     = 'A CA bundle (PEM, one or more certificates, or DER) that this registry''s certificate may also chain to: a private CA for this registry only, without touching the machine''s trust. The name must still match and every date be valid. The auth file''s caFile key does the same.'
        CertFile   = 'A client certificate for registries that require mutual TLS: PEM together with -KeyFile (PowerShell 7), or a .pfx/.p12 file holding its key. The auth file''s certFile key does the same.'
        MaxConcurrency    = 'At most this many requests awaiting an answer at once at this registry (1 to 256), for registries that ask for gentle clients; on top of -Proc and -RequestLimit. The auth file''s maxConcurrency key does the same.'
        RequestsPerSecond = 'At most this many requests started per second at this registry. The auth file''s requestsPerSecond key does the same. Without either, a registry that answers 429 or 503 still slows the whole run down (a shared pause, then fewer requests at once, growing back).'
        KeyFile    = 'The private key of a PEM -CertFile (PKCS#8, RSA or EC PEM). The auth file''s keyFile key does the same. The key is never shown.'
    }
    Examples    = @(
        @{ Code = '$password = ConvertTo-SecureString ''s3cret'' -AsPlainText -Force
New-RegistryCredential -Registry quay.io/coreos -Credential ([pscredential]::new(''robot'', $password))'; Remarks = 'A credential for one namespace of a registry.' }
        @{ Code = 'New-RegistryCredential -Registry registry.internal.example:5000 -Insecure'; Remarks = 'An anonymous entry for a registry served over plain HTTP.' }
        @{ Code = '$dir = [IO.Path]::GetTempPath()   # where the company''s files are kept
$ca, $cert, $key = ''corp-ca.pem'', ''client.pem'', ''client.key'' | ForEach-Object { $f = Join-Path $dir $_; if (-not (Test-Path $f)) { Set-Content $f '''' }; $f }
New-RegistryCredential -Registry harbor.corp.example -CaFile $ca -CertFile $cert -KeyFile $key'; Remarks = 'A registry behind the company''s own CA that also asks for a client certificate (mutual TLS). The files must exist now (their paths are kept, resolved against the current location); they are read at the first connection, and one that cannot be used is a RegistryTlsInvalid error naming it.' }
    )
}
