# One bench case in a fresh process: a cold call, then a warm one; prints JSON.
param([string] $ModulePath, [string] $ApiUrl, [string] $RootUrl, [string] $WorkPool)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$emulator = [pscustomobject]@{ RootUrl = $RootUrl }
Import-Module (Join-Path $PSScriptRoot '../emulators/PrefectScaling.TestHost.psm1')
$result = foreach ($phase in 'cold', 'warm') {
    Reset-PrefectEmulatorRequest $emulator
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $counts = Get-PrefectLateRunCount -PrefectApiUrl $ApiUrl -WorkPool $WorkPool -QueueListingCacheSeconds 300
    $clock.Stop()
    [pscustomobject]@{
        Phase = $phase; Requests = @(Get-PrefectEmulatorRequest $emulator).Count; Queues = @($counts).Count
        Runs = [int](($counts | Measure-Object Count -Sum).Sum); WallMs = [math]::Round($clock.Elapsed.TotalMilliseconds, 1)
    }
}
$result | ConvertTo-Json -Compress
