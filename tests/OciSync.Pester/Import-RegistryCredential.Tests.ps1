BeforeAll {
    . $PSScriptRoot/Common.ps1
    $secret = "canary-$([guid]::NewGuid().ToString('N'))"
    $env:OCISYNC_PESTER_PASS = $secret
    $env:OCISYNC_PESTER_USER = 'envuser'
    $yaml = Join-Path $TestDrive 'auth.yaml'
    @'
quay.io:
  username: xxx
  password: xxxxxxxxx
  insecure: true
registry.ksyunkcr.com:
  username: xxx
  password: xxxxxxxxx
docker.io:
  username: "${OCISYNC_PESTER_USER}"
  password: "$OCISYNC_PESTER_PASS"
quay.io/coreos:
  username: abc
  password: xxxxxxxxx
  insecure: true
'@ | Set-Content $yaml
    $json = Join-Path $TestDrive 'auth.json'
    @{ 'r.example.com' = @{ username = 'u'; password = 'p' }; 'anon.example.com' = @{ username = '${OCISYNC_UNSET_VAR_X}'; password = '' } } | ConvertTo-Json | Set-Content $json
}
AfterAll { Remove-Item Env:OCISYNC_PESTER_PASS, Env:OCISYNC_PESTER_USER -ErrorAction SilentlyContinue }

Describe 'Import-RegistryCredential' {
    It 'reads every entry of an image-syncer auth.yaml (registry and registry/namespace keys)' {
        $cs = Import-RegistryCredential $yaml
        @($cs.Key | Sort-Object) | Should -Be @('docker.io', 'quay.io', 'quay.io/coreos', 'registry.ksyunkcr.com')
        ($cs | Where-Object Key -EQ 'quay.io').Insecure | Should -BeTrue
        ($cs | Where-Object Key -EQ 'registry.ksyunkcr.com').Insecure | Should -BeFalse
        ($cs | Where-Object Key -EQ 'quay.io/coreos').Username | Should -Be 'abc'
        $cs | ForEach-Object { $_.Origin | Should -BeLike '*auth.yaml*' }
    }

    It 'emits only its declared [OutputType]' {
        $declared = (Get-Command Import-RegistryCredential).OutputType.Type
        Import-RegistryCredential $yaml | ForEach-Object { $declared | Should -Contain $_.GetType() }
    }

    It 'expands ${VAR} and $VAR from the environment' {
        $d = Import-RegistryCredential $yaml | Where-Object Key -EQ 'docker.io'
        $d.Username | Should -Be 'envuser'
        [pscredential]::new('x', $d.Password).GetNetworkCredential().Password | Should -Be $secret
    }

    It 'reads JSON; an unset variable or empty password means anonymous (said in verbose output)' {
        $cs = Import-RegistryCredential $json -Verbose 4>&1
        $verbose = @($cs | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })
        $creds = @($cs | Where-Object { $_ -is [OciSync.Core.Auth.RegistryCredential] })
        ($creds | Where-Object Key -EQ 'anon.example.com').IsAnonymous | Should -BeTrue
        ($creds | Where-Object Key -EQ 'r.example.com').IsAnonymous | Should -BeFalse
        ($verbose.Message -join "`n") | Should -Match 'anon\.example\.com'
    }

    It 'binds paths by value and by property name (Get-ChildItem | Import-RegistryCredential)' {
        (Get-ChildItem $TestDrive -Filter 'auth.*' | Import-RegistryCredential) | Should -HaveCount 6
        ($yaml | Import-RegistryCredential) | Should -HaveCount 4
    }

    It 'a missing file is a non-terminating ConfigFileNotFound error' {
        $cs = Import-RegistryCredential (Join-Path $TestDrive 'nope.yaml'), $json -ErrorVariable ev -ErrorAction SilentlyContinue
        $cs | Should -HaveCount 2
        $ev[0].FullyQualifiedErrorId | Should -Be 'ConfigFileNotFound,OciSync.PowerShell.Commands.ImportRegistryCredentialCommand'
    }

    It 'a malformed file is a ConfigSyntaxError naming file, line and column' {
        $bad = Join-Path $TestDrive 'bad-auth.yaml'
        "quay.io:`n  username: [unclosed`n  password: x" | Set-Content $bad
        $null = Import-RegistryCredential $bad -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -Be 'ConfigSyntaxError,OciSync.PowerShell.Commands.ImportRegistryCredentialCommand'
        $ev[0].Exception.Message | Should -Match ([regex]::Escape($bad) + ':\d+:\d+')
    }

    It 'never shows a password: <Name>' -ForEach @(
        @{ Name = 'Format-Table'; Render = { param($o) $o | Format-Table | Out-String } }
        @{ Name = 'Format-Table *'; Render = { param($o) $o | Format-Table * | Out-String -Width 500 } }
        @{ Name = 'Format-List *'; Render = { param($o) $o | Format-List * -Force | Out-String } }
        @{ Name = 'Out-String'; Render = { param($o) $o | Out-String } }
        @{ Name = 'ConvertTo-Json'; Render = { param($o) $o | ConvertTo-Json -Depth 5 } }
    ) {
        $text = & $Render (Import-RegistryCredential $yaml)
        $text | Should -Match 'docker\.io'
        $text | Should -Not -Match $secret
        $text | Should -Not -Match 'xxxxxxxxx'
    }
}
