<#
.SYNOPSIS
    Benchmark helper: hosts test bed registries in their own pwsh process and answers commands on stdin.
.DESCRIPTION
    Run by Invoke-Benchmark.ps1 as a child process so that seeding (which builds 50 MiB layers in memory)
    never touches the measured session, while the registries' access logs — which RegistryServer keeps in
    memory only; the `up` CLI does not expose them — stay countable.

    Protocol: one command per stdin line; each answer is one stdout line "@@ <json>" or "@@ERR <message>".
      start                          start an anonymous registry; answers {id, host}
      seed-bench ID [REPOS TAGS BIG] SeedSets.SeedBenchAsync (defaults 20 3 12); answers {tags, digests, totalBytes, ...}
      seed-big ID REPO TAG MIB       push an OCI image with one MIB-MiB random layer, streamed from a temp file
      log-clear ID                   forget the access log so far
      log-count ID                   {total, byKind: {"GET manifests 200": n, ...}, byAgent: {...}}
      digests ID REPO:TAG[,REPO:TAG] {"repo:tag": digest-or-null}
      stop ID                        stop one registry and delete its storage
      quit                           stop everything and exit (also on stdin EOF)
#>
param([Parameter(Mandatory)] [string] $TestBed)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Add-Type -Path $TestBed

$next = 0
$servers = [Collections.Generic.Dictionary[string, object]]::new()
$none = [Threading.CancellationToken]::None

function Send([object] $Value) {
    [Console]::Out.WriteLine('@@ ' + ($Value | ConvertTo-Json -Compress -Depth 6))
    [Console]::Out.Flush()
}

function Wait-Task($Task) { $Task.GetAwaiter().GetResult() }

function Get-Server([string] $Id) {
    if (-not $servers.ContainsKey($Id)) { throw "no registry '$Id'" }
    $servers[$Id]
}

# Streams a big blob from a file: POST an upload, PUT the whole file with ?digest=.
function Push-FileBlob([Uri] $Base, [string] $Repository, [string] $Digest, [string] $Path) {
    $client = [Net.Http.HttpClient]::new()
    $client.Timeout = [TimeSpan]::FromMinutes(15)
    try {
        $start = $client.PostAsync([Uri]::new($Base, "/v2/$Repository/blobs/uploads/"), $null).GetAwaiter().GetResult()
        if ([int]$start.StatusCode -ne 202) { throw "upload start answered $([int]$start.StatusCode)" }
        $location = $start.Headers.Location
        if (-not $location.IsAbsoluteUri) { $location = [Uri]::new($Base, $location) }
        $sep = if ($location.Query.Length -gt 0) { '&' } else { '?' }
        $stream = [IO.File]::OpenRead($Path)
        try {
            $content = [Net.Http.StreamContent]::new($stream, 1MB)
            $content.Headers.ContentType = [Net.Http.Headers.MediaTypeHeaderValue]::new('application/octet-stream')
            $content.Headers.ContentLength = $stream.Length
            $done = $client.PutAsync([Uri]::new("$location$($sep)digest=$([Uri]::EscapeDataString($Digest))"), $content).GetAwaiter().GetResult()
            if ([int]$done.StatusCode -ne 201) { throw "blob upload answered $([int]$done.StatusCode): $($done.Content.ReadAsStringAsync().GetAwaiter().GetResult())" }
        }
        finally { $stream.Dispose() }
    }
    finally { $client.Dispose() }
}

