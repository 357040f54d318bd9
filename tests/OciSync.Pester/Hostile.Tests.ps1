BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed -Arguments @('--anonymous', '--basic', '--seed', 'demo')
    $A = $bed.Anonymous.host; $B = $bed.Basic.host

    # The hostile registry scenario (HostileScenario in the test bed), out of process like the real registries.
    $psi = [Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($argument in @($env:OCISYNC_TESTBED, 'hostile')) { $psi.ArgumentList.Add($argument) }   # not $a: PowerShell names are case-insensitive, $A is the registry
    $psi.RedirectStandardInput = $true       # it stops when this pipe closes
    $psi.RedirectStandardOutput = $true
    $psi.UseShellExecute = $false
    $hostileProcess = [Diagnostics.Process]::Start($psi)
    $json = [Text.StringBuilder]::new()
    while (($line = $hostileProcess.StandardOutput.ReadLine()) -ne 'READY') {
        if ($null -eq $line) { throw 'The hostile registry stopped before it was ready.' }
        $null = $json.AppendLine($line)
    }
    $hostile = $json.ToString() | ConvertFrom-Json
    $H = $hostile.host
    $F = $hostile.flakyHost   # hangs up on every request until healed
    $user = $hostile.username
    $canary = $hostile.password
    $forms = [ordered]@{
        'the password'               = $canary
        "the password's unique part" = $canary.Substring(0, $canary.IndexOf('+'))
        'base64(user:password)'      = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("${user}:$canary"))
        'base64(password)'           = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($canary))
        'the URL-encoded password'   = [uri]::EscapeDataString($canary)
    }

    $auth = Join-Path $TestDrive 'auth.yaml'
    @"
${H}:
  username: "$user"
  password: "$canary"
${B}:
  username: "$($bed.Basic.username)"
  password: "$($bed.Basic.password)"
"@ | Set-Content $auth

    function Get-HostileState { Invoke-RestMethod "http://$H/_hostile/state" }

    # Everything a call leaves behind, as text: every stream, $Error, the log, the failed-images file, the results as JSON.
    function Get-Trace([object[]] $Captured, [string[]] $Files) {
        $sb = [System.Text.StringBuilder]::new()
        foreach ($item in $Captured) {
            $null = $sb.AppendLine(($item | Out-String -Width 1000))
            if ($item -is [System.Management.Automation.ErrorRecord]) {
                $null = $sb.AppendLine($item.ToString()).AppendLine($item.Exception.ToString()).AppendLine($item.FullyQualifiedErrorId)
                $null = $sb.AppendLine(($item.TargetObject | ConvertTo-Json -Depth 5 -WarningAction SilentlyContinue))
            }
            elseif ($item -is [System.Management.Automation.InformationalRecord]) { $null = $sb.AppendLine($item.Message) }
            else { $null = $sb.AppendLine(($item | ConvertTo-Json -Depth 5 -WarningAction SilentlyContinue)) }
        }
        foreach ($e in $global:Error) {
            if ($e -is [System.Management.Automation.ErrorRecord]) { $null = $sb.AppendLine($e.ToString()).AppendLine($e.Exception.ToString()) }
            else { $null = $sb.AppendLine("$e") }
        }
        foreach ($f in $Files) { if ($f -and (Test-Path $f)) { $null = $sb.AppendLine((Get-Content $f -Raw)) } }
        $sb.ToString()
    }

    # The labels of the canary spellings found in the text (never the secrets themselves).
    function Find-Canary([string] $Text) { @($forms.Keys | Where-Object { $Text.Contains($forms[$_]) }) }

    function Get-ErrorRecords($Captured) { @($Captured | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }) }
    function Get-TopLevel($Captured) { @($Captured | Where-Object { $_ -is [OciSync.Core.Sync.ImageResult] }) }
}
AfterAll {
    if ($hostileProcess) {
        try { $hostileProcess.StandardInput.Close() } catch { }
        if (-not $hostileProcess.WaitForExit(10000)) { $hostileProcess.Kill($true) }
        $hostileProcess.Dispose()
    }
    Stop-OciTestBed $bed
}

