<#
.SYNOPSIS
    Quick.ps1 helper: imports OciSync in a fresh pwsh and measures Invoke-ImageSync once per images file
    (comma-separated), optionally under dotnet-trace (CPU sampling, converted to speedscope).
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $Images,
    [Parameter(Mandatory)] [string] $ResultPath,
    [int] $Proc = 5,
    [string] $Trace,
    [string] $TracePrefix,
    [switch] $Perf                       # perf record -g instead (start pwsh with DOTNET_PerfMapEnabled=1)
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot 'Measure.ps1')
Import-Module $ModulePath -Force
$results = @()
$k = 0
foreach ($f in ($Images -split ',')) {
    $k++
    $tracer = $null
    if ($Perf) {
        Start-Sleep -Seconds 5           # let background tier-1 JIT of the previous call settle
        $out = "$TracePrefix-$k.perf.data"
        $tracer = Start-Process -FilePath perf -ArgumentList @('record', '-F', '1999', '-g', '-p', $PID, '-o', $out) -PassThru -RedirectStandardOutput "$out.log" -RedirectStandardError "$out.err"
        Start-Sleep -Seconds 2
    }
    elseif ($Trace) {
        $out = "$TracePrefix-$k.nettrace"
        $tracer = Start-Process -FilePath $Trace -ArgumentList @('collect', '-p', $PID, '--profile', 'dotnet-sampled-thread-time', '-o', $out) -PassThru -RedirectStandardOutput "$out.log" -RedirectStandardError "$out.err"
        Start-Sleep -Seconds 3
    }
    $results += Measure-OciSync $f "call-$k" $Proc
    # With DOTNET_JitDisasmSummary=1: the methods compiled inside the measured window (Measure.ps1).
    if ($env:DOTNET_JitStdOutFile -and $TracePrefix) { $script:JitLogWindow | Set-Content "$TracePrefix-$k.jit.txt" }
    if ($tracer) {
        & kill -INT $tracer.Id
        $null = $tracer.WaitForExit(60000)
        if (-not $Perf) { & $Trace convert --format speedscope $out | Out-Null }
    }
}
ConvertTo-Json -InputObject $results -Depth 6 | Set-Content $ResultPath
