<#
.SYNOPSIS
    Writes a deterministic corpus of malformed and adversarial images, auth and legacy config
    files (YAML and JSON) for Fuzz.Tests.ps1. Returns one object per file: Kind (images, auth,
    config), Path, Label, and Secret (the file's only secret is the canary password, so no
    message may quote it).
.DESCRIPTION
    Every reference that could be valid names -Registry (the test bed's anonymous registry), so
    planning under -WhatIf stays on loopback: a valid rule costs a 404, not a retried connection.
    Random mutations never touch the character before a registry name (an inserted "a" would
    make "a127.0.0.1" a host name to look up).
#>
param(
    [Parameter(Mandatory)] [string] $OutDirectory,
    [Parameter(Mandatory)] [string] $Registry,
    [int] $Seed = 20261128,
    [int] $MutantsPerKind = 70
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$Canary = 'Zq9CANARYpw7'
$R = [string][char]0xE000          # stands for the registry until the file is written
$random = [Random]::new($Seed)
$utf8 = [Text.UTF8Encoding]::new($false)
$files = [Collections.Generic.List[object]]::new()

function Rep([string] $s, [int] $n) { [Text.StringBuilder]::new($s.Length * $n).Insert(0, $s, $n).ToString() }

function Add-Case {
    # Auth and config files are secret unless -Public: their only secret is the canary password.
    param([string] $Kind, [string] $Label, $Content, [string] $Ext = 'yaml', [switch] $Public)
    $dir = Join-Path $OutDirectory $Kind
    if (-not (Test-Path $dir)) { $null = New-Item -ItemType Directory -Path $dir }
    $safe = ($Label -replace '[^A-Za-z0-9_.-]+', '-').Trim('-')
    if ($safe.Length -gt 60) { $safe = $safe.Substring(0, 60) }
    $path = Join-Path $dir ('{0:d4}-{1}.{2}' -f $files.Count, $safe, $Ext)
    if ($null -eq $Content) { $null = New-Item -ItemType Directory -Path $path }   # a directory where a file should be
    elseif ($Content -is [byte[]]) { [IO.File]::WriteAllBytes($path, $Content) }
    else { [IO.File]::WriteAllText($path, ([string]$Content).Replace($R, $Registry), $utf8) }
    $files.Add([pscustomobject]@{ Kind = $Kind; Path = $path; Label = $Label; Secret = $Kind -ne 'images' -and -not $Public })
}

function Bytes([string] $text, [Text.Encoding] $encoding, [switch] $Bom) {
    $body = $encoding.GetBytes($text.Replace($R, $Registry))
    if ($Bom) { [byte[]]($encoding.GetPreamble() + $body) } else { [byte[]]$body }
}

# ---- Seeds: valid files, all on the test bed ------------------------------------------------
$digest = 'sha256:' + ('a1' * 32)
$seedImagesYaml = @"
$R/fuzz/a: $R/mirror/a
$R/fuzz/b:v1,v2: $R/mirror/b:x1,x2
$R/fuzz/c@${digest}: $R/mirror/c
$R/fuzz/d:v1:
  - $R/mirror/d1
  - $R/mirror/d2
$R/fuzz/e:/^v[0-9]+`$/: $R/mirror/e

"@
$seedImagesJson = @"
{
  "$R/fuzz/a": "$R/mirror/a",
  "$R/fuzz/b:v1,v2": "$R/mirror/b:x1,x2",
  "$R/fuzz/c@${digest}": "$R/mirror/c",
  "$R/fuzz/d:v1": ["$R/mirror/d1", "$R/mirror/d2"],
  "$R/fuzz/e:/^v[0-9]+`$/": "$R/mirror/e"
}

"@
$seedAuthYaml = @"
${R}:
  username: fuzz
  password: $Canary
  insecure: true
$R/fuzz:
  username: "`${FUZZ_USER}"
  password: "`$FUZZ_PASS"

"@
$seedAuthJson = @"
{
  "$R": {"username": "fuzz", "password": "$Canary", "insecure": true},
  "$R/fuzz": {"username": "`${FUZZ_USER}", "password": "`$FUZZ_PASS"}
}

"@
$indentedAuth = ($seedAuthYaml.TrimEnd() -split "`n" | ForEach-Object { "  $_" }) -join "`n"
$indentedImages = ($seedImagesYaml.TrimEnd() -split "`n" | ForEach-Object { "  $_" }) -join "`n"
$seedConfigYaml = "auth:`n$indentedAuth`nimages:`n$indentedImages`n"
$seedConfigJson = "{`n""auth"": $($seedAuthJson.Trim()),`n""images"": $($seedImagesJson.Trim())`n}`n"
$seeds = @{
    images = @{ yaml = $seedImagesYaml; json = $seedImagesJson }
    auth   = @{ yaml = $seedAuthYaml; json = $seedAuthJson }
    config = @{ yaml = $seedConfigYaml; json = $seedConfigJson }
}

# ---- Whole documents: the same hostile text as each kind of file ----------------------------
$deepIndent = -join (0..499 | ForEach-Object { (' ' * $_) + "k${_}:`n" })
$laughs = [Text.StringBuilder]::new("l0: &l0 [" + (@('"lol"') * 10 -join ',') + "]`n")
foreach ($i in 1..9) { $null = $laughs.Append("l${i}: &l${i} [" + (@("*l$($i - 1)") * 10 -join ',') + "]`n") }
$documents = [ordered]@{
    'deep-brackets-100000'   = Rep '[' 100000
    'deep-braces-100000'     = Rep '{' 100000
    'deep-closed-30000'      = (Rep '[' 30000) + (Rep ']' 30000)
    'deep-json-maps-30000'   = Rep '{"a": ' 30000
    'deep-mixed-40000'       = Rep '[{' 40000
    'deep-dashes-50000'      = (Rep '- ' 50000) + 'x'
    'deep-question-20000'    = (Rep '? ' 20000) + 'x'
    'deep-indent-500'        = $deepIndent
    'depth-64'               = (Rep '[' 64) + (Rep ']' 64)
    'depth-65'               = (Rep '[' 65) + (Rep ']' 65)
    'deep-value-1000'        = "$R/fuzz/a: " + (Rep '[' 1000)
    'empty'                  = ''
    'blank'                  = "   `n`n  `n"
    'comment-only'           = "# nothing`n"
    'doc-start'              = "---`n"
    'doc-end'                = "...`n"
    'tilde'                  = "~`n"
    'null'                   = "null`n"
    'number'                 = "123`n"
    'boolean'                = "true`n"
    'string'                 = "just a string`n"
    'list'                   = "- a`n- b`n"
    'two-documents'          = "A: B`n---`nC: D`n"
    'directive'              = "%YAML 1.2`n---`n$R/fuzz/a: $R/mirror/a`n"
    'directive-bad'          = "%YAML 9.9`n---`nA: B`n"
    'directive-unknown'      = "%FOO bar baz`n---`nA: B`n"
    'self-alias'             = "&a [*a]`n"
    'self-alias-map'         = "&a {k: *a}`n"
    'undefined-alias'        = "*nope`n"
    'billion-laughs'         = $laughs.ToString()
    'unclosed-quote'         = "a: `"b`n"
    'unclosed-single'        = "a: 'b`n"
    'unclosed-flow'          = "a: [b, c`n`nd: e`n"
    'tab-indent'             = "A:`n`tB: C`n"
    'bad-escape'             = "a: `"\q`"`n"
    'lone-surrogate-escape'  = "a: `"\uD800`"`n"
    'nul-escape'             = "a: `"\0`"`n"
    'merge-key'              = "base: &b {x: y}`nm:`n  <<: *b`n"
    'binary-tag'             = "a: !!binary aGVsbG8=`n"
    'custom-tag'             = "A: !custom X`n"
    'verbatim-tag'           = "A: !<tag:yaml.org,2002:str> X`n"
    'complex-key'            = "? [A, B]`n: C`n"
    'block-scalar'           = "A: |`n  line1`n  line2`n"
    'long-line'              = "a: " + (Rep 'x ' 200000) + "`n"
    'json-trailing-comma'    = '{"A": "B",}'
    'json-comment'           = "{`"A`": `"B`"} // c"
    'json-single-quotes'     = "{'A': 'B'}"
    'json-unquoted'          = '{A: B}'
    'json-nan'               = '{"a": NaN, "b": Infinity}'
    'json-huge-number'       = '{"a": 1e999999}'
}
foreach ($kind in 'images', 'auth', 'config') {
    foreach ($label in $documents.Keys) {
        $ext = if ($label -like 'json-*' -or $label -like 'deep-json*') { 'json' } else { 'yaml' }
        Add-Case $kind "doc-$label" $documents[$label] $ext
    }
    Add-Case $kind 'a-directory' $null
    # Over 8 Mi characters (one of them on disk at 9 MiB), and a file right at the limit.
    Add-Case $kind 'huge-9MiB-comment' (("#" + (' ' * 1022) + "`n") * (9 * 1024))

    # Encodings.
    $y = $seeds[$kind].yaml
    Add-Case $kind 'utf8-bom' (Bytes $y ([Text.UTF8Encoding]::new($true)) -Bom)
    Add-Case $kind 'utf16le-bom' (Bytes $y ([Text.UnicodeEncoding]::new($false, $true)) -Bom)
    Add-Case $kind 'utf16be-bom' (Bytes $y ([Text.UnicodeEncoding]::new($true, $true)) -Bom)
    Add-Case $kind 'utf16le-no-bom' (Bytes $y ([Text.UnicodeEncoding]::new($false, $false)))
    Add-Case $kind 'utf32-bom' (Bytes $y ([Text.UTF32Encoding]::new($false, $true)) -Bom)
    $raw = [byte[]](Bytes $y $utf8)
    foreach ($bad in @(@(0xFF, 0xFE), @(0xC3), @(0xC0, 0xAF), @(0xED, 0xA0, 0x80), @(0xF8, 0x88, 0x80, 0x80, 0x80), @(0x00), @(0x00, 0x00, 0x00))) {
        foreach ($where in 0, [int]($raw.Length / 3), [int]($raw.Length / 2), ($raw.Length - 1)) {
            $bytes = [byte[]]($raw[0..($where - 1)] + [byte[]]$bad + $raw[$where..($raw.Length - 1)])
            if ($where -eq 0) { $bytes = [byte[]]([byte[]]$bad + $raw) }
            Add-Case $kind ("bytes-{0}-at-{1}" -f (($bad | ForEach-Object { '{0:X2}' -f $_ }) -join ''), $where) $bytes
        }
    }
    Add-Case $kind 'cr-only' $y.Replace("`n", "`r")
    Add-Case $kind 'crlf' $y.Replace("`n", "`r`n")
    Add-Case $kind 'nel-u0085' $y.Replace("`n", [string][char]0x85)
    Add-Case $kind 'line-separator-u2028' $y.Replace("`n", [string][char]0x2028)
    Add-Case $kind 'tabs-for-indent' $y.Replace("  ", "`t")
    Add-Case $kind 'tabs-after-colon' $y.Replace(": ", ":`t")
    Add-Case $kind 'form-feed' $y.Replace("`n", "`f`n")
    Add-Case $kind 'json-tabs' $seeds[$kind].json.Replace("  ", "`t`t") 'json'
    Add-Case $kind 'json-bom-cr' ([string][char]0xFEFF + $seeds[$kind].json.Replace("`n", "`r")) 'json'
}

