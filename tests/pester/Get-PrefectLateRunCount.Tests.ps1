BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $v3 = Start-PrefectEmulator -Mode V3 -SeedPath $SeedPath -Configuration $Configuration
    $v2 = Start-PrefectEmulator -Mode V2 -SeedPath $SeedPath -Configuration $Configuration
}
AfterAll {
    $v3, $v2 | Where-Object { $_ } | Stop-PrefectEmulator
}

Describe 'Get-PrefectLateRunCount against a <Mode> server' -ForEach @(@{ Mode = 'V3' }, @{ Mode = 'V2' }) {
    BeforeAll {
        $server = if ($Mode -eq 'V3') { $v3 } else { $v2 }
    }

    It 'counts each queue of a pool as typed objects' {
        $counts = Get-PrefectLateRunCount -PrefectApiUrl $server.ApiUrl -WorkPool k8s
        $counts | Should -HaveCount 2
        $counts[0].PSObject.TypeNames[0] | Should -Be 'PrefectScaling.Backlog.PrefectBacklogCount'
        ($counts | Where-Object WorkQueue -eq 'default').Count | Should -Be 2
        ($counts | Where-Object WorkQueue -eq $OddQueue).Count | Should -Be 3
        $counts | ForEach-Object { $_.WorkPool | Should -Be 'k8s'; $_.Measure | Should -Be 'Late'; $_.ApiUrl | Should -Be $server.ApiUrl; $_.Timestamp.Kind | Should -Be 'Utc' }
    }

    It 'counts a queue name in every pool that has it and says which pool' {
        $counts = Get-PrefectLateRunCount -PrefectApiUrl $server.ApiUrl -WorkQueue default
        ($counts | Where-Object WorkPool -eq 'k8s').Count | Should -Be 2
        ($counts | Where-Object WorkPool -eq 'ecs-pool').Count | Should -Be 1
        ($counts | Where-Object WorkPool -eq $OddPool).Count | Should -Be 0
        $counts.WorkQueue | Select-Object -Unique | Should -Be 'default'
    }

    It 'counts every measure' {
        $counts = Get-PrefectLateRunCount -PrefectApiUrl $server.ApiUrl -WorkPool k8s -WorkQueue default -Measure Late, Due, Pending, Running
        ($counts | Where-Object Measure -eq 'Late').Count | Should -Be 2
        ($counts | Where-Object Measure -eq 'Due').Count | Should -Be 4
        ($counts | Where-Object Measure -eq 'Pending').Count | Should -Be 1
        ($counts | Where-Object Measure -eq 'Running').Count | Should -Be 2
    }

    It 'resolves wildcards and names that need escaping' {
        $counts = Get-PrefectLateRunCount -PrefectApiUrl $server.ApiUrl -WorkPool 'team a+b*' -WorkQueue 'etl-n*'
        $counts | Should -HaveCount 1
        $counts.WorkPool | Should -Be $OddPool
        $counts.Count | Should -Be 5
        (Get-PrefectLateRunCount -PrefectApiUrl $server.ApiUrl -WorkPool k8s -WorkQueue ($OddQueue -replace '\?', '`?')).Count | Should -Be 3
    }
}

Describe 'Get-PrefectLateRunCount in a pipeline' {
    It 'binds Get-PrefectWorkQueue objects and counts them together in a few requests' {
        Reset-PrefectEmulatorRequest $v3
        $counts = Get-PrefectWorkQueue -PrefectApiUrl $v3.ApiUrl -WorkPool k8s, ecs-pool | Get-PrefectLateRunCount
        $counts | Should -HaveCount 4
        ($counts | Measure-Object Count -Sum).Sum | Should -Be 6
        $requests = Get-PrefectEmulatorRequest $v3
        # listing for Get-PrefectWorkQueue: 2 pools + the pool details; counting: 2 listings + 1 page of runs.
        $requests.Count | Should -BeLessOrEqual 6
        $requests.Path | Should -Not -Match 'get_scheduled_flow_runs|get_runs'
    }

    It 'binds plain objects with WorkPool and WorkQueue properties' {
        $counts = [pscustomobject]@{ WorkPool = 'k8s'; WorkQueue = 'default' }, [pscustomobject]@{ WorkPool = 'ecs-pool'; WorkQueue = 'default' } |
            Get-PrefectLateRunCount -PrefectApiUrl $v3.ApiUrl
        $counts | Should -HaveCount 2
        ($counts | Measure-Object Count -Sum).Sum | Should -Be 3
    }
}

