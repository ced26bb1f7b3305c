# Starts and drives the local emulators that the Pester tests, the Demo and the benchmark run against.
Set-StrictMode -Version Latest

function Start-PrefectEmulator {
    [CmdletBinding()]
    param(
        [ValidateSet('V3', 'V2', 'V2Legacy', 'Cloud')] [string] $Mode = 'V3',
        [string] $SeedPath,
        [string] $AuthString,
        [string] $ApiKey,
        [string] $Configuration = 'Release'
    )
    $dll = Join-Path $PSScriptRoot "PrefectEmulator/bin/$Configuration/net10.0/PrefectEmulator.dll"
    if (-not (Test-Path $dll)) { throw "The Prefect emulator is not built ($dll); run build.ps1 Build first." }
    $start = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in @($dll, '--mode', $Mode.ToLowerInvariant(), '--parent-pid', "$PID")) { $start.ArgumentList.Add($a) }
    if ($SeedPath) { $start.ArgumentList.Add('--seed'); $start.ArgumentList.Add((Resolve-Path $SeedPath).Path) }
    # Secrets travel in the environment, never in arguments.
    if ($AuthString) { $start.Environment['PREFECT_EMULATOR_AUTH_STRING'] = $AuthString }
    if ($ApiKey) { $start.Environment['PREFECT_EMULATOR_API_KEY'] = $ApiKey }
    $start.RedirectStandardOutput = $true
    $start.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($start)
    $read = $process.StandardOutput.ReadLineAsync()
    if (-not $read.Wait(30000) -or $read.Result -notmatch 'listening on (\S+)') {
        if (-not $process.HasExited) { $process.Kill($true) }
        throw "The Prefect emulator did not start (said: '$($read.Result)')."
    }
    $apiUrl = $Matches[1]
    $uri = [uri]$apiUrl
    [pscustomobject]@{
        PSTypeName = 'PrefectScaling.TestHost.Emulator'
        ApiUrl     = $apiUrl
        RootUrl    = $uri.GetLeftPart([System.UriPartial]::Authority)
        Mode       = $Mode
        Process    = $process
    }
}

function Stop-PrefectEmulator {
    param([Parameter(Mandatory, ValueFromPipeline)] $Emulator)
    process {
        if (-not $Emulator.Process.HasExited) { $Emulator.Process.Kill($true); $null = $Emulator.Process.WaitForExit(10000) }
        $Emulator.Process.Dispose()
    }
}

function Set-PrefectEmulatorSeed {
    param([Parameter(Mandatory)] $Emulator, [Parameter(Mandatory)] $Seed)
    $json = if ($Seed -is [string]) { $Seed } else { $Seed | ConvertTo-Json -Depth 10 }
    $null = Invoke-RestMethod -Method Post -Uri "$($Emulator.RootUrl)/_emulator/seed" -ContentType 'application/json' -Body $json
}

function Get-PrefectEmulatorRequest {
    param([Parameter(Mandatory)] $Emulator)
    # Invoke-RestMethod returns a JSON array as one object: write its items one by one.
    $requests = Invoke-RestMethod -Uri "$($Emulator.RootUrl)/_emulator/requests"
    $requests | Write-Output
}

function Reset-PrefectEmulatorRequest {
    param([Parameter(Mandatory)] $Emulator)
    $null = Invoke-RestMethod -Method Post -Uri "$($Emulator.RootUrl)/_emulator/requests/reset"
}

function Add-PrefectEmulatorFault {
    param([Parameter(Mandatory)] $Emulator, [Parameter(Mandatory)] [hashtable] $Rule)
    $null = Invoke-RestMethod -Method Post -Uri "$($Emulator.RootUrl)/_emulator/faults" -ContentType 'application/json' -Body ($Rule | ConvertTo-Json)
}

function Clear-PrefectEmulatorFault {
    param([Parameter(Mandatory)] $Emulator)
    $null = Invoke-RestMethod -Method Delete -Uri "$($Emulator.RootUrl)/_emulator/faults"
}

