# Real Prefect API servers (2.20.25 and 3.8.3) for the tests: started with the shared start-prefect.sh, handed to
# the test processes in environment variables, and seeded through their REST API.
Set-StrictMode -Version Latest

# The contract with the xunit fixture (tests/real-servers/PrefectScaling.RealServer.Tests/RealPrefectServer.cs).
$script:Kinds = [ordered]@{
    Prefect2     = @{ Version = '2'; Expected = '2.20.25'; UrlVariable = 'PREFECTSCALING_REAL_PREFECT2_URL'; Auth = $false }
    Prefect3     = @{ Version = '3'; Expected = '3.8.3'; UrlVariable = 'PREFECTSCALING_REAL_PREFECT3_URL'; Auth = $false }
    Prefect3Auth = @{ Version = '3'; Expected = '3.8.3'; UrlVariable = 'PREFECTSCALING_REAL_PREFECT3_AUTH_URL'; Auth = $true }
}
$script:AuthStringVariable = 'PREFECTSCALING_REAL_PREFECT3_AUTH_STRING'
$script:ServersVariable = 'PREFECTSCALING_PREFECT_SERVERS'

<#
.SYNOPSIS
    The folder of start-prefect.sh and stop-prefect.sh: $env:PREFECTSCALING_PREFECT_SERVERS, else
    ../shared/prefect-servers beside the repository. Fails clearly when the scripts are not there.
#>
function Get-RealPrefectServersDirectory {
    $directory = if ($env:PREFECTSCALING_PREFECT_SERVERS) { $env:PREFECTSCALING_PREFECT_SERVERS }
                 else { Join-Path $PSScriptRoot '../../../shared/prefect-servers' }
    $directory = [System.IO.Path]::GetFullPath($directory)
    foreach ($script in 'start-prefect.sh', 'stop-prefect.sh') {
        if (-not (Test-Path (Join-Path $directory $script))) {
            throw "The real Prefect server scripts are not in $directory (no $script). Put them at ../shared/prefect-servers beside the repository or point $script:ServersVariable at them."
        }
    }
    $directory
}

<#
.SYNOPSIS
    Begins starting one real server of a kind (Prefect2, Prefect3, Prefect3Auth) and returns at once; pass the
    result to Wait-RealPrefectServer. The basic-auth server gets a new random credential.
#>
function Start-RealPrefectServer {
    [CmdletBinding()]
    param([Parameter(Mandatory)] [ValidateSet('Prefect2', 'Prefect3', 'Prefect3Auth')] [string] $Kind)
    $directory = Get-RealPrefectServersDirectory
    $info = $script:Kinds[$Kind]
    $start = [System.Diagnostics.ProcessStartInfo]::new('bash')
    # The script takes the credential as --auth USER:PASS; it must not show on a command line, so bash reads it
    # from its environment and sources the script with it as an argument.
    $command = 'a=${PREFECTSCALING_START_AUTH-}; unset PREFECTSCALING_START_AUTH; set -- --version "$1" --port 0 --timeout 300 ${a:+--auth "$a"}; . "$0"'
    foreach ($a in @('-c', $command, (Join-Path $directory 'start-prefect.sh'), $info.Version)) { $start.ArgumentList.Add($a) }
    $authString = $null
    if ($info.Auth) {
        $authString = 'prefectscaling:' + [guid]::NewGuid().ToString('n')
        $start.Environment['PREFECTSCALING_START_AUTH'] = $authString
    }
    $start.RedirectStandardOutput = $true
    $start.RedirectStandardError = $true
    $start.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($start)
    [pscustomobject]@{
        PSTypeName = 'PrefectScaling.TestHost.RealPrefectStart'
        Kind       = $Kind
        Process    = $process
        Stdout     = $process.StandardOutput.ReadToEndAsync()
        Stderr     = $process.StandardError.ReadToEndAsync()
        AuthString = $authString
        Clock      = [System.Diagnostics.Stopwatch]::StartNew()
        StopScript = Join-Path $directory 'stop-prefect.sh'
        Server     = $null
    }
}

