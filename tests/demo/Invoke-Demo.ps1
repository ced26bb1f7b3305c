# The README's first command: the whole story on local emulators — count the Prefect backlog, publish it to
# CloudWatch, scale an ECS service on it, install the scheduled publisher — printing what happens.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [string] $Configuration = 'Release'
)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force
Import-Module (Join-Path $PSScriptRoot '../emulators/PrefectScaling.TestHost.psm1') -Force

function Step([string] $Text) { Write-Host "`n> $Text" -ForegroundColor Yellow }
function Show { $input | Format-Table -AutoSize | Out-String -Width 160 | Write-Host }

$prefect = Start-PrefectEmulator -Mode V3 -SeedPath (Join-Path $PSScriptRoot '../emulators/data/sample-seed.json') -Configuration $Configuration
$moto = Start-MotoServer
try {
    Write-Host "A Prefect 3 API emulator with sample data is at $($prefect.ApiUrl); an AWS emulator (moto) is at $($moto.Url)." -ForegroundColor Cyan
    $env:PREFECT_API_URL = $prefect.ApiUrl
    # Local emulators only: dummy keys and a local endpoint for every AWS call of the demo.
    $env:AWS_ACCESS_KEY_ID = 'demo'; $env:AWS_SECRET_ACCESS_KEY = 'demo'; $env:AWS_REGION = 'us-east-1'; $env:AWS_ENDPOINT_URL = $moto.Url

    Step 'Get-PrefectWorkQueue'
    Get-PrefectWorkQueue | Show

    Step 'Get-PrefectLateRunCount -WorkPool k8s, ecs-pool -Measure Late, Due'
    $counts = Get-PrefectLateRunCount -WorkPool k8s, ecs-pool -Measure Late, Due
    $counts | Show

    Step 'Get-PrefectLateRunCount -WorkPool k8s -Total -Measure Late, Due   # the whole pool: one count per measure'
    Get-PrefectLateRunCount -WorkPool k8s -Total -Measure Late, Due | Show

    Step 'Get-PrefectLateRunCount -WorkPool no-such-pool   # a missing pool is an error, never a zero'
    Get-PrefectLateRunCount -WorkPool no-such-pool -ErrorAction SilentlyContinue -ErrorVariable failed
    Write-Host "  error: $($failed[0].Exception.Message)" -ForegroundColor Red

    # The agent service: its binding is the pool k8s.
    Invoke-AwsCli -EndpointUrl $moto.Url ecs create-cluster --cluster-name prod | Out-Null
    Invoke-AwsCli -EndpointUrl $moto.Url ecs register-task-definition --family agent --container-definitions '[{"name":"agent","image":"prefecthq/prefect:3-latest","memory":512}]' | Out-Null
    Invoke-AwsCli -EndpointUrl $moto.Url ecs create-service --cluster prod --service-name prefect-agent --task-definition agent --desired-count 1 --launch-type FARGATE | Out-Null

    Step 'Set-PrefectEcsScalingPolicy -Cluster prod -Service prefect-agent -WorkPool k8s -MinCapacity 0 -MaxCapacity 5 -StepScaling'
    Set-PrefectEcsScalingPolicy -Cluster prod -Service prefect-agent -WorkPool k8s -MinCapacity 0 -MaxCapacity 5 -StepScaling -PassThru -WarningVariable warned -WarningAction SilentlyContinue | Show
    foreach ($warning in $warned) { Write-Host "  warning: $warning" -ForegroundColor DarkYellow }

    Step 'Get-PrefectLateRunCount -WorkPool k8s -Total | Publish-PrefectBacklogMetric -Cluster prod -Service prefect-agent -PassThru'
    Get-PrefectLateRunCount -WorkPool k8s -Total | Publish-PrefectBacklogMetric -Cluster prod -Service prefect-agent -PassThru | Show

    Step 'Read back from CloudWatch: the series of the binding, one per measure (and the desired tasks)'
    $now = [DateTime]::UtcNow
    $series = foreach ($metric in (Invoke-AwsCli -EndpointUrl $moto.Url cloudwatch list-metrics --namespace Prefect).Metrics) {
        $point = (Invoke-AwsCli -EndpointUrl $moto.Url cloudwatch get-metric-statistics --namespace Prefect --metric-name $metric.MetricName `
            --dimensions (ConvertTo-Json -Compress -InputObject @($metric.Dimensions)) --start-time $now.AddMinutes(-10).ToString('o') --end-time $now.AddMinutes(1).ToString('o') `
            --period 60 --statistics Maximum).Datapoints | Select-Object -First 1
        [pscustomobject]@{ MetricName = $metric.MetricName; Dimensions = ($metric.Dimensions | ForEach-Object { "$($_.Name)=$($_.Value)" }) -join ','; Maximum = $point.Maximum }
    }
    $series | Sort-Object MetricName, Dimensions | Show

    Write-Host '  Set again: ' -NoNewline
    Set-PrefectEcsScalingPolicy -Cluster prod -Service prefect-agent -WorkPool k8s -MinCapacity 0 -MaxCapacity 5 -StepScaling -Verbose 4>&1 |
        Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -match 'nothing was changed' } | ForEach-Object { Write-Host $_.Message }

    Step 'Install-PrefectBacklogPublisher -Cluster prod -Service prefect-agent -WorkPool k8s -PassThru   # Lambda + EventBridge, every minute'
    $installed = Install-PrefectBacklogPublisher -Cluster prod -Service prefect-agent -WorkPool k8s -PassThru
    $installed | Format-List Name, Region, FunctionArn, Runtime, Schedule, RuleState, ApiUrl, Consistent | Out-String -Width 160 | Write-Host
    $installed.Bindings | Show

    Step 'Test-PrefectBacklogPublisher   # one cycle with the installed configuration, from this machine'
    Test-PrefectBacklogPublisher | Show

    Step 'Get-PrefectScalingStatus -Cluster prod -Service prefect-agent   # backlog, tasks, alarms, what the policy would do'
    Get-PrefectScalingStatus -Cluster prod -Service prefect-agent | Show

    Step 'Uninstall-PrefectBacklogPublisher -Force; Remove-PrefectEcsScalingPolicy -Cluster prod -Service prefect-agent -DeregisterTarget -Force'
    Uninstall-PrefectBacklogPublisher -Force | Show
    Remove-PrefectEcsScalingPolicy -Cluster prod -Service prefect-agent -DeregisterTarget -Force
    Write-Host "  Left of the publisher: $((Get-PrefectBacklogPublisher).Installed); scaling policies left: $(@(Get-PrefectEcsScalingPolicy -Cluster prod -Service prefect-agent).Count)"

    $requests = Get-PrefectEmulatorRequest $prefect
    Write-Host "`nPrefect requests made by the demo: $($requests.Count) (none to the poll endpoints: $(-not ($requests.Path -match 'get_scheduled_flow_runs|get_runs')))." -ForegroundColor Cyan
}
finally {
    Stop-MotoServer $moto
    Stop-PrefectEmulator $prefect
}
