BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $B = $bed.Basic.host; $T = $bed.Token.host
    $auth = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'auth.yaml')

    # The registry's own answer, independent of OciSync: sha256 of the manifest bytes it serves.
    function Get-RawManifestDigest([string] $Repository, [string] $Reference) {
        $accept = 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json'
        $r = Invoke-WebRequest "http://$A/v2/$Repository/manifests/$Reference" -Headers @{ Accept = $accept } -UseBasicParsing
        $bytes = $r.RawContentStream.ToArray()
        'sha256:' + [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData($bytes)).ToLowerInvariant()
    }
}
AfterAll { Stop-OciTestBed $bed }

Describe 'Get-RegistryManifest' {
    It 'describes an OCI image manifest: digest, media type, config and layers' {
        $m = Get-RegistryManifest "$A/demo/alpine:3.19"
        $m | Should -BeOfType ([OciSync.PowerShell.Output.ManifestInfo])
        $m.Reference | Should -Be "$A/demo/alpine:3.19"
        $m.Digest | Should -Be (Get-RawManifestDigest 'demo/alpine' '3.19')
        $m.MediaType | Should -Be 'application/vnd.oci.image.manifest.v1+json'
        $m.IsIndex | Should -BeFalse
        $m.Config | Should -Match '^sha256:[0-9a-f]{64}$'
        $m.LayerCount | Should -BeGreaterThan 0
        $m.Layers | Should -HaveCount $m.LayerCount
        $m.LayerBytes | Should -Be ($m.Layers | Measure-Object -Property Size -Sum).Sum
        $m.Size | Should -BeGreaterThan 0
    }

    It 'emits only its declared [OutputType]' {
        $declared = (Get-Command Get-RegistryManifest).OutputType.Type
        Get-RegistryManifest "$A/demo/app:1.0", "$A/demo/busybox:1.36" | ForEach-Object { $declared | Should -Contain $_.GetType() }
    }

    It 'describes a Docker schema2 manifest' {
        $m = Get-RegistryManifest "$A/demo/busybox:1.36"
        $m.MediaType | Should -Be 'application/vnd.docker.distribution.manifest.v2+json'
        $m.Digest | Should -Be (Get-RawManifestDigest 'demo/busybox' '1.36')
    }

    It 'describes an OCI index with its platforms, a platformless entry included' {
        $m = Get-RegistryManifest "$A/demo/app:1.0"
        $m.IsIndex | Should -BeTrue
        $m.MediaType | Should -Be 'application/vnd.oci.image.index.v1+json'
        $m.Digest | Should -Be (Get-RawManifestDigest 'demo/app' '1.0')
        @($m.Platforms) | Should -Be @('linux/amd64', 'linux/arm64/v8', '(none)')
        $m.Manifests | Should -HaveCount 3
        $m.Manifests | ForEach-Object { $_.Digest | Should -Match '^sha256:[0-9a-f]{64}$' }
    }

    It 'describes a Docker manifest list' {
        $m = Get-RegistryManifest "$A/demo/legacy:1.0"
        $m.IsIndex | Should -BeTrue
        $m.MediaType | Should -Be 'application/vnd.docker.distribution.manifest.list.v2+json'
        @($m.Platforms) | Should -Be @('linux/amd64', 'linux/arm/v7')
    }

    It 'reads a child manifest of an index by digest' {
        $index = Get-RegistryManifest "$A/demo/app:1.0"
        $child = $index.Manifests | Where-Object Platform -EQ 'linux/arm64/v8'
        $m = Get-RegistryManifest "$A/demo/app@$($child.Digest)"
        $m.Digest | Should -Be $child.Digest
        $m.IsIndex | Should -BeFalse
    }

    It 'a reference without tag or digest means :latest' {
        $m = Get-RegistryManifest "$A/demo/alpine"
        $m.Reference | Should -Be "$A/demo/alpine:latest"
        $m.Digest | Should -Be (Get-RawManifestDigest 'demo/alpine' 'latest')
    }

    It 'takes the tags of Get-RegistryTag from the pipeline' {
        $ms = Get-RegistryTag "$A/demo/alpine" | Get-RegistryManifest
        @($ms.Reference | Sort-Object) | Should -Be @("$A/demo/alpine:3.19", "$A/demo/alpine:latest")
    }

    It 'binds references by value and by property name (<Property>)' -ForEach @(@{ Property = 'Reference' }, @{ Property = 'Image' }) {
        ("$A/demo/busybox:1.36" | Get-RegistryManifest).Reference | Should -Be "$A/demo/busybox:1.36"
        ([pscustomobject]@{ $Property = "$A/demo/legacy:1.0" } | Get-RegistryManifest).Reference | Should -Be "$A/demo/legacy:1.0"
    }

    It 'reads Basic and token registries with -Auth; the copies have the source digests' {
        $null = Invoke-ImageSync -Source "$A/demo/app:1.0" -Destination "$B/m/app", "$T/m/app" -Auth $auth -ErrorAction Stop
        $src = (Get-RegistryManifest "$A/demo/app:1.0").Digest
        (Get-RegistryManifest "$B/m/app:1.0" -Auth $auth).Digest | Should -Be $src
        (Get-RegistryManifest "$T/m/app:1.0" -Auth $auth).Digest | Should -Be $src
    }

    It 'a missing tag is a non-terminating ManifestNotFound error; the other references still come out' {
        $ms = Get-RegistryManifest "$A/demo/alpine:9.99", "$A/demo/alpine:3.19" -ErrorVariable ev -ErrorAction SilentlyContinue
        $ms.Reference | Should -Be "$A/demo/alpine:3.19"
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -Be 'ManifestNotFound,OciSync.PowerShell.Commands.GetRegistryManifestCommand'
        $ev[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $ev[0].TargetObject | Should -Be "$A/demo/alpine:9.99"
    }

    It 'a token registry with a wrong password is a RegistryUnauthorized error' {
        $bad = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'bad.yaml') -TokenPassword 'wrong'
        $null = Get-RegistryManifest "$T/m/app:1.0" -Auth $bad -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -Be 'RegistryUnauthorized,OciSync.PowerShell.Commands.GetRegistryManifestCommand'
    }

    It 'an unreachable registry is a RegistryUnreachable error' {
        $port = Get-ClosedLoopbackPort
        $null = Get-RegistryManifest "127.0.0.1:$port/x/y:1" -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'RegistryUnreachable,*'
    }

    It 'an unusable -Auth file is a terminating error naming the file' {
        $missing = Join-Path $TestDrive 'no-such-auth.yaml'
        $err = { Get-RegistryManifest "$A/demo/alpine:3.19" -Auth $missing } | Should -Throw -PassThru
        $err.FullyQualifiedErrorId | Should -Be 'ConfigFileNotFound,OciSync.PowerShell.Commands.GetRegistryManifestCommand'
        $err.Exception.Message | Should -BeLike "*no-such-auth.yaml*"
    }

    It 'formats as a table' {
        $text = Get-RegistryManifest "$A/demo/app:1.0" | Format-Table | Out-String
        $text | Should -Match 'Digest'
        $text | Should -Not -Match '^\s*Reference\s*:'   # not the default list
    }
}
