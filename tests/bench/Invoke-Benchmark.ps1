<#
.SYNOPSIS
    Benchmarks OciSync's Invoke-ImageSync against skopeo sync on ≈1 GB in local registries.
.DESCRIPTION
    Starts real distribution registries through `OciSync.TestBed serve` (tests/TestBed.ps1: its own
    process, so seeding never touches this session and the registries' access logs can be counted): one source seeded with the bench set
    (20 repositories × 3 tags + one multi-platform image) and an empty destination per tool.

    For each tool: cold sync, then a no-op re-sync into the same destination. Measured: wall time,
    client CPU, peak memory, requests per no-op tag (source + destination access logs). OciSync runs
    in this session (module import and pwsh start-up are reported apart); skopeo is an external process.
    Then a single 1 GiB layer is copied by each tool to measure memory growth while streaming.

    Writes <OutDirectory>/bench/results.json and results.md and prints the table. Exits 0 when the
    measurement completed (targets missed or not); non-zero when a sync failed or a destination is
    incomplete or differs from the source.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $TestBed,
    [Parameter(Mandatory)] [string] $OutDirectory,
    # image-syncer's and Invoke-ImageSync's default.
    [int] $Proc = 5,
    [int] $BigLayerMiB = 1024,
    # Cold syncs per tool: the machine is shared and noisy, so cold figures are medians.
    [ValidateRange(1, 9)] [int] $ColdRuns = 3
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
if ($PSVersionTable.PSVersion.Major -ge 7) { $PSStyle.OutputRendering = 'PlainText' }

$RepoRoot = Split-Path (Split-Path $PSScriptRoot)
$ModulePath = (Resolve-Path $ModulePath).Path
$TestBed = (Resolve-Path $TestBed).Path
$BenchOut = Join-Path $OutDirectory 'bench'
New-Item -ItemType Directory -Path $BenchOut -Force | Out-Null
$Work = Join-Path ([IO.Path]::GetTempPath()) "ocisync-bench-$PID"
New-Item -ItemType Directory -Path $Work -Force | Out-Null
$Skopeo = (Get-Command skopeo -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1).Source
if (-not $Skopeo) { throw 'skopeo is not installed (apt-get install skopeo).' }
$GnuTime = if (Test-Path /usr/bin/time) { '/usr/bin/time' } else { $null }
$Problems = [Collections.Generic.List[string]]::new()   # anything that makes the benchmark itself invalid

function Write-Step([string] $Text) { Write-Host "== $Text" }

# ---------------------------------------------------------------- test bed host (OciSync.TestBed serve)

. (Join-Path $RepoRoot 'tests/TestBed.ps1')
function Invoke-BedHost([string] $Command) { Invoke-OciTestBedHost $script:Bed $Command }

# Requests seen by the registries since Clear-Requests, waited for briefly (log lines arrive asynchronously).
function Clear-Requests([string[]] $Ids) { foreach ($id in $Ids) { $null = Invoke-BedHost "log-clear $id" } }
function Get-Requests([string[]] $Ids) {
    Start-Sleep -Milliseconds 500
    $total = 0; $byKind = [ordered]@{}
    foreach ($id in $Ids) {
        $c = Invoke-BedHost "log-count $id"
        $total += $c.total
        foreach ($k in ($c.byKind.Keys | Sort-Object)) { $byKind["$id $k"] = $c.byKind[$k] }
    }
    # The readiness probe's GET /v2/ is not counted: the bed host starts no probes after start-up.
    [ordered]@{ total = $total; byKind = $byKind }
}

# ---------------------------------------------------------------- measuring OciSync in this session

. (Join-Path $PSScriptRoot 'Measure.ps1')

function Measure-OciSyncHere([string] $ImagesFile, [string] $Label) {
    $r = Measure-OciSync $ImagesFile $Label $Proc
    foreach ($p in $r.problems) { $Problems.Add($p) }
    $r
}

# A fresh `dotnet pwsh` that imports the module and measures one call: memory growth is not hidden by
# heap this session already grew (the GC keeps freed segments mapped).
function Measure-OciSyncChild([string] $ImagesFile, [string] $Label) {
    $json = Join-Path $Work "ocisync-$Label.json"
    Push-Location $RepoRoot
    try { & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'Invoke-OciSyncChild.ps1') -ModulePath $ModulePath -Images $ImagesFile -Proc $Proc -Label $Label -ResultPath $json }
    finally { Pop-Location }
    if ($LASTEXITCODE -ne 0 -or -not (Test-Path $json)) { throw "The OciSync child run '$Label' failed (exit $LASTEXITCODE)." }
    $r = Get-Content $json -Raw | ConvertFrom-Json -AsHashtable
    foreach ($p in $r.problems) { $Problems.Add($p) }
    $r
}

