# Prefect requests and wall time of Get-PrefectLateRunCount for 1, 100 and 1,000 queues with 0, 150 and
# 5,000 late runs, against the local emulator in 3.x and 2.x mode. Each case runs in a new pwsh process:
# "cold" is the first call of that process (server version and queue listing included), "warm" a second
# call that reuses the listing (-QueueListingCacheSeconds), as the scheduled publisher's warm runs do.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $Configuration = 'Release'
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../TestHost/PrefectScaling.TestHost.psm1') -Force

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
                    $target = [math]::Ceiling($late / 200) + 1 + $(if ($phase.Phase -eq 'cold') { [math]::Ceiling($queues / 200) } else { 0 })
                    $rows.Add([pscustomobject]@{
                        Server = $mode; Queues = $queues; LateRuns = $late; Phase = $phase.Phase; Requests = $phase.Requests
                        Target = $target; WithinTarget = $phase.Requests -le $target; WallMs = $phase.WallMs
                    })
                }
            }
        }
    }
    finally { Stop-PrefectEmulator $prefect }
}
$rows | Format-Table -AutoSize | Out-String -Width 200 | Write-Host
$over = @($rows | Where-Object { -not $_.WithinTarget })
Write-Host "Within the request target: $($rows.Count - $over.Count) of $($rows.Count) cases."
if ($over) {
    Write-Host ('Over the target (a listing or 2.x run page that ends exactly on a multiple of 200 needs one more request to see the end): ' +
        (($over | ForEach-Object { "$($_.Server) $($_.Queues) queues/$($_.LateRuns) late $($_.Phase): $($_.Requests) > $($_.Target)" }) -join '; '))
}
