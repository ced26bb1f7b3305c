Describe 'Scaling touches only what the module made, against moto' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Common.ps1')
        $moto = Start-MotoServer
        $proxy = Start-AwsCaptureProxy -UpstreamUrl $moto.Url
        $aws = @{ EndpointUrl = $proxy.Url; Region = 'us-east-1'; AccessKey = 'testing'; SecretKey = 'testing' }
        $step = @{ WorkPool = 'etl'; MinCapacity = 0; MaxCapacity = 4; StepScaling = $true; WarningAction = 'SilentlyContinue' }

        # A capture proxy that can also hold one PutScalingPolicy until the test releases it (tests/emulators/aws/capture_proxy.py).
        $gateDir = Join-Path ([IO.Path]::GetTempPath()) "prefectscaling-gate-$PID-$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        $null = New-Item -ItemType Directory -Force $gateDir
        $gate = & (Get-Module PrefectScaling.TestHost) {
            param($Upstream, $Dir)
            Start-LoggedProcess -Name 'gate' -Command 'python3' -Arguments @((Join-Path $PSScriptRoot '../emulators/aws/capture_proxy.py'), $Upstream, (Join-Path $Dir 'requests.jsonl'), "$PID", $Dir, 'PutScalingPolicy') -Ready 'listening on (http://127\.0\.0\.1:\d+)'
        } $moto.Url $gateDir

        function Invoke-Cli { Invoke-AwsCli -EndpointUrl $moto.Url @args }

        function New-EcsService([string] $Cluster, [string] $Service) {
            Invoke-Cli ecs create-cluster --cluster-name $Cluster | Out-Null
            Invoke-Cli ecs register-task-definition --family agent --container-definitions '[{"name":"agent","image":"prefecthq/prefect:3-latest","memory":512}]' | Out-Null
            Invoke-Cli ecs create-service --cluster $Cluster --service-name $Service --task-definition agent --desired-count 1 --launch-type FARGATE | Out-Null
        }

        function Get-Policy([string] $Cluster, [string] $Service) {
            @((Invoke-Cli application-autoscaling describe-scaling-policies --service-namespace ecs --resource-id "service/$Cluster/$Service").ScalingPolicies |
                Where-Object ResourceId -eq "service/$Cluster/$Service" | Sort-Object PolicyName)
        }

        # Leaving out the alarms AWS (and moto) make and own for target-tracking policies.
        function Get-Alarm { @((Invoke-Cli cloudwatch describe-alarms).MetricAlarms | Where-Object AlarmName -notlike 'TargetTracking-*' | Sort-Object AlarmName) }

        # What the module's first release made for a step-scaling scope: its names, no tags.
        function New-FirstReleaseStepScaling([string] $Cluster, [string] $Service, [string] $Queue) {
            foreach ($suffix in ':out', ':in') {
                $name = "PrefectScaling-$Cluster-$Service-$Queue$suffix"
                $config = if ($suffix -eq ':out') { '{"AdjustmentType":"ChangeInCapacity","StepAdjustments":[{"MetricIntervalLowerBound":0,"ScalingAdjustment":1}],"Cooldown":60,"MetricAggregationType":"Maximum"}' }
                          else { '{"AdjustmentType":"ChangeInCapacity","StepAdjustments":[{"MetricIntervalUpperBound":0,"ScalingAdjustment":-1}],"Cooldown":300,"MetricAggregationType":"Maximum"}' }
                $arn = (Invoke-Cli application-autoscaling put-scaling-policy --service-namespace ecs --resource-id "service/$Cluster/$Service" --scalable-dimension ecs:service:DesiredCount `
                    --policy-name $name --policy-type StepScaling --step-scaling-policy-configuration $config).PolicyARN
                Invoke-Cli cloudwatch put-metric-alarm --alarm-name $name --namespace Prefect --metric-name LateFlowRuns --dimensions "Name=WorkQueue,Value=$Queue" `
                    --statistic Maximum --period 60 --evaluation-periods 1 --threshold 1 --comparison-operator GreaterThanOrEqualToThreshold --alarm-actions $arn | Out-Null
            }
        }

        function Get-Mutation { @(Get-AwsCapturedRequest $proxy | Where-Object { $_.Action -notmatch '^(Describe|List|Get)' }) }
    }
    AfterAll {
        if ($gate) { & (Get-Module PrefectScaling.TestHost) { param($p) Stop-LoggedProcess $p } $gate.Process }
        if ($proxy) { Stop-AwsCaptureProxy $proxy }
        if ($moto) { Stop-MotoServer $moto }
        if ($gateDir) { Remove-Item -Recurse -Force $gateDir -ErrorAction SilentlyContinue }
    }
    BeforeEach {
        Reset-MotoServer $moto
        Clear-AwsCapturedRequest $proxy
    }

    It 'removing service agent leaves agent-gpu in the same cluster, of both releases, alone' {
        New-EcsService prod agent
        New-EcsService prod agent-gpu
        Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent @step
        Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent-gpu @step
        New-FirstReleaseStepScaling prod agent-gpu old
        $gpuAlarms = (Get-Alarm | Where-Object { $_.AlarmActions -match 'service/prod/agent-gpu:' }).AlarmName
        $gpuAlarms | Should -HaveCount 4

        Remove-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent -DeregisterTarget -Force
        Get-Policy prod agent | Should -BeNullOrEmpty
        (Get-Policy prod agent-gpu) | Should -HaveCount 4
        (Get-Alarm).AlarmName | Should -Be $gpuAlarms
        (Get-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent-gpu) | Should -HaveCount 4
    }

    It 'keeps cluster a-b with service c apart from cluster a with service b-c' {
        New-EcsService a-b c
        New-EcsService a b-c
        Set-PrefectEcsScalingPolicy @aws -Cluster a-b -Service c @step
        Set-PrefectEcsScalingPolicy @aws -Cluster a -Service b-c @step
        $alarms = Get-Alarm
        $alarms | Should -HaveCount 4
        @($alarms | Where-Object { $_.AlarmActions -match 'service/a/b-c:' }) | Should -HaveCount 2

        Remove-PrefectEcsScalingPolicy @aws -Cluster a-b -Service c -Force
        $left = Get-Alarm
        $left | Should -HaveCount 2
        $left.AlarmActions | Should -Be (Get-Policy a b-c).PolicyARN
        (Get-PrefectEcsScalingPolicy @aws -Cluster a -Service b-c).AlarmName | Should -Be $left.AlarmName
    }

    It 'leaves a user''s alarms named like the module''s alone through Set and Remove' {
        New-EcsService prod agent
        foreach ($name in 'PrefectScaling-prod-agent-etl:out', 'PrefectScaling-prod-agent-my-own') {
            Invoke-Cli cloudwatch put-metric-alarm --alarm-name $name --namespace Mine --metric-name Errors --statistic Sum --period 60 --evaluation-periods 1 `
                --threshold 5 --comparison-operator GreaterThanThreshold --alarm-actions arn:aws:sns:us-east-1:123456789012:pager | Out-Null
        }
        Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent @step
        Remove-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent -DeregisterTarget -Force
        $left = Get-Alarm
        $left.AlarmName | Should -Be @('PrefectScaling-prod-agent-etl:out', 'PrefectScaling-prod-agent-my-own')
        $left.Namespace | Select-Object -Unique | Should -Be 'Mine'
        $left.AlarmActions | Select-Object -Unique | Should -Be 'arn:aws:sns:us-east-1:123456789012:pager'
    }

    It 'refuses to overwrite a user''s alarm that has the name the policy needs, and changes nothing' {
        New-EcsService prod agent
        Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent @step
        $out = (Get-Policy prod agent | Where-Object PolicyName -like '*:out').PolicyName
        Remove-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent -DeregisterTarget -Force
        Invoke-Cli cloudwatch put-metric-alarm --alarm-name $out --namespace Mine --metric-name Errors --statistic Sum --period 60 --evaluation-periods 1 `
            --threshold 5 --comparison-operator GreaterThanThreshold --alarm-actions arn:aws:sns:us-east-1:123456789012:pager | Out-Null
        Clear-AwsCapturedRequest $proxy
        { Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent @step -ErrorAction Stop } | Should -Throw "*$out*did not make*"
        $Error[0].FullyQualifiedErrorId | Should -Match '^AlarmNameTaken'
        Get-Mutation | Should -BeNullOrEmpty
        (Get-Alarm).Namespace | Should -Be 'Mine'
    }

    It 'replaces what the first release made for the service, of every scope, and removes it' {
        New-EcsService prod agent
        Invoke-Cli application-autoscaling register-scalable-target --service-namespace ecs --resource-id service/prod/agent --scalable-dimension ecs:service:DesiredCount --min-capacity 0 --max-capacity 4 | Out-Null
        New-FirstReleaseStepScaling prod agent etl
        New-FirstReleaseStepScaling prod agent other
        Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent @step
        $names = (Get-Policy prod agent).PolicyName
        $names | Should -HaveCount 2
        @($names | Where-Object { $_ -like 'PrefectScaling-prod-agent-*' }) | Should -BeNullOrEmpty
        @($names | Where-Object { $_ -match '^PrefectScaling/prod/agent/etl~[0-9a-f]{16}:(in|out)$' }) | Should -HaveCount 2
        (Get-Alarm).AlarmName | Should -Be ((Get-Policy prod agent).PolicyName | Sort-Object)

        Clear-AwsCapturedRequest $proxy
        Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent @step
        Get-Mutation | Should -BeNullOrEmpty
        Remove-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent -Force
        Get-Policy prod agent | Should -BeNullOrEmpty
        Get-Alarm | Should -BeNullOrEmpty
    }

    It 'refuses -DeregisterTarget while the target carries a scheduled action (AWS deletes those with it too)' {
        New-EcsService prod agent
        Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent @step
        Invoke-Cli application-autoscaling put-scheduled-action --service-namespace ecs --resource-id service/prod/agent --scalable-dimension ecs:service:DesiredCount `
            --scheduled-action-name nightly --schedule 'cron(0 22 * * ? *)' --scalable-target-action 'MinCapacity=0,MaxCapacity=1' | Out-Null
        Clear-AwsCapturedRequest $proxy
        { Remove-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent -DeregisterTarget -Force -ErrorAction Stop } | Should -Throw '*scheduled action nightly*'
        Get-Mutation | Should -BeNullOrEmpty
    }

    Context 'Remove-PrefectEcsScalingPolicy -DeregisterTarget' {
        BeforeEach {
            New-EcsService prod agent
            Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent @step
            Invoke-Cli application-autoscaling put-scaling-policy --service-namespace ecs --resource-id service/prod/agent --scalable-dimension ecs:service:DesiredCount `
                --policy-name cpu --policy-type TargetTrackingScaling `
                --target-tracking-scaling-policy-configuration '{"TargetValue":50,"PredefinedMetricSpecification":{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"}}' | Out-Null
            Clear-AwsCapturedRequest $proxy
        }

        It 'refuses, even with -Force, while the target carries a policy the module did not make' {
            { Remove-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent -DeregisterTarget -Force -ErrorAction Stop } | Should -Throw '*policy cpu*-DeleteUnmanaged*'
            $Error[0].FullyQualifiedErrorId | Should -Match '^UnmanagedScalingOnTarget'
            Get-Mutation | Should -BeNullOrEmpty
            (Get-Policy prod agent) | Should -HaveCount 3
        }

        It 'lists what AWS would delete with -WhatIf, and deregisters with -DeleteUnmanaged' {
            $script = "Import-Module '$ModulePath'; Remove-PrefectEcsScalingPolicy -EndpointUrl '$($proxy.Url)' -Region us-east-1 -AccessKey testing -SecretKey testing " +
                      '-Cluster prod -Service agent -DeregisterTarget -DeleteUnmanaged -WhatIf'
            $output = (& dotnet pwsh -NoProfile -NonInteractive -Command $script) | Out-String
            $output | Should -Match 'Deregister scalable target; AWS deletes with it what PrefectScaling did not make: policy cpu'
            $output | Should -Match 'Delete CloudWatch alarm'
            Get-Mutation | Should -BeNullOrEmpty

            Remove-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent -DeregisterTarget -DeleteUnmanaged -Force
            (Invoke-Cli application-autoscaling describe-scalable-targets --service-namespace ecs).ScalableTargets | Should -BeNullOrEmpty
            Get-Alarm | Should -BeNullOrEmpty
        }

        It 'removes only the module''s policies without -DeregisterTarget' {
            Remove-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent -Force
            (Get-Policy prod agent).PolicyName | Should -Be 'cpu'
            (Invoke-Cli application-autoscaling describe-scalable-targets --service-namespace ecs).ScalableTargets | Should -HaveCount 1
        }
    }

    Context 'two Set-PrefectEcsScalingPolicy runs on one service' {
        It 'removes the kind another run wrote between its plan and its write, and says so' {
            New-EcsService prod agent
            New-Item -ItemType File (Join-Path $gateDir 'arm') -Force | Out-Null
            $script = "Import-Module '$ModulePath'; Set-PrefectEcsScalingPolicy -EndpointUrl '$($gate.Url)' -Region us-east-1 -AccessKey testing -SecretKey testing " +
                      '-Cluster prod -Service agent -WorkPool etl -MinCapacity 0 -MaxCapacity 4 -StepScaling -WarningVariable w -WarningAction SilentlyContinue; $w | ForEach-Object { "WARN: $_" }'
            $job = Start-ThreadJob { & dotnet pwsh -NoProfile -NonInteractive -Command $using:script 2>&1 }
            try {
                $clock = [Diagnostics.Stopwatch]::StartNew()
                while (-not (Test-Path (Join-Path $gateDir 'held')) -and $clock.Elapsed.TotalSeconds -lt 90 -and $job.State -in 'NotStarted', 'Running') { Start-Sleep -Milliseconds 100 }
                Test-Path (Join-Path $gateDir 'held') | Should -BeTrue -Because ($job | Receive-Job -Keep | Out-String)
                # The step run has planned on an empty service; target tracking is written on the same scope now.
                Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent -WorkPool etl -MinCapacity 0 -MaxCapacity 4 -TargetTracking -WarningAction SilentlyContinue
                # Target tracking and the busy guard's step scale-in (":in").
                (Get-Policy prod agent | Where-Object PolicyName -notlike '*:in').PolicyType | Should -Be 'TargetTrackingScaling'
            }
            finally { New-Item -ItemType File (Join-Path $gateDir 'release') -Force | Out-Null }
            $output = ($job | Wait-Job -Timeout 120 | Receive-Job) | Out-String
            $job | Remove-Job -Force

            $output | Should -Match 'WARN: While this command ran, something else'
            $output | Should -Match 'Delete scaling policy'
            $policies = Get-Policy prod agent
            $policies.PolicyType | Select-Object -Unique | Should -Be 'StepScaling'
            $policies | Should -HaveCount 2
            (Get-Alarm).AlarmActions | Should -Be $policies.PolicyARN
        }

        It 'leaves one kind when the two run at the same time' {
            New-EcsService prod agent
            $common = "Import-Module '$ModulePath'; Set-PrefectEcsScalingPolicy -EndpointUrl '$($proxy.Url)' -Region us-east-1 -AccessKey testing -SecretKey testing " +
                      '-Cluster prod -Service agent -WorkPool etl -MinCapacity 0 -MaxCapacity 4 -WarningAction SilentlyContinue '
            $jobs = foreach ($kind in '-StepScaling', '-TargetTracking') {
                Start-ThreadJob -ArgumentList "$common $kind" { param($s) & dotnet pwsh -NoProfile -NonInteractive -Command $s 2>&1 }
            }
            $null = $jobs | Wait-Job -Timeout 180
            $output = ($jobs | Receive-Job) | Out-String
            $jobs | Remove-Job -Force
            $output | Should -Not -Match 'ScalingDidNotSettle'
            $policies = Get-Policy prod agent
            # Either kind has the busy guard's ":in": step scaling with ":out", or target tracking, never both.
            $tracking = @($policies | Where-Object PolicyType -eq 'TargetTrackingScaling')
            $out = @($policies | Where-Object PolicyName -like '*:out')
            ($tracking.Count -eq 0 -or $out.Count -eq 0) | Should -BeTrue -Because "the policies left are $($policies.PolicyName -join ', ')"
            $policies.Count | Should -Be 2
            @($policies | Where-Object PolicyName -like '*:in') | Should -HaveCount 1
            @(Get-Alarm).Count | Should -Be $(if ($out.Count -gt 0) { 2 } else { 1 })
        }
    }

    Context 'inputs checked before any call' {
        It 'refuses <Name>' -ForEach @(
            @{ Name = 'a wildcard queue'; Splat = @{ WorkQueue = 'etl-*'; MinCapacity = 0; MaxCapacity = 2 }; Match = 'names its scope exactly' }
            @{ Name = 'a wildcard pool'; Splat = @{ WorkPool = 'ecs-?'; WorkQueue = 'q'; MinCapacity = 0; MaxCapacity = 2 }; Match = 'names its scope exactly' }
            @{ Name = 'an alarm period of 0'; Splat = @{ WorkQueue = 'q'; MinCapacity = 0; MaxCapacity = 2; StepScaling = $true; AlarmPeriod = 0 }; Match = 'not 0' }
            @{ Name = 'a target past CloudWatch''s range'; Splat = @{ WorkQueue = 'q'; MinCapacity = 0; MaxCapacity = 2; TargetValue = 1e200 }; Match = '1.174271e+108' }
            @{ Name = 'a negative cooldown'; Splat = @{ WorkQueue = 'q'; MinCapacity = 0; MaxCapacity = 2; ScaleInCooldown = -1 }; Match = '0 seconds or more' }
            @{ Name = 'a namespace starting with a colon'; Splat = @{ WorkQueue = 'q'; MinCapacity = 0; MaxCapacity = 2; Namespace = ':Prefect' }; Match = "':'" }
            @{ Name = 'a scale-in look-back over a day'; Splat = @{ WorkQueue = 'q'; MinCapacity = 0; MaxCapacity = 2; StepScaling = $true; ScaleInAfterPeriods = 1441 }; Match = '86,400' }
        ) {
            { Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent @Splat -ErrorAction Stop } | Should -Throw "*$Match*"
            $Error[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }

        It 'takes an escaped wildcard character as the name itself' {
            New-EcsService prod agent
            Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent -WorkPool 'etl`?' -MinCapacity 0 -MaxCapacity 2 -WarningAction SilentlyContinue
            (Get-Policy prod agent).PolicyName | Should -Match '^PrefectScaling/prod/agent/etl%3F~[0-9a-f]{16}(:in)?$'
            (Get-PrefectEcsScalingPolicy @aws -Cluster prod -Service agent).Scope | Select-Object -Unique | Should -Be 'pool etl?'
        }

        It 'refuses a cluster ARN for Get and Remove too' {
            { Get-PrefectEcsScalingPolicy @aws -Cluster 'arn:aws:ecs:us-east-1:123456789012:cluster/prod' -Service agent -ErrorAction Stop } | Should -Throw '*not an ARN*'
            { Remove-PrefectEcsScalingPolicy @aws -Cluster prod -Service 'my agent' -Force -ErrorAction Stop } | Should -Throw '*letters, digits*'
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }

        It 'publishes no metric value outside CloudWatch''s range' {
            { Publish-PrefectBacklogMetric @aws -WorkQueue q -Count 1e300 -ErrorAction Stop } | Should -Throw '*outside what CloudWatch accepts*'
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }
    }
}
