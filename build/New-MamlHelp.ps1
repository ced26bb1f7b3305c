<#
.SYNOPSIS
    Builds the module's MAML help and about topics from the Markdown in src/PrefectScaling/help.
.DESCRIPTION
    The Markdown follows platyPS's v1 schema: YAML front matter, a SYNTAX code block per parameter set, a yaml
    block per parameter, then INPUTS, OUTPUTS, NOTES and RELATED LINKS; so platyPS's New-ExternalHelp can take
    over the day it is available. Until then this script writes en-US/PrefectScaling.dll-Help.xml, and an
    about_*.help.txt for each about_*.md.

    Run in a child pwsh (it imports the built module), it holds the Markdown to the compiled cmdlets and fails
    the build when a cmdlet or parameter is undocumented, a documented parameter does not exist, a section is
    missing or empty, a SYNTAX block or a yaml field differs from the cmdlet's metadata, a switch's default is
    not False, or a parameter whose property has an initialiser in code (what a new cmdlet object holds) does
    not show that value as its default.

    -UpdateSource first rewrites the SYNTAX blocks and the yaml blocks from the metadata, keeping every text and
    every default value, and adds a section for a parameter that has none (its description is then still
    missing, so the build fails until it is written): what platyPS's Update-MarkdownHelp does.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ManifestPath,
    [Parameter(Mandatory)] [string] $SourceFolder,
    [Parameter(Mandatory)] [string] $OutFile,
    [switch] $UpdateSource
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$ModuleName = 'PrefectScaling'
$Sections = 'SYNOPSIS', 'SYNTAX', 'DESCRIPTION', 'EXAMPLES', 'PARAMETERS', 'INPUTS', 'OUTPUTS', 'NOTES', 'RELATED LINKS'
$FrontMatter = [ordered]@{ 'external help file' = "$ModuleName.dll-Help.xml"; 'Module Name' = $ModuleName; 'online version' = $null; 'schema' = '2.0.0' }
$CommonParametersText = 'This cmdlet supports the common parameters: -Debug, -ErrorAction, -ErrorVariable, -InformationAction, ' +
    '-InformationVariable, -OutBuffer, -OutVariable, -PipelineVariable, -ProgressAction, -Verbose, -WarningAction and ' +
    '-WarningVariable. See about_CommonParameters.'

#region The Markdown: read into sections and items, each a list of text lines and fenced code blocks in order
function New-HelpItem($Title) { [pscustomobject]@{ Title = $Title; Blocks = [System.Collections.Generic.List[object]]::new() } }

function Read-HelpSource([string] $Path) {
    $lines = @(Get-Content -LiteralPath $Path)
    $doc = [pscustomobject]@{ Path = $Path; FrontMatter = [ordered]@{}; Title = $null; Sections = [ordered]@{} }
    $i = 0
    if ($lines.Count -and $lines[0] -eq '---') {
        for ($i = 1; $i -lt $lines.Count -and $lines[$i] -ne '---'; $i++) {
            if ($lines[$i] -match '^([^:]+):\s*(.*)$') { $doc.FrontMatter[$Matches[1].Trim()] = $Matches[2].Trim() }
        }
        $i++
    }
    $section = $null; $item = $null; $fence = $null
    for (; $i -lt $lines.Count; $i++) {
        $line = $lines[$i]
        if ($fence) {
            if ($line -match '^```\s*$') { $item.Blocks.Add($fence); $fence = $null } else { $fence.Lines.Add($line) }
            continue
        }
        if ($line -match '^```(.*)$') {
            if (-not $item) { throw "${Path}: a code block before the first section." }
            $fence = [pscustomobject]@{ Info = $Matches[1].Trim(); Lines = [System.Collections.Generic.List[string]]::new() }
            continue
        }
        if (-not $section -and $line -match '^# (.+)$') { $doc.Title = $Matches[1].Trim(); continue }
        if ($line -match '^## (.+)$') {
            $section = [pscustomobject]@{ Name = $Matches[1].Trim(); Intro = (New-HelpItem $null); Items = [System.Collections.Generic.List[object]]::new() }
            $doc.Sections[$section.Name] = $section
            $item = $section.Intro
            continue
        }
        if ($section -and $line -match '^### (.+)$') { $item = New-HelpItem $Matches[1].Trim(); $section.Items.Add($item); continue }
        if ($item) { $item.Blocks.Add($line) }
    }
    if ($fence) { throw "${Path}: a code block is not closed." }
    $doc
}

