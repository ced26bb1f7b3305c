# Runs every Pester test against the built module and writes a pass/fail summary for build.ps1.
# -Path narrows the run to some files or folders of this one (every *.Tests.ps1 below it, by default).
param(
    [Parameter(Mandatory)] [string] $PesterPath,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $SummaryPath,
    [string] $Configuration = 'Release',
    [string[]] $Path = @($PSScriptRoot)
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterPath -Force
$env:PREFECTSCALING_TEST_MODULE = (Resolve-Path $ModulePath).Path
$env:PREFECTSCALING_TEST_CONFIGURATION = $Configuration

$config = New-PesterConfiguration
$config.Run.Path = $Path
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.TestResult.Enabled = $true
$config.TestResult.OutputPath = Join-Path (Split-Path $SummaryPath) 'pester.xml'
$result = Invoke-Pester -Configuration $config

# A block or file that fails before its tests run counts as a failure too.
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
$failedNames = @($result.Failed | ForEach-Object { "$($_.ExpandedPath): $("$($_.ErrorRecord | Select-Object -First 1)" -split "`n" | Select-Object -First 1)" }) +
    @($result.FailedBlocks | ForEach-Object { "$($_.ExpandedPath) (block)" }) + @($result.FailedContainers | ForEach-Object { "$($_.Item) (file)" })
@{ Passed = $result.PassedCount; Failed = $failed; FailedNames = $failedNames } | ConvertTo-Json | Set-Content -Path $SummaryPath
exit ([int]($failed -gt 0))
