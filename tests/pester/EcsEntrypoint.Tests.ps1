# The worker side of task protection: the module's container entrypoint (scripts/prefect-ecs-entrypoint.py, as the
# build lays it out) against a local stand-in of the ECS agent's metadata and task protection endpoints, with a
# fake worker that starts a flow-run process the way a worker does (PREFECT__FLOW_RUN_ID in its environment).
Describe 'prefect-ecs-entrypoint.py' {
    BeforeAll {
        . (Join-Path $PSScriptRoot 'Common.ps1')
        $script:Entrypoint = Join-Path (Split-Path $ModulePath) 'scripts/prefect-ecs-entrypoint.py'
        $script:FakeWorker = Join-Path $PSScriptRoot '../emulators/ecs/fake_worker.py'
        $script:AgentScript = Join-Path $PSScriptRoot '../emulators/ecs/ecs_agent_standin.py'

        # Starts the stand-in and the entrypoint over the fake worker; returns both, with where the fake writes.
        function Start-Entrypoint([string] $TaskId, [string[]] $Command, [hashtable] $Settings) {
            $agent = [System.Diagnostics.ProcessStartInfo]::new('python3')
            foreach ($a in @($AgentScript, $TaskId, "$PID")) { $agent.ArgumentList.Add($a) }
            $agent.RedirectStandardOutput = $true; $agent.UseShellExecute = $false
            $agentProcess = [System.Diagnostics.Process]::Start($agent)
            $line = $agentProcess.StandardOutput.ReadLineAsync()
            if (-not $line.Wait(30000) -or $line.Result -notmatch 'listening on (\S+)') { throw "The ECS agent stand-in did not start: $($line.Result)" }
            $url = $Matches[1]
            $dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('n'))
            $null = New-Item -ItemType Directory $dir
            $start = [System.Diagnostics.ProcessStartInfo]::new('python3')
            foreach ($a in @($Entrypoint) + $Command) { $start.ArgumentList.Add($a) }
            $start.UseShellExecute = $false
            $start.RedirectStandardError = $true
            $start.Environment['ECS_CONTAINER_METADATA_URI_V4'] = "$url/v4/container-1"
            $start.Environment['ECS_AGENT_URI'] = "$url/api/container-1"
            $start.Environment['FAKE_ARGS_FILE'] = Join-Path $dir 'args.json'
            $start.Environment['FAKE_SIGNALS_FILE'] = Join-Path $dir 'signals.txt'
            foreach ($k in $Settings.Keys) { $start.Environment[$k] = $Settings[$k] }
            $process = [System.Diagnostics.Process]::Start($start)
            $stderr = $process.StandardError.ReadToEndAsync()
            [pscustomobject]@{ Agent = $agentProcess; AgentUrl = $url; Process = $process; Dir = $dir; Stderr = $stderr }
        }

        function Get-ProtectionCall($Run) { @(Invoke-RestMethod "$($Run.AgentUrl)/_calls") | ForEach-Object { $_ } }

        # Waits (bounded, generously: the machine may be busy) until $Condition holds.
        function Wait-Until([scriptblock] $Condition, [int] $Seconds = 120) {
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            while (-not (& $Condition)) {
                if ($clock.Elapsed.TotalSeconds -gt $Seconds) { return $false }
                Start-Sleep -Milliseconds 200
            }
            $true
        }

        function Stop-Run($Run) {
            foreach ($p in $Run.Process, $Run.Agent) { if ($p -and -not $p.HasExited) { $p.Kill($true); $null = $p.WaitForExit(10000) } }
        }
    }

    It 'names the worker after its task, protects the task while a flow runs, renews it, releases it once idle, and forwards signals' {
        $run = Start-Entrypoint -TaskId '0f1e2d3c4b5a69788796a5b4c3d2e1f0' -Command @('python3', $FakeWorker, 'worker', 'start', '--pool', 'p', '--limit', '2') -Settings @{
            PREFECT_ECS_PROTECT_MINUTES = '5'; PREFECT_ECS_RENEW_SECONDS = '1'; PREFECT_ECS_IDLE_GRACE_SECONDS = '1'; PREFECT_ECS_POLL_SECONDS = '0.2'
            FAKE_FLOW_AFTER = '1'; FAKE_FLOW_SECONDS = '4'
        }
        try {
            Wait-Until { @(Get-ProtectionCall $run | Where-Object { -not $_.body.ProtectionEnabled }).Count -gt 0 } | Should -BeTrue
            (Get-Content -Raw (Join-Path $run.Dir 'args.json') | ConvertFrom-Json) | Should -Be @('worker', 'start', '--pool', 'p', '--limit', '2', '--name', 'ecs-0f1e2d3c4b5a69788796a5b4c3d2e1f0')
            $calls = @(Get-ProtectionCall $run)
            $on = @($calls | Where-Object { $_.body.ProtectionEnabled })
            # Set, then renewed while the 4-second flow ran (every second), then cleared once, after it.
            $on.Count | Should -BeGreaterOrEqual 2
            $on | ForEach-Object { $_.body.ExpiresInMinutes | Should -Be 5 }
            $calls[-1].body.ProtectionEnabled | Should -BeFalse
            @($calls | Where-Object { -not $_.body.ProtectionEnabled }).Count | Should -Be 1
            $calls[-1].at | Should -BeGreaterThan $on[-1].at
            (Invoke-RestMethod "$($run.AgentUrl)/api/container-1/task-protection/v1/state").protection.ProtectionEnabled | Should -BeFalse

            # SIGUSR1 and SIGTERM reach the worker; the entrypoint ends with the worker's own exit code.
            & kill -USR1 $run.Process.Id
            Wait-Until { (Test-Path (Join-Path $run.Dir 'signals.txt')) -and (Get-Content (Join-Path $run.Dir 'signals.txt')) -contains 'SIGUSR1' } | Should -BeTrue
            & kill -TERM $run.Process.Id
            $run.Process.WaitForExit(60000) | Should -BeTrue
            $run.Process.ExitCode | Should -Be 7
            Get-Content (Join-Path $run.Dir 'signals.txt') | Should -Be @('SIGUSR1', 'SIGTERM')
        }
        finally { Stop-Run $run }
    }

    It 'leaves protection alone while no flow runs, and keeps the --name a worker was given' {
        $run = Start-Entrypoint -TaskId 'idle-task' -Command @('python3', $FakeWorker, 'worker', 'start', '--pool', 'p', '--name', 'mine') -Settings @{
            PREFECT_ECS_PROTECT_MINUTES = '2880'; PREFECT_ECS_IDLE_GRACE_SECONDS = '0'; PREFECT_ECS_POLL_SECONDS = '0.2'
            FAKE_FLOW_AFTER = '3600'
        }
        try {
            Wait-Until { Test-Path (Join-Path $run.Dir 'args.json') } | Should -BeTrue
            # A worker given its own --name keeps it.
            (Get-Content -Raw (Join-Path $run.Dir 'args.json') | ConvertFrom-Json) | Should -Be @('worker', 'start', '--pool', 'p', '--name', 'mine')
            Start-Sleep -Seconds 2
            @(Get-ProtectionCall $run).Count | Should -Be 0
            & kill -TERM $run.Process.Id
            $run.Process.WaitForExit(60000) | Should -BeTrue
            @(Get-ProtectionCall $run).Count | Should -Be 0
        }
        finally { Stop-Run $run }
    }

    It 'outside ECS runs the command as it is, unnamed and unprotected, and passes its exit code on' {
        $dir = Join-Path $TestDrive 'outside'
        $null = New-Item -ItemType Directory $dir
        $start = [System.Diagnostics.ProcessStartInfo]::new('python3')
        foreach ($a in @($Entrypoint, 'python3', $FakeWorker, 'worker', 'start')) { $start.ArgumentList.Add($a) }
        $start.UseShellExecute = $false
        foreach ($k in 'ECS_CONTAINER_METADATA_URI_V4', 'ECS_AGENT_URI') { $null = $start.Environment.Remove($k) }
        $start.Environment['FAKE_ARGS_FILE'] = Join-Path $dir 'args.json'
        $start.Environment['FAKE_SIGNALS_FILE'] = Join-Path $dir 'signals.txt'
        $start.Environment['FAKE_FLOW_AFTER'] = '3600'
        $process = [System.Diagnostics.Process]::Start($start)
        try {
            Wait-Until { Test-Path (Join-Path $dir 'args.json') } | Should -BeTrue
            (Get-Content -Raw (Join-Path $dir 'args.json') | ConvertFrom-Json) | Should -Be @('worker', 'start')
            & kill -TERM $process.Id
            $process.WaitForExit(60000) | Should -BeTrue
            $process.ExitCode | Should -Be 7
        }
        finally { if (-not $process.HasExited) { $process.Kill($true) } }
    }

    It 'refuses a protection length ECS would refuse, before starting anything' {
        $run = Start-Entrypoint -TaskId 't' -Command @('python3', $FakeWorker, 'worker', 'start') -Settings @{ PREFECT_ECS_PROTECT_MINUTES = '2881' }
        try {
            $run.Process.WaitForExit(60000) | Should -BeTrue
            $run.Process.ExitCode | Should -Not -Be 0
            $run.Stderr.Result | Should -Match 'PREFECT_ECS_PROTECT_MINUTES must be 1 to 2880'
            Test-Path (Join-Path $run.Dir 'args.json') | Should -BeFalse
        }
        finally { Stop-Run $run }
    }
}
