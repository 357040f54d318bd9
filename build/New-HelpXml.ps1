<#
.SYNOPSIS
    Generates the MAML help of the OciSync cmdlets (en-US/OciSync.PowerShell.dll-Help.xml).
.DESCRIPTION
    The words come from build/help/<Cmdlet>.psd1 (Synopsis, Description, Parameters, Examples) and
    build/help/_Shared.psd1 (parameter descriptions several cmdlets share); the syntax, parameter
    types, positions, pipeline input, aliases and output types come from Get-Command on the built
    module, so they cannot drift from the code. So do the default values: a parameter's "Default
    value" is what its property holds in a new instance of the cmdlet class (Proc 5, Retries 2);
    an optional Defaults table in the psd1s gives the few a property cannot show (Images is null in
    the class and means images.json), and is an error where the class has a default of its own. A
    description that says "Default N" must say the class's value. Runs in its own pwsh (build.ps1 Invoke-Package
    starts it) and writes the file next to the packaged module (out/OciSync/en-US).
    A cmdlet without a help source, or a parameter without a description, is an error.
.EXAMPLE
    dotnet pwsh -NoProfile -File build/New-HelpXml.ps1 -ModulePath out/OciSync/OciSync.psd1
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $SourcePath = (Join-Path $PSScriptRoot 'help'),
    # Next to the packaged module only: generated help lives in out/, so a build leaves the work tree as it was.
    [string[]] $OutputDirectory = @((Join-Path (Split-Path -Parent (Resolve-Path $ModulePath)) 'en-US'))
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$module = Import-Module (Resolve-Path $ModulePath) -PassThru -Force
$common = @([System.Management.Automation.PSCmdlet]::CommonParameters) + @([System.Management.Automation.PSCmdlet]::OptionalCommonParameters)
$sharedFile = Import-PowerShellDataFile (Join-Path $SourcePath '_Shared.psd1')
$shared = $sharedFile.Parameters
$sharedDefaults = if ($sharedFile.ContainsKey('Defaults')) { $sharedFile.Defaults } else { @{} }

$ns = @{
    maml    = 'http://schemas.microsoft.com/maml/2004/10'
    command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
    dev     = 'http://schemas.microsoft.com/maml/dev/2004/10'
}

function Write-Paragraphs([System.Xml.XmlWriter] $w, [string[]] $Text) {
    $w.WriteStartElement('maml', 'description', $ns.maml)
    foreach ($p in $Text) { $w.WriteElementString('maml', 'para', $ns.maml, $p) }
    $w.WriteEndElement()
}

function Get-PipelineInput($attrs) {
    $v = @($attrs | Where-Object ValueFromPipeline).Count -gt 0
    $n = @($attrs | Where-Object ValueFromPipelineByPropertyName).Count -gt 0
    if ($v -and $n) { 'True (ByValue, ByPropertyName)' } elseif ($v) { 'True (ByValue)' } elseif ($n) { 'True (ByPropertyName)' } else { 'False' }
}

function Get-ClassDefault($instance, [string] $name) {
    # The property's value in a new cmdlet object, as help text; nothing for null, empty, a switch that is off,
    # or a dynamic parameter (its property is on another class).
    if ($null -eq $instance) { return $null }
    $property = @($instance.GetType().GetProperties() | Where-Object Name -EQ $name) | Select-Object -First 1
    if ($null -eq $property) { return $null }
    $value = $property.GetValue($instance)
    if ($value -is [switch]) { if ($value.IsPresent) { return 'True' } else { return $null } }
    if ($null -eq $value -or ($value -is [string] -and $value.Length -eq 0)) { return $null }
    if ($value -is [array]) {
        if ($value.Length -eq 0) { return $null }
        return (@($value | ForEach-Object { [Convert]::ToString($_, [cultureinfo]::InvariantCulture) }) -join ', ')
    }
    [Convert]::ToString($value, [cultureinfo]::InvariantCulture)
}