<#
.SYNOPSIS
    Waits for a start begun by Start-RealPrefectServer; returns the server (Kind, Version, ApiUrl, AuthString,
    WorkDir, Owned, StartSeconds) once it answers /admin/version with the expected version, else throws.
#>
function Wait-RealPrefectServer {
    [CmdletBinding()]
    param([Parameter(Mandatory, ValueFromPipeline)] $Start, [int] $TimeoutSeconds = 480)
    process {
        if ($Start.Server) { return $Start.Server }
        if (-not $Start.Process.WaitForExit($TimeoutSeconds * 1000)) {
            $Start.Process.Kill($true)
            throw "start-prefect.sh for $($Start.Kind) did not finish within $TimeoutSeconds s."
        }
        $line = $Start.Stdout.GetAwaiter().GetResult().Trim()
        $values = @{}
        foreach ($kv in ($line -split ' ')) { $k, $v = $kv -split '=', 2; if ($v) { $values[$k] = $v } }
        if ($Start.Process.ExitCode -ne 0 -or -not $values['PREFECT_API_URL'] -or -not $values['WORKDIR']) {
            throw "start-prefect.sh for $($Start.Kind) failed (exit $($Start.Process.ExitCode)):`n$($Start.Stderr.GetAwaiter().GetResult())"
        }
        $server = [pscustomobject]@{
            PSTypeName   = 'PrefectScaling.TestHost.RealPrefect'
            Kind         = $Start.Kind
            Version      = $null
            ApiUrl       = $values['PREFECT_API_URL']
            AuthString   = $Start.AuthString
            WorkDir      = $values['WORKDIR']
            StopScript   = $Start.StopScript
            Owned        = $true
            StartSeconds = [math]::Round($Start.Clock.Elapsed.TotalSeconds, 1)
        }
        $Start.Server = $server
        $server.Version = Assert-RealPrefectVersion $server
        $server
    }
}

function Assert-RealPrefectVersion($Server) {
    $expected = $script:Kinds[$Server.Kind].Expected
    $version = Invoke-RestMethod -Uri "$($Server.ApiUrl)/admin/version" -Headers (Get-RealPrefectHeader $Server) -TimeoutSec 30
    if ($version -ne $expected) { throw "The server at $($Server.ApiUrl) given as $($Server.Kind) is Prefect $version, not $expected." }
    $version
}

<#
.SYNOPSIS
    Stops what Start-RealPrefectServer started (waiting for a start still under way first); a server this
    process did not start is left alone.
#>
function Stop-RealPrefectServer {
    [CmdletBinding()]
    param([Parameter(Mandatory, ValueFromPipeline)] $InputObject)
    process {
        $server = $InputObject
        if ($InputObject.PSObject.TypeNames -contains 'PrefectScaling.TestHost.RealPrefectStart') {
            if (-not $InputObject.Server) {
                # A start still under way (the build failed first, say): let it finish, then stop what it made.
                if (-not $InputObject.Process.WaitForExit(480000)) { $InputObject.Process.Kill($true); return }
                $line = $InputObject.Stdout.GetAwaiter().GetResult()
                if ($line -notmatch 'WORKDIR=(\S+)') { return }   # it failed and cleaned up after itself
                $InputObject.Server = [pscustomobject]@{ WorkDir = $Matches[1]; StopScript = $InputObject.StopScript; Owned = $true }
            }
            $server = $InputObject.Server
        }
        if (-not $server.Owned -or -not $server.WorkDir) { return }
        $said = & bash $server.StopScript $server.WorkDir 2>&1
        if ($LASTEXITCODE -ne 0) { Write-Warning "stop-prefect.sh $($server.WorkDir) failed: $said" }
        $server.WorkDir = $null
    }
}

<#
.SYNOPSIS
    The servers of the given kinds: the ones named in the environment (build.ps1 Test starts them once per run),
    else ones started here (Owned; stop them with Stop-RealPrefectServer).