Describe 'Get-PrefectLateRunCount -Total against a <Mode> server' -ForEach @(@{ Mode = 'V3' }, @{ Mode = 'V2' }) {
    BeforeAll {
        $server = if ($Mode -eq 'V3') { $v3 } else { $v2 }
    }

    It 'returns one total per measure for a whole pool, counted by the server' {
        Reset-PrefectEmulatorRequest $server
        $totals = Get-PrefectLateRunCount -PrefectApiUrl $server.ApiUrl -WorkPool k8s -Total -Measure Late, Due, Pending, Running
        $totals | Should -HaveCount 4
        $totals[0].PSObject.TypeNames[0] | Should -Be 'PrefectScaling.Backlog.PrefectBacklogTotal'
        $totals.Measure | Should -Be @('Late', 'Due', 'Pending', 'Running')
        $totals.ForEach('Count') | Should -Be @(5, 7, 1, 2)
        $totals | ForEach-Object { $_.Scope | Should -Be 'pool k8s'; $_.ApiUrl | Should -Be $server.ApiUrl; $_.Timestamp.Kind | Should -Be 'Utc' }
        # The same numbers as the per-queue counts, added up.
        foreach ($measure in 'Late', 'Due', 'Pending', 'Running') {
            $sum = (Get-PrefectLateRunCount -PrefectApiUrl $server.ApiUrl -WorkPool k8s -Measure $measure | Measure-Object Count -Sum).Sum
            ($totals | Where-Object Measure -eq $measure).Count | Should -Be $sum
        }
    }

    It 'totals some queues of a pool, and a queue named without its pool when it is in one pool only' {
        (Get-PrefectLateRunCount -PrefectApiUrl $server.ApiUrl -WorkPool $OddPool -WorkQueue etl-nightly, etl-hourly -Total -Measure Late, Running).ForEach('Count') | Should -Be @(5, 1)
        $odd = Get-PrefectLateRunCount -PrefectApiUrl $server.ApiUrl -WorkQueue ($OddQueue -replace '\?', '`?') -Total
        $odd.Count | Should -Be 3
        $odd.Scope | Should -Be "queue $OddQueue (any pool)"
    }

    It 'costs the version, one listing and one count per measure cold, and one count per measure warm' {
        $fresh = Start-PrefectEmulator -Mode $Mode -SeedPath $SeedPath -Configuration $Configuration
        try {
            $null = Get-PrefectLateRunCount -PrefectApiUrl $fresh.ApiUrl -WorkPool k8s -Total -Measure Late, Due -QueueListingCacheSeconds 300
            (Get-PrefectEmulatorRequest $fresh).Path | Should -Be @('/admin/version', '/work_pools/filter', '/flow_runs/count', '/flow_runs/count')
            Reset-PrefectEmulatorRequest $fresh
            $null = Get-PrefectLateRunCount -PrefectApiUrl $fresh.ApiUrl -WorkPool k8s -Total -Measure Late, Due -QueueListingCacheSeconds 300
            (Get-PrefectEmulatorRequest $fresh).Path | Should -Be @('/flow_runs/count', '/flow_runs/count')
        }
        finally { Stop-PrefectEmulator $fresh }
    }
}