function Write-Parameter([System.Xml.XmlWriter] $w, $param, $attrs, [string] $description, [string] $default) {
    $attrs = @($attrs)
    $positional = @($attrs | Where-Object { $_.Position -ge 0 })
    $position = if ($positional.Count) { $positional[0].Position } else { $null }
    $isSwitch = $param.ParameterType -eq [switch]
    $w.WriteStartElement('command', 'parameter', $ns.command)
    $w.WriteAttributeString('required', [string](@($attrs | Where-Object Mandatory).Count -gt 0).ToString().ToLowerInvariant())
    $w.WriteAttributeString('variableLength', [string]($param.ParameterType.IsArray).ToString().ToLowerInvariant())
    $w.WriteAttributeString('globbing', 'false')
    $w.WriteAttributeString('pipelineInput', (Get-PipelineInput $attrs))
    $w.WriteAttributeString('position', $(if ($null -ne $position) { [string]$position } else { 'named' }))
    $w.WriteAttributeString('aliases', $(if ($param.Aliases.Count) { $param.Aliases -join ', ' } else { 'none' }))
    $w.WriteElementString('maml', 'name', $ns.maml, $param.Name)
    Write-Paragraphs $w @($description)
    if (-not $isSwitch) {
        $w.WriteStartElement('command', 'parameterValue', $ns.command)
        $w.WriteAttributeString('required', 'true')
        $w.WriteAttributeString('variableLength', [string]($param.ParameterType.IsArray).ToString().ToLowerInvariant())
        $w.WriteString($param.ParameterType.Name)
        $w.WriteEndElement()
    }
    $w.WriteStartElement('dev', 'type', $ns.dev)
    $w.WriteElementString('maml', 'name', $ns.maml, $param.ParameterType.FullName)
    $w.WriteEndElement()
    if ($default) { $w.WriteElementString('dev', 'defaultValue', $ns.dev, $default) }
    $w.WriteEndElement()
}

$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$buffer = [System.IO.MemoryStream]::new()
$w = [System.Xml.XmlWriter]::Create($buffer, $settings)
$w.WriteStartDocument()
$w.WriteStartElement('helpItems')
$w.WriteAttributeString('schema', 'maml')
$w.WriteAttributeString('xmlns', 'maml', $null, $ns.maml)
$w.WriteAttributeString('xmlns', 'command', $null, $ns.command)
$w.WriteAttributeString('xmlns', 'dev', $null, $ns.dev)

