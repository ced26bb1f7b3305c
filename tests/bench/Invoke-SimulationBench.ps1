# What each policy kind, and the seed's configuration (target tracking on the raw LateFlowRuns count, target 1,
# AWS's default cooldowns of 300 s), does on standard workloads, by Invoke-PrefectScalingSimulation: how soon
# capacity comes (FirstScaleOutSeconds), how late runs start (StartDelayP95) and what the tasks cost (TaskMinutes).
# The simulation is deterministic: the same module gives the same table.
param(
    [Parameter(Mandatory)] [string] $ModulePath
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force

$day = [datetime]::new(2026, 1, 5, 0, 0, 0, [DateTimeKind]::Utc)
function New-Run([datetime] $At, [double] $Seconds, [Nullable[datetime]] $Created) {
    [pscustomobject]@{ ExpectedStart = $At; Duration = $Seconds; Created = $(if ($Created) { $Created } else { $At }) }
}
# Until the named scenarios are merged, the same three shapes built here.
$workloads = [ordered]@{
    # 20 ad-hoc runs of five minutes at once.
    'Burst'         = @(1..20 | ForEach-Object { New-Run $day.AddHours(9) 300 $null })
    # One scheduled run of two minutes every five minutes for four hours, each created ten minutes ahead.
    'Trickle'       = @(0..47 | ForEach-Object { $at = $day.AddHours(9).AddMinutes(5 * $_); New-Run $at 120 $at.AddMinutes(-10) })
    # A day: an hourly run of three minutes, and 15 runs of ten minutes at 08:00.
    'DailySchedule' = @(@(0..23 | ForEach-Object { $at = $day.AddHours($_); New-Run $at 180 $at.AddMinutes(-10) }) +
                        @(1..15 | ForEach-Object { New-Run $day.AddHours(8) 600 $day.AddHours(7) }))
}
$policies = [ordered]@{
    'TargetTracking'           = @{ TargetTracking = $true; MinCapacity = 0; MaxCapacity = 20 }
    'BacklogPerTask'           = @{ BacklogPerTask = $true; MinCapacity = 0; MaxCapacity = 20 }
    'StepScaling'              = @{ StepScaling = $true; MinCapacity = 0; MaxCapacity = 20 }
    # The first release had no busy guard: its target tracking scaled in on its own.
    'Seed (TT Late, 1, 300 s)' = @{ TargetTracking = $true; MinCapacity = 0; MaxCapacity = 20; TargetValue = 1; ScaleOutCooldown = 300; ScaleInCooldown = 300; AllowBusyScaleIn = $true }
}
# The capacity policy's scenarios, named by the module: a burst the schedule announces 5 minutes ahead, and runs
# that arrive at random (ad hoc, unannounced).
foreach ($scenario in 'ScheduledBurst', 'RandomArrivals') { $workloads[$scenario] = $scenario }
# Long runs under scale-in pressure: what the busy guard keeps (RunsInterrupted) and what it costs (TaskMinutes).
$workloads['LongRuns'] = 'LongRuns'
# The capacity policy with a publisher sampling every 10 s (high resolution, 10 s alarms) and every minute.
$policies['Capacity (10 s)'] = @{ Capacity = $true; MinCapacity = 0; MaxCapacity = 20; StorageResolution = 1; SampleIntervalSeconds = 10 }
$policies['Capacity (60 s)'] = @{ Capacity = $true; MinCapacity = 0; MaxCapacity = 20 }
$rows = foreach ($workload in $workloads.Keys) {
    $input = $workloads[$workload]
    $given = if ($input -is [string]) { @{ Scenario = $input } } else { @{ Run = $input } }
    foreach ($policy in $policies.Keys) {
        $p = $policies[$policy]
        $r = Invoke-PrefectScalingSimulation @given @p
        [pscustomobject]@{
            Workload = $workload; Policy = $policy; Runs = $r.Runs
            FirstScaleOutSeconds = $r.FirstScaleOutSeconds; StartDelayP95 = $r.StartDelayP95; TaskMinutes = [math]::Round($r.TaskMinutes, 1)
            ScaleEvents = $r.ScaleEvents; RunsInterrupted = $r.RunsInterrupted; NotStarted = $r.RunsNotStarted
        }
    }
}
Write-Host 'Simulated (Invoke-PrefectScalingSimulation, default environment: tasks start in 60 s, workers poll every 10 s, one run per task, the publisher samples every minute unless the policy says otherwise):'
$rows | Format-Table -AutoSize | Out-String -Width 200 | Write-Host

# The capacity policy's goals, from the rows above: the scheduled burst starts within 15 s at most a quarter above the
# ideal task minutes (run minutes / runs per task: 20 x 5 min); on random arrivals it starts no later than the best
# reactive kind, within a tenth of its task minutes.
$reactive = 'TargetTracking', 'BacklogPerTask', 'StepScaling', 'Seed (TT Late, 1, 300 s)'
$burst = $rows | Where-Object { $_.Workload -eq 'ScheduledBurst' -and $_.Policy -eq 'Capacity (10 s)' }
$random = $rows | Where-Object { $_.Workload -eq 'RandomArrivals' -and $_.Policy -eq 'Capacity (10 s)' }
$best = $rows | Where-Object { $_.Workload -eq 'RandomArrivals' -and $_.Policy -in $reactive } | Sort-Object StartDelayP95, TaskMinutes | Select-Object -First 1
$ideal = 20 * 5
Write-Host ("Capacity goals: scheduled burst p95 {0} s (goal <= 15), TaskMinutes {1} = {2:0.00} x ideal {3} (goal <= 1.25); random arrivals p95 {4} s against the best reactive kind's {5} s ({6}), TaskMinutes {7} = {8:0.00} x its {9} (goal <= 1.10)." -f `
    $burst.StartDelayP95, $burst.TaskMinutes, ($burst.TaskMinutes / $ideal), $ideal, $random.StartDelayP95, $best.StartDelayP95, $best.Policy, $random.TaskMinutes, ($random.TaskMinutes / $best.TaskMinutes), $best.TaskMinutes)
