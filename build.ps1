<#
.SYNOPSIS
    Builds, packages, tests, demonstrates and benchmarks OciSync.
.DESCRIPTION
    Tasks:
      Build    compile the solution
      Package  assemble the importable module at out/OciSync/OciSync.psd1, its zip for Azure Automation
               (out/OciSync-<version>.zip) and its gallery package (out/OciSync.<version>.nupkg)
      Test     xunit (core, real registries) + Pester (cmdlets, packaged module); prints "N passed, N failed"
      Demo     start two throwaway registries, seed sample images, sync them twice, stop the registries
      Bench    compare OciSync with skopeo sync: ~1 GB over loopback (out/bench/results.md), then the 1 GB set
               and the 2,000-tag scale set across an emulated WAN (out/bench/wan.md; -Rtt, -Bandwidth)
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 -Task Test
.EXAMPLE
    # only the WAN benchmark, 80 ms away over 100 Mbit/s
    dotnet pwsh ./build.ps1 -Task Bench -Network Wan -Rtt 80 -Bandwidth 100
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Package', 'Test', 'Demo', 'Bench', 'Prerequisites')]
    [string[]] $Task = @('Package'),
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',
    # Bench: which network(s), the WAN's round-trip time (ms) and bandwidth per direction (Mbit/s, 0 = unlimited).
    [ValidateSet('Loopback', 'Wan', 'Both')]
    [string] $Network = 'Both',
    [double] $Rtt = 40,
    [double] $Bandwidth = 500
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
if ($PSVersionTable.PSVersion.Major -ge 7) { $PSStyle.OutputRendering = 'PlainText' }
$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleOut = Join-Path $Out 'OciSync'
$TestBedDll = Join-Path $Root "tests/OciSync.TestBed/bin/$Configuration/net10.0/OciSync.TestBed.dll"

function Invoke-Native {
    param([string] $FilePath, [string[]] $Arguments)
    & $FilePath @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$FilePath $($Arguments -join ' ') failed with exit code $LASTEXITCODE." }
}

function Invoke-Prerequisites {
    # The tests and the demo run the real distribution registry (Debian package docker-registry),
    # htpasswd for Basic auth, skopeo as an independent checker and benchmark peer, and a real docker
    # credential helper (docker-credential-pass, over pass and gpg) for the docker-credentials tests.
    $needed = @{
        'docker-registry' = '/usr/bin/docker-registry'; 'apache2-utils' = '/usr/bin/htpasswd'; 'skopeo' = '/usr/bin/skopeo'
        'golang-docker-credential-helpers' = '/usr/bin/docker-credential-pass'; 'pass' = '/usr/bin/pass'; 'gnupg' = '/usr/bin/gpg'
    }
    $missing = @($needed.Keys | Where-Object { -not (Test-Path $needed[$_]) } | Sort-Object)
    if ($missing.Count -eq 0) { return }
    $apt = Get-Command apt-get -ErrorAction SilentlyContinue
    $isRoot = (Get-Command id -ErrorAction SilentlyContinue) -and ((& id -u) -eq '0')
    if (-not $apt -or -not $isRoot) {
        throw "OciSync's tests need the Debian packages: $($missing -join ' '). Install them (apt-get install $($missing -join ' ')) and run again."
    }
    Write-Host "Installing $($missing -join ', ') with apt-get..."
    $env:DEBIAN_FRONTEND = 'noninteractive'
    Invoke-Native apt-get @('update', '-qq')
    Invoke-Native apt-get (@('install', '-y', '-qq', '--no-install-recommends') + $missing)
}

function Invoke-Build {
    Invoke-Native dotnet @('build', (Join-Path $Root 'OciSync.PowerShell.sln'), '-c', $Configuration, '--nologo', '-v', 'quiet', '-clp:ErrorsOnly')
}

