BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $B = $bed.Basic.host
    $auth = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'auth.yaml')
    $invoke = 'OciSync.PowerShell.Commands.InvokeImageSyncCommand'
    $export = 'OciSync.PowerShell.Commands.ExportSyncPlanCommand'
    $accept = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json'

    # The bytes of an image as the registry stores them: Content-Length of each blob, not the sizes the manifest claims.
    function Get-BlobBytes([string] $Repository, [string] $Reference, [string] $Arch) {
        $r = Invoke-WebRequest "http://$A/v2/$Repository/manifests/$Reference" -Headers @{ Accept = $accept } -UseBasicParsing
        $m = [Text.Encoding]::UTF8.GetString($r.RawContentStream.ToArray()) | ConvertFrom-Json   # .Content is bytes for a media type pwsh does not know as text
        if ($m.PSObject.Properties['manifests']) {
            $kept = if ($Arch) { @($m.manifests | Where-Object { $_.PSObject.Properties['platform'] -and $_.platform.architecture -eq $Arch }) } else { @($m.manifests) }
            return ($kept | ForEach-Object { Get-BlobBytes $Repository $_.digest } | Measure-Object -Sum).Sum
        }
        (@($m.config) + @($m.layers) | ForEach-Object {
            [long](Invoke-WebRequest -Method Head "http://$A/v2/$Repository/blobs/$($_.digest)" -UseBasicParsing).Headers['Content-Length'][0]
        } | Measure-Object -Sum).Sum
    }
    function Get-Digest([string] $Reference) { (Get-RegistryManifest $Reference -Auth $auth -ErrorAction Stop).Digest }
}
AfterAll { Stop-OciTestBed $bed }

Describe 'Get-SyncPlan -MeasureSize' {
    It 'sets Size to the config + layer bytes of each image, and of an index every kept platform' {
        $repo = New-TestRepositoryName 'size'
        $plain = Get-SyncPlan -Source "$A/demo/app:1.0" -Destination "$B/$repo/app" -Auth $auth -ErrorAction Stop
        $plain.Size | Should -BeNullOrEmpty

        $plan = @(Get-SyncPlan -Source "$A/demo/*" -Destination "$B/$repo/*" -Auth $auth -MeasureSize -ErrorAction Stop)
        $plan.Count | Should -BeGreaterThan 4
        function SizeOf([string] $Source) { ($plan | Where-Object { "$($_.Source)" -eq $Source }).Size }
        SizeOf "$A/demo/alpine:3.19" | Should -Be (Get-BlobBytes 'demo/alpine' '3.19')
        SizeOf "$A/demo/busybox:1.36" | Should -Be (Get-BlobBytes 'demo/busybox' '1.36')
        # Nothing filtered: every entry of the index counts, the platformless attestation too (the copier copies it).
        SizeOf "$A/demo/app:1.0" | Should -Be (Get-BlobBytes 'demo/app' '1.0')
        SizeOf "$A/demo/legacy:1.0" | Should -Be (Get-BlobBytes 'demo/legacy' '1.0')
        $plan | ForEach-Object { $_.Size | Should -BeGreaterThan 0 }
    }

    It 'with -Arch counts only that platform of a multi-platform image, and the rule''s platforms as well' {
        $repo = New-TestRepositoryName 'size'
        $arm = Get-SyncPlan -Source "$A/demo/app:1.0" -Destination "$B/$repo/app" -Auth $auth -MeasureSize -Arch arm64 -ErrorAction Stop
        $arm.Size | Should -Be (Get-BlobBytes 'demo/app' '1.0' -Arch arm64)
        $arm.Size | Should -BeLessThan (Get-BlobBytes 'demo/app' '1.0')
        $amd = Get-SyncPlan -Source "$A/demo/app:1.0" -Destination "$B/$repo/app" -Platform linux/amd64 -Auth $auth -MeasureSize -ErrorAction Stop
        $amd.Size | Should -Be (Get-BlobBytes 'demo/app' '1.0' -Arch amd64)
    }

    It 'gives an up-to-date copy Size 0' {
        $repo = New-TestRepositoryName 'size'
        $null = Invoke-ImageSync -Source "$A/demo/busybox:1.36" -Destination "$B/$repo/busybox" -Auth $auth -ErrorAction Stop
        $plan = Get-SyncPlan -Source "$A/demo/busybox:1.36" -Destination "$B/$repo/busybox" -Auth $auth -MeasureSize -ErrorAction Stop
        $plan.UpToDate | Should -BeTrue
        $plan.Size | Should -Be 0
    }
}

