BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $seed = @{
        pools = @(@{ name = 'replay'; type = 'process'; queues = @(@{ name = 'etl' }) })
        runs  = @(
            @{ pool = 'replay'; queue = 'etl'; state_type = 'COMPLETED'; state_name = 'Completed'; scheduled_offset_seconds = -3600; count = 5 }
            @{ pool = 'replay'; queue = 'etl'; state_name = 'Late'; scheduled_offset_seconds = -60; count = 2 }
        )
    }
    $seedFile = Join-Path ([IO.Path]::GetTempPath()) "prefectscaling-history-$PID.json"
    $seed | ConvertTo-Json -Depth 5 | Set-Content -Path $seedFile
    $server = Start-PrefectEmulator -Mode V3 -SeedPath $seedFile -Configuration $Configuration
}
AfterAll {
    if ($server) { Stop-PrefectEmulator $server }
    if ($seedFile) { Remove-Item -LiteralPath $seedFile -ErrorAction SilentlyContinue }
}

Describe 'Get-PrefectFlowRunHistory' {
    It 'returns the runs of the last day, oldest first, with the properties a replay binds' {
        $runs = @(Get-PrefectFlowRunHistory -PrefectApiUrl $server.ApiUrl -WorkPool replay)
        $runs.Count | Should -Be 7
        $runs[0].PSObject.TypeNames[0] | Should -Be 'PrefectScaling.Simulation.PrefectFlowRun'
        @($runs | Where-Object StateName -eq 'Completed').Count | Should -Be 5
        $runs[0].ExpectedStart | Should -BeLessThan $runs[6].ExpectedStart
        $runs[6].Duration | Should -BeNullOrEmpty
        foreach ($name in 'ExpectedStart', 'Duration', 'Created', 'WorkQueue', 'WorkPool', 'State', 'Start', 'End') {
            $runs[0].PSObject.Properties.Name | Should -Contain $name
        }
    }

    It 'says when -MaxRuns cut the history, and keeps the earliest' {
        $runs = @(Get-PrefectFlowRunHistory -PrefectApiUrl $server.ApiUrl -WorkPool replay -MaxRuns 3 -WarningVariable warned -WarningAction SilentlyContinue)
        $runs.Count | Should -Be 3
        @($runs | Where-Object StateName -ne 'Completed').Count | Should -Be 0
        "$warned" | Should -Match 'more than 3 runs'
    }

    It 'reads nothing before -Since and refuses -Since after -Until' {
        @(Get-PrefectFlowRunHistory -PrefectApiUrl $server.ApiUrl -WorkPool replay -Since (Get-Date).AddMinutes(-30)).Count | Should -Be 2
        Get-PrefectFlowRunHistory -PrefectApiUrl $server.ApiUrl -WorkPool replay -Since (Get-Date) -Until (Get-Date).AddDays(-1) -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        "$err" | Should -Match 'is after -Until'
    }

    It 'reports a missing pool as an error' {
        Get-PrefectFlowRunHistory -PrefectApiUrl $server.ApiUrl -WorkPool nope -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'PrefectNotFound,PrefectScaling.Commands.GetPrefectFlowRunHistoryCommand'
    }
}
