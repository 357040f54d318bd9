<#
.SYNOPSIS
    Quick CPU loop for performance work: a smaller bench set (default ≈400 MB), synced cold by fresh
    `dotnet pwsh` children, each measuring Invoke-ImageSync (Measure.ps1) -Repeat times into new
    destination repositories (the first call includes module warm-up, later ones do not).
.EXAMPLE
    dotnet pwsh tests/bench/Quick.ps1 -Runs 3
.EXAMPLE
    # CPU-sample the first call of one child with dotnet-trace (speedscope file beside the results)
    dotnet pwsh tests/bench/Quick.ps1 -Runs 1 -Trace /tmp/dt/dotnet-trace
#>
[CmdletBinding()]
param(
    # Several paths: A/B comparison, interleaved run by run on the same seed.
    [string[]] $ModulePath = @(Join-Path $PSScriptRoot '../../out/OciSync/OciSync.psd1'),
    [string] $TestBed = (Join-Path $PSScriptRoot '../OciSync.TestBed/bin/Release/net10.0/OciSync.TestBed.dll'),
    [int] $Repos = 8, [int] $Tags = 3, [int] $Big = 5,
    [int] $Runs = 3, [int] $Repeat = 2, [int] $Proc = 5,
    [string] $Trace,                       # path of dotnet-trace: trace every child's calls
    [switch] $Perf,
    [switch] $JitLog,                      # list the methods each call JIT-compiles (DOTNET_JitDisasmSummary)                        # perf record -g every child's calls (perf script output beside the results)
    [string] $OutDirectory = (Join-Path ([IO.Path]::GetTempPath()) 'ocisync-quick')
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$RepoRoot = Split-Path (Split-Path $PSScriptRoot)
$ModulePath = @($ModulePath -split "," | ForEach-Object { (Resolve-Path $_).Path })
$TestBed = (Resolve-Path $TestBed).Path
New-Item -ItemType Directory -Path $OutDirectory -Force | Out-Null

. (Join-Path $RepoRoot 'tests/TestBed.ps1')
$bed = Start-OciTestBedHost $TestBed
function Bed([string] $Command) { Invoke-OciTestBedHost $bed $Command }

$rows = [Collections.Generic.List[object]]::new()
try {
    $src = Bed 'start'
    $seed = Bed "seed-bench $($src.id) $Repos $Tags $Big"
    Write-Host "seeded $($seed.text)"
    for ($run = 1; $run -le $Runs; $run++) {
      for ($m = 0; $m -lt $ModulePath.Count; $m++) {
        $dst = Bed 'start'
        $images = @()
        for ($k = 1; $k -le $Repeat; $k++) {
            $f = Join-Path $OutDirectory "images-$run-$k.yaml"
            ($seed.repositories | ForEach-Object { "$($src.host)/${_}: $($dst.host)/q$k/$_" }) | Set-Content $f
            $images += $f
        }
        $json = Join-Path $OutDirectory "run-$run-$m.json"
        $childArgs = @('pwsh', '-NoProfile', '-NonInteractive', '-File', (Join-Path $PSScriptRoot 'QuickChild.ps1'), '-ModulePath', $ModulePath[$m],
            '-Images', ($images -join ','), '-Proc', $Proc, '-ResultPath', $json)
        $childArgs += @('-TracePrefix', (Join-Path $OutDirectory "trace-$run"))
        if ($Trace) { $childArgs += @('-Trace', $Trace) }
        if ($JitLog) { $env:DOTNET_JitDisasmSummary = '1'; $env:DOTNET_JitStdOutFile = (Join-Path $OutDirectory "jit-$run.txt") }
        if ($Perf) { $childArgs += @('-Perf'); $env:DOTNET_PerfMapEnabled = '1'; $env:DOTNET_EnableWriteXorExecute = '0' }
        Push-Location $RepoRoot
        try { & dotnet @childArgs } finally { Pop-Location; Remove-Item Env:DOTNET_PerfMapEnabled, Env:DOTNET_EnableWriteXorExecute, Env:DOTNET_JitDisasmSummary, Env:DOTNET_JitStdOutFile -ErrorAction SilentlyContinue }
        if ($LASTEXITCODE -ne 0) { throw "child run $run failed ($LASTEXITCODE)" }
        $k = 0
        foreach ($r in (Get-Content $json -Raw | ConvertFrom-Json)) {
            $k++
            $gb = $r.bytesCopied / 1e9
            $rows.Add([pscustomobject]@{ Module = $m; Run = $run; Call = $k; Seconds = $r.seconds; CpuSeconds = $r.cpuSeconds; JitSeconds = $r.jitSeconds; JitMethods = $r.jitMethods; GB = [math]::Round($gb, 3)
                    CpuPerGB = [math]::Round($r.cpuSeconds / $gb, 2); Blobs = $r.blobsCopied; Problems = ($r.problems -join ' ') })
        }
        $null = Bed "stop $($dst.id)"
      }
    }
}
finally { Stop-OciTestBedHost $bed }
$rows | Format-Table -AutoSize | Out-String | Write-Host
for ($m = 0; $m -lt $ModulePath.Count; $m++) {
    foreach ($k in 1..$Repeat) {
        $v = @($rows | Where-Object { $_.Module -eq $m -and $_.Call -eq $k } | ForEach-Object CpuPerGB | Sort-Object)
        if ($v.Count) { Write-Host ("module {0} call {1}: CPU s/GB median {2} (min {3}, max {4}, n={5})  {6}" -f $m, $k, $v[[int][math]::Floor(($v.Count - 1) / 2)], $v[0], $v[-1], $v.Count, $ModulePath[$m]) }
    }
}
