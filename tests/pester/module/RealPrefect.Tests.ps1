# The imported module against real Prefect servers (2.20.25, 3.8.3, 3.8.3 with basic auth), seeded through
# their REST API: the counts per scope and measure equal what was seeded. build.ps1 Test hands the servers in
# (environment); run alone, this file starts its own and stops them.
BeforeAll {
    . (Join-Path $PSScriptRoot '../Common.ps1')
    Import-Module (Join-Path $PSScriptRoot '../../real-servers/RealPrefect.psm1') -Force
    $Measures = 'Late', 'Due', 'Pending', 'Running'
    $script:Servers = @{}
    foreach ($s in Get-RealPrefectServer) { $script:Servers[$s.Kind] = $s }
    Write-Host ('Real Prefect servers: ' + (($script:Servers.Values | Sort-Object Kind | Format-RealPrefectServer) -join '; '))

    # Runs in every state across three pools (default queues in each, names that need escaping in a URL, in JSON
    # and as wildcards; Prefect forbids / % & > < in names), and a legacy queue on 2.x.
    function New-BacklogScenario([switch] $V3) {
        $s = New-RealPrefectScenario 'pester'
        $s | Add-Member -NotePropertyMembers @{ A = "alpha-$($s.Suffix)"; B = "beta-$($s.Suffix)"; Odd = "team a+b #2 ü;= $($s.Suffix)"; Etl = "a-etl-$($s.Suffix)"; OddQueue = "etl `"quoted`" #1 ü? [x] $($s.Suffix)"; Nightly = "etl-nightly-$($s.Suffix)"; Hourly = "etl-hourly-$($s.Suffix)"; Legacy = "legacy-$($s.Suffix)" }
        Add-RealPrefectPool $s $s.A 'process' @($s.Etl, $s.OddQueue)
        Add-RealPrefectPool $s $s.B 'kubernetes'
        Add-RealPrefectPool $s $s.Odd 'ecs' @($s.Nightly, $s.Hourly)
        Add-RealPrefectRun $s $s.A 'default' Late 2
        Add-RealPrefectRun $s $s.A 'default' AwaitingRetry
        Add-RealPrefectRun $s $s.A 'default' Future 2
        if ($V3) { Add-RealPrefectRun $s $s.A 'default' AwaitingConcurrencySlot }
        Add-RealPrefectRun $s $s.A 'default' Pending
        Add-RealPrefectRun $s $s.A 'default' Running 2
        Add-RealPrefectRun $s $s.A 'default' Cancelling
        Add-RealPrefectRun $s $s.A 'default' Completed
        Add-RealPrefectRun $s $s.A $s.Etl Late
        Add-RealPrefectRun $s $s.A $s.Etl Running
        Add-RealPrefectRun $s $s.A $s.OddQueue Late 3
        Add-RealPrefectRun $s $s.B 'default' Late
        Add-RealPrefectRun $s $s.B 'default' Pending 2
        Add-RealPrefectRun $s $s.Odd $s.Nightly Late 2
        Add-RealPrefectRun $s $s.Odd $s.Nightly AwaitingRetry
        Add-RealPrefectRun $s $s.Odd $s.Hourly Running
        if (-not $V3) {
            $s.LegacyQueues.Add($s.Legacy)
            Add-RealPrefectRun $s $null $s.Legacy Late 2
            Add-RealPrefectRun $s $null $s.Legacy Running
        }
        $s
    }

    # More than a page (200) of runs in one queue, next to a small queue.
    function New-PagingScenario {
        $s = New-RealPrefectScenario 'pester-paging'
        $s | Add-Member -NotePropertyMembers @{ Pool = "deep-$($s.Suffix)"; Bulk = "bulk-$($s.Suffix)"; Side = "side-$($s.Suffix)" }
        Add-RealPrefectPool $s $s.Pool 'process' @($s.Bulk, $s.Side)
        Add-RealPrefectRun $s $s.Pool $s.Bulk LateDirect 210
        Add-RealPrefectRun $s $s.Pool $s.Side LateDirect 2
        Add-RealPrefectRun $s $s.Pool $s.Side Running
        $s
    }

    # The servers are seeded at once, each by its own thread (one server's writes are serialized by SQLite anyway).
    $script:Backlog = @{}
    $script:Paging = @{}
    $work = foreach ($kind in $script:Servers.Keys) {
        $script:Backlog[$kind] = New-BacklogScenario -V3:($kind -ne 'Prefect2')
        $scenarios = @($script:Backlog[$kind])
        if ($kind -ne 'Prefect3Auth') { $script:Paging[$kind] = New-PagingScenario; $scenarios += $script:Paging[$kind] }
        [pscustomobject]@{ Server = $script:Servers[$kind]; Scenarios = $scenarios }
    }
    $helpers = Join-Path $PSScriptRoot '../../real-servers/RealPrefect.psm1'
    $failures = $work | ForEach-Object -ThrottleLimit 3 -Parallel {
        try {
            Import-Module $using:helpers
            foreach ($scenario in $_.Scenarios) { Publish-RealPrefectScenario $_.Server $scenario }
            $null = Wait-RealPrefectLate $_.Server $_.Scenarios[0]
        }
        catch { "$($_.Exception.Message)" }
    }
    if ($failures) { throw "Seeding the real Prefect servers failed: $($failures -join '; ')" }

    function ConvertTo-PrefectCredential([string] $AuthString) {
        $user, $password = $AuthString -split ':', 2
        [pscredential]::new($user, (ConvertTo-SecureString $password -AsPlainText -Force))
    }

    # Get-PrefectLateRunCount against a server with its own credentials, away from this machine's Prefect settings.
    function Read-Count($Server, [hashtable] $Scope = @{}, [string[]] $Measure = $Measures) {
        $parameters = @{ PrefectApiUrl = $Server.ApiUrl; Measure = $Measure } + $Scope
        if ($Server.AuthString) { $parameters.PrefectCredential = ConvertTo-PrefectCredential $Server.AuthString }
        Invoke-WithCleanPrefectEnvironment { Get-PrefectLateRunCount @parameters -ErrorAction Stop }
    }

    # Each measure of each queue is there once and equals what was seeded.
    function Assert-Counts($Scenario, $Counts, [object[]] $Queues, [string[]] $Measure = $Measures) {
        foreach ($q in $Queues) {
            foreach ($m in $Measure) {
                $found = @($Counts | Where-Object { $_.WorkPool -ceq $q[0] -and $_.WorkQueue -ceq $q[1] -and "$($_.Measure)" -eq $m })
                $found | Should -HaveCount 1 -Because "$($q[0])/$($q[1]) $m is counted once"
                $found[0].Count | Should -Be (Get-RealPrefectExpected $Scenario $q[0] $q[1] $m) -Because "$($q[0])/$($q[1]) $m"
            }
        }
    }
}

AfterAll {
    $script:Servers.Values | Stop-RealPrefectServer
}

Describe 'Get-PrefectLateRunCount against real <Kind>' -ForEach @(@{ Kind = 'Prefect2' }, @{ Kind = 'Prefect3' }, @{ Kind = 'Prefect3Auth' }) {
    BeforeAll {
        $server = $script:Servers[$Kind]
        $s = $script:Backlog[$Kind]
    }

    It 'counts every queue of a pool for every measure' {
        $counts = Read-Count $server @{ WorkPool = $s.A }
        $counts | Should -HaveCount (3 * 4)
        $counts[0].PSObject.TypeNames[0] | Should -Be 'PrefectScaling.Backlog.PrefectBacklogCount'
        Assert-Counts $s $counts @(@($s.A, 'default'), @($s.A, $s.Etl), @($s.A, $s.OddQueue))
        foreach ($m in $Measures) { ($counts | Where-Object { "$($_.Measure)" -eq $m } | Measure-Object Count -Sum).Sum | Should -BeGreaterThan 0 -Because "$m has runs here" }
        $counts.ApiUrl | Select-Object -Unique | Should -Be $server.ApiUrl
    }

    It 'counts the default queue in every pool that has it' {
        $counts = Read-Count $server @{ WorkQueue = 'default' }
        $counts.WorkQueue | Select-Object -Unique | Should -Be 'default'
        # The server is shared: other tests' pools have a default queue too; these three must be exact.
        Assert-Counts $s $counts @(@($s.A, 'default'), @($s.B, 'default'), @($s.Odd, 'default'))
    }

    It 'resolves names that need escaping, and wildcards' {
        $exact = Read-Count $server @{ WorkPool = $s.A; WorkQueue = [WildcardPattern]::Escape($s.OddQueue) }
        Assert-Counts $s $exact @(, @($s.A, $s.OddQueue))
        $wild = Read-Count $server @{ WorkPool = ([WildcardPattern]::Escape($s.Odd.Substring(0, $s.Odd.Length - 4)) + '*'); WorkQueue = 'etl-*' }
        $wild | Should -HaveCount (2 * 4)
        Assert-Counts $s $wild @(@($s.Odd, $s.Nightly), @($s.Odd, $s.Hourly))
    }

    It 'counts what Get-PrefectWorkQueue lists, down the pipeline' {
        $parameters = @{ PrefectApiUrl = $server.ApiUrl; WorkPool = $s.Odd }
        if ($server.AuthString) { $parameters.PrefectCredential = ConvertTo-PrefectCredential $server.AuthString }
        $queues = Invoke-WithCleanPrefectEnvironment { Get-PrefectWorkQueue @parameters -ErrorAction Stop }
        $queues | Should -HaveCount 3
        ($queues.WorkQueue | Sort-Object) | Should -Be (@('default', $s.Nightly, $s.Hourly) | Sort-Object)
        $queues | ForEach-Object { $_.IsPaused | Should -BeFalse; $_.LastPolled | Should -BeNullOrEmpty }
        $credential = @{}
        if ($server.AuthString) { $credential.PrefectCredential = $parameters.PrefectCredential }
        $counts = Invoke-WithCleanPrefectEnvironment { $queues | Get-PrefectLateRunCount -Measure Late, Running @credential -ErrorAction Stop }
        Assert-Counts $s $counts @(@($s.Odd, 'default'), @($s.Odd, $s.Nightly), @($s.Odd, $s.Hourly)) -Measure Late, Running
    }

    It 'a missing pool or queue is PrefectNotFound and has no count' {
        $parameters = @{ PrefectApiUrl = $server.ApiUrl; WorkPool = $s.A, "no-such-pool-$($s.Suffix)"; WorkQueue = $s.Etl }
        if ($server.AuthString) { $parameters.PrefectCredential = ConvertTo-PrefectCredential $server.AuthString }
        $read = Invoke-WithCleanPrefectEnvironment { $c = Get-PrefectLateRunCount @parameters -ErrorVariable e -ErrorAction SilentlyContinue; @{ Counts = $c; Errors = $e } }
        $counts, $err = $read.Counts, $read.Errors
        $counts | Should -HaveCount 1
        Assert-Counts $s $counts @(, @($s.A, $s.Etl)) -Measure Late
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'PrefectNotFound,PrefectScaling.Commands.GetPrefectLateRunCountCommand'
        $err[0].TargetObject | Should -Match "no-such-pool-$($s.Suffix)"

        $parameters.WorkPool = $s.A
        $parameters.WorkQueue = "no-such-queue-$($s.Suffix)"
        $read = Invoke-WithCleanPrefectEnvironment { $c = Get-PrefectLateRunCount @parameters -ErrorVariable e -ErrorAction SilentlyContinue; @{ Counts = $c; Errors = $e } }
        $none, $err2 = $read.Counts, $read.Errors
        $none | Should -BeNullOrEmpty
        $err2[0].FullyQualifiedErrorId | Should -BeLike 'PrefectNotFound,*'
        $err2[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'A legacy 2.x queue on real Prefect 2.20.25' {
    It 'is counted in default-agent-pool, by its name alone and with the pool' {
        $server = $script:Servers['Prefect2']
        $s = $script:Backlog['Prefect2']
        Assert-Counts $s (Read-Count $server @{ WorkQueue = $s.Legacy }) @(, @('default-agent-pool', $s.Legacy))
        Assert-Counts $s (Read-Count $server @{ WorkPool = 'default-agent-pool'; WorkQueue = $s.Legacy }) @(, @('default-agent-pool', $s.Legacy))
    }
}

Describe 'More than a page of runs on real <Kind>' -ForEach @(@{ Kind = 'Prefect2' }, @{ Kind = 'Prefect3' }) {
    It 'counts them all, for the pool and for the one queue' {
        $server = $script:Servers[$Kind]
        $s = $script:Paging[$Kind]
        $pool = Read-Count $server @{ WorkPool = $s.Pool } -Measure Late, Due, Running
        Assert-Counts $s $pool @(@($s.Pool, 'default'), @($s.Pool, $s.Bulk), @($s.Pool, $s.Side)) -Measure Late, Due, Running
        ($pool | Where-Object { $_.WorkQueue -eq $s.Bulk -and "$($_.Measure)" -eq 'Late' }).Count | Should -Be 210
        Assert-Counts $s (Read-Count $server @{ WorkPool = $s.Pool; WorkQueue = $s.Bulk } -Measure Late) @(, @($s.Pool, $s.Bulk)) -Measure Late
    }
}

Describe 'Basic auth on real Prefect 3.8.3' {
    BeforeAll {
        $server = $script:Servers['Prefect3Auth']
        $s = $script:Backlog['Prefect3Auth']
        $user, $password = $server.AuthString -split ':', 2
    }

    It 'counts with the credential from PREFECT_API_AUTH_STRING' {
        $counts = Invoke-WithCleanPrefectEnvironment -Set @{ PREFECT_API_URL = $server.ApiUrl; PREFECT_API_AUTH_STRING = $server.AuthString } {
            Get-PrefectLateRunCount -WorkPool $s.B -Measure Late, Pending -ErrorAction Stop
        }
        Assert-Counts $s $counts @(, @($s.B, 'default')) -Measure Late, Pending
    }

    It 'refuses <Case> credentials: PrefectUnauthorized, no count, no secret in the output' -ForEach @(@{ Case = 'missing' }, @{ Case = 'wrong' }) {
        $parameters = @{ PrefectApiUrl = $server.ApiUrl; WorkPool = $s.A }
        if ($Case -eq 'wrong') { $parameters.PrefectCredential = [pscredential]::new($user, (ConvertTo-SecureString "not-$password" -AsPlainText -Force)) }
        $read = Invoke-WithCleanPrefectEnvironment {
            $DebugPreference = 'Continue'
            $o = Get-PrefectLateRunCount @parameters -ErrorVariable e -ErrorAction SilentlyContinue *>&1
            @{ Output = $o; Errors = $e }
        }
        $output, $errors = $read.Output, $read.Errors
        @($output | Where-Object { $_.PSObject.TypeNames[0] -eq 'PrefectScaling.Backlog.PrefectBacklogCount' }) | Should -BeNullOrEmpty
        $errors | Should -HaveCount 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'PrefectUnauthorized,PrefectScaling.Commands.GetPrefectLateRunCountCommand'
        $errors[0].Exception.Message | Should -Match '401'
        $text = ($output | Out-String) + ($output | ForEach-Object { "$_" }) + $errors[0].Exception.Message
        $text | Should -Not -Match ([regex]::Escape($password))
    }
}
