# A job split into n = 1, 3 and 8 shards, each shard its own pwsh process started at the same time, as a
# Kubernetes Indexed Job's pods would be: against the real registries, the shards together copy exactly the
# unsharded plan, no image twice; the destination is complete; Merge-SyncResult's one failed-images file
# re-runs exactly the failures injected into the job.

BeforeDiscovery {
    $counts = @(1, 3, 8) | ForEach-Object { @{ N = $_ } }
}

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $B = $bed.Basic.host
    $auth = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'auth.yaml') -BasicOnly

    function New-ShardedJob {
        # The images file of one job: 20 destination repositories fed from the demo images (single tags, all tags,
        # an index), 3 images whose source tag is missing and 1 rule whose source repository is missing.
        param([Parameter(Mandatory)] [string] $Prefix, [Parameter(Mandatory)] [string] $Directory)
        # A source is a key once: its destinations are a list, which each shard cuts to its own repositories.
        function Get-Destinations([string] $Name, [int] $Count) { '[' + ((0..($Count - 1) | ForEach-Object { "${B}/$Prefix/$Name-$_" }) -join ', ') + ']' }
        $lines = [System.Collections.Generic.List[string]]::new()
        $lines.Add("${A}/demo/alpine:3.19: $(Get-Destinations alpine 12)")
        $lines.Add("${A}/demo/busybox: $(Get-Destinations busybox 4)")            # all tags: listed by each shard that owns a destination
        $lines.Add("${A}/demo/app:1.0: $(Get-Destinations app 4)")                # a multi-platform index
        $missing = for ($k = 0; $k -lt 3; $k++) { "${A}/demo/missing-$Prefix-${k}:1.0" }
        for ($k = 0; $k -lt 3; $k++) { $lines.Add("$($missing[$k]): ${B}/$Prefix/missing-$k") }
        $lines.Add("${A}/demo/absent-$Prefix`: ${B}/$Prefix/absent")                                      # a listing that fails
        $path = Join-Path $Directory 'images.yaml'
        $lines | Set-Content -Path $path
        [pscustomobject]@{
            Images          = $path
            MissingSources  = @($missing)
            FailedDestinations = @((0..2 | ForEach-Object { "${B}/$Prefix/missing-${_}:1.0" }))
            ListingRule     = "${A}/demo/absent-$Prefix"
        }
    }

    function Start-Shard {
        # One shard in its own pwsh; its results go to a JSON file beside its summary.
        param([int] $Index, [int] $Count, [string] $Images, [string] $Directory)
        $exe = [Environment]::ProcessPath
        [string[]] $prefix = @()
        if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $prefix = @([Environment]::GetCommandLineArgs()[0]) }
        $results = Join-Path $Directory "results-$Index.json"
        $summary = Join-Path $Directory "summary-$Index.json"
        $script = @"