# ---------------------------------------------------------------- measuring skopeo (external process)

function Measure-Skopeo([string[]] $Arguments, [string] $Label) {
    $log = Join-Path $BenchOut "skopeo-$Label.log"
    $clock = [Diagnostics.Stopwatch]::StartNew()
    if ($GnuTime) {
        # GNU time reports the child's user/system CPU and max RSS exactly (from wait4's rusage).
        $timeFile = Join-Path $Work "skopeo-$Label.time"
        & $GnuTime -o $timeFile -f '%e %U %S %M' $Skopeo @Arguments *> $log
        $exit = $LASTEXITCODE
        $clock.Stop()
        $parts = ((Get-Content $timeFile | Select-Object -Last 1) -split '\s+')
        $cpu = [double]$parts[1] + [double]$parts[2]
        $peakMiB = [double]$parts[3] / 1024
    }
    else {
        # No GNU time: sample /proc/<pid> (utime+stime in clock ticks, VmHWM) every 50 ms until exit.
        $p = Start-Process -FilePath $Skopeo -ArgumentList $Arguments -RedirectStandardError $log -RedirectStandardOutput "$log.out" -PassThru
        $cpu = 0.0; $peakMiB = 0.0
        while (-not $p.HasExited) {
            try {
                $stat = (Get-Content "/proc/$($p.Id)/stat" -Raw) -replace '^.*\) ', ''
                $f = $stat -split ' '
                $cpu = ([double]$f[11] + [double]$f[12]) / 100
                $hwm = Get-Content "/proc/$($p.Id)/status" | Where-Object { $_ -like 'VmHWM:*' }
                if ($hwm -match '(\d+)') { $peakMiB = [math]::Max($peakMiB, [double]$Matches[1] / 1024) }
            } catch { }
            Start-Sleep -Milliseconds 50
        }
        $p.WaitForExit(); $exit = $p.ExitCode
        $clock.Stop()
    }
    if ($exit -ne 0) { $Problems.Add("skopeo $Label exited with $exit (see $log).") }
    [ordered]@{
        seconds    = [math]::Round($clock.Elapsed.TotalSeconds, 3)
        cpuSeconds = [math]::Round($cpu, 3)
        peakRssMiB = [math]::Round($peakMiB, 1)
        exitCode   = $exit
        log        = $log
        cpuMethod  = if ($GnuTime) { 'GNU time (rusage)' } else { '/proc sampling, 50 ms' }
    }
}

# ---------------------------------------------------------------- verification

# Every tag's digest at the destination equals the source's; a sample is checked whole (blobs, children).
function Test-Destination([string] $BedId, [string] $DestHost, [hashtable] $Expected, [string] $Label) {
    $refs = @($Expected.Keys | Sort-Object)
    $found = Invoke-BedHost "digests $BedId $($refs -join ',')"
    $bad = @($refs | Where-Object { $found[$_] -ne $Expected[$_] })
    foreach ($r in $bad) { $Problems.Add("${Label}: $r is $($found[$r]) at the destination, expected $($Expected[$r]).") }
    $sample = @($refs | Where-Object { $_ -match '/(multi:1\.0|repo-00:1\.0|repo-07:1\.2|repo-19:1\.1|layer:1\.0)$' })
    $complete = 0
    foreach ($r in $sample) {
        $i = $r.LastIndexOf(':')
        $null = & dotnet $TestBed verify --host $DestHost --repository $r.Substring(0, $i) --reference $r.Substring($i + 1) 2>&1
        if ($LASTEXITCODE -ne 0) { $Problems.Add("${Label}: $r is incomplete at the destination (OciSync.TestBed verify).") } else { $complete++ }
    }
    [ordered]@{ tagsChecked = $refs.Count; digestMismatches = $bad.Count; sampleComplete = "$complete/$($sample.Count)" }
}

