# The examples in examples/ (Kubernetes Indexed Job, Azure Automation runbooks, GitHub Actions workflow): they parse,
# their sharding settings agree with the commands they run, credentials arrive as the comments say, and every
# Invoke-ImageSync / Merge-SyncResult call uses only parameters the cmdlets have. No registry is involved.
#
# YAML is read by YamlDotNet 16.3.0 (restored by OciSync.Pester.csproj) in a CHILD pwsh: this session has OciSync
# imported, and other tests check what its default load context holds.

BeforeDiscovery {
    $script:ScriptExamples = @(
        @{ Name = 'kubernetes/indexed-job.yaml'; Needs = 'Invoke-ImageSync' }
        @{ Name = 'kubernetes/merge-job.yaml'; Needs = 'Merge-SyncResult' }
        @{ Name = 'github-actions/sharded-sync.yml'; Needs = 'Invoke-ImageSync', 'Merge-SyncResult' }
        @{ Name = 'azure-automation/Invoke-ShardSync.ps1'; Needs = 'Invoke-ImageSync' }
        @{ Name = 'azure-automation/Start-ShardedSync.ps1'; Needs = 'Merge-SyncResult' }
    )
}

BeforeAll {
    $examples = Join-Path $PSScriptRoot '../../examples' | Resolve-Path | ForEach-Object Path
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
    if (-not (Test-Path (Join-Path $packages 'yamldotnet/16.3.0'))) {
        $packages = ((& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
    }
    $yaml16 = Join-Path $packages 'yamldotnet/16.3.0/lib/net8.0/YamlDotNet.dll'

    # Every YAML example, all documents, as hashtables: YamlDotNet 16 in a fresh pwsh prints them as JSON.
    $yamlFiles = @('kubernetes/indexed-job.yaml', 'kubernetes/merge-job.yaml', 'github-actions/sharded-sync.yml')
    $childScript = @'
$ErrorActionPreference = 'Stop'
Add-Type -Path $yaml16
function ConvertFrom-YamlNode($node) {
    if ($node -is [YamlDotNet.RepresentationModel.YamlMappingNode]) {
        $map = [ordered]@{}
        foreach ($pair in $node.Children.GetEnumerator()) { $map[[string]$pair.Key.Value] = ConvertFrom-YamlNode $pair.Value }
        return $map
    }
    if ($node -is [YamlDotNet.RepresentationModel.YamlSequenceNode]) { return , @(foreach ($item in $node.Children) { , (ConvertFrom-YamlNode $item) }) }
    $value = $node.Value
    if ($node.Style -ne [YamlDotNet.Core.ScalarStyle]::Plain) { return $value }
    if ($value -in '', '~', 'null') { return $null }
    if ($value -in 'true', 'false') { return $value -eq 'true' }
    if ($value -match '^-?(0|[1-9][0-9]*)$') { return [long]$value }
    return $value    # also 0400: YAML 1.1 octal, compared as text
}
$result = [ordered]@{}
foreach ($file in $files) {
    try {
        $stream = [YamlDotNet.RepresentationModel.YamlStream]::new()
        $reader = [IO.StreamReader]::new((Join-Path $examples $file))
        try { $stream.Load($reader) } finally { $reader.Dispose() }
        $result[$file] = [ordered]@{ error = $null; documents = @(foreach ($d in $stream.Documents) { , (ConvertFrom-YamlNode $d.RootNode) }) }
    }
    catch { $result[$file] = [ordered]@{ error = "$_"; documents = @() } }
}
Write-Output ('@@' + ($result | ConvertTo-Json -Depth 100 -Compress))
'@
    # Started first, read last: the child's start-up overlaps this session's work below.
    $exe = [Environment]::ProcessPath
    $start = [Diagnostics.ProcessStartInfo]::new($exe)
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $start.ArgumentList.Add([Environment]::GetCommandLineArgs()[0]) }
    $preamble = "`$yaml16 = '$yaml16'; `$examples = '$examples'; `$files = @($(($yamlFiles | ForEach-Object { "'$_'" }) -join ', '))`n"
    foreach ($a in '-NoProfile', '-NonInteractive', '-Command', ($preamble + $childScript)) { $start.ArgumentList.Add($a) }
    $start.RedirectStandardOutput = $true; $start.RedirectStandardError = $true; $start.UseShellExecute = $false
    $yamlChild = [Diagnostics.Process]::Start($start)
    $yamlOut = $yamlChild.StandardOutput.ReadToEndAsync()
    $yamlErr = $yamlChild.StandardError.ReadToEndAsync()

    . $PSScriptRoot/Common.ps1

    function Get-KnownParameter {
        # Names and aliases of $Command's parameters (common ones included).
        param([string] $Command)
        $names = [Collections.Generic.HashSet[string]]::new([StringComparer]::OrdinalIgnoreCase)
        $info = Get-Command $Command -ErrorAction Stop
        foreach ($p in $info.Parameters.Values) { $null = $names.Add($p.Name); foreach ($a in $p.Aliases) { $null = $names.Add($a) } }
        , $names
    }

    $script:KnownParameters = @{}
    foreach ($command in 'Invoke-ImageSync', 'Merge-SyncResult') { $KnownParameters[$command] = Get-KnownParameter $command }

    if (-not $yamlChild.WaitForExit(120000)) { $yamlChild.Kill(); throw 'The YAML child did not finish within 120 s.' }
    $yamlChild.WaitForExit()   # and its output is read to the end
    $lines = @($yamlOut.Result -split "\r?\n") + @($yamlErr.Result -split "\r?\n")
    $json = $lines | Where-Object { $_.StartsWith('@@') } | Select-Object -Last 1
    if (-not $json) { throw "The YAML child printed no result (exit $($yamlChild.ExitCode)): $($lines -join "`n")" }
    $script:Yaml = $json.Substring(2) | ConvertFrom-Json -AsHashtable

    function Get-Document([string] $File, [string] $Kind) { @($Yaml[$File].documents | Where-Object { $_ -and $_['kind'] -eq $Kind }) }
    function Get-PodContainer($Job) { @($Job.spec.template.spec['initContainers']) + @($Job.spec.template.spec.containers) | Where-Object { $_ } }

    function Get-Call {
        # The calls of $Name in $Ast: parameter names as written, and each parameter's argument text.
        param($Ast, [string] $Name, [string] $Where)
        foreach ($c in $Ast.FindAll({ param($a) $a -is [System.Management.Automation.Language.CommandAst] -and $a.GetCommandName() -eq $Name }, $true)) {
            $arguments = [ordered]@{}
            $elements = $c.CommandElements
            $splatted = $false
            for ($i = 1; $i -lt $elements.Count; $i++) {
                $e = $elements[$i]
                if ($e -is [System.Management.Automation.Language.VariableExpressionAst] -and $e.Splatted) { $splatted = $true }
                if ($e -isnot [System.Management.Automation.Language.CommandParameterAst]) { continue }
                $value = if ($e.Argument) { $e.Argument.Extent.Text }
                elseif ($i + 1 -lt $elements.Count -and $elements[$i + 1] -isnot [System.Management.Automation.Language.CommandParameterAst]) { $elements[$i + 1].Extent.Text }
                $arguments[$e.ParameterName] = $value
            }
            [pscustomobject]@{ Where = $Where; Name = $Name; Arguments = $arguments; Splatted = $splatted; Ast = $c }
        }
    }

    # Each example's PowerShell: the runbooks as files; the YAML's scripts after the platform's own substitution
    # (Kubernetes' $(VAR), GitHub's ${{ expr }}), as pwsh would receive them.
    $script:Scripts = [ordered]@{}
    $script:ParseErrors = [ordered]@{}
    foreach ($file in 'azure-automation/Invoke-ShardSync.ps1', 'azure-automation/Start-ShardedSync.ps1') {
        $tokens = $errors = $null
        $Scripts[$file] = @([System.Management.Automation.Language.Parser]::ParseFile((Join-Path $examples $file), [ref] $tokens, [ref] $errors))
        $ParseErrors[$file] = @($errors)
    }
    foreach ($file in 'kubernetes/indexed-job.yaml', 'kubernetes/merge-job.yaml') {
        $Scripts[$file] = @(); $ParseErrors[$file] = @()
        foreach ($job in Get-Document $file 'Job') {
            foreach ($c in Get-PodContainer $job) {
                if (@($c['command'])[0] -ne 'pwsh') { continue }
                $text = (@($c['args']) -join "`n") -replace '\$\(([A-Za-z_][A-Za-z0-9_]*)\)', '0' -replace '\$\$', '$'
                $tokens = $errors = $null
                $Scripts[$file] += [System.Management.Automation.Language.Parser]::ParseInput($text, [ref] $tokens, [ref] $errors)
                $ParseErrors[$file] += @($errors | ForEach-Object { "$($c.name): $_" })
            }
        }
    }
    $file = 'github-actions/sharded-sync.yml'
    $Scripts[$file] = @(); $ParseErrors[$file] = @()
    foreach ($job in $Yaml[$file].documents[0].jobs.Values) {
        foreach ($step in @($job.steps) | Where-Object { $_ -and $_['run'] }) {
            $text = $step.run -replace '\$\{\{.*?\}\}', '0'
            $tokens = $errors = $null
            $Scripts[$file] += [System.Management.Automation.Language.Parser]::ParseInput($text, [ref] $tokens, [ref] $errors)
            $ParseErrors[$file] += @($errors | ForEach-Object { "$($step['name']): $_" })
        }
    }

    function Get-ExampleCall([string] $File, [string] $Name) {
        foreach ($ast in $Scripts[$File]) { Get-Call -Ast $ast -Name $Name -Where $File }
    }

    # The Indexed Job, its Invoke-ImageSync as parsed, and the container running it (raw: $(JOB_COMPLETION_INDEX) unexpanded).
    $script:KubeJob = Get-Document 'kubernetes/indexed-job.yaml' 'Job' | Where-Object { $_.spec['completionMode'] -eq 'Indexed' } | Select-Object -First 1
    $script:KubeSync = @(Get-ExampleCall 'kubernetes/indexed-job.yaml' 'Invoke-ImageSync')[0]
    $script:KubeRaw = $KubeJob.spec.template.spec.containers | Where-Object { "$($_['args'])" -match 'Invoke-ImageSync' } | Select-Object -First 1
    function Get-RawArgument([string] $Text, [string] $Parameter) {
        if ($Text -match "-$Parameter\s+('[^']*'|`"[^`"]*`"|[^\s``]+)") { $Matches[1].Trim("'", '"') }
    }
    function Get-Mount($Container, [string] $Path) {
        # The volume mount that holds $Path (the longest mountPath that is it or a folder of it).
        @($Container.volumeMounts) | Where-Object { $Path -eq $_.mountPath -or $Path.StartsWith($_.mountPath.TrimEnd('/') + '/') } |
            Sort-Object { $_.mountPath.Length } -Descending | Select-Object -First 1
    }
    function Get-Volume($Job, [string] $Name) { @($Job.spec.template.spec.volumes) | Where-Object name -EQ $Name | Select-Object -First 1 }
}

