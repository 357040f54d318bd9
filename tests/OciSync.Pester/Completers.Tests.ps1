BeforeAll {
    . $PSScriptRoot/Common.ps1

    function Get-Completion {
        # Completes the end of $Line as the console does on Tab; returns the matches.
        param([Parameter(Mandatory)] [string] $Line)
        @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches)
    }

    $script:Password = 'pw-Zq7-not-a-host'
    $script:AuthYaml = @"
reg-one.example:5000:
  username: "alice"
  password: "$Password"
reg-two.example:
  username: "bob"
  password: "$Password"
"@
}

Describe 'Platform completers' {
    It '-OS li completes linux' {
        $m = Get-Completion 'Invoke-ImageSync -OS li'
        @($m.CompletionText) | Should -Be @('linux')
        $m[0].ResultType | Should -Be 'ParameterValue'
        $m[0].ToolTip | Should -Match 'Linux'
    }

    It '-OS matches case-insensitively' {
        @((Get-Completion 'Invoke-ImageSync -OS WIN').CompletionText) | Should -Be @('windows')
    }

    It '-Arch a completes amd64, arm64 and arm' {
        $m = Get-Completion 'Invoke-ImageSync -Arch a'
        @($m.CompletionText | Sort-Object) | Should -Be @('amd64', 'arm', 'arm64')
        $m | ForEach-Object { $_.ToolTip | Should -Not -BeNullOrEmpty }
    }

    It '-Arch arm: completes the ARM variants' {
        @((Get-Completion 'Invoke-ImageSync -Arch arm:').CompletionText) | Should -Contain 'arm:v7'
    }

    It 'completes the next element of a list' {
        @((Get-Completion 'Invoke-ImageSync -Arch amd64,s3').CompletionText) | Should -Be @('s390x')
    }

    It 'keeps the quote the word was opened with' {
        @((Get-Completion "Invoke-ImageSync -OS 'li").CompletionText) | Should -Be @("'linux'")
    }

    It '-Platform completes os/arch[/variant] on <Name>' -ForEach @(
        @{ Name = 'New-SyncRule' }, @{ Name = 'Get-SyncPlan' }, @{ Name = 'Invoke-ImageSync' }
    ) {
        $texts = @((Get-Completion "$Name -Platform linux/ar").CompletionText)
        $texts | Should -Contain 'linux/arm64'
        $texts | Should -Contain 'linux/arm/v7'
        $texts | Should -Not -Contain 'linux/amd64'
    }

    It 'gives nothing for a word no value starts with' {
        Get-Completion 'Invoke-ImageSync -OS zzz' | Should -BeNullOrEmpty
    }
}

Describe 'Registry completers' {
    BeforeAll {
        Set-Content -Path (Join-Path $TestDrive 'auth.yaml') -Value $AuthYaml -Encoding utf8
        Set-Content -Path (Join-Path $TestDrive 'broken.yaml') -Value "reg-one.example:`n  username: [`"alice`"`n  password: `"$Password`"`n  : : {" -Encoding utf8
        Push-Location $TestDrive
    }
    AfterAll {
        Pop-Location
    }

    It '<Line> completes both hosts of the -Auth file as host/' -ForEach @(
        @{ Line = 'Get-SyncPlan -Auth ./auth.yaml -Source ' }
        @{ Line = 'Invoke-ImageSync -Auth ./auth.yaml -Source ' }
        @{ Line = 'Invoke-ImageSync -Auth ./auth.yaml -Source x -Destination ' }
        @{ Line = 'Get-RegistryTag -Auth ./auth.yaml -Repository ' }
        @{ Line = 'Get-RegistryManifest -Auth ./auth.yaml ' }
    ) {
        $m = Get-Completion $Line
        @($m.CompletionText) | Should -Be @('reg-one.example:5000/', 'reg-two.example/')
    }

    It 'reads an -Auth file given after the word being completed' {
        $line = 'Get-SyncPlan -Source reg-t'
        $r = TabExpansion2 -inputScript "$line -Auth ./auth.yaml" -cursorColumn $line.Length
        @($r.CompletionMatches.CompletionText) | Should -Be @('reg-two.example/')
    }

    It 'filters by the typed prefix, case-insensitively' {
        @((Get-Completion 'Get-RegistryTag -Auth ./auth.yaml REG-T').CompletionText) | Should -Be @('reg-two.example/')
    }

    It '-DefaultRegistry completes the hosts without a slash' {
        @((Get-Completion 'Get-SyncPlan -Auth ./auth.yaml -Source a -Destination b -DefaultRegistry reg-o').CompletionText) | Should -Be @('reg-one.example:5000')
    }

    It 'completes the registry of a RegistryCredential bound to -Credential' {
        $cred = New-RegistryCredential -Registry 'cred.example/team'
        @((Get-Completion 'Get-RegistryTag -Credential $cred ').CompletionText) | Should -Be @('cred.example/')
    }

    It 'never shows a password or user name' {
        $all = foreach ($line in 'Get-SyncPlan -Auth ./auth.yaml -Source ', 'Get-RegistryTag -Auth ./auth.yaml ',
            'Get-SyncPlan -Auth ./auth.yaml -Source a -Destination b -DefaultRegistry ') {
            Get-Completion $line
        }
        @($all).Count | Should -BeGreaterThan 0
        foreach ($m in $all) {
            foreach ($text in $m.CompletionText, $m.ListItemText, $m.ToolTip) {
                $text | Should -Not -Match ([regex]::Escape($Password))
                $text | Should -Not -Match 'alice|bob'
            }
        }
    }

    It 'a malformed -Auth file gives no completions and no error' {
        $Error.Clear()
        Get-Completion 'Get-SyncPlan -Auth ./broken.yaml -Source ' | Should -BeNullOrEmpty
        $Error | Should -BeNullOrEmpty
    }

    It '<Name> gives no completions and no error' -ForEach @(
        @{ Name = 'a missing -Auth file'; Auth = './missing.yaml' }
        @{ Name = 'a directory as -Auth'; Auth = '.' }
        @{ Name = 'a path on no file-system drive'; Auth = 'variable:/PSHOME' }
        @{ Name = 'a drive that does not exist'; Auth = 'nosuchdrive:/auth.yaml' }
        @{ Name = 'a wildcard, which is not expanded'; Auth = './a*.yaml' }
    ) {
        $Error.Clear()
        Get-Completion "Get-RegistryTag -Auth $Auth " | Should -BeNullOrEmpty
        $Error | Should -BeNullOrEmpty
    }

    It 'does not hang on an -Auth file that never answers (a FIFO nobody writes)' -Skip:($IsWindows -or -not (Get-Command mkfifo -ErrorAction Ignore)) {
        $fifo = Join-Path $TestDrive 'auth.fifo'
        & mkfifo $fifo
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        Get-Completion 'Get-RegistryTag -Auth ./auth.fifo ' | Should -BeNullOrEmpty
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 10
    }

    It 'gives nothing without credentials on the line' {
        Get-Completion 'Get-RegistryTag ' | Where-Object ResultType -EQ 'ParameterValue' | Should -BeNullOrEmpty
    }
}
