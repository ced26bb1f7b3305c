Describe 'A publisher of bindings on moto' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Common.ps1')
        $key = 'pnu_bindings_key'
        $prefect = Start-PrefectEmulator -Mode Cloud -SeedPath $SeedPath -ApiKey $key -Configuration $Configuration
        $moto = Start-MotoServer
        $proxy = Start-AwsCaptureProxy -UpstreamUrl $moto.Url
        $aws = @{ EndpointUrl = $proxy.Url; Region = 'us-east-1'; AccessKey = 'testing'; SecretKey = 'testing' }
        $prefectSettings = @{ PrefectApiUrl = $prefect.ApiUrl; PrefectApiKey = (ConvertTo-SecureString $key -AsPlainText -Force); WarningAction = 'SilentlyContinue' }
        $name = 'prefect-backlog-publisher'
        $path = "/prefectscaling/$name/bindings"
        $folder = Join-Path ([IO.Path]::GetTempPath()) "prefectscaling-bindings-$PID"
        New-Item -ItemType Directory -Force -Path $folder | Out-Null

        function Invoke-Cli { Invoke-AwsCli -EndpointUrl $moto.Url @args }
        function Get-Mutation { @(Get-AwsCapturedRequest $proxy | Where-Object { $_.Action -notmatch '^(Describe|List|Get)' -and $_.Method -ne 'GET' }) }
        function Get-BindingParameter { @((Invoke-Cli ssm get-parameters-by-path --path $path --recursive).Parameters) }
        function Get-Variables { (Invoke-Cli lambda get-function --function-name $name).Configuration.Environment.Variables }
        # A binding file as a runbook keeps it: text, never run.
        function New-BindingFile([string] $Text, [string] $File = 'bindings.psd1') {
            $target = Join-Path $folder $File
            Set-Content -LiteralPath $target -Value $Text
            $target
        }
        # -WhatIf prints to the host: run it in a child whose output can be read (the key goes through the environment).
        function Invoke-WhatIf([string] $Arguments) {
            $script = "Import-Module '$ModulePath'; Install-PrefectBacklogPublisher -EndpointUrl '$($proxy.Url)' -Region us-east-1 -AccessKey testing -SecretKey testing -PrefectApiUrl '$($prefect.ApiUrl)' $Arguments -WhatIf"
            $env:PREFECT_API_KEY = $key
            try { (& dotnet pwsh -NoProfile -NonInteractive -Command $script 2>&1) | Out-String }
            finally { Remove-Item Env:\PREFECT_API_KEY }
        }
        function New-Services {
            Invoke-Cli ecs create-cluster --cluster-name prod | Out-Null
            Invoke-Cli ecs register-task-definition --family worker --container-definitions '[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]' | Out-Null
            foreach ($service in 'workers', 'reports') { Invoke-Cli ecs create-service --cluster prod --service-name $service --task-definition worker --desired-count 2 | Out-Null }
        }

        $twoBindings = New-BindingFile @'