# The two slowest cases (seconds each, the parser reading 8 Mi characters or 200,000 nodes), once:
# the limits they check are the same code in every kind of file (the alias bombs reach the node
# budget in the others).
$line = "# " + ('x' * 1021) + "`n"
Add-Case images 'just-under-8Mi' ($seedImagesYaml + ($line * [Math]::Floor((8 * 1024 * 1024 - $seedImagesYaml.Replace($R, $Registry).Length) / 1024)))
Add-Case images 'doc-flat-250000' ('[' + (Rep 'a,' 250000) + 'a]')

# ---- Values: hostile scalars and structures in every position of every kind ------------------
$values = [ordered]@{
    'int' = '123'; 'negative' = '-5'; 'hex' = '0x1F'; 'octal' = '0o17'; 'float' = '1.5'; 'exp' = '1e3'; 'inf' = '.inf'; 'nan' = '.nan'
    'true' = 'true'; 'False' = 'False'; 'null' = 'null'; 'tilde' = '~'; 'empty-quoted' = '""'
    'map' = '{A: B}'; 'list-of-maps' = '[{A: B}]'; 'nested-list' = '[[A]]'; 'empty-list' = '[]'; 'list-numbers' = '[1, true, null]'
    'deep-70' = (Rep '[' 70) + (Rep ']' 70); 'deep-braces-70' = (Rep '{' 70) + (Rep '}' 70)
    'undefined-alias' = '*nope'; 'self-alias' = '&s [*s]'; 'binary' = '!!binary aGVsbG8='; 'str-tag' = "!!str $R/mirror/t"; 'int-tag' = '!!int ABC'
    'unclosed' = '"abc'; 'bad-escape' = '"a\qb"'; 'surrogate' = '"\uDC00x"'; 'nul' = '"a\0b"'; 'control' = "`"a\x01b`""
    'long-70000' = 'a' * 70000; 'long-300000' = 'b' * 300000; 'long-repo' = "$R/" + ('a' * 300)
    'upper' = "$R/UPPER/x"; 'space' = "`"$R/a b`""; 'scheme' = "https://$R/x"; 'colon-end' = "`"$R/x:`""; 'dest-regex' = "`"$R/x:/a/`""
    'short-digest' = "$R/x@sha256:abc"; 'md5' = "$R/x@md5:abc"; 'double-slash' = "$R//x"; 'tags-2' = "$R/x:t1,t2"
    'port-99999' = '127.0.0.1:99999/app'; 'port-0' = '127.0.0.1:0/app'; 'port-65536' = 'localhost:65536/x'; 'port-v6' = '"[::1]:99999/x"'
    'port-huge' = '127.0.0.1:99999999999999999999/x'; 'port-neg' = '"127.0.0.1:-1/x"'; 'v6-open' = '"[::1/x"'; 'no-host' = '":5000/x"'
    'var-unset' = '"${FUZZ_UNSET}"'; 'var-open' = '"${"'; 'var-empty' = '"${}"'; 'dollar' = '"$"'; 'dollars' = '"$$"'; 'var-dash' = '"${A-B}"'
    'var-digit' = '"${1}"'; 'var-nested' = '"${${FUZZ_USER}}"'; 'var-big' = '"${FUZZ_BIG}"'; 'var-twice' = "`"$R/`$FUZZ_USER`$FUZZ_UNSET`""
    'var-long-name' = '"${' + ('A' * 10000) + '}"'; 'var-registry' = '"${FUZZ_REG}/mirror/v"'; 'var-secret-like' = '"$ecretPassw0rd"'
    'zero-width' = "`"$R/a$([char]0x200B)b`""; 'rtl' = "`"$R/a$([char]0x202E)b`""; 'emoji' = "`"$R/a:$([char]::ConvertFromUtf32(0x1F600))`""
    'fullwidth-colon' = "`"$R/a$([char]0xFF1A)v1`""; 'block-literal' = "|`n  $R/x`n"; 'folded' = ">-`n  $R/x`n"
}
$sources = [ordered]@{
    'regex-catastrophic' = "$R/fuzz/r:/(a+)+`$/"; 'regex-open' = "$R/fuzz/r:/(/"; 'regex-bracket' = "$R/fuzz/r:/[/"; 'regex-empty' = "$R/fuzz/r://"
    'regex-two' = "$R/fuzz/r:/a/,/b/"; 'regex-and-tag' = "$R/fuzz/r:v1,/b/"; 'regex-unclosed' = "$R/fuzz/r:/abc"
    'regex-deep' = "$R/fuzz/r:/" + (Rep '(' 20000) + 'a' + (Rep ')' 20000) + '/'; 'regex-wide' = "$R/fuzz/r:/" + (Rep 'a|' 50000) + 'b/'
    'regex-quantifier' = "$R/fuzz/r:/a{99999999999}/"; 'regex-property' = "$R/fuzz/r:/\p{Nope}/"; 'regex-backref' = "$R/fuzz/r:/(?<n>a)\k<m>/"
    'regex-lookbehind' = "$R/fuzz/r:/(?<=a+)b/"; 'regex-alternation' = "$R/fuzz/r:/(a|aa)*b`$/"; 'regex-huge-repeat' = "$R/fuzz/r:/.{1000000}/"
    'int' = '123'; 'float' = '1.5'; 'bool' = 'true'; 'null' = 'null'; 'long-key' = "$R/fuzz/" + ('k' * 10000)
    'tag-129' = "$R/fuzz/t:" + ('t' * 129); 'tags-many' = "$R/fuzz/t:" + ((1..200 | ForEach-Object { "v$_" }) -join ','); 'digest-and-tag' = "$R/fuzz/t:v1@$digest"
    'port-99999' = '127.0.0.1:99999/app:v1'; 'two-digests' = "$R/fuzz/t@$digest,$digest"
}

