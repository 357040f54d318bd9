BeforeAll {
    . $PSScriptRoot/Common.ps1
    $secret = "canary-$([guid]::NewGuid().ToString('N'))"
    $psCred = [pscredential]::new('someone', (ConvertTo-SecureString $secret -AsPlainText -Force))
}

Describe 'New-RegistryCredential' {
    It 'makes a RegistryCredential whose password stays a SecureString' {
        $c = New-RegistryCredential -Registry 'quay.io/coreos' -Credential $psCred
        $c | Should -BeOfType ([OciSync.Core.Auth.RegistryCredential])
        $c.Key | Should -Be 'quay.io/coreos'
        $c.Registry | Should -Be 'quay.io'
        $c.Username | Should -Be 'someone'
        $c.Password | Should -BeOfType ([securestring])
        $c.IsAnonymous | Should -BeFalse
        $c.Insecure | Should -BeFalse
        [pscredential]::new('x', $c.Password).GetNetworkCredential().Password | Should -Be $secret
    }

    It 'emits only its declared [OutputType]' {
        $declared = (Get-Command New-RegistryCredential).OutputType.Type
        New-RegistryCredential 'r.example.com' | ForEach-Object { $declared | Should -Contain $_.GetType() }
    }

    It 'keeps -CaFile, -CertFile and -KeyFile as full paths and -MaxConcurrency, -RequestsPerSecond as limits' {
        Push-Location $TestDrive
        try {
            'ca', 'cert', 'key' | ForEach-Object { Set-Content "./$_.pem" 'placeholder' }
            $c = New-RegistryCredential 'harbor.example' -CaFile ./ca.pem -CertFile ./cert.pem -KeyFile ./key.pem -MaxConcurrency 4 -RequestsPerSecond 2.5
            $c.Tls.CaFile | Should -Be (Join-Path $TestDrive 'ca.pem')
            $c.Tls.KeyFile | Should -Be (Join-Path $TestDrive 'key.pem')
            $c.Limits.MaxConcurrency | Should -Be 4
            $c.Limits.RequestsPerSecond | Should -Be 2.5
            { New-RegistryCredential 'harbor.example' -CaFile ./missing.pem } | Should -Throw -ErrorId 'TlsFileNotFound,OciSync.PowerShell.Commands.NewRegistryCredentialCommand'
            { New-RegistryCredential 'harbor.example' -KeyFile ./key.pem } | Should -Throw -ErrorId 'KeyFileWithoutCertFile,OciSync.PowerShell.Commands.NewRegistryCredentialCommand'
            { New-RegistryCredential 'harbor.example' -MaxConcurrency 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,OciSync.PowerShell.Commands.NewRegistryCredentialCommand'
        }
        finally { Pop-Location }
    }

    It 'without -Credential is anonymous; -Insecure is kept' {
        $c = New-RegistryCredential 'localhost:5000' -Insecure
        $c.IsAnonymous | Should -BeTrue
        $c.Insecure | Should -BeTrue
    }

    It 'normalises Docker Hub spellings and schemes in the key' {
        (New-RegistryCredential 'https://index.docker.io/').Key | Should -Be 'docker.io'
        (New-RegistryCredential 'registry-1.docker.io/library').Key | Should -Be 'docker.io/library'
    }

    It 'binds Registry (or Key) and Credential by property name' {
        $cs = @(
            [pscustomobject]@{ Registry = 'a.example.com'; Credential = $psCred }
            [pscustomobject]@{ Key = 'b.example.com/ns' }
        ) | New-RegistryCredential
        $cs.Key | Should -Be @('a.example.com', 'b.example.com/ns')
        $cs[0].Username | Should -Be 'someone'
        $cs[1].IsAnonymous | Should -BeTrue
    }

    It 'never shows the password: <Name>' -ForEach @(
        @{ Name = 'Format-Table'; Render = { param($o) $o | Format-Table | Out-String } }
        @{ Name = 'Format-Table *'; Render = { param($o) $o | Format-Table * | Out-String -Width 500 } }
        @{ Name = 'Format-List *'; Render = { param($o) $o | Format-List * -Force | Out-String } }
        @{ Name = 'Out-String'; Render = { param($o) $o | Out-String } }
        @{ Name = 'ToString'; Render = { param($o) $o.ToString() } }
        @{ Name = 'ConvertTo-Json'; Render = { param($o) $o | ConvertTo-Json -Depth 5 } }
        @{ Name = 'Export-Clixml'; Render = { param($o) $p = Join-Path $TestDrive 'c.xml'; $o | Export-Clixml $p; Get-Content $p -Raw } }
    ) {
        $c = New-RegistryCredential -Registry 'quay.io' -Credential $psCred
        $text = & $Render $c
        $text | Should -Not -BeNullOrEmpty
        $text | Should -Not -Match $secret
    }

    It 'formats as a table' {
        $text = New-RegistryCredential -Registry 'quay.io' -Credential $psCred | Format-Table | Out-String
        $text | Should -Match 'Key'
        $text | Should -Match 'someone'
    }
}
