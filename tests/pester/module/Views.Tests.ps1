# The table views fit an 80-column console: checked in the format file, then on real objects of every output type.
BeforeDiscovery {
    $script:Views = @('PrefectBacklogCount', 'PrefectBacklogTotal', 'PrefectWorkQueue', 'BacklogMetricDatum', 'PrefectEcsScalingPolicy',
        'PrefectBacklogPublisher', 'PrefectBacklogPublisherTest', 'PublisherBinding', 'PublisherBindingResult', 'RemovedResource', 'PrefectScalingStatus', 'PrefectFlowRun', 'PrefectScalingSimulation', 'PrefectScalingSimulationStep') | ForEach-Object { @{ View = $_ } }
}

Describe 'The format file' {
    BeforeAll {
        . (Join-Path $PSScriptRoot '../Common.ps1')
        $formatFile = [xml](Get-Content -Raw (Join-Path (Split-Path $ModulePath) 'PrefectScaling.Format.ps1xml'))
        $tables = @($formatFile.Configuration.ViewDefinitions.View | Where-Object { $_['TableControl'] })
    }

    It 'gives every column of every table a width, and the widths with one space between columns come to at most 80' {
        $tables | Should -Not -BeNullOrEmpty
        foreach ($view in $tables) {
            $headers = @($view.TableControl.TableHeaders.TableColumnHeader)
            foreach ($header in $headers) { $header['Width'] | Should -Not -BeNullOrEmpty -Because "$($view.Name) column $($header.Label) needs a width" }
            $total = ($headers | ForEach-Object { [int]$_.Width } | Measure-Object -Sum).Sum + $headers.Count - 1
            $total | Should -BeLessOrEqual 80 -Because "$($view.Name) is $total columns wide"
        }
    }

    It 'has a table for each output type named here' {
        ($tables.Name | Sort-Object) | Should -Be ($Views.View | Sort-Object)
    }
}

