BeforeDiscovery {
    $cmdlets = @('Get-RegistryTag', 'Get-RegistryManifest', 'Get-SyncPlan', 'Export-SyncPlan', 'Invoke-ImageSync', 'New-SyncRule', 'Import-SyncRule', 'New-RegistryCredential', 'Import-RegistryCredential', 'Merge-SyncResult') |
        ForEach-Object { @{ Name = $_ } }
    # Examples that need no network run for real (read at discovery, so the module is needed now).
    Import-Module $env:OCISYNC_MODULE -Force -ErrorAction Stop
    $offline = foreach ($name in 'New-SyncRule', 'New-RegistryCredential') {
        $i = 0
        foreach ($ex in (Get-Help $name -ErrorAction SilentlyContinue).examples.example) { $i++; @{ Name = $name; Index = $i; Code = $ex.code } }
    }
}

BeforeAll {
    . $PSScriptRoot/Common.ps1
}

Describe 'Help of <Name>' -ForEach $cmdlets {
    BeforeAll {
        $help = Get-Help $Name -Full
        $command = Get-Command $Name
    }

    It 'comes from the module''s MAML file' {
        Split-Path -Leaf $command.HelpFile | Should -Be 'OciSync.PowerShell.dll-Help.xml'
        Join-Path (Split-Path $env:OCISYNC_MODULE) 'en-US/OciSync.PowerShell.dll-Help.xml' | Should -Exist
    }

    It 'has a synopsis' {
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis.Trim() | Should -Not -BeLike "$Name*"   # not the generated syntax line
    }

    It 'has a description' {
        ($help.description.Text -join ' ').Length | Should -BeGreaterThan 40
    }

    It 'has at least two examples, each with code and remarks' {
        @($help.examples.example).Count | Should -BeGreaterOrEqual 2
        foreach ($ex in $help.examples.example) {
            $ex.code | Should -Not -BeNullOrEmpty
            ($ex.remarks.Text -join '') | Should -Not -BeNullOrEmpty
            $ex.code | Should -Match ([regex]::Escape($Name))
        }
    }

    It 'describes every parameter' {
        $names = $command.Parameters.Keys | Where-Object { $_ -notin $CommonParameters }
        foreach ($p in $names) {
            $ph = $help.parameters.parameter | Where-Object name -EQ $p
            $ph | Should -Not -BeNullOrEmpty -Because "-$p is a parameter of $Name"
            ($ph.description.Text -join '') | Should -Not -BeNullOrEmpty -Because "-$p needs a description"
        }
    }

    It 'examples parse' {
        foreach ($ex in $help.examples.example) {
            $errors = $null
            $null = [System.Management.Automation.Language.Parser]::ParseInput($ex.code, [ref]$null, [ref]$errors)
            $errors | Should -BeNullOrEmpty
        }
    }
}

Describe 'Default values in help' {
    It 'Invoke-ImageSync -Proc is 5 and -Retries 2, as the cmdlet class sets them' {
        (Get-Help Invoke-ImageSync -Parameter Proc).defaultValue | Should -Be '5'
        (Get-Help Invoke-ImageSync -Parameter Retries).defaultValue | Should -Be '2'
        $fresh = [Activator]::CreateInstance((Get-Command Invoke-ImageSync).ImplementingType)
        $fresh.Proc | Should -Be 5
        $fresh.Retries | Should -Be 2
    }

    It '-RequestLimit is the core''s request concurrency' {
        $expected = [string][OciSync.Core.Sync.SyncOptions]::new().RequestConcurrency
        (Get-Help Get-SyncPlan -Parameter RequestLimit).defaultValue | Should -Be $expected
        (Get-Help Invoke-ImageSync -Parameter RequestLimit).defaultValue | Should -Be $expected
    }

    It 'every parameter of <Name> with a default in its class shows it, and no other does' -ForEach $cmdlets {
        $command = Get-Command $Name
        $fresh = [Activator]::CreateInstance($command.ImplementingType)
        # _Shared.psd1 Defaults: null in the class, images.json / the environment's index when run
        $documented = @{ Images = 'images.json'; ShardIndex = '$env:JOB_COMPLETION_INDEX' }
        foreach ($p in $command.Parameters.Values | Where-Object Name -NotIn $CommonParameters) {
            $property = $fresh.GetType().GetProperty($p.Name, [Reflection.BindingFlags]'Public, Instance')
            $value = if ($property) { $property.GetValue($fresh) } else { $null }
            $expected = if ($value -is [switch] -or $null -eq $value -or ($value -is [array] -and $value.Length -eq 0) -or "$value" -eq '') { $documented[$p.Name] }
                        else { [Convert]::ToString($value, [cultureinfo]::InvariantCulture) }
            $field = (Get-Help $Name -Parameter $p.Name).PSObject.Properties['defaultValue']   # absent when the MAML has none
            $shown = if ($field) { $field.Value }
            if ($expected) { $shown | Should -Be $expected -Because "-$($p.Name) of $Name defaults to $expected" }
            else { $shown | Should -BeNullOrEmpty -Because "-$($p.Name) of $Name has no default" }
        }
    }
}

Describe 'Offline examples run' {
    It '<Name> example <Index> runs and emits output' -ForEach $offline {
        $out = & ([scriptblock]::Create($Code)) -ErrorAction Stop
        $out | Should -Not -BeNullOrEmpty
    }
}

Describe 'about_OciSync_Security' {
    It 'is shipped with the module and states the clear-text and scrubbing rules' {
        $text = (Get-Help about_OciSync_Security | Out-String)
        $text | Should -Match 'Credentials go only to their origin'
        $text | Should -Match 'InsecureTokenRealm'
        $text | Should -Match 'masks, as \*\*\*'
        Join-Path (Split-Path $env:OCISYNC_MODULE) 'en-US/about_OciSync_Security.help.txt' | Should -Exist
    }
}
