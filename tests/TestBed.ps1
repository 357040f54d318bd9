# The one way scripts start the real registries (OciSync.TestBed): dot-sourced by the Pester tests
# (tests/OciSync.Pester/Common.ps1), the demo (build/Demo.ps1) and the benchmarks (tests/bench).
#   Start-OciTestBed      `up`: a fixed set of registries, seeded, for the life of a test run
#   Start-OciTestBedHost  `serve`: registries started, seeded, counted and stopped on command
#   OCISYNC_TESTBED = tests/OciSync.TestBed/bin/<Configuration>/net10.0/OciSync.TestBed.dll

function Get-OciTestBedDll {
    param([string] $Path = $env:OCISYNC_TESTBED)
    if ([string]::IsNullOrEmpty($Path) -or -not (Test-Path $Path)) {
        throw "OCISYNC_TESTBED must be the path of OciSync.TestBed.dll (dotnet build tests/OciSync.TestBed -c Release); it is '$Path'."
    }
    (Resolve-Path $Path).Path
}

function Start-OciTestBed {
    <#
    .SYNOPSIS
        Starts anonymous + Basic + token registries (demo images in the anonymous one).
        Returns { Process, StatePath, Anonymous, Basic, Token, Registries }.
    #>
    param([string[]] $Arguments = @('--anonymous', '--basic', '--token', '--seed', 'demo'))
    $dll = Get-OciTestBedDll
    $state = Join-Path ([IO.Path]::GetTempPath()) "ocisync-pester-$PID-$([guid]::NewGuid().ToString('N')).json"
    $psi = [Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in @($dll, 'up') + $Arguments + @('--state', $state)) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true       # the test bed stops when this pipe closes
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($psi)
    $stderr = $process.StandardError.ReadToEndAsync()
    while ($true) {
        $line = $process.StandardOutput.ReadLine()
        if ($null -eq $line) {
            $null = $process.WaitForExit(5000)
            throw "The test bed stopped before it was ready (is docker-registry installed?): $($stderr.Result)"
        }
        if ($line -eq 'READY') { break }
    }
    $registries = @(Get-Content $state -Raw | ConvertFrom-Json)
    Remove-Item $state -ErrorAction SilentlyContinue
    [pscustomobject]@{
        Process    = $process
        Registries = $registries
        Anonymous  = $registries | Where-Object kind -EQ 'Anonymous' | Select-Object -First 1
        Basic      = $registries | Where-Object kind -EQ 'Basic' | Select-Object -First 1
        Token      = $registries | Where-Object kind -EQ 'Token' | Select-Object -First 1
    }
}

function Stop-OciTestBed {
    param($TestBed)
    if ($null -eq $TestBed) { return }
    try { $TestBed.Process.StandardInput.Close() } catch { }
    if (-not $TestBed.Process.WaitForExit(20000)) { $TestBed.Process.Kill($true) }
    $TestBed.Process.Dispose()
}

function Start-OciTestBedHost {
    <#
    .SYNOPSIS
        Starts `OciSync.TestBed serve` (see its usage) in its own process, so seeding never touches the
        calling session and the registries' access logs stay countable. Talk to it with Invoke-OciTestBedHost.
    #>
    param([string] $TestBed = $env:OCISYNC_TESTBED)
    $psi = [Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in @((Get-OciTestBedDll $TestBed), 'serve')) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.UseShellExecute = $false
    [Diagnostics.Process]::Start($psi)
}

function Invoke-OciTestBedHost {
    <# .SYNOPSIS One command (start, seed-bench, seed-big, log-clear, log-count, digests, stop); returns its answer as a hashtable. #>
    param([Parameter(Mandatory)] $TestBedHost, [Parameter(Mandatory)] [string] $Command)
    $TestBedHost.StandardInput.WriteLine($Command)
    $TestBedHost.StandardInput.Flush()
    while ($true) {
        $line = $TestBedHost.StandardOutput.ReadLine()
        if ($null -eq $line) { throw "The test bed host exited during '$Command'." }
        if ($line.StartsWith('@@ERR ')) { throw "Test bed host, '$Command': $($line.Substring(6))" }
        if ($line.StartsWith('@@ ')) { return ($line.Substring(3) | ConvertFrom-Json -AsHashtable) }
        Write-Verbose "testbed: $line"
    }
}

function Stop-OciTestBedHost {
    param($TestBedHost)
    if ($null -eq $TestBedHost) { return }
    try { $TestBedHost.StandardInput.WriteLine('quit'); $TestBedHost.StandardInput.Close() } catch { }
    if (-not $TestBedHost.WaitForExit(60000)) { $TestBedHost.Kill($true) }
    $TestBedHost.Dispose()
}
