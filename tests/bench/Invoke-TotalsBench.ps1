# Prefect requests of Get-PrefectLateRunCount -Total, against the local emulator in 3.x and 2.x mode, each case
# in a new pwsh process ("cold" is its first call).
#  1. One scope, a 1,000-queue pool with 0, 150 and 5,000 late runs, each measure alone: cold and warm.
#  2. Many scopes (bindings) read together as the publisher reads them, sampled every 10 s: 1, 10 and 100
#     bindings over 100 pools of 10 queues, half of them a whole pool and half two queues of a pool; the
#     requests of a first minute, of a minute in which the names are looked up again, and of an average minute.
# Every figure is measured from the emulator's request log and checked against the reader's cost model; the
# totals are checked against what was seeded.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $Configuration = 'Release',
    [ValidateSet('Single', 'Bindings')] [string[]] $Part = @('Single', 'Bindings')
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../emulators/PrefectScaling.TestHost.psm1') -Force
$measures = 'Late', 'Due', 'Pending', 'Running'
# Prefect Cloud's smallest plan: API requests a minute for the whole account.
$cloudLimit = 625
$samplesPerMinute = 6
$reuseSeconds = 300

function Invoke-Case($Prefect, [object[]] $Scopes, [string[]] $Measure, [int] $WarmCycles) {
    $json = & dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $PSScriptRoot 'Measure-TotalsCase.ps1') -ModulePath $ModulePath -ApiUrl $Prefect.ApiUrl -RootUrl $Prefect.RootUrl `
        -ScopesJson ($Scopes | ConvertTo-Json -Compress -Depth 4 -AsArray) -Measure ($Measure -join ',') -WarmCycles $WarmCycles
    if ($LASTEXITCODE) { throw "The totals case failed: $json" }
    @($json | ConvertFrom-Json)
}

function Assert-Totals($Phase, [hashtable] $Expected, [string] $Case) {
    foreach ($total in $Phase.Totals) {
        $want = $Expected["$($total.Scope)|$($total.Measure)"]
        if ($total.Count -ne $want) { throw "$Case $($Phase.Phase): $($total.Scope) $($total.Measure) is $($total.Count), seeded $want." }
    }
    if (@($Phase.Totals).Count -ne $Expected.Count) { throw "$Case $($Phase.Phase): $(@($Phase.Totals).Count) totals, expected $($Expected.Count)." }
}

# ------------------------------------------------------------------ 1. one scope, a 1,000-queue pool
$single = [System.Collections.Generic.List[object]]::new()
foreach ($mode in @('V3', 'V2') | Where-Object { $Part -contains 'Single' }) {
    $prefect = Start-PrefectEmulator -Mode $mode -Configuration $Configuration
    try {
        foreach ($late in 0, 150, 5000) {
            # bench-1: 999 generated queues and its default one; the late runs spread over them, one future run each.
            Set-PrefectEmulatorSeed $prefect @{ generate = @{ pools = 1; queues_per_pool = 999; late_runs = $late; pool_prefix = 'bench'; queue_prefix = 'q' } }
            foreach ($measure in $measures) {
                $phases = Invoke-Case $prefect @(@{ WorkPool = 'bench-1' }) @($measure) 1
                # Late runs are past due; the future runs are not; nothing is pending or running.
                $seeded = @{ Late = $late; Due = $late; Pending = 0; Running = 0 }[$measure]
                foreach ($phase in $phases | Where-Object Phase -ne 'refresh') {
                    Assert-Totals $phase @{ "pool bench-1|$measure" = $seeded } "$mode $late $measure"
                    $cold = $phase.Phase -eq 'cold'
                    # The cost model: the version (once per connection) and one pool listing to find the pool, cold;
                    # then one count, whatever the queues and runs.
                    $expected = if ($cold) { 3 } else { 1 }
                    $single.Add([pscustomobject]@{
                        Server = $mode; Queues = 1000; LateRuns = $late; Measure = $measure; Phase = $phase.Phase; Requests = $phase.Requests
                        Target = $(if ($cold) { 2 } else { 1 }); Expected = $expected; Total = $phase.Totals[0].Count; WallMs = $phase.WallMs; Sent = ($phase.Paths -join ', ')
                    })
                }
            }
        }
    }
    finally { Stop-PrefectEmulator $prefect }
}
if ($Part -contains 'Single') {
Write-Host "`nGet-PrefectLateRunCount -WorkPool bench-1 -Total (1,000 queues), each measure alone:"
$single | Format-Table Server, Queues, LateRuns, Measure, Phase, Requests, Target, Expected, Total, WallMs | Out-String -Width 200 | Write-Host
$wrong = @($single | Where-Object { $_.Requests -ne $_.Expected })
if ($wrong) { throw "Requests differ from the cost model in $($wrong.Count) case(s): $(($wrong | ForEach-Object { "$($_.Server) $($_.LateRuns) $($_.Measure) $($_.Phase) $($_.Requests) ($($_.Sent))" }) -join '; ')" }
$over = @($single | Where-Object { $_.Requests -gt $_.Target })
Write-Host ("Warm: one request per measure in every case. Cold: $(@($single | Where-Object Phase -eq 'cold')[0].Sent) -- " +
    "one more than the target of 2, in all $($over.Count) cold cases: a count of a pool that does not exist is 0, not an error, " +
    "so the pool is looked up once (narrowed to its name) before its count is trusted; the lookup is then reused for -QueueListingCacheSeconds.")
}

