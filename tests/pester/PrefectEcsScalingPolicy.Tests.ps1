Describe 'ECS scaling policies against moto' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Common.ps1')
        $moto = Start-MotoServer
        $proxy = Start-AwsCaptureProxy -UpstreamUrl $moto.Url
        $aws = @{ EndpointUrl = $proxy.Url; Region = 'us-east-1'; AccessKey = 'testing'; SecretKey = 'testing' }
        $service = @{ Cluster = 'prod'; Service = 'prefect-agent' }
        $resourceId = 'service/prod/prefect-agent'

        function New-EcsService {
            Invoke-AwsCli -EndpointUrl $moto.Url ecs create-cluster --cluster-name prod | Out-Null
            Invoke-AwsCli -EndpointUrl $moto.Url ecs register-task-definition --family agent --container-definitions '[{"name":"agent","image":"prefecthq/prefect:3-latest","memory":512}]' | Out-Null
            Invoke-AwsCli -EndpointUrl $moto.Url ecs create-service --cluster prod --service-name prefect-agent --task-definition agent --desired-count 1 | Out-Null
        }

        # What AWS holds, read with the AWS CLI: the target, the module's policies, and its alarms.
        function Get-AwsScalingState {
            $targets = (Invoke-AwsCli -EndpointUrl $moto.Url application-autoscaling describe-scalable-targets --service-namespace ecs).ScalableTargets |
                Where-Object ResourceId -eq $resourceId
            $policies = @((Invoke-AwsCli -EndpointUrl $moto.Url application-autoscaling describe-scaling-policies --service-namespace ecs).ScalingPolicies |
                Where-Object { $_.ResourceId -eq $resourceId -and $_.PolicyName -like 'PrefectScaling*' } | Sort-Object PolicyName)
            $alarms = @((Invoke-AwsCli -EndpointUrl $moto.Url cloudwatch describe-alarms --alarm-name-prefix 'PrefectScaling').MetricAlarms | Sort-Object AlarmName)
            [pscustomobject]@{ Targets = @($targets); Policies = $policies; Alarms = $alarms }
        }

        # The requests that change AWS (everything but reads).
        function Get-Mutation { @(Get-AwsCapturedRequest $proxy | Where-Object { $_.Action -notmatch '^(Describe|List|Get)' }) }
    }
    AfterAll {
        if ($proxy) { Stop-AwsCaptureProxy $proxy }
        if ($moto) { Stop-MotoServer $moto }
    }
    BeforeEach {
        Reset-MotoServer $moto
        New-EcsService
        Clear-AwsCapturedRequest $proxy
    }

    Describe 'Set-PrefectEcsScalingPolicy -TargetTracking' {
        It 'registers the target and puts one target-tracking policy on the published metric' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool ecs-workers -WorkQueue default -MinCapacity 1 -MaxCapacity 10 -TargetValue 2 -WarningAction SilentlyContinue
            $state = Get-AwsScalingState
            $state.Targets | Should -HaveCount 1
            $state.Targets[0].MinCapacity | Should -Be 1
            $state.Targets[0].MaxCapacity | Should -Be 10
            $state.Targets[0].ScalableDimension | Should -Be 'ecs:service:DesiredCount'
            $state.Policies | Should -HaveCount 1
            $policy = $state.Policies[0]
            $policy.PolicyName | Should -Match '^PrefectScaling/prod/prefect-agent/ecs-workers/default~[0-9a-f]{16}$'
            $policy.PolicyType | Should -Be 'TargetTrackingScaling'
            $config = $policy.TargetTrackingScalingPolicyConfiguration
            $config.TargetValue | Should -Be 2
            $config.CustomizedMetricSpecification.Namespace | Should -Be 'Prefect'
            $config.CustomizedMetricSpecification.MetricName | Should -Be 'LateFlowRuns'
            ($config.CustomizedMetricSpecification.Dimensions | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join ',' | Should -Be 'WorkPool=ecs-workers,WorkQueue=default'
            $config.ScaleOutCooldown | Should -Be 60
            $config.ScaleInCooldown | Should -Be 300
            $state.Alarms | Where-Object AlarmName -like 'PrefectScaling*' | Should -BeNullOrEmpty
        }

        It 'changes nothing when run again, three times over, and says so' {
            $set = @{ WorkQueue = 'default'; MinCapacity = 0; MaxCapacity = 4; WarningAction = 'SilentlyContinue' }
            Set-PrefectEcsScalingPolicy @aws @service @set
            $first = Get-AwsScalingState | ConvertTo-Json -Depth 20
            Clear-AwsCapturedRequest $proxy
            $verbose = foreach ($i in 1..2) { Set-PrefectEcsScalingPolicy @aws @service @set -Verbose 4>&1 }
            Get-Mutation | Should -BeNullOrEmpty
            ($verbose | Out-String) | Should -Match 'already as requested; nothing was changed'
            Get-AwsScalingState | ConvertTo-Json -Depth 20 | Should -Be $first
        }

        It 'updates a changed parameter in place' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkQueue default -MinCapacity 0 -MaxCapacity 4 -TargetValue 1 -WarningAction SilentlyContinue
            Clear-AwsCapturedRequest $proxy
            Set-PrefectEcsScalingPolicy @aws @service -WorkQueue default -MinCapacity 0 -MaxCapacity 4 -TargetValue 5 -WarningAction SilentlyContinue
            (Get-Mutation).Action | Should -Be @('PutScalingPolicy')
            $state = Get-AwsScalingState
            $state.Policies | Should -HaveCount 1
            $state.Policies[0].TargetTrackingScalingPolicyConfiguration.TargetValue | Should -Be 5
        }

        It 'lists every change with -WhatIf and makes none' {
            $script = "Import-Module '$ModulePath'; Set-PrefectEcsScalingPolicy -EndpointUrl '$($proxy.Url)' -Region us-east-1 -AccessKey testing -SecretKey testing " +
                      "-Cluster prod -Service prefect-agent -WorkQueue default -MinCapacity 0 -MaxCapacity 4 -WhatIf -WarningAction SilentlyContinue"
            $output = & dotnet pwsh -NoProfile -NonInteractive -Command $script
            ($output | Out-String) | Should -Match 'Register scalable target'
            ($output | Out-String) | Should -Match 'Create TargetTrackingScaling policy'
            Get-Mutation | Should -BeNullOrEmpty
        }

        It 'warns when nothing has been published to the metric yet' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkQueue default -MinCapacity 0 -MaxCapacity 4 -WarningVariable warned -WarningAction SilentlyContinue
            ($warned | Out-String) | Should -Match 'No data has been published yet to Prefect/LateFlowRuns'
            Publish-PrefectBacklogMetric @aws -WorkQueue default -Count 1
            Set-PrefectEcsScalingPolicy @aws @service -WorkQueue default -MinCapacity 0 -MaxCapacity 4 -WarningVariable again -WarningAction SilentlyContinue
            $again | Should -BeNullOrEmpty
        }
    }

    Describe 'Set-PrefectEcsScalingPolicy -StepScaling' {
        It 'puts a scale-out and a scale-in policy with their alarms' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkQueue etl -MinCapacity 0 -MaxCapacity 8 -StepScaling -ScaleInAfterPeriods 3 -WarningAction SilentlyContinue
            $state = Get-AwsScalingState
            $state.Policies.PolicyName | Should -Match '^PrefectScaling/prod/prefect-agent/etl~[0-9a-f]{16}:(in|out)$'
            $state.Policies.PolicyName | Should -HaveCount 2
            $out = $state.Policies | Where-Object PolicyName -like '*:out'
            $steps = $out.StepScalingPolicyConfiguration.StepAdjustments
            $steps | Should -HaveCount 2
            $steps[0].MetricIntervalLowerBound | Should -Be 0
            $steps[0].MetricIntervalUpperBound | Should -Be 4
            $steps[0].ScalingAdjustment | Should -Be 1
            $steps[1].MetricIntervalLowerBound | Should -Be 4
            $steps[1].PSObject.Properties.Name | Should -Not -Contain 'MetricIntervalUpperBound'
            $steps[1].ScalingAdjustment | Should -Be 3

            $state.Alarms.AlarmName | Should -Be $state.Policies.PolicyName
            $outAlarm = $state.Alarms | Where-Object AlarmName -like '*:out'
            $outAlarm.MetricName | Should -Be 'LateFlowRuns'
            $outAlarm.Threshold | Should -Be 1
            $outAlarm.ComparisonOperator | Should -Be 'GreaterThanOrEqualToThreshold'
            $outAlarm.Period | Should -Be 60
            $outAlarm.TreatMissingData | Should -Be 'notBreaching'
            $outAlarm.AlarmActions | Should -Be @($out.PolicyARN)
            $inAlarm = $state.Alarms | Where-Object AlarmName -like '*:in'
            $inAlarm.ComparisonOperator | Should -Be 'LessThanOrEqualToThreshold'
            $inAlarm.Threshold | Should -Be 0
            $inAlarm.EvaluationPeriods | Should -Be 3
            $inAlarm.TreatMissingData | Should -Be 'notBreaching'
        }

        It 'uses 10-second alarm periods for high-resolution metrics' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkQueue etl -MinCapacity 0 -MaxCapacity 8 -StepScaling -StorageResolution 1 -WarningAction SilentlyContinue
            (Get-AwsScalingState).Alarms.Period | Select-Object -Unique | Should -Be 10
        }

        It 'leaves the same resources after three runs' {
            $set = @{ WorkQueue = 'etl'; MinCapacity = 0; MaxCapacity = 8; StepScaling = $true; ScaleOutStep = @{ 2 = 1; 10 = 4 }; WarningAction = 'SilentlyContinue' }
            1..3 | ForEach-Object { Set-PrefectEcsScalingPolicy @aws @service @set }
            $state = Get-AwsScalingState
            $state.Policies | Should -HaveCount 2
            $state.Alarms | Should -HaveCount 2
            (Get-Mutation).Action | Sort-Object | Should -Be (@('PutMetricAlarm', 'PutMetricAlarm', 'PutScalingPolicy', 'PutScalingPolicy', 'RegisterScalableTarget') | Sort-Object)
        }

        It 'switching kind removes the old policies and alarms' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkQueue etl -MinCapacity 0 -MaxCapacity 8 -StepScaling -WarningAction SilentlyContinue
            Set-PrefectEcsScalingPolicy @aws @service -WorkQueue etl -MinCapacity 0 -MaxCapacity 8 -TargetTracking -TargetValue 3 -WarningAction SilentlyContinue
            $state = Get-AwsScalingState
            $state.Policies.PolicyName | Should -Match '^PrefectScaling/prod/prefect-agent/etl~[0-9a-f]{16}$'
            $state.Policies | Should -HaveCount 1
            $state.Alarms | Should -BeNullOrEmpty
        }
    }

    Describe 'Set-PrefectEcsScalingPolicy -BacklogPerTask' {
        It 'tracks backlog per task and adds a wake policy with a metric-math alarm' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool pool -WorkQueue default -MinCapacity 0 -MaxCapacity 6 -BacklogPerTask -TargetValue 3 -WarningAction SilentlyContinue
            $state = Get-AwsScalingState
            $state.Policies.PolicyName[0] | Should -Match '^PrefectScaling/prod/prefect-agent/pool/default~[0-9a-f]{16}$'
            $state.Policies.PolicyName[1] | Should -Be ($state.Policies.PolicyName[0] + ':wake')
            $tracking = $state.Policies[0].TargetTrackingScalingPolicyConfiguration
            $tracking.TargetValue | Should -Be 3
            $tracking.CustomizedMetricSpecification.MetricName | Should -Be 'LateFlowRunsPerTask'
            ($tracking.CustomizedMetricSpecification.Dimensions | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join ',' | Should -Be 'ClusterName=prod,ServiceName=prefect-agent,WorkPool=pool,WorkQueue=default'
            $wake = $state.Policies[1].StepScalingPolicyConfiguration
            $wake.AdjustmentType | Should -Be 'ExactCapacity'
            $wake.StepAdjustments[0].ScalingAdjustment | Should -Be 1
            $alarm = $state.Alarms | Where-Object AlarmName -like '*:wake'
            ($alarm.Metrics | Where-Object Id -eq 'wake').Expression | Should -Be 'IF(tasks == 0 AND backlog > 0, 1, 0)'
            ($alarm.Metrics | Where-Object Id -eq 'tasks').MetricStat.Metric.MetricName | Should -Be 'EcsServiceDesiredTasks'
            $alarm.AlarmActions | Should -Be @($state.Policies[1].PolicyARN)
        }

        It 'is fed by Publish-PrefectBacklogMetric -Cluster -Service with backlog per desired task' {
            $published = Publish-PrefectBacklogMetric @aws -WorkPool pool -WorkQueue default -Count 6 -Cluster prod -Service prefect-agent -PassThru
            ($published | Where-Object MetricName -eq 'LateFlowRunsPerTask').Value | Should -Be 6   # desired count 1
            ($published | Where-Object MetricName -eq 'EcsServiceDesiredTasks').Value | Should -Be 1
            Invoke-AwsCli -EndpointUrl $moto.Url ecs update-service --cluster prod --service prefect-agent --desired-count 3 | Out-Null
            $published = Publish-PrefectBacklogMetric @aws -WorkPool pool -WorkQueue default -Count 6 -Cluster prod -Service prefect-agent -PassThru
            ($published | Where-Object MetricName -eq 'LateFlowRunsPerTask').Value | Should -Be 2
            ($published | Where-Object MetricName -eq 'LateFlowRunsPerTask').DimensionText | Should -Be 'ClusterName=prod,ServiceName=prefect-agent,WorkPool=pool,WorkQueue=default'
        }
    }

    Describe 'Get-PrefectEcsScalingPolicy and Remove-PrefectEcsScalingPolicy' {
        It 'shows what the module manages and removes all of it' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkQueue etl -MinCapacity 0 -MaxCapacity 8 -StepScaling -WarningAction SilentlyContinue
            Set-PrefectEcsScalingPolicy @aws @service -WorkQueue default -MinCapacity 0 -MaxCapacity 8 -WarningAction SilentlyContinue
            $rows = Get-PrefectEcsScalingPolicy @aws @service
            $rows | Should -HaveCount 3
            $rows[0].PSObject.TypeNames[0] | Should -Be 'PrefectScaling.Scaling.PrefectEcsScalingPolicy'
            ($rows | Where-Object PolicyName -like '*:out').Kind | Should -Be 'StepScaling'
            ($rows | Where-Object PolicyName -like '*:out').AlarmCondition | Should -Match 'GreaterThanOrEqualToThreshold 1'
            ($rows | Where-Object Kind -eq 'TargetTracking').TargetValue | Should -Be 1
            $rows.MaxCapacity | Select-Object -Unique | Should -Be 8

            Remove-PrefectEcsScalingPolicy @aws @service -WorkQueue etl -Force
            (Get-AwsScalingState).Policies.PolicyName | Should -Match '^PrefectScaling/prod/prefect-agent/default~[0-9a-f]{16}$'
            (Get-AwsScalingState).Alarms | Should -BeNullOrEmpty

            Remove-PrefectEcsScalingPolicy @aws @service -DeregisterTarget -Force
            $state = Get-AwsScalingState
            $state.Targets | Should -BeNullOrEmpty
            $state.Policies | Should -BeNullOrEmpty
            $state.Alarms | Should -BeNullOrEmpty
            Get-PrefectEcsScalingPolicy @aws @service | Should -BeNullOrEmpty
        }

        It 'removes nothing with -WhatIf' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkQueue etl -MinCapacity 0 -MaxCapacity 8 -StepScaling -WarningAction SilentlyContinue
            Clear-AwsCapturedRequest $proxy
            Remove-PrefectEcsScalingPolicy @aws @service -DeregisterTarget -WhatIf
            Get-Mutation | Should -BeNullOrEmpty
        }
    }

    Describe 'Invalid input makes no AWS call' {
        It 'rejects <Name>' -ForEach @(
            @{ Name = 'min above max'; Splat = @{ WorkQueue = 'q'; MinCapacity = 5; MaxCapacity = 2 }; Match = 'more than -MaxCapacity' }
            @{ Name = 'a negative capacity'; Splat = @{ WorkQueue = 'q'; MinCapacity = -1; MaxCapacity = 2 }; Match = '0 or more' }
            @{ Name = 'a zero target'; Splat = @{ WorkQueue = 'q'; MinCapacity = 0; MaxCapacity = 2; TargetValue = 0 }; Match = 'greater than 0' }
            @{ Name = 'overlapping steps'; Splat = @{ WorkQueue = 'q'; MinCapacity = 0; MaxCapacity = 2; StepScaling = $true; ScaleOutStep = @{ '1' = 1; '1.0' = 2 } }; Match = 'overlap' }
            @{ Name = 'a step that adds nothing'; Splat = @{ WorkQueue = 'q'; MinCapacity = 0; MaxCapacity = 2; StepScaling = $true; ScaleOutStep = @{ 1 = 0 } }; Match = 'at least one task' }
            @{ Name = 'a 10-second period on a standard metric'; Splat = @{ WorkQueue = 'q'; MinCapacity = 0; MaxCapacity = 2; StepScaling = $true; AlarmPeriod = 10 }; Match = 'high-resolution' }
            @{ Name = 'an AWS/ namespace'; Splat = @{ WorkQueue = 'q'; MinCapacity = 0; MaxCapacity = 2; Namespace = 'AWS/ECS' }; Match = 'AWS/' }
        ) {
            { Set-PrefectEcsScalingPolicy @aws @service @Splat -ErrorAction Stop } | Should -Throw "*$Match*"
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }

        It 'refuses a service that does not exist before changing anything' {
            { Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service nope -WorkQueue q -MinCapacity 0 -MaxCapacity 2 -ErrorAction Stop } | Should -Throw '*nope*not found*'
            Get-Mutation | Should -BeNullOrEmpty
        }
    }
}
