<#
.SYNOPSIS
Draws docs/simulation-burst.svg, the README's picture: the Burst scenario simulated under step scaling and under
target tracking, drawn side by side by the module's chart code.

.DESCRIPTION
Both simulations are Invoke-PrefectScalingSimulation's, with -Timeline. One -OutFile draws the policies of one
invocation; to put two kinds in one picture, this script hands both results to the same chart code
(SimulationChart.Svg) that -OutFile uses. Run after ./build.ps1 Build, in a fresh process (it also loads the engine
into the default load context, beside the module's own copy):

    dotnet pwsh -NoProfile -File tests/bench/New-SimulationChart.ps1
#>
param(
    [string] $ModuleFolder = (Join-Path $PSScriptRoot '../../out/PrefectScaling'),
    [string] $OutFile = (Join-Path $PSScriptRoot '../../docs/simulation-burst.svg')
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModuleFolder 'PrefectScaling.psd1')
$step = Invoke-PrefectScalingSimulation -Scenario Burst -StepScaling -MinCapacity 0 -MaxCapacity 10 -Timeline
$tracking = Invoke-PrefectScalingSimulation -Scenario Burst -TargetTracking -TargetValue 1 -MinCapacity 0 -MaxCapacity 10 -Timeline
foreach ($dll in 'dependencies/OxyPlot.dll', 'dependencies/PrefectScaling.Engine.dll') { Add-Type -Path (Join-Path $ModuleFolder $dll) }
$svg = [PrefectScaling.Simulation.SimulationChart]::Svg([PrefectScaling.Simulation.PrefectScalingSimulation[]] @($step, $tracking))
[System.IO.File]::WriteAllText([System.IO.Path]::GetFullPath($OutFile), $svg)
$step, $tracking | Format-Table Policy, StartDelayP95, FirstScaleOutSeconds, TaskMinutes, Sparkline -AutoSize