foreach ($label in $values.Keys) {
    $v = $values[$label]
    Add-Case images "dest-$label" "$R/fuzz/ok:v1: $R/mirror/ok`n$R/fuzz/x:v1: $v`n"
    Add-Case images "dest-list-$label" "$R/fuzz/x:v1:`n  - $R/mirror/x`n  - $v`n"
    Add-Case auth "password-$label" "${R}:`n  username: fuzz`n  password: $v`n$R/fuzz:`n  username: u`n  password: $Canary`n"
    Add-Case auth "entry-$label" "${R}: $v`n$R/other:`n  username: u`n  password: $Canary`n"
    Add-Case config "auth-$label" "auth: $v`nimages:`n  $R/fuzz/a: $R/mirror/a`n"
    Add-Case config "images-$label" "auth:`n  ${R}:`n    password: $Canary`nimages: $v`n"
    Add-Case config "nested-$label" "auth:`n  ${R}:`n    username: $v`n    password: $Canary`nimages:`n  $R/fuzz/a: $v`n"
}
foreach ($label in $sources.Keys) {
    $k = $sources[$label]
    $key = if ($k.Length -gt 1000) { "? $k`n:" } else { "${k}:" }   # YAML limits implicit keys to 1,024 characters
    Add-Case images "source-$label" "$key $R/mirror/s`n$R/fuzz/ok: $R/mirror/ok`n"
    Add-Case config "source-$label" "images:`n  $($key.Replace("`n", "`n  ")) $R/mirror/s`n"
    Add-Case auth "key-$label" "${key}`n  username: u`n  password: $Canary`n"
}