# ---------------------------------------------------------------- run

$results = [ordered]@{
    machine   = [ordered]@{ cores = [Environment]::ProcessorCount; os = [Runtime.InteropServices.RuntimeInformation]::OSDescription; pwsh = "$($PSVersionTable.PSVersion)"; dotnet = [Environment]::Version.ToString() }
    proc      = $Proc
    skopeoVersion = ((& $Skopeo --version) -join ' ')
    startedAt = (Get-Date).ToUniversalTime().ToString('o')
}
$script:Bed = $null
try {
    Write-Step 'PowerShell start-up (dotnet pwsh -NoProfile -Command exit, median of 3)'
    $startups = foreach ($i in 1..3) {
        Push-Location $RepoRoot
        try { (Measure-Command { & dotnet pwsh -NoProfile -NonInteractive -Command 'exit 0' }).TotalSeconds } finally { Pop-Location }
    }
    $results.pwshStartupSeconds = [math]::Round(($startups | Sort-Object)[1], 3)

    Write-Step 'Import-Module OciSync'
    $importSeconds = (Measure-Command { Import-Module $ModulePath -Force }).TotalSeconds
    $results.moduleImportSeconds = [math]::Round($importSeconds, 3)

    Write-Step 'Starting registries: a source and one empty destination per tool'
    $script:Bed = Start-OciTestBedHost $TestBed
    $src = Invoke-BedHost 'start'
    $dstO = Invoke-BedHost 'start'
    $dstS = Invoke-BedHost 'start'
    Write-Host "source $($src.host), OciSync destination $($dstO.host), skopeo destination $($dstS.host)"

    Write-Step 'Seeding the bench set into the source (~40 s)'
    $seedClock = [Diagnostics.Stopwatch]::StartNew()
    $seed = Invoke-BedHost "seed-bench $($src.id)"
    $results.seed = [ordered]@{ text = $seed.text; repositories = @($seed.repositories).Count; tags = @($seed.tags).Count; blobs = $seed.blobs; manifests = $seed.manifests; totalBytes = $seed.totalBytes; seconds = [math]::Round($seedClock.Elapsed.TotalSeconds, 1) }
    Write-Host "seeded: $($seed.text) in $($results.seed.seconds) s"
    $tagCount = @($seed.tags).Count

    # OciSync: image-syncer images file, one line per repository (all tags).
    # skopeo: one YAML source listing every repository (all tags), one process, its best single run.
    $skopeoYaml = Join-Path $Work 'skopeo-sync.yaml'
    @("$($src.host):", '  tls-verify: false', '  images:') + ($seed.repositories | ForEach-Object { "    ${_}: []" }) | Set-Content $skopeoYaml
    function New-SkopeoSyncArgs([string] $DestHost) { @('--insecure-policy', 'sync', '--src', 'yaml', '--dest', 'docker', '--dest-tls-verify=false', '--all', '--preserve-digests', $skopeoYaml, "$DestHost/skopeo") }
    function New-ImagesFile([string] $DestHost, [string] $Name) {
        $f = Join-Path $Work $Name
        ($seed.repositories | ForEach-Object { "$($src.host)/${_}: $DestHost/ocisync/$_" }) | Set-Content $f
        $f
    }
    $skopeoArgs = New-SkopeoSyncArgs $dstS.host

    # One measured run: requests counted on the source and the given destination registry.
    function Measure-Counted([string] $Title, [string] $DestId, [scriptblock] $Run) {
        Write-Step $Title
        Clear-Requests $src.id, $DestId
        $r = & $Run
        $r.requests = Get-Requests $src.id, $DestId
        Write-Host "$($r.seconds) s, $($r.cpuSeconds) CPU s, $($r.requests.total) requests"
        $r
    }

    $imagesFile = New-ImagesFile $dstO.host 'images.yaml'
    $o = [ordered]@{}; $s = [ordered]@{}
    $o.cold = Measure-Counted "OciSync cold sync (Invoke-ImageSync -Proc $Proc)" $dstO.id { Measure-OciSyncHere $imagesFile 'cold' }
    $o.noop = Measure-Counted 'OciSync no-op re-sync' $dstO.id { Measure-OciSyncHere $imagesFile 'no-op' }

    # The first call pays the .NET runtime's tiered-JIT warm-up (perf: libclrjit ~45% of samples);
    # a second cold sync into another empty registry in the same session shows the steady state.
    $dstW = Invoke-BedHost 'start'
    $warmImages = New-ImagesFile $dstW.host 'images-warm.yaml'
    $o.warm = Measure-Counted 'OciSync cold sync again, into another empty registry (same session, runtime warm)' $dstW.id { Measure-OciSyncHere $warmImages 'warm' }
    $null = Invoke-BedHost "stop $($dstW.id)"

    # The same first call in a fresh pwsh started with DOTNET_TieredPGO=0: a runtime setting only the
    # user can make (before pwsh starts); it drops the instrumented re-compilation of hot methods.
    $dstP = Invoke-BedHost 'start'
    $pgoImages = New-ImagesFile $dstP.host 'images-pgo.yaml'
    Write-Step 'OciSync cold sync in a fresh pwsh started with DOTNET_TieredPGO=0'
    $env:DOTNET_TieredPGO = '0'
    try { $o.coldNoPgo = Measure-OciSyncChild $pgoImages 'cold-tieredpgo-0' } finally { Remove-Item Env:DOTNET_TieredPGO }
    Write-Host "$($o.coldNoPgo.seconds) s, $($o.coldNoPgo.cpuSeconds) CPU s"
    $null = Invoke-BedHost "stop $($dstP.id)"

    $s.cold = Measure-Counted 'skopeo sync cold' $dstS.id { Measure-Skopeo $skopeoArgs 'cold' }
    $s.noop = Measure-Counted 'skopeo sync no-op re-sync' $dstS.id { Measure-Skopeo $skopeoArgs 'no-op' }

    # More cold samples, the tools taking turns, each into fresh registries; OciSync in a fresh pwsh
    # each time, so every sample is a session's first call.
    $o.colds = @($o.cold); $s.colds = @($s.cold)
    for ($k = 2; $k -le $ColdRuns; $k++) {
        $dO = Invoke-BedHost 'start'; $dS = Invoke-BedHost 'start'
        $file = New-ImagesFile $dO.host "images-cold-$k.yaml"
        $o.colds += Measure-Counted "OciSync cold sync #$k (fresh pwsh)" $dO.id { Measure-OciSyncChild $file "cold-$k" }
        $s.colds += Measure-Counted "skopeo sync cold #$k" $dS.id { Measure-Skopeo (New-SkopeoSyncArgs $dS.host) "cold-$k" }
        $null = Invoke-BedHost "stop $($dO.id)"; $null = Invoke-BedHost "stop $($dS.id)"
    }

    # A larger first call: the same set into three fresh registries at once (three times the bytes, no mounts
    # across registries), in a fresh pwsh. With the 1 GB first calls it separates the fixed first-call cost
    # (the intercept of CPU against GB) from the CPU per GB beyond it (the slope).
    $triple = @(1..3 | ForEach-Object { Invoke-BedHost 'start' })
    $tripleImages = Join-Path $Work 'images-triple.yaml'
    $lines3 = foreach ($repo in $seed.repositories) { "$($src.host)/${repo}: [$(($triple | ForEach-Object { "$($_.host)/ocisync/$repo" }) -join ', ')]" }
    $lines3 | Set-Content $tripleImages
    Write-Step 'OciSync cold sync of the set into three fresh registries at once (fresh pwsh; the larger run)'
    $o.larger = Measure-OciSyncChild $tripleImages 'cold-x3'
    Write-Host "$($o.larger.seconds) s, $($o.larger.cpuSeconds) CPU s, $([math]::Round($o.larger.bytesCopied / 1e9, 3)) GB"
    foreach ($d in $triple) { $null = Invoke-BedHost "stop $($d.id)" }

    Write-Step 'Verifying both destinations against the source digests'
    $expectO = @{}; $expectS = @{}
    foreach ($k in $seed.digests.Keys) {
        $expectO["ocisync/$k"] = $seed.digests[$k]
        $expectS["skopeo/$(($k -split '/')[-1])"] = $seed.digests[$k]   # skopeo sync keeps only the last path element
    }
    $o.verify = Test-Destination $dstO.id $dstO.host $expectO 'OciSync destination'
    $s.verify = Test-Destination $dstS.id $dstS.host $expectS 'skopeo destination'
    $null = Invoke-BedHost "stop $($dstO.id)"; $null = Invoke-BedHost "stop $($dstS.id)"   # free the disk

    Write-Step "One $BigLayerMiB MiB layer: seeding (streamed from a temp file) and copying"
    $big = Invoke-BedHost "seed-big $($src.id) big/layer 1.0 $BigLayerMiB"
    $bigO = Invoke-BedHost 'start'; $bigS = Invoke-BedHost 'start'
    $bigImages = Join-Path $Work 'images-big.yaml'
    "$($src.host)/big/layer: $($bigO.host)/ocisync/big/layer" | Set-Content $bigImages
    $o.bigLayer = Measure-OciSyncChild $bigImages 'big-layer'
    $o.bigLayer.verify = Test-Destination $bigO.id $bigO.host @{ 'ocisync/big/layer:1.0' = $big.digest } 'OciSync big layer'
    Write-Host "OciSync: $($o.bigLayer.seconds) s, peak growth $($o.bigLayer.peakGrowthMiB) MiB (VmHWM)"
    $s.bigLayer = Measure-Skopeo @('--insecure-policy', 'copy', '--src-tls-verify=false', '--dest-tls-verify=false', '--preserve-digests',
        "docker://$($src.host)/big/layer:1.0", "docker://$($bigS.host)/skopeo/big/layer:1.0") 'big-layer'
    $s.bigLayer.verify = Test-Destination $bigS.id $bigS.host @{ 'skopeo/big/layer:1.0' = $big.digest } 'skopeo big layer'
    Write-Host "skopeo: $($s.bigLayer.seconds) s, peak RSS $($s.bigLayer.peakRssMiB) MiB"
    $results.bigLayer = [ordered]@{ sizeBytes = $big.layerSize; digest = $big.layerDigest }
    $results.ocisync = $o
    $results.skopeo = $s
}
catch {
    $Problems.Add("The benchmark broke: $($_.Exception.Message) at $($_.InvocationInfo.PositionMessage)")
}
finally {
    Stop-OciTestBedHost $script:Bed
    Remove-Item $Work -Recurse -Force -ErrorAction SilentlyContinue
}

