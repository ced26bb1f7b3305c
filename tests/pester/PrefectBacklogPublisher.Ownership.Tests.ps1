Describe 'The publisher touches only what the module made, against moto' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Common.ps1')
        $key = 'pnu_ownership_key'
        $prefect = Start-PrefectEmulator -Mode Cloud -SeedPath $SeedPath -ApiKey $key -Configuration $Configuration
        $moto = Start-MotoServer
        $proxy = Start-AwsCaptureProxy -UpstreamUrl $moto.Url
        $aws = @{ EndpointUrl = $proxy.Url; Region = 'us-east-1'; AccessKey = 'testing'; SecretKey = 'testing' }
        $install = @{ PrefectApiUrl = $prefect.ApiUrl; PrefectApiKey = (ConvertTo-SecureString $key -AsPlainText -Force); WorkPool = 'k8s' }
        $name = 'prefect-backlog-publisher'
        $lambdaTrust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
        $moduleTags = "Key=ManagedBy,Value=PrefectScaling", "Key=PrefectScalingPublisher,Value=$name"

        function Invoke-Cli { Invoke-AwsCli -EndpointUrl $moto.Url @args }
        function Test-Role { [bool]((Invoke-Cli iam list-roles).Roles | Where-Object RoleName -eq "$name-role") }
        function Test-LogGroup { [bool]((Invoke-Cli logs describe-log-groups).logGroups | Where-Object logGroupName -eq "/aws/lambda/$name") }
        function Test-Function { [bool]((Invoke-Cli lambda list-functions).Functions | Where-Object FunctionName -eq $name) }
        function Test-Parameter { [bool]((Invoke-Cli ssm describe-parameters).Parameters | Where-Object Name -eq "/prefectscaling/$name/prefect-secret") }
        function Get-Mutation { @(Get-AwsCapturedRequest $proxy | Where-Object { $_.Action -notmatch '^(Describe|List|Get)' -and $_.Method -ne 'GET' }) }

        $zip = Join-Path ([IO.Path]::GetTempPath()) "prefectscaling-user-fn-$PID.zip"
        $source = Join-Path ([IO.Path]::GetTempPath()) "prefectscaling-user-fn-$PID.py"
        Set-Content -Path $source -Value 'def handler(event, context): return 1'
        Compress-Archive -Path $source -DestinationPath $zip -Force
    }
    AfterAll {
        if ($proxy) { Stop-AwsCaptureProxy $proxy }
        if ($moto) { Stop-MotoServer $moto }
        if ($prefect) { Stop-PrefectEmulator $prefect }
        Remove-Item -Force $zip, $source -ErrorAction SilentlyContinue
    }
    BeforeEach {
        Reset-MotoServer $moto
        Clear-AwsCapturedRequest $proxy
    }

    It 'reports a half-finished install, says how to finish or remove it, and Uninstall removes what is there' {
        Install-PrefectBacklogPublisher @aws @install
        # An install stopped before the function and the rule: what it had made stays behind.
        Invoke-Cli events remove-targets --rule $name --ids prefectscaling-publisher | Out-Null
        Invoke-Cli events delete-rule --name $name | Out-Null
        Invoke-Cli lambda delete-function --function-name $name | Out-Null

        $publisher = Get-PrefectBacklogPublisher @aws
        $publisher.Installed | Should -BeFalse
        $publisher.PartlyInstalled | Should -BeTrue
        $publisher.Found | Should -Be @("IAM role $name-role", "SSM parameter /prefectscaling/$name/prefect-secret", "log group /aws/lambda/$name", "CloudWatch dashboard $name")
        $publisher.Problems[0] | Should -Match 'Partly installed'
        $publisher.Problems[0] | Should -Match 'Install-PrefectBacklogPublisher -Name prefect-backlog-publisher again'
        $publisher.Problems[0] | Should -Match 'Uninstall-PrefectBacklogPublisher -Name prefect-backlog-publisher to remove'

        $removed = Uninstall-PrefectBacklogPublisher @aws -Force
        $removed.Action | Should -Be @('Delete the role''s inline policy', 'Delete IAM role', 'Delete SSM parameter', 'Delete CloudWatch Logs log group', 'Delete CloudWatch dashboard')
        Test-Role | Should -BeFalse
        Test-Parameter | Should -BeFalse
        Test-LogGroup | Should -BeFalse
        (Get-PrefectBacklogPublisher @aws).PartlyInstalled | Should -BeFalse
    }

    It 'finishes a half-finished install when run again' {
        Install-PrefectBacklogPublisher @aws @install
        Invoke-Cli lambda delete-function --function-name $name | Out-Null
        (Get-PrefectBacklogPublisher @aws).Consistent | Should -BeFalse
        Install-PrefectBacklogPublisher @aws @install
        (Get-PrefectBacklogPublisher @aws).Consistent | Should -BeTrue
    }

    It 'takes a role of that name for its own only with the module''s tags and Lambda''s trust' -ForEach @(
        @{ Case = 'no tags'; Trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'; Tagged = $false }
        @{ Case = 'another principal'; Trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'; Tagged = $true }
    ) {
        $create = @('iam', 'create-role', '--role-name', "$name-role", '--assume-role-policy-document', $Trust)
        if ($Tagged) { $create += @('--tags') + $moduleTags }
        Invoke-Cli @create | Out-Null
        (Get-PrefectBacklogPublisher @aws).NotOwned | Should -HaveCount 1
        (Get-PrefectBacklogPublisher @aws).NotOwned[0] | Should -Match "IAM role $name-role"

        Clear-AwsCapturedRequest $proxy
        { Install-PrefectBacklogPublisher @aws @install -ErrorAction Stop } | Should -Throw "*IAM role $name-role*-RoleArn*"
        $Error[0].FullyQualifiedErrorId | Should -Match '^PublisherNameTaken'
        Get-Mutation | Should -BeNullOrEmpty

        Uninstall-PrefectBacklogPublisher @aws -Force -WarningVariable warned -WarningAction SilentlyContinue | Should -BeNullOrEmpty
        ($warned | Out-String) | Should -Match 'Left alone: the IAM role'
        Test-Role | Should -BeTrue
        ((Invoke-Cli iam get-role --role-name "$name-role").Role.AssumeRolePolicyDocument | ConvertTo-Json -Depth 5) | Should -Match ([regex]::Escape(($Trust | ConvertFrom-Json).Statement[0].Principal.Service))
    }

    It 'leaves a user''s function and log group of that name alone' {
        $role = Invoke-Cli iam create-role --role-name user-fn-role --assume-role-policy-document $lambdaTrust
        Invoke-Cli lambda create-function --function-name $name --runtime python3.12 --handler fn.handler --role $role.Role.Arn --zip-file "fileb://$zip" | Out-Null
        Invoke-Cli logs create-log-group --log-group-name "/aws/lambda/$name" | Out-Null

        $publisher = Get-PrefectBacklogPublisher @aws
        $publisher.Installed | Should -BeFalse
        $publisher.NotOwned | Should -HaveCount 2
        $publisher.NotOwned[0] | Should -Match "Lambda function $name"
        $publisher.NotOwned[1] | Should -Match "log group /aws/lambda/$name"

        { Install-PrefectBacklogPublisher @aws @install -ErrorAction Stop } | Should -Throw "*Lambda function $name*"
        Uninstall-PrefectBacklogPublisher @aws -Force -WarningAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Function | Should -BeTrue
        Test-LogGroup | Should -BeTrue
    }

    It 'leaves a user''s dashboard of that name alone' {
        $theirs = '{"widgets":[{"type":"text","x":0,"y":0,"width":6,"height":2,"properties":{"markdown":"Our own board"}}]}'
        Invoke-Cli cloudwatch put-dashboard --dashboard-name $name --dashboard-body $theirs | Out-Null
        (Get-PrefectBacklogPublisher @aws).NotOwned | Should -Match "CloudWatch dashboard $name"

        Clear-AwsCapturedRequest $proxy
        { Install-PrefectBacklogPublisher @aws @install -ErrorAction Stop } | Should -Throw "*CloudWatch dashboard $name*"
        $Error[0].FullyQualifiedErrorId | Should -Match '^PublisherNameTaken'
        Get-Mutation | Should -BeNullOrEmpty
        Uninstall-PrefectBacklogPublisher @aws -Force -WarningVariable warned -WarningAction SilentlyContinue | Should -BeNullOrEmpty
        ($warned | Out-String) | Should -Match "Left alone: the CloudWatch dashboard $name"
        (Invoke-Cli cloudwatch get-dashboard --dashboard-name $name).DashboardBody | Should -Be $theirs
    }
}