# ------------------------------------------------------------------ 2. many bindings, sampled every 10 s
$pools = 100; $perPool = 10
function Get-Binding([int] $Count) {
    foreach ($i in 1..$Count) {
        if ($i % 2) { [ordered]@{ WorkPool = "gen-$i" } } else { [ordered]@{ WorkPool = "gen-$i"; WorkQueue = @('q-1', 'q-2') } }
    }
}
function Get-Scope([System.Collections.IDictionary] $Binding) {
    if ($Binding.Contains('WorkQueue')) { "pool $($Binding.WorkPool) queues $($Binding.WorkQueue -join ', ')" } else { "pool $($Binding.WorkPool)" }
}
# Where the emulator's generator puts late run k: queue q-(j+1) of pool gen-(i+1), j*pools+i = k mod (pools*perPool).
function Get-LateIn([int] $Late, [int] $Pool, [int[]] $Queues) {
    $n = 0
    for ($k = 0; $k -lt $Late; $k++) {
        $slot = $k % ($pools * $perPool)
        if (($slot % $pools) + 1 -eq $Pool -and (-not $Queues -or ([math]::Floor($slot / $pools) + 1) -in $Queues)) { $n++ }
    }
    $n
}

$rates = [System.Collections.Generic.List[object]]::new()
foreach ($mode in @('V3', 'V2') | Where-Object { $Part -contains 'Bindings' }) {
    $prefect = Start-PrefectEmulator -Mode $mode -Configuration $Configuration
    try {
        foreach ($late in 150, 5000) {
            Set-PrefectEmulatorSeed $prefect @{ generate = @{ pools = $pools; queues_per_pool = $perPool; late_runs = $late; pool_prefix = 'gen'; queue_prefix = 'q' } }
            foreach ($count in 1, 10, 100) {
                $bindings = @(Get-Binding $count)
                foreach ($set in @('Late'), $measures) {
                    $phases = Invoke-Case $prefect $bindings $set ($samplesPerMinute - 1)
                    $expectedTotals = @{}
                    foreach ($b in $bindings) {
                        $n = Get-LateIn $late ([int]($b.WorkPool -replace 'gen-')) $(if ($b.Contains('WorkQueue')) { 1, 2 } else { $null })
                        foreach ($m in $set) { $expectedTotals["$(Get-Scope $b)|$m"] = @{ Late = $n; Due = $n; Pending = 0; Running = 0 }[$m] }
                    }
                    foreach ($phase in $phases) { Assert-Totals $phase $expectedTotals "$mode $late $count" }

                    # The cost model. Names: one listing of the whole pools, one per pool with named queues.
                    $names = [int]($count -ge 1) + [math]::Floor($count / 2)
                    $counts = $count * $set.Count
                    # The paged read covers the runs of every bound pool that any measure counts (here the late ones).
                    $active = 0; for ($p = 1; $p -le $count; $p++) { $active += Get-LateIn $late $p $null }
                    # One binding is always counted. 3.x: the first page says how many pages there are, and the rest are
                    # read if they cost less than the counts. 2.x: a first page that is full is followed by a count of the
                    # same query to know what the rest costs, then the rest (the short last page included), if less.
                    $read = if ($count -eq 1) { $counts }
                    elseif ($mode -eq 'V3') { $pages = [math]::Max(1, [math]::Ceiling($active / 200)); if ($pages - 1 -ge $counts) { 1 + $counts } else { $pages } }
                    elseif ($active -lt 200) { 1 }
                    else { $rest = [math]::Floor(($active - 200) / 200) + 1; if ($rest -ge $counts) { 2 + $counts } else { 2 + $rest } }
                    $cold = @($phases | Where-Object Phase -eq 'cold')[0]
                    $warm = @($phases | Where-Object Phase -eq 'warm')
                    $refresh = @($phases | Where-Object Phase -eq 'refresh')[0]
                    $model = @{ cold = 1 + $names + $read; warm = $read; refresh = $names + $read }
                    foreach ($phase in $phases) {
                        if ($phase.Requests -ne $model[$phase.Phase]) { throw "$mode $late late, $count binding(s), $($set -join '+') $($phase.Phase): $($phase.Requests) requests ($($phase.Paths -join ', ')), the cost model says $($model[$phase.Phase])." }
                    }
                    $warmSum = ($warm | Measure-Object Requests -Sum).Sum
                    $rates.Add([pscustomobject]@{
                        Server = $mode; LateRuns = $late; Bindings = $count; Measures = $set.Count
                        ReadBy = $(if ($warm[0].Paths -match 'paginate|flow_runs/filter') { 'pages' } else { 'counts' })
                        Cold = $cold.Requests; Warm = $warm[0].Requests; Lookup = $refresh.Requests - $warm[0].Requests
                        FirstMinute = $cold.Requests + $warmSum
                        LookupMinute = $refresh.Requests + $warmSum
                        AverageMinute = [math]::Round($samplesPerMinute * $warm[0].Requests + ($refresh.Requests - $warm[0].Requests) * 60 / $reuseSeconds, 1)
                        WarmMs = [math]::Round(($warm | Measure-Object WallMs -Average).Average, 1)
                    })
                }
            }
        }
    }
    finally { Stop-PrefectEmulator $prefect }
}
if ($Part -contains 'Bindings') {
Write-Host "`nBindings read together every 10 s (6 samples a minute; names reused for $reuseSeconds s):"
$rates | Format-Table Server, LateRuns, Bindings, Measures, ReadBy, Cold, Warm, Lookup, FirstMinute, LookupMinute, AverageMinute, WarmMs | Out-String -Width 200 | Write-Host
$worst = ($rates | Measure-Object FirstMinute, LookupMinute -Maximum | Measure-Object Maximum -Maximum).Maximum
Write-Host ("FirstMinute: the process's first sample (version, names, read) and 5 warm ones; LookupMinute: a minute in which the names are " +
    "looked up again; AverageMinute: 6 warm samples plus the lookups spread over $reuseSeconds s. Every figure is measured except " +
    "AverageMinute, which is computed from the measured Warm and Lookup. Busiest minute: $worst requests, " +
    "$([math]::Round(100 * $worst / $cloudLimit))% of the $cloudLimit a minute of Prefect Cloud's smallest plan.")
}