function Invoke-SeedBig([string] $Id, [string] $Repository, [string] $Tag, [int] $MiB) {
    $server = Get-Server $Id
    $http = [OciSync.TestBed.RegistryHttp]::new($server)
    $file = Join-Path ([IO.Path]::GetTempPath()) "ocisync-bench-biglayer-$PID.bin"
    $hash = [Security.Cryptography.IncrementalHash]::CreateHash([Security.Cryptography.HashAlgorithmName]::SHA256)
    $buffer = [byte[]]::new(1MB)
    $fs = [IO.File]::Create($file)
    try {
        # Random bytes (incompressible) written 1 MiB at a time; the layer lives on disk only.
        for ($i = 0; $i -lt $MiB; $i++) {
            [Security.Cryptography.RandomNumberGenerator]::Fill($buffer)
            $fs.Write($buffer, 0, $buffer.Length)
            $hash.AppendData($buffer)
        }
    }
    finally { $fs.Dispose() }
    $size = [long]$MiB * 1MB
    $layerDigest = 'sha256:' + [Convert]::ToHexStringLower($hash.GetHashAndReset())
    try { Push-FileBlob $server.BaseUri $Repository $layerDigest $file }
    finally { Remove-Item $file -Force -ErrorAction SilentlyContinue }

    # The layer is labelled gzip but holds raw random bytes; registries and copiers do not look inside.
    $config = [Text.Encoding]::UTF8.GetBytes((@{
                architecture = 'amd64'; os = 'linux'
                rootfs = @{ type = 'layers'; diff_ids = @($layerDigest) }
            } | ConvertTo-Json -Compress -Depth 4))
    $configDigest = [OciSync.TestBed.ImageFactory]::Sha256Digest($config)
    $null = Wait-Task $http.PushBlobAsync($Repository, $configDigest, $config)
    $manifest = [Text.Encoding]::UTF8.GetBytes((@{
                schemaVersion = 2
                mediaType     = 'application/vnd.oci.image.manifest.v1+json'
                config        = @{ mediaType = 'application/vnd.oci.image.config.v1+json'; digest = $configDigest; size = $config.Length }
                layers        = @(@{ mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip'; digest = $layerDigest; size = $size })
            } | ConvertTo-Json -Compress -Depth 5))
    $null = Wait-Task $http.PushManifestAsync($Repository, $Tag, $manifest, 'application/vnd.oci.image.manifest.v1+json')
    @{ repository = $Repository; tag = $Tag; digest = [OciSync.TestBed.ImageFactory]::Sha256Digest($manifest); layerDigest = $layerDigest; layerSize = $size }
}

function Get-LogCount([string] $Id) {
    $lines = (Get-Server $Id).AccessLogLines
    $byKind = @{}; $byAgent = @{}
    foreach ($l in $lines) {
        # combined log format: host - - [time] "METHOD /path HTTP/1.1" status bytes "referer" "agent"
        if ($l -match '"(?<m>[A-Z]+) (?<p>\S+) HTTP/1\.1" (?<s>\d{3}) \S+ "[^"]*" "(?<a>[^"]*)"') {
            $p = $Matches.p; $method = $Matches.m; $status = $Matches.s; $agent = ($Matches.a -split '[/ ]')[0]
            $kind = if ($p -match '/blobs/uploads/') { 'uploads' } elseif ($p -match '/blobs/') { 'blobs' } elseif ($p -match '/manifests/') { 'manifests' } elseif ($p -match '/tags/list') { 'tags' } elseif ($p -match '^/v2/?$') { 'v2' } else { 'other' }
            $k = "$method $kind $status"
            $byKind[$k] = 1 + $(if ($byKind.ContainsKey($k)) { $byKind[$k] } else { 0 })
            $byAgent[$agent] = 1 + $(if ($byAgent.ContainsKey($agent)) { $byAgent[$agent] } else { 0 })
        }
    }
    @{ total = $lines.Count; byKind = $byKind; byAgent = $byAgent }
}

try {
    while ($true) {
        $line = [Console]::In.ReadLine()
        if ($null -eq $line) { break }
        $words = @($line.Trim() -split '\s+' | Where-Object { $_ })
        if ($words.Count -eq 0) { continue }
        try {
            switch ($words[0]) {
                'start' {
                    $s = Wait-Task ([OciSync.TestBed.RegistryServer]::StartAsync([OciSync.TestBed.RegistryAuthKind]::Anonymous, $none))
                    $script:next++; $id = "r$script:next"
                    $servers[$id] = $s
                    Send @{ id = $id; host = $s.Host }
                }
                'seed-bench' {
                    # Optional sizes after the id (Quick.ps1 seeds a smaller set): repositories tags big-layers.
                    $repos = if ($words.Count -gt 2) { [int]$words[2] } else { 20 }
                    $tagsPer = if ($words.Count -gt 3) { [int]$words[3] } else { 3 }
                    $bigs = if ($words.Count -gt 4) { [int]$words[4] } else { 12 }
                    $r = Wait-Task ([OciSync.TestBed.SeedSets]::SeedBenchAsync((Get-Server $words[1]), $repos, $tagsPer, 5, $bigs, 50MB, [int](9MB / 4), $null))
                    $digests = @{}
                    foreach ($k in $r.Digests.Keys) { $digests[$k] = $r.Digests[$k] }
                    Send @{ repositories = @($r.Repositories); tags = @($r.Tags); digests = $digests; blobs = $r.Blobs; manifests = $r.Manifests; totalBytes = $r.TotalBytes; text = $r.ToString() }
                }
                'seed-big' { Send (Invoke-SeedBig $words[1] $words[2] $words[3] ([int]$words[4])) }
                'log-clear' { (Get-Server $words[1]).ClearLog(); Send @{ ok = $true } }
                'log-count' { Send (Get-LogCount $words[1]) }
                'digests' {
                    $http = [OciSync.TestBed.RegistryHttp]::new((Get-Server $words[1]))
                    $answer = @{}
                    foreach ($ref in ($words[2] -split ',')) {
                        $i = $ref.LastIndexOf(':')
                        $answer[$ref] = Wait-Task $http.GetManifestDigestAsync($ref.Substring(0, $i), $ref.Substring($i + 1))
                    }
                    Send $answer
                }
                'stop' {
                    $s = Get-Server $words[1]
                    $null = $servers.Remove($words[1])
                    $null = Wait-Task $s.DisposeAsync().AsTask()
                    Send @{ ok = $true }
                }
                'quit' { Send @{ ok = $true }; return }
                default { throw "unknown command '$($words[0])'" }
            }
        }
        catch {
            [Console]::Out.WriteLine('@@ERR ' + ($_.Exception.GetBaseException().Message -replace '\s+', ' '))
            [Console]::Out.Flush()
        }
    }
}
finally {
    foreach ($s in $servers.Values) { $null = $s.DisposeAsync().AsTask().GetAwaiter().GetResult() }
}
