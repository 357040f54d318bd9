# Measures one Invoke-ImageSync call in the current pwsh session (dot-sourced by Invoke-Benchmark.ps1
# and Invoke-OciSyncChild.ps1): wall time around the call only, process CPU, and peak memory growth as the
# kernel's peak-RSS mark (VmHWM, reset just before the call) minus the RSS after a GC.

function Read-ProcStatusKiB([string] $Field) {
    $line = Get-Content /proc/self/status | Where-Object { $_ -like "${Field}:*" } | Select-Object -First 1
    if ($line -match '(\d+)\s*kB') { [long]$Matches[1] } else { $null }
}

function Wait-ProcessQuiet([int] $TimeoutMs = 8000) {
    # The runtime re-compiles hot methods on a background thread, about 100 ms after the code ran; the
    # harness's own script work (seeding, parsing results, Get-Content) would otherwise be re-compiled
    # inside the measured window and billed to Invoke-ImageSync. Wait until the process idles.
    $self = [Diagnostics.Process]::GetCurrentProcess()
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $self.Refresh(); $last = $self.TotalProcessorTime
    while ($clock.ElapsedMilliseconds -lt $TimeoutMs) {
        Start-Sleep -Milliseconds 250
        $self.Refresh(); $now = $self.TotalProcessorTime
        if (($now - $last).TotalMilliseconds -lt 15) { return }
        $last = $now
    }
}

function Measure-OciSync([string] $ImagesFile, [string] $Label, [int] $Proc) {
    # Peak memory comes from the kernel's peak-RSS mark (VmHWM), reset before the call: no sampling
    # thread runs in this process, so none of the CPU measured here is the measurement's own.
    [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
    $self = [Diagnostics.Process]::GetCurrentProcess()
    $self.Refresh()
    $baseline = $self.WorkingSet64
    # Reset the kernel's peak-RSS mark (VmHWM) so it measures this call only.
    $hwmReset = $false
    try { [IO.File]::AppendAllText('/proc/self/clear_refs', '5'); $hwmReset = $true } catch { }
    $baselineRssKiB = Read-ProcStatusKiB 'VmRSS'
    Wait-ProcessQuiet

    # With DOTNET_JitDisasmSummary=1 + DOTNET_JitStdOutFile: the methods compiled inside the window.
    $jitLog = $env:DOTNET_JitStdOutFile
    $jitLogStart = if ($jitLog -and (Test-Path $jitLog)) { [IO.File]::ReadAllLines($jitLog).Count } else { 0 }
    $self.Refresh(); $cpu0 = $self.TotalProcessorTime
    $jit0 = [Runtime.JitInfo]::GetCompilationTime($false); $jitMethods0 = [Runtime.JitInfo]::GetCompiledMethodCount($false)
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $syncErrors = $null
    # -Detailed: every layer and manifest result, as the measured output always had.
    $output = @(Invoke-ImageSync -Images $ImagesFile -Proc $Proc -Detailed -ErrorAction SilentlyContinue -ErrorVariable syncErrors -InformationVariable syncInfo 6>$null)
    $clock.Stop()
    $self.Refresh(); $cpu1 = $self.TotalProcessorTime
    $jit1 = [Runtime.JitInfo]::GetCompilationTime($false); $jitMethods1 = [Runtime.JitInfo]::GetCompiledMethodCount($false)

    if ($jitLog -and (Test-Path $jitLog)) { $script:JitLogWindow = @([IO.File]::ReadAllLines($jitLog) | Select-Object -Skip $jitLogStart) }
    $hwmKiB = if ($hwmReset) { Read-ProcStatusKiB 'VmHWM' } else { $null }

    $summary = @($syncInfo | Where-Object { $_.MessageData -is [OciSync.Core.Sync.SyncSummary] }) | Select-Object -Last 1 | ForEach-Object MessageData
    $layers = @($output | Where-Object { $_ -is [OciSync.Core.Sync.LayerResult] })
    $manifests = @($output | Where-Object { $_ -is [OciSync.Core.Sync.ManifestResult] })
    $problems = @()
    if (-not $summary) { $problems += "OciSync $Label emitted no SyncSummary." }
    elseif ($summary.Failed -gt 0) { $problems += "OciSync $Label failed $($summary.Failed) image(s): $(@($syncErrors | Select-Object -First 3) -join ' | ')" }
    elseif (@($syncErrors).Count -gt 0) { $problems += "OciSync $Label wrote errors: $(@($syncErrors | Select-Object -First 3) -join ' | ')" }

    [ordered]@{
        seconds            = [math]::Round($clock.Elapsed.TotalSeconds, 3)
        cpuSeconds         = [math]::Round(($cpu1 - $cpu0).TotalSeconds, 3)
        # Time the runtime spent compiling methods (all threads, incl. background re-compilation of hot code).
        jitSeconds         = [math]::Round(($jit1 - $jit0).TotalSeconds, 3)
        jitMethods         = $jitMethods1 - $jitMethods0
        peakGrowthMiB      = if ($hwmKiB) { [math]::Round(($hwmKiB - $baselineRssKiB) / 1024, 1) } else { $null }
        hwmGrowthMiB       = if ($hwmKiB) { [math]::Round(($hwmKiB - $baselineRssKiB) / 1024, 1) } else { $null }
        baselineMiB        = [math]::Round($baseline / 1MB, 1)
        summaryDurationSec = if ($summary) { [math]::Round($summary.Seconds, 3) } else { $null }
        images             = if ($summary) { $summary.Images } else { $null }
        synced             = if ($summary) { $summary.Synced } else { $null }
        unchanged          = if ($summary) { $summary.Unchanged } else { $null }
        failed             = if ($summary) { $summary.Failed } else { $null }
        blobsCopied        = if ($summary) { $summary.BlobsCopied } else { $null }
        blobsMounted       = if ($summary) { $summary.BlobsMounted } else { $null }
        blobsPresent       = if ($summary) { $summary.BlobsPresent } else { $null }
        bytesCopied        = if ($summary) { $summary.BytesCopied } else { $null }
        layerResults       = $layers.Count
        manifestResults    = $manifests.Count
        problems           = $problems
    }
}
