# Dot-sourced in BeforeAll of every test file: imports the packaged module and defines the
# helpers that start and stop the real registries (OciSync.TestBed) and write auth files.
#   OCISYNC_MODULE  = out/OciSync/OciSync.psd1 (build.ps1 -Task Package)
#   OCISYNC_TESTBED = tests/OciSync.TestBed/bin/<Configuration>/net10.0/OciSync.TestBed.dll

Set-StrictMode -Version Latest
if ($PSVersionTable.PSVersion.Major -ge 7) { $PSStyle.OutputRendering = 'PlainText' }

if ([string]::IsNullOrEmpty($env:OCISYNC_MODULE) -or -not (Test-Path $env:OCISYNC_MODULE)) {
    throw "OCISYNC_MODULE must be the path of the packaged module (out/OciSync/OciSync.psd1, made by build.ps1 -Task Package); it is '$env:OCISYNC_MODULE'."
}
Import-Module $env:OCISYNC_MODULE -Force -ErrorAction Stop

# The module reads docker's and podman's credential files: the tests see none of this machine's (a test that
# wants some sets DOCKER_CONFIG itself). REGISTRY_AUTH_FILE, which podman's runtime file yields to, names nothing.
$script:NoDockerConfig = Join-Path ([IO.Path]::GetTempPath()) 'ocisync-pester-no-docker-config'
New-Item -ItemType Directory -Force $NoDockerConfig | Out-Null
$env:DOCKER_CONFIG = $NoDockerConfig
$env:REGISTRY_AUTH_FILE = Join-Path $NoDockerConfig 'no-auth.json'

$script:CommonParameters = @([System.Management.Automation.PSCmdlet]::CommonParameters) + @([System.Management.Automation.PSCmdlet]::OptionalCommonParameters)
$script:OciSyncCmdlets = @(
    'Get-RegistryTag', 'Get-RegistryManifest', 'Get-SyncPlan', 'Export-SyncPlan', 'Invoke-ImageSync',
    'New-SyncRule', 'Import-SyncRule', 'New-RegistryCredential', 'Import-RegistryCredential', 'Merge-SyncResult'
)

# Start-OciTestBed / Stop-OciTestBed: the one start-up of the test bed, shared with the demo.
. (Join-Path $PSScriptRoot '../TestBed.ps1')

function New-OciAuthFile {
    <#
    .SYNOPSIS
        Writes an image-syncer auth file for the Basic and token registries of a test bed.
        -Password overrides both passwords (e.g. '${OCISYNC_CANARY}' for a wrong one); .json writes JSON.
    #>
    param(
        [Parameter(Mandatory)] $TestBed,
        [Parameter(Mandatory)] [string] $Path,
        [string] $BasicPassword,
        [string] $TokenPassword,
        [switch] $BasicOnly
    )
    $entries = [ordered]@{}
    $entries[$TestBed.Basic.host] = [ordered]@{ username = $TestBed.Basic.username; password = if ($PSBoundParameters.ContainsKey('BasicPassword')) { $BasicPassword } else { $TestBed.Basic.password } }
    if (-not $BasicOnly) {
        $entries[$TestBed.Token.host] = [ordered]@{ username = $TestBed.Token.username; password = if ($PSBoundParameters.ContainsKey('TokenPassword')) { $TokenPassword } else { $TestBed.Token.password } }
    }
    if ($Path -like '*.json') {
        $entries | ConvertTo-Json | Set-Content -Path $Path -Encoding utf8
    }
    else {
        $lines = foreach ($key in $entries.Keys) {
            "${key}:"
            "  username: `"$($entries[$key].username)`""
            "  password: `"$($entries[$key].password)`""
        }
        $lines | Set-Content -Path $Path -Encoding utf8
    }
    $Path
}

function Get-ClosedLoopbackPort {
    # A port that was free a moment ago: nothing listens there, connections are refused.
    $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
    $listener.Start()
    $port = $listener.LocalEndpoint.Port
    $listener.Stop()
    $port
}

function New-TestRepositoryName {
    # A destination repository no other test writes to.
    param([string] $Prefix = 't')
    "$Prefix$([guid]::NewGuid().ToString('N').Substring(0, 10))"
}

function Invoke-ChildPwsh {
    # Runs a command in a fresh non-interactive pwsh (the same one running the tests) with the module
    # imported; returns every stream merged as text lines and the exit code.
    param([Parameter(Mandatory)] [string] $Command)
    $exe = [Environment]::ProcessPath
    [string[]] $prefix = @()
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $prefix = @([Environment]::GetCommandLineArgs()[0]) }   # pwsh.dll of a dotnet tool
    $script = "Import-Module '$($env:OCISYNC_MODULE)' -ErrorAction Stop; $Command"
    $lines = & $exe @prefix -NoProfile -NonInteractive -Command $script 2>&1 | ForEach-Object { "$_" }
    [pscustomobject]@{ Lines = @($lines); ExitCode = $LASTEXITCODE }
}
