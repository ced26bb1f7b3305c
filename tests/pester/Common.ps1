# Dot-sourced by every test file: the built module, the emulator helpers and the sample data.
$script:ModulePath = $env:PREFECTSCALING_TEST_MODULE
$script:Configuration = if ($env:PREFECTSCALING_TEST_CONFIGURATION) { $env:PREFECTSCALING_TEST_CONFIGURATION } else { 'Release' }
$script:SeedPath = Join-Path $PSScriptRoot '../emulators/data/sample-seed.json'
$script:OddQueue = 'etl "quoted" #1 ü?'
$script:OddPool = 'team a+b #2 ü;='
Import-Module $script:ModulePath -Force
Import-Module (Join-Path $PSScriptRoot '../emulators/PrefectScaling.TestHost.psm1') -Force

# Runs a script block with the Prefect variables of this machine out of the way, restoring them after.
function Invoke-WithCleanPrefectEnvironment([scriptblock] $Script, [hashtable] $Set = @{}) {
    $names = 'PREFECT_API_URL', 'PREFECT_API_KEY', 'PREFECT_API_AUTH_STRING', 'PREFECT_PROFILES_PATH', 'PREFECT_PROFILE', 'PREFECT_HOME'
    $saved = @{}
    # [NullString]::Value: a plain $null would reach .NET as "" and leave the variable set but empty.
    foreach ($n in $names) { $saved[$n] = [Environment]::GetEnvironmentVariable($n); [Environment]::SetEnvironmentVariable($n, [NullString]::Value) }
    # No stray ~/.prefect/profiles.toml either.
    [Environment]::SetEnvironmentVariable('PREFECT_PROFILES_PATH', (Join-Path ([IO.Path]::GetTempPath()) "no-profiles-$PID.toml"))
    foreach ($k in $Set.Keys) { [Environment]::SetEnvironmentVariable($k, $Set[$k]) }
    try { & $Script }
    finally { foreach ($n in $names) { [Environment]::SetEnvironmentVariable($n, $(if ($null -eq $saved[$n]) { [NullString]::Value } else { $saved[$n] })) } }
}