function Get-ItemText($Item) { (@($Item.Blocks | Where-Object { $_ -is [string] }) -join "`n").Trim() }
function Get-ItemCode($Item, [string] $Info) { @($Item.Blocks | Where-Object { $_ -isnot [string] -and (-not $Info -or $_.Info -eq $Info) }) }
function Get-Section($Doc, [string] $Name) { if ($Doc.Sections.Contains($Name)) { $Doc.Sections[$Name] } else { $null } }

# A yaml block as platyPS writes it: one "Key: value" per line.
function ConvertFrom-ParameterYaml($Block) {
    $fields = [ordered]@{}
    foreach ($line in $Block.Lines) { if ($line -match '^([^:]+):\s*(.*)$') { $fields[$Matches[1].Trim()] = $Matches[2].Trim() } }
    $fields
}

function Write-HelpSource($Doc) {
    $out = [System.Collections.Generic.List[string]]::new()
    $out.Add('---'); foreach ($key in $Doc.FrontMatter.Keys) { $out.Add("${key}: $($Doc.FrontMatter[$key])".TrimEnd()) }; $out.Add('---'); $out.Add('')
    $out.Add("# $($Doc.Title)")
    foreach ($section in $Doc.Sections.Values) {
        if ($out[-1] -ne '') { $out.Add('') }
        $out.Add("## $($section.Name)")
        foreach ($item in @($section.Intro) + @($section.Items)) {
            if ($null -ne $item.Title) { $out.Add("### $($item.Title)") }
            foreach ($block in $item.Blocks) {
                if ($block -is [string]) { $out.Add($block) }
                else { $out.Add('```' + $block.Info); $out.AddRange([string[]]$block.Lines); $out.Add('```') }
            }
        }
    }
    while ($out[-1] -eq '') { $out.RemoveAt($out.Count - 1) }
    Set-Content -LiteralPath $Doc.Path -Value $out -Encoding utf8NoBOM
}
#endregion

#region What the compiled cmdlets say
$common = [System.Management.Automation.PSCmdlet]::CommonParameters

function Get-DocumentedParameter($Command) { @($Command.Parameters.Values | Where-Object { $_.Name -notin $common }) }

function Get-SyntaxBlock($Command) {
    $many = @($Command.ParameterSets).Count -gt 1
    foreach ($set in $Command.ParameterSets) {
        [pscustomobject]@{
            Title = if ($many) { $set.Name + $(if ($set.IsDefault) { ' (Default)' }) } else { $null }
            Text  = Format-SyntaxLine "$($Command.Name) $set"
        }
    }
}

# Wrapped before 110 columns, continuation lines indented by one space, as platyPS writes SYNTAX.
function Format-SyntaxLine([string] $Text) {
    $lines = [System.Collections.Generic.List[string]]::new(); $line = ''
    foreach ($word in [regex]::Matches($Text, '\[[^\[\]]*(\[[^\[\]]*\][^\[\]]*)*\]|\S+').Value) {
        if ($line -and ($line.Length + 1 + $word.Length) -gt 110) { $lines.Add($line); $line = ' ' + $word } else { $line = if ($line) { "$line $word" } else { $word } }
    }
    $lines.Add($line)
    $lines -join "`n"
}

function Get-AcceptedValue($Parameter) {
    $set = $Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ValidateSetAttribute] } | Select-Object -First 1
    if ($set) { return @($set.ValidValues) }
    $type = if ($Parameter.ParameterType.IsArray) { $Parameter.ParameterType.GetElementType() } else { $Parameter.ParameterType }
    if ($type.IsEnum) { return [enum]::GetNames($type) }
    @()
}

# One yaml block per distinct (Required, Position, pipeline input) of the parameter across its parameter sets.
function Get-ParameterYaml($Command, $Parameter) {
    $allSets = @($Command.ParameterSets.Name)
    $groups = [ordered]@{}
    foreach ($set in $Command.ParameterSets) {
        $sp = $set.Parameters | Where-Object Name -eq $Parameter.Name | Select-Object -First 1
        if (-not $sp) { continue }
        $pipeline = @(if ($sp.ValueFromPipeline) { 'ByValue' }; if ($sp.ValueFromPipelineByPropertyName) { 'ByPropertyName' })
        $shape = [ordered]@{
            'Required'              = "$($sp.IsMandatory)"
            'Position'              = if ($sp.Position -ge 0) { "$($sp.Position)" } else { 'Named' }
            'Accept pipeline input' = if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }
        }
        $key = $shape.Values -join '|'
        if (-not $groups.Contains($key)) { $groups[$key] = [pscustomobject]@{ Shape = $shape; Sets = [System.Collections.Generic.List[string]]::new() } }
        $groups[$key].Sets.Add($set.Name)
    }
    $accepted = @(Get-AcceptedValue $Parameter)
    $wildcards = [bool]($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
    foreach ($group in $groups.Values) {
        $fields = [ordered]@{
            'Type'           = $Parameter.ParameterType.Name
            'Parameter Sets' = if ($groups.Count -eq 1 -and $group.Sets.Count -eq $allSets.Count) { '(All)' } else { $group.Sets -join ', ' }
            'Aliases'        = $Parameter.Aliases -join ', '
        }
        if ($accepted) { $fields['Accepted values'] = $accepted -join ', ' }
        $fields['Required'] = $group.Shape['Required']
        $fields['Position'] = $group.Shape['Position']
        $fields['Default value'] = $null
        $fields['Accept pipeline input'] = $group.Shape['Accept pipeline input']
        $fields['Accept wildcard characters'] = "$wildcards"
        $fields
    }
}

