BeforeAll {
    . (Join-Path $PSScriptRoot '../Common.ps1')
    $server = Start-PrefectEmulator -Mode V3 -Configuration $Configuration
    # 900 late runs in three queues: read in five pages of /flow_runs/paginate.
    Set-PrefectEmulatorSeed $server '{"generate":{"pools":1,"queues_per_pool":3,"late_runs":900,"pool_prefix":"bench","queue_prefix":"q","future_runs":false}}'
}
AfterAll { if ($server) { Stop-PrefectEmulator $server } }

Describe 'A server that ignores the page it is asked for' {
    AfterEach { Clear-PrefectEmulatorFault $server }

    It 'counts the whole backlog when it pages' {
        (Get-PrefectLateRunCount -PrefectApiUrl $server.ApiUrl -WorkPool bench-1 | Measure-Object Count -Sum).Sum | Should -Be 900
    }

    It 'is an error record and no count, never the first page counted as the backlog' {
        Add-PrefectEmulatorFault $server @{ kind = 'IgnoreOffset'; pathContains = '/flow_runs/paginate'; count = -1 }
        Reset-PrefectEmulatorRequest $server
        $counts = Get-PrefectLateRunCount -PrefectApiUrl $server.ApiUrl -WorkPool bench-1 -ErrorVariable err -ErrorAction SilentlyContinue
        $counts | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'PrefectUnexpectedResponse,PrefectScaling.Commands.GetPrefectLateRunCountCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidResult'
        $err[0].Exception.Message | Should -Match "ignores 'page'"
        $err[0].TargetObject | Should -Be $server.ApiUrl
        @(Get-PrefectEmulatorRequest $server | Where-Object Path -eq '/flow_runs/paginate').Count | Should -BeLessOrEqual 2
    }
}