Describe 'Every example' {
    It '<Name> parses, its PowerShell too, and it calls <Needs>' -ForEach $ScriptExamples {
        if ($Yaml.Contains($Name)) {
            $Yaml[$Name].error | Should -BeNullOrEmpty
            @($Yaml[$Name].documents).Count | Should -BeGreaterThan 0
        }
        $ParseErrors[$Name] | Should -BeNullOrEmpty
        foreach ($command in $Needs) { @(Get-ExampleCall $Name $command).Count | Should -BeGreaterThan 0 -Because "$Name runs $command" }
    }

    It '<Name> passes Invoke-ImageSync and Merge-SyncResult only parameters they have, by full name, not splatted' -ForEach $ScriptExamples {
        $unknown = foreach ($command in 'Invoke-ImageSync', 'Merge-SyncResult') {
            $known = $KnownParameters[$command]
            if ($known.Count -eq 0) { "$command is not a command of the module"; continue }
            foreach ($call in Get-ExampleCall $Name $command) {
                if ($call.Splatted) { "$command is splatted (the test cannot check it)" }
                foreach ($p in $call.Arguments.Keys) { if (-not $known.Contains($p)) { "$command -$p" } }
            }
        }
        $unknown | Should -BeNullOrEmpty
    }

    It '<Name> says how credentials reach the worker' -ForEach $ScriptExamples {
        Get-Content -Raw (Join-Path $examples $Name) | Should -Match '(?m)^\s*#?\s*Credentials:'
    }

    It 'the parameter check can fail: an unknown or abbreviated parameter is caught' {
        $tokens = $errors = $null
        $ast = [System.Management.Automation.Language.Parser]::ParseInput('Invoke-ImageSync -Images a -ShardCnt 2 -Summ; Merge-SyncResult -Path x -Bogus y', [ref] $tokens, [ref] $errors)
        $known = $KnownParameters['Invoke-ImageSync']
        @((Get-Call -Ast $ast -Name 'Invoke-ImageSync').Arguments.Keys | Where-Object { -not $known.Contains($_) }) | Should -Be @('ShardCnt', 'Summ')
        $knownMerge = $KnownParameters['Merge-SyncResult']
        @((Get-Call -Ast $ast -Name 'Merge-SyncResult').Arguments.Keys | Where-Object { -not $knownMerge.Contains($_) }) | Should -Be @('Bogus')
    }
}

