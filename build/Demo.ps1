<#
.SYNOPSIS
    The demo of the README's first command (build.ps1 -Task Demo): two throwaway registries, the sample
    images synced with image-syncer's files, the plan, the results, and a second run that copies nothing.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestBed
)
$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot '../tests/TestBed.ps1')

& {
    Import-Module $ModulePath -Force
    Write-Host "`n== Starting two throwaway registries: an anonymous source with sample images, a Basic-auth destination"
    $env:OCISYNC_TESTBED = $TestBed
    $bed = Start-OciTestBed @('--anonymous', '--basic', '--seed', 'demo')
    try {
        $source, $target = $bed.Anonymous, $bed.Basic
        $work = Join-Path ([IO.Path]::GetTempPath()) "ocisync-demo-$PID"
        New-Item -ItemType Directory -Path $work -Force | Out-Null
        # image-syncer's two files, exactly as users bring them.
        @"
$($source.host)/demo/alpine: $($target.host)/mirror/alpine
$($source.host)/demo/busybox:1.36: $($target.host)/mirror/busybox
$($source.host)/demo/app:1.0:
  - $($target.host)/mirror/app
  - $($target.host)/apps/app:stable
$($source.host)/demo/legacy:1.0: $($target.host)/mirror/legacy
"@ | Set-Content (Join-Path $work 'images.yaml')
        $env:OCISYNC_DEMO_PASSWORD = $target.password
        @"
$($target.host):
  username: $($target.username)
  password: `${OCISYNC_DEMO_PASSWORD}
"@ | Set-Content (Join-Path $work 'auth.yaml')
        Write-Host "`n== images.yaml"; Get-Content (Join-Path $work 'images.yaml') | Write-Host
        Write-Host "`n== Get-SyncPlan"
        Get-SyncPlan -Images (Join-Path $work 'images.yaml') -Auth (Join-Path $work 'auth.yaml') | Format-Table | Out-String -Width 160 | Write-Host
        Write-Host "== Invoke-ImageSync (first run copies everything)"
        # One result per image, and the one-line summary on the host.
        Invoke-ImageSync -Images (Join-Path $work 'images.yaml') -Auth (Join-Path $work 'auth.yaml') | Out-String -Width 120 | Write-Host
        Write-Host "== Invoke-ImageSync -Detailed on a fresh copy of demo/app (every manifest and layer too)"
        Invoke-ImageSync -Source "$($source.host)/demo/app:1.0" -Destination "$($target.host)/detailed/app" -Auth (Join-Path $work 'auth.yaml') -Detailed | Out-String -Width 120 | Write-Host
        Write-Host "== Invoke-ImageSync -Summary again (nothing is copied twice)"
        $summary = Invoke-ImageSync -Images (Join-Path $work 'images.yaml') -Auth (Join-Path $work 'auth.yaml') -Summary
        $summary | Format-Table | Out-String -Width 120 | Write-Host
        if ($summary.Failed -gt 0 -or $summary.BlobsCopied -gt 0) { throw 'The second run should have copied nothing.' }
        Write-Host "== Air gap: demo/app into an OCI layout directory, then from the directory into the registry"
        $layout = Join-Path $work 'usb/mirror'
        Invoke-ImageSync -Source "$($source.host)/demo/app:1.0" -Destination "oci:$layout" | Out-String -Width 120 | Write-Host
        Invoke-ImageSync -Source "oci:$layout" -Destination "$($target.host)/airgap/app" -Auth (Join-Path $work 'auth.yaml') | Out-String -Width 120 | Write-Host
        Write-Host "== Get-RegistryManifest on the copied multi-platform image"
        Get-RegistryManifest "$($target.host)/mirror/app:1.0" -Auth (Join-Path $work 'auth.yaml') | Format-List Reference, Digest, MediaType, Platforms | Out-String -Width 160 | Write-Host
        Remove-Item $work -Recurse -Force
    }
    finally {
        Write-Host '== Stopping the registries'
        Stop-OciTestBed $bed
    }
}