# ---------------------------------------------------------------- report

function Fmt($v, [string] $f = '0.00') { if ($null -eq $v) { 'n/a' } else { ([double]$v).ToString($f, [Globalization.CultureInfo]::InvariantCulture) } }
function Median([double[]] $Values) { if (-not $Values -or $Values.Count -eq 0) { return $null }; $v = @($Values | Sort-Object); if ($v.Count % 2) { $v[($v.Count - 1) / 2] } else { ($v[$v.Count / 2 - 1] + $v[$v.Count / 2]) / 2 } }
function Spread([double[]] $Values) { if ($Values.Count -le 1) { Fmt (Median $Values) } else { "$(Fmt (Median $Values)) ($(Fmt ($Values | Measure-Object -Minimum).Minimum)–$(Fmt ($Values | Measure-Object -Maximum).Maximum))" } }
function Ratio($skopeo, $ocisync) { if ($null -eq $skopeo -or $null -eq $ocisync -or [double]$ocisync -eq 0) { 'n/a' } else { Fmt ([double]$skopeo / [double]$ocisync) } }

$lines = [Collections.Generic.List[string]]::new()
$targets = [ordered]@{}
if ($results.Contains('ocisync')) {
    $o = $results.ocisync; $s = $results.skopeo
    $gb = $o.cold.bytesCopied / 1e9
    $perTagO = $o.noop.requests.total / $tagCount
    $perTagS = $s.noop.requests.total / $tagCount
    # Cold figures: medians over the samples, with their range.
    $coldO = [double[]]@($o.colds | ForEach-Object { $_.seconds }); $coldS = [double[]]@($s.colds | ForEach-Object { $_.seconds })
    $cpuO = [double[]]@($o.colds | ForEach-Object { $_.cpuSeconds }); $cpuS = [double[]]@($s.colds | ForEach-Object { $_.cpuSeconds })
    $cpuPerGbO = [double[]]@($o.colds | ForEach-Object { $_.cpuSeconds / ($_.bytesCopied / 1e9) })
    $cpuPerGb = Median $cpuPerGbO
    $n = $coldO.Count
    $bigGrowth = if ($null -ne $o.bigLayer.hwmGrowthMiB) { [math]::Max($o.bigLayer.peakGrowthMiB, $o.bigLayer.hwmGrowthMiB) } else { $o.bigLayer.peakGrowthMiB }
    $results.derived = [ordered]@{ gbCopied = [math]::Round($gb, 3); cpuSecondsPerGb = [math]::Round($cpuPerGb, 2); requestsPerNoopTagOciSync = [math]::Round($perTagO, 2); requestsPerNoopTagSkopeo = [math]::Round($perTagS, 2); bigLayerGrowthMiB = $bigGrowth }

    $lines.Add('| metric | OciSync | skopeo | ratio (skopeo/OciSync) |')
    $lines.Add('|---|---:|---:|---:|')
    $lines.Add("| cold sync, s ($tagCount tags, $(Fmt $gb '0.000') GB; median of $n, range) | $(Spread $coldO) | $(Spread $coldS) | $(Ratio (Median $coldS) (Median $coldO)) |")
    $lines.Add("| no-op re-sync, s | $(Fmt $o.noop.seconds) | $(Fmt $s.noop.seconds) | $(Ratio $s.noop.seconds $o.noop.seconds) |")
    $lines.Add("| requests per no-op tag (source + destination) | $(Fmt $perTagO) | $(Fmt $perTagS) | $(Ratio $perTagS $perTagO) |")
    $lines.Add("| requests, cold sync (source + destination) | $($o.cold.requests.total) | $($s.cold.requests.total) | $(Ratio $s.cold.requests.total $o.cold.requests.total) |")
    $lines.Add("| client CPU, cold, s (median of $n, range) | $(Spread $cpuO) | $(Spread $cpuS) | $(Ratio (Median $cpuS) (Median $cpuO)) |")
    $lines.Add("| client CPU, no-op, s | $(Fmt $o.noop.cpuSeconds) | $(Fmt $s.noop.cpuSeconds) | $(Ratio $s.noop.cpuSeconds $o.noop.cpuSeconds) |")
    $lines.Add("| peak memory, cold, MiB (OciSync: growth of the session; skopeo: peak RSS) | $(Fmt $o.cold.peakGrowthMiB '0.0') | $(Fmt $s.cold.peakRssMiB '0.0') | n/a (not alike) |")
    $lines.Add("| $BigLayerMiB MiB layer: copy time, s | $(Fmt $o.bigLayer.seconds) | $(Fmt $s.bigLayer.seconds) | $(Ratio $s.bigLayer.seconds $o.bigLayer.seconds) |")
    $lines.Add("| $BigLayerMiB MiB layer: peak memory, MiB (OciSync: peak growth, VmHWM; skopeo: peak RSS) | $(Fmt $o.bigLayer.peakGrowthMiB '0.0') | $(Fmt $s.bigLayer.peakRssMiB '0.0') | n/a |")
    $lines.Add("| CPU s per GB, cold, first call in a session (median of $n, range) | $(Spread $cpuPerGbO) | $(Fmt ($(if ($gb -gt 0) { (Median $cpuS) / $gb } else { $null }))) | |")
    $warmGb = $o.warm.bytesCopied / 1e9
    $lines.Add("| time inside the JIT during the first cold sample, s (all threads, wall time: an upper bound of its CPU) | $(Fmt $o.cold.jitSeconds) | n/a | |")
    $lines.Add("| CPU s per GB, second cold sync in the same session (runtime warm) | $(Fmt ($(if ($warmGb -gt 0) { $o.warm.cpuSeconds / $warmGb } else { $null }))) | n/a | |")
    $warmupCpu = if ($warmGb -gt 0) { $o.cold.cpuSeconds - $o.warm.cpuSeconds * ($gb / $warmGb) } else { $null }
    $lines.Add("| first-call warm-up CPU, s (cold CPU minus the warm call's CPU for the same bytes) | $(Fmt $warmupCpu) | n/a | |")
    $noPgoGb = $o.coldNoPgo.bytesCopied / 1e9
    $noPgoCpuPerGb = if ($noPgoGb -gt 0) { $o.coldNoPgo.cpuSeconds / $noPgoGb } else { $null }
    $lines.Add("| CPU s per GB, first call in a fresh pwsh started with DOTNET_TieredPGO=0 | $(Fmt $noPgoCpuPerGb) | n/a | |")
    # CPU = fixed + perGb × GB over first calls: the 1 GB first calls (median) and the larger run.
    $largerGb = $o.larger.bytesCopied / 1e9
    $cpuSlope = if ($largerGb -gt $gb -and $gb -gt 0) { ($o.larger.cpuSeconds - (Median $cpuO)) / ($largerGb - $gb) } else { $null }
    $cpuFixed = if ($null -ne $cpuSlope) { (Median $cpuO) - $cpuSlope * $gb } else { $null }
    $results.derived.largerRunGb = [math]::Round($largerGb, 3)
    $results.derived.firstCallFixedCpuSeconds = if ($null -ne $cpuFixed) { [math]::Round($cpuFixed, 2) } else { $null }
    $results.derived.cpuSecondsPerGbBeyondFixed = if ($null -ne $cpuSlope) { [math]::Round($cpuSlope, 2) } else { $null }
    $lines.Add("| larger run: first call, $(Fmt $largerGb '0.000') GB into three registries at once: wall s / CPU s | $(Fmt $o.larger.seconds) / $(Fmt $o.larger.cpuSeconds) | n/a | |")
    $lines.Add("| first-call fixed CPU, s (intercept of CPU against GB: 1 GB first calls' median and the larger run) | $(Fmt $cpuFixed) | n/a | |")
    $lines.Add("| CPU s per GB beyond the fixed cost (slope, same two points) | $(Fmt $cpuSlope) | n/a | |")
    $lines.Add("| pwsh start-up, s (not in the sync times) | $(Fmt $results.pwshStartupSeconds) | n/a | |")
    $lines.Add("| Import-Module OciSync, s (not in the sync times) | $(Fmt $results.moduleImportSeconds) | n/a | |")
    $lines.Add('')
    $targets.coldSpeedup = [ordered]@{ target = "cold sync >= 1.5x faster than skopeo (medians of $n)"; value = (Ratio (Median $coldS) (Median $coldO)) + 'x'; met = ((Median $coldS) / (Median $coldO)) -ge 1.5 }
    $targets.noop = [ordered]@{ target = 'no-op re-sync no slower than skopeo'; value = (Ratio $s.noop.seconds $o.noop.seconds) + 'x'; met = ($s.noop.seconds / $o.noop.seconds) -ge 1.0 }
    $targets.cpuPerGb = [ordered]@{ target = "<= 3 CPU s per GB (first call, runtime cold; median of $n)"; value = (Fmt $cpuPerGb) + ' s/GB'; met = $cpuPerGb -le 3 }
    $warmCpuPerGb = if ($warmGb -gt 0) { $o.warm.cpuSeconds / $warmGb } else { $null }
    $targets.cpuPerGbWarm = [ordered]@{ target = '<= 3 CPU s per GB (second call, runtime warm)'; value = (Fmt $warmCpuPerGb) + ' s/GB'; met = $null -ne $warmCpuPerGb -and $warmCpuPerGb -le 3 }
    $targets.cpuPerGbNoPgo = [ordered]@{ target = '<= 3 CPU s per GB (first call, fresh pwsh with DOTNET_TieredPGO=0)'; value = (Fmt $noPgoCpuPerGb) + ' s/GB'; met = $null -ne $noPgoCpuPerGb -and $noPgoCpuPerGb -le 3 }
    $targets.cpuPerGbBeyondFixed = [ordered]@{ target = '< 2.5 CPU s per GB beyond the fixed first-call cost (slope over 1 GB and the larger run)'; value = (Fmt $cpuSlope) + ' s/GB'; met = $null -ne $cpuSlope -and $cpuSlope -lt 2.5 }
    $targets.bigLayerMemory = [ordered]@{ target = "memory growth < 64 MiB on a $BigLayerMiB MiB layer"; value = (Fmt $bigGrowth '0.0') + ' MiB'; met = $bigGrowth -lt 64 }
    $lines.Add('| target | value | |')
    $lines.Add('|---|---:|---|')
    foreach ($t in $targets.Values) { $lines.Add("| $($t.target) | $($t.value) | $(if ($t.met) { 'met' } else { 'MISSED' }) |") }
    $results.targets = $targets
}
$results.problems = @($Problems)
$results.finishedAt = (Get-Date).ToUniversalTime().ToString('o')

