BeforeDiscovery {
    # -ForEach data is read at discovery, before BeforeAll runs.
    $cmdlets = @('Get-RegistryTag', 'Get-RegistryManifest', 'Get-SyncPlan', 'Export-SyncPlan', 'Invoke-ImageSync', 'New-SyncRule', 'Import-SyncRule', 'New-RegistryCredential', 'Import-RegistryCredential', 'Merge-SyncResult') | ForEach-Object { @{ Name = $_ } }
}

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $module = Get-Module OciSync
}

Describe 'The OciSync module' {
    It 'exports exactly the nine cmdlets' {
        @((Get-Command -Module OciSync).Name | Sort-Object) | Should -Be @($OciSyncCmdlets | Sort-Object)
        (Get-Command -Module OciSync | Where-Object CommandType -NE 'Cmdlet') | Should -BeNullOrEmpty
    }

    It 'exports no functions, variables or aliases' {
        $module.ExportedFunctions.Count | Should -Be 0
        $module.ExportedVariables.Count | Should -Be 0
        $module.ExportedAliases.Count | Should -Be 0
    }

    It '<Name> uses an approved verb' -ForEach $cmdlets {
        (Get-Command $Name).Verb | Should -BeIn (Get-Verb).Verb
    }

    It '<Name> declares an [OutputType] with OciSync types' -ForEach $cmdlets {
        $types = (Get-Command $Name).OutputType.Type
        $types | Should -Not -BeNullOrEmpty
        $types | ForEach-Object { $_.FullName | Should -BeLike 'OciSync.*' }
    }

    It 'Invoke-ImageSync supports -WhatIf and -Confirm' {
        $c = Get-Command Invoke-ImageSync
        $c.Parameters.Keys | Should -Contain 'WhatIf'
        $c.Parameters.Keys | Should -Contain 'Confirm'
        $c.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].SupportsShouldProcess | Should -BeTrue
    }

    It 'the manifest is explicit and loads on Desktop and Core' {
        $data = Import-PowerShellDataFile $env:OCISYNC_MODULE
        @($data.CmdletsToExport | Sort-Object) | Should -Be @($OciSyncCmdlets | Sort-Object)
        $data.CompatiblePSEditions | Should -Be @('Desktop', 'Core')
        $data.FormatsToProcess | Should -Not -BeNullOrEmpty
    }

    It 'the manifest carries what a gallery and Windows PowerShell need' {
        $data = Import-PowerShellDataFile $env:OCISYNC_MODULE
        $psData = $data.PrivateData.PSData
        foreach ($uri in $psData.ProjectUri, $psData.LicenseUri) {
            [uri]::IsWellFormedUriString($uri, 'Absolute') | Should -BeTrue
            ([uri]$uri).Scheme | Should -Be 'https'
            $uri | Should -Not -Match 'example|invalid|localhost'
        }
        $psData.ReleaseNotes | Should -Match "^$([regex]::Escape($data.ModuleVersion))\b" -Because 'the notes begin with the version they describe'
        $psData.Tags | Should -Contain 'image-syncer'
        [version]$data.DotNetFrameworkVersion | Should -BeGreaterOrEqual ([version]'4.7.1') -Because 'per-handler TLS versions and certificate callbacks need .NET Framework 4.7.1'
        Join-Path (Split-Path $env:OCISYNC_MODULE) 'LICENSE' | Should -Exist
        $props = [xml](Get-Content (Join-Path (Split-Path $env:OCISYNC_MODULE) '../../Directory.Build.props') -Raw)
        $data.ModuleVersion | Should -Be (@($props.Project.PropertyGroup.Version) -ne $null)[0] -Because 'the module and its assemblies carry one version'
    }

    It '<_> has a table view' -ForEach @(
        'OciSync.Core.Sync.SyncResult', 'OciSync.Core.Sync.SyncSummary', 'OciSync.Core.Configuration.ImageCopy',
        'OciSync.Core.Configuration.SyncRule', 'OciSync.Core.Auth.RegistryCredential', 'OciSync.PowerShell.Output.RegistryTag', 'OciSync.PowerShell.Output.ManifestInfo',
        'OciSync.PowerShell.Output.PlanFileInfo'
    ) {
        $TypeName = $_
        $format = Get-FormatData -TypeName $TypeName
        $format | Should -Not -BeNullOrEmpty
        @($format.FormatViewDefinition.Control | Where-Object { $_ -is [System.Management.Automation.TableControl] }) | Should -Not -BeNullOrEmpty
    }

    It 'every error id of the catalogue has a PowerShell error category' {
        foreach ($id in [OciSync.Core.Transport.ErrorIds]::All) {
            $name = [OciSync.Core.Transport.ErrorIds]::Describe($id).Category
            { [System.Management.Automation.ErrorCategory]$name } | Should -Not -Throw -Because "$id says '$name'"
        }
    }

    It 'every declared output type has a table view' {
        $declared = $OciSyncCmdlets | ForEach-Object { (Get-Command $_).OutputType.Type } | Sort-Object FullName -Unique
        foreach ($t in $declared) {
            # A view selected by a base type (SyncResult) serves its derived types, as PowerShell picks it.
            $tables = for ($type = $t; $type; $type = $type.BaseType) {
                $format = Get-FormatData -TypeName $type.FullName
                if ($format) { $format.FormatViewDefinition.Control | Where-Object { $_ -is [System.Management.Automation.TableControl] } }
            }
            @($tables).Count | Should -BeGreaterThan 0 -Because "$($t.FullName) is an output type"
        }
    }

    It 'the pipeline-bound parameters are where the design card puts them' {
        (Get-Command Get-RegistryTag).Parameters['Repository'].ParameterSets.Values.ValueFromPipeline | Should -Contain $true
        (Get-Command Get-RegistryTag).Parameters['Repository'].ParameterSets.Values.ValueFromPipelineByPropertyName | Should -Contain $true
        (Get-Command Get-RegistryManifest).Parameters['Reference'].ParameterSets.Values.ValueFromPipeline | Should -Contain $true
        (Get-Command Invoke-ImageSync).Parameters['Rule'].ParameterSets.Values.ValueFromPipeline | Should -Contain $true
        (Get-Command New-SyncRule).Parameters['Source'].ParameterSets.Values.ValueFromPipelineByPropertyName | Should -Contain $true
    }

    It 'Invoke-ImageSync has the image-syncer flags as parameters and aliases' {
        $p = (Get-Command Invoke-ImageSync).Parameters
        foreach ($name in 'Images', 'Auth', 'Config', 'LogPath', 'Proc', 'Retries', 'OS', 'Arch', 'Force', 'DefaultRegistry', 'DefaultNamespace', 'SuccessImagesPath', 'FailedImagesPath') {
            $p.Keys | Should -Contain $name
        }
        $p['LogPath'].Aliases | Should -Contain 'Log'
        $p['Proc'].Aliases | Should -Contain 'ThrottleLimit'
        $p['DefaultRegistry'].Aliases | Should -Contain 'Registry'
        $p['DefaultNamespace'].Aliases | Should -Contain 'Namespace'
    }
}

