Describe 'The .nupkg from build.ps1 Package' {
    BeforeAll {
        . (Join-Path $PSScriptRoot '../Common.ps1')
        $packages = Join-Path (Split-Path (Split-Path $ModulePath)) 'packages'
        $prefect = Start-PrefectEmulator -Mode V3 -SeedPath $SeedPath -Configuration $Configuration
    }
    AfterAll { if ($prefect) { Stop-PrefectEmulator $prefect } }

    It 'installs with Install-PSResource from a folder repository into a clean module path, imports and runs' {
        Get-ChildItem $packages -Filter 'PrefectScaling.*.nupkg' | Should -HaveCount 1
        # A fresh HOME gives the child an empty user module path and its own repository list; NUGET_PACKAGES and
        # DOTNET_CLI_HOME keep the pinned pwsh tool findable.
        $cleanHome = Join-Path $TestDrive 'home'
        $null = New-Item -ItemType Directory $cleanHome
        $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module Microsoft.PowerShell.PSResourceGet
Register-PSResourceRepository -Name PrefectScalingLocal -Uri '$packages' -Trusted
Install-PSResource -Name PrefectScaling -Repository PrefectScalingLocal -Scope CurrentUser -TrustRepository -Quiet
`$installed = Get-Module -ListAvailable PrefectScaling
"path=`$(`$installed.ModuleBase)"
"entrypoint=`$(Test-Path (Join-Path `$installed.ModuleBase 'scripts/prefect-ecs-entrypoint.py'))"
Import-Module PrefectScaling
"commands=`$((Get-Command -Module PrefectScaling).Count)"
"late=`$((Get-PrefectLateRunCount -PrefectApiUrl '$($prefect.ApiUrl)' -WorkPool k8s -WorkQueue default).Count)"
"@
        $nuget = ((& dotnet nuget locals global-packages --list) -replace '^global-packages:\s*', '').Trim()
        $saved = $env:HOME, $env:NUGET_PACKAGES, $env:DOTNET_CLI_HOME
        $env:DOTNET_CLI_HOME = if ($env:DOTNET_CLI_HOME) { $env:DOTNET_CLI_HOME } else { $env:HOME }
        $env:HOME = $cleanHome; $env:NUGET_PACKAGES = $nuget
        try { $output = & dotnet pwsh -NoProfile -NonInteractive -Command $script 2>&1 }
        finally { $env:HOME, $env:NUGET_PACKAGES, $env:DOTNET_CLI_HOME = $saved }
        $LASTEXITCODE | Should -Be 0 -Because ($output | Out-String)
        ($output -match '^path=') | Should -BeLike "path=$cleanHome*"
        $manifest = Import-PowerShellDataFile $ModulePath
        $output | Should -Contain "commands=$($manifest.CmdletsToExport.Count)"
        $output | Should -Contain 'late=2'
        # The ECS worker entrypoint ships in the package, for users to copy into their images.
        $output | Should -Contain 'entrypoint=True'
    }
}
