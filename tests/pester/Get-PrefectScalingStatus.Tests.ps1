Describe 'Get-PrefectScalingStatus against moto' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Common.ps1')
        $moto = Start-MotoServer
        $proxy = Start-AwsCaptureProxy -UpstreamUrl $moto.Url
        $aws = @{ EndpointUrl = $proxy.Url; Region = 'us-east-1'; AccessKey = 'testing'; SecretKey = 'testing' }

        function Invoke-Cli { Invoke-AwsCli -EndpointUrl $moto.Url @args }

        function New-EcsService([string] $Cluster, [string] $Service) {
            Invoke-Cli ecs create-cluster --cluster-name $Cluster | Out-Null
            Invoke-Cli ecs register-task-definition --family agent --container-definitions '[{"name":"agent","image":"prefecthq/prefect:3-latest","memory":512}]' | Out-Null
            Invoke-Cli ecs create-service --cluster $Cluster --service-name $Service --task-definition agent --desired-count 1 | Out-Null
        }

        # One datum, with the AWS CLI (not this module), $SecondsAgo before now.
        function Publish-Datum([string] $Namespace, [string] $MetricName, [hashtable] $Dimensions, [double] $Value, [int] $SecondsAgo = 20) {
            $datum = @{
                MetricName = $MetricName; Value = $Value; Unit = 'Count'
                Timestamp  = [DateTime]::UtcNow.AddSeconds(-$SecondsAgo).ToString('yyyy-MM-ddTHH:mm:ssZ')
                Dimensions = @($Dimensions.GetEnumerator() | Sort-Object Key | ForEach-Object { @{ Name = $_.Key; Value = $_.Value } })
            }
            Invoke-Cli cloudwatch put-metric-data --namespace $Namespace --metric-data (ConvertTo-Json @($datum) -Depth 5 -Compress) | Out-Null
        }

        # A datum of the binding's backlog series of one measure: dimensions ClusterName and ServiceName only.
        function Publish-Backlog([string] $Cluster, [string] $Service, [string] $MetricName, [double] $Value, [string] $Namespace = 'Prefect') {
            Publish-Datum $Namespace $MetricName @{ ClusterName = $Cluster; ServiceName = $Service } $Value
        }

        # A datum of exactly what the service's target-tracking policy reads, as AWS holds the policy.
        function Publish-Tracked([string] $Cluster, [string] $Service, [double] $Value) {
            $policy = (Invoke-Cli application-autoscaling describe-scaling-policies --service-namespace ecs).ScalingPolicies |
                Where-Object { $_.ResourceId -eq "service/$Cluster/$Service" -and $_.PolicyType -eq 'TargetTrackingScaling' }
            $metric = $policy.TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification
            $dimensions = @{}
            foreach ($d in $metric.Dimensions) { $dimensions[$d.Name] = $d.Value }
            Publish-Datum $metric.Namespace $metric.MetricName $dimensions $Value
        }
    }
    AfterAll {
        if ($proxy) { Stop-AwsCaptureProxy $proxy }
        if ($moto) { Stop-MotoServer $moto }
    }
    BeforeEach {
        Reset-MotoServer $moto
        Clear-AwsCapturedRequest $proxy
    }

    It 'shows the backlog, the runs in flight, the tasks, the alarms and what target tracking would do' {
        New-EcsService prod prefect-agent
        Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service prefect-agent -WorkPool ecs-workers -WorkQueue default -MinCapacity 1 -MaxCapacity 10 -TargetValue 2 -WarningAction SilentlyContinue
        Publish-Tracked prod prefect-agent 6
        Publish-Backlog prod prefect-agent LateFlowRuns 6
        Publish-Backlog prod prefect-agent PendingFlowRuns 1
        Publish-Backlog prod prefect-agent RunningFlowRuns 2
        Clear-AwsCapturedRequest $proxy

        $status = Get-PrefectScalingStatus @aws -Cluster prod -Service prefect-agent
        $status | Should -HaveCount 1
        $status.PSObject.TypeNames[0] | Should -Be 'PrefectScaling.Scaling.PrefectScalingStatus'
        $status.ResourceId | Should -Be 'service/prod/prefect-agent'
        $status.LateRuns | Should -Be 6
        $status.DueRuns | Should -BeNullOrEmpty
        $status.InFlightRuns | Should -Be 3
        $status.Backlog | Should -Be 'Late 6, Pending 1, Running 2'
        $status.DesiredTasks | Should -Be 1
        $status.MinCapacity | Should -Be 1
        $status.MaxCapacity | Should -Be 10
        $status.PolicyKind | Should -Be 'TargetTracking'
        # The busy guard's scale-in alarm beside the alarms AWS made for target tracking.
        $status.AlarmStates | Should -Be 'in OK, high OK, low OK'
        $status.ScaleInGuard | Should -Be 'blocks: no InFlight datum'
        $status.LastDatumAge | Should -BeOfType [TimeSpan]
        $status.LastDatumAge | Should -BeGreaterThan ([TimeSpan]::Zero)
        # ceil(1 task x 6 / 2) = 3.
        $status.Decision | Should -Be 'scale out to 3'
        $status.DecisionDesiredTasks | Should -Be 3
        # moto does not evaluate the guard's metric math: its scale-in has no data.
        $status.PolicyDetail | Should -Be 'tracking: 6 against target 2 at 1 task(s) -> 3; in: no data'
        # One batched read of the data; nothing changed.
        @(Get-AwsCapturedRequest $proxy | Where-Object Action -eq 'GetMetricData') | Should -HaveCount 1
        @(Get-AwsCapturedRequest $proxy | Where-Object { $_.Action -notmatch '^(Describe|List|Get)' }) | Should -BeNullOrEmpty
    }

    It 'says "no data" rather than a number when nothing is published' {
        New-EcsService prod prefect-agent
        Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service prefect-agent -WorkPool ecs-workers -WorkQueue default -MinCapacity 0 -MaxCapacity 4 -StepScaling -WarningAction SilentlyContinue
        $status = Get-PrefectScalingStatus @aws -Cluster prod -Service prefect-agent
        $status.Backlog | Should -Be 'no data'
        $status.LateRuns | Should -BeNullOrEmpty
        $status.InFlightRuns | Should -BeNullOrEmpty
        $status.LastDatumAge | Should -BeNullOrEmpty
        $status.Decision | Should -Be 'no data'
        $status.DecisionDesiredTasks | Should -BeNullOrEmpty
        $status.PolicyKind | Should -Be 'StepScaling'
        $status.AlarmStates | Should -Be 'in OK, out OK'
    }

    It 'reads the series in -Namespace' {
        New-EcsService prod prefect-agent
        Publish-Backlog prod prefect-agent LateFlowRuns 4 -Namespace 'Team/Prefect'
        $status = Get-PrefectScalingStatus @aws -Cluster prod -Service prefect-agent -Namespace 'Team/Prefect'
        $status.Backlog | Should -Be 'Late 4'
        # moto matches GetMetricData by name and dimensions alone, so the request itself shows the namespace asked for.
        $asked = @(Get-AwsCapturedRequest $proxy | Where-Object Action -eq 'GetMetricData')
        $asked | Should -HaveCount 1
        [uri]::UnescapeDataString($asked[0].Body) | Should -Match 'Namespace=Team/Prefect&'
        [uri]::UnescapeDataString($asked[0].Body) | Should -Not -Match 'Namespace=Prefect&'
        $status.Decision | Should -Be 'no policy'
        # A namespace CloudWatch refuses stops the command before any call.
        Clear-AwsCapturedRequest $proxy
        { Get-PrefectScalingStatus @aws -Cluster prod -Service prefect-agent -Namespace 'AWS/ECS' -ErrorAction Stop } | Should -Throw '*reserves for AWS services*'
        Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
    }

    It 'binds Cluster and Service by property name, one line each, and a missing service is an error for that input alone' {
        New-EcsService prod prefect-agent
        New-EcsService prod prefect-agent-gpu
        Publish-Backlog prod prefect-agent-gpu LateFlowRuns 2
        $inputs = @(
            [pscustomobject]@{ Cluster = 'prod'; Service = 'prefect-agent' }
            [pscustomobject]@{ Cluster = 'prod'; Service = 'no-such-service' }
            [pscustomobject]@{ Cluster = 'prod'; Service = 'prefect-agent-gpu' }
        )
        $statuses = @($inputs | Get-PrefectScalingStatus @aws -ErrorVariable failed -ErrorAction SilentlyContinue)
        $statuses.Service | Should -Be @('prefect-agent', 'prefect-agent-gpu')
        $statuses[1].LateRuns | Should -Be 2
        $failed | Should -HaveCount 1
        $failed[0].FullyQualifiedErrorId | Should -BeLike 'AwsNotFound*'
        $failed[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $failed[0].TargetObject | Should -Be 'service/prod/no-such-service'
        $failed[0].Exception.Message | Should -Match "ECS service 'no-such-service' was not found"

        # What Get-PrefectEcsScalingPolicy returns binds too.
        Set-PrefectEcsScalingPolicy @aws -Cluster prod -Service prefect-agent -WorkPool ecs-workers -WorkQueue default -MinCapacity 0 -MaxCapacity 4 -StepScaling -WarningAction SilentlyContinue
        @(Get-PrefectEcsScalingPolicy @aws -Cluster prod -Service prefect-agent | Select-Object -First 1 | Get-PrefectScalingStatus @aws).ResourceId | Should -Be 'service/prod/prefect-agent'
    }

    It 'fits its table in 80 columns' {
        New-EcsService prod prefect-agent
        Publish-Backlog prod prefect-agent LateFlowRuns 3
        Publish-Backlog prod prefect-agent DueFlowRuns 5
        $lines = @(Get-PrefectScalingStatus @aws -Cluster prod -Service prefect-agent | Out-String -Width 80 -Stream)
        foreach ($line in $lines) { $line.Length | Should -BeLessOrEqual 80 }
        ($lines -join "`n") | Should -Match 'prefect-agent\s+Late 3 Due 5\s+\?\s+1/0\s+none\s+\d+[smhd]\s+no policy'
    }
}
