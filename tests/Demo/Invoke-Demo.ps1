# The README's first command: a local Prefect emulator with sample data, and the module counting its backlog.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $Configuration = 'Release'
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force
Import-Module (Join-Path $PSScriptRoot '../TestHost/PrefectScaling.TestHost.psm1') -Force

$prefect = Start-PrefectEmulator -Mode V3 -SeedPath (Join-Path $PSScriptRoot '../data/sample-seed.json') -Configuration $Configuration
try {
    Write-Host "`nA Prefect 3 API emulator with sample data is listening at $($prefect.ApiUrl)." -ForegroundColor Cyan
    $env:PREFECT_API_URL = $prefect.ApiUrl

    Write-Host "`n> Get-PrefectWorkQueue" -ForegroundColor Yellow
    Get-PrefectWorkQueue | Format-Table | Out-String -Width 160 | Write-Host

    Write-Host "> Get-PrefectLateRunCount -WorkPool k8s, ecs-pool -Measure Late, Due" -ForegroundColor Yellow
    Get-PrefectLateRunCount -WorkPool k8s, ecs-pool -Measure Late, Due | Format-Table | Out-String -Width 160 | Write-Host

    Write-Host "> Get-PrefectLateRunCount -WorkQueue default   # the same queue name in every pool" -ForegroundColor Yellow
    Get-PrefectLateRunCount -WorkQueue default | Format-Table | Out-String -Width 160 | Write-Host

    Write-Host "> Get-PrefectLateRunCount -WorkPool no-such-pool   # a missing pool is an error, never a zero" -ForegroundColor Yellow
    Get-PrefectLateRunCount -WorkPool no-such-pool -ErrorAction Continue 2>&1 | ForEach-Object { Write-Host "  error: $_" -ForegroundColor Red }

    $requests = Get-PrefectEmulatorRequest $prefect
    Write-Host "`nPrefect requests made by the demo: $($requests.Count) (none to the poll endpoints: $(-not ($requests.Path -match 'get_scheduled_flow_runs|get_runs')))." -ForegroundColor Cyan
}
finally {
    Stop-PrefectEmulator $prefect
}
