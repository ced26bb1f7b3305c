# Install-PrefectBacklogPublisher -ProtectBusyTasks on moto: stored in the configuration, shown by Get, the ECS task
# statements on the managed role only while it is on, idempotent; Test names the in-flight runs it cannot protect.
Describe 'A publisher that protects busy tasks, on moto' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Common.ps1')
        $key = 'pnu_protect_key'
        $prefect = Start-PrefectEmulator -Mode Cloud -SeedPath $SeedPath -ApiKey $key -Configuration $Configuration
        $moto = Start-MotoServer
        $proxy = Start-AwsCaptureProxy -UpstreamUrl $moto.Url
        $aws = @{ EndpointUrl = $proxy.Url; Region = 'us-east-1'; AccessKey = 'testing'; SecretKey = 'testing' }
        $prefectSettings = @{ PrefectApiUrl = $prefect.ApiUrl; PrefectApiKey = (ConvertTo-SecureString $key -AsPlainText -Force); WarningAction = 'SilentlyContinue' }
        $name = 'prefect-backlog-publisher'

        function Invoke-Cli { Invoke-AwsCli -EndpointUrl $moto.Url @args }
        function Get-Mutation { @(Get-AwsCapturedRequest $proxy | Where-Object { $_.Action -notmatch '^(Describe|List|Get|Filter)' -and $_.Method -ne 'GET' }) }
        function Get-Statement {
            $policy = (Invoke-Cli iam get-role-policy --role-name "$name-role" --policy-name PrefectScalingPublisher).PolicyDocument
            if ($policy -is [string]) { $policy = [uri]::UnescapeDataString($policy) | ConvertFrom-Json }
            @($policy.Statement)
        }
        function Get-Variables { (Invoke-Cli lambda get-function --function-name $name).Configuration.Environment.Variables }
    }
    AfterAll {
        if ($proxy) { Stop-AwsCaptureProxy $proxy }
        if ($moto) { Stop-MotoServer $moto }
        if ($prefect) { Stop-PrefectEmulator $prefect }
    }
    BeforeEach {
        Reset-MotoServer $moto
        Invoke-Cli ecs create-cluster --cluster-name prod | Out-Null
        Invoke-Cli ecs register-task-definition --family worker --container-definitions '[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]' | Out-Null
        Invoke-Cli ecs create-service --cluster prod --service-name workers --task-definition worker --desired-count 2 | Out-Null
        Clear-AwsCapturedRequest $proxy
    }

    It 'stores it, grants the ECS task actions on the bound cluster only, keeps it when left out, and takes it all away when turned off' {
        $installed = Install-PrefectBacklogPublisher @aws @prefectSettings -Cluster prod -Service workers -WorkPool k8s -ProtectBusyTasks -PassThru
        $installed.Consistent | Should -BeTrue -Because ($installed.Problems -join ' ')
        $installed.ProtectBusyTasks | Should -BeTrue
        (Get-PrefectBacklogPublisher @aws).ProtectBusyTasks | Should -BeTrue
        (Get-Variables).PREFECTSCALING_PROTECT_BUSY_TASKS | Should -Be 'true'
        $statements = Get-Statement
        $list = $statements | Where-Object Sid -eq 'ListBoundClusterTasks'
        $list.Action | Should -Be @('ecs:ListTasks', 'ecs:DescribeTasks')
        $list.Condition.ArnEquals.'ecs:cluster' | Should -Be 'arn:aws:ecs:us-east-1:123456789012:cluster/prod'
        $protect = $statements | Where-Object Sid -eq 'ProtectBoundClusterTasks'
        $protect.Action | Should -Be @('ecs:UpdateTaskProtection', 'ecs:GetTaskProtection')
        $protect.Resource | Should -Be 'arn:aws:ecs:us-east-1:123456789012:task/prod/*'

        # Again without the switch: the installed choice stays, and nothing is written.
        Clear-AwsCapturedRequest $proxy
        $again = Install-PrefectBacklogPublisher @aws @prefectSettings -Cluster prod -Service workers -WorkPool k8s -PassThru
        $again.ProtectBusyTasks | Should -BeTrue
        Get-Mutation | Should -BeNullOrEmpty

        $off = Install-PrefectBacklogPublisher @aws @prefectSettings -Cluster prod -Service workers -WorkPool k8s -ProtectBusyTasks:$false -PassThru
        $off.ProtectBusyTasks | Should -BeFalse
        (Get-Variables).PSObject.Properties.Name | Should -Not -Contain 'PREFECTSCALING_PROTECT_BUSY_TASKS'
        (Get-Statement).Sid | Should -Not -Contain 'ListBoundClusterTasks'
        (Get-Statement).Sid | Should -Not -Contain 'ProtectBoundClusterTasks'
        (Get-Statement | ConvertTo-Json -Depth 10) | Should -Not -Match 'TaskProtection|ecs:ListTasks'
    }

    It 'Get-PrefectBacklogPublisher shows each binding''s unprotected runs from the function''s latest report in its log' {
        $null = Install-PrefectBacklogPublisher @aws @prefectSettings -Cluster prod -Service workers -WorkPool k8s -ProtectBusyTasks
        (Get-PrefectBacklogPublisher @aws).ProtectionReportedAt | Should -BeNullOrEmpty
        # Two reports as the function logs them (see ProtectionReportTests): the later one is shown.
        $group = "/aws/lambda/$name"
        Invoke-Cli logs create-log-stream --log-group-name $group --log-stream-name 'stream-1' | Out-Null
        $now = [DateTimeOffset]::UtcNow.ToUnixTimeMilliseconds()
        $older = '{"level":"info","event":"published","unprotectedRuns":1,"unprotected":[{"binding":"service/prod/workers","run":"old-run","why":"old"}]}'
        $latest = '{"level":"info","event":"published","protectedTasks":1,"releasedTasks":0,"unprotectedRuns":1,"unprotected":[{"binding":"service/prod/workers","run":"3c1d","why":"it is PENDING and has no infrastructure_pid yet"}]}'
        $events = ConvertTo-Json -Compress @(@{ timestamp = $now - 60000; message = $older }, @{ timestamp = $now; message = $latest })
        Invoke-Cli logs put-log-events --log-group-name $group --log-stream-name 'stream-1' --log-events $events | Out-Null
        $described = Get-PrefectBacklogPublisher @aws
        $described.ProtectBusyTasks | Should -BeTrue
        $described.ProtectionReportedAt | Should -Not -BeNullOrEmpty
        $described.Bindings[0].UnprotectedRuns | Should -Be @('run 3c1d: it is PENDING and has no infrastructure_pid yet')
    }

    It 'refuses it without bindings before anything changes' {
        { Install-PrefectBacklogPublisher @aws @prefectSettings -WorkPool k8s -ProtectBusyTasks -ErrorAction Stop } | Should -Throw '*-ProtectBusyTasks goes with bindings*'
        Get-Mutation | Should -BeNullOrEmpty
    }

    It 'Test-PrefectBacklogPublisher names each in-flight run it cannot tie to a task, and why' {
        $null = Install-PrefectBacklogPublisher @aws @prefectSettings -Cluster prod -Service workers -WorkPool k8s -ProtectBusyTasks
        $test = Invoke-WithCleanPrefectEnvironment { Test-PrefectBacklogPublisher @aws -WhatIf } -Set @{ PREFECT_API_KEY = $key }
        $test.Bindings | Should -HaveCount 1
        $binding = $test.Bindings[0]
        $binding.ProtectionProblem | Should -BeNullOrEmpty
        $binding.ProtectedTasks | Should -BeNullOrEmpty
        # The sample's in-flight runs of pool k8s: no worker label and no infrastructure_pid, on a service with no task.
        $binding.UnprotectedRuns.Count | Should -BeGreaterThan 0
        $binding.UnprotectedRuns | ForEach-Object { $_ | Should -Match ': it (is PENDING and )?has no infrastructure_pid' }
        # Nothing was protected or released by a -WhatIf run.
        @(Get-AwsCapturedRequest $proxy | Where-Object Action -eq 'UpdateTaskProtection') | Should -BeNullOrEmpty
    }
}
