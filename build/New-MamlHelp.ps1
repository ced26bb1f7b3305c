<#
.SYNOPSIS
    Builds the module's MAML help from the Markdown kept in src/PrefectScaling/help (platyPS is not available).
.DESCRIPTION
    Text (synopsis, description, parameter descriptions, examples, notes) comes from one Markdown file per cmdlet;
    everything the cmdlet itself knows (parameter sets, types, positions, pipeline binding, aliases, wildcards)
    comes from the built module, so the two cannot drift. Fails when a cmdlet or parameter is undocumented, a
    documented parameter does not exist, or a cmdlet has fewer than two examples.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ManifestPath,
    [Parameter(Mandatory)] [string] $SourceFolder,
    [Parameter(Mandatory)] [string] $OutFile
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Read-HelpSource([string] $Path) {
    $doc = @{ Synopsis = ''; Description = ''; Examples = [System.Collections.Generic.List[object]]::new(); Parameters = [ordered]@{}
              Inputs = [System.Collections.Generic.List[object]]::new(); Outputs = [System.Collections.Generic.List[object]]::new(); Notes = ''; Links = @() }
    $section = $null; $item = $null; $inCode = $false
    foreach ($line in (Get-Content -LiteralPath $Path)) {
        if ($line -match '^```') {
            if ($section -eq 'EXAMPLES' -and $item) { if ($inCode) { $inCode = $false } else { $inCode = $true } ; continue }
        }
        if ($inCode) { $item.Code += $line + "`n"; continue }
        if ($line -match '^# ') { continue }
        if ($line -match '^## (.+)$') { $section = $Matches[1].Trim(); $item = $null; continue }
        if ($line -match '^### (.+)$') {
            $title = $Matches[1].Trim()
            switch ($section) {
                'EXAMPLES'   { $item = [pscustomobject]@{ Title = $title; Code = ''; Remarks = '' }; $doc.Examples.Add($item) }
                'PARAMETERS' { $item = [pscustomobject]@{ Name = $title.TrimStart('-'); Text = '' }; $doc.Parameters[$item.Name] = $item }
                'INPUTS'     { $item = [pscustomobject]@{ Type = $title; Text = '' }; $doc.Inputs.Add($item) }
                'OUTPUTS'    { $item = [pscustomobject]@{ Type = $title; Text = '' }; $doc.Outputs.Add($item) }
            }
            continue
        }
        switch ($section) {
            'SYNOPSIS'      { $doc.Synopsis += $line + "`n" }
            'DESCRIPTION'   { $doc.Description += $line + "`n" }
            'NOTES'         { $doc.Notes += $line + "`n" }
            'RELATED LINKS' { if ($line.Trim()) { $doc.Links += $line.Trim() } }
            'EXAMPLES'      { if ($item) { $item.Remarks += $line + "`n" } }
            { $_ -in 'PARAMETERS', 'INPUTS', 'OUTPUTS' } { if ($item) { $item.Text += $line + "`n" } }
        }
    }
    $doc
}

# Paragraphs are separated by blank lines; lines within one are joined.
function Split-Paragraphs([string] $Text) {
    @(($Text.Trim() -split '(\r?\n){2,}') | ForEach-Object { ($_ -split '\r?\n' | ForEach-Object Trim) -join ' ' } | Where-Object { $_ })
}

$commonParameters = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
$module = Import-Module -Name $ManifestPath -PassThru -Force
$problems = [System.Collections.Generic.List[string]]::new()

$settings = [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) }
$null = New-Item -ItemType Directory -Force -Path (Split-Path $OutFile)
$w = [System.Xml.XmlWriter]::Create($OutFile, $settings)
$maml = 'http://schemas.microsoft.com/maml/2004/10'
$command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'

function Write-Paragraphs([string] $Text) {
    $w.WriteStartElement('maml', 'description', $maml)
    foreach ($p in (Split-Paragraphs $Text)) { $w.WriteElementString('maml', 'para', $maml, $p) }
    $w.WriteEndElement()
}

function Write-Parameter($Parameter, $SetParameter, [string] $Text) {
    $type = $Parameter.ParameterType
    $isSwitch = $type -eq [switch]
    $pipeline = @(if ($SetParameter.ValueFromPipeline) { 'ByValue' }; if ($SetParameter.ValueFromPipelineByPropertyName) { 'ByPropertyName' })
    $w.WriteStartElement('command', 'parameter', $command)
    $w.WriteAttributeString('required', "$($SetParameter.IsMandatory)".ToLowerInvariant())
    $w.WriteAttributeString('variableLength', "$($type.IsArray)".ToLowerInvariant())
    $w.WriteAttributeString('globbing', "$([bool]($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }))".ToLowerInvariant())
    $w.WriteAttributeString('pipelineInput', $(if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }))
    $w.WriteAttributeString('position', $(if ($SetParameter.Position -ge 0) { "$($SetParameter.Position)" } else { 'named' }))
    $w.WriteAttributeString('aliases', $(if ($Parameter.Aliases.Count) { $Parameter.Aliases -join ', ' } else { 'none' }))
    $w.WriteElementString('maml', 'name', $maml, $Parameter.Name)
    Write-Paragraphs $Text
    $w.WriteStartElement('command', 'parameterValue', $command)
    $w.WriteAttributeString('required', "$(-not $isSwitch)".ToLowerInvariant())
    $w.WriteAttributeString('variableLength', "$($type.IsArray)".ToLowerInvariant())
    $w.WriteString($type.Name)
    $w.WriteEndElement()
    $enumType = if ($type.IsArray) { $type.GetElementType() } else { $type }
    if ($enumType.IsEnum) {
        $w.WriteStartElement('command', 'parameterValueGroup', $command)
        foreach ($value in [enum]::GetNames($enumType)) {
            $w.WriteStartElement('command', 'parameterValue', $command)
            $w.WriteAttributeString('required', 'false'); $w.WriteAttributeString('variableLength', 'false')
            $w.WriteString($value); $w.WriteEndElement()
        }
        $w.WriteEndElement()
    }
    $w.WriteStartElement('dev', 'type', $dev); $w.WriteElementString('maml', 'name', $maml, $type.FullName); $w.WriteEndElement()
    $w.WriteElementString('dev', 'defaultValue', $dev, 'None')
    $w.WriteEndElement()
}

