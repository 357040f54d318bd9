# docker's credentials as users have them: a config.json whose credsStore is the real docker-credential-pass
# (Debian golang-docker-credential-helpers) over a pass store and a throw-away GPG key made here, credHelpers
# per registry, inline auths entries, and podman's REGISTRY_AUTH_FILE; no -Auth or -Credential given.
BeforeAll {
    . $PSScriptRoot/Common.ps1
    $bed = Start-OciTestBed
    $A = $bed.Anonymous.host; $B = $bed.Basic.host; $T = $bed.Token.host

    # gpg-agent's socket path must stay short: a directory right under /tmp.
    $script:saved = @{}
    foreach ($name in 'GNUPGHOME', 'PASSWORD_STORE_DIR', 'DOCKER_CONFIG', 'REGISTRY_AUTH_FILE') { $saved[$name] = [Environment]::GetEnvironmentVariable($name) }
    $script:gnupg = Join-Path '/tmp' ("ocg" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory $gnupg | Out-Null
    & chmod 700 $gnupg
    $env:GNUPGHOME = $gnupg
    $env:PASSWORD_STORE_DIR = Join-Path $TestDrive 'password-store'
    $null = & gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key 'OciSync Test <ocisync@test.invalid>' default default never 2>&1
    $fingerprint = (& gpg --batch --list-keys --with-colons 2>$null | Where-Object { $_ -like 'fpr:*' } | Select-Object -First 1).Split(':')[9]
    $null = & pass init $fingerprint 2>&1
    foreach ($r in $bed.Basic, $bed.Token) {
        $null = (@{ ServerURL = $r.host; Username = $r.username; Secret = $r.password } | ConvertTo-Json -Compress) | & docker-credential-pass store 2>&1
        if ($LASTEXITCODE -ne 0) { throw "docker-credential-pass store failed for $($r.host)" }
    }

    function Set-DockerConfig([hashtable] $Config) {
        $dir = Join-Path $TestDrive ("docker-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
        New-Item -ItemType Directory $dir | Out-Null
        $Config | ConvertTo-Json -Depth 5 | Set-Content (Join-Path $dir 'config.json')
        $env:DOCKER_CONFIG = $dir
        Join-Path $dir 'config.json'
    }
    function Get-Auth([string] $User, [string] $Password) { [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("${User}:${Password}")) }
}

AfterAll {
    & gpgconf --kill gpg-agent 2>$null
    foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
    Remove-Item $gnupg -Recurse -Force -ErrorAction SilentlyContinue
    Stop-OciTestBed $bed
}

Describe 'Docker credentials' {
    It 'syncs to a Basic and a token registry with the credentials only in docker-credential-pass (credsStore)' {
        $config = Set-DockerConfig @{ credsStore = 'pass' }
        $repo = New-TestRepositoryName 'dcp'
        $verbose = $( $results = Invoke-ImageSync -Source "$A/demo/busybox:1.36" -Destination "$B/$repo/busybox", "$T/$repo/busybox" -ErrorAction Stop -Verbose ) 4>&1

        @($results | Where-Object Action -EQ 'Synced').Count | Should -Be 2
        $text = ($verbose | ForEach-Object { "$_" }) -join "`n"
        $text | Should -Match ([regex]::Escape("Credentials for ${B}: docker-credential-pass (credsStore at ${config}:"))
        $text | Should -Match ([regex]::Escape("Credentials for ${T}: docker-credential-pass (credsStore at ${config}:"))
        $text | Should -Not -Match ([regex]::Escape($bed.Basic.password))
        $text | Should -Not -Match ([regex]::Escape($bed.Token.password))
        (Get-RegistryManifest "$B/$repo/busybox:1.36").Digest | Should -Be (Get-RegistryManifest "$A/demo/busybox:1.36").Digest
    }

    It 'uses credHelpers for one registry and an inline auths entry for another' {
        $null = Set-DockerConfig @{
            credHelpers = @{ $B = 'pass' }
            auths       = @{ $T = @{ auth = (Get-Auth $bed.Token.username $bed.Token.password) } }
        }
        $repo = New-TestRepositoryName 'dch'
        $results = Invoke-ImageSync -Source "$A/demo/busybox:1.36" -Destination "$B/$repo/busybox", "$T/$repo/busybox" -ErrorAction Stop
        @($results | Where-Object Action -EQ 'Synced').Count | Should -Be 2
        (Get-RegistryTag "$T/$repo/busybox").Tag | Should -Be '1.36'
    }

    It 'reads podman''s REGISTRY_AUTH_FILE first' {
        $null = Set-DockerConfig @{ auths = @{ $B = @{ auth = (Get-Auth $bed.Basic.username 'wrong-password') } } }
        $podman = Join-Path $TestDrive 'podman-auth.json'
        @{ auths = @{ $B = @{ auth = (Get-Auth $bed.Basic.username $bed.Basic.password) } } } | ConvertTo-Json -Depth 5 | Set-Content $podman
        $env:REGISTRY_AUTH_FILE = $podman
        try {
            Get-RegistryTag "$B/$(New-TestRepositoryName 'none')" -ErrorAction SilentlyContinue -ErrorVariable ev | Out-Null
            $ev[0].FullyQualifiedErrorId | Should -BeLike 'RepositoryNotFound*'   # authenticated: the repository is simply not there
        }
        finally { $env:REGISTRY_AUTH_FILE = Join-Path $NoDockerConfig 'no-auth.json' }
    }

    It '-Auth comes before docker''s files: its wrong password is used, and fails' {
        $null = Set-DockerConfig @{ credsStore = 'pass' }
        $auth = New-OciAuthFile -TestBed $bed -Path (Join-Path $TestDrive 'wrong.yaml') -BasicPassword 'not-it' -BasicOnly
        $null = Invoke-ImageSync -Source "$A/demo/busybox:1.36" -Destination "$B/$(New-TestRepositoryName 'dcw')/busybox" -Auth $auth -Retries 0 -ErrorAction SilentlyContinue -ErrorVariable ev
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'RegistryUnauthorized*'
    }

    It 'a helper that is not installed is a CredentialHelperFailed error naming it; images elsewhere go on' {
        $config = Set-DockerConfig @{ credHelpers = @{ $B = 'ocisync-absent' }; auths = @{ $T = @{ auth = (Get-Auth $bed.Token.username $bed.Token.password) } } }
        $repo = New-TestRepositoryName 'dcm'
        $results = Invoke-ImageSync -Source "$A/demo/busybox:1.36" -Destination "$B/$repo/busybox", "$T/$repo/busybox" -ErrorAction SilentlyContinue -ErrorVariable ev
        @($results | Where-Object Action -EQ 'Synced').Count | Should -Be 1
        $ev | Should -HaveCount 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'CredentialHelperFailed*'
        $ev[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
        "$ev" | Should -Match 'docker-credential-ocisync-absent'
        "$ev" | Should -Match ([regex]::Escape($config))
    }

    It 'a broken config.json is a warning naming the file and line; the sync goes on anonymously' {
        $dir = Join-Path $TestDrive 'broken-docker'
        New-Item -ItemType Directory $dir | Out-Null
        "{`n  `"auths`": {`n    `"$B`": {`"auth`": `"%%%`"}`n  }`n}" | Set-Content (Join-Path $dir 'config.json')
        $env:DOCKER_CONFIG = $dir
        $null = Get-RegistryTag "$A/demo/busybox" -WarningVariable wv -ErrorAction Stop
        "$wv" | Should -Match ([regex]::Escape((Join-Path $dir 'config.json')) + ':3')
        "$wv" | Should -Match 'not base64'
        "$wv" | Should -Not -Match '%%%'
    }

    It '-Proxy with a password over http:// is refused before anything is sent, and the password is not shown' {
        { Get-RegistryTag "$A/demo/busybox" -Proxy 'http://me:pr0xy-pw@127.0.0.1:9' -ErrorAction Stop } | Should -Throw -ErrorId 'InsecureProxy,OciSync.PowerShell.Commands.GetRegistryTagCommand'
        try { Get-RegistryTag "$A/demo/busybox" -Proxy 'http://me:pr0xy-pw@127.0.0.1:9' -ErrorAction Stop } catch { "$_" | Should -Not -Match 'pr0xy-pw' }
    }
}