# Starts a process under a watchdog that ends it when this PowerShell process ends, with stdout+stderr going to
# a log file; returns once a line of the log matches $Ready (the match's first group is returned as Url).
function Start-LoggedProcess([string] $Name, [string] $Command, [string[]] $Arguments, [string] $Ready, [int] $TimeoutSeconds = 60) {
    $log = Join-Path ([System.IO.Path]::GetTempPath()) "prefectscaling-$Name-$PID-$([guid]::NewGuid().ToString('n').Substring(0, 8)).log"
    $quoted = ($Arguments | ForEach-Object { "'" + ($_ -replace "'", "'\''") + "'" }) -join ' '
    $script = "$Command $quoted > '$log' 2>&1 & child=`$!; while kill -0 $PID 2>/dev/null && kill -0 `$child 2>/dev/null; do sleep 1; done; kill `$child 2>/dev/null; wait `$child 2>/dev/null"
    $process = Start-Process -FilePath 'bash' -ArgumentList '-c', "`"$($script -replace '"', '\"')`"" -PassThru
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    while ($clock.Elapsed.TotalSeconds -lt $TimeoutSeconds) {
        if (Test-Path $log) {
            $match = Select-String -Path $log -Pattern $Ready | Select-Object -First 1
            if ($match) { return [pscustomobject]@{ Url = $match.Matches[0].Groups[1].Value; Process = $process; Log = $log } }
        }
        if ($process.HasExited) { break }
        Start-Sleep -Milliseconds 100
    }
    $said = if (Test-Path $log) { Get-Content -Raw $log } else { '' }
    Stop-LoggedProcess $process
    throw "$Name did not start: $said"
}

function Stop-LoggedProcess($Process) {
    if ($Process -and -not $Process.HasExited) {
        # The watchdog shell ends its child when it goes.
        & pkill -TERM -P $Process.Id 2>$null
        $Process.Kill($true)
        $null = $Process.WaitForExit(10000)
    }
}

<#
.SYNOPSIS
    Starts moto_server (the AWS emulator) on a free loopback port; returns its Url.
#>
function Start-MotoServer {
    $moto = Start-LoggedProcess -Name 'moto' -Command 'moto_server' -Arguments @('-H', '127.0.0.1', '-p', '0') -Ready 'Running on (http://127\.0\.0\.1:\d+)'
    [pscustomobject]@{ PSTypeName = 'PrefectScaling.TestHost.Moto'; Url = $moto.Url; Process = $moto.Process; Log = $moto.Log }
}

function Stop-MotoServer {
    param([Parameter(Mandatory, ValueFromPipeline)] $Moto)
    process { Stop-LoggedProcess $Moto.Process }
}

function Reset-MotoServer {
    param([Parameter(Mandatory)] $Moto)
    $null = Invoke-RestMethod -Method Post -Uri "$($Moto.Url)/moto-api/reset"
}

<#
.SYNOPSIS
    Starts a recording proxy in front of an AWS endpoint: point -EndpointUrl at its Url, then read what was sent
    with Get-AwsCapturedRequest and check the signatures with Test-AwsSignature.
#>
function Start-AwsCaptureProxy {
    param([Parameter(Mandatory)] [string] $UpstreamUrl)
    $log = Join-Path ([System.IO.Path]::GetTempPath()) "prefectscaling-capture-$PID-$([guid]::NewGuid().ToString('n').Substring(0, 8)).jsonl"
    $null = New-Item -ItemType File -Force $log
    $proxy = Start-LoggedProcess -Name 'capture' -Command 'python3' -Arguments @((Join-Path $PSScriptRoot 'aws/capture_proxy.py'), $UpstreamUrl, $log, "$PID") -Ready 'listening on (http://127\.0\.0\.1:\d+)'
    [pscustomobject]@{ Url = $proxy.Url; Process = $proxy.Process; Capture = $log }
}

function Stop-AwsCaptureProxy {
    param([Parameter(Mandatory, ValueFromPipeline)] $Proxy)
    process { Stop-LoggedProcess $Proxy.Process }
}

function Clear-AwsCapturedRequest {
    param([Parameter(Mandatory)] $Proxy)
    Set-Content -Path $Proxy.Capture -Value $null -NoNewline
}

# The captured requests, with the AWS action (query Action=, JSON X-Amz-Target, or the REST path).
function Get-AwsCapturedRequest {
    param([Parameter(Mandatory)] $Proxy)
    foreach ($line in (Get-Content $Proxy.Capture | Where-Object { $_ })) {
        $entry = $line | ConvertFrom-Json
        $body = [System.Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($entry.body))
        $target = ($entry.headers | Where-Object { $_[0] -eq 'X-Amz-Target' } | Select-Object -First 1)
        $action = if ($body -match '(?:^|&)Action=([^&]+)') { $Matches[1] } elseif ($target) { ($target[1] -split '\.')[-1] } else { "$($entry.method) $($entry.path)" }
        [pscustomobject]@{ Method = $entry.method; Path = $entry.path; Action = $action; Body = $body; Headers = $entry.headers }
    }
}

# Recomputes every captured request's SigV4 signature with botocore; returns its JSON summary.
function Test-AwsSignature {
    param([Parameter(Mandatory)] $Proxy, [Parameter(Mandatory)] [string] $AccessKey, [Parameter(Mandatory)] [string] $SecretKey)
    $json = & python3 (Join-Path $PSScriptRoot 'aws/verify_sigv4.py') $Proxy.Capture $AccessKey $SecretKey
    $json | ConvertFrom-Json
}

# Runs the AWS CLI against an endpoint with test credentials; returns its parsed JSON.
function Invoke-AwsCli {
    [CmdletBinding(PositionalBinding = $false)]
    param([Parameter(Mandatory)] [string] $EndpointUrl, [string] $Region = 'us-east-1', [Parameter(Mandatory, ValueFromRemainingArguments)] [string[]] $Arguments)
    $saved = $env:AWS_ACCESS_KEY_ID, $env:AWS_SECRET_ACCESS_KEY
    $env:AWS_ACCESS_KEY_ID = 'testing'; $env:AWS_SECRET_ACCESS_KEY = 'testing'
    try {
        $out = & aws @Arguments --endpoint-url $EndpointUrl --region $Region --output json
        if ($LASTEXITCODE) { throw "aws $($Arguments -join ' ') failed." }
        if ($out) { $out | ConvertFrom-Json }
    }
    finally { $env:AWS_ACCESS_KEY_ID, $env:AWS_SECRET_ACCESS_KEY = $saved }
}

Export-ModuleMember -Function *-PrefectEmulator*, *-MotoServer, *-AwsCaptureProxy, *-AwsCapturedRequest, Test-AwsSignature, Invoke-AwsCli