$problems = [System.Collections.Generic.List[string]]::new()
foreach ($cmd in Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name) {
    $sourceFile = Join-Path $SourcePath "$($cmd.Name).psd1"
    if (-not (Test-Path $sourceFile)) { $problems.Add("$($cmd.Name): no help source $sourceFile"); continue }
    $src = Import-PowerShellDataFile $sourceFile
    $params = @($cmd.Parameters.Values | Where-Object { $_.Name -notin $common } | Sort-Object { $p = $_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and $_.Position -ge 0 } | Select-Object -First 1; if ($p) { $p.Position } else { 1000 } }, Name)
    $describe = {
        param($name)
        if ($src.Parameters.ContainsKey($name)) { $src.Parameters[$name] } elseif ($shared.ContainsKey($name)) { $shared[$name] } else { $null }
    }
    foreach ($p in $params) { if (-not (& $describe $p.Name)) { $problems.Add("$($cmd.Name) -$($p.Name): no description") } }

    $instance = $null
    try { $instance = [Activator]::CreateInstance($cmd.ImplementingType) } catch { $problems.Add("$($cmd.Name): cannot make an instance to read its defaults: $_") }
    $defaults = @{}
    foreach ($p in $params) {
        $fromClass = Get-ClassDefault $instance $p.Name
        $fromText = if ($src.ContainsKey('Defaults') -and $src.Defaults.ContainsKey($p.Name)) { $src.Defaults[$p.Name] } elseif ($sharedDefaults.ContainsKey($p.Name)) { $sharedDefaults[$p.Name] } else { $null }
        if ($null -ne $fromClass -and $null -ne $fromText) { $problems.Add("$($cmd.Name) -$($p.Name): a Defaults entry ('$fromText') for a parameter whose class default is '$fromClass'") }
        $default = if ($null -ne $fromClass) { $fromClass } else { $fromText }
        if ($default) { $defaults[$p.Name] = [string]$default }
        # "Default 5" in the words must be the value the code has.
        $said = [regex]::Match([string](& $describe $p.Name), '\bDefault (\d+)\b')
        if ($said.Success -and $said.Groups[1].Value -ne $default) { $problems.Add("$($cmd.Name) -$($p.Name): the description says 'Default $($said.Groups[1].Value)', the default value is '$default'") }
    }
    if (@($src.Examples).Count -lt 2) { $problems.Add("$($cmd.Name): fewer than two examples") }

    $w.WriteStartElement('command', 'command', $ns.command)
    $w.WriteStartElement('command', 'details', $ns.command)
    $w.WriteElementString('command', 'name', $ns.command, $cmd.Name)
    Write-Paragraphs $w @($src.Synopsis)
    $w.WriteElementString('command', 'verb', $ns.command, $cmd.Verb)
    $w.WriteElementString('command', 'noun', $ns.command, $cmd.Noun)
    $w.WriteEndElement()
    Write-Paragraphs $w @($src.Description)

    $w.WriteStartElement('command', 'syntax', $ns.command)
    foreach ($set in $cmd.ParameterSets) {
        $w.WriteStartElement('command', 'syntaxItem', $ns.command)
        $w.WriteElementString('maml', 'name', $ns.maml, $cmd.Name)
        $setParams = @($set.Parameters | Where-Object { $_.Name -notin $common } | Sort-Object { if ($_.Position -ge 0) { $_.Position } else { 1000 } }, Name)
        foreach ($sp in $setParams) {
            $full = $cmd.Parameters[$sp.Name]
            $attrs = $full.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and ($_.ParameterSetName -eq $set.Name -or $_.ParameterSetName -eq '__AllParameterSets') }
            Write-Parameter $w $full $attrs (& $describe $sp.Name) $defaults[$sp.Name]
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $ns.command)
    foreach ($p in $params) {
        Write-Parameter $w $p ($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }) (& $describe $p.Name) $defaults[$p.Name]
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'inputTypes', $ns.command)
    $inputs = @($params | Where-Object { @($_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and ($_.ValueFromPipeline -or $_.ValueFromPipelineByPropertyName) }).Count -gt 0 })
    foreach ($p in $inputs) {
        $w.WriteStartElement('command', 'inputType', $ns.command)
        $w.WriteStartElement('dev', 'type', $ns.dev)
        $w.WriteElementString('maml', 'name', $ns.maml, $p.ParameterType.FullName)
        $w.WriteEndElement()
        Write-Paragraphs $w @("-$($p.Name): $(Get-PipelineInput ($p.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }))")
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'returnValues', $ns.command)
    foreach ($t in $cmd.OutputType) {
        $w.WriteStartElement('command', 'returnValue', $ns.command)
        $w.WriteStartElement('dev', 'type', $ns.dev)
        $w.WriteElementString('maml', 'name', $ns.maml, $t.Name)
        $w.WriteEndElement()
        Write-Paragraphs $w @('')
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'examples', $ns.command)
    $i = 0
    foreach ($ex in @($src.Examples)) {
        $i++
        $w.WriteStartElement('command', 'example', $ns.command)
        $w.WriteElementString('maml', 'title', $ns.maml, "-------------------------- Example $i --------------------------")
        $w.WriteElementString('dev', 'code', $ns.dev, $ex.Code)
        $w.WriteStartElement('dev', 'remarks', $ns.dev)
        $w.WriteElementString('maml', 'para', $ns.maml, $ex.Remarks)
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'relatedLinks', $ns.command)
    foreach ($other in @(Get-Command -Module $module.Name -CommandType Cmdlet | Where-Object Name -NE $cmd.Name | Sort-Object Name)) {
        $w.WriteStartElement('maml', 'navigationLink', $ns.maml)
        $w.WriteElementString('maml', 'linkText', $ns.maml, $other.Name)
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteEndElement()   # command:command
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Flush()

if ($problems.Count) { throw "Help is incomplete:`n  $($problems -join "`n  ")" }

foreach ($dir in $OutputDirectory) {
    $null = New-Item -ItemType Directory -Path $dir -Force
    $file = Join-Path $dir 'OciSync.PowerShell.dll-Help.xml'
    [System.IO.File]::WriteAllBytes($file, $buffer.ToArray())
    Write-Host "Help: $file"
}