function Write-Types([string] $Outer, [string] $Inner, $Items) {
    $w.WriteStartElement('command', $Outer, $command)
    foreach ($item in $Items) {
        $w.WriteStartElement('command', $Inner, $command)
        $w.WriteStartElement('dev', 'type', $dev); $w.WriteElementString('maml', 'name', $maml, $item.Type); $w.WriteEndElement()
        Write-Paragraphs $item.Text
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
}

$w.WriteStartDocument()
$w.WriteStartElement('helpItems', 'http://msh')
$w.WriteAttributeString('schema', 'maml')
foreach ($cmd in (Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name)) {
    $source = Join-Path $SourceFolder "$($cmd.Name).md"
    if (-not (Test-Path -LiteralPath $source)) { $problems.Add("$($cmd.Name): no help source $source"); continue }
    $doc = Read-HelpSource $source
    $own = @($cmd.Parameters.Values | Where-Object { $_.Name -notin $commonParameters })
    if (-not $doc.Synopsis.Trim()) { $problems.Add("$($cmd.Name): no synopsis") }
    if (-not $doc.Description.Trim()) { $problems.Add("$($cmd.Name): no description") }
    if ($doc.Examples.Count -lt 2) { $problems.Add("$($cmd.Name): $($doc.Examples.Count) example(s); at least two are needed") }
    foreach ($p in $own) { if (-not $doc.Parameters.Contains($p.Name) -or -not $doc.Parameters[$p.Name].Text.Trim()) { $problems.Add("$($cmd.Name): parameter -$($p.Name) is not documented") } }
    foreach ($name in $doc.Parameters.Keys) { if ($name -notin $own.Name) { $problems.Add("$($cmd.Name): documents -$name, which it does not have") } }

    $w.WriteStartElement('command', 'command', $command)
    $w.WriteAttributeString('xmlns', 'maml', $null, $maml)
    $w.WriteAttributeString('xmlns', 'dev', $null, $dev)
    $w.WriteStartElement('command', 'details', $command)
    $w.WriteElementString('command', 'name', $command, $cmd.Name)
    $w.WriteElementString('command', 'verb', $command, $cmd.Verb)
    $w.WriteElementString('command', 'noun', $command, $cmd.Noun)
    Write-Paragraphs $doc.Synopsis
    $w.WriteEndElement()
    Write-Paragraphs $doc.Description

    $w.WriteStartElement('command', 'syntax', $command)
    foreach ($set in $cmd.ParameterSets) {
        $w.WriteStartElement('command', 'syntaxItem', $command)
        $w.WriteElementString('maml', 'name', $maml, $cmd.Name)
        foreach ($sp in ($set.Parameters | Where-Object { $_.Name -notin $commonParameters } | Sort-Object { if ($_.Position -ge 0) { $_.Position } else { 1000 } })) {
            Write-Parameter $cmd.Parameters[$sp.Name] $sp $(if ($doc.Parameters.Contains($sp.Name)) { $doc.Parameters[$sp.Name].Text } else { '' })
        }
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'parameters', $command)
    foreach ($p in $own) {
        $sp = $cmd.ParameterSets | ForEach-Object Parameters | Where-Object Name -eq $p.Name | Select-Object -First 1
        Write-Parameter $p $sp $(if ($doc.Parameters.Contains($p.Name)) { $doc.Parameters[$p.Name].Text } else { '' })
    }
    $w.WriteEndElement()

    Write-Types 'inputTypes' 'inputType' $doc.Inputs
    Write-Types 'returnValues' 'returnValue' $doc.Outputs
    $w.WriteStartElement('maml', 'alertSet', $maml)
    $w.WriteStartElement('maml', 'alert', $maml)
    foreach ($p in (Split-Paragraphs $doc.Notes)) { $w.WriteElementString('maml', 'para', $maml, $p) }
    $w.WriteEndElement(); $w.WriteEndElement()

    $w.WriteStartElement('command', 'examples', $command)
    foreach ($example in $doc.Examples) {
        $w.WriteStartElement('command', 'example', $command)
        $w.WriteElementString('maml', 'title', $maml, "-------- $($example.Title) --------")
        $w.WriteElementString('dev', 'code', $dev, $example.Code.TrimEnd())
        $w.WriteStartElement('dev', 'remarks', $dev)
        foreach ($p in (Split-Paragraphs $example.Remarks)) { $w.WriteElementString('maml', 'para', $maml, $p) }
        $w.WriteEndElement()
        $w.WriteEndElement()
    }
    $w.WriteEndElement()

    $w.WriteStartElement('command', 'relatedLinks', $command)
    foreach ($link in $doc.Links) {
        $w.WriteStartElement('maml', 'navigationLink', $maml)
        $w.WriteElementString('maml', 'linkText', $maml, $link)
        $w.WriteElementString('maml', 'uri', $maml, '')
        $w.WriteEndElement()
    }
    $w.WriteEndElement()
    $w.WriteEndElement()
}
$w.WriteEndElement()
$w.WriteEndDocument()
$w.Dispose()

if ($problems.Count) { throw "Help is incomplete:`n  " + ($problems -join "`n  ") }
Write-Host "Help: $OutFile"
