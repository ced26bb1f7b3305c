# Prefect requests and wall time of Get-PrefectLateRunCount for 1, 100 and 1,000 queues with 0, 150 and
# 5,000 late runs, against the local emulator in 3.x and 2.x mode (and -Total: see Invoke-TotalsBench.ps1). Each case runs in a new pwsh process:
# "cold" is the first call of that process (server version and queue listing included), "warm" a second
# call that reuses the listing (-QueueListingCacheSeconds), as the scheduled publisher's warm runs do.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $Configuration = 'Release',
    # Rounds of the import measurement; each starts a new pwsh per case.
    [ValidateRange(5, 100)] [int] $ImportRounds = 9
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../emulators/PrefectScaling.TestHost.psm1') -Force

$rows = [System.Collections.Generic.List[object]]::new()
foreach ($mode in 'V3', 'V2') {
    $prefect = Start-PrefectEmulator -Mode $mode -Configuration $Configuration
    try {
        foreach ($queues in 1, 100, 1000) {
            foreach ($late in 0, 150, 5000) {
                $seed = if ($queues -eq 1) {
                    @{ pools = @(@{ name = 'bench-1' }); runs = @(if ($late) { @{ pool = 'bench-1'; queue = 'default'; state_name = 'Late'; scheduled_offset_seconds = -60; count = $late } }) }
                } else {
                    @{ generate = @{ pools = 1; queues_per_pool = $queues - 1; late_runs = $late; pool_prefix = 'bench'; queue_prefix = 'q' } }
                }
                Set-PrefectEmulatorSeed $prefect $seed
                $json = & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'Measure-BenchCase.ps1') -ModulePath $ModulePath -ApiUrl $prefect.ApiUrl -RootUrl $prefect.RootUrl -WorkPool 'bench-1'
                if ($LASTEXITCODE) { throw "The bench case $mode $queues/$late failed: $json" }
                foreach ($phase in ($json | ConvertFrom-Json)) {
                    if ($phase.Queues -ne $queues -or $phase.Runs -ne $late) { throw "Wrong count in $mode $queues/$late $($phase.Phase): $($phase.Queues) queues, $($phase.Runs) runs." }
                    $cold = $phase.Phase -eq 'cold'
                    # The issue's target, and the module's exact cost model: the version once per connection, a listing
                    # page per 200 queues plus one to see the end when the last page is full, a page per 200 runs (at
                    # least one; on 2.x one more when the runs fill the last page), or one count for a single queue.
                    $target = [int]([math]::Ceiling($late / 200) + 1 + $(if ($cold) { [math]::Ceiling($queues / 200) } else { 0 }))
                    $runRequests = if ($queues -eq 1) { 1 } else { [math]::Max(1, [math]::Ceiling($late / 200)) + [int]($mode -eq 'V2' -and $late -gt 0 -and $late % 200 -eq 0) }
                    $expected = [int]($runRequests + $(if ($cold) { 1 + [math]::Floor($queues / 200) + 1 } else { 0 }))
                    $rows.Add([pscustomobject]@{
                        Server = $mode; Queues = $queues; LateRuns = $late; Phase = $phase.Phase; Requests = $phase.Requests
                        Expected = $expected; Target = $target; WithinTarget = $phase.Requests -le $target; WallMs = $phase.WallMs
                    })
                }
            }
        }
    }
    finally { Stop-PrefectEmulator $prefect }
}
$rows | Format-Table -AutoSize | Out-String -Width 200 | Write-Host
$over = @($rows | Where-Object { -not $_.WithinTarget })
Write-Host "Within the issue's request target ceil(queues/200) + ceil(runs/200) + 1: $($rows.Count - $over.Count) of $($rows.Count) cases."
if ($over) {
    Write-Host ('Over it by the version probe with no runs to page, or by the extra request that sees the end of a listing ' +
        'that fills its last page of 200 (1,000 queues): ' + (($over | ForEach-Object { "$($_.Server) $($_.Queues)q/$($_.LateRuns) $($_.Phase) $($_.Requests)>$($_.Target)" }) -join '; '))
}
$wrong = @($rows | Where-Object { $_.Requests -ne $_.Expected })
if ($wrong) { throw "Requests differ from the cost model in $($wrong.Count) case(s)." }
Write-Host "Every case made exactly the requests of the cost model."

