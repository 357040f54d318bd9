BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $B = $bed.Basic.host; $T = $bed.Token.host
    # The canary is a wrong password for the Basic registry (its real one is fixed by the test bed),
    # reaching the auth file through an environment variable reference.
    $canary = [guid]::NewGuid().ToString()
    $env:OCISYNC_CANARY = $canary
    $authFile = Join-Path $TestDrive 'auth.yaml'
    @"
${B}:
  username: $($bed.Basic.username)
  password: `${OCISYNC_CANARY}
${T}:
  username: $($bed.Token.username)
  password: `$OCISYNC_CANARY
"@ | Set-Content $authFile

    # Everything a call leaves behind, as text.
    function Get-Trace([object[]] $Captured, [string] $LogPath) {
        $sb = [System.Text.StringBuilder]::new()
        foreach ($item in $Captured) {
            $null = $sb.AppendLine(($item | Out-String -Width 1000))
            if ($item -is [System.Management.Automation.ErrorRecord]) {
                $null = $sb.AppendLine($item.ToString()).AppendLine($item.Exception.ToString()).AppendLine("$($item.TargetObject)")
                $null = $sb.AppendLine(($item | Format-List * -Force | Out-String -Width 1000))
                $null = $sb.AppendLine(($item.Exception | Format-List * -Force | Out-String -Width 1000))
            }
            elseif ($item -is [System.Management.Automation.InformationalRecord]) { $null = $sb.AppendLine($item.Message) }
            else { $null = $sb.AppendLine(($item | ConvertTo-Json -Depth 5 -WarningAction SilentlyContinue)) }
        }
        foreach ($e in $global:Error) {
            if ($e -is [System.Management.Automation.ErrorRecord]) {
                $null = $sb.AppendLine($e.ToString()).AppendLine($e.Exception.ToString()).AppendLine("$($e.TargetObject)")
            }
            else { $null = $sb.AppendLine("$e") }
        }
        if ($LogPath -and (Test-Path $LogPath)) { $null = $sb.AppendLine((Get-Content $LogPath -Raw)) }
        $sb.ToString()
    }
}
AfterAll {
    Remove-Item Env:OCISYNC_CANARY -ErrorAction SilentlyContinue
    Stop-OciTestBed $bed
}

Describe 'Secrets never leak' {
    It 'Invoke-ImageSync with a wrong password (the canary) fails with RegistryUnauthorized and shows the canary in no stream, error, output or log' {
        $log = Join-Path $TestDrive 'sync.log'
        $global:Error.Clear()
        $captured = Invoke-ImageSync -Source "$A/demo/app:1.0" -Destination "$B/canary/app", "$T/canary/app" -Auth $authFile -Retries 0 `
            -Verbose -Debug -LogPath $log -ErrorAction Continue -WarningAction Continue -InformationAction Continue *>&1
        $errors = @($captured | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors | Should -Not -BeNullOrEmpty
        $errors | ForEach-Object { $_.FullyQualifiedErrorId | Should -Be 'RegistryUnauthorized,OciSync.PowerShell.Commands.InvokeImageSyncCommand' }
        @($captured | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) | Should -Not -BeNullOrEmpty
        @($captured | Where-Object { $_ -is [System.Management.Automation.DebugRecord] }) | Should -Not -BeNullOrEmpty
        $log | Should -Exist
        $trace = Get-Trace $captured $log
        $trace | Should -Match 'RegistryUnauthorized|401'     # the trace is real ...
        $trace.Contains($canary) | Should -BeFalse             # ... and holds no canary
    }

    It 'Get-RegistryTag and Get-RegistryManifest with the canary show it nowhere' {
        $global:Error.Clear()
        $captured = @(
            Get-RegistryTag "$B/canary/app" -Auth $authFile -Verbose -Debug -ErrorAction Continue *>&1
            Get-RegistryManifest "$T/canary/app:1.0" -Auth $authFile -Verbose -Debug -ErrorAction Continue *>&1
        )
        @($captured | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }) | Should -HaveCount 2
        (Get-Trace $captured).Contains($canary) | Should -BeFalse
    }

    It 'a PSCredential holding the canary shows it nowhere' {
        $global:Error.Clear()
        $cred = [pscredential]::new($bed.Basic.username, (ConvertTo-SecureString $canary -AsPlainText -Force))
        $captured = Invoke-ImageSync -Source "$A/demo/alpine:3.19" -Destination "$B/canary/alpine" -DestinationCredential $cred -Retries 0 -Verbose -Debug -ErrorAction Continue *>&1
        @($captured | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }) | Should -Not -BeNullOrEmpty
        (Get-Trace $captured).Contains($canary) | Should -BeFalse
    }

    It 'credential objects from the canary file never show it (<Name>)' -ForEach @(
        @{ Name = 'Format-Table'; Render = { param($o) $o | Format-Table | Out-String } }
        @{ Name = 'Format-List *'; Render = { param($o) $o | Format-List * -Force | Out-String } }
        @{ Name = 'Out-String'; Render = { param($o) $o | Out-String } }
        @{ Name = 'ConvertTo-Json'; Render = { param($o) $o | ConvertTo-Json -Depth 5 } }
        @{ Name = 'Verbose'; Render = { param($o) Import-RegistryCredential $authFile -Verbose 4>&1 | Out-String } }
    ) {
        $creds = Import-RegistryCredential $authFile
        $creds | Should -HaveCount 2
        $text = & $Render $creds
        $text | Should -Match ([regex]::Escape($B))
        $text.Contains($canary) | Should -BeFalse
    }
}
