BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $T = $bed.Token.host
    $auth = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'auth.yaml')

    # A source with v-a, v-b, v-c mirrored by a /^v-/ rule into the token registry, which also has latest (not
    # selected); then v-b is deleted at the source (by digest: the test bed's registries delete). Returns the rule's ends.
    function New-StaleMirror {
        $repo = New-TestRepositoryName 'prunesrc'
        $src = "$A/$repo"
        $dst = "$T/$(New-TestRepositoryName 'prunedst')"
        $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "${src}:v-a" -ErrorAction Stop -InformationAction Ignore
        $null = Invoke-ImageSync -Source "$A/demo/busybox:1.36" -Destination "${src}:v-b" -ErrorAction Stop -InformationAction Ignore
        $null = Invoke-ImageSync -Source "$A/demo/legacy:1.0" -Destination "${src}:v-c" -ErrorAction Stop -InformationAction Ignore
        $null = Invoke-ImageSync -Source "$A/demo/app:1.0" -Destination "${dst}:latest" -Auth $auth -ErrorAction Stop -InformationAction Ignore
        $null = Invoke-ImageSync -Source "${src}:/^v-/" -Destination $dst -Auth $auth -ErrorAction Stop -InformationAction Ignore
        $digest = (Get-RegistryManifest "${src}:v-b" -ErrorAction Stop).Digest
        $null = Invoke-WebRequest -Method Delete -Uri "http://$A/v2/$repo/manifests/$digest" -UseBasicParsing
        [pscustomobject]@{ Source = $src; Destination = $dst }
    }
    function Get-Tags([string] $Repository) { @((Get-RegistryTag $Repository -Auth $auth -ErrorAction Stop).Tag | Sort-Object) }
}
AfterAll { Stop-OciTestBed $bed }

Describe 'Invoke-ImageSync -Prune' {
    It 'has a -Prune switch' {
        (Get-Command Invoke-ImageSync).Parameters['Prune'].ParameterType | Should -Be ([switch])
    }

    It '-Prune -WhatIf prints exactly the stale tag as a "Delete tag" line and deletes nothing' {
        $m = New-StaleMirror
        $run = Invoke-ChildPwsh "Invoke-ImageSync -Source '$($m.Source):/^v-/' -Destination '$($m.Destination)' -Auth '$auth' -Prune -WhatIf"
        $run.ExitCode | Should -Be 0
        $deletes = @($run.Lines | Where-Object { $_ -match 'What if: .*"Delete tag"' })
        $deletes | Should -HaveCount 1
        $deletes[0] | Should -BeLike "*`"Delete tag`" on target `"$($m.Destination):v-b`"*"
        Get-Tags $m.Destination | Should -Be @('latest', 'v-a', 'v-b', 'v-c')
    }

    It '-Prune -Confirm:$false deletes the stale tag only, with a Deleted result counted in the summary' {
        $m = New-StaleMirror
        $out = @(Invoke-ImageSync -Source "$($m.Source):/^v-/" -Destination $m.Destination -Auth $auth -Prune -Confirm:$false -InformationVariable info -ErrorVariable errs)
        $errs | Should -HaveCount 0
        $deleted = @($out | Where-Object { "$($_.Action)" -eq 'Deleted' })
        $deleted | Should -HaveCount 1
        $deleted[0].Destination | Should -Be "$($m.Destination):v-b"
        $deleted[0].Source | Should -Be "$($m.Source):v-b"
        $deleted[0].Phase | Should -Be 'Pruning'
        $deleted[0].Digest | Should -Match '^sha256:'
        @($out | Where-Object { "$($_.Action)" -eq 'Unchanged' }) | Should -HaveCount 2
        $summary = @($info | Where-Object Tags -Contains 'OciSync.Summary')[0].MessageData
        $summary.Deleted | Should -Be 1
        "$summary" | Should -Match '1 stale tag deleted'
        Get-Tags $m.Destination | Should -Be @('latest', 'v-a', 'v-c')
    }

    It 'at the default $ConfirmPreference a deletion asks: a host that cannot ask keeps the tag and says so' {
        $m = New-StaleMirror
        $run = Invoke-ChildPwsh "`$r = Invoke-ImageSync -Source '$($m.Source):/^v-/' -Destination '$($m.Destination)' -Auth '$auth' -Prune; 'DELETED=' + @(`$r | Where-Object Action -eq Deleted).Count"
        $run.Lines | Should -Contain 'DELETED=0'
        ($run.Lines -join "`n") | Should -Match '-Confirm:\$false'
        Get-Tags $m.Destination | Should -Contain 'v-b'
    }

    It '$ConfirmPreference = ''None'' deletes without asking (a runbook)' {
        $m = New-StaleMirror
        $run = Invoke-ChildPwsh "`$ConfirmPreference = 'None'; `$r = Invoke-ImageSync -Source '$($m.Source):/^v-/' -Destination '$($m.Destination)' -Auth '$auth' -Prune; 'DELETED=' + @(`$r | Where-Object Action -eq Deleted).Count"
        $run.Lines | Should -Contain 'DELETED=1'
        Get-Tags $m.Destination | Should -Be @('latest', 'v-a', 'v-c')
    }

    It 'a rule naming its tags prunes nothing, and without -Prune nothing is deleted' {
        $m = New-StaleMirror
        $out = @(Invoke-ImageSync -Source "$($m.Source):v-a,v-c" -Destination $m.Destination -Auth $auth -Prune -Confirm:$false -ErrorAction Stop)
        @($out | Where-Object { "$($_.Action)" -eq 'Deleted' }) | Should -HaveCount 0
        $out = @(Invoke-ImageSync -Source "$($m.Source):/^v-/" -Destination $m.Destination -Auth $auth -Confirm:$false -ErrorAction Stop)
        @($out | Where-Object { "$($_.Action)" -eq 'Deleted' }) | Should -HaveCount 0
        Get-Tags $m.Destination | Should -Contain 'v-b'
    }
}
