Describe 'Invoke-PrefectScalingSimulation' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Common.ps1')
        $at = [datetime]::new(2026, 1, 5, 9, 0, 0, [DateTimeKind]::Utc)
        # A burst of 20 runs of five minutes at once, then a trickle of one run every ten minutes.
        $runs = @(1..20 | ForEach-Object { [pscustomobject]@{ ExpectedStart = $at; Duration = 300 } }) +
            @(1..12 | ForEach-Object { [pscustomobject]@{ ExpectedStart = $at.AddMinutes(30 + 10 * $_); Duration = [timespan]::FromMinutes(2); Created = $at.AddMinutes(20 + 10 * $_) } })
    }

    Context 'the workload' {
        It 'comes down the pipeline with a policy kind, as -Run gives it, and the default view has a sparkline' {
            $piped = $runs | Invoke-PrefectScalingSimulation -StepScaling -MinCapacity 0 -MaxCapacity 10
            $given = Invoke-PrefectScalingSimulation -Run $runs -StepScaling -MinCapacity 0 -MaxCapacity 10
            $piped | Should -HaveCount 1
            ($piped | Select-Object * -ExcludeProperty Timeline | ConvertTo-Json) | Should -Be ($given | Select-Object * -ExcludeProperty Timeline | ConvertTo-Json)
            $piped.Sparkline | Should -Match '^[ ▁▂▃▄▅▆▇█]+$'
            $piped.Sparkline.Trim() | Should -Not -BeNullOrEmpty
        }

        It 'takes Get-PrefectFlowRunHistory''s runs and leaves out, with a warning, one that has not ended' {
            $ended = [PrefectScaling.Simulation.PrefectFlowRun]@{ Id = 'a'; Name = 'ended'; ExpectedStart = $at; Created = $at; Start = $at.AddSeconds(30); End = $at.AddMinutes(5); Duration = [timespan]::FromSeconds(270); State = 'COMPLETED'; StateName = 'Completed' }
            $running = [PrefectScaling.Simulation.PrefectFlowRun]@{ Id = 'b'; Name = 'still-running'; ExpectedStart = $at; Created = $at; Start = $at.AddSeconds(10); State = 'RUNNING'; StateName = 'Running' }
            $result = $ended, $running | Invoke-PrefectScalingSimulation -StepScaling -MinCapacity 0 -MaxCapacity 2 -WarningVariable warned -WarningAction SilentlyContinue
            $result.Runs | Should -Be 1
            $result.Workload | Should -Be 'flow run history'
            ($warned | Out-String) | Should -Match 'still-running.*has not ended'
        }

        It 'is a named scenario, the same on any day, and draws an SVG with one panel per policy' {
            $svg = Join-Path $TestDrive 'report.svg'
            $a = Invoke-PrefectScalingSimulation -Scenario Burst -StepScaling -MinCapacity 0 -MaxCapacity 10 -OutFile $svg
            $b = Invoke-PrefectScalingSimulation -Scenario Burst -StepScaling -MinCapacity 0 -MaxCapacity 10
            $a.Workload | Should -Be 'Burst'
            $a.Runs | Should -Be 20
            ($a | Select-Object * -ExcludeProperty Timeline | ConvertTo-Json) | Should -Be ($b | Select-Object * -ExcludeProperty Timeline | ConvertTo-Json)
            $a.Timeline.Count | Should -BeGreaterThan 10
            [xml] $drawn = Get-Content -Raw $svg
            $drawn.DocumentElement.LocalName | Should -Be 'svg'
        }

        It 'refuses none, or both a scenario and runs, before simulating' {
            { Invoke-PrefectScalingSimulation -StepScaling -MinCapacity 0 -MaxCapacity 2 -ErrorAction Stop } | Should -Throw '*No workload*'
            { $runs | Invoke-PrefectScalingSimulation -Scenario Burst -StepScaling -MinCapacity 0 -MaxCapacity 2 -ErrorAction Stop } | Should -Throw '*not both*'
        }
    }

    Context 'a policy given as Set takes it' {
        It 'simulates each kind and the kinds behave differently, as documented' {
            $tracking = Invoke-PrefectScalingSimulation -Run $runs -TargetTracking -MinCapacity 0 -MaxCapacity 10
            $perTask = Invoke-PrefectScalingSimulation -Run $runs -BacklogPerTask -MinCapacity 0 -MaxCapacity 10
            $step = Invoke-PrefectScalingSimulation -Run $runs -StepScaling -MinCapacity 0 -MaxCapacity 10 -ScaleOutStep @{ 1 = 1; 5 = 3 }
            foreach ($r in $tracking, $perTask, $step) {
                $r | Should -BeOfType ([PrefectScaling.Simulation.PrefectScalingSimulation])
                $r.Runs | Should -Be 32
                $r.RunsNotStarted | Should -Be 0
                $r.FirstScaleOutSeconds | Should -Not -BeNullOrEmpty
            }
            ($tracking.Kind, $perTask.Kind, $step.Kind) | Should -Be 'TargetTracking', 'BacklogPerTask', 'StepScaling'
            # Target tracking waits for 3 of 3 one-minute datapoints; the step alarm acts on one.
            $step.FirstScaleOutSeconds | Should -BeLessThan $tracking.FirstScaleOutSeconds
            $tracking.FirstScaleOutSeconds | Should -BeGreaterOrEqual 120
        }

        It 'gives the same result for the same input' {
            $a = Invoke-PrefectScalingSimulation -Run $runs -StepScaling -MinCapacity 0 -MaxCapacity 5 -Timeline
            $b = Invoke-PrefectScalingSimulation -Run $runs -StepScaling -MinCapacity 0 -MaxCapacity 5 -Timeline
            ($a | Select-Object * -ExcludeProperty Timeline | ConvertTo-Json) | Should -Be ($b | Select-Object * -ExcludeProperty Timeline | ConvertTo-Json)
            ($a.Timeline | ConvertTo-Json -Compress) | Should -Be ($b.Timeline | ConvertTo-Json -Compress)
            $a.Timeline.Count | Should -BeGreaterThan 10
            ($a.Timeline | Measure-Object DesiredTasks -Maximum).Maximum | Should -Be 5
        }

        It 'takes the environment as parameters' {
            $slow = Invoke-PrefectScalingSimulation -Run $runs -StepScaling -MinCapacity 0 -MaxCapacity 10 -TaskStartSeconds 300
            $fast = Invoke-PrefectScalingSimulation -Run $runs -StepScaling -MinCapacity 0 -MaxCapacity 10 -TaskStartSeconds 10
            $slow.StartDelayP95 | Should -BeGreaterThan $fast.StartDelayP95
            $wide = Invoke-PrefectScalingSimulation -Run $runs -StepScaling -MinCapacity 0 -MaxCapacity 2 -RunsPerTask 10
            $wide.StartDelayMax | Should -BeLessThan (Invoke-PrefectScalingSimulation -Run $runs -StepScaling -MinCapacity 0 -MaxCapacity 2).StartDelayMax
            $warm = Invoke-PrefectScalingSimulation -Run $runs[0..9] -TargetTracking -MinCapacity 0 -MaxCapacity 10 -InitialTasks 10 -WorkerPollSeconds 5 -SampleIntervalSeconds 10
            $cold = Invoke-PrefectScalingSimulation -Run $runs[0..9] -TargetTracking -MinCapacity 0 -MaxCapacity 10 -WorkerPollSeconds 5 -SampleIntervalSeconds 10
            $warm.StartDelayP50 | Should -BeLessThan $cold.StartDelayP50
        }

        It 'interrupts no long run behind the busy guard, and some with -AllowBusyScaleIn, for every kind (-Scenario LongRuns)' -ForEach @(
            @{ Kind = 'TargetTracking' }, @{ Kind = 'BacklogPerTask' }, @{ Kind = 'StepScaling' }
        ) {
            $policy = @{ $Kind = $true; MinCapacity = 0; MaxCapacity = 10; Scenario = 'LongRuns' }
            $guarded = Invoke-PrefectScalingSimulation @policy
            $unguarded = Invoke-PrefectScalingSimulation @policy -AllowBusyScaleIn
            $protected = Invoke-PrefectScalingSimulation @policy -RunsPerTask 2 -TasksProtectThemselves
            $guarded.RunsInterrupted | Should -Be 0
            $protected.RunsInterrupted | Should -Be 0
            $unguarded.RunsInterrupted | Should -BeGreaterThan 0
            # The price of the guard without protection: tasks kept while runs run.
            $guarded.TaskMinutes | Should -BeGreaterThan $protected.TaskMinutes
        }

        It 'says what is wrong with a run or a policy before simulating' {
            { Invoke-PrefectScalingSimulation -Run ([pscustomobject]@{ ExpectedStart = $at }) -TargetTracking -MinCapacity 0 -MaxCapacity 1 -ErrorAction Stop } |
                Should -Throw '*Duration*'
            { Invoke-PrefectScalingSimulation -Run $runs -TargetTracking -MinCapacity 3 -MaxCapacity 1 -ErrorAction Stop } | Should -Throw '*MinCapacity*'
        }
    }

    Context 'the capacity policy' {
        It 'has the scheduled burst running when it is due, where a reactive kind waits for Late runs' {
            $capacity = Invoke-PrefectScalingSimulation -Scenario ScheduledBurst -Capacity -MinCapacity 0 -MaxCapacity 20 -StorageResolution 1 -SampleIntervalSeconds 10
            $step = Invoke-PrefectScalingSimulation -Scenario ScheduledBurst -StepScaling -MinCapacity 0 -MaxCapacity 20
            $capacity.Kind | Should -Be 'Capacity'
            $capacity.StartDelayP95 | Should -BeLessOrEqual 15
            $capacity.RunsInterrupted | Should -Be 0
            # 20 runs of 5 minutes, one a task: 100 task-minutes at best.
            $capacity.TaskMinutes | Should -BeLessOrEqual 125
            $step.StartDelayP95 | Should -BeGreaterThan 60
        }

        It 'divides by -RunsPerTask' {
            $four = Invoke-PrefectScalingSimulation -Scenario ScheduledBurst -Capacity -RunsPerTask 4 -MinCapacity 0 -MaxCapacity 20 -StorageResolution 1 -SampleIntervalSeconds 10 -Timeline
            ($four.Timeline.DesiredTasks | Measure-Object -Maximum).Maximum | Should -Be 5
        }
    }

    Context 'the live policy of a service, against moto' {
        BeforeAll {
            $moto = Start-MotoServer
            $aws = @{ EndpointUrl = $moto.Url; Region = 'us-east-1'; AccessKey = 'testing'; SecretKey = 'testing' }
            Invoke-AwsCli -EndpointUrl $moto.Url ecs create-cluster --cluster-name prod | Out-Null
            Invoke-AwsCli -EndpointUrl $moto.Url ecs register-task-definition --family agent --container-definitions '[{"name":"agent","image":"prefecthq/prefect:3-latest","memory":512}]' | Out-Null
            foreach ($name in 'step-agent', 'tracking-agent') {
                Invoke-AwsCli -EndpointUrl $moto.Url ecs create-service --cluster prod --service-name $name --task-definition agent --desired-count 0 --launch-type FARGATE | Out-Null
            }
            Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service step-agent -WorkPool k8s -StepScaling -MinCapacity 0 -MaxCapacity 6 -ScaleOutStep @{ 1 = 1; 5 = 3 } -WarningAction SilentlyContinue
            Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service tracking-agent -WorkPool k8s -TargetTracking -MinCapacity 0 -MaxCapacity 6 -WarningAction SilentlyContinue
            Invoke-AwsCli -EndpointUrl $moto.Url ecs create-service --cluster prod --service-name capacity-agent --task-definition agent --desired-count 0 --launch-type FARGATE | Out-Null
            Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service capacity-agent -WorkPool k8s -Capacity -RunsPerTask 1 -MinCapacity 0 -MaxCapacity 20 -WarningAction SilentlyContinue
        }
        AfterAll { if ($moto) { Stop-MotoServer $moto } }

        It 'simulates, once per service, exactly what Set wrote and AWS holds' {
            $rows = @(Get-PrefectEcsScalingPolicy @aws -Cluster prod -Service step-agent)
            $rows.Count | Should -BeGreaterThan 1
            $live = @($rows | Invoke-PrefectScalingSimulation @aws -Run $runs)
            $live.Count | Should -Be 1
            $live[0].Kind | Should -Be 'StepScaling'
            $given = Invoke-PrefectScalingSimulation -Run $runs -StepScaling -MinCapacity 0 -MaxCapacity 6 -ScaleOutStep @{ 1 = 1; 5 = 3 }
            ($live[0] | Select-Object StartDelayP50, StartDelayP95, StartDelayMax, TaskMinutes, IdleTaskMinutes, ScaleEvents, FirstScaleOutSeconds, RunsInterrupted | ConvertTo-Json) |
                Should -Be ($given | Select-Object StartDelayP50, StartDelayP95, StartDelayMax, TaskMinutes, IdleTaskMinutes, ScaleEvents, FirstScaleOutSeconds, RunsInterrupted | ConvertTo-Json)
        }

        It 'gives one result per piped service, each of its own kind' {
            $results = @(Get-PrefectEcsScalingPolicy @aws -Cluster prod -Service step-agent; Get-PrefectEcsScalingPolicy @aws -Cluster prod -Service tracking-agent) |
                Invoke-PrefectScalingSimulation @aws -Run $runs
            @($results).Count | Should -Be 2
            ($results.Kind | Sort-Object) | Should -Be 'StepScaling', 'TargetTracking'
            $results[0].FirstScaleOutSeconds | Should -Not -Be $results[1].FirstScaleOutSeconds
        }

        It 'simulates a live capacity policy as the one Set was given' {
            $live = Get-PrefectEcsScalingPolicy @aws -Cluster prod -Service capacity-agent | Invoke-PrefectScalingSimulation @aws -Run $runs
            $live.Kind | Should -Be 'Capacity'
            $given = Invoke-PrefectScalingSimulation -Run $runs -Capacity -RunsPerTask 1 -MinCapacity 0 -MaxCapacity 20
            ($live | Select-Object StartDelayP95, TaskMinutes, ScaleEvents, RunsInterrupted | ConvertTo-Json) | Should -Be ($given | Select-Object StartDelayP95, TaskMinutes, ScaleEvents, RunsInterrupted | ConvertTo-Json)
        }

        It 'says when a service has no policy to simulate' {
            Invoke-AwsCli -EndpointUrl $moto.Url ecs create-service --cluster prod --service-name bare --task-definition agent --desired-count 0 --launch-type FARGATE | Out-Null
            { Invoke-PrefectScalingSimulation @aws -Cluster prod -Service bare -Run $runs -ErrorAction Stop } | Should -Throw '*not a scalable target*'
        }
    }
}
