BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $B = $bed.Basic.host; $T = $bed.Token.host
    $auth = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'auth.yaml')
    $cmd = 'OciSync.PowerShell.Commands.GetSyncPlanCommand'
}
AfterAll { Stop-OciTestBed $bed }

Describe 'Get-SyncPlan' {
    It 'shows UpToDate false before a sync and true after it; it copies nothing itself' {
        $repo = New-TestRepositoryName 'plan'
        $images = Join-Path $TestDrive 'plan.yaml'
        "${A}/demo/alpine: ${B}/${repo}/alpine`n${A}/demo/app:1.0: ${T}/${repo}/app" | Set-Content $images
        $before = Get-SyncPlan -Images $images -Auth $auth -ErrorAction Stop
        $before | Should -HaveCount 3
        $before | ForEach-Object { $_ | Should -BeOfType ([OciSync.Core.Configuration.ImageCopy]); $_.UpToDate | Should -BeFalse }
        @($before.Destination | ForEach-Object ToString | Sort-Object) | Should -Be (@("$B/$repo/alpine:3.19", "$B/$repo/alpine:latest", "$T/$repo/app:1.0") | Sort-Object)
        ($before | Where-Object { "$($_.Source)" -eq "$A/demo/app:1.0" }).SourceDigest.ToString() | Should -Be (Get-RegistryManifest "$A/demo/app:1.0").Digest
        $null = Get-RegistryTag "$B/$repo/alpine" -Auth $auth -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev | Should -Not -BeNullOrEmpty   # the plan wrote nothing

        $null = Invoke-ImageSync -Images $images -Auth $auth -ErrorAction Stop
        $after = Get-SyncPlan -Images $images -Auth $auth -ErrorAction Stop
        $after | Should -HaveCount 3
        $after | ForEach-Object { $_.UpToDate | Should -BeTrue }
    }

    It 'emits only its declared [OutputType]' {
        $declared = (Get-Command Get-SyncPlan).OutputType.Type
        Get-SyncPlan -Source "$A/demo/busybox" -Destination "$B/x/busybox" -Auth $auth | ForEach-Object { $declared | Should -Contain $_.GetType() }
    }

    It 'takes -RequestLimit (small requests per registry, 1 to 256) and -Proc from the same splat as Invoke-ImageSync' {
        $limits = @{ RequestLimit = 1; Proc = 2 }
        $plan = Get-SyncPlan -Source "$A/demo/alpine" -Destination "$B/x/alpine" -Auth $auth @limits -ErrorAction Stop
        @($plan).Count | Should -Be 2
        { Get-SyncPlan -Source "$A/demo/alpine" -Destination "$B/x/alpine" -RequestLimit 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,OciSync.PowerShell.Commands.GetSyncPlanCommand'
        $log = Join-Path $TestDrive 'limits.log'
        $null = Invoke-ImageSync -Source "$A/demo/busybox" -Destination "$B/$(New-TestRepositoryName 'limits')/busybox" -Auth $auth @limits -LogPath $log -ErrorAction Stop
        Get-Content $log -Raw | Should -Match 'concurrency 2 blob\(s\), 1 small request\(s\) per registry'
    }

    It 'expands a regex rule against the tag list' {
        $plan = Get-SyncPlan -Source "$A/demo/alpine:/^3/" -Destination "$B/x/alpine" -Auth $auth
        @($plan.Source | ForEach-Object ToString) | Should -Be @("$A/demo/alpine:3.19")
    }

    It 'expands a namespace rule reg/ns/* through the catalog, and -WhatIf shows the same copies writing nothing' {
        $repo = New-TestRepositoryName 'catalog'
        $plan = Get-SyncPlan -Source "$A/demo/*" -Destination "$B/$repo/*" -Auth $auth -ErrorAction Stop
        $expected = "$B/$repo/alpine:3.19", "$B/$repo/alpine:latest", "$B/$repo/busybox:1.36", "$B/$repo/app:1.0", "$B/$repo/legacy:1.0"
        $shown = @($plan.Destination | ForEach-Object ToString)
        foreach ($e in $expected) { $shown | Should -Contain $e }
        $plan | ForEach-Object { "$($_.Source.Repository)" | Should -BeLike 'demo/*' }

        # What -WhatIf prints goes to the host: read it from a child pwsh.
        $run = Invoke-ChildPwsh "Invoke-ImageSync -Source '$A/demo/*' -Destination '$B/$repo/*' -Auth '$auth' -WhatIf -ErrorAction Stop"
        $run.ExitCode | Should -Be 0
        foreach ($e in $expected) { ($run.Lines -join "`n") | Should -Match ('What if: .*' + [regex]::Escape("on target ""$e""")) }
        $null = Get-RegistryTag "$B/$repo/alpine" -Auth $auth -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev | Should -Not -BeNullOrEmpty   # nothing written
    }

    It 'a registry that refuses its catalog fails the rule with RegistryCatalogRefused, naming the registry' {
        # Anonymous against the Bearer registry: the token server grants no registry:catalog:*.
        $plan = Get-SyncPlan -Source "$T/demo/*" -Destination "$B/x/*" -ErrorVariable ev -ErrorAction SilentlyContinue
        $plan | Should -BeNullOrEmpty
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be "RegistryCatalogRefused,$cmd"
        $ev[0].Exception.Message | Should -BeLike "*$T refused to list its repositories*"
    }

    It 'maps source tags to destination tags left to right' {
        $plan = Get-SyncPlan -Source "$A/demo/alpine:3.19,latest" -Destination "$B/x/alpine:a,b" -Auth $auth
        @($plan.Destination | ForEach-Object ToString) | Should -Be @("$B/x/alpine:a", "$B/x/alpine:b")
    }

    It 'takes rules from the pipeline' {
        $plan = New-SyncRule "$A/demo/legacy:1.0" "$T/p/legacy", "$B/p/legacy" | Get-SyncPlan -Auth $auth
        $plan | Should -HaveCount 2
    }

    It 'with no -Images reads images.json and auth.json in the current directory' {
        $dir = Join-Path $TestDrive 'defaults'
        $null = New-Item -ItemType Directory $dir
        @{ "$A/demo/busybox:1.36" = "$B/d/busybox" } | ConvertTo-Json | Set-Content (Join-Path $dir 'images.json')
        $null = New-OciAuthFile -TestBed $bed -Path (Join-Path $dir 'auth.json')
        Push-Location $dir
        try { $plan = Get-SyncPlan -ErrorAction Stop } finally { Pop-Location }
        "$($plan.Destination)" | Should -Be "$B/d/busybox:1.36"
        $plan.UpToDate | Should -BeFalse
    }

    It 'an unreachable source is a non-terminating RegistryUnreachable error; the other copies are planned' {
        $port = Get-ClosedLoopbackPort
        $images = Join-Path $TestDrive 'unreach.yaml'
        "127.0.0.1:${port}/demo/x:1: ${B}/u/x`n${A}/demo/busybox:1.36: ${B}/u/busybox" | Set-Content $images
        $plan = Get-SyncPlan -Images $images -Auth $auth -ErrorVariable ev -ErrorAction SilentlyContinue
        $ok = $?
        $ok | Should -BeFalse
        @($plan | Where-Object { "$($_.Source)" -eq "$A/demo/busybox:1.36" }) | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be "RegistryUnreachable,$cmd"
    }

    It 'a malformed images file is a terminating ConfigSyntaxError' {
        $images = Join-Path $TestDrive 'bad.yaml'
        "a.io/x:1: [b.io/unclosed" | Set-Content $images
        $err = { Get-SyncPlan -Images $images } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be "ConfigSyntaxError,$cmd"
        $err.Exception.Message | Should -Match ([regex]::Escape($images) + ':[12]:\d+')   # the parser stops at the end of the file
    }

    It 'formats as a table' {
        $text = Get-SyncPlan -Source "$A/demo/busybox:1.36" -Destination "$B/x/busybox" -Auth $auth | Format-Table | Out-String
        $text | Should -Match 'UpToDate'
        $text | Should -Not -Match '(?m)^\s*Source\s*:'
    }
}
