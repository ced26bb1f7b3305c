BeforeAll {
    . (Join-Path $PSScriptRoot 'Common.ps1')
    $module = Get-Module PrefectScaling
}

Describe 'The PrefectScaling module' {
    It 'exports exactly the cmdlets of its manifest' {
        $manifest = Import-PowerShellDataFile $ModulePath
        (Get-Command -Module PrefectScaling).Name | Sort-Object | Should -Be ($manifest.CmdletsToExport | Sort-Object)
        $module.Version | Should -Not -Be ([version]'0.0.0')
    }

    It 'declares an output type with a format view for every cmdlet' {
        foreach ($command in Get-Command -Module PrefectScaling) {
            $command.OutputType | Should -Not -BeNullOrEmpty -Because $command.Name
            foreach ($type in $command.OutputType.Name | Where-Object { $_ -ne 'System.Void' }) {
                Get-FormatData -TypeName $type | Should -Not -BeNullOrEmpty -Because "$type needs a view"
            }
        }
    }

    It 'has full help for every cmdlet: synopsis, description, every parameter and two examples' {
        foreach ($command in Get-Command -Module PrefectScaling) {
            $help = Get-Help $command.Name -Full
            $help.Synopsis | Should -Not -BeNullOrEmpty -Because $command.Name
            $help.Synopsis | Should -Not -Match '^\s*Get-Prefect' -Because "$($command.Name) has a written synopsis, not the generated syntax"
            ($help.Description.Text -join '') | Should -Not -BeNullOrEmpty -Because $command.Name
            @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2 -Because $command.Name
            $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
            foreach ($parameter in $command.Parameters.Keys | Where-Object { $_ -notin $common }) {
                $text = ($help.Parameters.Parameter | Where-Object Name -eq $parameter).Description.Text -join ''
                $text | Should -Not -BeNullOrEmpty -Because "$($command.Name) -$parameter needs a description"
            }
        }
    }

    It 'loads no engine or dependency assembly until a cmdlet runs, and then only in its own load context' {
        $script = "Import-Module '$ModulePath'; [AppDomain]::CurrentDomain.GetAssemblies().GetName().Name -join ','"
        $loaded = & dotnet pwsh -NoProfile -NonInteractive -Command $script
        $loaded | Should -Not -Match 'PrefectScaling\.Engine|Tomlyn'
        $script = "Import-Module '$ModulePath'; `$null = Get-PrefectLateRunCount -PrefectApiUrl 'not a url' -ErrorAction SilentlyContinue; " +
                  "[AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'PrefectScaling.Engine' } | ForEach-Object { [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_).GetType().Name }"
        & dotnet pwsh -NoProfile -NonInteractive -Command $script | Should -Be 'DependencyLoadContext'
    }
}
