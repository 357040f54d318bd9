<#
.SYNOPSIS
    OciSync against skopeo across an emulated wide-area network: the 1 GB bench set and the 2,000-tag scale set.
.DESCRIPTION
    Every registry sits behind its own TCP delay line (OciSync.TestBed DelayLine, in `serve`): one-way delay
    RTT/2, the bandwidth shared by all connections per direction, one round trip to open a connection. The
    tools reach the source and the destination only through those lines, as a sync from Docker Hub into a
    cloud registry does.

    Per set and tool: cold sync into a fresh destination, then a no-op re-sync into it; -Runs times, the
    tools taking turns (medians reported). Measured: wall time, client CPU (OciSync: this session around
    Invoke-ImageSync; skopeo: its process), requests seen by the registries. Derived: the link floor (bytes
    / bandwidth) and the cold time's ratio to it; round trips on the critical path of a no-op (wall / RTT);
    requests per no-op tag. Every destination's digests are checked against the source.

    Writes <OutDirectory>/bench/wan.json and wan.md and prints the table. Exits non-zero when a sync failed
    or a destination differs from the source (the measurement is then not valid).
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestBed,
    [Parameter(Mandatory)] [string] $OutDirectory,
    # Round-trip time in milliseconds, and bandwidth per direction in Mbit/s (0: unlimited).
    [double] $Rtt = 40,
    [double] $Bandwidth = 500,
    [int] $Proc = 5,
    [ValidateRange(1, 9)] [int] $Runs = 3,
    # skopeo syncs one image at a time: on the scale set one run takes many minutes.
    [ValidateRange(0, 9)] [int] $SkopeoScaleRuns = 1,
    [switch] $SkipScale,
    # Only the scale set (the 1 GB set's figures from another run).
    [switch] $ScaleOnly,
    # Development loops: OciSync only.
    [switch] $SkipSkopeo
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
if ($PSVersionTable.PSVersion.Major -ge 7) { $PSStyle.OutputRendering = 'PlainText' }

