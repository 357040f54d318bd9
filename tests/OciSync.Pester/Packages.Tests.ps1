# The packages build.ps1 -Task Package writes beside the module (out/OciSync-<version>.zip for Azure Automation,
# out/OciSync.<version>.nupkg for a gallery), installed and imported as users do, each in a fresh pwsh whose
# home, module path and PSResourceGet settings are temporary: nothing of this machine's is read or changed.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $B = $bed.Basic.host
    $auth = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'auth.yaml') -BasicOnly
    $manifest = Import-PowerShellDataFile $env:OCISYNC_MODULE
    $version = $manifest.ModuleVersion
    $out = Split-Path (Split-Path $env:OCISYNC_MODULE)
    $zip = Join-Path $out "OciSync-$version.zip"
    $nupkg = Join-Path $out "OciSync.$version.nupkg"

    function Invoke-Isolated {
        # $Script in a new pwsh with HOME, XDG folders and PSModulePath of its own; returns the object its '@@' line writes as JSON.
        param([Parameter(Mandatory)] [string] $Script, [Parameter(Mandatory)] [string] $HomePath)
        $saved = @{}
        $vars = @{
            HOME = $HomePath; XDG_DATA_HOME = (Join-Path $HomePath '.local/share'); XDG_CONFIG_HOME = (Join-Path $HomePath '.config')
            XDG_CACHE_HOME = (Join-Path $HomePath '.cache'); PSModulePath = (Join-Path $HomePath '.local/share/powershell/Modules')
        }
        # The folders must exist: .NET answers a missing one with '' and PSResourceGet would then write its
        # repository store relative to the working directory.
        foreach ($k in 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME', 'PSModulePath') { New-Item -ItemType Directory -Force -Path $vars[$k] | Out-Null }
        foreach ($k in $vars.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $vars[$k]) }
        Push-Location $HomePath
        try {
            $exe = [Environment]::ProcessPath
            [string[]] $prefix = @()
            if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $prefix = @([Environment]::GetCommandLineArgs()[0]) }
            $lines = @(& $exe @prefix -NoProfile -NonInteractive -Command ("`$ErrorActionPreference = 'Stop'`n" + $Script) 2>&1 | ForEach-Object { "$_" })
            $exit = $LASTEXITCODE
        }
        finally {
            Pop-Location
            foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
        }
        $exit | Should -Be 0 -Because ($lines -join "`n")
        $last = $lines | Where-Object { $_.StartsWith('@@') } | Select-Object -Last 1
        $last | Should -Not -BeNullOrEmpty -Because ($lines -join "`n")
        $last.Substring(2) | ConvertFrom-Json
    }

    # Import OciSync by name (from the module path only) and sync one image through it.
    $importAndSync = @"
`$m = Import-Module OciSync -PassThru
`$repo = 'pkg' + [guid]::NewGuid().ToString('N').Substring(0, 10)
`$s = Invoke-ImageSync -Source '${A}/demo/alpine:3.19' -Destination "${B}/`$repo/alpine" -Auth '$auth' -Summary
`$digest = (Get-RegistryManifest "${B}/`$repo/alpine:3.19" -Auth '$auth').Digest
Write-Output ('@@' + (@{ Base = `$m.ModuleBase; Version = "`$(`$m.Version)"; Synced = `$s.Synced; Failed = `$s.Failed; Digest = `$digest; Cmdlets = @(`$m.ExportedCmdlets.Keys).Count } | ConvertTo-Json -Compress))
"@
    $sourceDigest = (Get-RegistryManifest "$A/demo/alpine:3.19" -ErrorAction Stop).Digest
}

AfterAll {
    Stop-OciTestBed $bed
}

Describe 'The gallery package' {
    It 'is written by the Package task with the manifest''s metadata' {
        $nupkg | Should -Exist
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $archive = [System.IO.Compression.ZipFile]::OpenRead($nupkg)
        try {
            $names = @($archive.Entries.FullName)
            $reader = [IO.StreamReader]::new($archive.GetEntry('OciSync.nuspec').Open())
            $nuspec = [xml]$reader.ReadToEnd()
            $reader.Dispose()
        }
        finally { $archive.Dispose() }
        $names | Should -Contain 'OciSync.psd1'
        $names | Should -Contain 'OciSync.PowerShell.dll'
        $names | Should -Contain 'Dependencies/OciSync.Core.dll'
        $names | Should -Contain 'LICENSE'
        $meta = $nuspec.package.metadata
        $meta.version | Should -Be $version
        $meta.projectUrl | Should -Be $manifest.PrivateData.PSData.ProjectUri
        $meta.licenseUrl | Should -Be $manifest.PrivateData.PSData.LicenseUri
        $meta.releaseNotes | Should -Not -BeNullOrEmpty
        $meta.tags -split ' ' | Should -Contain 'image-syncer'
        $meta.tags -split ' ' | Should -Contain 'PSEdition_Core'
    }

    It 'publishes to a local file repository, installs with Install-PSResource, imports by name and syncs' {
        $fakeHome = Join-Path $TestDrive 'gallery-home'
        $repository = Join-Path $TestDrive 'gallery-repository'
        New-Item -ItemType Directory -Path $fakeHome, $repository | Out-Null
        $r = Invoke-Isolated -HomePath $fakeHome -Script @"
Register-PSResourceRepository -Name OciSyncLocal -Uri '$repository' -Trusted
Publish-PSResource -NupkgPath '$nupkg' -Repository OciSyncLocal
Install-PSResource -Name OciSync -Version '$version' -Repository OciSyncLocal -TrustRepository -Scope CurrentUser
$importAndSync
"@
        Join-Path $repository "OciSync.$version.nupkg" | Should -Exist
        Join-Path $fakeHome '.local/share/PSResourceGet/PSResourceRepository.xml' | Should -Exist -Because 'the repository was registered in the temporary home, not in this machine''s settings'
        Join-Path $fakeHome 'PSResourceGet' | Should -Not -Exist -Because 'nothing is written relative to the working directory'
        $r.Base | Should -BeLike "$fakeHome*" -Because 'the module imported is the one Install-PSResource put in the temporary module path'
        $r.Version | Should -Be $version
        $r.Cmdlets | Should -Be $OciSyncCmdlets.Count
        $r.Synced | Should -Be 1
        $r.Failed | Should -Be 0
        $r.Digest | Should -Be $sourceDigest
    }
}

Describe 'The Azure Automation zip' {
    It 'has OciSync/OciSync.psd1 at its root and imports from where it expands' {
        $zip | Should -Exist
        $fakeHome = Join-Path $TestDrive 'zip-home'
        $modules = Join-Path $fakeHome '.local/share/powershell/Modules'
        New-Item -ItemType Directory -Path $modules -Force | Out-Null
        Expand-Archive -Path $zip -DestinationPath $modules
        @(Get-ChildItem $modules).Name | Should -Be @('OciSync') -Because 'the zip holds one folder, named as the module'
        Join-Path $modules 'OciSync/OciSync.psd1' | Should -Exist
        Join-Path $modules 'OciSync/Dependencies/OciSync.Core.dll' | Should -Exist
        $r = Invoke-Isolated -HomePath $fakeHome -Script $importAndSync
        $r.Base | Should -Be (Join-Path $modules 'OciSync')
        $r.Synced | Should -Be 1
        $r.Failed | Should -Be 0
        $r.Digest | Should -Be $sourceDigest
    }
}