Describe 'Export-SyncPlan and Invoke-ImageSync -PlanPath' {
    It 'writes an ocisync-plan/1 file whose shards, run one by one, sync every copy exactly once' {
        $repo = New-TestRepositoryName 'plan'
        $path = Join-Path $TestDrive "$repo/plan.json"   # the folder does not exist yet
        $file = Export-SyncPlan -Source "$A/demo/*" -Destination "$B/$repo/*" -Auth $auth -Path $path -ShardCount 3 -ErrorAction Stop
        $file | Should -BeOfType ([OciSync.PowerShell.Output.PlanFileInfo])
        $file.Path | Should -Be (Resolve-Path $path).Path
        $file.ShardCount | Should -Be 3
        $file.Bytes | Should -BeNullOrEmpty
        $json = Get-Content $path -Raw | ConvertFrom-Json
        $json.format | Should -Be 'ocisync-plan/1'
        $json.shardCount | Should -Be 3
        $json.balance | Should -Be 'Hash'
        $plan = @(Get-SyncPlan -Source "$A/demo/*" -Destination "$B/$repo/*" -Auth $auth -ErrorAction Stop)
        @($json.copies.destination | Sort-Object) | Should -Be @($plan.Destination | ForEach-Object ToString | Sort-Object)
        foreach ($c in $json.copies) {
            $c.shard | Should -Be ([OciSync.Core.Sync.ShardSpec]::ShardOf([OciSync.Core.References.ImageReference]::Parse($c.destination), 3))
            $c.sourceDigest | Should -Match '^sha256:[0-9a-f]{64}$'
            $c.destinationDigest | Should -BeNullOrEmpty
            $c.size | Should -BeNullOrEmpty   # not measured
            $c.rule | Should -Not -BeNullOrEmpty
        }

        $results = foreach ($i in 0..2) { Invoke-ImageSync -PlanPath $path -ShardIndex $i -Auth $auth -ErrorAction Stop }
        $results = @($results)
        $results | ForEach-Object { $_.Action | Should -Be 'Synced' }
        @($results.Destination | Sort-Object) | Should -Be @($json.copies.destination | Sort-Object)   # the union, none twice
        foreach ($c in $json.copies) { Get-Digest $c.destination | Should -Be (Get-Digest $c.source) }
        Get-SyncPlan -Source "$A/demo/*" -Destination "$B/$repo/*" -Auth $auth | ForEach-Object { $_.UpToDate | Should -BeTrue }
    }

    It '-Balance Size measures, keeps repositories whole and takes the index from JOB_COMPLETION_INDEX' {
        $repo = New-TestRepositoryName 'plan'
        $path = Join-Path $TestDrive "$repo.json"
        $info = Export-SyncPlan -Source "$A/demo/*" -Destination "$B/$repo/*" -Auth $auth -Path $path -ShardCount 2 -Balance Size -ErrorAction Stop
        $json = Get-Content $path -Raw | ConvertFrom-Json
        $info.Bytes | Should -Be ($json.copies | Measure-Object size -Sum).Sum
        $info.ToCopy | Should -Be $json.copies.Count
        $json.balance | Should -Be 'Size'
        $json.copies | ForEach-Object { $_.size | Should -BeGreaterThan 0 }
        # A repository's tags stay together.
        $json.copies | Group-Object { ($_.destination -split ':')[0..1] -join ':' } | ForEach-Object { @($_.Group.shard | Select-Object -Unique).Count | Should -Be 1 }
        # Greedy by bytes: the largest repository alone outweighs none of the rest by more than itself.
        $loads = @(0, 1 | ForEach-Object { $s = $_; ($json.copies | Where-Object shard -EQ $s | Measure-Object size -Sum).Sum })
        $largest = ($json.copies | Group-Object { ($_.destination -split ':')[0..1] -join ':' } | ForEach-Object { ($_.Group | Measure-Object size -Sum).Sum } | Measure-Object -Maximum).Maximum
        [math]::Abs($loads[0] - $loads[1]) | Should -BeLessOrEqual $largest

        $results = @()
        try {
            foreach ($i in 0, 1) {
                $env:JOB_COMPLETION_INDEX = "$i"
                $results += @(Invoke-ImageSync -PlanPath $path -Auth $auth -ErrorAction Stop)
            }
        }
        finally { Remove-Item Env:JOB_COMPLETION_INDEX -ErrorAction SilentlyContinue }
        @($results.Destination | Sort-Object) | Should -Be @($json.copies.destination | Sort-Object)
        foreach ($c in $json.copies) { Get-Digest $c.destination | Should -Be (Get-Digest $c.source) }
    }

    It 'does not trust the file''s digests: a destination digest edited to "up to date" is checked and the image copied' {
        $repo = New-TestRepositoryName 'plan'
        $path = Join-Path $TestDrive "$repo.json"
        $null = Export-SyncPlan -Source "$A/demo/alpine:3.19" -Destination "$B/$repo/alpine" -Auth $auth -Path $path -ErrorAction Stop
        $text = Get-Content $path -Raw
        $json = $text | ConvertFrom-Json
        $json.copies[0].destinationDigest = $json.copies[0].sourceDigest
        $json | ConvertTo-Json -Depth 5 | Set-Content $path
        $r = Invoke-ImageSync -PlanPath $path -Auth $auth -ErrorAction Stop
        $r.Action | Should -Be 'Synced'
        Get-Digest "$B/$repo/alpine:3.19" | Should -Be (Get-Digest "$A/demo/alpine:3.19")
    }

    It 'a missing, garbled or hostile plan file is a terminating PlanFileInvalid naming the file, and nothing is synced' {
        $missing = Join-Path $TestDrive 'none.json'
        $e = { Invoke-ImageSync -PlanPath $missing -Auth $auth } | Should -Throw -ErrorId "PlanFileInvalid,$invoke" -PassThru
        $e.Exception.Message | Should -Match 'none\.json'
        $bad = Join-Path $TestDrive 'bad.json'
        '{"format":"ocisync-plan/1","shardCount":1,"balance":"Hash","copies":[{"source":"a.io/x:1","destination":"b.io/x:1","sourceDigest":"sha256:nothex","shard":0}]}' | Set-Content $bad
        $e = { Invoke-ImageSync -PlanPath $bad -Auth $auth } | Should -Throw -ErrorId "PlanFileInvalid,$invoke" -PassThru
        $e.Exception.Message | Should -Match "bad\.json.*copies\[0\]\.sourceDigest"
        $e.CategoryInfo.Category | Should -Be 'InvalidData'
        '{"format":"ocisync-plan/1","shardCount":1,' | Set-Content $bad
        { Invoke-ImageSync -PlanPath $bad -Auth $auth } | Should -Throw -ErrorId "PlanFileInvalid,$invoke"
    }

    It 'a plan of several shards wants an index: ShardIndexMissing without one, ShardIndexInvalid out of range' {
        $repo = New-TestRepositoryName 'plan'
        $path = Join-Path $TestDrive "$repo.json"
        $null = Export-SyncPlan -Source "$A/demo/busybox:1.36" -Destination "$B/$repo/busybox" -Auth $auth -Path $path -ShardCount 4 -ErrorAction Stop
        Remove-Item Env:JOB_COMPLETION_INDEX -ErrorAction SilentlyContinue
        { Invoke-ImageSync -PlanPath $path -Auth $auth } | Should -Throw -ErrorId "ShardIndexMissing,$invoke"
        { Invoke-ImageSync -PlanPath $path -ShardIndex 4 -Auth $auth } | Should -Throw -ErrorId "ShardIndexInvalid,$invoke"
        try { $env:JOB_COMPLETION_INDEX = 'x1'; { Invoke-ImageSync -PlanPath $path -Auth $auth } | Should -Throw -ErrorId "ShardIndexInvalid,$invoke" }
        finally { Remove-Item Env:JOB_COMPLETION_INDEX -ErrorAction SilentlyContinue }
        # The shards that do not hold the copy sync nothing.
        $owner = (Get-Content $path -Raw | ConvertFrom-Json).copies[0].shard
        foreach ($i in 0..3) {
            $r = @(Invoke-ImageSync -PlanPath $path -ShardIndex $i -Auth $auth -ErrorAction Stop)
            $r.Count | Should -Be ([int]($i -eq $owner))
        }
    }

    It 'keeps an image whose HEAD failed in the plan (its shard reports it) and writes no plan when a rule could not be listed' {
        $repo = New-TestRepositoryName 'partial'
        $path = Join-Path $TestDrive "$repo.json"
        $images = Join-Path $TestDrive "$repo.yaml"
        Set-Content $images "${A}/demo/alpine:3.19: ${B}/$repo/alpine`n${A}/$repo/missing:1.0: ${B}/$repo/missing"
        $null = Export-SyncPlan -Images $images -Auth $auth -Path $path -ErrorAction SilentlyContinue -ErrorVariable headErrors
        $headErrors.Count | Should -Be 1
        $copies = (Get-Content $path -Raw | ConvertFrom-Json).copies
        @($copies.destination | Sort-Object) | Should -Be @("${B}/$repo/alpine:3.19", "${B}/$repo/missing:1.0")
        $out = @(Invoke-ImageSync -PlanPath $path -Auth $auth -ErrorAction SilentlyContinue -ErrorVariable syncErrors)
        @($out | Where-Object { "$($_.Action)" -eq 'Failed' }).Count | Should -Be 1 -Because 'the image that could not be HEADed is tried, and reported, by its shard'

        $unlisted = Join-Path $TestDrive "$repo-unlisted.json"
        Set-Content $images "${A}/demo/alpine:3.19: ${B}/$repo/alpine`n${A}/$repo/no-such-repository: ${B}/$repo/gone"
        { Export-SyncPlan -Images $images -Auth $auth -Path $unlisted -ErrorAction SilentlyContinue } | Should -Throw -ErrorId "PlanIncomplete,$export"
        $unlisted | Should -Not -Exist
    }

    It 'reads JOB_COMPLETION_INDEX for a plan as every sharded call does: a long bad value is ShardIndexInvalid with the value shortened' {
        $path = Join-Path $TestDrive 'env-plan.json'
        $null = Export-SyncPlan -Source "$A/demo/busybox:1.36" -Destination "$B/$(New-TestRepositoryName 'env')/busybox" -Auth $auth -Path $path -ShardCount 2 -ErrorAction Stop
        $saved = $env:JOB_COMPLETION_INDEX
        try {
            $env:JOB_COMPLETION_INDEX = 'x' * 5000
            $e = { Invoke-ImageSync -PlanPath $path -Auth $auth } | Should -Throw -ErrorId "ShardIndexInvalid,$invoke" -PassThru
            $e.Exception.Message.Length | Should -BeLessThan 300 -Because 'outside input is not repeated whole in a message'
            $env:JOB_COMPLETION_INDEX = ' 1 '
            @(Invoke-ImageSync -PlanPath $path -Auth $auth -ErrorAction Stop).Count | Should -BeLessOrEqual 1
        }
        finally { $env:JOB_COMPLETION_INDEX = $saved }
    }

    It '-Prune with a plan is a terminating PruneNeedsRules: a plan has no rules to compare' {
        $path = Join-Path $TestDrive 'prune-plan.json'
        $null = Export-SyncPlan -Source "$A/demo/busybox:1.36" -Destination "$B/$(New-TestRepositoryName 'prune')/busybox" -Auth $auth -Path $path -ErrorAction Stop
        { Invoke-ImageSync -PlanPath $path -Auth $auth -Prune -Confirm:$false } | Should -Throw -ErrorId "PruneNeedsRules,$invoke"
        { Get-SyncPlan -Source "$A/demo/busybox:1.36" -Destination "$B/x/busybox" -Auth $auth | Invoke-ImageSync -Auth $auth -Prune -Confirm:$false } | Should -Throw -ErrorId "PruneNeedsRules,$invoke"
    }

    It 'checks -Path before planning, and -WhatIf writes no file' {
        { Export-SyncPlan -Source "$A/demo/busybox:1.36" -Destination "$B/x/busybox" -Path $TestDrive } | Should -Throw -ErrorId "InvalidOutputPath,$export"
        $afile = Join-Path $TestDrive 'afile'; 'x' | Set-Content $afile
        $e = { Export-SyncPlan -Source "$A/demo/busybox:1.36" -Destination "$B/x/busybox" -Path (Join-Path $afile 'plan.json') } | Should -Throw -ErrorId "InvalidOutputPath,$export" -PassThru
        $e.Exception.Message | Should -Match 'which is a file; nothing was planned'
        $path = Join-Path $TestDrive 'whatif.json'
        $out = Export-SyncPlan -Source "$A/demo/busybox:1.36" -Destination "$B/x/busybox" -Auth $auth -Path $path -WhatIf
        $out | Should -BeNullOrEmpty
        $path | Should -Not -Exist
    }

    It 'emits only its declared [OutputType]' {
        $declared = (Get-Command Export-SyncPlan).OutputType.Type
        Export-SyncPlan -Source "$A/demo/busybox:1.36" -Destination "$B/x/busybox" -Auth $auth -Path (Join-Path $TestDrive 'ot.json') | ForEach-Object { $declared | Should -Contain $_.GetType() }
    }
}