#>
function Get-RealPrefectServer {
    [CmdletBinding()]
    param([ValidateSet('Prefect2', 'Prefect3', 'Prefect3Auth')] [string[]] $Kind = @('Prefect2', 'Prefect3', 'Prefect3Auth'))
    $starts = foreach ($k in $Kind) {
        $url = [Environment]::GetEnvironmentVariable($script:Kinds[$k].UrlVariable)
        if ($url) {
            $auth = $null
            if ($script:Kinds[$k].Auth) {
                $auth = [Environment]::GetEnvironmentVariable($script:AuthStringVariable)
                if (-not $auth) { throw "$($script:Kinds[$k].UrlVariable) is set but $script:AuthStringVariable is not." }
            }
            $server = [pscustomobject]@{ PSTypeName = 'PrefectScaling.TestHost.RealPrefect'; Kind = $k; Version = $null; ApiUrl = $url.TrimEnd('/'); AuthString = $auth; WorkDir = $null; StopScript = $null; Owned = $false; StartSeconds = 0 }
            $server.Version = Assert-RealPrefectVersion $server
            $server
        }
        else {
            Start-RealPrefectServer -Kind $k
        }
    }
    foreach ($s in $starts) { if ($s.PSObject.TypeNames -contains 'PrefectScaling.TestHost.RealPrefect') { $s } else { Wait-RealPrefectServer $s } }
}

<#
.SYNOPSIS
    Points the test processes at the servers: the variables Get-RealPrefectServer and the xunit fixture read.
#>
function Set-RealPrefectEnvironment {
    param([Parameter(Mandatory)] $Server)
    foreach ($s in $Server) {
        [Environment]::SetEnvironmentVariable($script:Kinds[$s.Kind].UrlVariable, $s.ApiUrl)
        if ($s.AuthString) { [Environment]::SetEnvironmentVariable($script:AuthStringVariable, $s.AuthString) }
    }
}

function Clear-RealPrefectEnvironment {
    foreach ($k in $script:Kinds.Values) { [Environment]::SetEnvironmentVariable($k.UrlVariable, [NullString]::Value) }
    [Environment]::SetEnvironmentVariable($script:AuthStringVariable, [NullString]::Value)
}

# A server in words, for test output (never the credential).
function Format-RealPrefectServer {
    param([Parameter(Mandatory, ValueFromPipeline)] $Server)
    process { "Prefect $($Server.Version)$(if ($Server.AuthString) { ' (basic auth)' }) at $($Server.ApiUrl)" }
}

function Get-RealPrefectHeader($Server) {
    if ($Server.AuthString) { @{ Authorization = 'Basic ' + [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($Server.AuthString)) } } else { @{} }
}

<#
.SYNOPSIS
    Sends one request to a real server; retries the 503 that SQLite's "database is locked" gives. Returns
    Status and Body (parsed JSON).
#>
function Invoke-RealPrefect {
    param([Parameter(Mandatory)] $Server, [Parameter(Mandatory)] [string] $Path, $Body, [string] $Method = 'Post')
    for ($attempt = 1; ; $attempt++) {
        $parameters = @{ Method = $Method; Uri = "$($Server.ApiUrl)$Path"; Headers = (Get-RealPrefectHeader $Server); SkipHttpErrorCheck = $true; StatusCodeVariable = 'status'; TimeoutSec = 60 }
        if ($null -ne $Body) { $parameters.Body = ($Body | ConvertTo-Json -Depth 20 -Compress); $parameters.ContentType = 'application/json; charset=utf-8' }
        $answer = Invoke-RestMethod @parameters
        if ($status -ne 503 -or $attempt -ge 30) { return [pscustomobject]@{ Status = [int]$status; Body = $answer } }
        Start-Sleep -Milliseconds ([math]::Min(2000, 100 * $attempt))
    }
}

