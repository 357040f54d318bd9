BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $B = $bed.Basic.host; $T = $bed.Token.host
    $auth = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'auth.yaml')
    $cmd = 'OciSync.PowerShell.Commands.InvokeImageSyncCommand'

    function Get-Digest([string] $Reference) { (Get-RegistryManifest $Reference -Auth $auth -ErrorAction Stop).Digest }
    function Test-Manifest([string] $Reference) {
        $null = Get-RegistryManifest $Reference -Auth $auth -ErrorVariable e -ErrorAction SilentlyContinue
        $e.Count -eq 0
    }
    # Output and, from -InformationVariable, the summary the host was shown.
    function Split-Result($Output, $Information) {
        [pscustomobject]@{
            Manifests = @($Output | Where-Object { $_ -is [OciSync.Core.Sync.ManifestResult] })
            TopLevel  = @($Output | Where-Object { $_ -is [OciSync.Core.Sync.ImageResult] })
            Layers    = @($Output | Where-Object { $_ -is [OciSync.Core.Sync.LayerResult] })
            Summary   = @(@($Output) + @($Information | Where-Object { $_ } | ForEach-Object MessageData) | Where-Object { $_ -is [OciSync.Core.Sync.SyncSummary] })
        }
    }
}
AfterAll { Stop-OciTestBed $bed }