Describe 'The Kubernetes Indexed Job' {
    It 'holds a ConfigMap, a Secret, a PersistentVolumeClaim and the Indexed Job' {
        $kinds = @($Yaml['kubernetes/indexed-job.yaml'].documents | ForEach-Object { $_['kind'] })
        foreach ($k in 'ConfigMap', 'Secret', 'PersistentVolumeClaim', 'Job') { $kinds | Should -Contain $k }
        $KubeJob | Should -Not -BeNullOrEmpty
        $KubeJob.apiVersion | Should -Be 'batch/v1'
    }

    It 'has one completion per shard of -ShardCount, and reads the index from JOB_COMPLETION_INDEX' {
        $count = [int]$KubeSync.Arguments['ShardCount']
        $count | Should -BeGreaterThan 1
        $KubeJob.spec.completions | Should -Be $count
        $KubeJob.spec.parallelism | Should -BeGreaterThan 0
        $KubeJob.spec.parallelism | Should -BeLessOrEqual $count
        $KubeSync.Arguments.Contains('ShardIndex') | Should -BeFalse -Because '-ShardCount alone reads JOB_COMPLETION_INDEX'
        foreach ($p in 'SummaryPath', 'FailedImagesPath') { Get-RawArgument "$($KubeRaw.args)" $p | Should -Match '\$\(JOB_COMPLETION_INDEX\)' -Because "each pod writes its own -$p" }
        $KubeSync.Arguments['ErrorAction'] | Should -Be 'Stop'
    }

    It 'retries per index, never restarts in place, and has a deadline' {
        $KubeJob.spec.backoffLimitPerIndex | Should -BeGreaterThan 0
        $KubeJob.spec.maxFailedIndexes | Should -BeLessOrEqual $KubeJob.spec.completions
        $KubeJob.spec.activeDeadlineSeconds | Should -BeGreaterThan 0
        $KubeJob.spec.template.spec.restartPolicy | Should -Be 'Never'
        $names = @(Get-PodContainer $KubeJob | ForEach-Object name)
        foreach ($rule in @($KubeJob.spec.podFailurePolicy.rules)) {
            if ($rule['onExitCodes'] -and $rule.onExitCodes['containerName']) { $names | Should -Contain $rule.onExitCodes.containerName }
        }
    }

    It 'mounts the Secret read-only (0400) where -Auth points, and the ConfigMap where -Images points' {
        $container = $KubeRaw
        $secret = Get-Document 'kubernetes/indexed-job.yaml' 'Secret' | Select-Object -First 1
        foreach ($case in @{ Parameter = 'Auth'; Source = 'secret'; Document = $secret },
                          @{ Parameter = 'Images'; Source = 'configMap'; Document = (Get-Document 'kubernetes/indexed-job.yaml' 'ConfigMap' | Select-Object -First 1) }) {
            $path = $KubeSync.Arguments[$case.Parameter].Trim("'", '"')
            $mount = Get-Mount $container $path
            $mount | Should -Not -BeNullOrEmpty -Because "-$($case.Parameter) $path must be on a volume"
            $mount.readOnly | Should -BeTrue
            $volume = Get-Volume $KubeJob $mount.name
            $volume.Contains($case.Source) | Should -BeTrue -Because "-$($case.Parameter) comes from a $($case.Source) volume"
            $name = if ($case.Source -eq 'secret') { $volume.secret.secretName } else { $volume.configMap.name }
            $name | Should -Be $case.Document.metadata.name
            $relative = $path.Substring($mount.mountPath.TrimEnd('/').Length + 1)
            $item = @($volume[$case.Source]['items']) | Where-Object { $_ -and $_.path -eq $relative }
            $key = if ($item) { $item.key } else { $relative }
            $data = @($case.Document['data'], $case.Document['stringData']) | Where-Object { $_ }
            @($data | Where-Object { $_.Contains($key) }).Count | Should -Be 1 -Because "the $($case.Source) has the key $key"
        }
        $auth = Get-Volume $KubeJob (Get-Mount $container $KubeSync.Arguments['Auth']).name
        "$($auth.secret.defaultMode)" | Should -BeIn '0400', '256'
    }

    It 'writes the summaries to a ReadWriteMany volume that the merge Job reads with Merge-SyncResult' {
        $summary = Get-RawArgument "$($KubeRaw.args)" 'SummaryPath'
        $mount = Get-Mount $KubeRaw $summary
        $claim = (Get-Volume $KubeJob $mount.name).persistentVolumeClaim.claimName
        $pvc = Get-Document 'kubernetes/indexed-job.yaml' 'PersistentVolumeClaim' | Where-Object { $_.metadata.name -eq $claim }
        $pvc.spec.accessModes | Should -Contain 'ReadWriteMany'

        $merge = @(Get-ExampleCall 'kubernetes/merge-job.yaml' 'Merge-SyncResult')[0]
        $pattern = $merge.Arguments['Path'].Trim("'", '"')
        $summary -replace '\$\(JOB_COMPLETION_INDEX\)', '3' | Should -BeLike $pattern -Because 'the merge reads every shard''s summary'
        $mergeJob = Get-Document 'kubernetes/merge-job.yaml' 'Job' | Select-Object -First 1
        $mergeContainer = $mergeJob.spec.template.spec.containers | Where-Object { "$($_['args'])" -match 'Merge-SyncResult' }
        (Get-Volume $mergeJob (Get-Mount $mergeContainer $pattern).name).persistentVolumeClaim.claimName | Should -Be $claim
        $merge.Arguments['FailedImagesPath'] | Should -Not -BeNullOrEmpty
    }

    It 'carries no credential in env, envFrom or arguments, and runs hardened' {
        $secretValues = foreach ($s in Get-Document 'kubernetes/indexed-job.yaml' 'Secret') {
            foreach ($text in @($s['stringData']).Values) { [regex]::Matches($text, '(?m)password:\s*"?([^"\r\n]+)') | ForEach-Object { $_.Groups[1].Value } }
        }
        @($secretValues).Count | Should -BeGreaterThan 0
        $problems = foreach ($file in 'kubernetes/indexed-job.yaml', 'kubernetes/merge-job.yaml') {
            foreach ($job in Get-Document $file 'Job') {
                if ($job.spec.template.spec.securityContext.runAsNonRoot -ne $true) { "$file $($job.metadata.name): runAsNonRoot" }
                foreach ($c in Get-PodContainer $job) {
                    $at = "$file $($job.metadata.name)/$($c.name)"
                    if ($c.Contains('envFrom')) { "${at}: envFrom" }
                    foreach ($e in @($c['env']) | Where-Object { $_ }) {
                        if ($e.name -match 'PASS|SECRET|TOKEN|CRED') { "${at}: env $($e.name)" }
                        if ($e.Contains('valueFrom')) { "${at}: env $($e.name) from valueFrom" }
                        foreach ($v in $secretValues) { if ("$($e['value'])".Contains($v)) { "${at}: env $($e.name) holds a password" } }
                    }
                    foreach ($v in $secretValues) { if ("$($c['args']) $($c['command'])".Contains($v)) { "${at}: a password in the arguments" } }
                    if ($c.securityContext.readOnlyRootFilesystem -ne $true) { "${at}: readOnlyRootFilesystem" }
                    if ($c.securityContext.allowPrivilegeEscalation -ne $false) { "${at}: allowPrivilegeEscalation" }
                    if (@($c.securityContext.capabilities.drop) -notcontains 'ALL') { "${at}: capabilities not all dropped" }
                    if (-not $c.resources.requests.memory -or -not $c.resources.limits.memory) { "${at}: memory request/limit" }
                }
            }
        }
        $problems | Should -BeNullOrEmpty
    }

    It 'runs PowerShell images, with the module on the default PSModulePath' {
        foreach ($file in 'kubernetes/indexed-job.yaml', 'kubernetes/merge-job.yaml') {
            foreach ($job in Get-Document $file 'Job') {
                foreach ($c in Get-PodContainer $job) { $c.image | Should -Match '^mcr\.microsoft\.com/powershell[:@]' }
            }
        }
        $modules = @($KubeRaw.volumeMounts) | Where-Object mountPath -EQ '/usr/local/share/powershell/Modules'
        $modules | Should -Not -BeNullOrEmpty
        $writers = @($KubeJob.spec.template.spec.initContainers | Where-Object { @($_.volumeMounts | Where-Object name -EQ $modules.name).Count -gt 0 })
        $writers.Count | Should -Be 1 -Because 'an initContainer puts the module there'
    }
}

