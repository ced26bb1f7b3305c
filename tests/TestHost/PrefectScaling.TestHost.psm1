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
    $dll = Join-Path $PSScriptRoot "../PrefectEmulator/bin/$Configuration/net10.0/PrefectEmulator.dll"
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

Export-ModuleMember -Function *-PrefectEmulator*
