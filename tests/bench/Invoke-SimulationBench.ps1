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
    'TargetTracking'           = @{ TargetTracking = $true; MinCapacity = 0; MaxCapacity = 10 }
    'BacklogPerTask'           = @{ BacklogPerTask = $true; MinCapacity = 0; MaxCapacity = 10 }
    'StepScaling'              = @{ StepScaling = $true; MinCapacity = 0; MaxCapacity = 10 }
    'Seed (TT Late, 1, 300 s)' = @{ TargetTracking = $true; MinCapacity = 0; MaxCapacity = 10; TargetValue = 1; ScaleOutCooldown = 300; ScaleInCooldown = 300 }
}
$rows = foreach ($workload in $workloads.Keys) {
    foreach ($policy in $policies.Keys) {
        $p = $policies[$policy]
        $r = Invoke-PrefectScalingSimulation -Run $workloads[$workload] @p
        [pscustomobject]@{
            Workload = $workload; Policy = $policy; Runs = $r.Runs
            FirstScaleOutSeconds = $r.FirstScaleOutSeconds; StartDelayP95 = $r.StartDelayP95; TaskMinutes = [math]::Round($r.TaskMinutes, 1)
            ScaleEvents = $r.ScaleEvents; RunsInterrupted = $r.RunsInterrupted; NotStarted = $r.RunsNotStarted
        }
    }
}
Write-Host 'Simulated (Invoke-PrefectScalingSimulation, default environment: tasks start in 60 s, workers poll every 10 s, one run per task, the publisher samples every minute):'
$rows | Format-Table -AutoSize | Out-String -Width 200 | Write-Host