Describe '-Debug in a non-interactive host (runbooks, CI)' {
    # PowerShell turns Verbose and Warning into Inquire under -Debug; without a host to ask, the
    # command would fail at its first verbose or warning line.
    BeforeAll {
        $auth = Join-Path $TestDrive 'debug-auth.yaml'
        @'
anon.example.com:
  username: ""
  password: ""
  colour: blue
'@ | Set-Content $auth
    }

    It 'writes verbose and warning lines to the debug stream instead of prompting' {
        $run = Invoke-ChildPwsh "`$c = Import-RegistryCredential -Path '$auth' -Debug; 'KEY=' + `$c.Key"
        $text = $run.Lines -join "`n"
        $text | Should -Not -Match 'NonInteractive mode'
        $text | Should -Match 'KEY=anon\.example\.com'
        $text | Should -Match 'no user or password'      # the verbose line
        $text | Should -Match 'WARNING: .*colour'         # the unknown-key warning
        $run.ExitCode | Should -Be 0
    }

    It 'leaves verbose and warning lines in their own streams when -Verbose and -WarningAction are given too' {
        $run = Invoke-ChildPwsh "`$v = `$null; `$c = Import-RegistryCredential -Path '$auth' -Debug -Verbose -WarningAction SilentlyContinue -WarningVariable w 4>&1; 'VERBOSE=' + (@(`$c | Where-Object { `$_ -is [Management.Automation.VerboseRecord] }).Count); 'WARNINGS=' + `$w.Count"
        $text = $run.Lines -join "`n"
        $text | Should -Match 'VERBOSE=1'
        $text | Should -Match 'WARNINGS=1'
        $run.ExitCode | Should -Be 0
    }
}