Describe 'Each view on real objects, at 80 columns' {
    BeforeAll {
        . (Join-Path $PSScriptRoot '../Common.ps1')
        # Names long enough to be cut, that differ only at their ends: the rows must still differ.
        $seed = @{
            pools = @(
                @{ name = 'analytics-warehouse-nightly-eu-west'; type = 'process'; queues = @(@{ name = 'customer-reporting-batch-a' }, @{ name = 'customer-reporting-batch-b' }) }
                @{ name = 'analytics-warehouse-nightly-us-east'; type = 'ecs'; queues = @(@{ name = 'customer-reporting-batch-a'; last_polled_offset_seconds = -5 }) }
            )
            runs  = @(
                @{ pool = 'analytics-warehouse-nightly-eu-west'; queue = 'customer-reporting-batch-a'; state_name = 'Late'; scheduled_offset_seconds = -600; count = 2 }
                @{ pool = 'analytics-warehouse-nightly-us-east'; queue = 'customer-reporting-batch-a'; state_name = 'Late'; scheduled_offset_seconds = -600 }
            )
        }
        $seedPath = Join-Path ([IO.Path]::GetTempPath()) "prefectscaling-views-$PID.json"
        $seed | ConvertTo-Json -Depth 5 | Set-Content -Path $seedPath
        $prefect = Start-PrefectEmulator -Mode V3 -SeedPath $seedPath -Configuration $Configuration
        $moto = Start-MotoServer
        $aws = @{ EndpointUrl = $moto.Url; Region = 'us-east-1'; AccessKey = 'testing'; SecretKey = 'testing' }
        $service = @{ Cluster = 'production-analytics'; Service = 'prefect-process-worker' }
        Invoke-AwsCli -EndpointUrl $moto.Url ecs create-cluster --cluster-name $service.Cluster | Out-Null
        Invoke-AwsCli -EndpointUrl $moto.Url ecs register-task-definition --family worker --container-definitions '[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]' | Out-Null
        Invoke-AwsCli -EndpointUrl $moto.Url ecs create-service --cluster $service.Cluster --service-name $service.Service --task-definition worker --desired-count 1 | Out-Null

        $objects = @{}
        Invoke-WithCleanPrefectEnvironment {
            $objects.PrefectBacklogCount = @(Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -Measure Late, Due)
            $objects.PrefectBacklogTotal = @(Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -Measure Late, Due -Total -WorkPool 'analytics-warehouse-nightly-eu-west' -WorkQueue 'customer-reporting-batch-a', 'customer-reporting-batch-b')
            $objects.PrefectWorkQueue = @(Get-PrefectWorkQueue -PrefectApiUrl $prefect.ApiUrl)
            $objects.PrefectFlowRun = @(Get-PrefectFlowRunHistory -PrefectApiUrl $prefect.ApiUrl -WorkPool 'analytics-warehouse-nightly-eu-west' -Since (Get-Date).AddHours(-1))
            $objects.BacklogMetricDatum = @($objects.PrefectBacklogCount | Publish-PrefectBacklogMetric @aws @service -PassThru)
            $step = @{ WorkPool = 'analytics-warehouse-nightly-eu-west'; WorkQueue = 'customer-reporting-batch-a'; MinCapacity = 0; MaxCapacity = 10 }
            # One binding per service: the step policies' two rows (:out and :in) differ only at their ends.
            $null = Set-PrefectEcsScalingPolicy @aws @service @step -StepScaling -WarningAction SilentlyContinue
            $objects.PrefectEcsScalingPolicy = @(Get-PrefectEcsScalingPolicy @aws @service)
            $burst = @(1..20 | ForEach-Object { [pscustomobject]@{ ExpectedStart = [datetime]'2026-01-05T09:00:00Z'; Duration = 300 } })
            $objects.PrefectScalingSimulation = @(
                $objects.PrefectEcsScalingPolicy | Invoke-PrefectScalingSimulation @aws -Run $burst -Timeline
                Invoke-PrefectScalingSimulation -Run $burst -BacklogPerTask -MinCapacity 0 -MaxCapacity 10 -TargetValue 2.5 -ScaleOutCooldown 120 -ScaleInCooldown 600)
            $objects.PrefectScalingSimulationStep = @($objects.PrefectScalingSimulation[0].Timeline | Where-Object Event)
            Invoke-AwsCli -EndpointUrl $moto.Url ecs create-service --cluster $service.Cluster --service-name "$($service.Service)-gpu" --task-definition worker --desired-count 0 | Out-Null
            $objects.PrefectScalingStatus = @($service, @{ Cluster = $service.Cluster; Service = "$($service.Service)-gpu" } | ForEach-Object { Get-PrefectScalingStatus @aws @_ })
            $install = @{ PrefectApiUrl = $prefect.ApiUrl; WorkPool = 'analytics-*'; WarningAction = 'SilentlyContinue' }
            $objects.PrefectBacklogPublisher = @(
                Install-PrefectBacklogPublisher @aws @install -PassThru
                Install-PrefectBacklogPublisher @aws @install -Name 'prefect-backlog-publisher-eu-west' -Schedule 'rate(5 minutes)' -PassThru)
            $objects.PrefectBacklogPublisherTest = @('prefect-backlog-publisher', 'prefect-backlog-publisher-eu-west' | ForEach-Object { Test-PrefectBacklogPublisher @aws -Name $_ -WhatIf })
            # Two services of long names, bound to pools of long names: one binding's scope names queues.
            Invoke-AwsCli -EndpointUrl $moto.Url ecs create-service --cluster $service.Cluster --service-name 'prefect-process-worker-nightly' --task-definition worker --desired-count 1 | Out-Null
            $bindingFile = Join-Path ([IO.Path]::GetTempPath()) "prefectscaling-views-$PID.psd1"
            Set-Content -LiteralPath $bindingFile -Value ("@{ Bindings = @( @{ Cluster = '$($service.Cluster)'; Service = '$($service.Service)'; WorkPool = 'analytics-warehouse-nightly-eu-west'; WorkQueue = 'customer-reporting-batch-a', 'customer-reporting-batch-b' }, " +
                "@{ Cluster = '$($service.Cluster)'; Service = 'prefect-process-worker-nightly'; WorkPool = 'analytics-warehouse-nightly-us-east' } ) }")
            $bound = Install-PrefectBacklogPublisher @aws -PrefectApiUrl $prefect.ApiUrl -Name 'prefect-backlog-publisher-bindings' -BindingFile $bindingFile -WarningAction SilentlyContinue -PassThru
            Remove-Item -LiteralPath $bindingFile
            $objects.PublisherBinding = @($bound.Bindings)
            $objects.PublisherBindingResult = @((Test-PrefectBacklogPublisher @aws -Name 'prefect-backlog-publisher-bindings' -WhatIf).Bindings)
            $objects.RemovedResource = @(Uninstall-PrefectBacklogPublisher @aws -Name 'prefect-backlog-publisher-eu-west' -Force)
        }

        # The rows of a rendered table, each with the group header above it (a grouped view repeats its header).
        function Get-TableRow([string[]] $Lines) {
            $group = ''; $inRows = $false
            for ($i = 0; $i -lt $Lines.Count; $i++) {
                $line = $Lines[$i]
                if (-not $line.Trim()) { $inRows = $false; continue }
                if (-not $inRows -and $line -match '^ {3}\S[^:]*: ') { $group = $line.Trim(); continue }
                if ($line -match '^[- ]+$') { $inRows = $true; continue }
                if ($inRows) { [pscustomobject]@{ Group = $group; Text = $line } }
                elseif ($i + 1 -ge $Lines.Count -or $Lines[$i + 1] -notmatch '^[- ]+$') { throw "A header wraps or a row sits outside the table: '$line'" }
            }
        }
    }
    AfterAll {
        if ($moto) { Stop-MotoServer $moto }
        if ($prefect) { Stop-PrefectEmulator $prefect }
        if ($seedPath) { Remove-Item -LiteralPath $seedPath -ErrorAction SilentlyContinue }
    }

    It '<View>: no line over 80, one line per object, and distinct objects in distinct rows' -ForEach $Views {
        $items = $objects[$View]
        $items.Count | Should -BeGreaterThan 1 -Because 'two objects at least, so that rows can be told apart'
        $items[0].PSObject.TypeNames[0] | Should -BeLike "*.$View"
        $lines = @($items | Out-String -Width 80 -Stream)
        foreach ($line in $lines) { $line.Length | Should -BeLessOrEqual 80 -Because "'$line'" }
        $rows = @(Get-TableRow $lines)
        $rows.Count | Should -Be $items.Count -Because 'a row that wraps is two lines'
        $keys = @($rows | ForEach-Object { "$($_.Group)|$($_.Text.TrimEnd())" })
        @($keys | Select-Object -Unique).Count | Should -Be $keys.Count -Because ($lines -join "`n")
    }

    It 'shows the two step-scaling policies of one service apart, though their scope is longer than the column' {
        $rows = @(Get-TableRow @($objects.PrefectEcsScalingPolicy | Where-Object Kind -eq StepScaling | Out-String -Width 80 -Stream))
        $rows.Text | Should -HaveCount 2
        $rows.Text | Where-Object { $_ -match ':out\s' } | Should -HaveCount 1
        $rows.Text | Where-Object { $_ -match ':in\s' } | Should -HaveCount 1
    }
}
