# OciSync beside other versions of its own dependencies, each case in a fresh pwsh: YamlDotNet 16 (what the
# powershell-yaml module loads) and System.Text.Json 9, loaded before OciSync and after it. The other
# versions come from NuGet (restored with Pester by OciSync.Pester.csproj).

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $B = $bed.Basic.host
    $auth = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'auth.yaml') -BasicOnly
    $packages = ((& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
    $yaml16 = Join-Path $packages 'yamldotnet/16.3.0/lib/net8.0/YamlDotNet.dll'
    $json9 = Join-Path $packages 'system.text.json/9.0.12/lib/netstandard2.0/System.Text.Json.dll'

    function Invoke-Fresh {
        # Runs $Script in a new pwsh (no module imported) and returns the object its last line writes as JSON.
        param([Parameter(Mandatory)] [string] $Script)
        $exe = [Environment]::ProcessPath
        [string[]] $prefix = @()
        if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $prefix = @([Environment]::GetCommandLineArgs()[0]) }
        $wrapped = "`$ErrorActionPreference = 'Stop'; `$module = '$($env:OCISYNC_MODULE)'; `$yaml16 = '$yaml16'; `$json9 = '$json9'`n" + $Script
        $lines = @(& $exe @prefix -NoProfile -NonInteractive -Command $wrapped 2>&1 | ForEach-Object { "$_" })
        $LASTEXITCODE | Should -Be 0 -Because ($lines -join "`n")
        $last = $lines | Where-Object { $_.StartsWith('@@') } | Select-Object -Last 1
        $last | Should -Not -BeNullOrEmpty -Because ($lines -join "`n")
        $last.Substring(2) | ConvertFrom-Json
    }

    # What the child does with OciSync: read a YAML rules file, sync through it, report what loaded where.
    $syncScript = @"
`$images = Join-Path ([IO.Path]::GetTempPath()) "isolation-`$PID.yaml"
Set-Content `$images "${A}/demo/alpine:3.19: ${B}/iso`$([guid]::NewGuid().ToString('N').Substring(0, 10))/alpine"
`$rules = @(Import-SyncRule -Path `$images)
`$summary = `$rules | Invoke-ImageSync -Auth '$auth' -Summary
Remove-Item `$images
`$ours = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$rules[0].GetType().Assembly)
`$oursYaml = @(`$ours.Assemblies | Where-Object { `$_.GetName().Name -eq 'YamlDotNet' })
"@
    $reportScript = @'
Write-Output ('@@' + ([pscustomobject]@{
    Rules = $rules.Count; Synced = $summary.Synced; Failed = $summary.Failed
    OursContext = $ours.GetType().FullName
    OursYaml = @($oursYaml | ForEach-Object { $_.GetName().Version.ToString() })
    OursYamlPath = @($oursYaml | ForEach-Object Location)
    SessionYaml = $(if ($t = 'YamlDotNet.Serialization.Deserializer' -as [type]) { $t.Assembly.GetName().Version.ToString() })
    DefaultYaml = @([System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies | Where-Object { $_.GetName().Name -eq 'YamlDotNet' } | ForEach-Object { $_.GetName().Version.ToString() })
    CoreJson = [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext([System.Text.Json.JsonDocument].Assembly).Name
    TypeLiteral = $rules[0] -is [OciSync.Core.Configuration.SyncRule]
} | ConvertTo-Json -Compress))
'@
}

AfterAll {
    Stop-OciTestBed $bed
}

Describe 'OciSync beside other versions of its dependencies' {
    It 'syncs when YamlDotNet 16 and System.Text.Json 9 were loaded first, and leaves them to the session' {
        $r = Invoke-Fresh @"
`$y = Add-Type -Path `$yaml16 -PassThru | Select-Object -First 1
`$j9 = [System.Reflection.Assembly]::LoadFile(`$json9)   # a context of its own, as another isolated module would have
Import-Module `$module
$syncScript
`$j9Still = `$j9.GetName().Version.ToString()
$($reportScript -replace 'TypeLiteral =', 'Json9 = $j9Still; TypeLiteral =')
"@
        $r.Rules | Should -Be 1
        $r.Synced | Should -Be 1
        $r.Failed | Should -Be 0
        $r.OursContext | Should -Be 'OciSync.PowerShell.Loading.DependencyLoadContext'
        $r.OursYaml | Should -Be @('18.0.0.0') -Because 'OciSync reads YAML with its own YamlDotNet'
        $r.OursYamlPath[0] | Should -BeLike '*Dependencies*YamlDotNet.dll'
        $r.SessionYaml | Should -Be '16.0.0.0' -Because 'the session still sees the YamlDotNet it loaded'
        $r.DefaultYaml | Should -Be @('16.0.0.0')
        $r.Json9 | Should -Be '9.0.0.0'
        $r.CoreJson | Should -Be 'Default' -Because 'System.Text.Json is the platform''s, shared, never a private copy'
        $r.TypeLiteral | Should -BeTrue
    }

    It 'syncs first, after which YamlDotNet 16 loads and is the one other code sees' {
        $r = Invoke-Fresh @"
Import-Module `$module
$syncScript
`$null = Add-Type -Path `$yaml16 -PassThru
# What powershell-yaml does with it: parse a document through the session's YamlDotNet.
`$parsed = [YamlDotNet.Serialization.Deserializer]::new().Deserialize([System.IO.StringReader]::new('a: 1'))
if (`$parsed['a'] -ne '1') { throw 'YamlDotNet 16 did not parse' }
$reportScript
"@
        $r.Synced | Should -Be 1
        $r.Failed | Should -Be 0
        $r.OursYaml | Should -Be @('18.0.0.0')
        $r.SessionYaml | Should -Be '16.0.0.0'
        $r.DefaultYaml | Should -Be @('16.0.0.0') -Because 'OciSync put no YamlDotNet in the default context'
    }

    It 'puts nothing but OciSync.PowerShell into the default load context' {
        $r = Invoke-Fresh @"
`$before = @([System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies | ForEach-Object { `$_.GetName().Name })
Import-Module `$module
$syncScript
`$added = @([System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies | ForEach-Object { `$_.GetName().Name } | Where-Object { `$_ -notin `$before })
Write-Output ('@@' + (@{ Added = `$added; Private = @(`$ours.Assemblies | ForEach-Object { `$_.GetName().Name }) } | ConvertTo-Json -Compress))
"@
        $r.Added | Should -Contain 'OciSync.PowerShell'
        $r.Added | Where-Object { $_ -match '^(OciSync\.Core|YamlDotNet|Polly|NuGet|Microsoft\.Bcl\.TimeProvider)' } | Should -BeNullOrEmpty
        $r.Private | Should -Contain 'OciSync.Core'
        $r.Private | Should -Contain 'Polly.Core'
        $r.Private | Should -Contain 'YamlDotNet'
        $r.Private | Should -Not -Contain 'System.Text.Json'
        $r.Private | Should -Not -Contain 'System.Memory'
    }

    It 'imports again with -Force and still syncs' {
        $r = Invoke-Fresh @"
Import-Module `$module
Import-Module `$module -Force
Remove-Module OciSync
Import-Module `$module
$syncScript
$reportScript
"@
        $r.Synced | Should -Be 1
        $r.TypeLiteral | Should -BeTrue
        $r.SessionYaml | Should -BeNullOrEmpty -Because 'OciSync''s own YamlDotNet is not visible to the session'
    }
}

Describe 'The cmdlet assembly' {
    It 'has no field of a value type from OciSync.Core (loading such a class needs Core before the module initializer runs)' {
        # PowerShell loads every cmdlet class to find the cmdlets, before OnImport installs the load context. A field
        # (an auto-property's too) of a Core enum or struct makes the runtime load OciSync.Core then, from nowhere.
        $flags = [System.Reflection.BindingFlags]'Public, NonPublic, Instance, Static, DeclaredOnly'
        $offending = foreach ($type in [OciSync.PowerShell.Loading.ModuleInitializer].Assembly.GetTypes()) {
            foreach ($field in $type.GetFields($flags)) {
                $t = $field.FieldType
                $t = [Nullable]::GetUnderlyingType($t) ?? $t
                if ($t.IsValueType -and $t.Assembly.GetName().Name -eq 'OciSync.Core') { "$($type.FullName).$($field.Name): $($t.FullName)" }
            }
        }
        @($offending) | Should -BeNullOrEmpty
    }
}

Describe 'The Windows PowerShell 5.1 resolve handler' {
    # On .NET Framework it answers AppDomain.AssemblyResolve; here its decision is checked directly.
    BeforeAll {
        $dependencies = Join-Path (Split-Path $env:OCISYNC_MODULE) 'Dependencies'
        $resolver = [OciSync.PowerShell.Loading.FrameworkDependencyResolver]::new($dependencies)
        $cmdlets = Join-Path (Split-Path $env:OCISYNC_MODULE) 'OciSync.PowerShell.dll'
        $polly = Join-Path $dependencies 'Polly.Core.dll'
    }

    It 'answers our assemblies'' requests for our files' {
        $resolver.Answer('OciSync.Core, Version=0.1.0.0, Culture=neutral, PublicKeyToken=null', $cmdlets) | Should -Be (Join-Path $dependencies 'OciSync.Core.dll')
        $resolver.Answer('Microsoft.Bcl.TimeProvider, Version=8.0.0.0, Culture=neutral, PublicKeyToken=cc7b13ffcd2ddd51', $polly) | Should -Be (Join-Path $dependencies 'Microsoft.Bcl.TimeProvider.dll')
    }

    It 'declines another module''s request, a request with no requester, a name we do not ship and a newer version than ours' {
        $resolver.Answer('YamlDotNet, Version=16.0.0.0, Culture=neutral, PublicKeyToken=ec19458f3c15af5e', '/elsewhere/powershell-yaml/PowerShellYaml.dll') | Should -BeNullOrEmpty
        $resolver.Answer('YamlDotNet, Version=16.0.0.0, Culture=neutral, PublicKeyToken=ec19458f3c15af5e', $null) | Should -BeNullOrEmpty
        $resolver.Answer('Newtonsoft.Json, Version=13.0.0.0', $cmdlets) | Should -BeNullOrEmpty
        $resolver.Answer('YamlDotNet, Version=99.0.0.0, Culture=neutral, PublicKeyToken=ec19458f3c15af5e', $cmdlets) | Should -BeNullOrEmpty
        $resolver.Answer('../../etc/passwd', $cmdlets) | Should -BeNullOrEmpty
        $resolver.Answer('not, an = assembly ,, name', $cmdlets) | Should -BeNullOrEmpty
    }
}