function Invoke-Package {
    Invoke-Build
    if (Test-Path $ModuleOut) { Remove-Item $ModuleOut -Recurse -Force }
    New-Item -ItemType Directory -Path $ModuleOut | Out-Null
    $bin = Join-Path $Root "src/OciSync.PowerShell/bin/$Configuration/netstandard2.0"
    # Only the cmdlets' dll sits at the root; OciSync.Core and every package it needs go to Dependencies/, where
    # neither PowerShell nor .NET looks, and are loaded privately (src/OciSync.PowerShell/Loading).
    $dependencies = New-Item -ItemType Directory -Path (Join-Path $ModuleOut 'Dependencies')
    Copy-Item (Join-Path $bin 'OciSync.PowerShell.dll') $ModuleOut
    Get-ChildItem $bin -Filter *.dll | Where-Object Name -notin 'OciSync.PowerShell.dll', 'System.Management.Automation.dll' | Copy-Item -Destination $dependencies
    Copy-Item (Join-Path $bin 'OciSync.Core.xml') $dependencies   # the API docs, for C# callers of OciSync.Core.dll
    Copy-Item (Join-Path $Root 'module/*') $ModuleOut -Recurse
    Copy-Item (Join-Path $Root 'LICENSE') $ModuleOut
    Invoke-Native dotnet @('pwsh', '-NoProfile', '-NonInteractive', '-File', (Join-Path $Root 'build/New-HelpXml.ps1'), '-ModulePath', (Join-Path $ModuleOut 'OciSync.psd1'))
    Write-Host "Module: $(Join-Path $ModuleOut 'OciSync.psd1')"
    Invoke-Archives
}

function Invoke-Archives {
    # The zip Azure Automation's "Import module" and New-AzAutomationModule take (OciSync/ at its root), and the
    # gallery package (what Publish-PSResource would upload), both of the module just assembled.
    $version = (Import-PowerShellDataFile (Join-Path $ModuleOut 'OciSync.psd1')).ModuleVersion
    Get-ChildItem $Out -File | Where-Object Name -match '^OciSync[-.]\d.*\.(zip|nupkg)$' | Remove-Item
    $zip = Join-Path $Out "OciSync-$version.zip"
    Add-Type -AssemblyName System.IO.Compression.FileSystem
    [System.IO.Compression.ZipFile]::CreateFromDirectory($ModuleOut, $zip, [System.IO.Compression.CompressionLevel]::Optimal, $true)
    Write-Host "Zip: $zip"
    Import-Module Microsoft.PowerShell.PSResourceGet -ErrorAction Stop
    Compress-PSResource -Path $ModuleOut -DestinationPath $Out
    $nupkg = Join-Path $Out "OciSync.$version.nupkg"
    if (-not (Test-Path $nupkg)) { throw "Compress-PSResource wrote no $nupkg." }
    Write-Host "Gallery package: $nupkg"
}

