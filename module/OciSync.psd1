@{
    RootModule           = 'OciSync.PowerShell.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0c7f0e-5d55-4a8e-9a7e-3c1f5d2b8a41'
    Author               = 'OciSync contributors'
    Copyright            = '(c) OciSync contributors. MIT License.'
    Description          = 'Copies container images between OCI / Docker registries: image-syncer compatible rules and auth files, streaming, incremental, concurrent and resilient.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    FormatsToProcess     = @('OciSync.format.ps1xml')
    CmdletsToExport      = @(
        'Get-RegistryTag'
        'Get-RegistryManifest'
        'Get-SyncPlan'
        'Invoke-ImageSync'
        'New-SyncRule'
        'Import-SyncRule'
        'New-RegistryCredential'
        'Import-RegistryCredential'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('container', 'registry', 'oci', 'docker', 'image-syncer', 'sync', 'mirror')
            ProjectUri = 'https://example.invalid/ocisync'
        }
    }
}
