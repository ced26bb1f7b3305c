# Install-PrefectBacklogPublisher -Push through the imported module, against moto and the real Prefect 3.8.3 server
# (build.ps1 Test hands it in; run alone, this file starts its own): -WhatIf lists every change on both sides and makes
# none; Install makes the function URL, both permissions, the concurrency, the secret, the Webhook block and one
# automation per binding, and changes nothing when run again; Get shows it; -Push:$false and Uninstall remove it all.
Describe 'The push path of a publisher on moto and a real Prefect 3 server' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Common.ps1')
        Import-Module (Join-Path $PSScriptRoot '../real-servers/RealPrefect.psm1') -Force
        $server = Get-RealPrefectServer -Kind Prefect3
        $moto = Start-MotoServer
        $aws = @{ EndpointUrl = $moto.Url; Region = 'us-east-1'; AccessKey = 'testing'; SecretKey = 'testing' }
        $suffix = [guid]::NewGuid().ToString('N').Substring(0, 8)
        $pool = "push-pester-$suffix"
        $name = "push-pester-$suffix"
        $prefectSettings = @{ PrefectApiUrl = $server.ApiUrl; WarningAction = 'SilentlyContinue' }
        Invoke-RealPrefect $server '/work_pools/' @{ name = $pool; type = 'process' } | Out-Null

        function Invoke-Cli { Invoke-AwsCli -EndpointUrl $moto.Url @args }
        function Get-Automation { @((Invoke-RealPrefect $server '/automations/filter' @{ automations = @{ tags = @{ all_ = @("prefectscaling-publisher:$name") } }; limit = 50 }).Body) }
        function Get-Block { Invoke-RealPrefect $server "/block_types/slug/webhook/block_documents/name/prefectscaling-push-$name`?include_secrets=true" -Method Get }
        function Get-FunctionUrl { (& aws --endpoint-url $moto.Url --region us-east-1 lambda get-function-url-config --function-name $name 2>$null | ConvertFrom-Json) }
        $env:AWS_ACCESS_KEY_ID = 'testing'; $env:AWS_SECRET_ACCESS_KEY = 'testing'
        $install = @{ Name = $name; Cluster = 'prod'; Service = 'workers'; WorkPool = $pool; Push = $true; PushUrl = 'http://127.0.0.1:9/push' }
        Invoke-Cli ecs create-cluster --cluster-name prod | Out-Null
        Invoke-Cli ecs register-task-definition --family worker --container-definitions '[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]' | Out-Null
        Invoke-Cli ecs create-service --cluster prod --service-name workers --task-definition worker --desired-count 1 | Out-Null
    }
    AfterAll {
        Uninstall-PrefectBacklogPublisher @aws -Name $name -Force -Confirm:$false -ErrorAction SilentlyContinue | Out-Null
        if ($server) { Invoke-RealPrefect $server "/work_pools/$pool" -Method Delete | Out-Null }
        if ($moto) { Stop-MotoServer $moto }
    }

    It '-WhatIf lists every change of the push path on both sides and makes none' {
        $script = "Import-Module '$ModulePath'; Install-PrefectBacklogPublisher -EndpointUrl '$($moto.Url)' -Region us-east-1 -AccessKey testing -SecretKey testing -PrefectApiUrl '$($server.ApiUrl)' -Name $name -Cluster prod -Service workers -WorkPool $pool -Push -PushUrl 'http://127.0.0.1:9/push' -WhatIf -WarningAction SilentlyContinue"
        $text = (& dotnet pwsh -NoProfile -NonInteractive -Command $script 2>&1) | Out-String
        foreach ($change in 'Create SSM SecureString parameter with a new random push secret', 'Create the function URL', 'Allow public calls of the function URL',
            'Allow the function URL, and only it, to invoke the function', 'Reserve 5 concurrent executions', 'Create the Webhook block', 'Create the automation') {
            $text | Should -Match ([regex]::Escape($change))
        }
        Get-Automation | Should -BeNullOrEmpty
        (Get-Block).Status | Should -Be 404
    }

    It 'installs the push path, shows it, and changes nothing when installed again' {
        $installed = Install-PrefectBacklogPublisher @aws @prefectSettings @install -PassThru
        $installed.Consistent | Should -BeTrue -Because ($installed.Problems -join ' ')
        $installed.PushUrl | Should -Match '^https://[0-9a-f]+\.lambda-url\.us-east-1\.on\.aws'
        $installed.PushConcurrency | Should -Be 5
        $installed.PushAutomations | Should -Be 1

        (Get-FunctionUrl).AuthType | Should -Be 'NONE'
        $policy = (Invoke-Cli lambda get-policy --function-name $name).Policy | ConvertFrom-Json
        ($policy.Statement | Where-Object Sid -eq "prefectscaling-$name-url").Action | Should -Be 'lambda:InvokeFunctionUrl'
        ($policy.Statement | Where-Object Sid -eq "prefectscaling-$name-url-invoke").Action | Should -Be 'lambda:InvokeFunction'
        $secret = (Invoke-Cli ssm get-parameter --name "/prefectscaling/$name/push-secret" --with-decryption).Parameter
        $secret.Type | Should -Be 'SecureString'
        $variables = (Invoke-Cli lambda get-function --function-name $name).Configuration.Environment.Variables
        $variables.PREFECTSCALING_PUSH_SECRET_PARAMETER | Should -Be "/prefectscaling/$name/push-secret"
        ($variables | ConvertTo-Json -Compress) | Should -Not -Match ([regex]::Escape($secret.Value))

        $block = (Get-Block).Body
        $block.data.url | Should -Be 'http://127.0.0.1:9/push'
        $block.data.headers.'X-PrefectScaling-Token' | Should -Be $secret.Value
        $block.data.headers.'X-PrefectScaling-Publisher' | Should -Be $name
        $automation = Get-Automation
        $automation.Count | Should -Be 1
        $automation[0].trigger.expect | Should -Be 'prefect.flow-run.Late'
        $automation[0].trigger.match_related.'prefect.resource.name' | Should -Be $pool
        $automation[0].actions[0].block_document_id | Should -Be $block.id

        $verbose = Install-PrefectBacklogPublisher @aws @prefectSettings @install -Verbose 4>&1 | Out-String
        $verbose | Should -Match 'already installed as requested; nothing was changed'
        (Get-Block).Body.data.headers.'X-PrefectScaling-Token' | Should -Be $secret.Value
    }

    It 'reports a push URL that does not answer as unhealthy' {
        $test = Test-PrefectBacklogPublisher @aws -Name $name -Push -PushUrl 'http://127.0.0.1:9/push' -ErrorAction SilentlyContinue -ErrorVariable unhealthy
        $test.Healthy | Should -BeFalse
        ($test.Problems -join ' ') | Should -Match 'did not answer the test event'
        $unhealthy.FullyQualifiedErrorId | Should -Match 'PrefectBacklogPublisherUnhealthy'
    }

    It 'removes the push path with -Push:$false and keeps the publisher, and Uninstall removes the rest' {
        Install-PrefectBacklogPublisher @aws @prefectSettings -Name $name -Cluster prod -Service workers -WorkPool $pool -Push:$false
        Get-Automation | Should -BeNullOrEmpty
        (Get-Block).Status | Should -Be 404
        Get-FunctionUrl | Should -BeNullOrEmpty
        (Invoke-Cli lambda get-function --function-name $name).Configuration.Environment.Variables.PREFECTSCALING_PUSH_SECRET_PARAMETER | Should -BeNullOrEmpty
        (Get-PrefectBacklogPublisher @aws -Name $name).PushUrl | Should -BeNullOrEmpty

        Install-PrefectBacklogPublisher @aws @prefectSettings @install
        Get-Automation | Should -HaveCount 1
        $removed = Uninstall-PrefectBacklogPublisher @aws -Name $name -Force -Confirm:$false
        $removed.Action | Should -Contain 'Delete the push path''s automation'
        $removed.Action | Should -Contain 'Delete the push path''s Webhook block'
        $removed.Action | Should -Contain 'Delete the function URL'
        Get-Automation | Should -BeNullOrEmpty
        (Get-Block).Status | Should -Be 404
        (Get-PrefectBacklogPublisher @aws -Name $name).Installed | Should -BeFalse
    }
}