function ConvertTo-YamlBlock($Fields) {
    $lines = [System.Collections.Generic.List[string]]::new()
    foreach ($key in $Fields.Keys) {
        if ($key -eq 'Required') { $lines.Add('') }
        $lines.Add("${key}: $($Fields[$key])".TrimEnd())
    }
    [pscustomobject]@{ Info = 'yaml'; Lines = $lines }
}

# What a new cmdlet object holds for a parameter when the code gives it an initialiser, as the words its documented
# default must contain; nothing when the property is left at its type's default (nothing set in code).
function Get-CodeDefault($Command, $Parameter, $Instance) {
    $property = $Command.ImplementingType.GetProperty($Parameter.Name)
    if (-not $property) { return }
    $value = $property.GetValue($Instance)
    if ($null -eq $value) { return }
    if ($value -is [System.Management.Automation.SwitchParameter]) { return "$($value.IsPresent)" }
    if ($value -is [string] -or $value -is [array] -or $value -is [enum]) { return @($value | Where-Object { "$_" } | ForEach-Object { "$_" }) }
    if ($value.GetType().IsValueType -and $value -eq [Activator]::CreateInstance($value.GetType())) { return }
    [string]::Format([cultureinfo]::InvariantCulture, '{0}', $value)
}
#endregion