# JSON: the same kinds of values as JSON text.
$jsonValues = [ordered]@{
    'int' = '5'; 'true' = 'true'; 'false' = 'false'; 'null' = 'null'; 'float' = '1.5e10'; 'neg-zero' = '-0'; 'map' = '{"A": "B"}'
    'list-mixed' = '["x", 5, true, null, {}]'; 'deep' = (Rep '[' 100) + (Rep ']' 100); 'nul-escape' = '"a\u0000b"'
    'surrogate' = '"\ud800"'; 'long' = '"' + ('c' * 300000) + '"'; 'long-70000' = '"' + ('p' * 70000) + '"'
    'port' = '"127.0.0.1:99999/app"'; 'var' = '"${FUZZ_UNSET}"'; 'var-big' = '"${FUZZ_BIG}"'; 'hexnum' = '0x10'
}
foreach ($label in $jsonValues.Keys) {
    $v = $jsonValues[$label]
    Add-Case images "json-dest-$label" "{`"$R/fuzz/ok:v1`": `"$R/mirror/ok`", `"$R/fuzz/x:v1`": $v}" 'json'
    Add-Case images "json-list-$label" "{`"$R/fuzz/x:v1`": [`"$R/mirror/x`", $v]}" 'json'
    Add-Case auth "json-password-$label" "{`"$R`": {`"username`": `"u`", `"password`": $v}, `"$R/x`": {`"password`": `"$Canary`"}}" 'json'
    Add-Case auth "json-username-$label" "{`"$R`": {`"username`": $v, `"password`": `"$Canary`"}}" 'json'
    Add-Case config "json-auth-$label" "{`"auth`": $v, `"images`": {`"$R/fuzz/a`": `"$R/mirror/a`"}}" 'json'
    Add-Case config "json-images-$label" "{`"auth`": {`"$R`": {`"password`": `"$Canary`"}}, `"images`": $v}" 'json'
}

