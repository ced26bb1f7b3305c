#Requires -Version 7.6
<#
.SYNOPSIS
    Builds, tests, demonstrates and benchmarks the PrefectScaling module.
.EXAMPLE
    dotnet pwsh ./build.ps1 Demo     # build, then count the backlog of a local Prefect emulator
.EXAMPLE
    dotnet pwsh ./build.ps1 Test     # build, then xunit and Pester, against the emulators and real Prefect servers
.EXAMPLE
    dotnet pwsh ./build.ps1 Test -NoBuild     # the same tests over what the last Build laid out
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Package', 'Test', 'Demo', 'Bench', 'Clean')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Package, Test, Demo and Bench use what the last Build made instead of building first.
    [switch] $NoBuild
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$Out = Join-Path $Root 'out'
$ModuleOut = Join-Path $Out 'PrefectScaling'
$ResultsOut = Join-Path $Out 'test-results'
$PublisherOut = Join-Path $Out 'publisher'
$PackagesOut = Join-Path $Out 'packages'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'

function Invoke-Native([string] $File, [string[]] $Arguments) {
    & $File @Arguments
    if ($LASTEXITCODE -ne 0) { throw "'$File $($Arguments -join ' ')' failed with exit code $LASTEXITCODE." }
}

function Get-ModuleVersion {
    $props = [xml](Get-Content -Raw (Join-Path $Root 'Directory.Build.props'))
    @($props.Project.PropertyGroup.Version | Where-Object { $_ })[0]
}

# A child pwsh from the same local tool, so module loads never leak into the build's own session.
function Invoke-ChildPwsh([string[]] $Arguments) {
    Push-Location $Root
    try { Invoke-Native 'dotnet' (@('pwsh', '-NoLogo', '-NoProfile', '-NonInteractive') + $Arguments) }
    finally { Pop-Location }
}

function Build-Module {
    Write-Host "== Build ($Configuration)" -ForegroundColor Cyan
    Invoke-Native 'dotnet' @('build', (Join-Path $Root 'PrefectScaling.sln'), '-c', $Configuration, '--nologo', '-v', 'q', '-clp:ErrorsOnly')

    # The module root holds only what PowerShell loads directly: the cmdlets and the dependency-free Model they
    # share with the engine. The engine and every dependency go to dependencies/, from where the module's own
    # AssemblyLoadContext loads them.
    if (Test-Path $ModuleOut) { Remove-Item -Recurse -Force $ModuleOut }
    $dependencies = New-Item -ItemType Directory -Force -Path (Join-Path $ModuleOut 'dependencies')
    $bin = Join-Path $Root "src/PrefectScaling/bin/$Configuration/netstandard2.0"
    $rootAssemblies = 'PrefectScaling.dll', 'PrefectScaling.Model.dll'
    $rootAssemblies | ForEach-Object { Copy-Item (Join-Path $bin $_) $ModuleOut }
    Get-ChildItem $bin -Filter *.dll | Where-Object Name -notin ($rootAssemblies + 'System.Management.Automation.dll') |
        Copy-Item -Destination $dependencies
    Copy-Item (Join-Path $Root 'src/PrefectScaling/PrefectScaling.Format.ps1xml') $ModuleOut
    # Scripts that run elsewhere (the ECS worker entrypoint), shipped for users to copy into their images.
    Copy-Item -Recurse (Join-Path $Root 'src/PrefectScaling/scripts') (Join-Path $ModuleOut 'scripts')
    $version = Get-ModuleVersion
    (Get-Content -Raw (Join-Path $Root 'PrefectScaling.psd1')) -replace "ModuleVersion\s*=\s*'[^']*'", "ModuleVersion        = '$version'" |
        Set-Content -NoNewline -Path (Join-Path $ModuleOut 'PrefectScaling.psd1')
    Invoke-ChildPwsh @('-File', (Join-Path $Root 'build/New-MamlHelp.ps1'), '-ManifestPath', (Join-Path $ModuleOut 'PrefectScaling.psd1'),
        '-SourceFolder', (Join-Path $Root 'src/PrefectScaling/help'), '-OutFile', (Join-Path $ModuleOut 'en-US/PrefectScaling.dll-Help.xml'))
    Build-PublisherPackage
    Write-Host "Module $version laid out in $([System.IO.Path]::GetRelativePath($Root, $ModuleOut))"
}

