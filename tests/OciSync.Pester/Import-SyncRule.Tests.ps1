BeforeAll {
    . $PSScriptRoot/Common.ps1
    $cmd = 'OciSync.PowerShell.Commands.ImportSyncRuleCommand'
    $yaml = Join-Path $TestDrive 'images.yaml'
    # The seed document's images.yaml, as written.
    @'
quay.io/coreos/kube-rbac-proxy: registry.ksyunkcr.com/namespace/repository
quay.io/coreos/kube-rbac-proxy:v1.0: quay.io/ruohe/kube-rbac-proxy
quay.io/coreos/kube-rbac-proxy:v1.0,v2.0: quay.io/ruohe/kube-rbac-proxy
quay.io/coreos/kube-rbac-proxy@sha256:14b267eb38aa85fd12d0e168fffa2d8a6187ac53a14a0212b0d4fce8d729598c: quay.io/ruohe/kube-rbac-proxy
quay.io/coreos/kube-rbac-proxy:v1.1:
- quay.io/ruohe/kube-rbac-proxy1
- quay.io/ruohe/kube-rbac-proxy2
quay.io/coreos/kube-rbac-proxy:/a+/: quay.io/ruohe/kube-rbac-proxy
'@ | Set-Content $yaml
}

Describe 'Import-SyncRule' {
    It 'reads every rule of the seed document''s images.yaml, in file order, with its origin' {
        $rules = Import-SyncRule $yaml
        $rules | Should -HaveCount 6
        $rules | ForEach-Object { $_ | Should -BeOfType ([OciSync.Core.Configuration.SyncRule]) }
        @($rules | ForEach-Object { "$($_.Kind)" }) | Should -Be @('AllTags', 'Tags', 'Tags', 'Digest', 'Tags', 'Regex')
        @($rules[4].Destinations) | Should -Be @('quay.io/ruohe/kube-rbac-proxy1', 'quay.io/ruohe/kube-rbac-proxy2')
        @($rules[2].SourceTags) | Should -Be @('v1.0', 'v2.0')
        $rules[1].Origin | Should -Be "$($yaml):2"
    }

    It 'emits only its declared [OutputType]' {
        $declared = (Get-Command Import-SyncRule).OutputType.Type
        Import-SyncRule $yaml | ForEach-Object { $declared | Should -Contain $_.GetType() }
    }

    It 'reads JSON with the same meaning' {
        $json = Join-Path $TestDrive 'images.json'
        @{ 'quay.io/a/b:v1' = 'r.example.com/x/b'; 'quay.io/a/c' = @('r.example.com/x/c', 'r.example.com/y/c') } | ConvertTo-Json | Set-Content $json
        $rules = Import-SyncRule $json
        @($rules.Source | Sort-Object) | Should -Be @('quay.io/a/b:v1', 'quay.io/a/c')
    }

    It 'binds paths by value and by property name (Get-ChildItem | Import-SyncRule)' {
        ($yaml | Import-SyncRule) | Should -HaveCount 6
        (Get-Item $yaml | Import-SyncRule) | Should -HaveCount 6
        ([pscustomobject]@{ Path = $yaml } | Import-SyncRule) | Should -HaveCount 6
    }

    It 'a bad rule is a non-terminating <ErrorId> error naming file and line; the others are returned' -ForEach @(
        @{ ErrorId = 'RuleTagCountMismatch'; Bad = 'a.io/x:v1,v2: b.io/x:one' }
        @{ ErrorId = 'RuleMultipleRegex'; Bad = 'a.io/x:/a/,/b/: b.io/x' }
        @{ ErrorId = 'RuleBadRegex'; Bad = 'a.io/x:/(/: b.io/x' }
        @{ ErrorId = 'RuleEmptySide'; Bad = '"": b.io/x' }
        @{ ErrorId = 'RuleInvalidReference'; Bad = 'a.io/x:1: "b.io/NOT VALID"' }
        @{ ErrorId = 'RuleNoDefaultDestination'; Bad = 'a.io/x:1: ""' }
    ) {
        $f = Join-Path $TestDrive "$ErrorId.yaml"
        @('a.io/good:1: b.io/good', $Bad, 'a.io/other:2: b.io/other') | Set-Content $f
        $rules = Import-SyncRule $f -ErrorVariable ev -ErrorAction SilentlyContinue
        $rules.Source | Should -Be @('a.io/good:1', 'a.io/other:2')
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be "$ErrorId,$cmd"
        $ev[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $ev[0].Exception.Message | Should -Match ([regex]::Escape($f) + ':2:\d+')
    }

    It 'a malformed file is a ConfigSyntaxError naming file, line and column; other files still load' {
        $bad = Join-Path $TestDrive 'malformed.yaml'
        "a.io/x:1: b.io/x`na.io/y:1: [b.io/unclosed`na.io/z:1: b.io/z" | Set-Content $bad
        $rules = Import-SyncRule $bad, $yaml -ErrorVariable ev -ErrorAction SilentlyContinue
        $rules | Should -HaveCount 6
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be "ConfigSyntaxError,$cmd"
        $ev[0].Exception.Message | Should -Match ([regex]::Escape($bad) + ':[23]:\d+')
    }

    It 'a missing file is ConfigFileNotFound' {
        $null = Import-SyncRule (Join-Path $TestDrive 'nope.yaml') -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -Be "ConfigFileNotFound,$cmd"
        $ev[0].Exception.Message | Should -BeLike '*nope.yaml*'
    }

    It 'an empty destination takes -DefaultRegistry/-DefaultNamespace, or the DEFAULT_REGISTRY/DEFAULT_NAMESPACE variables' {
        $f = Join-Path $TestDrive 'empty.yaml'
        'quay.io/coreos/etcd:v3: ""' | Set-Content $f
        "$((Import-SyncRule $f -DefaultRegistry r.example.com -DefaultNamespace mirror).Targets[0].Repository)" | Should -Be 'r.example.com/mirror/etcd'
        $env:DEFAULT_REGISTRY = 'env.example.com'; $env:DEFAULT_NAMESPACE = 'envns'
        try {
            "$((Import-SyncRule $f).Targets[0].Repository)" | Should -Be 'env.example.com/envns/etcd'
            "$((Import-SyncRule $f -Namespace param).Targets[0].Repository)" | Should -Be 'env.example.com/param/etcd'
        }
        finally { Remove-Item Env:DEFAULT_REGISTRY, Env:DEFAULT_NAMESPACE }
    }

    It '-Legacy reads the images part of a { auth, images } config file' {
        $f = Join-Path $TestDrive 'config.yaml'
        "auth:`n  quay.io:`n    username: u`n    password: p`nimages:`n  quay.io/a/b:v1: r.example.com/x/b" | Set-Content $f
        (Import-SyncRule $f -Legacy).Source | Should -Be 'quay.io/a/b:v1'
    }

    It 'formats as a table' {
        $text = Import-SyncRule $yaml | Format-Table | Out-String
        $text | Should -Match 'Source'
        $text | Should -Not -Match '(?m)^\s*Source\s*:'
    }
}
