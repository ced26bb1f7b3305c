# Tab completion of the names the module can look up: ECS clusters and services, installed publishers, AWS profiles,
# and Prefect pools and queues on the cmdlets that name them.
BeforeAll {
    . (Join-Path $PSScriptRoot '../Common.ps1')

    function Complete([string] $Line) {
        @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches | ForEach-Object CompletionText)
    }
}

Describe 'Completion of AWS names against moto' {
    BeforeAll {
        $moto = Start-MotoServer
        $proxy = Start-AwsCaptureProxy -UpstreamUrl $moto.Url
        $aws = "-EndpointUrl $($proxy.Url) -Region us-east-1 -AccessKey testing -SecretKey testing"
        function Invoke-Cli { Invoke-AwsCli -EndpointUrl $moto.Url @args }

        foreach ($cluster in 'prod', 'prod-eu', 'staging') { Invoke-Cli ecs create-cluster --cluster-name $cluster | Out-Null }
        Invoke-Cli ecs register-task-definition --family agent --container-definitions '[{"name":"agent","image":"prefecthq/prefect:3-latest","memory":512}]' | Out-Null
        foreach ($service in 'prefect-agent', 'prefect-agent-gpu', 'web') { Invoke-Cli ecs create-service --cluster prod --service-name $service --task-definition agent --desired-count 0 | Out-Null }
        Invoke-Cli ecs create-service --cluster staging --service-name prefect-staging-agent --task-definition agent --desired-count 0 | Out-Null

        # Two functions run the publisher's handler; a third is somebody else's.
        $trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
        $role = (Invoke-Cli iam create-role --role-name completion-test --assume-role-policy-document $trust).Role.Arn
        $zip = Join-Path ([IO.Path]::GetTempPath()) "prefectscaling-completion-$PID.zip"
        Copy-Item (Join-Path (Split-Path $ModulePath) 'publisher/PrefectScaling.Publisher.zip') $zip
        $handler = 'PrefectScaling.Publisher::PrefectScaling.Publisher.Function::Handle'
        foreach ($function in @(@('prefect-backlog-publisher', $handler), @('publisher-eu', $handler), @('prefect-other-function', 'Other::Other.Function::Handle'))) {
            Invoke-Cli lambda create-function --function-name $function[0] --runtime dotnet10 --handler $function[1] --role $role --zip-file "fileb://$zip" | Out-Null
        }
    }
    AfterAll {
        if ($proxy) { Stop-AwsCaptureProxy $proxy }
        if ($moto) { Stop-MotoServer $moto }
        if ($zip) { Remove-Item -LiteralPath $zip -ErrorAction SilentlyContinue }
    }

    It 'completes -Cluster from ListClusters' {
        Complete "Get-PrefectEcsScalingPolicy $aws -Cluster pr" | Should -Be @('prod', 'prod-eu')
        Complete "Set-PrefectEcsScalingPolicy $aws -Cluster st" | Should -Be @('staging')
        Complete "Publish-PrefectBacklogMetric $aws -Cluster " | Should -Be @('prod', 'prod-eu', 'staging')
        Complete "Install-PrefectBacklogPublisher $aws -Cluster prod-" | Should -Be @('prod-eu')
    }

    It 'completes -Service from ListServices of the cluster typed' {
        Complete "Remove-PrefectEcsScalingPolicy $aws -Cluster prod -Service prefect" | Should -Be @('prefect-agent', 'prefect-agent-gpu')
        Complete "Get-PrefectEcsScalingPolicy $aws -Cluster staging -Service " | Should -Be @('prefect-staging-agent')
        Complete "Install-PrefectBacklogPublisher $aws -Cluster prod -Service w" | Should -Be @('web')
        Complete "Publish-PrefectBacklogMetric $aws -Cluster prod-eu -Service " | Should -BeNullOrEmpty
    }

    It 'completes a publisher -Name from the functions that run the publisher' {
        Complete "Get-PrefectBacklogPublisher $aws -Name " | Should -Be @('prefect-backlog-publisher', 'publisher-eu')
        Complete "Uninstall-PrefectBacklogPublisher $aws -Name pub" | Should -Be @('publisher-eu')
        Complete "Test-PrefectBacklogPublisher $aws -Name prefect-" | Should -Be @('prefect-backlog-publisher')
        Complete "Install-PrefectBacklogPublisher $aws -Name p" | Should -Be @('prefect-backlog-publisher', 'publisher-eu')
    }

    It 'takes the region from $StoredAWSRegion, as the command would' {
        $global:StoredAWSRegion = 'us-east-1'
        try { Complete "Get-PrefectEcsScalingPolicy -EndpointUrl $($proxy.Url) -AccessKey testing -SecretKey testing -Cluster prod-" | Should -Be @('prod-eu') }
        finally { Remove-Variable -Name StoredAWSRegion -Scope Global }
    }

    It 'asks AWS once for repeated Tab presses' {
        Clear-AwsCapturedRequest $proxy
        $line = "Get-PrefectEcsScalingPolicy -EndpointUrl $($proxy.Url) -Region us-west-2 -AccessKey testing -SecretKey testing -Cluster "
        1..3 | ForEach-Object { Complete $line } | Should -BeNullOrEmpty    # nothing in that region
        @(Get-AwsCapturedRequest $proxy | Where-Object Action -eq 'ListClusters') | Should -HaveCount 1
    }
}