function Invoke-RealPrefectCreate($Server, [string] $Path, $Body) {
    $answer = Invoke-RealPrefect -Server $Server -Path $Path -Body $Body
    # A 409 after a retried 503 means the first attempt made it.
    if ($answer.Status -notin 200, 201, 409) { throw "POST $Path $($Body | ConvertTo-Json -Depth 20 -Compress) answered $($answer.Status): $($answer.Body | ConvertTo-Json -Depth 20 -Compress)" }
    $answer.Body
}

function Get-RealPrefectTimestamp([DateTimeOffset] $Value) { $Value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", [cultureinfo]::InvariantCulture) }

<#
.SYNOPSIS
    A scenario: pools with queues, legacy 2.x queues, and runs per queue in a state (Late: scheduled a minute ago
    and left for the server's late-runs service; LateDirect, Future, Pending, Running, Cancelling, AwaitingRetry,
    AwaitingConcurrencySlot, Completed). Names carry a unique suffix.
#>
function New-RealPrefectScenario([string] $Tag) {
    [pscustomobject]@{ Suffix = "$Tag-" + [guid]::NewGuid().ToString('n').Substring(0, 10); Pools = [System.Collections.Generic.List[object]]::new(); LegacyQueues = [System.Collections.Generic.List[string]]::new(); Runs = [System.Collections.Generic.List[object]]::new(); FlowId = $null }
}

function Add-RealPrefectPool($Scenario, [string] $Name, [string] $Type = 'process', [string[]] $Queue = @()) { $Scenario.Pools.Add([pscustomobject]@{ Name = $Name; Type = $Type; Queues = $Queue }) }

function Add-RealPrefectRun($Scenario, [AllowNull()] [string] $Pool, [string] $Queue, [string] $Kind, [int] $Count = 1) {
    $Scenario.Runs.Add([pscustomobject]@{ Pool = $(if ($Pool) { $Pool } else { 'default-agent-pool' }); Legacy = -not $Pool; Queue = $Queue; Kind = $Kind; Count = $Count })
}

<#
.SYNOPSIS
    What a measure must count for one queue of a scenario (README "Measures").
#>
function Get-RealPrefectExpected($Scenario, [string] $Pool, [string] $Queue, [string] $Measure) {
    $kinds = switch ($Measure) { 'Late' { 'Late', 'LateDirect' } 'Due' { 'Late', 'LateDirect', 'AwaitingRetry' } 'Pending' { 'Pending' } 'Running' { 'Running' } }
    $n = 0
    foreach ($r in $Scenario.Runs) { if ($r.Pool -ceq $Pool -and $r.Queue -ceq $Queue -and $r.Kind -in $kinds) { $n += $r.Count } }
    $n
}

<#
.SYNOPSIS
    Creates a scenario on a real server through its REST API, one request at a time (SQLite serializes writes);
    Wait-RealPrefectLate then waits for the late-runs service.
#>
function Publish-RealPrefectScenario($Server, $Scenario) {
    $now = [DateTimeOffset]::UtcNow
    $flow = Invoke-RealPrefectCreate $Server '/flows/' @{ name = "flow-$($Scenario.Suffix)" }
    $Scenario.FlowId = $flow.id
    $deployments = @{}
    $n = 0
    foreach ($pool in $Scenario.Pools) {
        $null = Invoke-RealPrefectCreate $Server '/work_pools/' @{ name = $pool.Name; type = $pool.Type }
        foreach ($q in $pool.Queues) { $null = Invoke-RealPrefectCreate $Server "/work_pools/$([uri]::EscapeDataString($pool.Name))/queues" @{ name = $q } }
        $deployments[$pool.Name] = (Invoke-RealPrefectCreate $Server '/deployments/' @{ name = "dep-$(($n++))-$($Scenario.Suffix)"; flow_id = $flow.id; work_pool_name = $pool.Name; work_queue_name = 'default' }).id
    }
    foreach ($q in $Scenario.LegacyQueues) {
        # 2.x: the legacy queue API puts the queue in default-agent-pool, as does a deployment naming no pool.
        $null = Invoke-RealPrefectCreate $Server '/work_queues/' @{ name = $q }
        $deployments["legacy:$q"] = (Invoke-RealPrefectCreate $Server '/deployments/' @{ name = "dep-$(($n++))-$($Scenario.Suffix)"; flow_id = $flow.id; work_queue_name = $q }).id
    }
    $key = 0
    foreach ($run in $Scenario.Runs) {
        $state = switch ($run.Kind) {
            'Late' { @{ type = 'SCHEDULED'; name = 'Scheduled'; state_details = @{ scheduled_time = Get-RealPrefectTimestamp $now.AddSeconds(-60) } } }
            'LateDirect' { @{ type = 'SCHEDULED'; name = 'Late'; state_details = @{ scheduled_time = Get-RealPrefectTimestamp $now.AddMinutes(-10) } } }
            'Future' { @{ type = 'SCHEDULED'; name = 'Scheduled'; state_details = @{ scheduled_time = Get-RealPrefectTimestamp $now.AddDays(1) } } }
            'AwaitingRetry' { @{ type = 'SCHEDULED'; name = 'AwaitingRetry'; state_details = @{ scheduled_time = Get-RealPrefectTimestamp $now.AddSeconds(-60) } } }
            'AwaitingConcurrencySlot' { @{ type = 'SCHEDULED'; name = 'AwaitingConcurrencySlot'; state_details = @{ scheduled_time = Get-RealPrefectTimestamp $now.AddSeconds(-60) } } }
            default { @{ type = $run.Kind.ToUpperInvariant(); name = $run.Kind } }
        }
        $deployment = if ($run.Legacy) { $deployments["legacy:$($run.Queue)"] } else { $deployments[$run.Pool] }
        for ($i = 0; $i -lt $run.Count; $i++) {
            # The idempotency key makes a create retried after a 503 return the run it already made.
            $body = @{ idempotency_key = "$($Scenario.Suffix)-$(($key++))"; state = $state }
            if (-not $run.Legacy) { $body.work_queue_name = $run.Queue }
            $null = Invoke-RealPrefectCreate $Server "/deployments/$deployment/create_flow_run" $body
        }
    }
}

<#
.SYNOPSIS
    Waits, bounded, until the server's late-runs service has marked the scenario's runs Late.
#>
function Wait-RealPrefectLate($Server, $Scenario, [int] $TimeoutSeconds = 120) {
    $late = ($Scenario.Runs | Where-Object Kind -in 'Late', 'LateDirect' | Measure-Object Count -Sum).Sum
    $future = ($Scenario.Runs | Where-Object Kind -eq 'Future' | Measure-Object Count -Sum).Sum
    $query = { param($name) @{ flows = @{ id = @{ any_ = @($Scenario.FlowId) } }; flow_runs = @{ state = @{ name = @{ any_ = @($name) } } } } }
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    do {
        $marked = (Invoke-RealPrefect -Server $Server -Path '/flow_runs/count' -Body (& $query 'Late')).Body
        $waiting = (Invoke-RealPrefect -Server $Server -Path '/flow_runs/count' -Body (& $query 'Scheduled')).Body
        if ($marked -eq $late -and $waiting -eq $future) { return $clock.Elapsed }
        Start-Sleep -Milliseconds 500
    } while ($clock.Elapsed.TotalSeconds -lt $TimeoutSeconds)
    throw "The late-runs service of $($Server | Format-RealPrefectServer) did not mark scenario $($Scenario.Suffix) within $TimeoutSeconds s: $marked of $late Late, $waiting still Scheduled."
}

Export-ModuleMember -Function Get-RealPrefectServersDirectory, Start-RealPrefectServer, Wait-RealPrefectServer, Stop-RealPrefectServer, Get-RealPrefectServer,
    Set-RealPrefectEnvironment, Clear-RealPrefectEnvironment, Format-RealPrefectServer, Invoke-RealPrefect, New-RealPrefectScenario, Add-RealPrefectPool,
    Add-RealPrefectRun, Get-RealPrefectExpected, Publish-RealPrefectScenario, Wait-RealPrefectLate
