<#
.SYNOPSIS
Draws docs/simulation-burst.svg with the module's own chart code (SimulationChart.Svg) from a hand-built timeline.

.DESCRIPTION
Until Invoke-PrefectScalingSimulation exists, the README's picture comes from this script: a burst of 20 runs at
minute 5, each 5 minutes long, one run per task, tasks starting 60 s after they are asked for, under two policies
whose reactions are written out here by hand (a step policy asking for the backlog about a minute after the runs
turn Late; target tracking asking after its 3 one-minute datapoints, and scaling in only after 15 low ones). It is
an illustration of the chart, not a simulation: the result objects carry no figures (Runs = 0), so the chart shows
none. Once Invoke-PrefectScalingSimulation -OutFile exists, draw it from a real simulation instead, for example:

    Invoke-PrefectScalingSimulation -Scenario Burst -StepScaling ... -OutFile docs/simulation-burst.svg

Run after ./build.ps1 Build, in a fresh process (it loads the engine into the default load context):

    dotnet pwsh -NoProfile -File tests/bench/New-SimulationChart.ps1
#>
param(
    [string] $ModuleFolder = (Join-Path $PSScriptRoot '../../out/PrefectScaling'),
    [string] $OutFile = (Join-Path $PSScriptRoot '../../docs/simulation-burst.svg')
)
$ErrorActionPreference = 'Stop'
foreach ($dll in 'PrefectScaling.Model.dll', 'dependencies/OxyPlot.dll', 'dependencies/PrefectScaling.Engine.dll') {
    Add-Type -Path (Join-Path $ModuleFolder $dll)
}

$start = [datetime]::new(2026, 3, 1, 8, 0, 0, [DateTimeKind]::Utc)

# One policy's timeline, 10-second steps over 40 minutes: $desiredAt maps the step, the Late runs and the runs
# waiting or in flight to a new desired count (null: unchanged); it sees $desired, the count so far.
function New-Timeline([string] $policy, [scriptblock] $desiredAt) {
    $steps = [System.Collections.Generic.List[PrefectScaling.Simulation.PrefectScalingSimulationStep]]::new()
    $waiting = 0; $running = 0; $tasks = 0
    $pendingTasks = [System.Collections.Generic.List[int]]::new()   # the step each asked-for task starts at
    $ends = [System.Collections.Generic.List[int]]::new()           # the step each running run ends at
    $desired = 0
    for ($i = 0; $i -le 240; $i++) {
        if ($i -eq 30) { $waiting = 20 }                              # minute 5: the burst
        foreach ($e in @($ends | Where-Object { $_ -eq $i })) { $ends.Remove($e) | Out-Null; $running-- }
        $late = if ($i -ge 32) { $waiting } else { 0 }                # Late 15 s after the expected start
        $wanted = & $desiredAt $i $late ($running + $waiting)
        if ($null -ne $wanted -and $wanted -ne $desired) {
            if ($wanted -gt $desired) { 1..($wanted - $desired) | ForEach-Object { $pendingTasks.Add($i + 6) } }
            else { $tasks = [math]::Min($tasks, $wanted); $pendingTasks.Clear() }
            $desired = $wanted
        }
        foreach ($p in @($pendingTasks | Where-Object { $_ -eq $i })) { $pendingTasks.Remove($p) | Out-Null; $tasks++ }
        while ($waiting -gt 0 -and $running -lt $tasks) { $waiting--; $running++; $ends.Add($i + 30) }
        $steps.Add([PrefectScaling.Simulation.PrefectScalingSimulationStep]@{
            Policy = $policy; Time = $start.AddSeconds(10 * $i); Backlog = $waiting; Late = $late
            InFlight = $running; DesiredTasks = $desired; RunningTasks = $tasks
        })
    }
    [PrefectScaling.Simulation.PrefectScalingSimulation]@{ Policy = $policy; Workload = 'Burst of 20 runs (hand-built timeline, an illustration)'; Timeline = $steps }
}

$step = New-Timeline 'StepScaling on LateFlowRuns (hand-built)' {
    param($i, $late, $work)
    if ($late -gt 0 -and $i -ge 38) { return [math]::Max($desired, [math]::Min(20, $work)) }
    if ($work -eq 0 -and $i -ge 100) { return 0 }
}
$target = New-Timeline 'TargetTracking 1 per task (hand-built)' {
    param($i, $late, $work)
    if ($late -gt 0 -and $i -ge 50) { return [math]::Max($desired, [math]::Min(20, $late + $desired)) }
    if ($work -eq 0 -and $i -ge 170) { return 0 }
}

$svg = [PrefectScaling.Simulation.SimulationChart]::Svg([PrefectScaling.Simulation.PrefectScalingSimulation[]] @($step, $target))
New-Item -ItemType Directory -Force -Path (Split-Path $OutFile) | Out-Null
[IO.File]::WriteAllText($OutFile, $svg)
"Wrote $OutFile ($($svg.Length) characters)"
