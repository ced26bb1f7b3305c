Describe 'ECS scaling policies against moto' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Common.ps1')
        $prefect = Start-PrefectEmulator -Mode V3 -SeedPath $SeedPath -Configuration $Configuration
        $moto = Start-MotoServer
        $proxy = Start-AwsCaptureProxy -UpstreamUrl $moto.Url
        $aws = @{ EndpointUrl = $proxy.Url; Region = 'us-east-1'; AccessKey = 'testing'; SecretKey = 'testing' }
        $service = @{ Cluster = 'prod'; Service = 'prefect-agent' }
        $resourceId = 'service/prod/prefect-agent'

        function New-EcsService {
            Invoke-AwsCli -EndpointUrl $moto.Url ecs create-cluster --cluster-name prod | Out-Null
            Invoke-AwsCli -EndpointUrl $moto.Url ecs register-task-definition --family agent --container-definitions '[{"name":"agent","image":"prefecthq/prefect:3-latest","memory":512}]' | Out-Null
            Invoke-AwsCli -EndpointUrl $moto.Url ecs create-service --cluster prod --service-name prefect-agent --task-definition agent --desired-count 1 --launch-type FARGATE | Out-Null
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

        # A series as text: namespace/name {dimensions sorted by name}, from a metric object as AWS answers it.
        function Format-Series($Metric) {
            "$($Metric.Namespace)/$($Metric.MetricName) {$((@($Metric.Dimensions) | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join ',')}"
        }

        # Every metric the service's policies and alarms read, as AWS holds them: target tracking's metric or its
        # metric-math inputs, each alarm's metric or its metric-math inputs.
        function Get-SeriesRead {
            $state = Get-AwsScalingState
            foreach ($p in $state.Policies) {
                $spec = $p.TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification
                if ($spec.MetricName) { Format-Series $spec }
                foreach ($q in @($spec.Metrics)) { if ($q.MetricStat) { Format-Series $q.MetricStat.Metric } }
            }
            foreach ($a in $state.Alarms) {
                if ($a.MetricName) { Format-Series $a }
                foreach ($q in @($a.Metrics)) { if ($q.MetricStat) { Format-Series $q.MetricStat.Metric } }
            }
        }

        # What CloudWatch holds: every series with its exact dimensions.
        function Get-SeriesPublished { (Invoke-AwsCli -EndpointUrl $moto.Url cloudwatch list-metrics).Metrics | ForEach-Object { Format-Series $_ } }

        # What the module's first release made for a step-scaling scope of one queue: its names, no tags.
        function New-FirstReleaseStepScaling([string] $Queue) {
            foreach ($suffix in ':out', ':in') {
                $name = "PrefectScaling-prod-prefect-agent-$Queue$suffix"
                $config = if ($suffix -eq ':out') { '{"AdjustmentType":"ChangeInCapacity","StepAdjustments":[{"MetricIntervalLowerBound":0,"ScalingAdjustment":1}],"Cooldown":60,"MetricAggregationType":"Maximum"}' }
                          else { '{"AdjustmentType":"ChangeInCapacity","StepAdjustments":[{"MetricIntervalUpperBound":0,"ScalingAdjustment":-1}],"Cooldown":300,"MetricAggregationType":"Maximum"}' }
                $arn = (Invoke-AwsCli -EndpointUrl $moto.Url application-autoscaling put-scaling-policy --service-namespace ecs --resource-id $resourceId --scalable-dimension ecs:service:DesiredCount `
                    --policy-name $name --policy-type StepScaling --step-scaling-policy-configuration $config).PolicyARN
                Invoke-AwsCli -EndpointUrl $moto.Url cloudwatch put-metric-alarm --alarm-name $name --namespace Prefect --metric-name LateFlowRuns --dimensions "Name=WorkQueue,Value=$Queue" `
                    --statistic Maximum --period 60 --evaluation-periods 1 --threshold 1 --comparison-operator GreaterThanOrEqualToThreshold --alarm-actions $arn | Out-Null
            }
        }

        # A Set in a child session, where -WhatIf's lines can be read.
        function Invoke-ChildSet([string] $Arguments) {
            $script = "Import-Module '$ModulePath'; Set-PrefectEcsScalingPolicy -EndpointUrl '$($proxy.Url)' -Region us-east-1 -AccessKey testing -SecretKey testing " +
                      "-Cluster prod -Service prefect-agent $Arguments -WarningVariable w -WarningAction SilentlyContinue; `$w | ForEach-Object { ""WARN: `$_"" }"
            (& dotnet pwsh -NoProfile -NonInteractive -Command $script 2>&1) | Out-String
        }
    }
    AfterAll {
        if ($proxy) { Stop-AwsCaptureProxy $proxy }
        if ($moto) { Stop-MotoServer $moto }
        if ($prefect) { Stop-PrefectEmulator $prefect }
    }
    BeforeEach {
        Reset-MotoServer $moto
        New-EcsService
        Clear-AwsCapturedRequest $proxy
    }

    Describe 'Set-PrefectEcsScalingPolicy -TargetTracking' {
        It 'registers the target and puts one target-tracking policy on the binding''s backlog' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool ecs-workers -WorkQueue default -MinCapacity 1 -MaxCapacity 10 -TargetValue 2 -WarningAction SilentlyContinue
            $state = Get-AwsScalingState
            $state.Targets | Should -HaveCount 1
            $state.Targets[0].MinCapacity | Should -Be 1
            $state.Targets[0].MaxCapacity | Should -Be 10
            $state.Targets[0].ScalableDimension | Should -Be 'ecs:service:DesiredCount'
            # Target tracking, and the busy guard's step scale-in (":in") with its alarm.
            $state.Policies | Should -HaveCount 2
            $policy = $state.Policies | Where-Object PolicyType -eq 'TargetTrackingScaling'
            $policy.PolicyName | Should -Match '^PrefectScaling/prod/prefect-agent/ecs-workers/default~[0-9a-f]{16}$'
            $config = $policy.TargetTrackingScalingPolicyConfiguration
            $config.DisableScaleIn | Should -BeTrue
            $config.TargetValue | Should -Be 2
            Format-Series $config.CustomizedMetricSpecification | Should -Be 'Prefect/LateFlowRuns {ClusterName=prod,ServiceName=prefect-agent}'
            $config.ScaleOutCooldown | Should -Be 60
            $config.ScaleInCooldown | Should -Be 300
            $guard = $state.Alarms | Where-Object AlarmName -like 'PrefectScaling*'
            $guard.AlarmName | Should -Be ($policy.PolicyName + ':in')
            $guard.Metrics.Id | Should -Be @('backlog', 'inflight', 'unprotected', 'tasks', 'surplus')
            $guard.AlarmActions | Should -Be @(($state.Policies | Where-Object PolicyName -like '*:in').PolicyARN)
        }

        It 'changes nothing when run again, three times over, and says so' {
            $set = @{ WorkPool = 'k8s'; MinCapacity = 0; MaxCapacity = 4; WarningAction = 'SilentlyContinue' }
            Set-PrefectEcsScalingPolicy @aws @service @set
            $first = Get-AwsScalingState | ConvertTo-Json -Depth 20
            Clear-AwsCapturedRequest $proxy
            $verbose = foreach ($i in 1..2) { Set-PrefectEcsScalingPolicy @aws @service @set -Verbose 4>&1 }
            Get-Mutation | Should -BeNullOrEmpty
            ($verbose | Out-String) | Should -Match 'already as requested; nothing was changed'
            Get-AwsScalingState | ConvertTo-Json -Depth 20 | Should -Be $first
        }

        It 'updates a changed parameter in place' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool k8s -MinCapacity 0 -MaxCapacity 4 -TargetValue 1 -WarningAction SilentlyContinue
            Clear-AwsCapturedRequest $proxy
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool k8s -MinCapacity 0 -MaxCapacity 4 -TargetValue 5 -WarningAction SilentlyContinue
            (Get-Mutation).Action | Should -Be @('PutScalingPolicy')
            $state = Get-AwsScalingState
            $state.Policies | Should -HaveCount 2
            ($state.Policies | Where-Object PolicyType -eq 'TargetTrackingScaling').TargetTrackingScalingPolicyConfiguration.TargetValue | Should -Be 5
        }

        It 'lists every change with -WhatIf and makes none' {
            $output = Invoke-ChildSet '-WorkPool k8s -MinCapacity 0 -MaxCapacity 4 -WhatIf'
            $output | Should -Match 'Register scalable target'
            $output | Should -Match 'Create TargetTrackingScaling policy'
            Get-Mutation | Should -BeNullOrEmpty
        }

        It 'warns until the binding''s exact series has data, and a per-queue series does not count' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool k8s -MinCapacity 0 -MaxCapacity 4 -WarningVariable warned -WarningAction SilentlyContinue
            ($warned | Out-String) | Should -Match 'No data has been published yet to Prefect/LateFlowRuns \{ClusterName=prod,ServiceName=prefect-agent\}'
            # Series with the binding's dimensions and more (as the first release's per-task series had) are listed for
            # the binding's dimensions too, but are not its series.
            Invoke-AwsCli -EndpointUrl $moto.Url cloudwatch put-metric-data --namespace Prefect --metric-name LateFlowRuns --value 1 `
                --dimensions 'ClusterName=prod,ServiceName=prefect-agent,WorkPool=k8s,WorkQueue=default' | Out-Null
            Publish-PrefectBacklogMetric @aws -WorkPool k8s -WorkQueue default -Count 1
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool k8s -MinCapacity 0 -MaxCapacity 4 -WarningVariable still -WarningAction SilentlyContinue
            ($still | Out-String) | Should -Match 'No data has been published yet to Prefect/LateFlowRuns \{ClusterName=prod,ServiceName=prefect-agent\}'
            # The binding's backlog and the busy guard's InFlight (and so UnprotectedInFlight) beside it.
            @([pscustomobject]@{ WorkQueue = 'default'; Count = 1 }, [pscustomobject]@{ WorkQueue = 'default'; Count = 0; Measure = 'InFlight' }) |
                Publish-PrefectBacklogMetric @aws @service
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool k8s -MinCapacity 0 -MaxCapacity 4 -WarningVariable again -WarningAction SilentlyContinue
            $again | Should -BeNullOrEmpty
        }
    }

    Describe 'Set-PrefectEcsScalingPolicy on a cluster that may not place the tasks' {
        It 'warns for an EC2 service without a capacity provider that scales, and still sets the policy' {
            Invoke-AwsCli -EndpointUrl $moto.Url ecs create-service --cluster prod --service-name ec2-agent --task-definition agent --desired-count 1 --launch-type EC2 | Out-Null
            Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service ec2-agent -WorkPool k8s -MinCapacity 0 -MaxCapacity 4 -WarningVariable warned -WarningAction SilentlyContinue
            ($warned | Out-String) | Should -Match 'EC2 launch type, without a capacity provider'
            (Get-PrefectEcsScalingPolicy @aws -Cluster prod -Service ec2-agent).PolicyName | Should -Match '^PrefectScaling/prod/ec2-agent/'
        }

        It 'does not warn for a Fargate service' {
            Publish-PrefectBacklogMetric @aws @service -WorkQueue default -Count 1
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool k8s -MinCapacity 0 -MaxCapacity 4 -WarningVariable warned -WarningAction SilentlyContinue
            ($warned | Out-String) | Should -Not -Match 'capacity provider|place'
        }
    }

    Describe 'Set-PrefectEcsScalingPolicy -StepScaling' {
        It 'puts a scale-out and a scale-in policy with their alarms on the binding''s backlog' {
            # The scale-in of before the busy guard (the guarded one: 'Set-PrefectEcsScalingPolicy busy guard').
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool etl -MinCapacity 0 -MaxCapacity 8 -StepScaling -ScaleInAfterPeriods 3 -AllowBusyScaleIn -WarningAction SilentlyContinue
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
            Format-Series $outAlarm | Should -Be 'Prefect/LateFlowRuns {ClusterName=prod,ServiceName=prefect-agent}'
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
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool etl -MinCapacity 0 -MaxCapacity 8 -StepScaling -StorageResolution 1 -WarningAction SilentlyContinue
            (Get-AwsScalingState).Alarms.Period | Select-Object -Unique | Should -Be 10
        }

        It 'leaves the same resources after three runs' {
            $set = @{ WorkPool = 'etl'; MinCapacity = 0; MaxCapacity = 8; StepScaling = $true; ScaleOutStep = @{ 2 = 1; 10 = 4 }; WarningAction = 'SilentlyContinue' }
            1..3 | ForEach-Object { Set-PrefectEcsScalingPolicy @aws @service @set }
            $state = Get-AwsScalingState
            $state.Policies | Should -HaveCount 2
            $state.Alarms | Should -HaveCount 2
            (Get-Mutation).Action | Sort-Object | Should -Be (@('PutMetricAlarm', 'PutMetricAlarm', 'PutScalingPolicy', 'PutScalingPolicy', 'RegisterScalableTarget') | Sort-Object)
        }

        It 'switching kind removes the old policies and alarms' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool etl -MinCapacity 0 -MaxCapacity 8 -StepScaling -WarningAction SilentlyContinue
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool etl -MinCapacity 0 -MaxCapacity 8 -TargetTracking -TargetValue 3 -WarningVariable w -WarningAction SilentlyContinue
            $state = Get-AwsScalingState
            # Target tracking and the busy guard's ":in", which stays a step policy and gets the guard's alarm.
            $state.Policies.PolicyName | Should -Match '^PrefectScaling/prod/prefect-agent/etl~[0-9a-f]{16}(:in)?$'
            $state.Policies | Should -HaveCount 2
            $state.Alarms.AlarmName | Should -Be @(($state.Policies | Where-Object PolicyName -like '*:in').PolicyName)
            ($w | Out-String) | Should -Not -Match 'one binding' -Because 'the same scope is not replaced, only its kind'
        }
    }

    Describe 'Set-PrefectEcsScalingPolicy -Capacity' {
        It 'registers the range and puts one scale-in policy to the minimum on desired tasks above RequiredTasks' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool etl -MinCapacity 1 -MaxCapacity 12 -Capacity -RunsPerTask 4 -StorageResolution 1 -WarningAction SilentlyContinue
            $state = Get-AwsScalingState
            $state.Targets[0].MinCapacity | Should -Be 1
            $state.Targets[0].MaxCapacity | Should -Be 12
            $state.Policies.PolicyName | Should -Match '^PrefectScaling/prod/prefect-agent/etl~[0-9a-f]{16}:cap$'
            $config = $state.Policies[0].StepScalingPolicyConfiguration
            $config.AdjustmentType | Should -Be 'ExactCapacity'
            $config.StepAdjustments[0].ScalingAdjustment | Should -Be 1
            $alarm = $state.Alarms | Where-Object AlarmName -eq $state.Policies[0].PolicyName
            $alarm.AlarmActions | Should -Be @($state.Policies[0].PolicyARN)
            $alarm.AlarmDescription | Should -Match '\(RunsPerTask 4, MinCapacity 1\)'
            ($alarm.Metrics | Where-Object ReturnData).Expression | Should -Be 'tasks - required'
            @($alarm.Metrics | Where-Object MetricStat | ForEach-Object { Format-Series $_.MetricStat.Metric }) |
                Should -Be @('Prefect/EcsServiceDesiredTasks {ClusterName=prod,ServiceName=prefect-agent}', 'Prefect/RequiredTasks {ClusterName=prod,ServiceName=prefect-agent}')
            $alarm.Metrics.MetricStat.Period | Select-Object -Unique | Should -Be 10
            $alarm.EvaluationPeriods | Should -Be 1
            (Get-PrefectEcsScalingPolicy @aws @service | Where-Object PolicyName).Kind | Should -Be 'Capacity'
        }

        It 'keeps a minimum the publisher holds inside the range when run again' {
            $set = @{ WorkPool = 'etl'; MinCapacity = 0; MaxCapacity = 12; Capacity = $true; RunsPerTask = 4; WarningAction = 'SilentlyContinue' }
            Set-PrefectEcsScalingPolicy @aws @service @set
            Invoke-AwsCli -EndpointUrl $moto.Url application-autoscaling register-scalable-target --service-namespace ecs --resource-id $resourceId --scalable-dimension ecs:service:DesiredCount --min-capacity 5 | Out-Null
            Clear-AwsCapturedRequest $proxy
            Set-PrefectEcsScalingPolicy @aws @service @set
            Get-Mutation | Should -BeNullOrEmpty
            (Get-AwsScalingState).Targets[0].MinCapacity | Should -Be 5
        }

        It 'refuses <Name> before any AWS call' -ForEach @(
            @{ Name = 'no -RunsPerTask'; Arguments = @{}; Match = '*RunsPerTask*' }
            @{ Name = '-RunsPerTask 0'; Arguments = @{ RunsPerTask = 0 }; Match = '*RunsPerTask*' }
            @{ Name = '-RunsPerTask 1001'; Arguments = @{ RunsPerTask = 1001 }; Match = '*RunsPerTask*' }
        ) {
            $a = $Arguments
            { Set-PrefectEcsScalingPolicy @aws @service -WorkPool etl -MinCapacity 0 -MaxCapacity 4 -Capacity @a -ErrorAction Stop } | Should -Throw $Match
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }
    }

    Describe 'Set-PrefectEcsScalingPolicy -BacklogPerTask' {
        It 'tracks metric math over the binding''s backlog and desired tasks, and adds a wake policy with a metric-math alarm' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool pool -WorkQueue default -MinCapacity 0 -MaxCapacity 6 -BacklogPerTask -TargetValue 3 -WarningAction SilentlyContinue
            $state = Get-AwsScalingState
            $trackingPolicy = $state.Policies | Where-Object PolicyType -eq 'TargetTrackingScaling'
            $wakePolicy = $state.Policies | Where-Object PolicyName -like '*:wake'
            $trackingPolicy.PolicyName | Should -Match '^PrefectScaling/prod/prefect-agent/pool/default~[0-9a-f]{16}$'
            $wakePolicy.PolicyName | Should -Be ($trackingPolicy.PolicyName + ':wake')
            ($state.Policies | Where-Object PolicyName -like '*:in').PolicyName | Should -Be ($trackingPolicy.PolicyName + ':in')
            $tracking = $trackingPolicy.TargetTrackingScalingPolicyConfiguration
            $tracking.TargetValue | Should -Be 3
            $queries = $tracking.CustomizedMetricSpecification.Metrics
            $queries.Id | Should -Be @('backlog', 'tasks', 'perTask')
            Format-Series ($queries | Where-Object Id -eq 'backlog').MetricStat.Metric | Should -Be 'Prefect/LateFlowRuns {ClusterName=prod,ServiceName=prefect-agent}'
            Format-Series ($queries | Where-Object Id -eq 'tasks').MetricStat.Metric | Should -Be 'Prefect/EcsServiceDesiredTasks {ClusterName=prod,ServiceName=prefect-agent}'
            ($queries | Where-Object Id -eq 'perTask').Expression | Should -Be 'IF(tasks > 0, backlog / tasks, backlog)'
            ($queries | Where-Object ReturnData).Id | Should -Be 'perTask'
            $wake = $wakePolicy.StepScalingPolicyConfiguration
            $wake.AdjustmentType | Should -Be 'ExactCapacity'
            $wake.StepAdjustments[0].ScalingAdjustment | Should -Be 1
            $alarm = $state.Alarms | Where-Object AlarmName -like '*:wake'
            ($alarm.Metrics | Where-Object Id -eq 'wake').Expression | Should -Be 'IF(tasks == 0 AND backlog > 0, 1, 0)'
            Format-Series ($alarm.Metrics | Where-Object Id -eq 'tasks').MetricStat.Metric | Should -Be 'Prefect/EcsServiceDesiredTasks {ClusterName=prod,ServiceName=prefect-agent}'
            $alarm.AlarmActions | Should -Be @($wakePolicy.PolicyARN)

            Clear-AwsCapturedRequest $proxy
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool pool -WorkQueue default -MinCapacity 0 -MaxCapacity 6 -BacklogPerTask -TargetValue 3 -WarningAction SilentlyContinue
            Get-Mutation | Should -BeNullOrEmpty -Because 'the metric math AWS holds is what Set would write'
        }

        It 'is fed by Publish-PrefectBacklogMetric -Cluster -Service with the binding''s total and desired tasks' {
            $published = Publish-PrefectBacklogMetric @aws @service -WorkPool pool -WorkQueue default -Count 6 -PassThru
            $published | ForEach-Object { "$($_.MetricName) {$($_.DimensionText)} = $($_.Value)" } | Should -Be @(
                'LateFlowRuns {ClusterName=prod,ServiceName=prefect-agent} = 6', 'EcsServiceDesiredTasks {ClusterName=prod,ServiceName=prefect-agent} = 1')
            Invoke-AwsCli -EndpointUrl $moto.Url ecs update-service --cluster prod --service prefect-agent --desired-count 3 | Out-Null
            $published = Publish-PrefectBacklogMetric @aws @service -WorkPool pool -WorkQueue default -Count 6 -PassThru
            ($published | Where-Object MetricName -eq 'EcsServiceDesiredTasks').Value | Should -Be 3
            ($published | Where-Object MetricName -eq 'LateFlowRuns').Value | Should -Be 6
        }
    }

    Describe 'What the policies read is what Publish writes' {
        It '<Kind> on <Scope> reads only series that Publish -Cluster -Service wrote, exactly' -ForEach @(
            @{ Kind = 'TargetTracking'; Scope = 'a pool'; Set = @{ WorkPool = 'k8s' } }
            @{ Kind = 'BacklogPerTask'; Scope = 'a pool''s queues'; Set = @{ WorkPool = 'k8s'; WorkQueue = 'default', 'etl' } }
            @{ Kind = 'StepScaling'; Scope = 'queues in any pool'; Set = @{ WorkQueue = 'reports'; PrefectApiUrl = $null } }
            @{ Kind = 'BacklogPerTask'; Scope = 'high-resolution data in a namespace of its own'; Set = @{ WorkPool = 'k8s'; StorageResolution = 1; Namespace = 'Team/Prefect'; MetricName = 'Backlog'; Measure = 'Due' } }
        ) {
            $options = @{}
            foreach ($k in 'StorageResolution', 'Namespace', 'MetricName', 'Measure') { if ($Set.ContainsKey($k)) { $options[$k] = $Set[$k] } }
            if ($Set.ContainsKey('PrefectApiUrl')) { $Set.PrefectApiUrl = $prefect.ApiUrl }
            # The policy's measure, and InFlight for the busy guard: each row names its measure (-Measure would bind both).
            $publishOptions = @{} + $options; $publishOptions.Remove('Measure')
            @([pscustomobject]@{ WorkQueue = 'reports'; Count = 2; Measure = $(if ($options.Measure) { $options.Measure } else { 'Late' }) }
              [pscustomobject]@{ WorkQueue = 'reports'; Count = 1; Measure = 'InFlight' }) | Publish-PrefectBacklogMetric @aws @service @publishOptions
            $switch = @{}; if ($Kind -ne 'TargetTracking') { $switch[$Kind] = $true }
            Set-PrefectEcsScalingPolicy @aws @service @Set @switch -MinCapacity 0 -MaxCapacity 4 -WarningVariable w -WarningAction SilentlyContinue
            $w | Should -BeNullOrEmpty
            $read = @(Get-SeriesRead | Select-Object -Unique)
            $read | Should -Not -BeNullOrEmpty
            $published = @(Get-SeriesPublished)
            # The backlog, the desired tasks, InFlight and UnprotectedInFlight.
            $published | Should -HaveCount 4
            foreach ($series in $read) { $published | Should -Contain $series }
        }
    }

    Describe 'One binding per service' {
        It 'replaces every policy and alarm of another scope, and the warning names it' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool k8s -WorkQueue etl -MinCapacity 0 -MaxCapacity 8 -StepScaling -WarningAction SilentlyContinue
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool ecs-pool -MinCapacity 0 -MaxCapacity 8 -TargetTracking -WarningVariable w -WarningAction SilentlyContinue
            ($w | Out-String) | Should -Match 'A service has one binding: service/prod/prefect-agent is now scaled on pool ecs-pool, which replaces every policy and alarm PrefectScaling made for it for pool k8s queue etl\.'
            $state = Get-AwsScalingState
            $state.Policies.PolicyName | Should -Match '^PrefectScaling/prod/prefect-agent/ecs-pool~[0-9a-f]{16}(:in)?$'
            # Only the new binding's busy-guard alarm.
            $state.Alarms.AlarmName | Should -Match '^PrefectScaling/prod/prefect-agent/ecs-pool~[0-9a-f]{16}:in$'
            (Get-PrefectEcsScalingPolicy @aws @service).Scope | Select-Object -Unique | Should -Be 'pool ecs-pool'
        }

        It 'converts the first release''s per-queue policies: -WhatIf lists every change, then Set converts once' {
            Invoke-AwsCli -EndpointUrl $moto.Url application-autoscaling register-scalable-target --service-namespace ecs --resource-id $resourceId --scalable-dimension ecs:service:DesiredCount --min-capacity 0 --max-capacity 4 | Out-Null
            New-FirstReleaseStepScaling etl
            New-FirstReleaseStepScaling reports
            Clear-AwsCapturedRequest $proxy

            $output = Invoke-ChildSet '-WorkPool k8s -MinCapacity 0 -MaxCapacity 4 -StepScaling -WhatIf'
            foreach ($old in 'etl:out', 'etl:in', 'reports:out', 'reports:in') {
                $output | Should -Match ([regex]::Escape("Delete scaling policy and its alarm"" on target ""PrefectScaling-prod-prefect-agent-$old"))
            }
            $output | Should -Match 'Create StepScaling policy on service/prod/prefect-agent" on target "PrefectScaling/prod/prefect-agent/k8s~[0-9a-f]{16}:out'
            $output | Should -Match 'Create CloudWatch alarm that triggers policy PrefectScaling/prod/prefect-agent/k8s~[0-9a-f]{16}:in'
            $output | Should -Match "WARN: A service has one binding: .*PrefectScaling-prod-prefect-agent-etl \(the first release's name\); PrefectScaling-prod-prefect-agent-reports \(the first release's name\)\."
            Get-Mutation | Should -BeNullOrEmpty

            Set-PrefectEcsScalingPolicy @aws @service -WorkPool k8s -MinCapacity 0 -MaxCapacity 4 -StepScaling -WarningAction SilentlyContinue
            $state = Get-AwsScalingState
            $state.Policies.PolicyName | Should -Match '^PrefectScaling/prod/prefect-agent/k8s~[0-9a-f]{16}:(in|out)$'
            $state.Policies | Should -HaveCount 2
            $state.Alarms.AlarmName | Should -Be $state.Policies.PolicyName

            Clear-AwsCapturedRequest $proxy
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool k8s -MinCapacity 0 -MaxCapacity 4 -StepScaling -WarningVariable again -WarningAction SilentlyContinue
            Get-Mutation | Should -BeNullOrEmpty
            ($again | Out-String) | Should -Not -Match 'one binding'
        }
    }

    Describe 'Set-PrefectEcsScalingPolicy -WorkQueue alone (Prefect 2 agents)' {
        It 'binds a queue that is in exactly one pool, checked on Prefect first' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkQueue reports -PrefectApiUrl $prefect.ApiUrl -MinCapacity 0 -MaxCapacity 2 -WarningAction SilentlyContinue
            $row = Get-PrefectEcsScalingPolicy @aws @service | Where-Object PolicyType -eq 'TargetTrackingScaling'
            $row.Scope | Should -Be 'queue reports (any pool)'
            $row.PolicyName | Should -Match '^PrefectScaling/prod/prefect-agent/\*/reports~[0-9a-f]{16}$'
        }

        It 'refuses <Name> before any AWS call, saying why' -ForEach @(
            @{ Name = 'a queue that several pools have, listing them'; Queue = 'default'; Match = "*work queue 'default' is in 4 work pools (ecs-pool, k8s, paused-pool, team a+b #2 ü;=)*name the pool*Nothing was changed" }
            @{ Name = 'a queue no pool has'; Queue = 'no-such-queue'; Match = "*not found: work queue 'no-such-queue' (in no work pool)*Nothing was changed" }
        ) {
            { Set-PrefectEcsScalingPolicy @aws @service -WorkQueue reports, $Queue -PrefectApiUrl $prefect.ApiUrl -MinCapacity 0 -MaxCapacity 2 -ErrorAction Stop } | Should -Throw "*$Match*"
            $Error[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }

        It 'refuses a pool that does not exist when a Prefect connection is given' {
            { Set-PrefectEcsScalingPolicy @aws @service -WorkPool no-such-pool -PrefectApiUrl $prefect.ApiUrl -MinCapacity 0 -MaxCapacity 2 -ErrorAction Stop } | Should -Throw "*not found: work pool 'no-such-pool'*Nothing was changed*"
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }

        It 'needs a Prefect connection for a queue alone, and changes nothing without one' {
            Invoke-WithCleanPrefectEnvironment {
                { Set-PrefectEcsScalingPolicy @aws @service -WorkQueue reports -MinCapacity 0 -MaxCapacity 2 -ErrorAction Stop } | Should -Throw '*PREFECT_API_URL*'
            }
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }
    }

    Describe 'Get-PrefectEcsScalingPolicy and Remove-PrefectEcsScalingPolicy' {
        It 'shows what the module manages with its scope, and removes one scope or all of it' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool etl -MinCapacity 0 -MaxCapacity 8 -StepScaling -WarningAction SilentlyContinue
            New-FirstReleaseStepScaling old
            $rows = Get-PrefectEcsScalingPolicy @aws @service
            $rows | Should -HaveCount 4
            $rows[0].PSObject.TypeNames[0] | Should -Be 'PrefectScaling.Scaling.PrefectEcsScalingPolicy'
            $binding = @($rows | Where-Object PolicyName -like 'PrefectScaling/*')
            $binding.Scope | Should -Be @('pool etl', 'pool etl')
            ($binding | Where-Object PolicyName -like '*:out').Kind | Should -Be 'StepScaling'
            ($binding | Where-Object PolicyName -like '*:out').AlarmCondition | Should -Match 'GreaterThanOrEqualToThreshold 1'
            ($binding | Where-Object PolicyName -like '*:out').Dimensions | Should -Be 'ClusterName=prod,ServiceName=prefect-agent'
            # The first release's names cannot give their scope back.
            ($rows | Where-Object PolicyName -like 'PrefectScaling-*').Scope | Should -Be @($null, $null)
            $rows.MaxCapacity | Select-Object -Unique | Should -Be 8

            Remove-PrefectEcsScalingPolicy @aws @service -WorkPool etl -Force
            (Get-AwsScalingState).Policies.PolicyName | Should -Be @('PrefectScaling-prod-prefect-agent-old:in', 'PrefectScaling-prod-prefect-agent-old:out')
            Remove-PrefectEcsScalingPolicy @aws @service -WorkQueue old -Force
            (Get-AwsScalingState).Policies | Should -BeNullOrEmpty

            Set-PrefectEcsScalingPolicy @aws @service -WorkPool k8s -MinCapacity 0 -MaxCapacity 8 -BacklogPerTask -WarningAction SilentlyContinue
            $rows = Get-PrefectEcsScalingPolicy @aws @service
            $rows.Kind | Should -Be @('BacklogPerTask', 'BacklogPerTask', 'BacklogPerTask')
            ($rows | Where-Object PolicyType -eq 'TargetTrackingScaling').MetricName | Should -Be 'LateFlowRuns per desired task'
            Remove-PrefectEcsScalingPolicy @aws @service -DeregisterTarget -Force
            $state = Get-AwsScalingState
            $state.Targets | Should -BeNullOrEmpty
            $state.Policies | Should -BeNullOrEmpty
            $state.Alarms | Should -BeNullOrEmpty
            Get-PrefectEcsScalingPolicy @aws @service | Should -BeNullOrEmpty
        }

        It 'removes nothing with -WhatIf' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool etl -MinCapacity 0 -MaxCapacity 8 -StepScaling -WarningAction SilentlyContinue
            Clear-AwsCapturedRequest $proxy
            Remove-PrefectEcsScalingPolicy @aws @service -DeregisterTarget -WhatIf
            Get-Mutation | Should -BeNullOrEmpty
        }
    }

    Describe 'Set-PrefectEcsScalingPolicy busy guard' {
        It '-<Kind> scales in only behind the guard, -WhatIf lists it, and Get shows it' -ForEach @(
            @{ Kind = 'TargetTracking' }, @{ Kind = 'BacklogPerTask' }, @{ Kind = 'StepScaling' }
        ) {
            $set = @{ WorkPool = 'k8s'; MinCapacity = 0; MaxCapacity = 6; RunsPerTask = 4; WarningAction = 'SilentlyContinue'; $Kind = $true }
            $output = Invoke-ChildSet "-WorkPool k8s -MinCapacity 0 -MaxCapacity 6 -RunsPerTask 4 -$Kind -WhatIf"
            $output | Should -Match 'Create CloudWatch alarm that triggers policy PrefectScaling/prod/prefect-agent/k8s~[0-9a-f]{16}:in'
            Get-Mutation | Should -BeNullOrEmpty
            Set-PrefectEcsScalingPolicy @aws @service @set
            $guard = (Get-AwsScalingState).Alarms | Where-Object AlarmName -like '*:in'
            ($guard.Metrics | Where-Object Id -eq 'surplus').Expression | Should -Be 'IF(unprotected == 0, tasks - CEIL((backlog + inflight) / 4), 0)'
            $guard.TreatMissingData | Should -Be 'notBreaching'
            $rows = Get-PrefectEcsScalingPolicy @aws @service
            $rows.BusyGuard | Select-Object -Unique | Should -Be 'on, 4 runs per task'
            # No data published: the guard blocks, and says why.
            ($rows | Where-Object PolicyName -like '*:in').ScaleInGuard | Should -Be 'blocks: no backlog datum'
            Clear-AwsCapturedRequest $proxy
            Set-PrefectEcsScalingPolicy @aws @service @set
            Get-Mutation | Should -BeNullOrEmpty
        }

        It 'shows whether the guard blocks now from the published data, and -AllowBusyScaleIn turns it off with a warning' {
            Set-PrefectEcsScalingPolicy @aws @service -WorkPool k8s -MinCapacity 0 -MaxCapacity 6 -WarningAction SilentlyContinue
            @([pscustomobject]@{ Count = 0; Measure = 'Late' }, [pscustomobject]@{ Count = 2; Measure = 'InFlight' }) | Publish-PrefectBacklogMetric @aws @service
            (Get-PrefectEcsScalingPolicy @aws @service | Where-Object PolicyName -like '*:in').ScaleInGuard | Should -Be 'blocks: 2 run(s) in flight, 2 unprotected'
            $status = Get-PrefectScalingStatus @aws @service
            $status.ScaleInGuard | Should -Be 'blocks: 2 run(s) in flight, 2 unprotected'
            ($status.InFlightRuns, $status.UnprotectedInFlightRuns) | Should -Be @(2, 2)

            Set-PrefectEcsScalingPolicy @aws @service -WorkPool k8s -MinCapacity 0 -MaxCapacity 6 -AllowBusyScaleIn -WarningVariable w -WarningAction SilentlyContinue
            ($w | Out-String) | Should -Match 'without the busy guard, so ECS can stop a task that is running a flow'
            (Get-AwsScalingState).Alarms | Where-Object AlarmName -like '*:in' | Should -BeNullOrEmpty
            (Get-PrefectEcsScalingPolicy @aws @service).BusyGuard | Should -Be 'off'
            (Get-PrefectScalingStatus @aws @service).ScaleInGuard | Should -Match '^off:'
        }

        It 'warns when Publish -Cluster -Service has no InFlight count for the guard' {
            Publish-PrefectBacklogMetric @aws @service -WorkQueue default -Count 1 -WarningVariable w -WarningAction SilentlyContinue
            ($w | Out-String) | Should -Match 'no InFlight count'
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
            @{ Name = 'no scope'; Splat = @{ MinCapacity = 0; MaxCapacity = 2 }; Match = 'needs a scope' }
            @{ Name = 'a wildcard pool'; Splat = @{ WorkPool = 'k8s*'; MinCapacity = 0; MaxCapacity = 2 }; Match = 'names its scope exactly' }
            @{ Name = 'runs per task 0'; Splat = @{ WorkQueue = 'q'; MinCapacity = 0; MaxCapacity = 2; RunsPerTask = 0 }; Match = 'RunsPerTask' }
            @{ Name = 'runs per task with the guard off'; Splat = @{ WorkQueue = 'q'; MinCapacity = 0; MaxCapacity = 2; RunsPerTask = 2; AllowBusyScaleIn = $true }; Match = '-AllowBusyScaleIn turns off' }
        ) {
            { Set-PrefectEcsScalingPolicy @aws @service @Splat -ErrorAction Stop } | Should -Throw "*$Match*"
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }

        It 'refuses a service that does not exist before changing anything' {
            { Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service nope -WorkPool q -MinCapacity 0 -MaxCapacity 2 -ErrorAction Stop } | Should -Throw '*nope*not found*'
            Get-Mutation | Should -BeNullOrEmpty
        }
    }
}
