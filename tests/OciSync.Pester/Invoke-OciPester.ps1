<#
.SYNOPSIS
    Quick loop: runs the Pester tests (all, or the files named) against out/OciSync without rebuilding.
    Run `dotnet pwsh ./build.ps1 -Task Package` first. The full run is `build.ps1 -Task Test`.
.EXAMPLE
    dotnet pwsh tests/OciSync.Pester/Invoke-OciPester.ps1 -Path Get-RegistryTag.Tests.ps1
#>
param([string[]] $Path = @($PSScriptRoot), [string] $Configuration = 'Release', [string] $Verbosity = 'Detailed')
$ErrorActionPreference = 'Stop'
$root = Resolve-Path (Join-Path $PSScriptRoot '../..')
$packages = ((& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
Import-Module (Join-Path $packages 'pester/6.2.0/tools/Pester.psd1')
$env:OCISYNC_MODULE = Join-Path $root 'out/OciSync/OciSync.psd1'
$env:OCISYNC_TESTBED = Join-Path $root "tests/OciSync.TestBed/bin/$Configuration/net10.0/OciSync.TestBed.dll"
$config = New-PesterConfiguration
$config.Run.Path = @($Path -split "," | ForEach-Object { if (Test-Path $_) { (Resolve-Path $_).Path } else { Join-Path $PSScriptRoot $_ } })
$config.Run.PassThru = $true
$config.Output.Verbosity = $Verbosity
$r = Invoke-Pester -Configuration $config
"$($r.PassedCount) passed, $($r.FailedCount + $r.FailedBlocksCount + $r.FailedContainersCount) failed"
