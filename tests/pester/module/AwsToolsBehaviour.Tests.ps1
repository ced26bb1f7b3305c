# The module in a script, next to AWS Tools for PowerShell: the credentials the user chose, -Debug that does not
# stop a script, and checks that fail a CI step. Scripts run in child sessions (-NonInteractive, as in CI).
Describe 'Behaving like AWS Tools in a script' {
    BeforeAll {
        . (Join-Path $PSScriptRoot '../Common.ps1')
        $prefect = Start-PrefectEmulator -Mode V3 -SeedPath $SeedPath -Configuration $Configuration
        $moto = Start-MotoServer
        $proxy = Start-AwsCaptureProxy -UpstreamUrl $moto.Url
        $aws = @{ EndpointUrl = $proxy.Url; Region = 'us-east-1'; AccessKey = 'testing'; SecretKey = 'testing' }
        $lookalike = Join-Path $PSScriptRoot 'AwsToolsLookalike.ps1'
        $sdk = Join-Path (Split-Path $ModulePath) 'dependencies/AWSSDK.Core.dll'

        # Account B: temporary keys of a role in another account (moto keeps one state per account).
        function New-AccountB {
            $c = (Invoke-AwsCli -EndpointUrl $moto.Url sts assume-role --role-arn arn:aws:iam::222222222222:role/operator --role-session-name operator).Credentials
            [pscustomobject]@{ AccessKey = $c.AccessKeyId; SecretKey = $c.SecretAccessKey; SessionToken = $c.SessionToken }
        }

        # The metric names one account holds, read with the AWS CLI.
        function Get-MetricName($Keys) {
            $saved = $env:AWS_ACCESS_KEY_ID, $env:AWS_SECRET_ACCESS_KEY, $env:AWS_SESSION_TOKEN
            $env:AWS_ACCESS_KEY_ID, $env:AWS_SECRET_ACCESS_KEY = $Keys.AccessKey, $Keys.SecretKey
            $env:AWS_SESSION_TOKEN = if ($Keys.SessionToken) { $Keys.SessionToken } else { [NullString]::Value }
            try { @((& aws cloudwatch list-metrics --namespace Prefect --endpoint-url $moto.Url --region us-east-1 --output json | ConvertFrom-Json).Metrics.MetricName) }
            finally { $env:AWS_ACCESS_KEY_ID, $env:AWS_SECRET_ACCESS_KEY, $env:AWS_SESSION_TOKEN = $saved }
        }

        # Runs a script in a child session that has "AWS Tools" loaded and account A's keys in the environment;
        # account B's keys (when given) reach it through the environment too, never its arguments.
        function Invoke-Child([string] $Script, $AccountB) {
            $prelude = "`$PSStyle.OutputRendering = 'PlainText'; . '$lookalike' -SdkPath '$sdk'; Import-Module '$ModulePath'; "
            $set = @{
                AWS_ACCESS_KEY_ID = 'testing'; AWS_SECRET_ACCESS_KEY = 'testing'; AWS_SESSION_TOKEN = $null; AWS_PROFILE = $null; AWS_REGION = $null
                AWS_SHARED_CREDENTIALS_FILE = (Join-Path ([IO.Path]::GetTempPath()) "no-aws-credentials-$PID"); AWS_CONFIG_FILE = (Join-Path ([IO.Path]::GetTempPath()) "no-aws-config-$PID")
                AWS_EC2_METADATA_DISABLED = 'true'
                TEST_B_ACCESS_KEY = $AccountB.AccessKey; TEST_B_SECRET_KEY = $AccountB.SecretKey; TEST_B_SESSION_TOKEN = $AccountB.SessionToken
            }
            $saved = @{}
            foreach ($k in $set.Keys) {
                $saved[$k] = [Environment]::GetEnvironmentVariable($k)
                [Environment]::SetEnvironmentVariable($k, $(if ($null -eq $set[$k]) { [NullString]::Value } else { $set[$k] }))
            }
            try {
                $output = & dotnet pwsh -NoProfile -NonInteractive -Command ($prelude + $Script) 2>&1
                [pscustomobject]@{ Text = ($output | Out-String); ExitCode = $LASTEXITCODE }
            }
            finally { foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $(if ($null -eq $saved[$k]) { [NullString]::Value } else { $saved[$k] })) } }
        }

        function Get-SigningKey {
            @(Get-AwsCapturedRequest $proxy | ForEach-Object {
                $authorization = ($_.Headers | Where-Object { $_[0] -eq 'Authorization' } | Select-Object -First 1)[1]
                if ($authorization -match 'Credential=([^/]+)/') { $Matches[1] }
            })
        }

        $publish = "Get-PrefectLateRunCount -PrefectApiUrl '$($prefect.ApiUrl)' -WorkPool k8s | Publish-PrefectBacklogMetric -EndpointUrl '$($proxy.Url)' -Region us-east-1"
        $accountA = [pscustomobject]@{ AccessKey = 'testing'; SecretKey = 'testing' }
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

    Context 'Credentials the user chose' {
        It 'signs with $StoredAWSCredentials (Set-AWSCredential), not the environment, and says so without the secret' {
            $b = New-AccountB
            $run = Invoke-Child "`$DebugPreference = 'Continue'; Set-LookalikeAWSCredential (New-AccountBCredential) 'account-b'; $publish" $b
            $run.Text | Should -Match ([regex]::Escape("AWS credentials: `$StoredAWSCredentials from Set-AWSCredential ('account-b', source Profile, SessionAWSCredentials)"))
            $run.Text | Should -Not -Match ([regex]::Escape($b.SecretKey))
            $run.Text | Should -Not -Match ([regex]::Escape($b.SessionToken))
            $keys = Get-SigningKey
            $keys | Should -Not -BeNullOrEmpty
            $keys | Select-Object -Unique | Should -Be $b.AccessKey
            $check = Test-AwsSignature $proxy -AccessKey $b.AccessKey -SecretKey $b.SecretKey
            $check.matched | Should -Be $check.checked
            Get-MetricName $b | Should -Contain 'LateFlowRuns'
            Get-MetricName $accountA | Should -BeNullOrEmpty
        }

        It 'signs with -Credential (an AWSCredentials of AWS Tools'' own SDK) over $StoredAWSCredentials' {
            $b = New-AccountB
            $script = "`$DebugPreference = 'Continue'; Set-LookalikeAWSCredential ([Amazon.Runtime.BasicAWSCredentials]::new('testing', 'testing')) 'account-a'; " +
                      "$publish -Credential (New-AccountBCredential)"
            $run = Invoke-Child $script $b
            $run.Text | Should -Match ([regex]::Escape('AWS credentials: parameter -Credential (SessionAWSCredentials)'))
            Get-SigningKey | Select-Object -Unique | Should -Be $b.AccessKey
            Get-MetricName $b | Should -Contain 'LateFlowRuns'
            Get-MetricName $accountA | Should -BeNullOrEmpty
        }

        It 'refuses a $StoredAWSCredentials it cannot read before any AWS call, rather than fall back to the environment' {
            $run = Invoke-Child "`$StoredAWSCredentials = 'account-b'; try { $publish -ErrorAction Stop } catch { 'ID=' + `$_.FullyQualifiedErrorId; `$_.Exception.Message }" $null
            $run.Text | Should -Match 'ID=AwsInvalidSettings'
            $run.Text | Should -Match ([regex]::Escape('$StoredAWSCredentials holds a System.String'))
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
            Get-MetricName $accountA | Should -BeNullOrEmpty
        }

        It 'refuses a -Credential that is not AWS credentials at binding' {
            $run = Invoke-Child "try { $publish -Credential 'AKIAEXAMPLE' -ErrorAction Stop } catch { 'ID=' + `$_.FullyQualifiedErrorId; `$_.Exception.Message }" $null
            $run.Text | Should -Match 'ID=ParameterArgumentValidationError,PrefectScaling.Commands.PublishPrefectBacklogMetricCommand'
            $run.Text | Should -Match 'takes an Amazon.Runtime.AWSCredentials object'
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }

        It 'refuses -Credential together with -AccessKey' {
            $run = Invoke-Child "try { $publish -Credential (New-AccountBCredential) -AccessKey testing -SecretKey testing -ErrorAction Stop } catch { 'ID=' + `$_.FullyQualifiedErrorId }" (New-AccountB)
            $run.Text | Should -Match 'ID=AwsInvalidSettings'
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
        }
    }

    Context 'Test-PrefectBacklogPublisher in a check step' {
        BeforeEach {
            Install-PrefectBacklogPublisher @aws -PrefectApiUrl $prefect.ApiUrl -WorkPool k8s -WarningAction SilentlyContinue
            Clear-AwsCapturedRequest $proxy
        }

        It 'writes PrefectBacklogPublisherUnhealthy after its report when unhealthy, so -ErrorAction Stop fails' {
            Invoke-AwsCli -EndpointUrl $moto.Url events remove-targets --rule prefect-backlog-publisher --ids prefectscaling-publisher | Out-Null
            $report = Test-PrefectBacklogPublisher @aws -ErrorVariable unhealthy -ErrorAction SilentlyContinue
            $report.Healthy | Should -BeFalse
            $report.Problems | Should -Match 'no target'
            $unhealthy | Should -HaveCount 1
            $unhealthy[0].FullyQualifiedErrorId | Should -Be 'PrefectBacklogPublisherUnhealthy,PrefectScaling.Commands.TestPrefectBacklogPublisherCommand'
            $unhealthy[0].CategoryInfo.Category | Should -Be 'InvalidResult'
            $unhealthy[0].TargetObject.Problems | Should -Match 'no target'
            $unhealthy[0].Exception.Message | Should -Match 'prefect-backlog-publisher in us-east-1 is not healthy: .*no target'

            { Test-PrefectBacklogPublisher @aws -ErrorAction Stop } | Should -Throw -ErrorId 'PrefectBacklogPublisherUnhealthy,*'
        }

        It 'writes no error when healthy' {
            { $script:healthy = Test-PrefectBacklogPublisher @aws -ErrorAction Stop } | Should -Not -Throw
            $healthy.Healthy | Should -BeTrue
            $healthy.Published | Should -BeGreaterThan 0
        }

        It 'reads with -WhatIf and publishes nothing' {
            $report = Test-PrefectBacklogPublisher @aws -WhatIf
            $report.Healthy | Should -BeTrue
            $report.Queues | Should -Be 2
            $report.DataPoints | Should -BeGreaterThan 0
            $report.Published | Should -Be 0
            $report.PrefectRequests | Should -BeGreaterThan 0
            (Get-AwsCapturedRequest $proxy).Action | Should -Not -Contain 'PutMetricData'
            Get-MetricName $accountA | Should -BeNullOrEmpty
        }
    }

    Context 'Install-PrefectBacklogPublisher checks the scope and the URL first' {
        It 'refuses a <What> that does not exist before any AWS call' -ForEach @(
            @{ What = 'work pool'; Scope = @{ WorkPool = 'k8s', 'no-such-pool' }; Target = "work pool 'no-such-pool'" }
            @{ What = 'work queue'; Scope = @{ WorkPool = 'k8s'; WorkQueue = 'no-such-queue' }; Target = "work queue 'no-such-queue' in work pool 'k8s'" }
        ) {
            Install-PrefectBacklogPublisher @aws -PrefectApiUrl $prefect.ApiUrl @Scope -ErrorVariable refused -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
            $refused | Should -HaveCount 1
            $refused[0].FullyQualifiedErrorId | Should -BeLike 'PrefectNotFound,*'
            $refused[0].TargetObject | Should -Be $Target
            Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
            { Install-PrefectBacklogPublisher @aws -PrefectApiUrl $prefect.ApiUrl @Scope -ErrorAction Stop -WarningAction SilentlyContinue } | Should -Throw -ErrorId 'PrefectNotFound,*'
        }

        It 'refuses a Prefect key the server rejects before any AWS call' {
            $cloud = Start-PrefectEmulator -Mode Cloud -SeedPath $SeedPath -ApiKey 'pnu_right_key_for_the_test' -Configuration $Configuration
            try {
                $wrong = ConvertTo-SecureString 'pnu_wrong_key_for_the_test' -AsPlainText -Force
                Install-PrefectBacklogPublisher @aws -PrefectApiUrl $cloud.ApiUrl -PrefectApiKey $wrong -WorkPool k8s -ErrorVariable refused -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
                $refused | Should -HaveCount 1
                $refused[0].FullyQualifiedErrorId | Should -BeLike 'PrefectUnauthorized,*'
                ($refused | Out-String) | Should -Not -Match 'pnu_wrong_key_for_the_test'
                Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
            }
            finally { Stop-PrefectEmulator $cloud }
        }

        It 'warns that Lambda cannot reach <Url>, even with -SubnetId' -ForEach @(
            @{ Url = 'a loopback address'; HostName = '127.0.0.1'; Match = 'a loopback address \(127\.0\.0\.0/8\)' }
            @{ Url = 'localhost'; HostName = 'localhost'; Match = 'localhost \(the function''s own loopback\)' }
        ) {
            $url = $prefect.ApiUrl -replace '127\.0\.0\.1', $HostName
            Install-PrefectBacklogPublisher @aws -PrefectApiUrl $url -WorkPool k8s -WhatIf -WarningVariable warned
            ($warned -join "`n") | Should -Match "is $Match, which the function, running in AWS Lambda, cannot reach"
            Install-PrefectBacklogPublisher @aws -PrefectApiUrl $url -WorkPool k8s -SubnetId subnet-1 -SecurityGroupId sg-1 -WhatIf -WarningVariable warned
            ($warned -join "`n") | Should -Match 'cannot reach even from its subnets'
        }
    }

    Context '-Debug in a script without a console' {
        It 'prints the debug lines and goes on, in every cmdlet of the module' {
            $aws1 = "-EndpointUrl '$($proxy.Url)' -Region us-east-1 -AccessKey testing -SecretKey testing"
            $api = "-PrefectApiUrl '$($prefect.ApiUrl)'"
            Invoke-AwsCli -EndpointUrl $moto.Url ecs create-cluster --cluster-name prod | Out-Null
            Invoke-AwsCli -EndpointUrl $moto.Url ecs register-task-definition --family agent --container-definitions '[{"name":"agent","image":"prefecthq/prefect:3-latest","memory":512}]' | Out-Null
            Invoke-AwsCli -EndpointUrl $moto.Url ecs create-service --cluster prod --service-name prefect-agent --task-definition agent --desired-count 1 | Out-Null
            $calls = [ordered]@{
                'Get-PrefectWorkQueue'              = "Get-PrefectWorkQueue $api -Debug"
                'Get-PrefectLateRunCount'           = "Get-PrefectLateRunCount $api -WorkPool k8s -Debug"
                'Publish-PrefectBacklogMetric'      = "Get-PrefectLateRunCount $api -WorkPool k8s | Publish-PrefectBacklogMetric $aws1 -Debug"
                'Set-PrefectEcsScalingPolicy'       = "Set-PrefectEcsScalingPolicy $aws1 -Cluster prod -Service prefect-agent -WorkPool ecs-pool -WorkQueue reports -MinCapacity 0 -MaxCapacity 3 -StepScaling -Debug"
                'Get-PrefectEcsScalingPolicy'       = "Get-PrefectEcsScalingPolicy $aws1 -Cluster prod -Service prefect-agent -Debug"
                'Remove-PrefectEcsScalingPolicy'    = "Remove-PrefectEcsScalingPolicy $aws1 -Cluster prod -Service prefect-agent -Force -Debug"
                'Install-PrefectBacklogPublisher'   = "Install-PrefectBacklogPublisher $aws1 $api -WorkPool k8s -Debug"
                'Get-PrefectBacklogPublisher'       = "Get-PrefectBacklogPublisher $aws1 -Debug"
                'Test-PrefectBacklogPublisher'      = "Test-PrefectBacklogPublisher $aws1 -Debug"
                'Uninstall-PrefectBacklogPublisher' = "Uninstall-PrefectBacklogPublisher $aws1 -Force -Debug"
            }
            $lines = foreach ($name in $calls.Keys) {
                "`$r = try { & { $($calls[$name]) } *>&1 } catch { `$_ }; " +
                "[pscustomobject]@{ Name = '$name'; Debug = @(`$r | Where-Object { `$_ -is [System.Management.Automation.DebugRecord] }).Count; " +
                "Verbose = @(`$r | Where-Object { `$_ -is [System.Management.Automation.VerboseRecord] }).Count; " +
                "Warning = @(`$r | Where-Object { `$_ -is [System.Management.Automation.WarningRecord] }).Count; " +
                "Errors = (@(`$r | Where-Object { `$_ -is [System.Management.Automation.ErrorRecord] } | ForEach-Object { `$_.FullyQualifiedErrorId + ': ' + `$_.Exception.Message }) -join ' | ') }"
            }
            $script = '$results = @(' + ($lines -join '; ') + '); "RESULTS=" + ($results | ConvertTo-Json -Compress)'
            $run = Invoke-Child $script $null
            $json = ($run.Text -split "`n" | Where-Object { $_ -like 'RESULTS=*' }) -replace '^RESULTS=', ''
            $json | Should -Not -BeNullOrEmpty -Because $run.Text
            $results = $json | ConvertFrom-Json
            $results.Name | Should -Be @($calls.Keys)
            foreach ($result in $results) {
                $result.Errors | Should -BeNullOrEmpty -Because $result.Name
                $result.Debug | Should -BeGreaterThan 0 -Because "$($result.Name) writes debug lines"
                # As -Debug on a function: verbose lines only with -Verbose or $VerbosePreference.
                $result.Verbose | Should -Be 0 -Because $result.Name
            }
            # Warnings still show: the loopback URL, and no data yet for the policy's metric.
            ($results | Where-Object Name -eq 'Install-PrefectBacklogPublisher').Warning | Should -BeGreaterThan 0
            ($results | Where-Object Name -eq 'Set-PrefectEcsScalingPolicy').Warning | Should -BeGreaterThan 0
            $run.ExitCode | Should -Be 0
        }

        It 'keeps -Verbose, $VerbosePreference, -WarningAction and $DebugPreference = ''Continue'' working' {
            $api = "-PrefectApiUrl '$($prefect.ApiUrl)'"
            $script = "function Count(`$r, [type] `$type) { @(`$r | Where-Object { `$_ -is `$type }).Count }; " +
                      "`$dr = [System.Management.Automation.DebugRecord]; `$vr = [System.Management.Automation.VerboseRecord]; `$wr = [System.Management.Automation.WarningRecord]; " +
                      "`$a = Get-PrefectWorkQueue $api -Debug -Verbose *>&1; " +
                      "`$VerbosePreference = 'Continue'; `$b = Get-PrefectWorkQueue $api -Debug *>&1; `$VerbosePreference = 'SilentlyContinue'; " +
                      "`$DebugPreference = 'Continue'; `$c = Get-PrefectWorkQueue $api *>&1; `$DebugPreference = 'SilentlyContinue'; " +
                      "`$d = Install-PrefectBacklogPublisher -EndpointUrl '$($proxy.Url)' -Region us-east-1 -AccessKey testing -SecretKey testing $api -WorkPool k8s -WhatIf -Debug -WarningAction SilentlyContinue *>&1; " +
                      "'A={0},{1} B={2},{3} C={4},{5} D={6},{7}' -f (Count `$a `$dr), (Count `$a `$vr), (Count `$b `$dr), (Count `$b `$vr), " +
                      "(Count `$c `$dr), (Count `$c `$vr), (Count `$d `$dr), (Count `$d `$wr)"
            $run = Invoke-Child $script $null
            $run.Text | Should -Match 'A=[1-9]\d*,[1-9]\d* B=[1-9]\d*,[1-9]\d* C=[1-9]\d*,0 D=[1-9]\d*,0'
            $run.Text | Should -Not -Match 'NonInteractive'
        }
    }
}
