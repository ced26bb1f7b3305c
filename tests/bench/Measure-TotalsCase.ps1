# One totals case in a fresh process: Get-PrefectLateRunCount -Total over the scopes given (one per pipeline
# object), first cold (the process's first call: server version and names looked up), then warm cycles that reuse
# the names found (-QueueListingCacheSeconds 300, the publisher's default), then one cycle that looks them up
# again (as when that reuse runs out). Prints JSON: per cycle its Prefect requests, what they were, the totals.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $ApiUrl,
    [Parameter(Mandatory)] [string] $RootUrl,
    # [{"WorkPool":"p"}, {"WorkPool":"p","WorkQueue":["a","b"]}, ...]
    [Parameter(Mandatory)] [string] $ScopesJson,
    # Late,Due,...: one argument, as a child process gets it.
    [Parameter(Mandatory)] [string] $Measure,
    [int] $WarmCycles = 1
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath
$emulator = [pscustomobject]@{ RootUrl = $RootUrl }
Import-Module (Join-Path $PSScriptRoot '../emulators/PrefectScaling.TestHost.psm1')
$scopes = @($ScopesJson | ConvertFrom-Json)
$phases = @('cold') + @(1..$WarmCycles | ForEach-Object { 'warm' }) + @('refresh')
$result = foreach ($phase in $phases) {
    Reset-PrefectEmulatorRequest $emulator
    $cache = if ($phase -eq 'refresh') { 0 } else { 300 }
    $clock = [System.Diagnostics.Stopwatch]::StartNew()
    $totals = @($scopes | Get-PrefectLateRunCount -PrefectApiUrl $ApiUrl -Total -Measure ($Measure -split ',') -QueueListingCacheSeconds $cache)
    $clock.Stop()
    $requests = @(Get-PrefectEmulatorRequest $emulator)
    [pscustomobject]@{
        Phase = $phase; Requests = $requests.Count; WallMs = [math]::Round($clock.Elapsed.TotalMilliseconds, 1)
        Paths = @($requests | Group-Object Path | ForEach-Object { "$($_.Name) x$($_.Count)" })
        Totals = @($totals | ForEach-Object { [pscustomobject]@{ Scope = $_.Scope; Measure = "$($_.Measure)"; Count = $_.Count } })
    }
}
$result | ConvertTo-Json -Compress -Depth 5