Describe 'Invoke-ImageSync' {
    Context 'copying the demo images anonymous -> Basic and anonymous -> token' {
        BeforeAll {
            $images = Join-Path $TestDrive 'images.yaml'
            @"
${A}/demo/alpine: ${B}/mirror/alpine
${A}/demo/busybox:1.36: ${T}/mirror/busybox
${A}/demo/app:1.0:
  - ${B}/mirror/app
  - ${T}/apps/app:stable
${A}/demo/legacy:1.0: ${T}/mirror/legacy
"@ | Set-Content $images
            $first = Split-Result (Invoke-ImageSync -Images $images -Auth $auth -Detailed -ErrorVariable firstErrors -InformationVariable firstInfo) $firstInfo
            $second = Split-Result (Invoke-ImageSync -Images $images -Auth $auth -Detailed -ErrorVariable secondErrors -InformationVariable secondInfo) $secondInfo
        }

        It 'the first run syncs every image without errors' {
            $firstErrors | Should -HaveCount 0
            $first.Summary | Should -HaveCount 1
            $first.Summary[0].Images | Should -Be 6
            $first.Summary[0].Synced | Should -Be 6
            $first.Summary[0].Failed | Should -Be 0
            $first.Summary[0].Succeeded | Should -BeTrue
            $first.Summary[0].BlobsCopied | Should -BeGreaterThan 0
            $first.TopLevel | ForEach-Object { "$($_.Action)" | Should -Be 'Synced' }
            $first.Layers | Should -Not -BeNullOrEmpty
            $first.Layers | ForEach-Object { "$($_.Action)" | Should -BeIn @('Copied', 'Mounted', 'Present') }
        }

        It 'by default writes one ImageResult per image and shows the summary on the host only' {
            $out = @(Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/$(New-TestRepositoryName 'default')/alpine" -Auth $auth -InformationVariable info)
            $out | Should -HaveCount 1
            $out[0] | Should -BeOfType ([OciSync.Core.Sync.ImageResult])
            $out[0].Layers | Should -Not -BeNullOrEmpty -Because 'the layers hang off the image result'
            $summary = @($info | Where-Object Tags -Contains 'OciSync.Summary')
            $summary | Should -HaveCount 1
            $summary[0].Tags | Should -Contain 'PSHOST'
            "$($summary[0].MessageData)" | Should -Match '^1 image: 1 synced, 0 unchanged, 0 filtered, 0 failed; \d+\.\d KiB sent in \d+\.\d s$'
        }

        It '-Summary writes only the summary object' {
            $out = @(Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/mirror/alpine" -Auth $auth -Summary -InformationVariable info)
            $out | Should -HaveCount 1
            $out[0] | Should -BeOfType ([OciSync.Core.Sync.SyncSummary])
            $out[0].Unchanged | Should -Be 1
            $out[0].Passes | Should -Be 1
            $out[0].EndTime | Should -BeGreaterThan $out[0].StartTime
            @($info | Where-Object Tags -Contains 'OciSync.Summary') | Should -HaveCount 0
        }

        It '-Detailed and -Summary together are a terminating ConflictingOutputSwitches error' {
            $err = { Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/mirror/alpine" -Auth $auth -Summary -Detailed } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -Be "ConflictingOutputSwitches,$cmd"
        }

        It 'emits only its declared [OutputType]' {
            $declared = (Get-Command Invoke-ImageSync).OutputType.Type
            @($first.Manifests) + $first.TopLevel + $first.Layers | ForEach-Object { $declared | Should -Contain $_.GetType() }
            $declared | Should -Contain ([OciSync.Core.Sync.SyncSummary])
        }

        It 'an image result carries its times, bytes, platforms and children' {
            $app = $first.TopLevel | Where-Object { "$($_.Destination)" -eq "$B/mirror/app:1.0" }
            $app.Kind | Should -Be 'Image'
            $app.Phase | Should -Be 'Copying'
            $app.Pass | Should -Be 1
            $app.StartTime.Kind | Should -Be 'Utc'
            $app.EndTime | Should -BeGreaterThan $app.StartTime
            $app.Seconds | Should -BeGreaterThan 0
            @($app.Platforms).Count | Should -BeGreaterThan 1
            @($app.Manifests).Count | Should -BeGreaterOrEqual @($app.Platforms).Count
            @($app.Manifests | ForEach-Object Action) | Should -Not -Contain 'Failed'
            $app.BytesCopied | Should -BeGreaterThan 0
            ($first.Summary[0].BytesCopied) | Should -Be ((@($first.TopLevel) | Measure-Object BytesCopied -Sum).Sum) -Because 'each blob sent counts for one image only'
            ($first.Summary[0].BytesCopied) | Should -Be ((@($first.Layers) | Where-Object Action -eq 'Copied' | Measure-Object Size -Sum).Sum)
        }

        It 'ConvertTo-Json and Export-Csv show action names, not numbers' {
            $json = $first.TopLevel[0] | Select-Object Action, Kind, Phase, StartTime | ConvertTo-Json
            $json | Should -Match '"Action":\s*"Synced"'
            $json | Should -Match '"Kind":\s*"Image"'
            ($first.Layers[0] | ConvertTo-Json -Depth 2) | Should -Match '"Action":\s*"(Copied|Mounted|Present)"'
            ($first.TopLevel | ConvertTo-Csv | Select-Object -Skip 1 -First 1) | Should -Match '"Synced"'
        }

        It 'the destination <Destination> has the digest of <Source>' -ForEach @(
            @{ Source = 'demo/alpine:3.19'; Destination = 'B/mirror/alpine:3.19' }
            @{ Source = 'demo/alpine:latest'; Destination = 'B/mirror/alpine:latest' }
            @{ Source = 'demo/busybox:1.36'; Destination = 'T/mirror/busybox:1.36' }
            @{ Source = 'demo/app:1.0'; Destination = 'B/mirror/app:1.0' }
            @{ Source = 'demo/app:1.0'; Destination = 'T/apps/app:stable' }
            @{ Source = 'demo/legacy:1.0'; Destination = 'T/mirror/legacy:1.0' }
        ) {
            $dst = $Destination -replace '^B/', "$B/" -replace '^T/', "$T/"
            $src = Get-Digest "$A/$Source"
            Get-Digest $dst | Should -Be $src
            ($first.TopLevel | Where-Object { "$($_.Destination)" -eq $dst }).Digest | Should -Be $src
        }

        It 'the second run reports only Unchanged and copies no blob' {
            $secondErrors | Should -HaveCount 0
            $second.TopLevel | Should -HaveCount 6
            $second.TopLevel | ForEach-Object { "$($_.Action)" | Should -Be 'Unchanged' }
            $second.Manifests | ForEach-Object { "$($_.Action)" | Should -Be 'Unchanged' }
            $second.Layers | Should -HaveCount 0
            $second.Summary[0].Unchanged | Should -Be 6
            $second.Summary[0].Synced | Should -Be 0
            $second.Summary[0].BlobsCopied | Should -Be 0
            $second.Summary[0].BytesCopied | Should -Be 0
        }

        It '-Force pushes again although nothing changed' {
            $r = Split-Result (Invoke-ImageSync -Source "$A/demo/busybox:1.36" -Destination "$T/mirror/busybox" -Auth $auth -Force -Summary)
            $r.Summary[0].Synced | Should -Be 1
            Get-Digest "$T/mirror/busybox:1.36" | Should -Be (Get-Digest "$A/demo/busybox:1.36")
        }
    }

    Context 'pipeline input' {
        It 'Import-SyncRule f | Invoke-ImageSync -Auth a' {
            $f = Join-Path $TestDrive 'pipe.yaml'
            "${A}/demo/alpine:3.19: ${B}/pipe/alpine`n${A}/demo/busybox:1.36: ${T}/pipe/busybox" | Set-Content $f
            $r = Split-Result (Import-SyncRule $f | Invoke-ImageSync -Auth $auth -Summary -ErrorAction Stop)
            $r.Summary[0].Synced | Should -Be 2
            Get-Digest "$B/pipe/alpine:3.19" | Should -Be (Get-Digest "$A/demo/alpine:3.19")
            Get-Digest "$T/pipe/busybox:1.36" | Should -Be (Get-Digest "$A/demo/busybox:1.36")
        }

        It 'New-SyncRule from objects with Source and Destination | Invoke-ImageSync with RegistryCredential objects' {
            $creds = Import-RegistryCredential $auth
            $r = Split-Result (@(
                    [pscustomobject]@{ Source = "$A/demo/legacy:1.0"; Destination = "$B/objs/legacy" }
                    [pscustomobject]@{ Source = "$A/demo/alpine:/^3/"; Destination = "$T/objs/alpine" }
                ) | New-SyncRule | Invoke-ImageSync -Credential $creds -ErrorAction Stop)
            @($r.TopLevel.Destination | ForEach-Object ToString | Sort-Object) | Should -Be (@("$B/objs/legacy:1.0", "$T/objs/alpine:3.19") | Sort-Object)
            Test-Manifest "$T/objs/alpine:latest" | Should -BeFalse
        }

        It '-Source/-Destination with -DestinationCredential (a PSCredential)' {
            $cred = [pscredential]::new($bed.Basic.username, (ConvertTo-SecureString $bed.Basic.password -AsPlainText -Force))
            $r = Split-Result (Invoke-ImageSync -Source "$A/demo/busybox:1.36" -Destination "$B/cred/busybox:x1" -DestinationCredential $cred -ErrorAction Stop)
            "$($r.TopLevel[0].Action)" | Should -Be 'Synced'
            Get-Digest "$B/cred/busybox:x1" | Should -Be (Get-Digest "$A/demo/busybox:1.36")
        }
    }

    Context '-WhatIf and -Confirm' {
        It 'supports ShouldProcess' {
            $c = Get-Command Invoke-ImageSync
            $c.Parameters.Keys | Should -Contain 'WhatIf'
            $c.Parameters.Keys | Should -Contain 'Confirm'
        }

        It '-WhatIf writes nothing: the destination tag is absent afterwards' {
            $dst = "$B/$(New-TestRepositoryName 'whatif')"
            $out = Invoke-ImageSync -Source "$A/demo/app:1.0" -Destination $dst -Auth $auth -WhatIf -ErrorAction Stop
            @($out | Where-Object { $_ -is [OciSync.Core.Sync.LayerResult] }) | Should -HaveCount 0
            @($out | Where-Object { $_ -is [OciSync.Core.Sync.ManifestResult] -and "$($_.Action)" -eq 'Synced' }) | Should -HaveCount 0
            $null = Get-RegistryManifest "${dst}:1.0" -Auth $auth -ErrorVariable ev -ErrorAction SilentlyContinue
            $ev[0].FullyQualifiedErrorId | Should -Match '^(ManifestNotFound|RepositoryNotFound),'
        }

        It '$WhatIfPreference = $true writes nothing, files included; -WhatIf:$false copies and writes them' {
            $dst = "$B/$(New-TestRepositoryName 'whatifpref')"
            $files = Join-Path $TestDrive 'whatifpref-ok.yaml'
            $WhatIfPreference = $true
            try { $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination $dst -Auth $auth -SuccessImagesPath $files -ErrorAction Stop }
            finally { $WhatIfPreference = $false }
            $files | Should -Not -Exist
            Test-Manifest "${dst}:3.19" | Should -BeFalse
            $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination $dst -Auth $auth -SuccessImagesPath $files -WhatIf:$false -ErrorAction Stop
            $files | Should -Exist
            Test-Manifest "${dst}:3.19" | Should -BeTrue
        }

        It '-Confirm:$false copies' {
            $dst = "$B/$(New-TestRepositoryName 'confirm')"
            $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination $dst -Auth $auth -Confirm:$false -ErrorAction Stop
            Get-Digest "${dst}:3.19" | Should -Be (Get-Digest "$A/demo/alpine:3.19")
        }
    }

    Context 'platform filters' {
        It '-Arch arm64 on demo/app gives an index with only arm64' {
            $dst = "$B/$(New-TestRepositoryName 'arch'):1.0"
            $r = Split-Result (Invoke-ImageSync -Source "$A/demo/app:1.0" -Destination $dst -Auth $auth -Arch arm64 -Summary -ErrorAction Stop)
            $r.Summary[0].Failed | Should -Be 0
            $m = Get-RegistryManifest $dst -Auth $auth
            $m.IsIndex | Should -BeTrue
            @($m.Platforms) | Should -Be @('linux/arm64/v8')
            $m.Digest | Should -Not -Be (Get-Digest "$A/demo/app:1.0")   # a filter that removed entries makes a new index
            $arm = (Get-RegistryManifest "$A/demo/app:1.0").Manifests | Where-Object Platform -EQ 'linux/arm64/v8'
            $m.Manifests[0].Digest | Should -Be $arm.Digest
        }

        It '-Arch arm on demo/legacy keeps arm/v7 only' {
            $dst = "$T/$(New-TestRepositoryName 'arch'):1.0"
            $null = Invoke-ImageSync -Source "$A/demo/legacy:1.0" -Destination $dst -Auth $auth -Arch arm -ErrorAction Stop
            @((Get-RegistryManifest $dst -Auth $auth).Platforms) | Should -Be @('linux/arm/v7')
        }

        It 'a filter matching every entry keeps the source digest' {
            $dst = "$B/$(New-TestRepositoryName 'os'):1.0"
            $null = Invoke-ImageSync -Source "$A/demo/legacy:1.0" -Destination $dst -Auth $auth -OS linux -ErrorAction Stop
            Get-Digest $dst | Should -Be (Get-Digest "$A/demo/legacy:1.0")
        }
    }

    Context 'failures' {
        It 'an unreachable registry is a non-terminating RegistryUnreachable error for that image; the others sync; $? is false' {
            $port = Get-ClosedLoopbackPort
            $repo = New-TestRepositoryName 'unreach'
            $images = Join-Path $TestDrive 'unreachable.yaml'
            @"
127.0.0.1:${port}/demo/alpine:3.19: ${B}/${repo}/lost
${A}/demo/alpine:3.19: ${B}/${repo}/alpine
${A}/demo/busybox:1.36: ${T}/${repo}/busybox
"@ | Set-Content $images
            $success = Join-Path $TestDrive 'success.yaml'
            $failed = Join-Path $TestDrive 'failed.yaml'
            $out = Invoke-ImageSync -Images $images -Auth $auth -Retries 0 -SuccessImagesPath $success -FailedImagesPath $failed -ErrorVariable ev -ErrorAction SilentlyContinue -InformationVariable info
            $ok = $?
            $ok | Should -BeFalse
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -BeLike "RegistryUnreachable,$cmd"
            $ev[0].CategoryInfo.Category | Should -Be 'ConnectionError'
            $ev[0].TargetObject | Should -BeOfType ([OciSync.Core.Sync.ImageResult])
            $ev[0].TargetObject.Source | Should -Be "127.0.0.1:${port}/demo/alpine:3.19"
            $ev[0].TargetObject.Action | Should -Be 'Failed'
            $ev[0].TargetObject.Phase | Should -Be 'Planning'
            $ev[0].Exception.Message | Should -BeLike "127.0.0.1:${port}/demo/alpine:3.19 -> $B/$repo/lost:3.19: *127.0.0.1:${port}*"
            $r = Split-Result $out $info
            @($r.TopLevel | Where-Object Action -eq 'Failed') | Should -HaveCount 1
            $r.Summary[0].Failed | Should -Be 1
            $r.Summary[0].Synced | Should -Be 2
            $r.Summary[0].Succeeded | Should -BeFalse
            Get-Digest "$B/$repo/alpine:3.19" | Should -Be (Get-Digest "$A/demo/alpine:3.19")
            Get-Digest "$T/$repo/busybox:1.36" | Should -Be (Get-Digest "$A/demo/busybox:1.36")

            # -SuccessImagesPath / -FailedImagesPath are images files that feed back in with -Images.
            @((Import-SyncRule $success).Source | Sort-Object) | Should -Be @("$A/demo/alpine:3.19", "$A/demo/busybox:1.36")
            @((Import-SyncRule $failed).Source) | Should -Be @("127.0.0.1:${port}/demo/alpine:3.19")
            $again = Split-Result (Invoke-ImageSync -Images $success -Auth $auth -Summary -ErrorAction Stop)
            $again.Summary[0].Unchanged | Should -Be 2
            $again.Summary[0].BlobsCopied | Should -Be 0
            $null = Invoke-ImageSync -Images $failed -Auth $auth -Retries 0 -ErrorVariable ev2 -ErrorAction SilentlyContinue
            $ev2[0].FullyQualifiedErrorId | Should -BeLike 'RegistryUnreachable,*'
        }

        It 'a wrong password is a RegistryUnauthorized error (PermissionDenied)' {
            $bad = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'wrong.yaml') -BasicPassword 'not-the-password'
            $out = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/wrongpw/alpine" -Auth $bad -Retries 0 -Summary -ErrorVariable ev -ErrorAction SilentlyContinue
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -Be "RegistryUnauthorized,$cmd"
            $ev[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
            (Split-Result $out).Summary[0].Failed | Should -Be 1
        }

        It 'a wrong token-registry password is a RegistryUnauthorized error' {
            $bad = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'wrong-token.yaml') -TokenPassword 'not-the-password'
            $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$T/wrongpw/alpine" -Auth $bad -Retries 0 -ErrorVariable ev -ErrorAction SilentlyContinue
            $ev[0].FullyQualifiedErrorId | Should -Be "RegistryUnauthorized,$cmd"
        }

        It 'a missing source tag is ManifestNotFound' {
            $null = Invoke-ImageSync -Source "$A/demo/alpine:0.0.0" -Destination "$B/nf/alpine" -Auth $auth -Retries 0 -ErrorVariable ev -ErrorAction SilentlyContinue
            $ev[0].FullyQualifiedErrorId | Should -Be "ManifestNotFound,$cmd"
            $ev[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        }

        It 'a malformed images file is a terminating ConfigSyntaxError naming file, line and column' {
            $images = Join-Path $TestDrive 'malformed.yaml'
            "${A}/demo/alpine:3.19: ${B}/ok/alpine`n${A}/demo/busybox:1.36: [${B}/unclosed`n${A}/demo/app:1.0: ${B}/ok/app" | Set-Content $images
            $err = { Invoke-ImageSync -Images $images -Auth $auth } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -Be "ConfigSyntaxError,$cmd"
            $err.CategoryInfo.Category | Should -Be 'InvalidData'
            $m = [regex]::Match($err.Exception.Message, [regex]::Escape($images) + ':(\d+):(\d+)')
            $m.Success | Should -BeTrue -Because "the message '$($err.Exception.Message)' names file:line:column"
            [int]$m.Groups[1].Value | Should -BeIn @(2, 3)
            [int]$m.Groups[2].Value | Should -BeGreaterThan 0
            Test-Manifest "$B/ok/alpine:3.19" | Should -BeFalse
        }

        It 'a missing images file is a terminating ConfigFileNotFound error' {
            $err = { Invoke-ImageSync -Images (Join-Path $TestDrive 'none.yaml') -Auth $auth } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -Be "ConfigFileNotFound,$cmd"
        }

        It 'a bad rule in a file of several is reported (<ErrorId>) while the others run' -ForEach @(
            @{ ErrorId = 'RuleTagCountMismatch'; Bad = 'SRC/demo/busybox:1.36,latest: DST/bad/busybox:only' }
            @{ ErrorId = 'RuleMultipleRegex'; Bad = 'SRC/demo/busybox:/a/,/b/: DST/bad/busybox' }
            @{ ErrorId = 'RuleDestinationTagsNeedSourceTags'; Bad = 'SRC/demo/busybox: DST/bad/busybox:x' }
        ) {
            $repo = New-TestRepositoryName 'rules'
            $images = Join-Path $TestDrive "$repo.yaml"
            @(
                "${A}/demo/alpine:3.19: ${B}/${repo}/alpine"
                $Bad.Replace('SRC', $A).Replace('DST', $B)
                "${A}/demo/legacy:1.0: ${B}/${repo}/legacy"
            ) | Set-Content $images
            $out = Invoke-ImageSync -Images $images -Auth $auth -Summary -ErrorVariable ev -ErrorAction SilentlyContinue
            $ok = $?
            $ok | Should -BeFalse
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -Be "$ErrorId,$cmd"
            $ev[0].Exception.Message | Should -Match ([regex]::Escape($images) + ':2:\d+')
            (Split-Result $out).Summary[0].Synced | Should -Be 2
            Test-Manifest "$B/$repo/alpine:3.19" | Should -BeTrue
            Test-Manifest "$B/$repo/legacy:1.0" | Should -BeTrue
        }

        It 'an object that is not a credential in -Credential is a terminating InvalidCredentialArgument error' {
            $err = { Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/x/y" -Credential 'just a string' } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -Be "InvalidCredentialArgument,$cmd"
        }

        It 'a bad -Source rule is a terminating error with its rule error id' {
            $err = { Invoke-ImageSync -Source "$A/demo/alpine:1,2" -Destination "$B/x/y:3" -Auth $auth } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -Be "RuleTagCountMismatch,$cmd"
        }
    }

    Context 'runbooks and plans' {
        It 'under $ErrorActionPreference = Stop, 1 failing image of 10 stops nothing: 9 synced, the files and the log written, then one terminating error' {
            $ns = New-TestRepositoryName 'runbook'
            $images = Join-Path $TestDrive 'runbook.yaml'
            @"
${A}/demo/alpine:3.19: [${B}/$ns/one, ${T}/$ns/two]
${A}/demo/alpine:latest: [${B}/$ns/one, ${T}/$ns/two]
${A}/demo/alpine:0.0.0: ${B}/$ns/missing
${A}/demo/busybox:1.36: [${B}/$ns/one, ${T}/$ns/two]
${A}/demo/app:1.0: [${B}/$ns/one, ${T}/$ns/two]
${A}/demo/legacy:1.0: ${B}/$ns/one
"@ | Set-Content $images
            $success = Join-Path $TestDrive 'runbook-ok.yaml'; $failed = Join-Path $TestDrive 'runbook-failed.yaml'; $log = Join-Path $TestDrive 'runbook.log'
            $global:Error.Clear()
            $caught = $null
            $ErrorActionPreference = 'Stop'
            try { $null = Invoke-ImageSync -Images $images -Auth $auth -Retries 0 -SuccessImagesPath $success -FailedImagesPath $failed -LogPath $log }
            catch { $caught = $_ }
            finally { $ErrorActionPreference = 'Continue' }

            $caught | Should -Not -BeNullOrEmpty
            $caught.FullyQualifiedErrorId | Should -Be "ImagesFailed,$cmd"
            $caught.CategoryInfo.Category | Should -Be 'ObjectNotFound'
            $caught.Exception.Message | Should -BeLike "1 of 10 image(s) failed; the first: $A/demo/alpine:0.0.0 -> $B/$ns/missing:0.0.0: *"
            $caught.TargetObject | Should -BeOfType ([OciSync.Core.Sync.SyncSummary])
            $caught.TargetObject.Synced | Should -Be 9
            $caught.TargetObject.Failed | Should -Be 1
            @($global:Error | Where-Object { "$($_.FullyQualifiedErrorId)" -like "*,$cmd" }) | Should -HaveCount 1 -Because 'one error, the terminating one'

            foreach ($dst in "$B/$ns/one:3.19", "$T/$ns/two:latest", "$B/$ns/one:1.36", "$T/$ns/two:1.0", "$B/$ns/one:1.0") { Test-Manifest $dst | Should -BeTrue }
            @((Import-SyncRule $success).Source | Sort-Object) | Should -Be (@('alpine:3.19', 'alpine:latest', 'app:1.0', 'busybox:1.36', 'legacy:1.0') | ForEach-Object { "$A/demo/$_" })
            (Import-SyncRule $failed).Source | Should -Be "$A/demo/alpine:0.0.0"
            $lines = @(Get-Content $log)
            @($lines | Where-Object { $_ -match '^\S+Z INFORMATION +Synced ' }) | Should -HaveCount 9
            @($lines | Where-Object { $_ -match '^\S+Z ERROR +Failed .*\[ManifestNotFound\] planning: ' }) | Should -HaveCount 1
            @($lines | Where-Object { $_ -match 'Summary: 10 images: 9 synced, 0 unchanged, 0 filtered, 1 failed' }) | Should -HaveCount 1
            # The terminating error skipped EndProcessing; the log file is closed all the same (no lock left).
            [IO.File]::Open($log, 'Open', 'ReadWrite', 'None').Dispose()
        }

        It 'Get-SyncPlan | Where-Object { -not $_.UpToDate } | Invoke-ImageSync syncs exactly those copies' {
            $ns = New-TestRepositoryName 'plan'
            $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/$ns/alpine" -Auth $auth -ErrorAction Stop
            $plan = @(Get-SyncPlan -Source "$A/demo/alpine" -Destination "$B/$ns/alpine" -Auth $auth)
            $plan | Should -HaveCount 2
            @($plan | Where-Object UpToDate) | Should -HaveCount 1
            $out = @($plan | Where-Object { -not $_.UpToDate } | Invoke-ImageSync -Auth $auth -ErrorAction Stop)
            $out | Should -HaveCount 1
            $out[0].Source | Should -Be "$A/demo/alpine:latest"
            $out[0].Action | Should -Be 'Synced'
            Get-Digest "$B/$ns/alpine:latest" | Should -Be (Get-Digest "$A/demo/alpine:latest")
        }
    }

    Context 'OCI layout directories (air gap)' {
        It 'registry -> layout -> registry keeps the digest; a relative oci: path is resolved against the PowerShell location; a re-run is Unchanged' {
            $dir = Join-Path $TestDrive 'carry'
            $ns = New-TestRepositoryName 'airgap'
            Push-Location $TestDrive
            try { $out = @(Invoke-ImageSync -Source "$A/demo/app:1.0" -Destination 'oci:carry' -Auth $auth -SuccessImagesPath ./moved.yaml -ErrorAction Stop) }
            finally { Pop-Location }
            $out | Should -HaveCount 1
            $out[0].Action | Should -Be 'Synced'
            $out[0].Destination | Should -Be "oci:${dir}:1.0"
            Join-Path $dir 'index.json' | Should -Exist
            Join-Path $dir 'oci-layout' | Should -Exist
            @((Import-SyncRule (Join-Path $TestDrive 'moved.yaml')).Destinations) | Should -Be @("oci:${dir}:1.0")

            $back = Invoke-ImageSync -Source "oci:$dir" -Destination "$B/$ns/app" -Auth $auth -Summary -ErrorAction Stop
            $back.Synced | Should -Be 1
            Get-Digest "$B/$ns/app:1.0" | Should -Be (Get-Digest "$A/demo/app:1.0")
            (Invoke-ImageSync -Source "$A/demo/app:1.0" -Destination "oci:$dir" -Auth $auth -Summary -ErrorAction Stop).Unchanged | Should -Be 1
            @(Get-SyncPlan -Source "oci:$dir" -Destination "$B/$ns/app" -Auth $auth | Where-Object UpToDate) | Should -HaveCount 1
        }

        It 'an archive that cannot be written at the end of the run is a terminating LayoutInvalid error, logged, with no success file' {
            $dir = Join-Path $TestDrive 'archive-is-a-directory.tar'
            $null = New-Item -ItemType Directory $dir
            $log = Join-Path $TestDrive 'archive-fail.log'; $ok = Join-Path $TestDrive 'archive-fail-ok.yaml'
            $err = { Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "oci-archive:$dir" -Auth $auth -LogPath $log -SuccessImagesPath $ok } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -Be "LayoutInvalid,$cmd"
            $err.Exception.Message | Should -BeLike "*could not be written*kept in $dir.staging*"
            $ok | Should -Not -Exist
            (Get-Content $log -Raw) | Should -Match 'ERROR +The run failed: \[LayoutInvalid\]'
            Join-Path "$dir.staging" 'index.json' | Should -Exist -Because 'what was copied waits for the next run'
        }

        It 'a layout that is not one is a LayoutInvalid error for that image, the others go on' {
            $bad = Join-Path $TestDrive 'not-a-layout'
            $null = New-Item -ItemType Directory $bad
            Set-Content (Join-Path $bad 'index.json') '{"schemaVersion":2,"manifests":[]}'
            $images = Join-Path $TestDrive 'layouts.yaml'
            $ns = New-TestRepositoryName 'badlayout'
            "oci:${bad}:v1: ${B}/$ns/bad`n${A}/demo/alpine:3.19: ${B}/$ns/alpine" | Set-Content $images
            $summary = Invoke-ImageSync -Images $images -Auth $auth -Summary -Retries 0 -ErrorVariable ev -ErrorAction SilentlyContinue
            $summary.Synced | Should -Be 1
            $summary.Failed | Should -Be 1
            $ev | Should -HaveCount 1
            $ev[0].FullyQualifiedErrorId | Should -Be "LayoutInvalid,$cmd"
            $ev[0].Exception.Message | Should -BeLike '*is not an OCI image layout*'
        }
    }

    Context 'at scale' {
        BeforeAll {
            # 300 tags of one image in one repository: mounted once, then its manifest PUT under each tag.
            $script:many = "$A/$(New-TestRepositoryName 'many')/app"
            $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "${many}:t000" -ErrorAction Stop
            $repo = $many.Substring($A.Length + 1)
            $accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
            $get = Invoke-WebRequest "http://$A/v2/$repo/manifests/t000" -Headers @{ Accept = $accept }
            $type = "$($get.Headers['Content-Type'])"
            foreach ($n in 1..299) {
                $null = Invoke-WebRequest -Method Put "http://$A/v2/$repo/manifests/t$('{0:000}' -f $n)" -Body $get.Content -ContentType $type
            }
        }

        It 'a cold run of 300 tags renders in at most ~330 lines at 120 columns, one row per image' {
            $ns = New-TestRepositoryName 'cold300'
            $out = @(Invoke-ImageSync -Source $many -Destination "$B/$ns/app" -Auth $auth -ErrorAction Stop)
            $out | Should -HaveCount 300
            @($out | Where-Object Action -eq 'Synced') | Should -HaveCount 300
            $lines = @($out | Out-String -Width 120 -Stream)
            $lines.Count | Should -BeLessOrEqual 330
            $lines | Where-Object { $_.Length -gt 120 } | Should -BeNullOrEmpty
            $lines | Where-Object { $_ -match '^\w+\s+:\s' } | Should -BeNullOrEmpty -Because 'a "Name : value" line means a list view'
            Write-Host "300 cold tags: $($lines.Count) lines at 120 columns"
        }
    }

    Context 'image-syncer defaults and files' {
        It 'with no -Images reads images.json and auth.json from the current directory' {
            $dir = Join-Path $TestDrive 'defaults'
            $null = New-Item -ItemType Directory $dir
            $repo = New-TestRepositoryName 'defaults'
            @{ "$A/demo/busybox:1.36" = "$B/$repo/busybox"; "$A/demo/alpine:latest" = @("$T/$repo/alpine", "$B/$repo/alpine") } | ConvertTo-Json | Set-Content (Join-Path $dir 'images.json')
            $null = New-OciAuthFile -TestBed $bed -Path (Join-Path $dir 'auth.json')
            Push-Location $dir
            try { $r = Split-Result (Invoke-ImageSync -Summary -ErrorAction Stop) }
            finally { Pop-Location }
            $r.Summary[0].Synced | Should -Be 3
            Get-Digest "$B/$repo/busybox:1.36" | Should -Be (Get-Digest "$A/demo/busybox:1.36")
            Get-Digest "$T/$repo/alpine:latest" | Should -Be (Get-Digest "$A/demo/alpine:latest")
        }

        It '-Config reads a legacy { auth, images } file' {
            $repo = New-TestRepositoryName 'legacy'
            $config = Join-Path $TestDrive 'config.json'
            @{
                auth   = @{ $B = @{ username = $bed.Basic.username; password = $bed.Basic.password } }
                images = @{ "$A/demo/alpine:3.19" = "$B/$repo/alpine" }
            } | ConvertTo-Json -Depth 4 | Set-Content $config
            $r = Split-Result (Invoke-ImageSync -Config $config -Summary -ErrorAction Stop)
            $r.Summary[0].Synced | Should -Be 1
            Get-Digest "$B/$repo/alpine:3.19" | Should -Be (Get-Digest "$A/demo/alpine:3.19")
        }

        It 'an empty destination uses -DefaultRegistry and -DefaultNamespace' {
            $ns = New-TestRepositoryName 'ns'
            $images = Join-Path $TestDrive 'empty-dest.yaml'
            "${A}/demo/busybox:1.36: `"`"" | Set-Content $images
            $null = Invoke-ImageSync -Images $images -Auth $auth -DefaultRegistry $B -DefaultNamespace $ns -ErrorAction Stop
            Get-Digest "$B/$ns/busybox:1.36" | Should -Be (Get-Digest "$A/demo/busybox:1.36")
        }

        It '-LogPath writes timestamped lines' {
            $log = Join-Path $TestDrive 'logs/sync.log'
            $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/mirror/alpine" -Auth $auth -LogPath $log -ErrorAction Stop
            $log | Should -Exist
            (Get-Content $log -Raw) | Should -Match '(?m)^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z '
        }

        It '-LogPath timestamps are ISO 8601 UTC whatever the culture (<Culture>)' -ForEach @(@{ Culture = 'fi-FI' }, @{ Culture = 'ar-SA' }, @{ Culture = 'en-US' }) {
            $log = Join-Path $TestDrive "logs/culture-$Culture.log"
            $saved = [cultureinfo]::CurrentCulture, [cultureinfo]::DefaultThreadCurrentCulture
            try {
                [cultureinfo]::CurrentCulture = [cultureinfo]::DefaultThreadCurrentCulture = [cultureinfo]::new($Culture)
                $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/mirror/alpine" -Auth $auth -LogPath $log -ErrorAction Stop
            }
            finally { [cultureinfo]::CurrentCulture = $saved[0]; [cultureinfo]::DefaultThreadCurrentCulture = $saved[1] }
            $lines = @(Get-Content $log)
            $lines | Should -Not -BeNullOrEmpty
            foreach ($line in $lines) {
                $line | Should -Match '^20\d{2}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z '
                [datetime]::ParseExact($line.Substring(0, 24), "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", [cultureinfo]::InvariantCulture).Year | Should -Be ([datetime]::UtcNow.Year)
            }
        }

        It 'an unusable -<Parameter> is a terminating InvalidOutputPath error before anything is copied' -ForEach @(
            @{ Parameter = 'LogPath'; Kind = 'directory' }
            @{ Parameter = 'FailedImagesPath'; Kind = 'under-a-file' }
            @{ Parameter = 'SuccessImagesPath'; Kind = 'directory' }
        ) {
            $dir = Join-Path $TestDrive "out-$Parameter"
            New-Item -ItemType Directory $dir -Force | Out-Null
            $file = Join-Path $TestDrive "plain-$Parameter.txt"
            Set-Content $file 'x'
            $path = if ($Kind -eq 'directory') { $dir } else { Join-Path $file 'failed.yaml' }
            $target = "$B/outpath/$($Parameter.ToLowerInvariant()):3.19"
            $splat = @{ $Parameter = $path }
            $err = { Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination $target -Auth $auth @splat } | Should -Throw -PassThru
            $err.FullyQualifiedErrorId | Should -Be "InvalidOutputPath,$cmd"
            $err.Exception.Message | Should -BeLike "*-$Parameter*nothing was synced*"
            Test-Manifest $target | Should -BeFalse
        }

        It 'a checked output path that did not exist is not left behind by the check' {
            $failed = Join-Path $TestDrive 'fresh/failed.yaml'
            $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/mirror/alpine" -Auth $auth -FailedImagesPath $failed -WhatIf
            $failed | Should -Not -Exist
        }

        It 'the seed document''s example files, hosts replaced by the local registries, run through Invoke-ImageSync' {
            # The document's source is quay.io/coreos/kube-rbac-proxy with tags v1.0, v2.0, v1.1 (and one
            # the /a+/ regex matches): build it in the Basic registry ("quay.io") first.
            $null = Invoke-ImageSync -Source "$A/demo/alpine:3.19,latest" -Destination "$B/coreos/kube-rbac-proxy:v1.0,latest" -Auth $auth -ErrorAction Stop
            $null = Invoke-ImageSync -Source "$A/demo/busybox:1.36" -Destination "$B/coreos/kube-rbac-proxy:v2.0" -Auth $auth -ErrorAction Stop
            $null = Invoke-ImageSync -Source "$A/demo/app:1.0" -Destination "$B/coreos/kube-rbac-proxy:v1.1" -Auth $auth -ErrorAction Stop
            $v10 = Get-Digest "$B/coreos/kube-rbac-proxy:v1.0"

            $dir = Join-Path $TestDrive 'seed'
            $null = New-Item -ItemType Directory $dir
            # quay.io -> Basic, registry.ksyunkcr.com -> token, docker.io -> anonymous; the values use the
            # document's ${env} and $env forms, with the test bed's credentials in the environment.
            $env:OCISYNC_SEED_BASIC_USER = $bed.Basic.username; $env:OCISYNC_SEED_BASIC_PASS = $bed.Basic.password
            $env:OCISYNC_SEED_TOKEN_USER = $bed.Token.username; $env:OCISYNC_SEED_TOKEN_PASS = $bed.Token.password
            @"
${B}: #支持 "registry" 和 "registry/namespace"(v1.0.3之后的版本) 的形式
  username: `${OCISYNC_SEED_BASIC_USER}
  password: `$OCISYNC_SEED_BASIC_PASS
  insecure: true # 可选,(v1.0.1 之后支持)registry是否是http服务
${T}:
  username: `${OCISYNC_SEED_TOKEN_USER} # 可选,(v1.3.1 之后支持)value 使用 "`${env}" 或者 "`$env" 形式可以引用环境变量
  password: `${OCISYNC_SEED_TOKEN_PASS}
${A}:
  username: "`${OCISYNC_SEED_UNSET_ENV}"
  password: "`$OCISYNC_SEED_UNSET_ENV"
${B}/coreos:
  username: "`${OCISYNC_SEED_BASIC_USER}"
  password: "`${OCISYNC_SEED_BASIC_PASS}"
  insecure: true
"@ | Set-Content (Join-Path $dir 'auth.yaml') -Encoding utf8
            @"
${B}/coreos/kube-rbac-proxy: ${T}/namespace/repository
${B}/coreos/kube-rbac-proxy:v1.0: ${B}/ruohe/kube-rbac-proxy
${B}/coreos/kube-rbac-proxy:v1.0,v2.0: ${B}/ruohe/kube-rbac-proxy
${B}/coreos/kube-rbac-proxy@${v10}: ${B}/ruohe/kube-rbac-proxy
${B}/coreos/kube-rbac-proxy:v1.1:
- ${B}/ruohe/kube-rbac-proxy1
- ${B}/ruohe/kube-rbac-proxy2
${B}/coreos/kube-rbac-proxy:/a+/: ${B}/ruohe/kube-rbac-proxy
"@ | Set-Content (Join-Path $dir 'images.yaml') -Encoding utf8
            Push-Location $dir
            try {
                # ./image-syncer --auth=./auth.yaml --images=./images.yaml --retries=3 --log=./log
                $out = Invoke-ImageSync -Auth ./auth.yaml -Images ./images.yaml -Retries 3 -Log ./log -Summary -ErrorVariable ev
            }
            finally { Pop-Location; Remove-Item Env:OCISYNC_SEED_* }
            $ev | Should -HaveCount 0
            $r = Split-Result $out
            $r.Summary[0].Failed | Should -Be 0
            Join-Path $dir 'log' | Should -Exist
            @((Get-RegistryTag "$T/namespace/repository" -Auth $auth).Tag | Sort-Object) | Should -Be @('latest', 'v1.0', 'v1.1', 'v2.0')
            @((Get-RegistryTag "$B/ruohe/kube-rbac-proxy" -Auth $auth).Tag | Sort-Object) | Should -Be @('latest', 'v1.0', 'v2.0')
            foreach ($tag in 'v1.0', 'v2.0', 'v1.1', 'latest') {
                Get-Digest "$T/namespace/repository:$tag" | Should -Be (Get-Digest "$B/coreos/kube-rbac-proxy:$tag")
            }
            Get-Digest "$B/ruohe/kube-rbac-proxy@$v10" | Should -Be $v10
            Get-Digest "$B/ruohe/kube-rbac-proxy1:v1.1" | Should -Be (Get-Digest "$B/coreos/kube-rbac-proxy:v1.1")
            Get-Digest "$B/ruohe/kube-rbac-proxy2:v1.1" | Should -Be (Get-Digest "$B/coreos/kube-rbac-proxy:v1.1")
        }
    }

    Context 'progress' {
        It 'reports planning and syncing progress and closes both activities' {
            # Progress cannot be redirected in PowerShell: run the cmdlet in its own PowerShell instance and read its stream.
            $ps = [powershell]::Create()
            try {
                $null = $ps.AddScript({
                        param($module, $source, $destination, $auth)
                        Import-Module $module
                        Invoke-ImageSync -Source $source -Destination $destination -Auth $auth -Proc 1 -Summary
                    }).AddArgument($env:OCISYNC_MODULE).AddArgument("$A/demo/alpine").AddArgument("$B/$(New-TestRepositoryName 'progress')/alpine").AddArgument($auth)
                $out = $ps.Invoke()
                $ps.HadErrors | Should -BeFalse
                ($out | Where-Object { $_ -is [OciSync.Core.Sync.SyncSummary] }).Synced | Should -Be 2
                $records = @($ps.Streams.Progress)
                # The run's bar and, as its child, the phase of the pass.
                $records | Where-Object { $_.Activity -eq 'Pass 1: planning' -and $_.ParentActivityId -eq 1 } | Should -Not -BeNullOrEmpty
                $records | Where-Object { $_.Activity -eq 'Pass 1: copying' -and $_.ParentActivityId -eq 1 } | Should -Not -BeNullOrEmpty
                # Images done show as they finish, not only when the pass ends.
                $records | Where-Object { $_.Activity -eq 'Syncing images' -and $_.StatusDescription -like '1 of 2 images done*' } | Should -Not -BeNullOrEmpty
                $records | Where-Object { $_.RecordType -eq 'Completed' } | Should -HaveCount 2
                # The completion record is the last one of each activity: nothing is left drawn.
                ($records | Where-Object ActivityId -eq 1 | Select-Object -Last 1).RecordType | Should -Be 'Completed'
                ($records | Where-Object ActivityId -eq 2 | Select-Object -Last 1).RecordType | Should -Be 'Completed'
            }
            finally { $ps.Dispose() }
        }
    }

    Context 'formatting' {
        It 'every output type has a table view' {
            $text = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/mirror/alpine" -Auth $auth | Format-Table | Out-String
            $text | Should -Match 'Action'
            $text | Should -Not -Match '(?m)^\s*Source\s*:'
        }

        It 'Get-SyncPlan and Get-RegistryManifest keep their key columns at 120 columns' {
            $plan = @(Get-SyncPlan -Source "$A/demo/alpine" -Destination "$B/mirror/alpine" -Auth $auth | Out-String -Width 120 -Stream)
            @($plan | Where-Object { $_ -match '^UpToDate\s+Shard\s+SourceDigest\s+Destination\s+SelectedBy\s+Source -> Destination' }) | Should -HaveCount 1
            @($plan | Where-Object { $_ -match '^(True|False)\s+[0-9a-f]{12}\s+([0-9a-f]{12}|\(none\))\s+\S+ -> ' }) | Should -HaveCount 2
            $manifest = @(Get-RegistryManifest "$A/demo/app:1.0" | Out-String -Width 120 -Stream)
            $manifest | Where-Object { $_ -match '[0-9a-f]{12}\s+oci\.image\.index\.v1\+json\s+\d+\s+\d*\s+linux/amd64, linux/arm64' } | Should -Not -BeNullOrEmpty
            $plan + $manifest | Where-Object { $_.Length -gt 120 } | Should -BeNullOrEmpty
        }

        It 'with -Detailed, layers, manifests and images render as one table at 120 columns, never as lists' {
            $dst = "$B/$(New-TestRepositoryName 'fmt')/app"
            $lines = @(Invoke-ImageSync -Source "$A/demo/app:1.0" -Destination $dst -Auth $auth -Detailed | Out-String -Width 120 -Stream)
            $lines | Where-Object { $_ -match '^\s*\w+\s+:\s' } | Should -BeNullOrEmpty -Because 'a "Name : value" line means a list view'
            @($lines | Where-Object { $_ -match '^Action\s+Item' }) | Should -HaveCount 1 -Because 'one header: the view never changes'
            $lines | Where-Object { $_.Length -gt 120 } | Should -BeNullOrEmpty
            $lines | Where-Object { $_ -match '^Copied\s+(layer|config)\s' } | Should -Not -BeNullOrEmpty
            $lines | Where-Object { $_ -match '^Synced\s+linux/' } | Should -Not -BeNullOrEmpty
            $lines | Where-Object { $_ -match '^Synced\s+index \(\d\)' } | Should -Not -BeNullOrEmpty
        }
    }
}
