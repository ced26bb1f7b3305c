BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $server = Start-PrefectEmulator -Mode V3 -SeedPath $SeedPath -Configuration $Configuration
}
AfterAll { if ($server) { Stop-PrefectEmulator $server } }

Describe 'Get-PrefectWorkQueue' {
    It 'lists every queue with its pool details' {
        $queues = Get-PrefectWorkQueue -PrefectApiUrl $server.ApiUrl
        $queues[0].PSObject.TypeNames[0] | Should -Be 'PrefectScaling.Prefect.PrefectWorkQueue'
        ($queues | Where-Object WorkPool -eq 'k8s').WorkQueue | Sort-Object | Should -Be (@('default', $OddQueue) | Sort-Object)
        $paused = $queues | Where-Object WorkPool -eq 'paused-pool'
        $paused.WorkPoolIsPaused | Should -BeTrue
        ($queues | Where-Object WorkPool -eq 'k8s' | Select-Object -First 1).WorkPoolType | Should -Be 'kubernetes'
        ($queues | Where-Object { $_.WorkPool -eq 'ecs-pool' -and $_.WorkQueue -eq 'reports' }).LastPolled | Should -Not -BeNullOrEmpty
    }

    It 'never polls: last-polled times do not move' {
        $before = (Invoke-RestMethod "$($server.RootUrl)/_emulator/queues/k8s/default/last_polled").last_polled
        Get-PrefectWorkQueue -PrefectApiUrl $server.ApiUrl -WorkPool k8s | Get-PrefectLateRunCount | Out-Null
        (Invoke-RestMethod "$($server.RootUrl)/_emulator/queues/k8s/default/last_polled").last_polled | Should -Be $before
        (Get-PrefectEmulatorRequest $server).Path | Should -Not -Match 'get_scheduled_flow_runs|get_runs'
    }

    It 'reports a missing pool as an error' {
        Get-PrefectWorkQueue -PrefectApiUrl $server.ApiUrl -WorkPool nope -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'PrefectNotFound,PrefectScaling.Commands.GetPrefectWorkQueueCommand'
    }
}
