<#
.SYNOPSIS
    Child runbook: syncs one shard of an images file and puts the shard's summary into a storage blob.
.DESCRIPTION
    Started by Start-ShardedSync.ps1 once per shard (Start-AzAutomationRunbook ... -Parameters @{ ShardIndex; ShardCount; ... }).
    Import the OciSync module into the Automation account (Modules -> Add a module -> out/OciSync-<version>.zip, the
    PowerShell 7.4 runtime) and publish this script as a PowerShell runbook named 'Invoke-ShardSync'.

    Credentials: two Automation credential assets (encrypted by Azure Automation, never in the runbook, its
    parameters or its output). Get-AutomationPSCredential returns them as PSCredentials; New-RegistryCredential binds
    each to its registry and Invoke-ImageSync takes them as -Credential, so no auth file is written anywhere.
    (-SourceCredential/-DestinationCredential exist too, but only for one -Source/-Destination rule, not with
    -Images.) Key Vault instead of assets: give the account's managed identity 'Key Vault Secrets User' and build
    the credential from the secret's SecureString:
        $secret = Get-AzKeyVaultSecret -VaultName kv-mirror -Name destination-password
        $destination = [pscredential]::new('mirror-robot', $secret.SecretValue)

    The images file and the results live in a blob container; the account's managed identity needs
    'Storage Blob Data Contributor' on it. On a Hybrid Runbook Worker, -ImagesBlob may be left out and -ImagesPath
    point to a local file instead.
#>
param(
    [Parameter(Mandatory)] [ValidateRange(0, 9999)] [int] $ShardIndex,
    [Parameter(Mandatory)] [ValidateRange(1, 10000)] [int] $ShardCount,
    # Names the run: the summaries of one run go to <RunId>/shard-<i>.json, so runs never mix.
    [Parameter(Mandatory)] [ValidatePattern('^[A-Za-z0-9-]{1,64}$')] [string] $RunId,
    [Parameter(Mandatory)] [string] $StorageAccount,
    [string] $Container = 'ocisync',
    # The images file: a blob in $Container (downloaded), or a local path on a Hybrid Runbook Worker.
    [string] $ImagesBlob = 'images.yaml',
    [string] $ImagesPath,
    [Parameter(Mandatory)] [string] $SourceRegistry,          # e.g. quay.io
    [Parameter(Mandatory)] [string] $DestinationRegistry,     # e.g. registry.example.com
    [string] $SourceCredentialName = 'ocisync-source',
    [string] $DestinationCredentialName = 'ocisync-destination'
)

$ErrorActionPreference = 'Stop'
if ($ShardIndex -ge $ShardCount) { throw "ShardIndex $ShardIndex is not below ShardCount $ShardCount." }

Import-Module OciSync
$null = Disable-AzContextAutosave -Scope Process   # jobs may share a sandbox: keep this job's Azure context its own
$null = Connect-AzAccount -Identity                # the Automation account's system-assigned managed identity
$storage = New-AzStorageContext -StorageAccountName $StorageAccount -UseConnectedAccount

$work = Join-Path ([IO.Path]::GetTempPath()) "ocisync-$RunId-$ShardIndex"
$null = New-Item -ItemType Directory -Force $work
$summaryPath = Join-Path $work "shard-$ShardIndex.json"
$failedPath = Join-Path $work "failed-$ShardIndex.yaml"
try {
    if (-not $ImagesPath) {
        $ImagesPath = Join-Path $work 'images.yaml'
        $null = Get-AzStorageBlobContent -Context $storage -Container $Container -Blob $ImagesBlob -Destination $ImagesPath -Force
    }

    $credentials = @(
        New-RegistryCredential -Registry $SourceRegistry -Credential (Get-AutomationPSCredential -Name $SourceCredentialName)
        New-RegistryCredential -Registry $DestinationRegistry -Credential (Get-AutomationPSCredential -Name $DestinationCredentialName)
    )

    # -Summary: the job's output is one SyncSummary, not a line per image. -ErrorAction Stop: every image is still
    # tried and the files are written, then one ImagesFailed error makes this job Failed.
    Invoke-ImageSync -Images $ImagesPath -Credential $credentials -ShardIndex $ShardIndex -ShardCount $ShardCount `
        -SummaryPath $summaryPath -RunId $RunId -FailedImagesPath $failedPath -Summary -ErrorAction Stop
}
finally {
    # Also after a failure: the parent merges whatever the shard wrote, and the failures are in the summary.
    foreach ($file in $summaryPath, $failedPath) {
        if (Test-Path $file) {
            $null = Set-AzStorageBlobContent -Context $storage -Container $Container -File $file `
                -Blob "$RunId/$(Split-Path -Leaf $file)" -Force
        }
    }
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}
