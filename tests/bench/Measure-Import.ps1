# How long Import-Module of the built module takes. The goal: it adds at most 100 ms to a bare
# `pwsh -NoProfile -c exit`, comparing the medians of runs interleaved round by round, so that the load of a
# shared machine falls on every case alike (odd rounds run the cases in reverse order). Each run starts the pwsh
# this script runs in directly: `dotnet pwsh` would put the dotnet CLI and the tool's shim, two more processes,
# in front of every run. A manifest with nothing in it tells what any first Import-Module costs PowerShell from
# what this module adds. Prints the figures; fails only when a run fails.
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [ValidateRange(5, 100)] [int] $Rounds = 9
)
$ErrorActionPreference = 'Stop'

$pwshHost = [Environment]::ProcessPath
$pwshArguments = @(if ([System.IO.Path]::GetFileNameWithoutExtension($pwshHost) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' }) +
    @('-NoProfile', '-NonInteractive', '-Command')
function Invoke-Pwsh([string] $Command) { & $pwshHost @pwshArguments $Command }
function Get-Quantile([double[]] $Values, [double] $Fraction) {
    $sorted = @($Values | Sort-Object)
    $position = ($sorted.Count - 1) * $Fraction
    $low = [math]::Floor($position)
    $sorted[$low] + ($sorted[[math]::Ceiling($position)] - $sorted[$low]) * ($position - $low)
}
# A case is timed from outside, the whole run of a new pwsh, or -Inside, around its command alone, which then
# prints its own milliseconds.
function New-ImportCase([string] $Label, [string] $Command, [switch] $Inside) {
    if ($Inside) { $Command = "`$clock = [System.Diagnostics.Stopwatch]::StartNew(); $Command; `$clock.ElapsedMilliseconds" }
    [pscustomobject]@{ Label = $Label; Command = $Command; Inside = [bool]$Inside; Ms = [System.Collections.Generic.List[double]]::new() }
}
function Format-Ms([double] $Ms) { '{0:N0}' -f $Ms }

$emptyFolder = Join-Path ([System.IO.Path]::GetTempPath()) "prefectscaling-import-$PID"
$emptyManifest = Join-Path $emptyFolder 'Empty.psd1'
$null = New-Item -ItemType Directory -Force $emptyFolder
Set-Content -Path $emptyManifest -Value "@{ ModuleVersion = '1.0' }"
$emptyImport = "Import-Module '$($emptyManifest.Replace("'", "''"))'"
$moduleImport = "Import-Module '$($ModulePath.Replace("'", "''"))'"
$bare = New-ImportCase 'pwsh -NoProfile -c exit' 'exit'
$empty = New-ImportCase 'Import-Module of an empty manifest' "$emptyImport; exit"
$import = New-ImportCase 'Import-Module PrefectScaling' "$moduleImport; exit"
# The same two imports timed around Import-Module alone: without the start of pwsh, which is most of every run and
# most of its noise, the split between PowerShell's part and the module's is steadier.
$emptyInside = New-ImportCase 'an empty manifest' $emptyImport -Inside
$importInside = New-ImportCase 'PrefectScaling' $moduleImport -Inside
$cases = $bare, $empty, $import, $emptyInside, $importInside
try {
    # Round 0 warms the file cache and is not counted.
    foreach ($round in 0..$Rounds) {
        foreach ($case in $(if ($round % 2) { $cases[($cases.Count - 1)..0] } else { $cases })) {
            $clock = [System.Diagnostics.Stopwatch]::StartNew()
            $output = Invoke-Pwsh $case.Command 2>&1
            $clock.Stop()
            if ($LASTEXITCODE) { throw "'$($case.Command)' failed: $output" }
            if ($round) { $case.Ms.Add($(if ($case.Inside) { [double]"$output" } else { $clock.Elapsed.TotalMilliseconds })) }
        }
    }
}
finally { Remove-Item -Recurse -Force $emptyFolder }

function Format-Spread($Case) { '{0} ({1}-{2})' -f (Format-Ms (Get-Quantile $Case.Ms 0.5)), (Format-Ms (Get-Quantile $Case.Ms 0)), (Format-Ms (Get-Quantile $Case.Ms 1)) }
Write-Host "`nImport time, $Rounds interleaved rounds, a new pwsh each run (ms):"
Write-Host ('  {0,-36} {1,6} {2,6} {3,6}' -f '', 'median', 'min', 'max')
foreach ($case in $bare, $empty, $import) {
    Write-Host ('  {0,-36} {1,6} {2,6} {3,6}' -f $case.Label, (Format-Ms (Get-Quantile $case.Ms 0.5)),
        (Format-Ms (Get-Quantile $case.Ms 0)), (Format-Ms (Get-Quantile $case.Ms 1)))
}
$overhead = (Get-Quantile $import.Ms 0.5) - (Get-Quantile $bare.Ms 0.5)
$floor = (Get-Quantile $empty.Ms 0.5) - (Get-Quantile $bare.Ms 0.5)
# The same difference taken within each round, where both runs met the same load: its quartiles are the spread.
$perRound = foreach ($i in 0..($Rounds - 1)) { $import.Ms[$i] - $bare.Ms[$i] }
Write-Host ("Import-Module PrefectScaling adds $(Format-Ms $overhead) ms (round by round: median $(Format-Ms (Get-Quantile $perRound 0.5)), " +
    "quartiles $(Format-Ms (Get-Quantile $perRound 0.25)) to $(Format-Ms (Get-Quantile $perRound 0.75))); an empty manifest adds $(Format-Ms $floor).")
Write-Host ("$(if ($overhead -le 100) { 'Within' } else { 'Not within' }) the 100 ms goal" +
    $(if ($floor -gt 100) { '; an empty manifest alone is over it: that part is PowerShell''s own first Import-Module.' } else { '.' }))
Write-Host ("Inside the process, Import-Module alone (ms, median and min-max): $($emptyInside.Label) $(Format-Spread $emptyInside), " +
    "$($importInside.Label) $(Format-Spread $importInside); the module's own share is " +
    "$(Format-Ms ((Get-Quantile $importInside.Ms 0.5) - (Get-Quantile $emptyInside.Ms 0.5))).")

# What of the module the import loads: its own assembly, never the engine or a dependency from dependencies/ (they
# wait for the first cmdlet). Only the module's folder is looked at: a pwsh loads assemblies of its own, in the
# background, for a while after it starts.
$moduleBase = (Split-Path -Parent (Resolve-Path $ModulePath).Path).Replace("'", "''")
$loaded = @(Invoke-Pwsh ("$moduleImport; [AppDomain]::CurrentDomain.GetAssemblies().Location | " +
    "Where-Object { `$_ -and `$_.StartsWith('$moduleBase') } | ForEach-Object { [System.IO.Path]::GetRelativePath('$moduleBase', `$_) }"))
Write-Host "Assemblies of the module loaded by the import: $(if ($loaded) { $loaded -join ', ' } else { 'none' })"
$early = @($loaded | Where-Object { $_ -match '^dependencies[\\/]' })
if ($early) { Write-Host "The import loaded what only a cmdlet should: $($early -join ', ')." -ForegroundColor Yellow }