Describe 'Completion when AWS cannot answer' {
    It 'gives nothing, writes no error, and stops waiting after a few seconds' {
        # A port that accepts connections and never answers.
        $silent = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $silent.Start()
        try {
            $url = "http://127.0.0.1:$($silent.LocalEndpoint.Port)"
            $Error.Clear()
            $elapsed = Measure-Command { $script:names = Complete "Get-PrefectEcsScalingPolicy -EndpointUrl $url -Region us-east-1 -AccessKey testing -SecretKey testing -Cluster " }
            $script:names | Should -BeNullOrEmpty
            $elapsed.TotalSeconds | Should -BeLessThan 8
            $Error | Should -BeNullOrEmpty
            Complete "Get-PrefectEcsScalingPolicy -EndpointUrl http://127.0.0.1:1 -Region us-east-1 -AccessKey testing -SecretKey testing -Service " | Should -BeNullOrEmpty
            Complete "Get-PrefectBacklogPublisher -EndpointUrl $url -Region us-east-1 -ProfileName does-not-exist -Name " | Should -BeNullOrEmpty
        }
        finally { $silent.Stop() }
    }
}

Describe 'Completion of -ProfileName from the shared files' {
    BeforeAll {
        $folder = Join-Path ([IO.Path]::GetTempPath()) "prefectscaling-profiles-$PID"
        $null = New-Item -ItemType Directory -Force $folder
        $credentials = Join-Path $folder 'credentials'
        "[default]`naws_access_key_id = AKIDEFAULT`naws_secret_access_key = secret`n`n[team-a]`naws_access_key_id = AKIDTEAMA`naws_secret_access_key = secret`n" | Set-Content -Path $credentials
        "[profile team-b]`nregion = eu-west-1`nrole_arn = arn:aws:iam::123456789012:role/b`nsource_profile = team-a`n" | Set-Content -Path (Join-Path $folder 'config')
        # Another folder: the SDK also reads a config file beside the credentials file it is given.
        $other = Join-Path (New-Item -ItemType Directory -Force (Join-Path $folder 'ops')) 'credentials'
        "[ops-admin]`naws_access_key_id = AKIDOPS`naws_secret_access_key = secret`n" | Set-Content -Path $other
        # The config file is read from beside the credentials file.
        $saved = $env:AWS_SHARED_CREDENTIALS_FILE
        $env:AWS_SHARED_CREDENTIALS_FILE = $credentials
    }
    AfterAll {
        $env:AWS_SHARED_CREDENTIALS_FILE = $saved
        Remove-Item -Recurse -Force -LiteralPath $folder -ErrorAction SilentlyContinue
    }

    It 'lists the profiles of the credentials and config files' {
        Complete 'Get-PrefectEcsScalingPolicy -ProfileName ' | Should -Be @('default', 'team-a', 'team-b')
        Complete 'Publish-PrefectBacklogMetric -ProfileName team-' | Should -Be @('team-a', 'team-b')
    }

    It 'reads -ProfileLocation when it is typed, relative to the current location' {
        Push-Location $folder
        try { Complete 'Install-PrefectBacklogPublisher -ProfileLocation ./ops/credentials -ProfileName ' | Should -Be @('ops-admin') }
        finally { Pop-Location }
    }
}

Describe 'Completion of Prefect names on every cmdlet that takes them' {
    BeforeAll {
        $prefect = Start-PrefectEmulator -Mode V3 -SeedPath $SeedPath -Configuration $Configuration
    }
    AfterAll {
        if ($prefect) { Stop-PrefectEmulator $prefect }
    }

    It 'completes -WorkPool and -WorkQueue of Remove-PrefectEcsScalingPolicy and Publish-PrefectBacklogMetric' {
        Invoke-WithCleanPrefectEnvironment -Set @{ PREFECT_API_URL = $prefect.ApiUrl } {
            Complete 'Remove-PrefectEcsScalingPolicy -Cluster prod -Service agent -WorkPool ec' | Should -Be @('ecs-pool')
            Complete 'Remove-PrefectEcsScalingPolicy -Cluster prod -Service agent -WorkPool ecs-pool -WorkQueue ' | Should -Be @('default', 'reports')
            Complete 'Publish-PrefectBacklogMetric -WorkPool pau' | Should -Be @('paused-pool')
            Complete 'Publish-PrefectBacklogMetric -WorkPool k8s -WorkQueue ' | Should -Be @('default', "'$OddQueue'")
        }
    }
}