$RepoRoot = Split-Path (Split-Path $PSScriptRoot)
$ModulePath = (Resolve-Path $ModulePath).Path
$BenchOut = Join-Path $OutDirectory 'bench'
New-Item -ItemType Directory -Path $BenchOut -Force | Out-Null
$Work = Join-Path ([IO.Path]::GetTempPath()) "ocisync-wan-$PID"
New-Item -ItemType Directory -Path $Work -Force | Out-Null
$Skopeo = (Get-Command skopeo -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source
if (-not $Skopeo) { throw 'skopeo is not installed (apt-get install skopeo).' }
$Problems = [Collections.Generic.List[string]]::new()
$inv = [Globalization.CultureInfo]::InvariantCulture

. (Join-Path $RepoRoot 'tests/TestBed.ps1')
. (Join-Path $PSScriptRoot 'Measure.ps1')
function Bed([string] $Command) { Invoke-OciTestBedHost $script:Bed $Command }
function Write-Step([string] $Text) { Write-Host "== $Text" }

function Get-RequestCount([string[]] $Ids) {
    Start-Sleep -Milliseconds 300 # access-log lines arrive asynchronously
    $total = 0
    foreach ($id in $Ids) { $total += (Bed "log-count $id").total }
    $total
}

function Measure-SkopeoRun([string[]] $Arguments, [string] $Label) {
    $log = Join-Path $BenchOut "wan-skopeo-$Label.log"
    $timeFile = Join-Path $Work "skopeo-$Label.time"
    $clock = [Diagnostics.Stopwatch]::StartNew()
    # GNU time reports the child's user + system CPU exactly (wait4's rusage); without it, CPU is not reported.
    if (Test-Path /usr/bin/time) { & /usr/bin/time -o $timeFile -f '%U %S' $Skopeo @Arguments *> $log } else { & $Skopeo @Arguments *> $log }
    $exit = $LASTEXITCODE
    $clock.Stop()
    if ($exit -ne 0) { $Problems.Add("skopeo $Label exited with $exit (see $log).") }
    $cpu = if (Test-Path $timeFile) { $t = (Get-Content $timeFile | Select-Object -Last 1) -split '\s+'; [double]$t[0] + [double]$t[1] } else { $null }
    [ordered]@{ seconds = [math]::Round($clock.Elapsed.TotalSeconds, 3); cpuSeconds = $cpu }
}

function Test-Digests([string] $DestId, [hashtable] $Expected, [string] $Label) {
    $refs = @($Expected.Keys | Sort-Object)
    $bad = 0
    # In slices: one command line per 200 references.
    for ($i = 0; $i -lt $refs.Count; $i += 200) {
        $slice = $refs[$i..([math]::Min($i + 199, $refs.Count - 1))]
        $found = Bed "digests $DestId $($slice -join ',')"
        foreach ($r in $slice) { if ($found[$r] -ne $Expected[$r]) { $bad++; if ($bad -le 3) { $Problems.Add("${Label}: $r is $($found[$r]), expected $($Expected[$r]).") } } }
    }
    if ($bad -gt 3) { $Problems.Add("${Label}: $bad references differ in all.") }
}

# One tool, one run: a fresh destination behind its own line, a cold sync, a no-op re-sync.
# -Floor: both lines at 0 ms and unlimited, the same syncs with no network in between: what the registries
# and this machine's CPU allow (client and registries share its cores), the floor beneath the WAN figures.
function Invoke-ToolRun([string] $Tool, [hashtable] $Set, [int] $Run, [switch] $Floor) {
    $dst = Bed 'start'
    $line = if ($Floor) { Bed "delay $($dst.id) 0 0" } else { Bed "delay $($dst.id) $($Rtt.ToString($inv)) $($Bandwidth.ToString($inv))" }
    $sourceLine = if ($Floor) { $Set.floorLine } else { $Set.line }
    $label = "$($Set.name)-$Tool-$Run$(if ($Floor) { '-floor' })"
    try {
        if ($Tool -eq 'ocisync') {
            $images = Join-Path $Work "images-$label.yaml"
            ($Set.repositories | ForEach-Object { "$($sourceLine.host)/${_}: $($line.host)/ocisync/$_" }) | Set-Content $images
            $null = Bed "log-clear $($Set.source.id)"; $null = Bed "log-clear $($dst.id)"
            $cold = Measure-OciSync $images "$label-cold" $Proc
            $cold.requests = Get-RequestCount $Set.source.id, $dst.id
            $null = Bed "log-clear $($Set.source.id)"; $null = Bed "log-clear $($dst.id)"
            $noop = Measure-OciSync $images "$label-noop" $Proc
            $noop.requests = Get-RequestCount $Set.source.id, $dst.id
            foreach ($p in @($cold.problems) + @($noop.problems)) { if ($p) { $Problems.Add($p) } }
            if ($noop.synced -gt 0) { $Problems.Add("OciSync ${label}: the no-op re-sync copied $($noop.synced) image(s).") }
            $expected = @{}; foreach ($k in $Set.digests.Keys) { $expected["ocisync/$k"] = $Set.digests[$k] }
        }
        else {
            $yaml = Join-Path $Work "skopeo-$label.yaml"
            @("$($sourceLine.host):", '  tls-verify: false', '  images:') + ($Set.repositories | ForEach-Object { "    ${_}: []" }) | Set-Content $yaml
            $arguments = @('--insecure-policy', 'sync', '--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', '--all', '--preserve-digests', $yaml, "$($line.host)/skopeo")
            $null = Bed "log-clear $($Set.source.id)"; $null = Bed "log-clear $($dst.id)"
            $cold = Measure-SkopeoRun $arguments "$label-cold"
            $cold.requests = Get-RequestCount $Set.source.id, $dst.id
            $null = Bed "log-clear $($Set.source.id)"; $null = Bed "log-clear $($dst.id)"
            $noop = Measure-SkopeoRun $arguments "$label-noop"
            $noop.requests = Get-RequestCount $Set.source.id, $dst.id
            # skopeo sync keeps only the last path element of the repository.
            $expected = @{}; foreach ($k in $Set.digests.Keys) { $expected["skopeo/$(($k -split '/')[-1])"] = $Set.digests[$k] }
        }
        Test-Digests $dst.id $expected $label
        Write-Host ("{0}: cold {1:0.00} s ({2} requests), no-op {3:0.00} s ({4} requests)" -f $label, $cold.seconds, $cold.requests, $noop.seconds, $noop.requests)
        [ordered]@{ cold = $cold; noop = $noop }
    }
    finally {
        $null = Bed "stop $($line.line)"
        $null = Bed "stop $($dst.id)"
    }
}

function New-Set([string] $Name, [string] $SeedArguments) {
    $source = Bed 'start'
    $clock = [Diagnostics.Stopwatch]::StartNew()
    $seed = Bed "seed-bench $($source.id) $SeedArguments"
    Write-Host "$Name seeded: $($seed.text) in $([math]::Round($clock.Elapsed.TotalSeconds, 1)) s"
    $line = Bed "delay $($source.id) $($Rtt.ToString($inv)) $($Bandwidth.ToString($inv))"
    $floorLine = Bed "delay $($source.id) 0 0"
    @{ name = $Name; source = $source; line = $line; floorLine = $floorLine; repositories = @($seed.repositories); tags = @($seed.tags).Count; digests = $seed.digests; totalBytes = [long]$seed.totalBytes; text = $seed.text }
}

function Median([double[]] $Values) { $v = @($Values | Sort-Object); if ($v.Count -eq 0) { $null } elseif ($v.Count % 2) { $v[($v.Count - 1) / 2] } else { ($v[$v.Count / 2 - 1] + $v[$v.Count / 2]) / 2 } }
function Fmt($v, [string] $f = '0.00') { if ($null -eq $v) { 'n/a' } else { ([double]$v).ToString($f, $inv) } }
function Spread([double[]] $Values) { if ($Values.Count -le 1) { Fmt (Median $Values) } else { "$(Fmt (Median $Values)) ($(Fmt ($Values | Measure-Object -Minimum).Minimum)–$(Fmt ($Values | Measure-Object -Maximum).Maximum))" } }

$results = [ordered]@{
    rttMs = $Rtt; bandwidthMbit = $Bandwidth; proc = $Proc; runs = $Runs
    machine = [ordered]@{ cores = [Environment]::ProcessorCount; os = [Runtime.InteropServices.RuntimeInformation]::OSDescription }
    skopeoVersion = ((& $Skopeo --version) -join ' ')
    startedAt = (Get-Date).ToUniversalTime().ToString('o')
    sets = [ordered]@{}
}
$script:Bed = $null
try {
    Import-Module $ModulePath -Force
    $script:Bed = Start-OciTestBedHost $TestBed
    $sets = @()
    if (-not $ScaleOnly) { $sets += @{ Name = 'bench'; Seed = '20 3 12'; SkopeoRuns = $(if ($SkipSkopeo) { 0 } else { $Runs }) } }
    if (-not $SkipScale) { $sets += @{ Name = 'scale'; Seed = '200 10 0 1024 2'; SkopeoRuns = $(if ($SkipSkopeo) { 0 } else { $SkopeoScaleRuns }) } }
    foreach ($s in $sets) {
        Write-Step "$($s.Name) set, $Rtt ms RTT, $Bandwidth Mbit/s"
        $set = New-Set $s.Name $s.Seed
        $o = @(); $k = @()
        for ($run = 1; $run -le $Runs; $run++) {
            $o += Invoke-ToolRun 'ocisync' $set $run
            if ($run -le $s.SkopeoRuns) { $k += Invoke-ToolRun 'skopeo' $set $run }
        }
        $machine = @(Invoke-ToolRun 'ocisync' $set 1 -Floor)
        $floor = if ($Bandwidth -gt 0) { $set.totalBytes * 8 / ($Bandwidth * 1e6) } else { 0 }
        $results.sets[$s.Name] = [ordered]@{ text = $set.text; tags = $set.tags; totalBytes = $set.totalBytes; linkFloorSeconds = [math]::Round($floor, 2); ocisync = $o; skopeo = $k; machineFloor = $machine }
        $null = Bed "stop $($set.line.line)"; $null = Bed "stop $($set.floorLine.line)"; $null = Bed "stop $($set.source.id)"
    }
}
catch {
    $Problems.Add("The benchmark broke: $($_.Exception.Message) at $($_.InvocationInfo.PositionMessage)")
}
finally {
    Stop-OciTestBedHost $script:Bed
    Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue
}

$lines = [Collections.Generic.List[string]]::new()
$lines.Add("| set | tool | cold, s | cold / link floor | no-op, s | no-op round trips (wall / RTT) | requests per no-op tag | client CPU cold, s |")
$lines.Add('|---|---|---:|---:|---:|---:|---:|---:|')
foreach ($name in $results.sets.Keys) {
    $set = $results.sets[$name]
    $lines.Add("| $name ($($set.tags) tags, $(Fmt ($set.totalBytes / 1e9) '0.000') GB) | link floor | $(Fmt $set.linkFloorSeconds) | 1.00 | | | | |")
    $cold = @{}; $noop = @{}
    foreach ($tool in 'machineFloor', 'ocisync', 'skopeo') {
        $r = @($set[$tool])
        if ($r.Count -eq 0) { continue }
        $c = [double[]]@($r | ForEach-Object { $_.cold.seconds }); $n = [double[]]@($r | ForEach-Object { $_.noop.seconds })
        $cold[$tool] = Median $c; $noop[$tool] = Median $n
        $perTag = Median ([double[]]@($r | ForEach-Object { $_.noop.requests / $set.tags }))
        $cpu = Median ([double[]]@($r | ForEach-Object { $_.cold.cpuSeconds }))
        $ratio = if ($set.linkFloorSeconds -gt 0) { Fmt ($cold[$tool] / $set.linkFloorSeconds) } else { 'n/a' }
        $label = if ($tool -eq 'machineFloor') { 'OciSync, no network (machine floor)' } else { "$tool (n=$($r.Count))" }
        $lines.Add("| $name | $label | $(Spread $c) | $ratio | $(Spread $n) | $(if ($tool -eq 'machineFloor') { '' } else { Fmt ($noop[$tool] * 1000 / $Rtt) '0' }) | $(Fmt $perTag) | $(Fmt $cpu) |")
    }
    if ($cold.ContainsKey('skopeo') -and $cold.ContainsKey('ocisync')) {
        $lines.Add("| $name | skopeo / OciSync | $(Fmt ($cold.skopeo / $cold.ocisync))× | | $(Fmt ($noop.skopeo / $noop.ocisync))× | | | |")
    }
}
$results.problems = @($Problems)
$results.finishedAt = (Get-Date).ToUniversalTime().ToString('o')
$md = @('# OciSync across an emulated WAN', '',
    "Every registry behind its own delay line: $Rtt ms RTT, $(if ($Bandwidth -gt 0) { "$Bandwidth Mbit/s shared per direction" } else { 'unlimited bandwidth' }), one round trip per new connection. Invoke-ImageSync -Proc $Proc (default settings) inside this session; skopeo sync 1 process. Medians of the runs (range). Client and registries share the machine ($($results.machine.cores) cores).",
    '') + $lines
if ($Problems.Count -gt 0) { $md += @('', '## Problems (the benchmark is not valid)', '') + ($Problems | ForEach-Object { "- $_" }) }
$md | Set-Content (Join-Path $BenchOut 'wan.md')
$results | ConvertTo-Json -Depth 8 | Set-Content (Join-Path $BenchOut 'wan.json')
Write-Host ''
$md | ForEach-Object { Write-Host $_ }
Write-Host ''
Write-Host "Results: $(Join-Path $BenchOut 'wan.json'), $(Join-Path $BenchOut 'wan.md')"
if ($Problems.Count -gt 0) { exit 1 }
exit 0