# The Lambda function: published for the managed dotnet10 runtime and zipped into the module, which
# Install-PrefectBacklogPublisher uploads. Entries are sorted and stamped alike, so an unchanged build gives
# the same bytes (and Lambda's CodeSha256 does not move).
function Build-PublisherPackage {
    if (Test-Path $PublisherOut) { Remove-Item -Recurse -Force $PublisherOut }
    Invoke-Native 'dotnet' @('publish', (Join-Path $Root 'src/PrefectScaling.Publisher/PrefectScaling.Publisher.csproj'), '-c', $Configuration,
        '-o', $PublisherOut, '--nologo', '-v', 'q', '-clp:ErrorsOnly')
    $zipPath = Join-Path $ModuleOut 'publisher/PrefectScaling.Publisher.zip'
    $null = New-Item -ItemType Directory -Force (Split-Path $zipPath)
    Add-Type -AssemblyName System.IO.Compression
    $stream = [System.IO.File]::Create($zipPath)
    $zip = [System.IO.Compression.ZipArchive]::new($stream, [System.IO.Compression.ZipArchiveMode]::Create)
    try {
        foreach ($file in (Get-ChildItem $PublisherOut -Recurse -File | Where-Object Extension -ne '.pdb' | Sort-Object FullName)) {
            $entry = $zip.CreateEntry([System.IO.Path]::GetRelativePath($PublisherOut, $file.FullName).Replace('\', '/'), [System.IO.Compression.CompressionLevel]::Optimal)
            $entry.LastWriteTime = [DateTimeOffset]::new(2020, 1, 1, 0, 0, 0, [TimeSpan]::Zero)
            $entry.ExternalAttributes = 0x81A4 -shl 16   # a regular file, rw-r--r--
            $target = $entry.Open()
            try { $source = [System.IO.File]::OpenRead($file.FullName); $source.CopyTo($target); $source.Dispose() } finally { $target.Dispose() }
        }
    }
    finally { $zip.Dispose(); $stream.Dispose() }
    $size = (Get-Item $zipPath).Length
    Write-Host ("Publisher package: {0} ({1:N0} KiB zipped, {2:N0} KiB unzipped; Lambda allows 50 MB zipped, 250 MB unzipped)" -f
        [System.IO.Path]::GetRelativePath($Root, $zipPath), ($size / 1KB), ((Get-ChildItem $PublisherOut -Recurse -File | Measure-Object Length -Sum).Sum / 1KB))
}

function Get-PesterPath {
    $proj = Join-Path $Root 'tests/pester/Pester.Tools.proj'
    Invoke-Native 'dotnet' @('restore', $proj, '--nologo', '-v', 'q')
    $version = ([xml](Get-Content -Raw $proj)).Project.PropertyGroup.PesterVersion
    $packages = (& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', ''
    $psd1 = Join-Path $packages.Trim() "pester/$version/tools/Pester.psd1"
    if (-not (Test-Path $psd1)) { throw "Pester $version was restored but $psd1 is missing." }
    $psd1
}

# xunit results come from TRX files so that the closing line can add them to Pester's.
# The names of the failed tests come with them, to be repeated above the closing line, where a log's tail shows them.
function Read-Trx([string] $Path) {
    $run = ([xml](Get-Content -Raw $Path)).TestRun
    $counters = $run.ResultSummary.Counters
    $failedNames = @($run.Results.UnitTestResult | Where-Object { $_.outcome -ne 'Passed' -and $_.outcome -ne 'NotExecuted' } | ForEach-Object {
        $message = "$($_.Output.ErrorInfo.Message)".Trim() -split "`n" | Select-Object -First 1
        "$($_.testName): $message"
    })
    [pscustomobject]@{ Passed = [int]$counters.passed; Failed = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout; FailedNames = $failedNames }
}

# Builds first, unless -NoBuild: then what is in out/ must be there, or the tests would run over nothing.
function Use-BuiltModule {
    if (-not $NoBuild) { Build-Module; return }
    foreach ($path in (Join-Path $ModuleOut 'PrefectScaling.psd1'), (Join-Path $PublisherOut 'PrefectScaling.Publisher.dll')) {
        if (-not (Test-Path $path)) { throw "-NoBuild, but $([System.IO.Path]::GetRelativePath($Root, $path)) is missing: run ./build.ps1 Build first." }
    }
    Write-Host 'Using the module and publisher already built in out/ (-NoBuild).'
}

# A .nupkg of the built module, installable with Install-PSResource from a folder repository.
function Invoke-Package([switch] $Built) {
    if (-not $Built) { Use-BuiltModule }
    if (Test-Path $PackagesOut) { Remove-Item -Recurse -Force $PackagesOut }
    $null = New-Item -ItemType Directory -Force $PackagesOut
    Invoke-ChildPwsh @('-Command', "Import-Module Microsoft.PowerShell.PSResourceGet; Compress-PSResource -Path '$ModuleOut' -DestinationPath '$PackagesOut'")
    $package = Get-ChildItem $PackagesOut -Filter *.nupkg | Select-Object -First 1
    if (-not $package) { throw 'Compress-PSResource made no package.' }
    Write-Host ("Package: {0} ({1:N0} KiB)" -f [System.IO.Path]::GetRelativePath($Root, $package.FullName), ($package.Length / 1KB))
}

# Real Prefect 2.20.25, 3.8.3 and 3.8.3 with basic auth, once per run for every test project: they start
# while the module builds, Invoke-Test waits for them before the first test, and they stop whatever happens.
function Invoke-TestWithRealPrefect {
    Import-Module (Join-Path $Root 'tests/real-servers/RealPrefect.psm1') -Force
    $script:RealPrefectStarts = @('Prefect2', 'Prefect3', 'Prefect3Auth' | ForEach-Object { Start-RealPrefectServer -Kind $_ })
    try { Invoke-Test }
    finally {
        Clear-RealPrefectEnvironment
        $script:RealPrefectStarts | Stop-RealPrefectServer
    }
}

function Use-RealPrefectServers {
    $servers = @($script:RealPrefectStarts | Wait-RealPrefectServer)
    Set-RealPrefectEnvironment -Server $servers
    $script:RealPrefectLine = 'Real Prefect servers: ' + (($servers | Format-RealPrefectServer) -join '; ')
    Write-Host $script:RealPrefectLine
    Write-Host ('Real Prefect start-up (together, during the build): ' + (($servers | ForEach-Object { "$($_.Kind) $($_.StartSeconds) s" }) -join ', '))
}

function Invoke-Test {
    Use-BuiltModule
    Invoke-Package -Built
    Use-RealPrefectServers
    if (Test-Path $ResultsOut) { Remove-Item -Recurse -Force $ResultsOut }
    $null = New-Item -ItemType Directory -Force $ResultsOut
    $passed = 0; $failed = 0; $failedNames = [System.Collections.Generic.List[string]]::new()

    # The publisher's tests load the function from the published output, as Lambda does.
    $env:PREFECTSCALING_PUBLISHER_DIR = $PublisherOut
    # The kinds of test in order of cost: units (no process, no socket), then against the emulators, then the real servers.
    $projects = 'units', 'emulators', 'real-servers' | ForEach-Object { Get-ChildItem (Join-Path $Root "tests/$_") -Recurse -Filter '*.Tests.csproj' | Sort-Object FullName }
    foreach ($project in $projects) {
        Write-Host "== xunit: $($project.BaseName)" -ForegroundColor Cyan
        $trx = "$($project.BaseName).trx"
        & dotnet test $project.FullName -c $Configuration --no-build --nologo --logger "trx;LogFileName=$trx" --results-directory $ResultsOut
        $counts = Read-Trx (Join-Path $ResultsOut $trx)
        $passed += $counts.Passed; $failed += $counts.Failed
        foreach ($name in $counts.FailedNames) { $failedNames.Add("xunit $($project.BaseName): $name") }
    }

    Write-Host '== Pester: the built module' -ForegroundColor Cyan
    $summary = Join-Path $ResultsOut 'pester-summary.json'
    Push-Location $Root
    try {
        & dotnet pwsh -NoLogo -NoProfile -NonInteractive -File (Join-Path $Root 'tests/pester/Invoke-PesterSuite.ps1') `
            -PesterPath (Get-PesterPath) -ModulePath (Join-Path $ModuleOut 'PrefectScaling.psd1') -Configuration $Configuration -SummaryPath $summary
    }
    finally { Pop-Location }
    if (-not (Test-Path $summary)) { throw 'Pester did not finish: no summary was written.' }
    $pester = Get-Content -Raw $summary | ConvertFrom-Json
    $passed += $pester.Passed; $failed += $pester.Failed
    foreach ($name in @($pester.FailedNames)) { if ($name) { $failedNames.Add("Pester: $name") } }

    Write-Host ''
    Write-Host $script:RealPrefectLine
    foreach ($name in $failedNames) { Write-Host "FAILED $name" -ForegroundColor Red }
    Write-Host "Tests: $passed passed, $failed failed"
    if ($failed -gt 0 -or $passed -eq 0) { throw "$failed test(s) failed." }
}

function Invoke-Demo {
    Use-BuiltModule
    Invoke-ChildPwsh @('-File', (Join-Path $Root 'tests/demo/Invoke-Demo.ps1'), '-ModulePath', (Join-Path $ModuleOut 'PrefectScaling.psd1'), '-Configuration', $Configuration)
}

function Invoke-Bench {
    Use-BuiltModule
    Invoke-ChildPwsh @('-File', (Join-Path $Root 'tests/bench/Invoke-Bench.ps1'), '-ModulePath', (Join-Path $ModuleOut 'PrefectScaling.psd1'), '-Configuration', $Configuration)
}

foreach ($name in $Task) {
    switch ($name) {
        'Build' { Build-Module }
        'Package' { Invoke-Package }
        'Test'  { Invoke-TestWithRealPrefect }
        'Demo'  { Invoke-Demo }
        'Bench' { Invoke-Bench }
        'Clean' { if (Test-Path $Out) { Remove-Item -Recurse -Force $Out }; Invoke-Native 'dotnet' @('clean', (Join-Path $Root 'PrefectScaling.sln'), '-v', 'q') }
    }
}