Describe 'The GitHub Actions workflow' {
    BeforeAll {
        $workflow = $Yaml['github-actions/sharded-sync.yml'].documents[0]
        $sync = @(Get-ExampleCall 'github-actions/sharded-sync.yml' 'Invoke-ImageSync')[0]
        $raw = @($workflow.jobs.sync.steps | Where-Object { "$($_['run'])" -match 'Invoke-ImageSync' })[0]
    }

    It 'runs by hand and on a schedule, with read-only permissions' {
        $workflow['on'].Contains('workflow_dispatch') | Should -BeTrue
        @($workflow['on']['schedule']).Count | Should -BeGreaterThan 0
        $workflow.Contains('permissions') | Should -BeTrue
        @($workflow.permissions.Values) | Should -Not -Contain 'write'
        foreach ($job in $workflow.jobs.Values) { if ($job['permissions']) { @($job.permissions.Values) | Should -Not -Contain 'write' } }
    }

    It 'has a matrix of exactly -ShardCount shards 0..n-1, and passes the matrix value as -ShardIndex' {
        $count = [int]$sync.Arguments['ShardCount']
        $count | Should -BeGreaterThan 1
        @($workflow.jobs.sync.strategy.matrix.shard) | Should -Be @(0..($count - 1))
        $workflow.jobs.sync.strategy['fail-fast'] | Should -BeFalse
        $workflow.jobs.sync.strategy['max-parallel'] | Should -BeLessOrEqual $count
        $raw.run | Should -Match '-ShardIndex \$\{\{ matrix\.shard \}\}'
        Get-RawArgument $raw.run 'SummaryPath' | Should -Match 'matrix\.shard|\$\{\{'
        $sync.Arguments['ErrorAction'] | Should -Be 'Stop'
    }

    It 'uploads every shard''s summary, also when the shard failed' {
        $upload = @($workflow.jobs.sync.steps | Where-Object { "$($_['uses'])" -like 'actions/upload-artifact@*' })
        $upload.Count | Should -Be 1
        $upload[0]['if'] | Should -Match 'always\(\)'
        $upload[0].with.name | Should -Match '\$\{\{ matrix\.shard \}\}'
    }

    It 'merges after all shards, whatever they did, and uploads the merged failed-images file' {
        $merge = $workflow.jobs.merge
        @($merge.needs) | Should -Contain 'sync'
        $merge['if'] | Should -Match 'always\(\)'
        @($merge.steps | Where-Object { "$($_['uses'])" -like 'actions/download-artifact@*' }).Count | Should -Be 1
        $call = @(Get-ExampleCall 'github-actions/sharded-sync.yml' 'Merge-SyncResult')[0]
        $failed = $call.Arguments['FailedImagesPath']
        $failed | Should -Not -BeNullOrEmpty
        $up = @($merge.steps | Where-Object { "$($_['uses'])" -like 'actions/upload-artifact@*' })
        $up.Count | Should -Be 1
        $up[0]['if'] | Should -Match 'always\(\)'
        $failed | Should -BeLike "*$(Split-Path -Leaf $up[0].with.path)"
        ($merge.steps | Where-Object { "$($_['run'])" -match 'Merge-SyncResult' }).run | Should -Match 'exit 1'
    }

    It 'reads secrets only into step env, and the auth file names those variables instead of holding values' {
        $found = [Collections.Generic.List[string]]::new()
        function Find-Secret($node, [string] $path) {
            if ($node -is [Collections.IDictionary]) { foreach ($k in $node.Keys) { Find-Secret $node[$k] "$path/$k" } }
            elseif ($node -is [array]) { for ($i = 0; $i -lt $node.Count; $i++) { Find-Secret $node[$i] "$path/$i" } }
            elseif ("$node" -match 'secrets\.') { $found.Add($path) }
        }
        Find-Secret $workflow ''
        $found.Count | Should -BeGreaterThan 0
        $found | Where-Object { $_ -notmatch '^/jobs/sync/steps/\d+/env/[A-Z_]+$' } | Should -BeNullOrEmpty
        $secretEnv = @($workflow.jobs.sync.steps | Where-Object { $_['env'] -and "$($_.env.Values)" -match 'secrets\.' })
        $secretEnv.Count | Should -Be 1 -Because 'only one step sees the secrets'
        $secretEnv[0]['run'] | Should -Match 'Invoke-ImageSync'
        $authStep = $workflow.jobs.sync.steps | Where-Object { "$($_['run'])" -match 'auth\.yaml' -and "$($_['run'])" -notmatch 'Invoke-ImageSync' }
        foreach ($name in $secretEnv[0].env.Keys) { $authStep.run | Should -Match ([regex]::Escape("`${$name}")) }
    }
}