$md = @('# OciSync benchmark', '',
    "Machine: $($results.machine.cores) cores, $($results.machine.os), pwsh $($results.machine.pwsh), .NET $($results.machine.dotnet); $($results.skopeoVersion); Invoke-ImageSync -Proc $Proc.",
    $(if ($results.Contains('seed')) { "Source: $($results.seed.text). GB = 10^9 bytes. Cold syncs: $ColdRuns per tool, taking turns, each into fresh registries (medians and ranges); other rows one run each. Client and registries share the machine." } else { '' }),
    '') + $lines
if ($Problems.Count -gt 0) { $md += @('', '## Problems (the benchmark is not valid)', '') + ($Problems | ForEach-Object { "- $_" }) }
$md += @('', 'skopeo sync copies one image at a time (layers of one image in parallel): that is its design, measured as is.',
    'OciSync is timed around Invoke-ImageSync only (pwsh start-up and Import-Module apart); CPU is the session process, memory is the kernel peak-RSS mark (VmHWM, reset before the call) minus the RSS before it. The first cold sample, the no-op and the warm call run in this session; the other cold samples, the DOTNET_TieredPGO=0 call, the larger run (the set into three registries at once) and the 1 GiB layer each in a fresh `dotnet pwsh`.',
    'The cold-run memory row understates growth: this session''s heap is already grown (a fresh process grew ~40 MiB in trials). The 1 GiB layer is therefore measured in a fresh `dotnet pwsh` (Invoke-OciSyncChild.ps1).',
    'Every cold sample is the first call in its session, so its CPU includes the runtime compiling hot code (JIT) once; the warm row shows the steady state.')
$md | Set-Content (Join-Path $BenchOut 'results.md')
$results | ConvertTo-Json -Depth 8 | Set-Content (Join-Path $BenchOut 'results.json')

Write-Host ''
$md | ForEach-Object { Write-Host $_ }
Write-Host ''
Write-Host "Results: $(Join-Path $BenchOut 'results.json'), $(Join-Path $BenchOut 'results.md')"
if ($Problems.Count -gt 0) { exit 1 }
exit 0
