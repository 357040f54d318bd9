@{
    RootModule           = 'OciSync.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0c7f0e-5d55-4a8e-9a7e-3c1f5d2b8a41'
    Author               = 'OciSync contributors'
    Copyright            = '(c) OciSync contributors. MIT License.'
    Description          = 'Copies container images between OCI / Docker registries: image-syncer compatible rules and auth files, streaming, incremental, concurrent and resilient.'
    PowerShellVersion    = '5.1'
    # Windows PowerShell: HttpClientHandler's certificate callback and per-handler TLS versions need 4.7.1+.
    DotNetFrameworkVersion = '4.7.2'
    CompatiblePSEditions = @('Desktop', 'Core')
    FormatsToProcess     = @('OciSync.format.ps1xml')
    CmdletsToExport      = @(
        'Get-RegistryTag'
        'Get-RegistryManifest'
        'Get-SyncPlan'
        'Export-SyncPlan'
        'Invoke-ImageSync'
        'New-SyncRule'
        'Import-SyncRule'
        'New-RegistryCredential'
        'Import-RegistryCredential'
        'Merge-SyncResult'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('container', 'registry', 'oci', 'docker', 'image-syncer', 'sync', 'mirror', 'skopeo', 'crane',
                             'harbor', 'quay', 'ghcr', 'acr', 'ecr', 'cosign', 'referrers', 'airgap', 'devops',
                             'Windows', 'Linux', 'MacOS', 'PSEdition_Desktop', 'PSEdition_Core')
            ProjectUri   = 'https://github.com/ocisync/ocisync'
            LicenseUri   = 'https://github.com/ocisync/ocisync/blob/main/LICENSE'
            ReleaseNotes = @'
0.1.0
- image-syncer's auth and images files (YAML and JSON), its flags and its failed-images file; rules from
  New-SyncRule and Import-SyncRule piped into Get-SyncPlan and Invoke-ImageSync.
- Streaming, digest-verified copies between registries, OCI layouts and OCI archives; cross-repository
  mounts, incremental re-runs, retries of transient faults and of failed images; -WhatIf/-Confirm on writes.
- Anonymous, Basic and Bearer-token auth, docker/podman credential files and helpers; credentials only to
  their own origin, secrets never echoed.
- Tag selection (regex, exclude, semver ranges, latest N, platforms), whole namespaces through the catalog,
  referrers (signatures, SBOMs) and mirror pruning.
- Dependencies load privately (their own load context on PowerShell 7), so other modules' YamlDotNet or
  Polly versions never clash; TLS 1.2+ on Windows PowerShell 5.1.
'@
        }
    }
}