function Get-PesterManifest {
    Invoke-Native dotnet @('restore', (Join-Path $Root 'tests/OciSync.Pester/OciSync.Pester.csproj'), '--nologo', '-v', 'quiet')
    $packages = (& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', ''
    $manifest = Join-Path $packages.Trim() 'pester/6.2.0/tools/Pester.psd1'
    if (-not (Test-Path $manifest)) { throw "Pester was restored but $manifest is missing." }
    $manifest
}

function Invoke-Test {
    Invoke-Prerequisites
    Invoke-Package
    $results = Join-Path $Out 'test-results'
    if (Test-Path $results) { Remove-Item $results -Recurse -Force }
    New-Item -ItemType Directory -Path $results | Out-Null

    # xunit: the core against real registries.
    & dotnet test (Join-Path $Root 'tests/OciSync.Core.Tests/OciSync.Core.Tests.csproj') -c $Configuration --no-build --nologo `
        --logger 'trx;LogFileName=core.trx' --logger 'console;verbosity=minimal' --results-directory $results
    $trx = Get-ChildItem $results -Filter *.trx -Recurse | Select-Object -First 1
    $xPassed = 0; $xFailed = 1
    if ($trx) {
        $counters = ([xml](Get-Content $trx.FullName -Raw)).TestRun.ResultSummary.Counters
        $xPassed = [int]$counters.passed
        $xFailed = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
    }
    if ($LASTEXITCODE -ne 0 -and $xFailed -eq 0) { $xFailed = 1 }   # a crashed test host counts as a failure

    # Pester: the cmdlets, in a fresh pwsh that imports the packaged module.
    $pester = Get-PesterManifest
    $pesterJson = Join-Path $results 'pester.json'
    $script = @"
`$ErrorActionPreference = 'Stop'
`$PSStyle.OutputRendering = 'PlainText'
Import-Module '$pester'
`$config = New-PesterConfiguration
`$config.Run.Path = '$(Join-Path $Root 'tests/OciSync.Pester')'
`$config.Run.PassThru = `$true
`$config.Output.Verbosity = 'Normal'
`$env:OCISYNC_MODULE = '$(Join-Path $ModuleOut 'OciSync.psd1')'
`$env:OCISYNC_TESTBED = '$TestBedDll'
`$r = Invoke-Pester -Configuration `$config
[pscustomobject]@{ Passed = `$r.PassedCount; Failed = `$r.FailedCount + `$r.FailedBlocksCount + `$r.FailedContainersCount } | ConvertTo-Json | Set-Content '$pesterJson'
"@
    & dotnet pwsh -NoProfile -NonInteractive -Command $script
    $pesterExit = $LASTEXITCODE
    $pPassed = 0; $pFailed = 1
    if (Test-Path $pesterJson) { $p = Get-Content $pesterJson -Raw | ConvertFrom-Json; $pPassed = [int]$p.Passed; $pFailed = [int]$p.Failed }
    if ($pesterExit -ne 0 -and $pFailed -eq 0) { $pFailed = 1 }   # Pester itself failed to run

    $passed = $xPassed + $pPassed
    $failed = $xFailed + $pFailed
    Write-Host "xunit: $xPassed passed, $xFailed failed; Pester: $pPassed passed, $pFailed failed"
    Write-Host "$passed passed, $failed failed"
    if ($failed -gt 0 -or $passed -eq 0) { exit 1 }
}

function Invoke-Demo {
    Invoke-Prerequisites
    Invoke-Package
    & (Join-Path $Root 'build/Demo.ps1') -ModulePath (Join-Path $ModuleOut 'OciSync.psd1') -TestBed $TestBedDll
}

function Invoke-Bench {
    Invoke-Prerequisites
    Invoke-Package
    $module = Join-Path $ModuleOut 'OciSync.psd1'
    $failed = 0
    if ($Network -ne 'Wan') {
        & (Join-Path $Root 'tests/bench/Invoke-Benchmark.ps1') -ModulePath $module -TestBed $TestBedDll -OutDirectory $Out
        if ($LASTEXITCODE -ne 0) { $failed = $LASTEXITCODE }
    }
    if ($Network -ne 'Loopback') {
        # Its own pwsh: the loopback run's session (heap, JIT state, loaded module) does not carry over.
        & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $Root 'tests/bench/Invoke-WanBenchmark.ps1') -ModulePath $module -TestBed $TestBedDll -OutDirectory $Out -Rtt $Rtt -Bandwidth $Bandwidth
        if ($LASTEXITCODE -ne 0) { $failed = $LASTEXITCODE }
    }
    if ($failed -ne 0) { exit $failed }
}

foreach ($t in $Task) {
    switch ($t) {
        'Prerequisites' { Invoke-Prerequisites }
        'Build' { Invoke-Build }
        'Package' { Invoke-Package }
        'Test' { Invoke-Test }
        'Demo' { Invoke-Demo }
        'Bench' { Invoke-Bench }
    }
}
