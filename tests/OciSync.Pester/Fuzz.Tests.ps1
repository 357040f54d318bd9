# Feeds several hundred malformed and adversarial configuration files (New-FuzzCorpus.ps1)
# through Import-SyncRule, Import-RegistryCredential and Invoke-ImageSync -WhatIf. The cmdlets
# run in child pwsh processes, one per kind of file: a stack overflow kills the process, so the
# parent must outlive it and know, from the progress lines, which file did it.

BeforeAll {
    . $PSScriptRoot/Common.ps1
    $script:Clock = [Diagnostics.Stopwatch]::StartNew()
    $script:Bed = Start-OciTestBed -Arguments @('--anonymous')
    $registry = $Bed.Anonymous.host
    $corpus = Join-Path $TestDrive 'corpus'
    $script:Files = @(& $PSScriptRoot/New-FuzzCorpus.ps1 -OutDirectory $corpus -Registry $registry)
    $script:Canary = 'Zq9CANARYpw7'

    # Valid partners for the auth files' Invoke-ImageSync run.
    $validImages = Join-Path $TestDrive 'valid-images.yaml'
    "$registry/fuzz/a: $registry/mirror/a" | Set-Content $validImages

    # Everything the cmdlet calls write, one JSON line per error or warning, between BEGIN and END
    # lines per file. Errors are collected with -ErrorVariable and terminating ones caught.
    $child = @'
param([string] $ModulePath, [string] $ListPath, [string] $ResultPath, [int] $Start, [string] $ValidImages)
$ErrorActionPreference = 'Continue'
$ProgressPreference = 'SilentlyContinue'
$PSStyle.OutputRendering = 'PlainText'
Import-Module $ModulePath -ErrorAction Stop
$out = [IO.StreamWriter]::new($ResultPath, $true)
$out.AutoFlush = $true
$entries = @(Get-Content -LiteralPath $ListPath)

function Write-Record([int] $Index, [string] $Command, [string] $Kind, $Record) {
    $exception = if ($Record -is [Management.Automation.ErrorRecord]) { $Record.Exception } else { $null }
    $message = if ($exception) { $exception.Message } else { $Record.Message }
    $config = if ($exception -is [OciSync.Core.Configuration.ConfigException]) { $exception.Error } else { $null }
    $out.WriteLine((@{
        i = $Index; cmd = $Command; kind = $Kind
        id = if ($exception) { $Record.FullyQualifiedErrorId } else { $null }
        type = if ($exception) { $exception.GetType().FullName } else { $null }
        inner = if ($exception -and $exception.InnerException) { $exception.InnerException.GetType().FullName } else { $null }
        msg = if ($message.Length -gt 4000) { $message.Substring(0, 4000) } else { $message }
        len = $message.Length
        line = if ($config) { $config.Line } else { -1 }
        col = if ($config) { $config.Column } else { -1 }
        file = if ($config) { $config.File } else { $null }
    } | ConvertTo-Json -Compress))
}

function Invoke-Case([int] $Index, [string] $Command, [scriptblock] $Call) {
    $ev = $null; $wv = $null; $caught = $null
    try { $null = . $Call } catch { $caught = $_ }
    $errors = [Collections.Generic.List[object]]::new()
    foreach ($e in @($ev)) {
        # A terminating error arrives in -ErrorVariable wrapped in a CmdletInvocationException.
        if ($e -isnot [Management.Automation.ErrorRecord] -and $e -is [Management.Automation.IContainsErrorRecord]) { $e = $e.ErrorRecord }
        if ($null -ne $e) { $errors.Add($e) }
    }
    if ($caught -and -not ($errors | Where-Object { [object]::ReferenceEquals($_.Exception, $caught.Exception) })) { $errors.Add($caught) }
    foreach ($e in $errors) { Write-Record $Index $Command 'error' $e }
    foreach ($w in @($wv)) { if ($null -ne $w) { Write-Record $Index $Command 'warning' $w } }
    $out.WriteLine("DONE`t$Index`t$Command")
}

$common = @{ ErrorAction = 'SilentlyContinue'; ErrorVariable = 'ev'; WarningAction = 'SilentlyContinue'; WarningVariable = 'wv' }
for ($i = $Start; $i -lt $entries.Count; $i++) {
    $kind, $path = $entries[$i] -split "`t", 2
    $out.WriteLine("BEGIN`t$i")
    $clock = [Diagnostics.Stopwatch]::StartNew()
    switch ($kind) {
        'images' {
            Invoke-Case $i 'Import-SyncRule' { Import-SyncRule -Path $path @common }
            Invoke-Case $i 'Invoke-ImageSync' { Invoke-ImageSync -Images $path -WhatIf -Retries 0 @common }
        }
        'auth' {
            Invoke-Case $i 'Import-RegistryCredential' { Import-RegistryCredential -Path $path @common }
            Invoke-Case $i 'Invoke-ImageSync' { Invoke-ImageSync -Images $ValidImages -Auth $path -WhatIf -Retries 0 @common }
        }
        'config' {
            Invoke-Case $i 'Import-SyncRule' { Import-SyncRule -Path $path -Legacy @common }
            Invoke-Case $i 'Invoke-ImageSync' { Invoke-ImageSync -Config $path -WhatIf -Retries 0 @common }
        }
    }
    $out.WriteLine("END`t$i`t$($clock.ElapsedMilliseconds)")
}
$out.Dispose()
'@
    $childPath = Join-Path $TestDrive 'fuzz-child.ps1'
    Set-Content -Path $childPath -Value $child

    # Children: the pwsh running these tests (pwsh.dll under `dotnet pwsh`). Nothing may leave the
    # machine: every proxy variable points at a closed loopback port and only 127.0.0.1 bypasses
    # it, so a reference to any other host fails (and shows up as RegistryUnreachable).
    $exe = [Environment]::ProcessPath
    [string[]] $prefix = if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { @([Environment]::GetCommandLineArgs()[0]) } else { @() }
    $deadProxy = "http://127.0.0.1:$(Get-ClosedLoopbackPort)"
    $childTimeout = [TimeSpan]::FromSeconds(150)

    function Start-FuzzChild([string] $Kind, [string] $ListPath, [int] $Start, [int] $Run) {
        $result = Join-Path $TestDrive "result-$Kind-$Run.txt"
        $psi = [Diagnostics.ProcessStartInfo]::new($exe)
        foreach ($a in $prefix + @('-NoProfile', '-NonInteractive', '-File', $childPath, '-ModulePath', $env:OCISYNC_MODULE,
                '-ListPath', $ListPath, '-ResultPath', $result, '-Start', "$Start", '-ValidImages', $validImages)) { $psi.ArgumentList.Add($a) }
        foreach ($name in 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy') { $psi.Environment[$name] = $deadProxy }
        $psi.Environment['NO_PROXY'] = '127.0.0.1'; $psi.Environment['no_proxy'] = '127.0.0.1'
        foreach ($name in 'DEFAULT_REGISTRY', 'DEFAULT_NAMESPACE', 'FUZZ_UNSET') { $null = $psi.Environment.Remove($name) }
        $psi.Environment['FUZZ_USER'] = 'fuzz'
        $psi.Environment['FUZZ_PASS'] = $Canary
        $psi.Environment['FUZZ_REG'] = $registry
        $psi.Environment['FUZZ_BIG'] = 'x' * 70000     # expands a password past SecureString's 65,536 characters
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.UseShellExecute = $false
        $process = [Diagnostics.Process]::Start($psi)
        [pscustomobject]@{
            Kind = $Kind; ListPath = $ListPath; Result = $result; Start = $Start; Run = $Run; Process = $process
            Stdout = $process.StandardOutput.ReadToEndAsync(); Stderr = $process.StandardError.ReadToEndAsync()
            Started = [DateTime]::UtcNow
        }
    }

    # One child per kind, all at once. A child that dies or hangs is restarted after the file it was on.
    $script:Crashes = [Collections.Generic.List[object]]::new()
    $script:ChildOutput = @{}
    $running = [Collections.Generic.List[object]]::new()
    foreach ($group in $Files | Group-Object Kind) {
        $list = Join-Path $TestDrive "list-$($group.Name).txt"
        $group.Group | ForEach-Object { "$($_.Kind)`t$($_.Path)" } | Set-Content -Path $list
        $ChildOutput[$group.Name] = [Collections.Generic.List[string]]::new()
        $running.Add((Start-FuzzChild $group.Name $list 0 0))
    }
    while ($running.Count -gt 0) {
        Start-Sleep -Milliseconds 200
        foreach ($c in @($running)) {
            $hung = -not $c.Process.HasExited -and ([DateTime]::UtcNow - $c.Started) -gt $childTimeout
            if ($hung) { $c.Process.Kill($true); $null = $c.Process.WaitForExit(10000) }
            if (-not $c.Process.HasExited) { continue }
            $c.Process.WaitForExit()
            $null = $running.Remove($c)
            [string[]] $lines = @(if (Test-Path $c.Result) { Get-Content -LiteralPath $c.Result })
            $ChildOutput[$c.Kind].AddRange($lines)
            $count = @(Get-Content -LiteralPath $c.ListPath).Count
            $begun = @($lines | Where-Object { $_ -like "BEGIN`t*" } | ForEach-Object { [int]($_ -split "`t")[1] })
            $ended = @($lines | Where-Object { $_ -like "END`t*" } | ForEach-Object { [int]($_ -split "`t")[1] })
            $last = if ($begun.Count) { $begun[-1] } else { $c.Start }
            if ($c.Process.ExitCode -ne 0 -or $hung -or ($ended.Count -and $ended[-1] -ne $count - 1) -or (-not $ended.Count -and $count -gt $c.Start)) {
                $culprit = @($Files | Where-Object Kind -EQ $c.Kind)[$last]
                $Crashes.Add([pscustomobject]@{
                    Kind = $c.Kind; File = $culprit.Label; ExitCode = $c.Process.ExitCode; Hung = $hung
                    Stderr = ($c.Stderr.Result + $c.Stdout.Result) -split "`n" | Select-Object -Last 5
                })
                if ($last + 1 -lt $count -and $Crashes.Count -lt 20) { $running.Add((Start-FuzzChild $c.Kind $c.ListPath ($last + 1) ($c.Run + 1))) }
            }
        }
    }
    $script:Elapsed = $Clock.Elapsed

    # Every record, with the file it belongs to.
    $script:Records = [Collections.Generic.List[object]]::new()
    $script:Ends = [Collections.Generic.List[object]]::new()
    foreach ($kind in $ChildOutput.Keys) {
        $ofKind = @($Files | Where-Object Kind -EQ $kind)
        foreach ($line in $ChildOutput[$kind]) {
            if ($line -like "END`t*") {
                $parts = $line -split "`t"
                $Ends.Add([pscustomobject]@{ Kind = $kind; File = $ofKind[[int]$parts[1]]; Ms = [int]$parts[2] })
            }
            elseif ($line -like '{*') {
                $r = $line | ConvertFrom-Json
                $r | Add-Member -NotePropertyName Case -NotePropertyValue $ofKind[$r.i]
                $Records.Add($r)
            }
        }
    }
    $script:ConfigIds = @([OciSync.Core.Configuration.ConfigErrorIds].GetFields() | ForEach-Object { $_.GetValue($null) })

    # The figures, for whoever reads the test log.
    $kinds = ($Files | Group-Object Kind | ForEach-Object { "$($_.Name) $($_.Count)" }) -join ', '
    Write-Host "Fuzz: $($Files.Count) files ($kinds) in $([int]$Elapsed.TotalSeconds) s; $($Records.Count) records; $($Crashes.Count) crashed or hung children"
    $Records | Group-Object { "$($_.kind) $(($_.id ?? 'warning') -replace ',.*$', '')" } | Sort-Object Count -Descending |
        ForEach-Object { Write-Host ("  {0,6}  {1}" -f $_.Count, $_.Name) }
    Write-Host "  slowest: $(($Ends | Sort-Object Ms -Descending | Select-Object -First 8 | ForEach-Object { "$($_.Kind)/$($_.File.Label) $($_.Ms) ms" }) -join ', ')"
    Write-Host "  per kind: $(($Ends | Group-Object Kind | ForEach-Object { "$($_.Name) $([int](($_.Group | Measure-Object Ms -Sum).Sum / 1000)) s" }) -join ', ')"
}

AfterAll {
    Stop-OciTestBed $Bed
}

Describe 'Fuzzed configuration files' {
    It 'are several hundred, of every kind, YAML and JSON' {
        $Files.Count | Should -BeGreaterOrEqual 300
        foreach ($kind in 'images', 'auth', 'config') {
            @($Files | Where-Object { $_.Kind -eq $kind -and $_.Path -like '*.json' }).Count | Should -BeGreaterThan 20
            @($Files | Where-Object { $_.Kind -eq $kind -and $_.Path -like '*.yaml' }).Count | Should -BeGreaterThan 100
        }
    }

    It 'never crash or hang a child process' {
        $Crashes | ForEach-Object { "$($_.Kind)/$($_.File): exit $($_.ExitCode)$(if ($_.Hung) { ' (hung)' }) $($_.Stderr -join ' | ')" } | Should -BeNullOrEmpty
    }

    It 'all went through both cmdlets, each file within 20 s, the whole run within the time bound' {
        $Ends.Count | Should -Be $Files.Count
        $done = @($ChildOutput.Values | ForEach-Object { $_ } | Where-Object { $_ -like "DONE`t*" })
        $done.Count | Should -Be (2 * $Files.Count)
        $Ends | Where-Object Ms -GT 20000 | ForEach-Object { "$($_.Kind)/$($_.File.Label): $($_.Ms) ms" } | Should -BeNullOrEmpty
        $Elapsed.TotalSeconds | Should -BeLessThan 150
    }

    It 'report every problem with a stable id and only OciSync exception types' {
        $bad = foreach ($r in $Records | Where-Object kind -EQ 'error') {
            $id = $r.id -replace ',OciSync\.PowerShell\.Commands\.\w+Command$', ''
            if ($id -notin $ConfigIds -and $id -notin 'ManifestNotFound', 'RepositoryNotFound') { "$($r.Case.Label) [$($r.cmd)]: id $($r.id)" }
            elseif ($r.type -notlike 'OciSync.*') { "$($r.Case.Label) [$($r.cmd)]: $($r.type) ($($r.id))" }
        }
        $bad | Select-Object -First 20 | Should -BeNullOrEmpty
    }

    It 'name the file, line and column of every configuration problem' {
        $bad = foreach ($r in $Records | Where-Object { $_.kind -eq 'warning' -or ($_.id -replace ',.*$', '') -in $ConfigIds }) {
            if ($r.id -like 'ConfigFileUnreadable,*') {
                # A file that cannot be read has no position to name.
                if (-not $r.msg.StartsWith($r.Case.Path + ': ')) { "$($r.Case.Label) [$($r.cmd)]: $($r.msg)" }
                continue
            }
            $at = [regex]::Match($r.msg, '^' + [regex]::Escape($r.Case.Path) + ':(\d+):(\d+): ')
            if (-not $at.Success -or [int]$at.Groups[1].Value -lt 1 -or [int]$at.Groups[2].Value -lt 1) { "$($r.Case.Label) [$($r.cmd)]: $($r.msg.Substring(0, [Math]::Min(200, $r.msg.Length)))" }
            elseif ($r.kind -eq 'error' -and ($r.line -lt 1 -or $r.col -lt 1 -or $r.file -ne $r.Case.Path)) { "$($r.Case.Label) [$($r.cmd)]: ConfigError at $($r.file):$($r.line):$($r.col)" }
        }
        $bad | Select-Object -First 20 | Should -BeNullOrEmpty
    }

    It 'never show a raw .NET exception name, and keep messages short' {
        $bad = foreach ($r in $Records) {
            if ("$($r.id) $($r.msg)" -match '\b(?:System\.)?[A-Z]\w*Exception\b') { "$($r.Case.Label) [$($r.cmd)]: $($Matches[0]) in $($r.id): $($r.msg.Substring(0, [Math]::Min(200, $r.msg.Length)))" }
            elseif ($r.len -gt 2000) { "$($r.Case.Label) [$($r.cmd)]: a message of $($r.len) characters" }
        }
        $bad | Select-Object -First 20 | Should -BeNullOrEmpty
    }

    It 'never quote the password of an auth or config file' {
        $Records | Where-Object { $_.Case.Secret -and $_.msg -like "*$Canary*" } |
            ForEach-Object { "$($_.Case.Label) [$($_.cmd)]: $($_.msg.Substring(0, [Math]::Min(300, $_.msg.Length)))" } | Should -BeNullOrEmpty
    }

    It 'contact no registry but the local test bed' {
        $Records | Where-Object { $_.id -like 'RegistryUnreachable,*' } | ForEach-Object { "$($_.Case.Label): $($_.msg)" } | Should -BeNullOrEmpty
    }

    It 'reject the hostile inputs with the expected ids' -ForEach @(
        @{ Label = 'doc-deep-brackets-100000'; Id = 'ConfigTooDeep' }
        @{ Label = 'doc-deep-indent-500'; Id = 'ConfigTooDeep' }
        @{ Label = 'doc-billion-laughs'; Id = 'ConfigTooLarge' }
        @{ Label = 'huge-9MiB-comment'; Id = 'ConfigTooLarge' }
        @{ Label = 'doc-flat-250000'; Id = 'ConfigTooLarge' }
        @{ Label = 'alias-bomb-password'; Id = 'ConfigTooLarge' }
        @{ Label = 'dest-port-99999'; Id = 'RuleInvalidReference' }
        @{ Label = 'dest-int'; Id = 'RuleInvalidReference' }
        @{ Label = 'password-long-70000'; Id = 'AuthInvalidEntry' }
        @{ Label = 'password-var-unset'; Id = 'AuthVariableUnset' }
        @{ Label = 'source-regex-open'; Id = 'RuleBadRegex' }
        @{ Label = 'a-directory'; Id = 'ConfigFileUnreadable' }
    ) {
        $cases = @($Files | Where-Object Label -EQ $Label)
        $cases.Count | Should -BeGreaterThan 0
        foreach ($case in $cases) {
            # Errors by id; warnings carry no id, so an unset variable is told by its words.
            $seen = @($Records | Where-Object { [object]::ReferenceEquals($_.Case, $case) } | ForEach-Object {
                if ($_.kind -eq 'error') { $_.id -replace ',.*$', '' } elseif ($_.msg -like '*which is not set*') { 'AuthVariableUnset' } else { 'Warning' } })
            "$($case.Kind)/$Label -> $($seen -join ',')" | Should -BeLike "*$Id*"
        }
    }
}
