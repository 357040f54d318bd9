<#
.SYNOPSIS
    Benchmark helper: imports OciSync in a fresh pwsh and measures one Invoke-ImageSync call (see Measure.ps1).
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $Images,
    [Parameter(Mandatory)] [string] $ResultPath,
    [int] $Proc = 5,
    [string] $Label = 'child'
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot 'Measure.ps1')
$import = Measure-Command { Import-Module $ModulePath -Force }
$r = Measure-OciSync $Images $Label $Proc
$r.moduleImportSeconds = [math]::Round($import.TotalSeconds, 3)
$r | ConvertTo-Json -Depth 6 | Set-Content $ResultPath