# Duplicate and near-duplicate keys, many entries.
$dups = (1..500 | ForEach-Object { "$R/fuzz/dup: $R/mirror/dup$_" }) -join "`n"
Add-Case images 'duplicate-key-500' $dups
Add-Case images 'duplicate-case' "$R/fuzz/A: $R/mirror/a`n$R/fuzz/a: $R/mirror/a`n$R/fuzz/a: $R/mirror/b`n"
Add-Case images 'many-bad-rules' ((1..2000 | ForEach-Object { "$R/fuzz/n${_}: $_" }) -join "`n")
Add-Case auth 'duplicate-entries' ((1..300 | ForEach-Object { "${R}:`n  username: u$_`n  password: $Canary" }) -join "`n")
Add-Case auth 'duplicate-fields' "${R}:`n  username: a`n  username: b`n  password: $Canary`n  password: $Canary`n"
Add-Case auth 'normalised-same' "https://index.docker.io/v1/:`n  password: $Canary`ndocker.io:`n  password: $Canary`n"
Add-Case auth 'unknown-keys' "${R}:`n  username: u`n  password: $Canary`n  email: e@x`n  ${Canary}`n  auth: $Canary`n"
Add-Case config 'duplicate-sections' "auth: {}`nauth: {}`nimages: {}`nimages: {}`nextra: 1`n$Canary`: x`n"
Add-Case config 'alias-across' "auth: &a`n  ${R}:`n    password: $Canary`nimages: *a`n"
Add-Case images 'alias-destinations' "$R/fuzz/a: &d $R/mirror/a`n$R/fuzz/b: *d`n$R/fuzz/c: [*d, *d]`n"
Add-Case images 'alias-bomb-value' ($laughs.ToString() + "$R/fuzz/a: *l9`n")
Add-Case auth 'alias-bomb-password' ($laughs.ToString() + "${R}:`n  password: *l9`n")
Add-Case config 'alias-bomb-auth' ($laughs.ToString() + "auth: *l9`nimages: *l9`n")