@{
    Bindings = @(
        @{ Cluster = 'prod'; Service = 'workers'; WorkPool = 'k8s' }
        @{ Cluster = 'prod'; Service = 'reports'; WorkPool = 'ecs-pool'; WorkQueue = 'reports', 'default' }
    )
}
'@
    }
    AfterAll {
        if ($proxy) { Stop-AwsCaptureProxy $proxy }
        if ($moto) { Stop-MotoServer $moto }
        if ($prefect) { Stop-PrefectEmulator $prefect }
        if ($folder) { Remove-Item -Recurse -Force -LiteralPath $folder -ErrorAction SilentlyContinue }
    }
    BeforeEach {
        Reset-MotoServer $moto
        New-Services
        Clear-AwsCapturedRequest $proxy
    }

    It 'installs the bindings of a .psd1 as one tagged parameter each, with least privilege, and publishes each as its own series' {
        $installed = Install-PrefectBacklogPublisher @aws @prefectSettings -BindingFile $twoBindings -PassThru
        $installed.Consistent | Should -BeTrue -Because ($installed.Problems -join ' ')
        $installed.Bindings.Service | Should -Be @('reports', 'workers')
        $installed.Bindings[0].Scope | Should -Be 'pool ecs-pool queues default, reports'
        $installed.Bindings[0].PSObject.TypeNames[0] | Should -Be 'PrefectScaling.Publisher.PublisherBinding'

        $parameters = Get-BindingParameter
        $parameters.Name | Sort-Object | Should -Be @("$path/prod/reports", "$path/prod/workers")
        $parameters.Type | Select-Object -Unique | Should -Be 'String'
        (($parameters | Where-Object Name -eq "$path/prod/workers").Value | ConvertFrom-Json).scope.pools.pool | Should -Be 'k8s'
        $tags = (Invoke-Cli ssm list-tags-for-resource --resource-type Parameter --resource-id "$path/prod/workers").TagList
        ($tags | Where-Object Key -eq 'ManagedBy').Value | Should -Be 'PrefectScaling'
        ($tags | Where-Object Key -eq 'PrefectScalingPublisher').Value | Should -Be $name

        $variables = Get-Variables
        $variables.PREFECTSCALING_BINDINGS_PATH | Should -Be $path
        $variables.PREFECTSCALING_BINDINGS_STAMP | Should -Match '^2:[0-9a-f]{16}$'
        $variables.PSObject.Properties.Name | Should -Not -Contain 'PREFECTSCALING_SCOPES'
        $variables.PSObject.Properties.Name | Should -Not -Contain 'PREFECTSCALING_CLUSTER'

        $policy = (Invoke-Cli iam get-role-policy --role-name "$name-role" --policy-name PrefectScalingPublisher).PolicyDocument
        ($policy.Statement | Where-Object Sid -eq 'ReadBindings').Resource | Should -Be @("arn:aws:ssm:us-east-1:123456789012:parameter$path", "arn:aws:ssm:us-east-1:123456789012:parameter$path/*")
        ($policy.Statement | Where-Object Sid -eq 'ReadBindings').Action | Should -Be 'ssm:GetParametersByPath'
        ($policy.Statement | Where-Object Sid -eq 'ReadServiceTasks').Resource | Should -Be @('arn:aws:ecs:us-east-1:123456789012:service/prod/reports', 'arn:aws:ecs:us-east-1:123456789012:service/prod/workers')

        $test = Test-PrefectBacklogPublisher @aws
        $test.Healthy | Should -BeTrue -Because ($test.Problems -join ' ')
        $test.Bindings | Should -HaveCount 2
        # Late and the desired tasks, and the busy guard's InFlight and UnprotectedInFlight.
        $test.Bindings.DataPoints | Should -Be @(4, 4)
        $test.Bindings | Where-Object Problem | Should -BeNullOrEmpty
        $stats = Invoke-Cli cloudwatch get-metric-statistics --namespace Prefect --metric-name LateFlowRuns --dimensions '[{"Name":"ClusterName","Value":"prod"},{"Name":"ServiceName","Value":"workers"}]' `
            --start-time ([DateTime]::UtcNow.AddHours(-1).ToString('o')) --end-time ([DateTime]::UtcNow.AddMinutes(5).ToString('o')) --period 60 --statistics Maximum
        $stats.Datapoints[0].Maximum | Should -Be 5

        # Each binding's last datum, read back from CloudWatch.
        $listed = Get-PrefectBacklogPublisher @aws
        $listed.Bindings | ForEach-Object { $_.LastPublished | Should -Not -BeNullOrEmpty -Because "$($_.Service) was just published" }
        ($listed.Bindings | Where-Object Service -eq 'workers').LastPublished | Should -BeGreaterThan ([DateTime]::UtcNow.AddMinutes(-5))
        ($listed.Bindings | Out-String -Width 80 -Stream) | ForEach-Object { $_.Length | Should -BeLessOrEqual 79 }
    }

    It 'lists every change with -WhatIf, changes nothing then, and installing again changes nothing' {
        $text = Invoke-WhatIf "-BindingFile '$twoBindings'"
        foreach ($step in "Create SSM parameter with the binding service/prod/reports <- pool ecs-pool queues default, reports", "Create SSM parameter with the binding service/prod/workers <- pool k8s",
                          'Create IAM role', 'inline policy', 'Create Lambda function', 'EventBridge rule') {
            $text | Should -Match ([regex]::Escape($step))
        }
        Get-Mutation | Should -BeNullOrEmpty
        Get-BindingParameter | Should -BeNullOrEmpty

        Install-PrefectBacklogPublisher @aws @prefectSettings -BindingFile $twoBindings
        Clear-AwsCapturedRequest $proxy
        $verbose = Install-PrefectBacklogPublisher @aws @prefectSettings -BindingFile $twoBindings -Verbose 4>&1
        Get-Mutation | Should -BeNullOrEmpty
        ($verbose | Out-String) | Should -Match 'already installed as requested'
        # With no binding given, the installed ones stay.
        Install-PrefectBacklogPublisher @aws @prefectSettings
        Get-Mutation | Should -BeNullOrEmpty

        # One binding fewer, another with a new scope: exactly those parameters, the stamp and the policy change.
        $changed = New-BindingFile "@{ Bindings = @( @{ Cluster = 'prod'; Service = 'workers'; WorkPool = 'k8s'; WorkQueue = 'default' } ) }" 'changed.psd1'
        $text = Invoke-WhatIf "-BindingFile '$changed'"
        $text | Should -Match ([regex]::Escape('Update SSM parameter with the binding service/prod/workers <- pool k8s queue default'))
        $text | Should -Match ([regex]::Escape('Delete SSM parameter with the binding service/prod/reports'))
        Get-Mutation | Should -BeNullOrEmpty
        Install-PrefectBacklogPublisher @aws @prefectSettings -BindingFile $changed
        # The dashboard shows the bindings, so it changes with them.
        (Get-Mutation).Action | Sort-Object | Should -Be ('DeleteParameter', 'PutDashboard', 'PutParameter', 'PutRolePolicy', 'PUT /2015-03-31/functions/prefect-backlog-publisher/configuration' | Sort-Object)
        (Get-BindingParameter).Name | Should -Be "$path/prod/workers"
        (Get-Variables).PREFECTSCALING_BINDINGS_STAMP | Should -Match '^1:'
        (Test-PrefectBacklogPublisher @aws).Bindings.Service | Should -Be 'workers'
    }

    It 'takes one binding from -Cluster, -Service and exact names, and refuses a wildcard there before any AWS call' {
        # An exact name with a wildcard character in it: escaped with `, as everywhere in the module.
        Install-PrefectBacklogPublisher @aws @prefectSettings -Cluster prod -Service workers -WorkPool k8s -WorkQueue default, 'etl "quoted" #1 ü`?'
        (Get-PrefectBacklogPublisher @aws).Bindings.Scope | Should -Be 'pool k8s queues default, etl "quoted" #1 ü?'
        (Test-PrefectBacklogPublisher @aws).Published | Should -Be 4

        Clear-AwsCapturedRequest $proxy
        { Install-PrefectBacklogPublisher @aws @prefectSettings -Cluster prod -Service workers -WorkPool 'k8*' -ErrorAction Stop } | Should -Throw '*wildcard*'
        Get-AwsCapturedRequest $proxy | Should -BeNullOrEmpty
    }

    It 'refuses a binding file with <Case> before any change, naming the binding' -ForEach @(
        @{ Case = 'a missing service name'; Text = "@{ Bindings = @( @{ Cluster = 'prod'; WorkPool = 'k8s' } ) }"; Match = 'binding 1: No Service' }
        @{ Case = 'one service bound twice'; Text = "@{ Bindings = @( @{ Cluster = 'prod'; Service = 'workers'; WorkPool = 'k8s' }, @{ Cluster = 'prod'; Service = 'workers'; WorkPool = 'ecs-pool' } ) }"; Match = "binding 2 (Cluster 'prod', Service 'workers'): The same service as binding 1" }
        @{ Case = 'a wildcard'; Text = "@{ Bindings = @( @{ Cluster = 'prod'; Service = 'workers'; WorkPool = 'k8*' } ) }"; Match = 'wildcard' }
        @{ Case = 'code in it'; Text = "@{ Bindings = @( @{ Cluster = (Get-Date).Year; Service = 'workers'; WorkPool = 'k8s' } ) }"; Match = 'not a PowerShell data file' }
        @{ Case = 'a pool the server does not have'; Text = "@{ Bindings = @( @{ Cluster = 'prod'; Service = 'workers'; WorkPool = 'k8s' }, @{ Cluster = 'prod'; Service = 'reports'; WorkPool = 'no-such-pool' } ) }"; Match = 'binding of service/prod/reports*no-such-pool' }
        @{ Case = 'a service ECS does not have'; Text = "@{ Bindings = @( @{ Cluster = 'prod'; Service = 'gone'; WorkPool = 'k8s' } ) }"; Match = "binding of service/prod/gone cannot be published: ECS service 'gone' was not found" }
    ) {
        $file = New-BindingFile $Text 'bad.psd1'
        { Install-PrefectBacklogPublisher @aws @prefectSettings -BindingFile $file -ErrorAction Stop } | Should -Throw "*$Match*"
        Get-Mutation | Should -BeNullOrEmpty
    }

    It 'uninstalls the binding parameters and leaves a parameter of a user under a similar name alone' {
        Install-PrefectBacklogPublisher @aws @prefectSettings -BindingFile $twoBindings
        # A user's own: under the publisher's bindings path, beside it, and under a publisher of a longer name.
        Invoke-Cli ssm put-parameter --name "$path/prod/mine" --type String --value 'kept by hand' | Out-Null
        Invoke-Cli ssm put-parameter --name "/prefectscaling/$name/bindings-old" --type String --value 'kept by hand' | Out-Null
        Invoke-Cli ssm put-parameter --name "/prefectscaling/$name-other/bindings/prod/workers" --type String --value 'kept by hand' | Out-Null
        # The function ignores what is not a binding: the publisher still publishes both.
        (Test-PrefectBacklogPublisher @aws -ErrorAction SilentlyContinue).Bindings.DataPoints | Should -Be @(4, 4)

        $warnings = @()
        $removed = Uninstall-PrefectBacklogPublisher @aws -Force -WarningVariable warnings -WarningAction SilentlyContinue
        $removed.Resource | Should -Contain "$path/prod/workers"
        $removed.Resource | Should -Contain "$path/prod/reports"
        ($removed | Where-Object Resource -like "$path/*").Action | Select-Object -Unique | Should -BeLike 'Delete SSM parameter with the binding service/prod/*'
        ($warnings | Out-String) | Should -Match ([regex]::Escape("$path/prod/mine"))
        $left = (Invoke-Cli ssm describe-parameters).Parameters.Name | Sort-Object
        $left | Should -Be @("$path/prod/mine", "/prefectscaling/$name-other/bindings/prod/workers", "/prefectscaling/$name/bindings-old" | Sort-Object)
    }

    It 'keeps a publisher of the first release working, converts it into a binding with -WhatIf listing it, and then changes nothing' {
        Install-PrefectBacklogPublisher @aws @prefectSettings -WorkPool k8s
        # The first release published per task for one service: its function's environment named it.
        $variables = Get-Variables
        $variables | Add-Member PREFECTSCALING_CLUSTER prod
        $variables | Add-Member PREFECTSCALING_SERVICE workers
        $environment = Join-Path $folder 'environment.json'
        @{ Variables = $variables } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $environment
        Invoke-Cli lambda update-function-configuration --function-name $name --environment "file://$environment" | Out-Null

        # As installed, it runs as the first release did: per queue, per task and the desired tasks.
        $old = Test-PrefectBacklogPublisher @aws
        $old.Healthy | Should -BeTrue -Because ($old.Problems -join ' ')
        $old.Published | Should -Be 5
        $old.Bindings | Should -BeNullOrEmpty

        Clear-AwsCapturedRequest $proxy
        $text = Invoke-WhatIf ''
        $text | Should -Match ([regex]::Escape('Converting the publisher prefect-backlog-publisher of the first release into a binding: service/prod/workers <- pool k8s'))
        foreach ($step in 'Create SSM parameter with the binding service/prod/workers <- pool k8s', 'Update the role', 'Update Lambda function configuration') {
            $text | Should -Match ([regex]::Escape($step))
        }
        Get-Mutation | Should -BeNullOrEmpty

        Install-PrefectBacklogPublisher @aws @prefectSettings
        $variables = Get-Variables
        $variables.PREFECTSCALING_BINDINGS_PATH | Should -Be $path
        $variables.PREFECTSCALING_PER_QUEUE_SERIES | Should -Be 'true'
        $variables.PSObject.Properties.Name | Should -Not -Contain 'PREFECTSCALING_CLUSTER'
        (Get-BindingParameter).Name | Should -Be "$path/prod/workers"

        Clear-AwsCapturedRequest $proxy
        Install-PrefectBacklogPublisher @aws @prefectSettings
        Get-Mutation | Should -BeNullOrEmpty

        # The binding's series, and still the per-queue ones the first release's policies read.
        $new = Test-PrefectBacklogPublisher @aws
        $new.Healthy | Should -BeTrue -Because ($new.Problems -join ' ')
        $new.Bindings.DataPoints | Should -Be 8 # and InFlight, UnprotectedInFlight
        $series = (Invoke-Cli cloudwatch list-metrics --namespace Prefect).Metrics | ForEach-Object { "$($_.MetricName) $(($_.Dimensions | Sort-Object Name | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join ',')" } | Sort-Object -Unique
        $series | Should -Contain 'LateFlowRuns ClusterName=prod,ServiceName=workers'
        $series | Should -Contain 'LateFlowRuns WorkPool=k8s,WorkQueue=default'
        $series | Should -Contain 'LateFlowRunsPerTask ClusterName=prod,ServiceName=workers,WorkPool=k8s,WorkQueue=default'
    }
}