# Totals of whole scopes (-Total): one scope cold and warm per measure, and many bindings sampled every 10 s.
& (Join-Path $PSScriptRoot 'Invoke-TotalsBench.ps1') -ModulePath $ModulePath -Configuration $Configuration

# The Lambda function, loaded from the published output as the runtime loads it, in a new process per case:
# the first invocation is the cold start, then five warm ones (CloudWatch is a local sink: see the harness).
$harness = Join-Path $PSScriptRoot "PrefectScaling.Publisher.Bench/bin/$Configuration/net10.0/PrefectScaling.Publisher.Bench.dll"
$publisherDir = Join-Path (Split-Path (Split-Path $ModulePath)) 'publisher'
$function = foreach ($queues in 1, 100, 1000) {
    $json = & dotnet $harness --publisher-dir $publisherDir --queues $queues --late-runs 150 --warm 5
    if ($LASTEXITCODE) { throw "The function bench failed for $queues queues." }
    $json | ConvertFrom-Json
}
Write-Host "`nThe publisher function (150 late runs, one sample per invocation):"
$function | Select-Object queues, lateRuns, coldMs, warmMsMedian, warmMsMax, peakWorkingSetMB, prefectRequestsCold, prefectRequestsWarm, published, putMetricDataCalls |
    Format-Table -AutoSize | Out-String -Width 200 | Write-Host

# Sampling every 10 s: the scheduled invocation also sends the minute's other samples to a queue on moto, and each
# chained sample is an invocation of its own (an SQS event). What one invocation costs is what Lambda bills.
$chain = foreach ($queues in 1, 100, 1000) {
    $json = & dotnet $harness --publisher-dir $publisherDir --queues $queues --late-runs 150 --warm 5 --sample-interval 10
    if ($LASTEXITCODE) { throw "The chained-sampling bench failed for $queues queues." }
    $json | ConvertFrom-Json
}
Write-Host "`nThe publisher function sampling every 10 s (150 late runs; warmMs: the scheduled invocation, warmSampleMs: a chained one):"
$chain | Select-Object queues, coldMs, warmMsMedian, warmMsMax, warmSampleMsMedian, warmSampleMsMax, chainedPerMinute, peakWorkingSetMB, published |
    Format-Table -AutoSize | Out-String -Width 200 | Write-Host

# The push path: the handler behind a local function URL stand-in (cold, warm, a wrong secret), and with a real
# Prefect 3 server (PREFECTSCALING_REAL_PREFECT3_URL) the time from a run turning Late to the datum published.
$push = @(& dotnet $harness --push --publisher-dir $publisherDir --warm 5 | ConvertFrom-Json)
if ($LASTEXITCODE) { throw 'The push bench failed against the emulator.' }
if ($env:PREFECTSCALING_REAL_PREFECT3_URL) {
    $push += & dotnet $harness --push --publisher-dir $publisherDir --warm 5 --prefect-url $env:PREFECTSCALING_REAL_PREFECT3_URL --rounds 5 | ConvertFrom-Json
    if ($LASTEXITCODE) { throw 'The push bench failed against the real Prefect 3 server.' }
} else {
    Write-Host 'PREFECTSCALING_REAL_PREFECT3_URL is not set: the Late -> published time is not measured.'
}
Write-Host "`nThe push path (one cycle of one binding per request; Late -> published: the run's Late state to the handler's answer):"
$push | Select-Object server, coldMs, warmMsMedian, warmMsMax, rejectedMsMedian, lateToPublishedMsMedian, lateToPublishedMsMax |
    Format-Table -AutoSize | Out-String -Width 200 | Write-Host

# Import time: the module's import against a bare pwsh (see Measure-Import.ps1).
& (Join-Path $PSScriptRoot 'Measure-Import.ps1') -ModulePath $ModulePath -Rounds $ImportRounds

# Scaling behaviour of each policy kind and the seed's configuration, simulated.
& (Join-Path $PSScriptRoot 'Invoke-SimulationBench.ps1') -ModulePath $ModulePath
