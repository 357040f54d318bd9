BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $B = $bed.Basic.host
    $auth = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'auth.yaml')
    $cmd = 'OciSync.PowerShell.Commands.MergeSyncResultCommand'
    $sync = 'OciSync.PowerShell.Commands.InvokeImageSyncCommand'

    # Three unsharded runs stand for shards 0..2 of 3: each fails on purpose for some images, and its
    # summary file's shard fields are then set by hand (the summary JSON is what a -ShardIndex run writes).
    $run = New-TestRepositoryName 'merge'
    $dir = Join-Path $TestDrive 'results'
    $null = New-Item -ItemType Directory $dir
    $shardImages = @(
        # shard 0: one image syncs; one source tag does not exist yet (it is seeded before the re-run)
        "${A}/demo/alpine:3.19: ${B}/${run}/alpine`n${A}/${run}/late:v1: ${B}/${run}/late-a"
        # shard 1: the same missing source to another destination (the merge makes it one key), one image syncs
        "${A}/${run}/late:v1: ${B}/${run}/late-b`n${A}/demo/busybox:1.36: ${B}/${run}/busybox"
        # shard 2: a rule whose source repository does not exist: a listing failure, kept as the rule
        "${A}/${run}/gone: ${B}/${run}/gone"
    )
    $shardErrors = @{}
    for ($i = 0; $i -lt 3; $i++) {
        $images = Join-Path $TestDrive "shard-$i.yaml"
        Set-Content $images $shardImages[$i]
        $failedFile = Join-Path $TestDrive "shard-$i-failed.yaml"
        $null = Invoke-ImageSync -Images $images -Auth $auth -Retries 0 -Summary -SummaryPath (Join-Path $dir "shard-$i.json") `
            -FailedImagesPath $failedFile -ErrorVariable ev -ErrorAction SilentlyContinue
        $shardErrors[$i] = @($ev)
    }
    $unsharded = Get-Content (Join-Path $dir 'shard-0.json') -Raw
    for ($i = 0; $i -lt 3; $i++) {
        $file = Join-Path $dir "shard-$i.json"
        $text = (Get-Content $file -Raw).Replace('"shard": null', """shard"": $i").Replace('"shardCount": null', '"shardCount": 3')
        [IO.File]::WriteAllText($file, $text)
    }

    function Merge-Shards([string[]] $Files, [hashtable] $More = @{}) {
        # Output and errors of one Merge-SyncResult call.
        $out = @(Merge-SyncResult -Path $Files @More -ErrorVariable errs -ErrorAction SilentlyContinue)
        [pscustomobject]@{ Output = $out; Errors = @($errs) }
    }
}
AfterAll { Stop-OciTestBed $bed }

Describe 'Invoke-ImageSync -SummaryPath' {
    It 'writes ocisync-summary/1 with the counts, no shard when unsharded, and the failed images file''s exact text' {
        $shardErrors[0] | Should -HaveCount 1
        $shardErrors[2] | Should -HaveCount 1
        $shardErrors[2][0].FullyQualifiedErrorId | Should -Be "RepositoryNotFound,$sync"
        $json = $unsharded | ConvertFrom-Json
        $json.format | Should -Be 'ocisync-summary/1'
        $json.shard | Should -BeNullOrEmpty
        $json.shardCount | Should -BeNullOrEmpty
        $json.images | Should -Be 2
        $json.synced | Should -Be 1
        $json.failed | Should -Be 1
        $json.succeeded | Should -BeFalse
        $json.failedImages | Should -BeExactly (Get-Content (Join-Path $TestDrive 'shard-0-failed.yaml') -Raw)
        $json.failedImages | Should -BeExactly """${A}/${run}/late:v1"": ""${B}/${run}/late-a:v1""`n"
        $json.successImages | Should -BeExactly """${A}/demo/alpine:3.19"": ""${B}/${run}/alpine:3.19""`n" -Because 'it is embedded though no -SuccessImagesPath was given'
    }

    It 'embeds a failed listing as its rule' {
        $json = Get-Content (Join-Path $dir 'shard-2.json') -Raw | ConvertFrom-Json
        $json.failedImages | Should -BeExactly """${A}/${run}/gone"": ""${B}/${run}/gone""`n"
        $json.successImages | Should -BeExactly ''
    }

    It '-RunId goes into the summary, and a merge takes only that run: a stale file of another run is ShardResultMismatch' {
        $runDir = Join-Path $TestDrive 'runs'
        $null = New-Item -ItemType Directory $runDir -Force
        $today = Join-Path $runDir 'today.json'
        $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/$run/run-id" -Auth $auth -RunId 'job-2026-12-02' -SummaryPath $today -Summary -ErrorAction Stop
        (Get-Content $today -Raw | ConvertFrom-Json).runId | Should -Be 'job-2026-12-02'
        $stale = Join-Path $runDir 'stale.json'
        (Get-Content $today -Raw) -replace 'job-2026-12-02', 'job-2026-12-01' | Set-Content $stale
        $merged = Merge-SyncResult -Path $today, $stale -RunId 'job-2026-12-02' -ErrorAction SilentlyContinue -ErrorVariable runErrors
        @($runErrors | ForEach-Object FullyQualifiedErrorId) | Should -Be @("ShardResultMismatch,$cmd")
        "$($runErrors[0])" | Should -Match "run 'job-2026-12-01'"
        $merged.RunId | Should -Be 'job-2026-12-02'
        $merged.Succeeded | Should -BeTrue
        { Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/$run/x" -RunId 'no spaces/allowed' } | Should -Throw -ErrorId "ParameterArgumentValidationError,$sync"
    }

    It 'writes nothing with -WhatIf' {
        $path = Join-Path $TestDrive 'whatif-summary.json'
        $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/$run/whatif" -Auth $auth -SummaryPath $path -WhatIf
        $path | Should -Not -Exist
    }

    It 'a -SummaryPath that is a directory is a terminating InvalidOutputPath before anything is copied' {
        $err = { Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/$run/baddir" -Auth $auth -SummaryPath $dir } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be "InvalidOutputPath,$sync"
        $err.Exception.Message | Should -BeLike '*-SummaryPath*nothing was synced*'
    }
}

Describe 'Merge-SyncResult' {
    Context 'three shards' {
        BeforeAll {
            $merged = Join-Path $TestDrive 'merged-failed.yaml'
            $ok = Join-Path $TestDrive 'merged-success.yaml'
            $r = Merge-Shards (Join-Path $dir 'shard-*.json') @{ FailedImagesPath = $merged; SuccessImagesPath = $ok }
        }

        It 'outputs one merged SyncSummary without errors' {
            $r.Errors | Should -HaveCount 0
            $r.Output | Should -HaveCount 1
            $s = $r.Output[0]
            $s | Should -BeOfType ([OciSync.Core.Sync.SyncSummary])
            $s.Shard | Should -BeNullOrEmpty
            $s.ShardCount | Should -Be 3
            $s.Shards | Should -Be @(0, 1, 2)
            $s.MissingShards | Should -HaveCount 0
            $s.Images | Should -Be 5
            $s.Synced | Should -Be 2
            $s.Failed | Should -Be 3
            "$s" | Should -Match '^3 of 3 shards merged: 5 images: 2 synced, 0 unchanged, 0 filtered, 3 failed; '
        }

        It 'writes one failed file: the source that failed in two shards is one key, the failed listing is the rule' {
            $text = Get-Content $merged -Raw
            $text | Should -BeExactly ("# OciSync 3 of 3 shards merged`n" +
                """${A}/${run}/gone"": ""${B}/${run}/gone""`n" +
                """${A}/${run}/late:v1"":`n  - ""${B}/${run}/late-a:v1""`n  - ""${B}/${run}/late-b:v1""`n")
            @(Import-SyncRule $merged) | Should -HaveCount 2
            @((Import-SyncRule $ok).Source | Sort-Object) | Should -Be @("${A}/demo/alpine:3.19", "${A}/demo/busybox:1.36")
        }

        It 'Get-ChildItem pipes the files in and the merge is the same' {
            $s = @(Get-ChildItem $dir -Filter 'shard-*.json' | Merge-SyncResult -ErrorAction Stop)
            $s | Should -HaveCount 1
            $s[0].Shards | Should -Be @(0, 1, 2)
            $s[0].Failed | Should -Be 3
        }

        It 'the merged failed file re-runs exactly the injected failures: the seeded one syncs, the missing repository fails again' {
            # Seed the source that was missing, so its two copies succeed now.
            $null = Invoke-ImageSync -Source "$A/demo/busybox:1.36" -Destination "$A/$run/late:v1" -Auth $auth -ErrorAction Stop
            $out = @(Invoke-ImageSync -Images $merged -Auth $auth -Retries 0 -ErrorVariable ev -ErrorAction SilentlyContinue)
            $out | Should -HaveCount 3 -Because 'two copies of the seeded source and the listing rule; nothing that synced before'
            @($out | Where-Object Action -EQ 'Synced' | ForEach-Object Destination | Sort-Object) | Should -Be @("${B}/${run}/late-a:v1", "${B}/${run}/late-b:v1")
            $failed = @($out | Where-Object Action -EQ 'Failed')
            $failed | Should -HaveCount 1
            $failed[0].Phase | Should -Be 'Listing'
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -Be "RepositoryNotFound,$sync"
        }

        It 'a shard''s summary says its shard, and both views keep every column at 120 columns' {
            $shard = [OciSync.Core.Sync.SummaryFile]::Read((Join-Path $dir 'shard-1.json')).Summary
            $shard.Shard | Should -Be 1
            $shard.ShardCount | Should -Be 3
            "$shard" | Should -Match '^shard 1 of 3: 2 images: 1 synced, '
            foreach ($case in @(@{ Object = $shard; Shard = '1/3' }, @{ Object = $r.Output[0]; Shard = '3 of 3' })) {
                $lines = @($case.Object | Out-String -Width 120 -Stream | Where-Object { $_.Trim() })
                $lines[0] | Should -Match '^Shard\s+Images\s+Synced\b.*\bSeconds$'
                $lines[-1] | Should -Match "^$([regex]::Escape($case.Shard))\s+\d"
                $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 120 }
            }
        }

        It '-WhatIf writes neither file but still outputs the summary' {
            $f = Join-Path $TestDrive 'whatif-failed.yaml'
            $s = Join-Path $TestDrive 'whatif-success.yaml'
            $out = @(Merge-SyncResult -Path (Join-Path $dir 'shard-*.json') -FailedImagesPath $f -SuccessImagesPath $s -WhatIf)
            $out | Should -HaveCount 1
            $f | Should -Not -Exist
            $s | Should -Not -Exist
        }
    }

    Context 'broken sets' {
        It 'a missing shard is a non-terminating ShardResultMissing; the others are merged and written' {
            $f = Join-Path $TestDrive 'missing-failed.yaml'
            $r = Merge-Shards @((Join-Path $dir 'shard-0.json'), (Join-Path $dir 'shard-2.json')) @{ FailedImagesPath = $f }
            $r.Errors | Should -HaveCount 1
            $r.Errors[0].FullyQualifiedErrorId | Should -Be "ShardResultMissing,$cmd"
            $r.Errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $r.Errors[0].Exception.Message | Should -BeLike '*shard 1 of 3*'
            $r.Output[0].Shards | Should -Be @(0, 2)
            $r.Output[0].MissingShards | Should -Be @(1)
            $r.Output[0].Failed | Should -Be 2
            $r.Output[0].Succeeded | Should -BeFalse -Because 'a missing shard''s images are not accounted for'
            (Get-Content $f -Raw) | Should -BeLike "# OciSync 2 of 3 shards merged (missing 1)`n*"
        }

        It 'a shard given twice is ShardResultDuplicate naming both files' {
            $copy = Join-Path $TestDrive 'again-shard-1.json'
            Copy-Item (Join-Path $dir 'shard-1.json') $copy
            $r = Merge-Shards @((Join-Path $dir 'shard-*.json'), $copy)
            $r.Errors | Should -HaveCount 1
            $r.Errors[0].FullyQualifiedErrorId | Should -Be "ShardResultDuplicate,$cmd"
            $r.Errors[0].TargetObject | Should -Be $copy
            $r.Errors[0].Exception.Message | Should -BeLike "*$copy*shard-1.json*"
            $r.Output[0].Failed | Should -Be 3 -Because 'the duplicate is left out'
        }

        It 'a file of another shard count is ShardResultMismatch; -ShardCount that fits none is terminating' {
            $other = Join-Path $TestDrive 'other-count.json'
            [IO.File]::WriteAllText($other, (Get-Content (Join-Path $dir 'shard-1.json') -Raw).Replace('"shardCount": 3', '"shardCount": 4'))
            $r = Merge-Shards @((Join-Path $dir 'shard-*.json'), $other)
            $r.Errors | Should -HaveCount 1
            $r.Errors[0].FullyQualifiedErrorId | Should -Be "ShardResultMismatch,$cmd"
            $r.Output[0].Shards | Should -Be @(0, 1, 2)
            $err = { Merge-SyncResult -Path (Join-Path $dir 'shard-*.json') -ShardCount 5 -ErrorAction SilentlyContinue } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -Be "ShardResultMismatch,$cmd"
        }

        It 'a garbled or truncated file (<Name>) is SummaryFileInvalid naming the file; the rest still merges' -ForEach @(
            @{ Name = 'garbled.json'; Text = 'P{K\x01 not json at all'; Problem = '*not JSON*' }
            @{ Name = 'truncated.json'; Text = 'HALF'; Problem = '*not JSON*' }
            @{ Name = 'plan.json'; Text = '{"format": "ocisync-plan/1"}'; Problem = '*ocisync-plan/1*' }
            @{ Name = 'badyaml.json'; Text = 'YAML'; Problem = '*failedImages*' }
        ) {
            $bad = Join-Path $TestDrive $Name
            $real = Get-Content (Join-Path $dir 'shard-2.json') -Raw
            $content = switch ($Text) {
                'HALF' { $real.Substring(0, [int]($real.Length / 2)) }
                'YAML' { $real.Replace('"failedImages": "', '"failedImages": "[unclosed: ') }
                default { $Text }
            }
            [IO.File]::WriteAllText($bad, $content)
            $r = Merge-Shards @((Join-Path $dir 'shard-0.json'), (Join-Path $dir 'shard-1.json'), $bad)
            $invalid = @($r.Errors | Where-Object { $_.FullyQualifiedErrorId -eq "SummaryFileInvalid,$cmd" })
            $invalid | Should -HaveCount 1
            $invalid[0].CategoryInfo.Category | Should -Be 'InvalidData'
            $invalid[0].Exception.Message | Should -BeLike "*'$bad'*"
            $invalid[0].Exception.Message | Should -BeLike $Problem
            # Its shard is then missing; the two good ones are merged.
            @($r.Errors | Where-Object { $_.FullyQualifiedErrorId -eq "ShardResultMissing,$cmd" }) | Should -HaveCount 1
            $r.Output[0].Shards | Should -Be @(0, 1)
        }

        It 'a file that does not exist is SummaryFileInvalid; when no file can be read the call is terminating' {
            $r = Merge-Shards @((Join-Path $dir 'shard-*.json'), (Join-Path $TestDrive 'nope.json'))
            @($r.Errors.FullyQualifiedErrorId) | Should -Be @("SummaryFileInvalid,$cmd")
            $err = { Merge-SyncResult -Path (Join-Path $TestDrive 'nope-*.json') -ErrorAction SilentlyContinue } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -Be "ShardResultMissing,$cmd"
        }
    }
}
