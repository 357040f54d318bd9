BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $B = $bed.Basic.host
    $auth = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'auth.yaml')
    $plan = 'OciSync.PowerShell.Commands.GetSyncPlanCommand'
    $sync = 'OciSync.PowerShell.Commands.InvokeImageSyncCommand'

    function Get-ShardOf([string] $Reference, [int] $Count) {
        [OciSync.Core.Sync.ShardSpec]::ShardOf([OciSync.Core.References.ImageReference]::Parse($Reference), $Count)
    }

    # One destination repository per shard (shard -> "prefix/appN"): the registry's port is random, so the names are chosen per run.
    function Get-ShardNames([string] $Registry, [string] $Prefix, [int] $Count) {
        $names = @{}
        for ($j = 0; $names.Count -lt $Count; $j++) {
            $name = "$Prefix/app$j"
            $s = Get-ShardOf "$Registry/$name" $Count
            if (-not $names.ContainsKey($s)) { $names[$s] = $name }
        }
        $names
    }
}
AfterAll { Stop-OciTestBed $bed }

Describe 'Shards' {
    BeforeEach {
        $savedIndex = $env:JOB_COMPLETION_INDEX
        $env:JOB_COMPLETION_INDEX = $null
    }
    AfterEach { $env:JOB_COMPLETION_INDEX = $savedIndex }

    Context 'parameters' {
        It '-ShardCount is 1 to 10000' {
            { Get-SyncPlan -Source "$A/demo/alpine" -Destination "$B/x/alpine" -ShardCount 0 } | Should -Throw -ErrorId "ParameterArgumentValidationError,$plan"
            { Invoke-ImageSync -Source "$A/demo/alpine" -Destination "$B/x/alpine" -ShardCount 10001 -ShardIndex 0 } | Should -Throw -ErrorId "ParameterArgumentValidationError,$sync"
        }

        It 'an index out of range is ShardIndexInvalid (<Index> of <Count>), before anything is listed' -ForEach @(
            @{ Index = 3; Count = 3 }, @{ Index = -1; Count = 3 }, @{ Index = 1; Count = 1 }
        ) {
            # A source nobody listens at: listing it would be RegistryUnreachable, not the shard error.
            $closed = "127.0.0.1:$(Get-ClosedLoopbackPort)"
            foreach ($cmdlet in 'Invoke-ImageSync', 'Get-SyncPlan') {
                $err = { & $cmdlet -Source "$closed/app" -Destination "$B/x/app" -ShardCount $Count -ShardIndex $Index } | Should -Throw -PassThru
                $err.FullyQualifiedErrorId | Should -BeLike 'ShardIndexInvalid,*'
                $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
                $err.Exception.Message | Should -Match "from 0 to $($Count - 1)"
            }
        }

        It '-ShardIndex without -ShardCount is ShardIndexInvalid' {
            { Invoke-ImageSync -Source "$A/demo/alpine" -Destination "$B/x/alpine" -ShardIndex 0 } | Should -Throw -ErrorId "ShardIndexInvalid,$sync"
            { Get-SyncPlan -Source "$A/demo/alpine" -Destination "$B/x/alpine" -ShardIndex 0 } | Should -Throw -ErrorId "ShardIndexInvalid,$plan"
        }

        It 'Invoke-ImageSync -ShardCount with no index and no JOB_COMPLETION_INDEX is ShardIndexMissing' {
            $closed = "127.0.0.1:$(Get-ClosedLoopbackPort)"
            $err = { Invoke-ImageSync -Source "$closed/app" -Destination "$B/x/app" -ShardCount 4 } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -Be "ShardIndexMissing,$sync"
            $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err.Exception.Message | Should -Match 'JOB_COMPLETION_INDEX'
        }

        It 'a JOB_COMPLETION_INDEX of <Value> is ShardIndexInvalid naming the variable' -ForEach @(
            @{ Value = 'two' }, @{ Value = '3' }, @{ Value = '-1' }, @{ Value = '1.5' }
        ) {
            $env:JOB_COMPLETION_INDEX = $Value
            $err = { Invoke-ImageSync -Source "$A/demo/alpine" -Destination "$B/x/alpine" -ShardCount 3 } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -Be "ShardIndexInvalid,$sync"
            $err.Exception.Message | Should -Match 'JOB_COMPLETION_INDEX'
        }

        It 'the error ids are in the catalogue with a category' {
            foreach ($id in 'ShardIndexMissing', 'ShardIndexInvalid') {
                [OciSync.Core.Transport.ErrorIds]::All | Should -Contain $id
                [OciSync.Core.Transport.ErrorIds]::Describe($id).Category | Should -Be 'InvalidArgument'
            }
        }
    }

    Context 'a job split three ways' {
        BeforeAll {
            $repo = New-TestRepositoryName 'shards'
            $names = Get-ShardNames $B $repo 3
            # One rule, a destination in each shard: 2 tags x 3 destinations.
            $rule = New-SyncRule -Source "$A/demo/alpine" -Destination ((0..2) | ForEach-Object { "$B/$($names[$_])" })
            $whole = @(Get-SyncPlan -Rule $rule -Auth $auth -ErrorAction Stop)
        }

        It 'Get-SyncPlan -ShardCount 3 plans every copy once, each with its Shard, and shows a Shard column' {
            $whole | Should -HaveCount 6
            $report = @(Get-SyncPlan -Rule $rule -Auth $auth -ShardCount 3 -ErrorAction Stop)
            $report | Should -HaveCount 6
            @($report | ForEach-Object ToString | Sort-Object) | Should -Be @($whole | ForEach-Object ToString | Sort-Object)
            foreach ($copy in $report) { $copy.Shard | Should -Be (Get-ShardOf "$($copy.Destination)" 3) }
            @($report.Shard | Sort-Object -Unique) | Should -Be @(0, 1, 2)
            $whole | ForEach-Object { $_.Shard | Should -BeNullOrEmpty }   # unsharded: no shard

            $text = $report | Format-Table | Out-String -Width 120
            $text | Should -Match '(?m)^UpToDate\s+Shard\s+SourceDigest'
            foreach ($line in $text -split "`r?`n") { $line.TrimEnd().Length | Should -BeLessOrEqual 120 }
            # The rows in order, each showing its copy's shard (the destinations may be cut at 120 columns).
            $shown = @(($text -split "`r?`n") | Where-Object { $_ -match '^\s*(True|False)\s+(\d)\s' } | ForEach-Object { [int]$Matches[2] })
            $shown | Should -Be @($report.Shard)
        }

        It 'JOB_COMPLETION_INDEX makes Get-SyncPlan -ShardCount plan that shard only' {
            $env:JOB_COMPLETION_INDEX = '1'
            $one = @(Get-SyncPlan -Rule $rule -Auth $auth -ShardCount 3 -ErrorAction Stop)
            $one | Should -HaveCount 2
            $one | ForEach-Object { "$($_.Destination)" | Should -BeLike "$B/$($names[1]):*"; $_.Shard | Should -Be 1 }
        }

        It '-ShardSummary is one ShardLoad per shard; JOB_COMPLETION_INDEX does not narrow it, -ShardIndex does' {
            $env:JOB_COMPLETION_INDEX = '2'
            $loads = @(Get-SyncPlan -Rule $rule -Auth $auth -ShardCount 3 -ShardSummary -ErrorAction Stop)
            $loads | Should -HaveCount 3
            $loads | ForEach-Object { $_ | Should -BeOfType ([OciSync.Core.Sync.ShardLoad]) }
            @($loads.Shard) | Should -Be @(0, 1, 2)
            foreach ($load in $loads) {
                $load.ShardCount | Should -Be 3
                $load.Images | Should -Be 2
                $load.ToCopy + $load.UpToDate | Should -Be 2
                $load.Repositories | Should -Be 1
                $load.Bytes | Should -BeNullOrEmpty   # nothing measured
                $load.BytesKnown | Should -Be 0
            }
            $text = $loads | Format-Table | Out-String -Width 120
            $text | Should -Match '(?m)^\s*Shard\s+Of\s+Images\s+ToCopy\s+UpToDate\s+Repositories'
            (Get-Command Get-SyncPlan).OutputType.Type | Should -Contain ([OciSync.Core.Sync.ShardLoad])

            $only = @(Get-SyncPlan -Rule $rule -Auth $auth -ShardCount 3 -ShardIndex 0 -ShardSummary -ErrorAction Stop)
            $only | Should -HaveCount 1
            $only[0].Shard | Should -Be 0
        }

        It 'empty shards have a row too' {
            $single = New-SyncRule -Source "$A/demo/busybox:1.36" -Destination "$B/$($names[0])"
            $loads = @(Get-SyncPlan -Rule $single -Auth $auth -ShardCount 3 -ShardSummary -ErrorAction Stop)
            @($loads.Images) | Should -Be @(1, 0, 0)
            @($loads.Repositories) | Should -Be @(1, 0, 0)
        }

        It '-ShardSummary without -ShardCount is ShardIndexInvalid' {
            { Get-SyncPlan -Rule $rule -Auth $auth -ShardSummary } | Should -Throw -ErrorId "ShardIndexInvalid,$plan"
        }

        It 'Invoke-ImageSync copies its own shard only, the index from JOB_COMPLETION_INDEX, and logs which shard it is' {
            $env:JOB_COMPLETION_INDEX = '0'
            $log = Join-Path $TestDrive 'shard0.log'
            $results = @(Invoke-ImageSync -Rule $rule -Auth $auth -ShardCount 3 -LogPath $log -ErrorAction Stop)
            $results | Should -HaveCount 2
            $results | ForEach-Object { $_.Destination | Should -BeLike "$B/$($names[0]):*"; $_.Action | Should -Be 'Synced' }
            Get-Content $log -Raw | Should -Match 'shard 0 of 3 \(index from JOB_COMPLETION_INDEX\)'
            $null = Get-RegistryTag "$B/$($names[1])" -Auth $auth -ErrorVariable ev -ErrorAction SilentlyContinue
            $ev | Should -Not -BeNullOrEmpty   # shard 1's repository was not written
        }

        It 'a piped plan keeps the shard''s copies only (-Plan -ShardIndex)' {
            $results = @($whole | Invoke-ImageSync -Auth $auth -ShardCount 3 -ShardIndex 2 -ErrorAction Stop)
            $results | Should -HaveCount 2
            $results | ForEach-Object { $_.Destination | Should -BeLike "$B/$($names[2]):*" }
            @(Get-RegistryTag "$B/$($names[2])" -Auth $auth | ForEach-Object Tag | Sort-Object) | Should -Be @('3.19', 'latest')
        }
    }
}
