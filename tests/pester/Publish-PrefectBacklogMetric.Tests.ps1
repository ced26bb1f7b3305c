Describe 'Publishing the backlog to CloudWatch on moto' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Common.ps1')
        $prefect = Start-PrefectEmulator -Mode V3 -SeedPath $SeedPath -Configuration $Configuration
        $moto = Start-MotoServer
        $proxy = Start-AwsCaptureProxy -UpstreamUrl $moto.Url
        $aws = @{ EndpointUrl = $proxy.Url; Region = 'us-east-1'; AccessKey = 'testing'; SecretKey = 'testing' }

        # What CloudWatch on moto holds for one metric series, read with the AWS CLI (not with this module).
        function Get-Datapoint([string] $Metric, [hashtable] $Dimensions, [string] $Namespace = 'Prefect', [string] $Region = 'us-east-1') {
            $dims = ConvertTo-Json -Compress -InputObject @(foreach ($k in $Dimensions.Keys | Sort-Object) { [ordered]@{ Name = $k; Value = $Dimensions[$k] } })
            $now = [DateTime]::UtcNow
            (Invoke-AwsCli -EndpointUrl $moto.Url -Region $Region cloudwatch get-metric-statistics --namespace $Namespace --metric-name $Metric `
                --dimensions $dims --start-time $now.AddHours(-1).ToString('o') --end-time $now.AddMinutes(5).ToString('o') --period 60 --statistics Maximum Sum SampleCount).Datapoints
        }
    }
    AfterAll {
        if ($proxy) { Stop-AwsCaptureProxy $proxy }
        if ($moto) { Stop-MotoServer $moto }
        if ($prefect) { Stop-PrefectEmulator $prefect }
    }
    BeforeEach {
        Reset-MotoServer $moto
        Clear-AwsCapturedRequest $proxy
    }

    Describe 'Get-PrefectLateRunCount | Publish-PrefectBacklogMetric' {
        It 'publishes exactly the measured values, dimensions and timestamps, in one call' {
            $counts = Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -WorkPool k8s, ecs-pool -Measure Late, Due
            $published = $counts | Publish-PrefectBacklogMetric @aws -PassThru
            $published | Should -HaveCount 8
            $published[0].PSObject.TypeNames[0] | Should -Be 'PrefectScaling.Metrics.BacklogMetricDatum'
            @(Get-AwsCapturedRequest $proxy | Where-Object Action -eq 'PutMetricData') | Should -HaveCount 1

            foreach ($count in $counts) {
                $metric = @{ Late = 'LateFlowRuns'; Due = 'DueFlowRuns' }["$($count.Measure)"]
                $point = Get-Datapoint $metric @{ WorkPool = $count.WorkPool; WorkQueue = $count.WorkQueue }
                $point | Should -HaveCount 1 -Because "$($count.WorkPool)/$($count.WorkQueue) $metric"
                $point.Maximum | Should -Be $count.Count
                $point.SampleCount | Should -Be 1
                # The datum carries the moment the count was measured (sent to the millisecond).
                $when = if ($point.Timestamp -is [string]) { [DateTimeOffset]::Parse($point.Timestamp).UtcDateTime } else { [DateTimeOffset]::FromUnixTimeMilliseconds([long]([double]$point.Timestamp * 1000)).UtcDateTime }
                [math]::Abs(($when - $count.Timestamp).TotalMilliseconds) | Should -BeLessThan 2
            }
            (Get-Datapoint LateFlowRuns @{ WorkPool = 'k8s'; WorkQueue = 'default' }).Maximum | Should -Be 2
        }

        It 'publishes 2,500 queues in 3 calls' {
            $now = [DateTime]::UtcNow
            $inputs = 1..2500 | ForEach-Object { [pscustomobject]@{ WorkPool = 'big'; WorkQueue = "q-$_"; Count = $_ % 7; Timestamp = $now } }
            $inputs | Publish-PrefectBacklogMetric @aws
            @(Get-AwsCapturedRequest $proxy | Where-Object Action -eq 'PutMetricData') | Should -HaveCount 3
            (Invoke-AwsCli -EndpointUrl $moto.Url cloudwatch list-metrics --namespace Prefect).Metrics | Should -HaveCount 2500
            (Get-Datapoint LateFlowRuns @{ WorkPool = 'big'; WorkQueue = 'q-2499' }).Maximum | Should -Be (2499 % 7)
        }

        It 'signs every request with SigV4 as botocore computes it' {
            Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -WorkPool k8s | Publish-PrefectBacklogMetric @aws
            $check = Test-AwsSignature $proxy -AccessKey testing -SecretKey testing
            $check.checked | Should -BeGreaterThan 0
            $check.matched | Should -Be $check.checked
            $check.results[0].service | Should -Be 'monitoring'
            $check.results[0].region | Should -Be 'us-east-1'
            # The check can fail: a wrong secret does not verify.
            (Test-AwsSignature $proxy -AccessKey testing -SecretKey 'not-the-secret').matched | Should -Be 0
        }

        It 'shows with -WhatIf what it would publish and sends nothing' {
            # What-if lines go straight to the host, so read them from a child session's output.
            $script = "Import-Module '$ModulePath'; Get-PrefectLateRunCount -PrefectApiUrl '$($prefect.ApiUrl)' -WorkPool k8s | " +
                      "Publish-PrefectBacklogMetric -EndpointUrl '$($proxy.Url)' -Region us-east-1 -AccessKey testing -SecretKey testing -WhatIf"
            $output = & dotnet pwsh -NoProfile -NonInteractive -Command $script
            ($output | Out-String) | Should -Match 'What if: .*Prefect/LateFlowRuns \{WorkPool=k8s,WorkQueue=default\} = 2'
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }

        It 'can leave out the WorkPool dimension, adding counts of the same queue name together' {
            Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -WorkQueue default | Publish-PrefectBacklogMetric @aws -Dimension WorkQueue -StorageResolution 1
            $point = Get-Datapoint LateFlowRuns @{ WorkQueue = 'default' }
            $point.Maximum | Should -Be 3
            $point.SampleCount | Should -Be 1
        }

        It 'takes explicit parameters, a namespace and a metric name' {
            Publish-PrefectBacklogMetric @aws -WorkQueue manual -Count 4 -Namespace 'Team/Prefect' -MetricName Backlog
            (Get-Datapoint Backlog @{ WorkQueue = 'manual' } -Namespace 'Team/Prefect').Maximum | Should -Be 4
        }
    }

    Describe 'Publish-PrefectBacklogMetric -Cluster -Service: the binding''s series' {
        BeforeAll {
            $service = @{ Cluster = 'prod'; Service = 'prefect-agent' }
            function New-EcsService([int] $Desired = 2) {
                Invoke-AwsCli -EndpointUrl $moto.Url ecs create-cluster --cluster-name prod | Out-Null
                Invoke-AwsCli -EndpointUrl $moto.Url ecs register-task-definition --family agent --container-definitions '[{"name":"agent","image":"prefecthq/prefect:3-latest","memory":512}]' | Out-Null
                Invoke-AwsCli -EndpointUrl $moto.Url ecs create-service --cluster prod --service-name prefect-agent --task-definition agent --desired-count $Desired | Out-Null
            }
            # Every series CloudWatch holds, with its exact dimensions.
            function Get-Series { @((Invoke-AwsCli -EndpointUrl $moto.Url cloudwatch list-metrics).Metrics | ForEach-Object { "$($_.Namespace)/$($_.MetricName) {$((@($_.Dimensions) | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join ',')}" } | Sort-Object) }
            $binding = @{ ClusterName = 'prod'; ServiceName = 'prefect-agent' }
        }
        BeforeEach { New-EcsService; Clear-AwsCapturedRequest $proxy }

        It 'adds the counts of each measure into one total on the binding''s series, beside the desired tasks, in one call' {
            $counts = Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -WorkPool k8s, ecs-pool -Measure Late, Due
            $published = $counts | Publish-PrefectBacklogMetric @aws @service -PassThru
            @(Get-AwsCapturedRequest $proxy | Where-Object Action -eq 'PutMetricData') | Should -HaveCount 1
            $published | ForEach-Object { "$($_.MetricName)=$($_.Value)" } | Should -Be @(
                "LateFlowRuns=$(($counts | Where-Object Measure -eq Late | Measure-Object Count -Sum).Sum)",
                "DueFlowRuns=$(($counts | Where-Object Measure -eq Due | Measure-Object Count -Sum).Sum)",
                'EcsServiceDesiredTasks=2')
            ($published | Where-Object MetricName -eq LateFlowRuns).Value | Should -BeGreaterThan 0 -Because 'the seed has late runs in k8s'
            # Exactly the binding's series: no series per queue unless asked for.
            Get-Series | Should -Be @('Prefect/DueFlowRuns {ClusterName=prod,ServiceName=prefect-agent}', 'Prefect/EcsServiceDesiredTasks {ClusterName=prod,ServiceName=prefect-agent}',
                'Prefect/LateFlowRuns {ClusterName=prod,ServiceName=prefect-agent}')
            (Get-Datapoint LateFlowRuns $binding).Maximum | Should -Be ($published | Where-Object MetricName -eq LateFlowRuns).Value
            (Get-Datapoint LateFlowRuns $binding).SampleCount | Should -Be 1
        }

        It 'publishes totals (PrefectBacklogTotal) as they are, and series per queue only with -PerQueueSeries' {
            $now = [DateTime]::UtcNow
            $totals = foreach ($m in 'Late', 'Running') { [PrefectScaling.Backlog.PrefectBacklogTotal]@{ Scope = 'pool k8s'; Measure = $m; Count = 5; Timestamp = $now } }
            ($totals | Publish-PrefectBacklogMetric @aws @service -PassThru).MetricName | Should -Be @('LateFlowRuns', 'RunningFlowRuns', 'EcsServiceDesiredTasks')
            { $totals | Publish-PrefectBacklogMetric @aws @service -PerQueueSeries -ErrorAction Stop } | Should -Throw '*-PerQueueSeries publishes a series per work queue*'

            Reset-MotoServer $moto; New-EcsService
            Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -WorkPool ecs-pool | Publish-PrefectBacklogMetric @aws @service -PerQueueSeries
            Get-Series | Should -Be @('Prefect/EcsServiceDesiredTasks {ClusterName=prod,ServiceName=prefect-agent}', 'Prefect/LateFlowRuns {ClusterName=prod,ServiceName=prefect-agent}',
                'Prefect/LateFlowRuns {WorkPool=ecs-pool,WorkQueue=default}', 'Prefect/LateFlowRuns {WorkPool=ecs-pool,WorkQueue=reports}')
        }

        It 'publishes nothing for the service when one input is refused' {
            $inputs = [pscustomobject]@{ WorkQueue = 'good'; Count = 1 }, [pscustomobject]@{ WorkQueue = 'bad'; Count = -5 }
            { $inputs | Publish-PrefectBacklogMetric @aws @service -ErrorAction SilentlyContinue -ErrorVariable err; throw ($err | Select-Object -Last 1) } | Should -Throw '*Nothing was published for service/prod/prefect-agent: 1 input(s) were refused*'
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }

        It 'publishes nothing when the service does not exist' {
            { Publish-PrefectBacklogMetric @aws -Cluster prod -Service nope -Count 1 -ErrorAction Stop } | Should -Throw '*nope*not found*'
            @(Get-AwsCapturedRequest $proxy | Where-Object Action -eq 'PutMetricData') | Should -BeNullOrEmpty
        }
    }

    Describe 'Bad input is refused before anything is sent' {
        It 'rejects <Name> with a clear error and makes no AWS call' -ForEach @(
            @{ Name = 'a negative count'; Splat = @{ WorkQueue = 'q'; Count = -1 }; Match = 'negative' }
            @{ Name = 'NaN'; Splat = @{ WorkQueue = 'q'; Count = [double]::NaN }; Match = 'finite' }
            @{ Name = 'infinity'; Splat = @{ WorkQueue = 'q'; Count = [double]::PositiveInfinity }; Match = 'finite' }
            @{ Name = 'a queue name over 1024 characters (Dimension Value limit)'; Splat = @{ WorkQueue = ('x' * 1025); Count = 1 }; Match = '1024' }
            @{ Name = 'an AWS/ namespace'; Splat = @{ WorkQueue = 'q'; Count = 1; Namespace = 'AWS/ECS' }; Match = 'AWS/' }
            @{ Name = 'a timestamp from last month'; Splat = @{ WorkQueue = 'q'; Count = 1; Timestamp = [DateTime]::UtcNow.AddDays(-30) }; Match = '14 days' }
        ) {
            { Publish-PrefectBacklogMetric @aws @Splat -ErrorAction Stop } | Should -Throw "*$Match*"
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }

        It 'publishes the good inputs and reports the bad one' {
            $inputs = [pscustomobject]@{ WorkQueue = 'good'; Count = 1 }, [pscustomobject]@{ WorkQueue = 'bad'; Count = -5 }
            $published = $inputs | Publish-PrefectBacklogMetric @aws -PassThru -ErrorVariable err -ErrorAction SilentlyContinue
            $published.DimensionText | Should -Be 'WorkQueue=good'
            $err | Should -HaveCount 1
            $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
            $err[0].TargetObject | Should -Be 'bad'
        }

        It 'publishes nothing when the backlog cannot be read' {
            $counts = Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -WorkPool no-such-pool -ErrorAction SilentlyContinue
            $counts | Publish-PrefectBacklogMetric @aws
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }

        It 'refuses -MetricName for several measures' {
            { Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -WorkPool k8s -Measure Late, Due | Publish-PrefectBacklogMetric @aws -MetricName One -ErrorAction Stop } | Should -Throw '*several measures*'
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }
    }

    Describe 'AWS credentials, region and endpoint' {
        BeforeAll {
            $saved = @{}
            $names = 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION',
                     'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_CLOUDWATCH', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE'
            foreach ($n in $names) { $saved[$n] = [Environment]::GetEnvironmentVariable($n) }
            $profiles = Join-Path $TestDrive 'credentials'
            Set-Content $profiles "[ops]`naws_access_key_id = PROFILEKEY`naws_secret_access_key = CANARY-profile-secret`nregion = eu-west-1`n[default]`naws_access_key_id = DEFAULTKEY`naws_secret_access_key = x`n"
            function Get-Sources([scriptblock] $Call) {
                $DebugPreference = 'Continue'
                (& $Call 5>&1 | Where-Object { $_ -is [System.Management.Automation.DebugRecord] }).Message -join "`n"
            }
        }
        BeforeEach {
            foreach ($n in $names) { [Environment]::SetEnvironmentVariable($n, [NullString]::Value) }
            # No machine-wide AWS files either.
            $env:AWS_SHARED_CREDENTIALS_FILE = Join-Path $TestDrive 'none-credentials'
            $env:AWS_CONFIG_FILE = Join-Path $TestDrive 'none-config'
            Remove-Variable StoredAWSRegion -Scope Global -ErrorAction SilentlyContinue
        }
        AfterAll { foreach ($n in $names) { [Environment]::SetEnvironmentVariable($n, $(if ($null -eq $saved[$n]) { [NullString]::Value } else { $saved[$n] })) } }

        It 'uses explicit keys before the environment' {
            $env:AWS_ACCESS_KEY_ID = 'ENVKEY'; $env:AWS_SECRET_ACCESS_KEY = 'env'
            $sources = Get-Sources { Publish-PrefectBacklogMetric @aws -WorkQueue q -Count 1 }
            $sources | Should -Match 'credentials: .*-AccessKey'
            (Get-AwsCapturedRequest $proxy)[0].Headers.Where({ $_[0] -eq 'Authorization' })[0][1] | Should -Match 'Credential=testing/'
        }

        It 'uses the environment keys and region' {
            $env:AWS_ACCESS_KEY_ID = 'ENVKEY'; $env:AWS_SECRET_ACCESS_KEY = 'env'; $env:AWS_REGION = 'eu-central-1'
            $sources = Get-Sources { Publish-PrefectBacklogMetric -EndpointUrl $proxy.Url -WorkQueue q -Count 1 }
            $sources | Should -Match 'AWS_ACCESS_KEY_ID'
            $sources | Should -Match 'region: .*AWS_REGION'
            (Get-AwsCapturedRequest $proxy)[0].Headers.Where({ $_[0] -eq 'Authorization' })[0][1] | Should -Match 'Credential=ENVKEY/\d{8}/eu-central-1/monitoring/'
        }

        It 'reads a profile from -ProfileLocation, with its region, and never shows its secret' {
            $DebugPreference = 'Continue'; $VerbosePreference = 'Continue'
            $output = Publish-PrefectBacklogMetric -EndpointUrl $proxy.Url -ProfileName ops -ProfileLocation $profiles -WorkQueue q -Count 1 *>&1
            $DebugPreference = 'SilentlyContinue'; $VerbosePreference = 'SilentlyContinue'
            ($output | ForEach-Object { "$_" }) -join "`n" | Should -Match "profile 'ops'"
            ($output | ForEach-Object { "$_" }) -join "`n" | Should -Not -Match 'CANARY-profile-secret'
            (Get-AwsCapturedRequest $proxy)[0].Headers.Where({ $_[0] -eq 'Authorization' })[0][1] | Should -Match 'Credential=PROFILEKEY/\d{8}/eu-west-1/'
            (Get-Datapoint LateFlowRuns @{ WorkQueue = 'q' } -Region 'eu-west-1').Maximum | Should -Be 1
        }

        It 'takes the region from -Region before $StoredAWSRegion, and $StoredAWSRegion before AWS_REGION' {
            $env:AWS_REGION = 'eu-north-1'
            $global:StoredAWSRegion = 'ap-south-1'
            Publish-PrefectBacklogMetric -EndpointUrl $proxy.Url -AccessKey testing -SecretKey testing -WorkQueue q -Count 1
            Publish-PrefectBacklogMetric -EndpointUrl $proxy.Url -AccessKey testing -SecretKey testing -Region sa-east-1 -WorkQueue q -Count 1
            $scopes = (Get-AwsCapturedRequest $proxy) | ForEach-Object { $_.Headers.Where({ $_[0] -eq 'Authorization' })[0][1] -replace '.*Credential=[^/]+/\d{8}/([^/]+)/.*', '$1' }
            $scopes | Should -Be @('ap-south-1', 'sa-east-1')
        }

        It 'fails clearly, calling nothing, for a named profile that does not exist' {
            { Publish-PrefectBacklogMetric -EndpointUrl $proxy.Url -ProfileName nope -ProfileLocation $profiles -Region us-east-1 -WorkQueue q -Count 1 -ErrorAction Stop } | Should -Throw "*nope*"
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }

        It 'fails clearly when no region can be found' {
            { Publish-PrefectBacklogMetric -EndpointUrl $proxy.Url -AccessKey testing -SecretKey testing -WorkQueue q -Count 1 -ErrorAction Stop } | Should -Throw '*region*'
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }

        It 'honours AWS_ENDPOINT_URL_CLOUDWATCH over AWS_ENDPOINT_URL' {
            $env:AWS_ENDPOINT_URL = 'http://127.0.0.1:9'
            $env:AWS_ENDPOINT_URL_CLOUDWATCH = $proxy.Url
            Publish-PrefectBacklogMetric -AccessKey testing -SecretKey testing -Region us-east-1 -WorkQueue q -Count 2
            (Get-Datapoint LateFlowRuns @{ WorkQueue = 'q' }).Maximum | Should -Be 2
        }
    }

    Describe 'Dependency isolation' {
        It 'publishes in a session where another module loaded AWSSDK.Core 3.7 first' {
            $packages = ((& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
            $other = Join-Path $packages 'awssdk.core/3.7.402/lib/netstandard2.0/AWSSDK.Core.dll'
            $other | Should -Exist
            $script = @"
    `$null = Add-Type -Path '$other'
    Import-Module '$ModulePath'
    Publish-PrefectBacklogMetric -EndpointUrl '$($proxy.Url)' -Region us-east-1 -AccessKey testing -SecretKey testing -WorkQueue isolated -Count 7 -ErrorAction Stop
    [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'AWSSDK.Core' } | ForEach-Object { '{0} {1}' -f `$_.GetName().Version, [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_).GetType().Name }
"@
            $loaded = & dotnet pwsh -NoProfile -NonInteractive -Command $script
            $LASTEXITCODE | Should -Be 0
            $loaded | Should -Contain '3.3.0.0 DefaultAssemblyLoadContext'
            $loaded | Should -Contain '4.0.0.0 DependencyLoadContext'
            (Get-Datapoint LateFlowRuns @{ WorkQueue = 'isolated' }).Maximum | Should -Be 7
        }
    }
}