# ---- Random mutations of the seeds -----------------------------------------------------------
$hostile = @('[', ']', '{', '}', ':', ',', '-', '?', "'", '"', '&a ', '*a', '!', '|', '>', '%', '@', '#', "`t", "`r", "`n", [string][char]0, '\', '$', '${', '0x', ' ', '  ', "`n  ", '[[[[[[[[', '{{{{', '- - - - ', '&b [*b]', '123', 'true', '~')
function Get-Mutant([string] $text) {
    $count = $random.Next(1, 5)
    for ($m = 0; $m -lt $count; $m++) {
        $pos = $random.Next(0, $text.Length + 1)
        # Never at, or right before, a registry name; never inside one.
        while ($pos -lt $text.Length -and $text[$pos] -eq $R[0]) { $pos++ }
        switch ($random.Next(0, 7)) {
            0 { if ($pos -lt $text.Length -and $text[$pos] -ne $R[0]) { $text = $text.Remove($pos, 1) } }
            1 { if ($pos -eq $text.Length -or $text[$pos] -ne $R[0]) { $text = $text.Insert($pos, $hostile[$random.Next($hostile.Count)]) } }
            2 { $lines = $text -split "`n"; $i = $random.Next($lines.Count); $text = (@($lines[0..$i]) + @($lines[$i..($lines.Count - 1)])) -join "`n" }
            3 { $lines = [Collections.Generic.List[string]]($text -split "`n"); if ($lines.Count -gt 1) { $lines.RemoveAt($random.Next($lines.Count)) }; $text = $lines -join "`n" }
            4 { $lines = $text -split "`n"; $a = $random.Next($lines.Count); $b = $random.Next($lines.Count); $t = $lines[$a]; $lines[$a] = $lines[$b]; $lines[$b] = $t; $text = $lines -join "`n" }
            5 { $text = $text.Substring(0, $pos) }
            6 {
                $words = [regex]::Matches($text, '[A-Za-z0-9_]+')
                if ($words.Count -gt 0) {
                    $w = $words[$random.Next($words.Count)]
                    $text = $text.Remove($w.Index, $w.Length).Insert($w.Index, @('123', 'true', 'null', '~', '${FUZZ_UNSET}', '*a', '&a', '!!str', 'UPPER', ('z' * 300))[$random.Next(10)])
                }
            }
        }
    }
    $text
}
foreach ($kind in 'images', 'auth', 'config') {
    for ($n = 0; $n -lt $MutantsPerKind; $n++) {
        $ext = if ($n % 3 -eq 2) { 'json' } else { 'yaml' }
        # Mutated auth files keep the canary in a password or nowhere; a mutated config file can
        # move it into its images part, where rules are quoted by design.
        Add-Case $kind "mutant-$n" (Get-Mutant $seeds[$kind][$ext]) $ext -Public:($kind -eq 'config')
    }
}

$files
