# The one way scripts start the real registries (OciSync.TestBed `up`): dot-sourced by the Pester
# tests (tests/OciSync.Pester/Common.ps1) and the demo (build/Demo.ps1).
#   OCISYNC_TESTBED = tests/OciSync.TestBed/bin/<Configuration>/net10.0/OciSync.TestBed.dll

function Start-OciTestBed {
    <#
    .SYNOPSIS
        Starts anonymous + Basic + token registries (demo images in the anonymous one).
        Returns { Process, StatePath, Anonymous, Basic, Token, Registries }.
    #>
    param([string[]] $Arguments = @('--anonymous', '--basic', '--token', '--seed', 'demo'))
    $dll = $env:OCISYNC_TESTBED
    if ([string]::IsNullOrEmpty($dll) -or -not (Test-Path $dll)) {
        throw "OCISYNC_TESTBED must be the path of OciSync.TestBed.dll (dotnet build tests/OciSync.TestBed -c Release); it is '$dll'."
    }
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
