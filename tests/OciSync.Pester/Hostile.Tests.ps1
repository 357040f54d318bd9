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
    function Get-TopLevel($Captured) { @($Captured | Where-Object { $_ -is [OciSync.Core.Sync.ManifestResult] -and $_.IsTopLevel }) }
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

        $bad = @((Get-HostileState).requests | Select-Object -Skip $seen | Where-Object { $_.target -notmatch '^/v2/(a/app/(manifests/(good1|good2|sha256:[0-9a-f]{64})|blobs/sha256:[0-9a-f]{64}|tags/list(\?.*)?))?$' })
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
        # -Retries 1: each failure is also logged as a "(will retry)" warning before the second pass.
        $captured = Invoke-ImageSync -Images $images -Auth $auth -Retries 1 -FailedImagesPath $failed `
            -Verbose -Debug -LogPath $log -ErrorAction Continue -WarningAction Continue -InformationAction Continue *>&1
        $errors = Get-ErrorRecords $captured
        $cmd = 'OciSync.PowerShell.Commands.InvokeImageSyncCommand'

        Find-Canary (Get-Trace $captured @($log, $failed)) | Should -BeNullOrEmpty
        (Get-HostileState).canaryConnections | Should -Be 0 -Because 'an upload Location on another origin is not followed'
        $ids = @{}
        # A failed copy targets its ManifestResult; a planning failure targets the image or rule as text.
        foreach ($e in $errors) {
            $key = if ($e.TargetObject -is [OciSync.Core.Sync.ManifestResult]) { "$($e.TargetObject.Source)" } else { "$($e.TargetObject)" }
            $ids[$key] = $e.FullyQualifiedErrorId
        }
        $ids["$H/f/app:e400"] | Should -Be "RegistryProtocolError,$cmd"
        $ids["$H/f/app:e401"] | Should -Be "RegistryUnauthorized,$cmd"
        $ids["$A/demo/alpine:3.19"] | Should -Be "RegistryProtocolError,$cmd"
        $errors | Should -HaveCount 3
        "$((Get-TopLevel $captured | Where-Object { "$($_.Source)" -eq "$H/a/app:good1" }).Action)" | Should -Be 'Synced'
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