#region Checks
function Test-HelpSource($Doc, $Command, $Problems) {
    $name = $Command.Name
    foreach ($key in $FrontMatter.Keys) {
        if (-not $Doc.FrontMatter.Contains($key)) { $Problems.Add("${name}: the front matter has no '$key'"); continue }
        if ($null -ne $FrontMatter[$key] -and $Doc.FrontMatter[$key] -ne $FrontMatter[$key]) { $Problems.Add("${name}: front matter '$key' is '$($Doc.FrontMatter[$key])', not '$($FrontMatter[$key])'") }
    }
    if ($Doc.Title -ne $name) { $Problems.Add("${name}: the title is '$($Doc.Title)', not '# $name'") }
    $order = @($Doc.Sections.Keys)
    foreach ($section in $Sections) { if ($section -notin $order) { $Problems.Add("${name}: no '## $section' section") } }
    $known = @($order | Where-Object { $_ -in $Sections })
    if (($known -join '|') -ne (@($Sections | Where-Object { $_ -in $known }) -join '|')) { $Problems.Add("${name}: the sections are not in the order $($Sections -join ', ')") }
    foreach ($extra in $order | Where-Object { $_ -notin $Sections }) { $Problems.Add("${name}: '## $extra' is not a section of the schema") }

    foreach ($section in 'SYNOPSIS', 'DESCRIPTION') {
        $s = Get-Section $Doc $section
        if ($s -and -not (Get-ItemText $s.Intro)) { $Problems.Add("${name}: '## $section' is empty") }
    }
    $examples = Get-Section $Doc 'EXAMPLES'
    if ($examples) {
        if ($examples.Items.Count -lt 2) { $Problems.Add("${name}: $($examples.Items.Count) example(s); at least two are needed") }
        foreach ($example in $examples.Items) {
            if ($example.Title -notmatch '^Example \d+') { $Problems.Add("${name}: the example '$($example.Title)' is not titled '### Example N: ...'") }
            if (-not (Get-ItemCode $example)) { $Problems.Add("${name}: '$($example.Title)' has no code") }
        }
    }
    foreach ($section in 'INPUTS', 'OUTPUTS') {
        $s = Get-Section $Doc $section
        if ($s -and $s.Items.Count -eq 0) { $Problems.Add("${name}: '## $section' names no type (### None when there is none)") }
    }

    $syntax = Get-Section $Doc 'SYNTAX'
    if ($syntax) {
        $expected = @(Get-SyntaxBlock $Command)
        $written = @(if ($syntax.Items.Count) { $syntax.Items | ForEach-Object { [pscustomobject]@{ Title = $_.Title; Code = @(Get-ItemCode $_) } } }
                     else { [pscustomobject]@{ Title = $null; Code = @(Get-ItemCode $syntax.Intro) } })
        $squash = { param($t) ($t -replace '\s+', ' ').Trim() }
        if ($written.Count -ne $expected.Count) { $Problems.Add("${name}: SYNTAX has $($written.Count) parameter set(s); the cmdlet has $($expected.Count)") }
        else {
            for ($k = 0; $k -lt $expected.Count; $k++) {
                $text = ($written[$k].Code | ForEach-Object { $_.Lines -join ' ' }) -join ' '
                if ($written[$k].Title -ne $expected[$k].Title -or (& $squash $text) -ne (& $squash $expected[$k].Text)) {
                    $Problems.Add("${name}: SYNTAX differs from the cmdlet; expected$(if ($expected[$k].Title) { " under ### $($expected[$k].Title)" }):`n$($expected[$k].Text)")
                }
            }
        }
    }

    $documented = Get-DocumentedParameterSection $Doc
    $instance = [Activator]::CreateInstance($Command.ImplementingType)
    $own = Get-DocumentedParameter $Command
    foreach ($p in $own) {
        if (-not $documented.Contains($p.Name)) { $Problems.Add("${name}: parameter -$($p.Name) is not documented"); continue }
        $item = $documented[$p.Name]
        if (-not (Get-ItemText $item)) { $Problems.Add("${name}: parameter -$($p.Name) has no description") }
        $expected = @(Get-ParameterYaml $Command $p)
        $written = @(Get-ItemCode $item 'yaml' | ForEach-Object { ConvertFrom-ParameterYaml $_ })
        $show = { ($expected | ForEach-Object { (ConvertTo-YamlBlock $_).Lines -join "`n" }) -join "`n---`n" }
        if ($written.Count -ne $expected.Count) { $Problems.Add("${name}: -$($p.Name) has $($written.Count) yaml block(s); expected:`n$(& $show)"); continue }
        for ($k = 0; $k -lt $expected.Count; $k++) {
            foreach ($key in $expected[$k].Keys | Where-Object { $_ -ne 'Default value' }) {
                $value = if ($written[$k].Contains($key)) { $written[$k][$key] } else { '(missing)' }
                if ($value -ne $expected[$k][$key]) { $Problems.Add("${name}: -$($p.Name) '$key' is '$value', the cmdlet says '$($expected[$k][$key])'") }
            }
            foreach ($key in $written[$k].Keys | Where-Object { -not $expected[$k].Contains($_) }) { $Problems.Add("${name}: -$($p.Name) has '$key', which the cmdlet does not") }
            $default = if ($written[$k].Contains('Default value')) { $written[$k]['Default value'] } else { '' }
            if (-not $default) { $Problems.Add("${name}: -$($p.Name) has no 'Default value'"); continue }
            $inCode = @(Get-CodeDefault $Command $p $instance)
            if ($p.ParameterType -eq [System.Management.Automation.SwitchParameter] -and $default -ne 'False') { $Problems.Add("${name}: -$($p.Name) is a switch; its default is False, not '$default'") }
            elseif ($inCode) {
                foreach ($word in $inCode) {
                    if ($default.IndexOf($word, [StringComparison]::OrdinalIgnoreCase) -lt 0) { $Problems.Add("${name}: -$($p.Name) is $($inCode -join ', ') when not given (the code's initialiser), but its help says '$default'") }
                }
            }
        }
    }
    foreach ($documentedName in $documented.Keys) { if ($documentedName -notin $own.Name) { $Problems.Add("${name}: documents -$documentedName, which it does not have") } }
    $parameters = Get-Section $Doc 'PARAMETERS'
    if ($parameters -and -not ($parameters.Items | Where-Object Title -eq 'CommonParameters')) { $Problems.Add("${name}: no '### CommonParameters'") }
}

function Get-DocumentedParameterSection($Doc) {
    $found = [ordered]@{}
    $parameters = Get-Section $Doc 'PARAMETERS'
    if ($parameters) { foreach ($item in $parameters.Items | Where-Object { $_.Title -like '-*' }) { $found[$item.Title.Substring(1)] = $item } }
    $found
}
#endregion

#region -UpdateSource: SYNTAX and yaml from the metadata, every text and default kept
function Update-HelpSource($Doc, $Command) {
    foreach ($key in $FrontMatter.Keys) { if (-not $Doc.FrontMatter.Contains($key)) { $Doc.FrontMatter[$key] = $FrontMatter[$key] } }
    $syntax = Get-Section $Doc 'SYNTAX'
    if ($syntax) {
        $syntax.Items.Clear(); $syntax.Intro.Blocks.Clear(); $syntax.Intro.Blocks.Add('')
        foreach ($block in Get-SyntaxBlock $Command) {
            $target = if ($block.Title) { $i = New-HelpItem $block.Title; $syntax.Items.Add($i); $i } else { $syntax.Intro }
            if ($block.Title) { $target.Blocks.Add('') }
            $target.Blocks.Add([pscustomobject]@{ Info = ''; Lines = [System.Collections.Generic.List[string]]@($block.Text -split "`n") })
            $target.Blocks.Add('')
        }
    }
    $parameters = Get-Section $Doc 'PARAMETERS'
    if (-not $parameters) { return }
    $documented = Get-DocumentedParameterSection $Doc
    foreach ($p in Get-DocumentedParameter $Command) {
        $item = $documented[$p.Name]
        if (-not $item) {
            $item = New-HelpItem "-$($p.Name)"
            $at = [Math]::Max(0, @($parameters.Items).IndexOf(($parameters.Items | Where-Object Title -eq 'CommonParameters' | Select-Object -First 1)))
            if (-not ($parameters.Items | Where-Object Title -eq 'CommonParameters')) { $at = $parameters.Items.Count }
            $parameters.Items.Insert($at, $item)
        }
        $old = @(Get-ItemCode $item 'yaml' | ForEach-Object { ConvertFrom-ParameterYaml $_ })
        $kept = [System.Collections.Generic.List[object]]@($item.Blocks | Where-Object { $_ -is [string] -or $_.Info -ne 'yaml' })
        while ($kept.Count -and $kept[-1] -is [string] -and -not $kept[-1].Trim()) { $kept.RemoveAt($kept.Count - 1) }
        $item.Blocks.Clear(); $item.Blocks.AddRange($kept); $item.Blocks.Add('')
        $k = 0
        foreach ($fields in Get-ParameterYaml $Command $p) {
            $previous = if ($k -lt $old.Count) { $old[$k] } elseif ($old.Count) { $old[0] } else { @{} }
            $fields['Default value'] = if ($previous.Contains('Default value')) { $previous['Default value'] } elseif ($p.ParameterType -eq [switch]) { 'False' } else { 'None' }
            $item.Blocks.Add((ConvertTo-YamlBlock $fields)); $item.Blocks.Add('')
            $k++
        }
    }
    if (-not ($parameters.Items | Where-Object Title -eq 'CommonParameters')) {
        $item = New-HelpItem 'CommonParameters'; $item.Blocks.Add($CommonParametersText); $item.Blocks.Add(''); $parameters.Items.Add($item)
    }
    Write-HelpSource $Doc
}
#endregion

#region MAML
# Paragraphs are separated by blank lines; lines within one are joined, except that a list item starts a new one.
function Split-Paragraphs([string] $Text) {
    $paragraphs = [System.Collections.Generic.List[string]]::new(); $current = ''
    foreach ($line in ($Text -split '\r?\n')) {
        $trimmed = $line.Trim()
        if (-not $trimmed -or $trimmed -match '^(\d+\.|[-*]) ') { if ($current) { $paragraphs.Add($current) }; $current = $trimmed; continue }
        $current = if ($current) { "$current $trimmed" } else { $trimmed }
    }
    if ($current) { $paragraphs.Add($current) }
    @($paragraphs | Where-Object { $_ })
}

function Write-Paragraphs($Writer, [string] $Text) {
    $Writer.WriteStartElement('maml', 'description', $maml)
    foreach ($p in (Split-Paragraphs $Text)) { $Writer.WriteElementString('maml', 'para', $maml, $p) }
    $Writer.WriteEndElement()
}

function Write-MamlParameter($Writer, $Parameter, $SetParameter, $Item) {
    $type = $Parameter.ParameterType
    $fields = @(if ($Item) { Get-ItemCode $Item 'yaml' | ForEach-Object { ConvertFrom-ParameterYaml $_ } })
    $default = if ($fields -and $fields[0].Contains('Default value')) { $fields[0]['Default value'] } else { 'None' }
    $pipeline = @(if ($SetParameter.ValueFromPipeline) { 'ByValue' }; if ($SetParameter.ValueFromPipelineByPropertyName) { 'ByPropertyName' })
    $Writer.WriteStartElement('command', 'parameter', $command)
    $Writer.WriteAttributeString('required', "$($SetParameter.IsMandatory)".ToLowerInvariant())
    $Writer.WriteAttributeString('variableLength', "$($type.IsArray)".ToLowerInvariant())
    $Writer.WriteAttributeString('globbing', "$([bool]($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }))".ToLowerInvariant())
    $Writer.WriteAttributeString('pipelineInput', $(if ($pipeline) { "True ($($pipeline -join ', '))" } else { 'False' }))
    $Writer.WriteAttributeString('position', $(if ($SetParameter.Position -ge 0) { "$($SetParameter.Position)" } else { 'named' }))
    $Writer.WriteAttributeString('aliases', $(if ($Parameter.Aliases.Count) { $Parameter.Aliases -join ', ' } else { 'none' }))
    $Writer.WriteElementString('maml', 'name', $maml, $Parameter.Name)
    Write-Paragraphs $Writer $(if ($Item) { Get-ItemText $Item } else { '' })
    # A switch takes no value: without a parameterValue, Get-Help shows it as [-Name].
    if ($type -ne [System.Management.Automation.SwitchParameter]) {
        $Writer.WriteStartElement('command', 'parameterValue', $command)
        $Writer.WriteAttributeString('required', 'true')
        $Writer.WriteAttributeString('variableLength', "$($type.IsArray)".ToLowerInvariant())
        $Writer.WriteString($type.Name)
        $Writer.WriteEndElement()
    }
    $accepted = @(Get-AcceptedValue $Parameter)
    if ($accepted) {
        $Writer.WriteStartElement('command', 'parameterValueGroup', $command)
        foreach ($value in $accepted) {
            $Writer.WriteStartElement('command', 'parameterValue', $command)
            $Writer.WriteAttributeString('required', 'false'); $Writer.WriteAttributeString('variableLength', 'false')
            $Writer.WriteString($value); $Writer.WriteEndElement()
        }
        $Writer.WriteEndElement()
    }
    $Writer.WriteStartElement('dev', 'type', $dev); $Writer.WriteElementString('maml', 'name', $maml, $type.FullName); $Writer.WriteEndElement()
    $Writer.WriteElementString('dev', 'defaultValue', $dev, $default)
    $Writer.WriteEndElement()
}

function Write-MamlCommand($Writer, $Command, $Doc) {
    $documented = Get-DocumentedParameterSection $Doc
    $text = { param($s) $section = Get-Section $Doc $s; if ($section) { Get-ItemText $section.Intro } else { '' } }
    $Writer.WriteStartElement('command', 'command', $command)
    $Writer.WriteAttributeString('xmlns', 'maml', $null, $maml)
    $Writer.WriteAttributeString('xmlns', 'dev', $null, $dev)
    $Writer.WriteStartElement('command', 'details', $command)
    $Writer.WriteElementString('command', 'name', $command, $Command.Name)
    $Writer.WriteElementString('command', 'verb', $command, $Command.Verb)
    $Writer.WriteElementString('command', 'noun', $command, $Command.Noun)
    Write-Paragraphs $Writer (& $text 'SYNOPSIS')
    $Writer.WriteEndElement()
    Write-Paragraphs $Writer (& $text 'DESCRIPTION')

    $Writer.WriteStartElement('command', 'syntax', $command)
    foreach ($set in $Command.ParameterSets) {
        $Writer.WriteStartElement('command', 'syntaxItem', $command)
        $Writer.WriteElementString('maml', 'name', $maml, $Command.Name)
        # As Get-Command -Syntax orders them: positional by position, then mandatory, then the rest, each as declared.
        $ordered = @($set.Parameters | Where-Object { $_.Name -notin $common })
        $rank = { param($p) if ($p.Position -ge 0) { $p.Position } elseif ($p.IsMandatory) { 10000 } else { 20000 } }
        $ordered = @(for ($k = 0; $k -lt $ordered.Count; $k++) { [pscustomobject]@{ Parameter = $ordered[$k]; Key = (& $rank $ordered[$k]) + $k } }) | Sort-Object Key | ForEach-Object Parameter
        foreach ($sp in $ordered) {
            Write-MamlParameter $Writer $Command.Parameters[$sp.Name] $sp $documented[$sp.Name]
        }
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'parameters', $command)
    foreach ($p in Get-DocumentedParameter $Command) {
        $sp = $Command.ParameterSets | ForEach-Object Parameters | Where-Object Name -eq $p.Name | Select-Object -First 1
        Write-MamlParameter $Writer $p $sp $documented[$p.Name]
    }
    $Writer.WriteEndElement()

    foreach ($types in @(@('INPUTS', 'inputTypes', 'inputType'), @('OUTPUTS', 'returnValues', 'returnValue'))) {
        $Writer.WriteStartElement('command', $types[1], $command)
        $section = Get-Section $Doc $types[0]
        foreach ($item in @(if ($section) { $section.Items })) {
            $Writer.WriteStartElement('command', $types[2], $command)
            $Writer.WriteStartElement('dev', 'type', $dev); $Writer.WriteElementString('maml', 'name', $maml, $item.Title); $Writer.WriteEndElement()
            Write-Paragraphs $Writer (Get-ItemText $item)
            $Writer.WriteEndElement()
        }
        $Writer.WriteEndElement()
    }
    $Writer.WriteStartElement('maml', 'alertSet', $maml)
    $Writer.WriteStartElement('maml', 'alert', $maml)
    foreach ($p in (Split-Paragraphs (& $text 'NOTES'))) { $Writer.WriteElementString('maml', 'para', $maml, $p) }
    $Writer.WriteEndElement(); $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'examples', $command)
    $examples = Get-Section $Doc 'EXAMPLES'
    foreach ($example in @(if ($examples) { $examples.Items })) {
        $Writer.WriteStartElement('command', 'example', $command)
        $Writer.WriteElementString('maml', 'title', $maml, "-------- $($example.Title) --------")
        $Writer.WriteElementString('dev', 'code', $dev, ((Get-ItemCode $example | ForEach-Object { $_.Lines -join "`n" }) -join "`n`n").TrimEnd())
        $Writer.WriteStartElement('dev', 'remarks', $dev)
        foreach ($p in (Split-Paragraphs (Get-ItemText $example))) { $Writer.WriteElementString('maml', 'para', $maml, $p) }
        $Writer.WriteEndElement()
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'relatedLinks', $command)
    $links = Get-Section $Doc 'RELATED LINKS'
    foreach ($line in @(if ($links) { (Get-ItemText $links.Intro) -split '\r?\n' | Where-Object { $_.Trim() } })) {
        $link = $line.Trim() -replace '^[-*]\s+', ''
        $uri = ''
        if ($link -match '^\[([^\]]+)\]\(([^)]*)\)$') { $link = $Matches[1]; $uri = $Matches[2] }
        $Writer.WriteStartElement('maml', 'navigationLink', $maml)
        $Writer.WriteElementString('maml', 'linkText', $maml, $link)
        $Writer.WriteElementString('maml', 'uri', $maml, $uri)
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()
    $Writer.WriteEndElement()
}
#endregion

#region about topics: Markdown to the plain text Get-Help shows, within 80 columns
function ConvertTo-PlainLine([string] $Text) { ($Text -replace '\*\*([^*]+)\*\*', '$1' -replace '`([^`]+)`', '$1' -replace '\[([^\]]+)\]\([^)]*\)', '$1').Trim() }

function Format-Wrapped([string] $Text, [int] $Indent, [int] $Hanging = $Indent) {
    $lines = [System.Collections.Generic.List[string]]::new(); $line = ' ' * $Indent; $empty = $true
    foreach ($word in ($Text -split '\s+' | Where-Object { $_ })) {
        if (-not $empty -and $line.Length + 1 + $word.Length -gt 80) { $lines.Add($line); $line = (' ' * $Hanging) + $word }
        else { $line = if ($empty) { $line + $word } else { "$line $word" } }
        $empty = $false
    }
    if (-not $empty) { $lines.Add($line) }
    $lines
}

function ConvertTo-AboutText([string] $Path) {
    $out = [System.Collections.Generic.List[string]]::new()
    $lines = @(Get-Content -LiteralPath $Path)
    if ($lines.Count -and $lines[0] -eq '---') { $end = [Array]::IndexOf($lines, '---', 1); $lines = @($lines | Select-Object -Skip ($end + 1)) }
    $paragraph = [System.Collections.Generic.List[string]]::new()
    $table = [System.Collections.Generic.List[string[]]]::new()
    $code = $null; $list = $null
    $flush = {
        if ($paragraph.Count) {
            $text = ConvertTo-PlainLine ($paragraph -join ' ')
            # A list item's lines continue under its text, past the "-" or "1." that starts it.
            $hanging = if ($null -ne $list) { 4 + ($text -split ' ', 2)[0].Length + 1 } else { 4 }
            $out.AddRange([string[]](Format-Wrapped $text 4 $hanging))
            $paragraph.Clear()
        }
        if ($table.Count) {
            # A row per block: the first cell, then the others beneath it, each named by its column when there are several.
            $header = $table[0]
            foreach ($row in $table | Select-Object -Skip 1) {
                $out.AddRange([string[]](Format-Wrapped (ConvertTo-PlainLine $row[0]) 4))
                for ($c = 1; $c -lt $row.Count; $c++) {
                    $cell = ConvertTo-PlainLine $row[$c]
                    if ($header.Count -gt 2) { $cell = "$(ConvertTo-PlainLine $header[$c]): $cell" }
                    $out.AddRange([string[]](Format-Wrapped $cell 8))
                }
                $out.Add('')
            }
            if ($out[-1] -eq '') { $out.RemoveAt($out.Count - 1) }
            $table.Clear()
        }
    }
    foreach ($line in $lines) {
        if ($null -ne $code) {
            if ($line -match '^```\s*$') { $code = $null; $out.Add('') } else { $out.Add((' ' * 8) + $line) }
            continue
        }
        if ($line -match '^```') { & $flush; $code = $true; continue }
        if ($line -match '^# (.+)$') { & $flush; $out.Add('TOPIC'); $out.Add('    ' + $Matches[1].Trim()); $out.Add(''); continue }
        if ($line -match '^## (.+)$') { & $flush; if ($out.Count -and $out[-1] -ne '') { $out.Add('') }; $out.Add($Matches[1].Trim().ToUpperInvariant()); continue }
        if ($line -match '^#### (.+)$') { & $flush; if ($out[-1] -ne '') { $out.Add('') }; $out.Add('    ' + (ConvertTo-PlainLine $Matches[1])); continue }
        if ($line -match '^### (.+)$') { & $flush; if ($out[-1] -ne '') { $out.Add('') }; $out.Add('  ' + (ConvertTo-PlainLine $Matches[1]).ToUpperInvariant()); continue }
        if ($line -match '^\s*\|') {
            if ($paragraph.Count) { & $flush }
            if ($line -notmatch '^\s*\|[\s:|-]+\|\s*$') { $table.Add(@($line.Trim().Trim('|') -split '\|' | ForEach-Object Trim)) }
            continue
        }
        if (-not $line.Trim()) { & $flush; $list = $null; if ($out.Count -and $out[-1] -ne '') { $out.Add('') }; continue }
        if ($line -match '^\s*(\d+\.|[-*])\s+(.*)$') { & $flush; $list = $true; $paragraph.Add("$($Matches[1]) $($Matches[2])"); continue }
        if ($table.Count) { & $flush }
        $paragraph.Add($line.Trim())
    }
    & $flush
    while ($out.Count -and $out[-1] -eq '') { $out.RemoveAt($out.Count - 1) }
    $out
}
#endregion

$module = Import-Module -Name $ManifestPath -PassThru -Force
$problems = [System.Collections.Generic.List[string]]::new()
$commands = @(Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name)
$sources = @{}
foreach ($cmd in $commands) {
    $path = Join-Path $SourceFolder "$($cmd.Name).md"
    if (-not (Test-Path -LiteralPath $path)) { $problems.Add("$($cmd.Name): no help source $path"); continue }
    $doc = Read-HelpSource $path
    if ($UpdateSource) { Update-HelpSource $doc $cmd; $doc = Read-HelpSource $path }
    Test-HelpSource $doc $cmd $problems
    $sources[$cmd.Name] = $doc
}
foreach ($file in Get-ChildItem -LiteralPath $SourceFolder -Filter *.md | Where-Object { $_.BaseName -notin $commands.Name -and $_.BaseName -notlike 'about_*' }) {
    $problems.Add("$($file.Name): documents a cmdlet the module does not have")
}

$maml = 'http://schemas.microsoft.com/maml/2004/10'
$command = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$dev = 'http://schemas.microsoft.com/maml/dev/2004/10'
$helpFolder = Split-Path $OutFile
$null = New-Item -ItemType Directory -Force -Path $helpFolder
$writer = [System.Xml.XmlWriter]::Create($OutFile, [System.Xml.XmlWriterSettings]@{ Indent = $true; Encoding = [System.Text.UTF8Encoding]::new($false) })
try {
    $writer.WriteStartDocument()
    $writer.WriteStartElement('helpItems', 'http://msh')
    $writer.WriteAttributeString('schema', 'maml')
    foreach ($cmd in $commands | Where-Object { $sources.ContainsKey($_.Name) }) { Write-MamlCommand $writer $cmd $sources[$cmd.Name] }
    $writer.WriteEndElement()
    $writer.WriteEndDocument()
}
finally { $writer.Dispose() }

foreach ($about in Get-ChildItem -LiteralPath $SourceFolder -Filter 'about_*.md') {
    $text = @(ConvertTo-AboutText $about.FullName)
    foreach ($long in $text | Where-Object Length -gt 80) { $problems.Add("$($about.Name): a line over 80 columns: $long") }
    $target = Join-Path $helpFolder "$($about.BaseName).help.txt"
    Set-Content -LiteralPath $target -Value $text -Encoding utf8NoBOM
    Write-Host "About topic: $target"
}

if ($problems.Count) {
    foreach ($problem in $problems) { Write-Host "  $problem" }
    throw "Help is incomplete: $($problems.Count) problem(s), listed above."
}
Write-Host "Help: $OutFile"