`$ErrorActionPreference = 'Continue'
Import-Module '$($env:OCISYNC_MODULE)' -ErrorAction Stop
`$env:JOB_COMPLETION_INDEX = '$Index'   # as a Kubernetes Indexed Job sets it: -ShardCount reads it
`$out = @(Invoke-ImageSync -Images '$Images' -Auth '$auth' -ShardCount $Count -SummaryPath '$summary' -FailedImagesPath '$(Join-Path $Directory "failed-$Index.yaml")' -Retries 0 -ErrorAction SilentlyContinue)
`$rows = @(`$out | Where-Object { `$_ -is [OciSync.Core.Sync.ImageResult] } | ForEach-Object { [pscustomobject]@{ Source = "`$(`$_.Source)"; Destination = "`$(`$_.Destination)"; Action = "`$(`$_.Action)" } })
ConvertTo-Json -InputObject `$rows -AsArray | Set-Content '$results'
"@
        $psi = [Diagnostics.ProcessStartInfo]::new($exe)
        foreach ($a in @($prefix) + @('-NoProfile', '-NonInteractive', '-Command', $script)) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.UseShellExecute = $false
        $p = [Diagnostics.Process]::Start($psi)
        [pscustomobject]@{ Process = $p; Out = $p.StandardOutput.ReadToEndAsync(); Err = $p.StandardError.ReadToEndAsync(); Results = $results; Summary = $summary; Index = $Index }
    }

    function Wait-Shard($Shard) {
        if (-not $Shard.Process.WaitForExit(300000)) { $Shard.Process.Kill($true); throw "shard $($Shard.Index) did not finish in 5 minutes" }
        $Shard.Process.WaitForExit()
        $Shard.Process.ExitCode | Should -Be 0 -Because "shard $($Shard.Index): $($Shard.Out.Result) $($Shard.Err.Result)"
        $Shard.Results | Should -Exist -Because "shard $($Shard.Index): $($Shard.Out.Result) $($Shard.Err.Result)"
        @(Get-Content $Shard.Results -Raw | ConvertFrom-Json)
    }
}

AfterAll {
    Stop-OciTestBed $bed
}

Describe 'A job in <N> shard(s), each in its own process' -ForEach $counts {
    BeforeAll {
        $dir = Join-Path $TestDrive "n$N"
        New-Item -ItemType Directory -Path $dir | Out-Null
        $job = New-ShardedJob -Prefix "shard$N-$([guid]::NewGuid().ToString('N').Substring(0, 8))" -Directory $dir

        # What the whole job is, unsharded: the copies to make (the missing sources fail their HEAD, the absent repository its listing).
        $plan = @(Get-SyncPlan -Images $job.Images -Auth $auth -ErrorAction SilentlyContinue)
        $planned = @($plan | ForEach-Object { "$($_.Destination)" } | Sort-Object)

        $shards = @(0..($N - 1) | ForEach-Object { Start-Shard -Index $_ -Count $N -Images $job.Images -Directory $dir })
        $byShard = @{}
        foreach ($s in $shards) { $byShard[$s.Index] = Wait-Shard $s }
        $all = @($byShard.Values | ForEach-Object { $_ } | Where-Object { $_ })
    }

    It 'copies the unsharded plan exactly, each image in one shard only' {
        $planned.Count | Should -Be 20 -Because 'the plan has 12 + 4 + 4 images; the 3 missing sources fail their HEAD'
        $synced = @($all | Where-Object Action -NE 'Failed' | ForEach-Object Destination | Sort-Object)
        $synced | Should -Be $planned
        @($synced | Group-Object | Where-Object Count -GT 1) | Should -BeNullOrEmpty -Because 'no image is copied by two shards'
        @($all | Where-Object Action -EQ 'Synced').Count | Should -Be 20 -Because 'every destination was new: each image was pushed once'
        if ($N -gt 1) {
            @($byShard.Keys | Where-Object { @($byShard[$_] | Where-Object Action -EQ 'Synced').Count -gt 0 }).Count | Should -BeGreaterThan 1 -Because 'the work is spread'
        }
    }

    It 'keeps every destination repository in one shard' {
        $owners = @{}
        foreach ($i in $byShard.Keys) {
            foreach ($r in $byShard[$i]) {
                $repo = ($r.Destination -replace '[:@][^/]*$', '')
                if ($owners.ContainsKey($repo)) { $owners[$repo] | Should -Be $i -Because "$repo has one owner" } else { $owners[$repo] = $i }
            }
        }
    }

    It 'leaves the destination complete' {
        $after = @(Get-SyncPlan -Images $job.Images -Auth $auth -ErrorAction SilentlyContinue)
        @($after | Where-Object { -not $_.UpToDate }) | Should -BeNullOrEmpty
        # skopeo, an independent reader, pulls one multi-platform image whole (every blob it names must be there).
        $target = Join-Path $TestDrive "skopeo-n$N"
        $appDestination = @($after | Where-Object { "$($_.Destination)" -like '*/app-0:1.0' })[0].Destination
        & skopeo copy --all --src-tls-verify=false --src-creds "$($bed.Basic.username):$($bed.Basic.password)" "docker://$appDestination" "dir:$target" 2>&1 | Out-Null
        $LASTEXITCODE | Should -Be 0
    }

    It 'merges the shard summaries into one, whose failed-images file re-runs exactly the injected failures' {
        $summaries = @(0..($N - 1) | ForEach-Object { Join-Path $dir "summary-$_.json" })
        $summaries | ForEach-Object { $_ | Should -Exist }
        if ($N -gt 1) {
            foreach ($i in 0..($N - 1)) {
                (Get-Content (Join-Path $dir "failed-$i.yaml") -TotalCount 1) | Should -Be "# OciSync shard $i of $N" -Because 'each shard''s own files say whose they are'
            }
        }
        $mergedFailed = Join-Path $dir 'merged-failed.yaml'
        $merged = Merge-SyncResult -Path (Join-Path $dir 'summary-*.json') -FailedImagesPath $mergedFailed
        $merged.ShardCount | Should -Be $N
        @($merged.Shards) | Should -Be @(0..($N - 1))
        @($merged.MissingShards) | Should -BeNullOrEmpty
        $merged.Synced | Should -Be 20
        $merged.Failed | Should -Be 4 -Because '3 missing tags and 1 failed listing'

        # The missing sources appear; the re-run of the merged file copies exactly them (the absent repository still fails).
        foreach ($source in $job.MissingSources) {
            $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination $source -Summary -ErrorAction Stop
        }
        $rerun = @(Invoke-ImageSync -Images $mergedFailed -Auth $auth -Retries 0 -ErrorAction SilentlyContinue -ErrorVariable rerunErrors)
        $images = @($rerun | Where-Object { $_ -is [OciSync.Core.Sync.ImageResult] })
        @($images | Where-Object { "$($_.Action)" -eq 'Synced' } | ForEach-Object { "$($_.Destination)" } | Sort-Object) | Should -Be @($job.FailedDestinations | Sort-Object)
        @($images | Where-Object { "$($_.Action)" -eq 'Failed' }).Count | Should -Be 1 -Because 'the absent repository is listed again, and fails again'
        @($images).Count | Should -Be 4 -Because 'nothing that had succeeded is in the merged failed file'
    }
}