Describe 'Get-PrefectLateRunCount -Total with several scopes and bad ones' {
    It 'reads each pipeline object as a scope of its own, and a scope that cannot be read gives an error and no total' {
        $scopes = [pscustomobject]@{ WorkPool = 'k8s' }, [pscustomobject]@{ WorkPool = 'no-such-pool' }, [pscustomobject]@{ WorkPool = 'ecs-pool'; WorkQueue = 'default' }, [pscustomobject]@{ WorkQueue = 'default' }
        $totals = $scopes | Get-PrefectLateRunCount -PrefectApiUrl $v3.ApiUrl -Total -ErrorVariable err -ErrorAction SilentlyContinue
        $totals.Scope | Should -Be @('pool k8s', 'pool ecs-pool queue default')
        $totals.ForEach('Count') | Should -Be @(5, 1)
        $err | Should -HaveCount 2
        $missing = $err | Where-Object { $_.TargetObject -eq 'pool no-such-pool' }
        $missing.FullyQualifiedErrorId | Should -Be 'PrefectNotFound,PrefectScaling.Commands.GetPrefectLateRunCountCommand'
        $missing.CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $missing.Exception.Message | Should -Match "work pool 'no-such-pool'"
        $ambiguous = $err | Where-Object { $_.TargetObject -eq 'queue default (any pool)' }
        $ambiguous.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $ambiguous.Exception.Message | Should -Match 'in 4 work pools \(ecs-pool, k8s, paused-pool, '
    }

    It 'refuses wildcards and a missing scope before any request' {
        Reset-PrefectEmulatorRequest $v3
        Get-PrefectLateRunCount -PrefectApiUrl $v3.ApiUrl -WorkPool 'k*' -Total -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidArgument,PrefectScaling.Commands.GetPrefectLateRunCountCommand'
        $err[0].Exception.Message | Should -Match "-WorkPool 'k\*' has wildcard characters"
        Get-PrefectLateRunCount -PrefectApiUrl $v3.ApiUrl -Total -ErrorVariable err2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err2[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Get-PrefectEmulatorRequest $v3 | Should -BeNullOrEmpty
    }

    It 'names an escaped wildcard character exactly' {
        (Get-PrefectLateRunCount -PrefectApiUrl $v3.ApiUrl -WorkPool k8s -WorkQueue ($OddQueue -replace '\?', '`?') -Total).Count | Should -Be 3
    }
}

Describe 'Prefect settings' {
    It 'takes the URL from PREFECT_API_URL' {
        Invoke-WithCleanPrefectEnvironment -Set @{ PREFECT_API_URL = $v3.ApiUrl } {
            (Get-PrefectLateRunCount -WorkPool ecs-pool -WorkQueue default).Count | Should -Be 1
        }
    }

    It 'takes the URL from the active profile of PREFECT_PROFILES_PATH and says so in -Debug without secrets' {
        $profiles = Join-Path $TestDrive 'profiles.toml'
        Set-Content $profiles "active = 'local'`n[profiles.local]`nPREFECT_API_URL = '$($v3.ApiUrl)'`nPREFECT_API_KEY = 'CANARY-profile-key-42'`n"
        Invoke-WithCleanPrefectEnvironment {
            $env:PREFECT_PROFILES_PATH = $profiles
            $DebugPreference = 'Continue'
            $output = Get-PrefectLateRunCount -WorkPool ecs-pool -WorkQueue default *>&1
            ($output | Where-Object { $_ -is [System.Management.Automation.DebugRecord] }).Message -join "`n" | Should -Match "PREFECT_API_URL from profile 'local'"
            ($output | Out-String) + ($output | ForEach-Object { "$_" }) | Should -Not -Match 'CANARY-profile-key-42'
            ($output | Where-Object { $_.PSObject.TypeNames[0] -eq 'PrefectScaling.Backlog.PrefectBacklogCount' }).Count | Should -Be 1
        }
    }

    It 'reports no URL anywhere as a clear error' {
        Invoke-WithCleanPrefectEnvironment {
            $counts = Get-PrefectLateRunCount -WorkPool k8s -ErrorVariable err -ErrorAction SilentlyContinue
            $counts | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -BeLike 'PrefectInvalidSettings,*'
            $err[0].Exception.Message | Should -Match 'PREFECT_API_URL'
        }
    }
}

Describe 'Failures give an error record and no count' {
    It 'a pool that does not exist is ObjectNotFound for that input only' {
        $counts = Get-PrefectLateRunCount -PrefectApiUrl $v3.ApiUrl -WorkPool k8s, no-such-pool -WorkQueue default -ErrorVariable err -ErrorAction SilentlyContinue
        $counts | Should -HaveCount 1
        $counts.WorkPool | Should -Be 'k8s'
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'PrefectNotFound,PrefectScaling.Commands.GetPrefectLateRunCountCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Match 'no-such-pool'
    }

    It 'a blank name is InvalidArgument for that input only, in words meant for the user' {
        $counts = Get-PrefectLateRunCount -PrefectApiUrl $v3.ApiUrl -WorkPool k8s -WorkQueue ' ', default -ErrorVariable err -ErrorAction SilentlyContinue
        ($counts.WorkQueue | Select-Object -Unique) | Should -Be 'default'
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -Be 'InvalidArgument,PrefectScaling.Commands.GetPrefectLateRunCountCommand'
        $err[0].TargetObject | Should -Be ' '
        $err[0].Exception.Message | Should -Be 'A work pool or work queue name cannot be empty or blank.'
    }

    It 'a queue that does not exist is an error, never a zero' {
        $counts = Get-PrefectLateRunCount -PrefectApiUrl $v3.ApiUrl -WorkQueue nowhere -ErrorVariable err -ErrorAction SilentlyContinue
        $counts | Should -BeNullOrEmpty
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        { Get-PrefectLateRunCount -PrefectApiUrl $v3.ApiUrl -WorkQueue nowhere -ErrorAction Stop } | Should -Throw '*nowhere*'
    }

    It 'a server that is down is a ConnectionError' {
        $down = Start-PrefectEmulator -Configuration $Configuration
        $url = $down.ApiUrl
        Stop-PrefectEmulator $down
        $counts = Get-PrefectLateRunCount -PrefectApiUrl $url -WorkPool k8s -ErrorVariable err -ErrorAction SilentlyContinue
        $counts | Should -BeNullOrEmpty
        $err[0].CategoryInfo.Category | Should -Be 'ConnectionError'
        $err[0].FullyQualifiedErrorId | Should -BeLike 'PrefectConnectionFailed,*'
    }

    It 'a wrong credential is an AuthenticationError that never shows the password' {
        $secured = Start-PrefectEmulator -Mode V3 -SeedPath $SeedPath -AuthString 'admin:right' -Configuration $Configuration
        try {
            $bad = [pscredential]::new('admin', (ConvertTo-SecureString 'CANARY-wrong-7781' -AsPlainText -Force))
            $DebugPreference = 'Continue'; $VerbosePreference = 'Continue'
            $output = Get-PrefectLateRunCount -PrefectApiUrl $secured.ApiUrl -PrefectCredential $bad -WorkPool k8s -ErrorVariable err -ErrorAction SilentlyContinue *>&1
            $DebugPreference = 'SilentlyContinue'; $VerbosePreference = 'SilentlyContinue'
            $output | Where-Object { $_.PSObject.TypeNames[0] -eq 'PrefectScaling.Backlog.PrefectBacklogCount' } | Should -BeNullOrEmpty
            $err[0].CategoryInfo.Category | Should -Be 'AuthenticationError'
            ($output | Out-String) + ($err | Out-String) + ($output | ForEach-Object { "$_" }) | Should -Not -Match 'CANARY-wrong-7781'

            $good = [pscredential]::new('admin', (ConvertTo-SecureString 'right' -AsPlainText -Force))
            (Get-PrefectLateRunCount -PrefectApiUrl $secured.ApiUrl -PrefectCredential $good -WorkPool k8s -WorkQueue default).Count | Should -Be 2
        }
        finally { Stop-PrefectEmulator $secured }
    }

    It 'rate limiting past the deadline is LimitsExceeded' {
        Add-PrefectEmulatorFault $v3 @{ kind = 'TooManyRequests'; retryAfter = '600'; count = -1; pathContains = '/flow_runs' }
        try {
            $counts = Get-PrefectLateRunCount -PrefectApiUrl $v3.ApiUrl -WorkPool k8s -ErrorVariable err -ErrorAction SilentlyContinue
            $counts | Should -BeNullOrEmpty
            $err[0].CategoryInfo.Category | Should -Be 'LimitsExceeded'
            $err[0].Exception.Message | Should -Match 'deadline'
        }
        finally { Clear-PrefectEmulatorFault $v3 }
    }

    It 'a malformed URL is an InvalidArgument error before any request' {
        $counts = Get-PrefectLateRunCount -PrefectApiUrl 'not a url' -WorkPool k8s -ErrorVariable err -ErrorAction SilentlyContinue
        $counts | Should -BeNullOrEmpty
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'empty and blank names are rejected' {
        { Get-PrefectLateRunCount -PrefectApiUrl $v3.ApiUrl -WorkQueue '' } | Should -Throw -ErrorId 'ParameterArgumentValidationError,PrefectScaling.Commands.GetPrefectLateRunCountCommand'
        Reset-PrefectEmulatorRequest $v3
        Get-PrefectLateRunCount -PrefectApiUrl $v3.ApiUrl -WorkQueue '   ' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        Get-PrefectEmulatorRequest $v3 | Should -BeNullOrEmpty
    }
}

Describe 'Prefect Cloud' {
    It 'sends the API key as a bearer token and counts' {
        $cloud = Start-PrefectEmulator -Mode Cloud -SeedPath $SeedPath -ApiKey 'pnu_CANARY_cloud_1234' -Configuration $Configuration
        try {
            $key = ConvertTo-SecureString 'pnu_CANARY_cloud_1234' -AsPlainText -Force
            $DebugPreference = 'Continue'; $VerbosePreference = 'Continue'
            $output = Get-PrefectLateRunCount -PrefectApiUrl $cloud.ApiUrl -PrefectApiKey $key -WorkPool k8s *>&1
            $DebugPreference = 'SilentlyContinue'; $VerbosePreference = 'SilentlyContinue'
            ($output | Where-Object { $_.PSObject.TypeNames[0] -eq 'PrefectScaling.Backlog.PrefectBacklogCount' } | Measure-Object Count -Sum).Sum | Should -Be 5
            ($output | ForEach-Object { "$_" }) -join "`n" | Should -Not -Match 'pnu_CANARY_cloud_1234'
            (Get-PrefectEmulatorRequest $cloud).AuthScheme | Select-Object -Unique | Should -Be 'Bearer'
        }
        finally { Stop-PrefectEmulator $cloud }
    }
}

Describe 'Tab completion' {
    It 'completes -WorkPool and -WorkQueue from the server' {
        Invoke-WithCleanPrefectEnvironment -Set @{ PREFECT_API_URL = $v3.ApiUrl } {
            $line = 'Get-PrefectLateRunCount -WorkPool ec'
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be 'ecs-pool'
            $line = 'Get-PrefectLateRunCount -WorkPool k8s -WorkQueue '
            $queues = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText
            $queues | Should -Contain 'default'
            $queues | Should -Contain "'$OddQueue'"
            $line = 'Get-PrefectLateRunCount -Measure Du'
            (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be 'Due'
            $line = 'Publish-PrefectBacklogMetric -Region eu-west-'
            $regions = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
            $regions.CompletionText | Should -Contain 'eu-west-1'
            ($regions | Where-Object CompletionText -eq 'eu-west-1').ToolTip | Should -Match 'Ireland'
        }
    }
}
