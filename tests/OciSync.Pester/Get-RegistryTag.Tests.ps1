BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $B = $bed.Basic.host; $T = $bed.Token.host
    $auth = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'auth.yaml')
    # Put two tags into the Basic and the token registry, so there is something behind auth to list.
    $null = Invoke-ImageSync -Source "$A/demo/alpine" -Destination "$B/mirror/alpine", "$T/mirror/alpine" -Auth $auth -ErrorAction Stop
}
AfterAll { Stop-OciTestBed $bed }

Describe 'Get-RegistryTag' {
    It 'lists every tag of a repository as RegistryTag objects' {
        $tags = Get-RegistryTag "$A/demo/alpine"
        $tags | ForEach-Object { $_ | Should -BeOfType ([OciSync.PowerShell.Output.RegistryTag]) }
        @($tags.Tag | Sort-Object) | Should -Be @('3.19', 'latest')
        $tags[0].Repository | Should -Be "$A/demo/alpine"
        ($tags | Where-Object Tag -EQ '3.19').Reference | Should -Be "$A/demo/alpine:3.19"
    }

    It 'emits only its declared [OutputType]' {
        $declared = (Get-Command Get-RegistryTag).OutputType.Type
        Get-RegistryTag "$A/demo/app" | ForEach-Object { $declared | Should -Contain $_.GetType() }
    }

    It 'takes several repositories at once' {
        $tags = Get-RegistryTag "$A/demo/alpine", "$A/demo/busybox", "$A/demo/app"
        @($tags.Reference | Sort-Object) | Should -Be @("$A/demo/alpine:3.19", "$A/demo/alpine:latest", "$A/demo/app:1.0", "$A/demo/busybox:1.36")
    }

    It 'binds repositories from the pipeline by value' {
        $tags = "$A/demo/busybox", "$A/demo/legacy" | Get-RegistryTag
        @($tags.Reference | Sort-Object) | Should -Be @("$A/demo/busybox:1.36", "$A/demo/legacy:1.0")
    }

    It 'binds repositories from the pipeline by property name (<Property>)' -ForEach @(
        @{ Property = 'Repository' }, @{ Property = 'Name' }, @{ Property = 'Source' }
    ) {
        $tags = [pscustomobject]@{ $Property = "$A/demo/app" } | Get-RegistryTag
        $tags.Reference | Should -Be "$A/demo/app:1.0"
    }

    It 'accepts a tagged reference and lists the whole repository' {
        @((Get-RegistryTag "$A/demo/alpine:3.19").Tag | Sort-Object) | Should -Be @('3.19', 'latest')
    }

    It '-Filter keeps the tags matching an unanchored regex' {
        (Get-RegistryTag "$A/demo/alpine" -Filter '^3\.').Tag | Should -Be '3.19'
        (Get-RegistryTag "$A/demo/alpine" -Filter 'tes').Tag | Should -Be 'latest'
        @(Get-RegistryTag "$A/demo/alpine" -Filter 'nomatch') | Should -HaveCount 0
    }

    It '-Filter with an invalid regex is a terminating InvalidFilter error' {
        $err = { Get-RegistryTag "$A/demo/alpine" -Filter '([' } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'InvalidFilter,OciSync.PowerShell.Commands.GetRegistryTagCommand'
    }

    It 'lists a Basic-auth repository with -Auth' {
        @((Get-RegistryTag "$B/mirror/alpine" -Auth $auth).Tag | Sort-Object) | Should -Be @('3.19', 'latest')
    }

    It 'lists a token-auth repository with -Auth' {
        @((Get-RegistryTag "$T/mirror/alpine" -Auth $auth).Tag | Sort-Object) | Should -Be @('3.19', 'latest')
    }

    It 'lists a Basic-auth repository with a PSCredential' {
        $cred = [pscredential]::new($bed.Basic.username, (ConvertTo-SecureString $bed.Basic.password -AsPlainText -Force))
        @((Get-RegistryTag "$B/mirror/alpine" -Credential $cred).Tag | Sort-Object) | Should -Be @('3.19', 'latest')
    }

    It 'lists a token-auth repository with a RegistryCredential object' {
        $cred = New-RegistryCredential -Registry $T -Credential ([pscredential]::new($bed.Token.username, (ConvertTo-SecureString $bed.Token.password -AsPlainText -Force)))
        @((Get-RegistryTag "$T/mirror/alpine" -Credential $cred).Tag | Sort-Object) | Should -Be @('3.19', 'latest')
    }

    It 'a Basic registry without credentials is a RegistryUnauthorized error' {
        $tags = Get-RegistryTag "$B/mirror/alpine" -ErrorVariable ev -ErrorAction SilentlyContinue
        $tags | Should -BeNullOrEmpty
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be 'RegistryUnauthorized,OciSync.PowerShell.Commands.GetRegistryTagCommand'
        $ev[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $ev[0].TargetObject | Should -Be "$B/mirror/alpine"
    }

    It 'a wrong password is a RegistryUnauthorized error' {
        $cred = [pscredential]::new($bed.Basic.username, (ConvertTo-SecureString 'wrong-password' -AsPlainText -Force))
        $null = Get-RegistryTag "$B/mirror/alpine" -Credential $cred -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -Be 'RegistryUnauthorized,OciSync.PowerShell.Commands.GetRegistryTagCommand'
    }

    It 'an unreachable registry is a non-terminating RegistryUnreachable error; the other repositories are still listed' {
        $port = Get-ClosedLoopbackPort
        $tags = Get-RegistryTag "127.0.0.1:$port/demo/alpine", "$A/demo/busybox" -ErrorVariable ev -ErrorAction SilentlyContinue
        $ok = $?
        $ok | Should -BeFalse
        $tags.Reference | Should -Be "$A/demo/busybox:1.36"
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'RegistryUnreachable,*'
        $ev[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        $ev[0].TargetObject | Should -Be "127.0.0.1:$port/demo/alpine"
    }

    It 'a repository that does not exist is a non-terminating not-found error' {
        $null = Get-RegistryTag "$A/demo/nothing-here" -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Match '^(RepositoryNotFound|ManifestNotFound),OciSync\.PowerShell\.Commands\.GetRegistryTagCommand$'
        $ev[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'an invalid repository name is an InvalidReference error' {
        $null = Get-RegistryTag 'Not A/Valid Name' -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -Be 'InvalidReference,OciSync.PowerShell.Commands.GetRegistryTagCommand'
    }

    It 'formats as a table with Repository and Tag columns' {
        $text = Get-RegistryTag "$A/demo/alpine" | Format-Table | Out-String
        $text | Should -Match 'Repository\s+Tag'
        $text | Should -Match ([regex]::Escape("$A/demo/alpine") + '\s+3\.19')
    }
}