Describe 'The Azure Automation runbooks' {
    BeforeAll {
        $child = $Scripts['azure-automation/Invoke-ShardSync.ps1'][0]
        $parent = $Scripts['azure-automation/Start-ShardedSync.ps1'][0]
        $childParameters = @{}
        foreach ($p in $child.ParamBlock.Parameters) { $childParameters[$p.Name.VariablePath.UserPath] = $p }
        function Test-Call($Ast, [string] $Name) { @(Get-Call -Ast $Ast -Name $Name).Count -gt 0 }
        function Get-NamedArgument($Parameter) {
            $Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.Language.AttributeAst] } |
                ForEach-Object { foreach ($n in $_.NamedArguments) { $n.ArgumentName } }
        }
    }

    It 'the child takes ShardIndex and ShardCount as mandatory ints' {
        foreach ($name in 'ShardIndex', 'ShardCount') {
            $childParameters.Contains($name) | Should -BeTrue
            $childParameters[$name].StaticType | Should -Be ([int])
            Get-NamedArgument $childParameters[$name] | Should -Contain 'Mandatory'
        }
    }

    It 'the child syncs its shard with -Summary and -ErrorAction Stop inside try/finally, with credential assets' {
        $call = @(Get-Call -Ast $child -Name 'Invoke-ImageSync')
        $call.Count | Should -Be 1
        $call[0].Arguments['ShardIndex'] | Should -Be '$ShardIndex'
        $call[0].Arguments['ShardCount'] | Should -Be '$ShardCount'
        $call[0].Arguments['SummaryPath'] | Should -Not -BeNullOrEmpty
        $call[0].Arguments.Contains('Summary') | Should -BeTrue
        $call[0].Arguments['ErrorAction'] | Should -Be 'Stop'
        $try = $call[0].Ast.Parent
        while ($try -and $try -isnot [System.Management.Automation.Language.TryStatementAst]) { $try = $try.Parent }
        $try | Should -Not -BeNullOrEmpty
        $try.Finally | Should -Not -BeNullOrEmpty
        Test-Call $child 'Get-AutomationPSCredential' | Should -BeTrue
        Test-Call $child 'ConvertTo-SecureString' | Should -BeFalse -Because 'no password in clear text'
    }

    It 'the parent signs in with the managed identity, starts a child per shard with exactly the child''s parameters' {
        @(Get-Call -Ast $parent -Name 'Connect-AzAccount' | Where-Object { $_.Arguments.Contains('Identity') }).Count | Should -Be 1
        $start = @(Get-Call -Ast $parent -Name 'Start-AzAutomationRunbook')
        $start.Count | Should -Be 1
        $start[0].Ast.Parent | Should -Not -BeNullOrEmpty
        $loop = $start[0].Ast.Parent
        while ($loop -and $loop -isnot [System.Management.Automation.Language.LoopStatementAst]) { $loop = $loop.Parent }
        $loop | Should -Not -BeNullOrEmpty -Because 'one job per shard'
        $variable = $start[0].Arguments['Parameters'].TrimStart('$')
        $assigned = $parent.FindAll({ param($a) $a -is [System.Management.Automation.Language.AssignmentStatementAst] -and $a.Left.Extent.Text -eq "`$$variable" }, $true) | Select-Object -First 1
        $table = $assigned.Right.Expression
        $table | Should -BeOfType ([System.Management.Automation.Language.HashtableAst])
        $keys = @($table.KeyValuePairs | ForEach-Object { $_.Item1.Extent.Text })
        $keys | Should -Contain 'ShardIndex'
        $keys | Should -Contain 'ShardCount'
        foreach ($k in $keys) { $childParameters.Contains($k) | Should -BeTrue -Because "the child has a parameter $k" }
        foreach ($p in $childParameters.Values) {
            if ((Get-NamedArgument $p) -contains 'Mandatory') { $keys | Should -Contain $p.Name.VariablePath.UserPath }
        }
    }

    It 'the parent waits for the jobs with a deadline, merges the summaries and throws when anything failed' {
        $poll = @(Get-Call -Ast $parent -Name 'Get-AzAutomationJob')
        $poll.Count | Should -BeGreaterThan 0
        $loops = for ($a = $poll[0].Ast.Parent; $a; $a = $a.Parent) { if ($a -is [System.Management.Automation.Language.LoopStatementAst]) { $a } }
        @($loops | Where-Object { $_.Extent.Text -match 'deadline' }).Count | Should -Be 1 -Because 'the polling loop ends at a deadline'
        Test-Call $parent 'Stop-AzAutomationJob' | Should -BeTrue -Because 'a timed-out child is stopped'
        $merge = @(Get-Call -Ast $parent -Name 'Merge-SyncResult')
        $merge.Count | Should -Be 1
        $merge[0].Arguments['FailedImagesPath'] | Should -Not -BeNullOrEmpty
        $merge[0].Arguments['ErrorVariable'] | Should -Not -BeNullOrEmpty -Because 'missing shards are non-terminating errors'
        $throws = $parent.FindAll({ param($a) $a -is [System.Management.Automation.Language.ThrowStatementAst] }, $true)
        @($throws | Where-Object { $_.Extent.StartOffset -gt $merge[0].Ast.Extent.StartOffset }).Count | Should -BeGreaterThan 0
    }

    It 'names the 3-hour limit and Hybrid Runbook Workers (-RunOn)' {
        $text = Get-Content -Raw (Join-Path $examples 'azure-automation/Start-ShardedSync.ps1')
        $text | Should -Match '3 hours'
        $text | Should -Match '-RunOn'
        $text | Should -Match 'Get-AzAutomationJobOutput'
    }
}