Describe 'A hostile registry through the cmdlets' {
    It 'Invoke-ImageSync never requests listed tags that are not tags, warns about them, and syncs the valid ones' {
        $ns = New-TestRepositoryName 'hosta'
        $log = Join-Path $TestDrive 'a.log'; $failed = Join-Path $TestDrive 'a-failed.yaml'
        $seen = @((Get-HostileState).requests).Count
        $global:Error.Clear()
        $captured = Invoke-ImageSync -Source "$H/a/app" -Destination "$B/$ns/app" -Auth $auth -Retries 0 -FailedImagesPath $failed `
            -Verbose -Debug -LogPath $log -ErrorAction Continue -WarningAction Continue -InformationAction Continue *>&1

        $bad = @((Get-HostileState).requests | Select-Object -Skip $seen | Where-Object { $_.target -notmatch '^/v2/(a/app/(manifests/(good1|good2|sha256:[0-9a-f]{64})|blobs/sha256:[0-9a-f]{64}|tags/list(\?.*)?|referrers/sha256:[0-9a-f]{64}))?$' })
        $bad | ForEach-Object { "$($_.method) $($_.target)" } | Should -BeNullOrEmpty -Because 'only the valid tags may become requests'
        Find-Canary (Get-Trace $captured @($log, $failed)) | Should -BeNullOrEmpty
        Get-ErrorRecords $captured | ForEach-Object { $_.FullyQualifiedErrorId } | Should -BeNullOrEmpty -Because 'skipped tags are not failures'
        $synced = @(Get-TopLevel $captured | Where-Object { "$($_.Action)" -eq 'Synced' } | ForEach-Object { "$($_.Destination)" } | Sort-Object)
        $synced | Should -Be @("$B/$ns/app:good1", "$B/$ns/app:good2")
        @($captured | Where-Object { $_ -is [System.Management.Automation.WarningRecord] -and $_.Message -match 'a/app' }) | Should -Not -BeNullOrEmpty
    }

    It 'Invoke-ImageSync reports echoed credentials and a foreign upload Location with the right error ids, and shows the canary nowhere' {
        $ns = New-TestRepositoryName 'hostf'
        $images = Join-Path $TestDrive 'f.yaml'
        @"
${H}/f/app:e400: ${B}/$ns/f
${H}/f/app:e401: ${B}/$ns/f
${A}/demo/alpine:3.19: ${H}/d/away
${H}/a/app:good1: ${B}/$ns/ok
"@ | Set-Content $images
        $log = Join-Path $TestDrive 'f.log'; $failed = Join-Path $TestDrive 'f-failed.yaml'
        $global:Error.Clear()
        # -Retries 1: each failure is also logged as a "(retrying in pass 2)" warning before the second pass.
        $captured = Invoke-ImageSync -Images $images -Auth $auth -Retries 1 -FailedImagesPath $failed `
            -Verbose -Debug -LogPath $log -ErrorAction Continue -WarningAction Continue -InformationAction Continue *>&1
        $errors = Get-ErrorRecords $captured
        $cmd = 'OciSync.PowerShell.Commands.InvokeImageSyncCommand'

        Find-Canary (Get-Trace $captured @($log, $failed)) | Should -BeNullOrEmpty
        (Get-HostileState).canaryConnections | Should -Be 0 -Because 'an upload Location on another origin is not followed'
        $ids = @{}
        # Every failure, in planning or copying, targets the image's ImageResult.
        foreach ($e in $errors) {
            $e.TargetObject | Should -BeOfType ([OciSync.Core.Sync.ImageResult])
            $ids["$($e.TargetObject.Source)"] = $e.FullyQualifiedErrorId
        }
        $ids["$H/f/app:e400"] | Should -Be "RegistryProtocolError,$cmd"
        $ids["$H/f/app:e401"] | Should -Be "RegistryUnauthorized,$cmd"
        $ids["$A/demo/alpine:3.19"] | Should -Be "RegistryProtocolError,$cmd"
        $errors | Should -HaveCount 3
        "$((Get-TopLevel $captured | Where-Object { "$($_.Source)" -eq "$H/a/app:good1" }).Action)" | Should -Be 'Synced'
    }

    It 'a body cut short once (a tag list, a manifest) is survived by a per-request retry, counted in the summary and the log' {
        $ns = New-TestRepositoryName 'once'
        $log = Join-Path $TestDrive 'once.log'
        $images = Join-Path $TestDrive 'once.yaml'
        "${H}/once/app: ${B}/$ns/app`n${H}/once/image:v1: ${B}/$ns/image" | Set-Content $images
        $summary = Invoke-ImageSync -Images $images -Auth $auth -Retries 0 -Summary -LogPath $log -ErrorVariable ev -ErrorAction SilentlyContinue
        $ev | Should -HaveCount 0
        $summary.Synced | Should -Be 2
        $summary.Passes | Should -Be 1 -Because 'no second pass was needed'
        $summary.RequestRetries | Should -BeGreaterOrEqual 2
        $text = Get-Content $log -Raw
        $text | Should -Match "Retrying GET http://$([regex]::Escape($H))/v2/once/app/tags/list .*damaged answer"
        $text | Should -Match "Retrying GET $([regex]::Escape($H))/once/image:sha256:[0-9a-f]{64} .*damaged answer"
    }

    It 'a listing cut short, a repository that does not exist and an unreachable registry are each a Failed result, an error, a failed-file entry and a log line; the file re-runs them once healed' {
        $ns = New-TestRepositoryName 'rerun'
        $cmd = 'OciSync.PowerShell.Commands.InvokeImageSyncCommand'
        $images = Join-Path $TestDrive 'rerun.yaml'
        @"
${H}/t/cut: ${B}/$ns/cut
${H}/t/gone: ${B}/$ns/gone
${F}/flaky/app:v1: ${B}/$ns/flaky
${A}/demo/alpine:3.19: ${B}/$ns/alpine
"@ | Set-Content $images
        $log = Join-Path $TestDrive 'rerun.log'; $failed = Join-Path $TestDrive 'rerun-failed.yaml'
        $out = Invoke-ImageSync -Images $images -Auth $auth -Retries 0 -FailedImagesPath $failed -LogPath $log `
            -ErrorVariable ev -ErrorAction SilentlyContinue -InformationVariable info
        $ok = $?
        $ok | Should -BeFalse

        $results = @{}; foreach ($r in $out) { $results["$($r.Source)"] = $r }
        $results["$H/t/cut"].Action | Should -Be 'Failed'
        $results["$H/t/cut"].ErrorId | Should -Be 'RegistryResponseInvalid'
        $results["$H/t/cut"].Phase | Should -Be 'Listing'
        $results["$H/t/gone"].ErrorId | Should -Be 'RepositoryNotFound'
        $results["$H/t/gone"].Phase | Should -Be 'Listing'
        $results["$F/flaky/app:v1"].ErrorId | Should -Be 'RegistryUnreachable'
        $results["$F/flaky/app:v1"].Phase | Should -Be 'Planning'
        $results["$A/demo/alpine:3.19"].Action | Should -Be 'Synced'

        $ev | Should -HaveCount 3
        $byTarget = @{}; foreach ($e in $ev) { $byTarget["$($e.TargetObject.Source)"] = $e }
        $byTarget["$H/t/cut"].FullyQualifiedErrorId | Should -Be "RegistryResponseInvalid,$cmd"
        $byTarget["$H/t/cut"].Exception.Message | Should -BeLike "*$H/t/cut*/v2/t/cut/tags/list*"
        $byTarget["$H/t/gone"].FullyQualifiedErrorId | Should -Be "RepositoryNotFound,$cmd"
        $byTarget["$H/t/gone"].Exception.Message | Should -BeLike "*NAME_UNKNOWN*"
        $byTarget["$F/flaky/app:v1"].FullyQualifiedErrorId | Should -Be "RegistryUnreachable,$cmd"
        $byTarget["$F/flaky/app:v1"].CategoryInfo.Category | Should -Be 'ConnectionError'
        $byTarget.Values | ForEach-Object { $_.TargetObject | Should -BeOfType ([OciSync.Core.Sync.ImageResult]) }

        # The failed file: the listed rules as rules (the re-run lists again), the image as the image.
        @((Import-SyncRule $failed).Source | Sort-Object) | Should -Be (@("$H/t/cut", "$H/t/gone", "$F/flaky/app:v1") | Sort-Object)
        $lines = @(Get-Content $log)
        foreach ($what in @(
                @('ERROR', "Failed $H/t/cut -> $B/$ns/cut (", '[RegistryResponseInvalid] listing: '),
                @('ERROR', "Failed $H/t/gone -> $B/$ns/gone (", '[RepositoryNotFound] listing: '),
                @('ERROR', "Failed $F/flaky/app:v1 -> $B/$ns/flaky:v1 (", '[RegistryUnreachable] planning: '),
                @('INFORMATION', "Synced $A/demo/alpine:3.19 -> $B/$ns/alpine:3.19 sha256:", ' s, pass 1)'))) {
            @($lines | Where-Object { $_ -match "^\S+Z $($what[0]) " -and $_.Contains($what[1]) -and $_.Contains($what[2]) }) | Should -HaveCount 1 -Because "the log has a line '$($what -join ' ... ')'"
        }
        ($info | Where-Object Tags -Contains 'OciSync.Summary').MessageData.Failed | Should -Be 3

        # The faults go away; the failed file syncs all three.
        $null = Invoke-RestMethod -Method Post "http://$H/_hostile/heal"
        $again = Invoke-ImageSync -Images $failed -Auth $auth -Retries 0 -Summary -ErrorVariable ev2 -ErrorAction SilentlyContinue
        $ev2 | Should -HaveCount 0
        $again.Synced | Should -Be 3
        (Get-RegistryTag "$B/$ns/cut" -Auth $auth).Tag | Should -Be 'v1'
        (Get-RegistryTag "$B/$ns/gone" -Auth $auth).Tag | Should -Be 'v1'
        (Get-RegistryTag "$B/$ns/flaky" -Auth $auth).Tag | Should -Be 'v1'
    }

    It 'Get-RegistryTag fails a self-linking tag list and a user-info Link with RegistryProtocolError, and shows the canary nowhere' {
        $global:Error.Clear()
        $captured = @(
            Get-RegistryTag "$H/c/self" -Auth $auth -Verbose -Debug -ErrorAction Continue *>&1
            Get-RegistryTag "$H/f/linky" -Auth $auth -Verbose -Debug -ErrorAction Continue *>&1
        )
        $errors = Get-ErrorRecords $captured

        Find-Canary (Get-Trace $captured) | Should -BeNullOrEmpty
        (Get-HostileState).selfPages | Should -BeLessOrEqual 300 -Because 'a Link loop is given up after a bounded number of pages'
        $errors | Should -HaveCount 2
        $errors | ForEach-Object { $_.FullyQualifiedErrorId | Should -Be 'RegistryProtocolError,OciSync.PowerShell.Commands.GetRegistryTagCommand' }
    }
}
