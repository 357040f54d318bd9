<#
.SYNOPSIS
    Parent runbook: starts one Invoke-ShardSync job per shard, waits for all of them, merges their summaries and
    fails when any shard failed, timed out or left no summary.
.DESCRIPTION
    Needs the modules Az.Accounts, Az.Automation, Az.Storage (in the 7.4 runtime by default) and OciSync (for
    Merge-SyncResult) in the Automation account. Its system-assigned managed identity needs 'Automation
    Operator' (start, read and stop jobs) on the account and 'Storage Blob Data Contributor' on the results container.

    Credentials: this runbook handles none. The managed identity signs in to Azure (Connect-AzAccount -Identity);
    the registry credentials are Automation credential assets that only the child reads (Get-AutomationPSCredential).

    Results: each child uploads its summary JSON (Invoke-ImageSync -SummaryPath) to <Container>/<RunId>/shard-<i>.json
    and this runbook downloads them. Reading the children's Output stream instead (Get-AzAutomationJobOutput -Id <job>
    -Stream Output | Get-AzAutomationJobOutputRecord) works for small runs, but records come back as deserialized
    objects to reassemble, and a summary that embeds every failed entry can be large: a blob is the file itself, and
    it stays for a re-run of <RunId>/failed.yaml.

    Time: a job in Azure's cloud sandboxes is unloaded after 3 hours (fair share), this parent included, which
    waits for all children. Keep -TimeoutMinutes below that (the default leaves 10 minutes to merge) and choose
    -ShardCount so that one shard finishes well within it; the account's limit of jobs running at once may queue
    some children. Hybrid Runbook Workers have no 3-hour limit: -HybridWorkerGroup runs the children there
    (Start-AzAutomationRunbook -RunOn <group>), e.g. next to a registry that is not reachable from Azure; start this
    parent with -RunOn too to lift its limit.
#>
param(
    [Parameter(Mandatory)] [string] $ResourceGroup,
    [Parameter(Mandatory)] [string] $AutomationAccount,
    [ValidateRange(1, 10000)] [int] $ShardCount = 4,
    [string] $ChildRunbook = 'Invoke-ShardSync',
    [Parameter(Mandatory)] [string] $StorageAccount,
    [string] $Container = 'ocisync',
    [string] $ImagesBlob = 'images.yaml',
    [Parameter(Mandatory)] [string] $SourceRegistry,
    [Parameter(Mandatory)] [string] $DestinationRegistry,
    [string] $HybridWorkerGroup,
    [ValidateRange(1, 1440)] [int] $TimeoutMinutes = 170,
    [ValidateRange(5, 600)] [int] $PollSeconds = 30
)

$ErrorActionPreference = 'Stop'
Import-Module OciSync
$null = Disable-AzContextAutosave -Scope Process
$null = Connect-AzAccount -Identity
$storage = New-AzStorageContext -StorageAccountName $StorageAccount -UseConnectedAccount
$account = @{ ResourceGroupName = $ResourceGroup; AutomationAccountName = $AutomationAccount }
$runOn = if ($HybridWorkerGroup) { @{ RunOn = $HybridWorkerGroup } } else { @{} }
$runId = [DateTime]::UtcNow.ToString('yyyyMMdd-HHmmss') + '-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
Write-Output "Run $runId`: $ShardCount shards of $ChildRunbook"

# One child job per shard, all started before any is waited for.
$jobs = @{}
for ($i = 0; $i -lt $ShardCount; $i++) {
    $childParameters = @{
        ShardIndex = $i; ShardCount = $ShardCount; RunId = $runId
        StorageAccount = $StorageAccount; Container = $Container; ImagesBlob = $ImagesBlob
        SourceRegistry = $SourceRegistry; DestinationRegistry = $DestinationRegistry
    }
    $job = Start-AzAutomationRunbook @account -Name $ChildRunbook -Parameters $childParameters @runOn
    $jobs[$i] = $job.JobId
}

# Wait for every job to end, or the deadline; then stop the unfinished (they count as failed shards).
$finished = 'Completed', 'Failed', 'Stopped', 'Suspended'
$status = @{}
$deadline = [DateTime]::UtcNow.AddMinutes($TimeoutMinutes)
while ($true) {
    foreach ($i in @($jobs.Keys | Where-Object { $status[$_] -notin $finished })) {
        # A failed poll (throttling, a network blip) is not a failed shard: ask again next round.
        $polled = Get-AzAutomationJob @account -Id $jobs[$i] -ErrorAction Continue
        if ($polled) { $status[$i] = $polled.Status }
    }
    $open = @($jobs.Keys | Where-Object { $status[$_] -notin $finished })
    if ($open.Count -eq 0) { break }
    if ([DateTime]::UtcNow -ge $deadline) {
        foreach ($i in $open) {
            Write-Warning "shard $i of ${ShardCount}: job $($jobs[$i]) still $($status[$i]) after $TimeoutMinutes minutes; stopping it"
            Stop-AzAutomationJob @account -Id $jobs[$i] -ErrorAction Continue
            $status[$i] = 'TimedOut'
        }
        break
    }
    Start-Sleep -Seconds $PollSeconds
}
$badJobs = @($jobs.Keys | Sort-Object | Where-Object { $status[$_] -ne 'Completed' } | ForEach-Object { "shard $_ ($($status[$_]), job $($jobs[$_]))" })

# The summaries the children uploaded, merged into one SyncSummary and one failed-images file for a re-run.
$work = Join-Path ([IO.Path]::GetTempPath()) "ocisync-$runId"
$null = New-Item -ItemType Directory -Force $work
try {
    $blobs = @(Get-AzStorageBlob -Context $storage -Container $Container -Prefix "$runId/shard-")
    foreach ($blob in $blobs) {
        $null = Get-AzStorageBlobContent -Context $storage -Container $Container -Blob $blob.Name `
            -Destination (Join-Path $work (Split-Path -Leaf $blob.Name)) -Force
    }
    if ($blobs.Count -eq 0) { throw "Run ${runId}: no shard wrote a summary; failed jobs: $($badJobs -join ', ')" }

    $failedPath = Join-Path $work 'failed.yaml'
    # ShardResultMissing and the like are non-terminating: collect them, report everything, then decide.
    $merged = Merge-SyncResult -Path (Join-Path $work 'shard-*.json') -RunId $runId -ShardCount $ShardCount -FailedImagesPath $failedPath `
        -ErrorAction Continue -ErrorVariable mergeErrors
    Write-Output $merged
    if (Test-Path $failedPath) {
        $null = Set-AzStorageBlobContent -Context $storage -Container $Container -File $failedPath -Blob "$runId/failed.yaml" -Force
    }

    $problems = @($badJobs) + @($mergeErrors | ForEach-Object { "$_" })
    if (-not $merged) { $problems += 'no merged summary' }
    elseif ($merged.Failed -gt 0) { $problems += "$($merged.Failed) image(s) failed: re-run $Container/$runId/failed.yaml" }
    if ($merged -and @($merged.MissingShards).Count -gt 0) { $problems += "missing shards: $(@($merged.MissingShards) -join ', ')" }
    if ($problems.Count -gt 0) { throw "Run $runId did not sync everything: $($problems -join '; ')" }
}
finally {
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}
