BeforeAll {
    . $PSScriptRoot/Common.ps1
}

Describe 'New-SyncRule' {
    It 'builds a validated rule object and copies nothing' {
        $r = New-SyncRule -Source 'quay.io/coreos/kube-rbac-proxy:v1.0' -Destination 'quay.io/ruohe/kube-rbac-proxy'
        $r | Should -BeOfType ([OciSync.Core.Configuration.SyncRule])
        $r.Source | Should -Be 'quay.io/coreos/kube-rbac-proxy:v1.0'
        @($r.Destinations) | Should -Be @('quay.io/ruohe/kube-rbac-proxy')
        "$($r.SourceRepository)" | Should -Be 'quay.io/coreos/kube-rbac-proxy'
        "$($r.Kind)" | Should -Be 'Tags'
        @($r.SourceTags) | Should -Be @('v1.0')
        $r.Origin | Should -BeNullOrEmpty
    }

    It 'resolves oci: paths against the PowerShell location, not the process directory' {
        Push-Location $TestDrive
        try { $r = New-SyncRule 'oci:./mirror:v1' 'oci-archive:out/m.tar' }
        finally { Pop-Location }
        $r.SourceRepository.LocalPath | Should -Be (Join-Path $TestDrive 'mirror')
        $r.Targets[0].Repository.LocalPath | Should -Be (Join-Path $TestDrive 'out/m.tar')
        [System.IO.Directory]::GetCurrentDirectory() | Should -Not -Be $TestDrive.ToString()
    }

    It 'reports a layout on a drive that does not exist as a bad rule, not a crash' {
        $r = New-SyncRule 'oci:Q:/mirror' 'r.example.com/x' -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'RuleInvalidReference,*'
    }

    It 'takes -DefaultRegistry and -DefaultNamespace (shared with Import-SyncRule, Get-SyncPlan and Invoke-ImageSync) and documents them' {
        $r = New-SyncRule 'quay.io/coreos/x:v1' '' -Registry 'r.example.com' -Namespace 'mirror'
        "$($r.Targets[0].Repository)" | Should -Be 'r.example.com/mirror/x'
        foreach ($name in 'New-SyncRule', 'Import-SyncRule', 'Get-SyncPlan', 'Invoke-ImageSync') {
            $params = (Get-Command $name).Parameters
            $params['DefaultRegistry'].Aliases | Should -Contain 'Registry'
            $params['DefaultNamespace'].Aliases | Should -Contain 'Namespace'
            (Get-Help $name -Parameter DefaultRegistry).description.Text | Should -Match 'empty destination'
        }
    }

    It 'emits only its declared [OutputType]' {
        $declared = (Get-Command New-SyncRule).OutputType.Type
        New-SyncRule 'a.io/x' 'b.io/y' | ForEach-Object { $declared | Should -Contain $_.GetType() }
    }

    It 'reads the source forms of the grammar: <Source> is <Kind>' -ForEach @(
        @{ Source = 'quay.io/coreos/kube-rbac-proxy'; Kind = 'AllTags' }
        @{ Source = 'quay.io/coreos/kube-rbac-proxy:v1.0,v2.0'; Kind = 'Tags' }
        @{ Source = 'quay.io/coreos/kube-rbac-proxy@sha256:14b267eb38aa85fd12d0e168fffa2d8a6187ac53a14a0212b0d4fce8d729598c'; Kind = 'Digest' }
        @{ Source = 'quay.io/coreos/kube-rbac-proxy:/a+/'; Kind = 'Regex' }
    ) {
        "$((New-SyncRule -Source $Source -Destination 'quay.io/ruohe/kube-rbac-proxy').Kind)" | Should -Be $Kind
    }

    It 'normalises Docker Hub short names as docker pull does' {
        "$((New-SyncRule 'nginx' 'r.example.com/x/nginx').SourceRepository)" | Should -Be 'docker.io/library/nginx'
        "$((New-SyncRule 'bitnami/nginx' 'r.example.com/x/nginx').SourceRepository)" | Should -Be 'docker.io/bitnami/nginx'
    }

    It 'takes several destinations and drops duplicates' {
        $r = New-SyncRule 'quay.io/coreos/x:v1.1' 'quay.io/ruohe/x1', 'quay.io/ruohe/x2', 'quay.io/ruohe/x1'
        @($r.Destinations) | Should -Be @('quay.io/ruohe/x1', 'quay.io/ruohe/x2')
        $r.Targets | Should -HaveCount 2
    }

    It 'expands ${VAR} in destinations' {
        $env:OCISYNC_TEST_NS = 'expanded'
        try { @((New-SyncRule 'a.io/x:1' 'b.io/${OCISYNC_TEST_NS}/x').Destinations) | Should -Be @('b.io/expanded/x') }
        finally { Remove-Item Env:OCISYNC_TEST_NS }
    }

    It 'binds Source and Destination by property name from objects' {
        $rules = @(
            [pscustomobject]@{ Source = 'a.io/x:1'; Destination = 'b.io/x' }
            [pscustomobject]@{ Source = 'a.io/y'; Destination = @('b.io/y1', 'b.io/y2') }
        ) | New-SyncRule
        $rules | Should -HaveCount 2
        $rules[0].Source | Should -Be 'a.io/x:1'
        @($rules[1].Destinations) | Should -Be @('b.io/y1', 'b.io/y2')
    }

    It 'binds rows of a CSV file' {
        $csv = Join-Path $TestDrive 'rules.csv'
        "Source,Destination`na.io/x:1,b.io/x`na.io/y:2,b.io/y" | Set-Content $csv
        (Import-Csv $csv | New-SyncRule).Source | Should -Be @('a.io/x:1', 'a.io/y:2')
    }

    It 'an empty destination uses -DefaultRegistry and -DefaultNamespace' {
        $r = New-SyncRule -Source 'quay.io/coreos/etcd:v3' -Destination @() -DefaultRegistry 'r.example.com' -DefaultNamespace 'mirror'
        @($r.Targets.Repository | ForEach-Object ToString) | Should -Be @('r.example.com/mirror/etcd')
    }

    It 'rejects a broken rule with a non-terminating error: <ErrorId>' -ForEach @(
        @{ Source = 'a.io/x:v1,v2'; Destination = @('b.io/x:only-one'); ErrorId = 'RuleTagCountMismatch' }
        @{ Source = 'a.io/x:/a/,/b/'; Destination = @('b.io/x'); ErrorId = 'RuleMultipleRegex' }
        @{ Source = 'a.io/x:/(/'; Destination = @('b.io/x'); ErrorId = 'RuleBadRegex' }
        @{ Source = 'a.io/x@sha256:14b267eb38aa85fd12d0e168fffa2d8a6187ac53a14a0212b0d4fce8d729598c'; Destination = @('b.io/x@sha256:0000000000000000000000000000000000000000000000000000000000000000'); ErrorId = 'RuleDigestMismatch' }
        @{ Source = 'a.io/x'; Destination = @('b.io/x:t'); ErrorId = 'RuleDestinationTagsNeedSourceTags' }
        @{ Source = 'a.io/x:1'; Destination = @(); ErrorId = 'RuleNoDefaultDestination' }
        @{ Source = 'a.io/X Y'; Destination = @('b.io/x'); ErrorId = 'RuleInvalidReference' }
    ) {
        $r = New-SyncRule -Source $Source -Destination $Destination -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be "$ErrorId,OciSync.PowerShell.Commands.NewSyncRuleCommand"
        $ev[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $ev[0].TargetObject | Should -Be $Source
        $ev[0].Exception.Message | Should -BeLike "*$Source*"
    }

    It 'accepts a namespace source reg/ns/* with a prefix destination' {
        $r = New-SyncRule -Source 'registry.example.com/team/*:/^v/' -Destination 'mirror.example.com/team-mirror/*', 'mirror.example.com/team-mirror'
        $r.IsCatalog | Should -BeTrue
        $r.CatalogPrefix | Should -Be 'team'
        "$($r.Kind)" | Should -Be 'Regex'
        @($r.Targets | ForEach-Object ToString) | Should -Be @('mirror.example.com/team-mirror/*')   # the same prefix, written twice
        @($r.ExpandCatalog([string[]]@('team/a/b', 'other/c')).Targets | ForEach-Object ToString) | Should -Be @('mirror.example.com/team-mirror/a/b')
        (New-SyncRule 'localhost:5000/*' '' -Registry 'r.example.com' -Namespace 'all').Targets[0].ToString() | Should -Be 'r.example.com/all/*'
    }

    It 'refuses a broken namespace rule: <ErrorId> for <Source>' -ForEach @(
        @{ Source = 'docker.io/library/*'; Destination = @('b.io/x'); ErrorId = 'RuleCatalogUnsupported' }
        @{ Source = 'a.io/team/*:v1'; Destination = @('b.io/x'); ErrorId = 'RuleCatalogInvalid' }
        @{ Source = 'a.io/team/*'; Destination = @('b.io/x:v1'); ErrorId = 'RuleCatalogInvalid' }
        @{ Source = 'a.io/team/app'; Destination = @('b.io/x/*'); ErrorId = 'RuleCatalogInvalid' }
    ) {
        $r = New-SyncRule -Source $Source -Destination $Destination -ErrorVariable ev -ErrorAction SilentlyContinue
        $r | Should -BeNullOrEmpty
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be "$ErrorId,OciSync.PowerShell.Commands.NewSyncRuleCommand"
        $ev[0].CategoryInfo.Category | Should -Be 'InvalidData'
    }

    It 'a bad rule in the pipeline does not stop the others' {
        $rules = @(
            [pscustomobject]@{ Source = 'a.io/x:1'; Destination = 'b.io/x' }
            [pscustomobject]@{ Source = 'a.io/x:1,2'; Destination = 'b.io/x:1' }
            [pscustomobject]@{ Source = 'a.io/z:1'; Destination = 'b.io/z' }
        ) | New-SyncRule -ErrorVariable ev -ErrorAction SilentlyContinue
        $rules.Source | Should -Be @('a.io/x:1', 'a.io/z:1')
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'RuleTagCountMismatch,*'
    }

    It 'formats as a table' {
        $text = New-SyncRule 'a.io/x:1' 'b.io/x' | Format-Table | Out-String
        $text | Should -Match 'Source'
        $text | Should -Not -Match '^\s*Source\s*:'
    }
}

Describe 'New-SyncRule with a huge value' {
    BeforeAll { . $PSScriptRoot/Common.ps1 }
    It 'a 1 MB source is shortened in the error''s message and target' {
        $src = 'quay.io/a/' + ('b' * 1MB) + ':x,y'
        $null = New-SyncRule -Source $src -Destination 'quay.io/r/x:1' -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev | Should -HaveCount 1
        "$($ev[0].TargetObject)".Length | Should -BeLessThan 400
        $ev[0].Exception.Message.Length | Should -BeLessThan 1000
    }
}
