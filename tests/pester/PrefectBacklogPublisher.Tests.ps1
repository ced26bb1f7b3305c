Describe 'The scheduled publisher on moto' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Common.ps1')
        $canary = 'pnu_CANARY_publisher_key_31337'
        $prefect = Start-PrefectEmulator -Mode Cloud -SeedPath $SeedPath -ApiKey $canary -Configuration $Configuration
        $moto = Start-MotoServer
        $proxy = Start-AwsCaptureProxy -UpstreamUrl $moto.Url
        $aws = @{ EndpointUrl = $proxy.Url; Region = 'us-east-1'; AccessKey = 'testing'; SecretKey = 'testing' }
        $key = ConvertTo-SecureString $canary -AsPlainText -Force
        $install = @{ PrefectApiUrl = $prefect.ApiUrl; PrefectApiKey = $key; WorkPool = 'k8s', 'ecs-pool'; Measure = 'Late', 'Due' }

        function Invoke-Cli { Invoke-AwsCli -EndpointUrl $moto.Url @args }

        # Every resource type Install creates, listed with the AWS CLI (not this module).
        function Get-PublisherResources([string] $Name = 'prefect-backlog-publisher') {
            [pscustomobject]@{
                Functions  = @((Invoke-Cli lambda list-functions).Functions | Where-Object FunctionName -eq $Name)
                Rules      = @((Invoke-Cli events list-rules).Rules | Where-Object Name -eq $Name)
                Roles      = @((Invoke-Cli iam list-roles).Roles | Where-Object RoleName -eq "$Name-role")
                Parameters = @((Invoke-Cli ssm describe-parameters).Parameters | Where-Object Name -eq "/prefectscaling/$Name/prefect-secret")
                LogGroups  = @((Invoke-Cli logs describe-log-groups).logGroups | Where-Object logGroupName -eq "/aws/lambda/$Name")
                Dashboards = @((Invoke-Cli cloudwatch list-dashboards).DashboardEntries | Where-Object DashboardName -eq $Name)
            }
        }
        function Get-Mutation { @(Get-AwsCapturedRequest $proxy | Where-Object { $_.Action -notmatch '^(Describe|List|Get)' -and $_.Method -ne 'GET' }) }
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

    It 'creates exactly the parameter, role, policy, log group, function, rule, target and permission' {
        $installed = Install-PrefectBacklogPublisher @aws @install -PassThru
        $installed.Consistent | Should -BeTrue
        $installed.Problems | Should -BeNullOrEmpty

        $function = (Invoke-Cli lambda get-function --function-name prefect-backlog-publisher).Configuration
        $function.Runtime | Should -Be 'dotnet10'
        $function.Handler | Should -Be 'PrefectScaling.Publisher::PrefectScaling.Publisher.Function::Handle'
        $function.Role | Should -Be 'arn:aws:iam::123456789012:role/prefect-backlog-publisher-role'
        $variables = $function.Environment.Variables
        $variables.PREFECT_API_URL | Should -Be $prefect.ApiUrl
        $variables.PREFECTSCALING_SECRET_KIND | Should -Be 'ApiKey'
        $variables.PREFECTSCALING_SECRET_PARAMETER | Should -Be '/prefectscaling/prefect-backlog-publisher/prefect-secret'
        $variables.PREFECTSCALING_MEASURES | Should -Be 'Late,Due'
        ($variables.PREFECTSCALING_SCOPES | ConvertFrom-Json).pool | Should -Be @('k8s', 'ecs-pool')
        ($function | ConvertTo-Json -Depth 10) | Should -Not -Match $canary

        (Invoke-Cli ssm get-parameter --name /prefectscaling/prefect-backlog-publisher/prefect-secret --with-decryption).Parameter.Value | Should -Be $canary
        (Invoke-Cli ssm get-parameter --name /prefectscaling/prefect-backlog-publisher/prefect-secret).Parameter.Type | Should -Be 'SecureString'

        $rule = Invoke-Cli events describe-rule --name prefect-backlog-publisher
        $rule.ScheduleExpression | Should -Be 'rate(1 minute)'
        $rule.State | Should -Be 'ENABLED'
        (Invoke-Cli events list-targets-by-rule --rule prefect-backlog-publisher).Targets.Arn | Should -Be $function.FunctionArn
        $statement = ((Invoke-Cli lambda get-policy --function-name prefect-backlog-publisher).Policy | ConvertFrom-Json).Statement
        $statement.Principal.Service | Should -Be 'events.amazonaws.com'
        $statement.Condition.ArnLike.'AWS:SourceArn' | Should -Be $rule.Arn

        $trust = (Invoke-Cli iam get-role --role-name prefect-backlog-publisher-role).Role.AssumeRolePolicyDocument
        ($trust | ConvertTo-Json -Depth 10) | Should -Match 'lambda.amazonaws.com'
        $policy = (Invoke-Cli iam get-role-policy --role-name prefect-backlog-publisher-role --policy-name PrefectScalingPublisher).PolicyDocument
        $put = $policy.Statement | Where-Object Sid -eq 'PublishBacklogMetrics'
        $put.Action | Should -Be 'cloudwatch:PutMetricData'
        $put.Condition.StringEquals.'cloudwatch:namespace' | Should -Be 'Prefect'
        ($policy.Statement | Where-Object Sid -eq 'ReadPrefectSecret').Resource | Should -Be 'arn:aws:ssm:us-east-1:123456789012:parameter/prefectscaling/prefect-backlog-publisher/prefect-secret'
        $policy.Statement.Sid | Should -Not -Contain 'VpcNetworkInterfaces'
        (Get-PublisherResources).LogGroups | Should -HaveCount 1
        (Get-PublisherResources).Dashboards | Should -HaveCount 1
        $widgets = ((Invoke-Cli cloudwatch get-dashboard --dashboard-name prefect-backlog-publisher).DashboardBody | ConvertFrom-Json).widgets
        $widgets[0].properties.markdown | Should -Match '(?m)^Managed by PrefectScaling: publisher prefect-backlog-publisher$'
        $rows = foreach ($widget in $widgets | Where-Object type -eq metric) { foreach ($row in $widget.properties.metrics) { $row[0..3] -join ' ' } }
        $rows | Should -Contain 'AWS/Lambda Errors FunctionName prefect-backlog-publisher'
    }

    It 'changes nothing when installed again, and updates a changed schedule in place' {
        Install-PrefectBacklogPublisher @aws @install
        Clear-AwsCapturedRequest $proxy
        $verbose = Install-PrefectBacklogPublisher @aws @install -Verbose 4>&1
        Get-Mutation | Should -BeNullOrEmpty
        ($verbose | Out-String) | Should -Match 'already installed as requested'

        Install-PrefectBacklogPublisher @aws @install -Schedule 'rate(5 minutes)'
        (Get-Mutation).Action | Should -Be @('PutRule')
        (Invoke-Cli events describe-rule --name prefect-backlog-publisher).ScheduleExpression | Should -Be 'rate(5 minutes)'

        Clear-AwsCapturedRequest $proxy
        Install-PrefectBacklogPublisher @aws @install -Schedule 'rate(5 minutes)' -WorkQueue default
        (Get-Mutation).Path | Should -Match 'configuration'
        $variables = (Invoke-Cli lambda get-function --function-name prefect-backlog-publisher).Configuration.Environment.Variables
        ($variables.PREFECTSCALING_SCOPES | ConvertFrom-Json).queue | Select-Object -Unique | Should -Be 'default'
    }

    It 'signs every call of every protocol as botocore computes it (query, json, rest-json, SSM, STS)' {
        Install-PrefectBacklogPublisher @aws @install
        Uninstall-PrefectBacklogPublisher @aws -Force | Out-Null
        $check = Test-AwsSignature $proxy -AccessKey testing -SecretKey testing
        $check.matched | Should -Be $check.checked
        # sqs: Install and Uninstall look for a sample queue even when sampling once a minute (one may be left over);
        # monitoring: the publisher's dashboard.
        $check.results.service | Sort-Object -Unique | Should -Be @('events', 'iam', 'lambda', 'logs', 'monitoring', 'sqs', 'ssm', 'sts')
        # Lambda paths with names are escaped as the SDK escapes them and still verify.
        ($check.results | Where-Object { $_.service -eq 'lambda' -and $_.path -like '*functions/prefect-backlog-publisher*' }) | Should -Not -BeNullOrEmpty
    }

    It 'gives a sub-minute publisher one sample queue and one mapping, converges, signs SQS as botocore does, and removes them' {
        $chained = @{ SampleIntervalSeconds = 10; StorageResolution = 1 }
        function Get-SampleQueue { @((Invoke-Cli sqs list-queues).QueueUrls | Where-Object { $_ -like '*/prefect-backlog-publisher-samples' }) }
        function Get-SampleMapping { @((Invoke-Cli lambda list-event-source-mappings --function-name prefect-backlog-publisher).EventSourceMappings) }

        Install-PrefectBacklogPublisher @aws @install @chained
        Get-SampleQueue | Should -HaveCount 1
        $mapping = Get-SampleMapping
        $mapping | Should -HaveCount 1
        $mapping[0].BatchSize | Should -Be 1
        $mapping[0].EventSourceArn | Should -Be 'arn:aws:sqs:us-east-1:123456789012:prefect-backlog-publisher-samples'
        $function = (Invoke-Cli lambda get-function --function-name prefect-backlog-publisher).Configuration
        $function.Timeout | Should -Be 90
        $function.Environment.Variables.PREFECTSCALING_SAMPLE_QUEUE | Should -Be 'prefect-backlog-publisher-samples'
        (Get-PrefectBacklogPublisher @aws).Problems | Should -BeNullOrEmpty

        Clear-AwsCapturedRequest $proxy
        Install-PrefectBacklogPublisher @aws @install @chained
        Get-Mutation | Should -BeNullOrEmpty
        Get-SampleMapping | Should -HaveCount 1

        $removed = Uninstall-PrefectBacklogPublisher @aws -Force
        $removed.Action | Should -Contain 'Delete SQS queue'
        Get-SampleQueue | Should -BeNullOrEmpty
        Get-SampleMapping | Should -BeNullOrEmpty
        $check = Test-AwsSignature $proxy -AccessKey testing -SecretKey testing
        $check.matched | Should -Be $check.checked
        $check.results.service | Should -Contain 'sqs'
    }

    It 'reports what is installed and what is broken' {
        Install-PrefectBacklogPublisher @aws @install
        $publisher = Get-PrefectBacklogPublisher @aws
        $publisher.PSObject.TypeNames[0] | Should -Be 'PrefectScaling.Publisher.PrefectBacklogPublisher'
        $publisher.Consistent | Should -BeTrue
        $publisher.Schedule | Should -Be 'rate(1 minute)'
        $publisher.Runtime | Should -Be 'dotnet10'
        $publisher.Scopes | Should -Match 'k8s'

        Invoke-Cli events remove-targets --rule prefect-backlog-publisher --ids prefectscaling-publisher | Out-Null
        $broken = Get-PrefectBacklogPublisher @aws
        $broken.Consistent | Should -BeFalse
        $broken.Problems | Should -Match 'no target'
        (Get-PrefectBacklogPublisher @aws -Name nothing-here).Installed | Should -BeFalse
    }

    It 'resolves the AWS settings once for a whole pipeline of publishers' {
        $output = 'one', 'two', 'three' | ForEach-Object { [pscustomobject]@{ Name = $_ } } | Get-PrefectBacklogPublisher @aws -Debug 5>&1
        ($output | Where-Object { $_ -isnot [System.Management.Automation.DebugRecord] }).Installed | Should -Be @($false, $false, $false)
        @($output | Where-Object { $_ -is [System.Management.Automation.DebugRecord] -and $_.Message -eq 'AWS region: parameter -Region' }) | Should -HaveCount 1
    }

    It 'runs one cycle with the installed configuration from this machine' {
        Install-PrefectBacklogPublisher @aws @install
        $test = Test-PrefectBacklogPublisher @aws
        $test.Healthy | Should -BeTrue
        $test.Queues | Should -Be 4
        $test.Published | Should -Be 8
        $stats = Invoke-Cli cloudwatch get-metric-statistics --namespace Prefect --metric-name LateFlowRuns --dimensions '[{"Name":"WorkPool","Value":"k8s"},{"Name":"WorkQueue","Value":"default"}]' `
            --start-time ([DateTime]::UtcNow.AddHours(-1).ToString('o')) --end-time ([DateTime]::UtcNow.AddMinutes(5).ToString('o')) --period 60 --statistics Maximum
        $stats.Datapoints[0].Maximum | Should -Be 2
    }

    It 'says what is broken when Prefect rejects the stored secret, and publishes nothing' {
        # Install refuses a key the server rejects, so the key is revoked after installing.
        Install-PrefectBacklogPublisher @aws @install
        Invoke-Cli ssm put-parameter --name /prefectscaling/prefect-backlog-publisher/prefect-secret --type SecureString --value pnu_wrong --overwrite | Out-Null
        $test = Test-PrefectBacklogPublisher @aws -ErrorAction SilentlyContinue
        $test.Healthy | Should -BeFalse
        $test.Problems | Should -Match 'refused the credentials'
        (Invoke-Cli cloudwatch list-metrics --namespace Prefect).Metrics | Should -BeNullOrEmpty
    }

    It 'uninstalls everything it created, lists it, and leaves nothing' {
        Install-PrefectBacklogPublisher @aws @install
        $removed = Uninstall-PrefectBacklogPublisher @aws -Force
        $removed[0].PSObject.TypeNames[0] | Should -Be 'PrefectScaling.Commands.RemovedResource'
        $removed.Action | Should -Contain 'Delete Lambda function'
        $removed.Action | Should -Contain 'Delete IAM role'
        $removed.Action | Should -Contain 'Delete SSM parameter'
        $removed.Action | Should -Contain 'Delete CloudWatch dashboard'
        $left = Get-PublisherResources
        $left.Functions | Should -BeNullOrEmpty
        $left.Rules | Should -BeNullOrEmpty
        $left.Roles | Should -BeNullOrEmpty
        $left.Parameters | Should -BeNullOrEmpty
        $left.LogGroups | Should -BeNullOrEmpty
        $left.Dashboards | Should -BeNullOrEmpty
        Uninstall-PrefectBacklogPublisher @aws -Force | Should -BeNullOrEmpty
    }

    It 'leaves a role it did not create alone' {
        $role = Invoke-Cli iam create-role --role-name my-own-role --assume-role-policy-document '{"Version":"2012-10-17","Statement":[]}'
        Install-PrefectBacklogPublisher @aws @install -RoleArn $role.Role.Arn
        (Invoke-Cli lambda get-function --function-name prefect-backlog-publisher).Configuration.Role | Should -Be $role.Role.Arn
        (Get-PublisherResources).Roles | Should -BeNullOrEmpty
        Uninstall-PrefectBacklogPublisher @aws -Force | Out-Null
        (Invoke-Cli iam get-role --role-name my-own-role).Role.RoleName | Should -Be 'my-own-role'
    }

    It 'refuses <Name> before any AWS call' -ForEach @(
        @{ Name = 'rate(1 minutes)'; Splat = @{ Schedule = 'rate(1 minutes)' }; Match = 'singular' }
        @{ Name = 'a 30-second rate'; Splat = @{ Schedule = 'rate(30 seconds)' }; Match = 'one minute' }
        @{ Name = 'a cron with five fields'; Splat = @{ Schedule = 'cron(0 * * * ?)' }; Match = 'six cron fields' }
        @{ Name = 'sub-minute sampling on standard metrics'; Splat = @{ SampleIntervalSeconds = 30 }; Match = 'high-resolution' }
        @{ Name = 'a subnet without a security group'; Splat = @{ SubnetId = 'subnet-1' }; Match = 'go together' }
        @{ Name = 'a bad name'; Splat = @{ Name = 'no spaces please' }; Match = 'letters, digits' }
    ) {
        { Install-PrefectBacklogPublisher @aws @install @Splat -ErrorAction Stop } | Should -Throw "*$Match*"
        Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
    }

    It 'lists the steps with -WhatIf and changes nothing' {
        # The key reaches the child through PREFECT_API_KEY, never its arguments.
        $script = "Import-Module '$ModulePath'; " +
                  "Install-PrefectBacklogPublisher -EndpointUrl '$($proxy.Url)' -Region us-east-1 -AccessKey testing -SecretKey testing -PrefectApiUrl '$($prefect.ApiUrl)' -WhatIf"
        $env:PREFECT_API_KEY = $canary
        try { $output = & dotnet pwsh -NoProfile -NonInteractive -Command $script }
        finally { Remove-Item Env:\PREFECT_API_KEY }
        $text = $output | Out-String
        foreach ($step in 'SSM SecureString parameter', 'Create IAM role', 'inline policy', 'log group', 'Create Lambda function', 'EventBridge rule', 'Point the rule', 'invoke the function', 'Create CloudWatch dashboard') {
            $text | Should -Match ([regex]::Escape($step))
        }
        Get-Mutation | Should -BeNullOrEmpty
        (Get-PublisherResources).Functions | Should -BeNullOrEmpty
    }
}
