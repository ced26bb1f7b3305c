BeforeAll {
    . (Join-Path $PSScriptRoot '../Common.ps1')
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

    It 'shows as each parameter''s default the value its property is given in code, and False for every switch' {
        $checked = 0
        foreach ($command in Get-Command -Module PrefectScaling) {
            $fresh = [Activator]::CreateInstance($command.ImplementingType)
            foreach ($property in $command.ImplementingType.GetProperties() | Where-Object { $command.Parameters.ContainsKey($_.Name) }) {
                $value = $property.GetValue($fresh)
                $words = @(
                    if ($value -is [System.Management.Automation.SwitchParameter]) { 'False' }
                    elseif ($value -is [string] -or $value -is [array] -or $value -is [enum]) { $value | Where-Object { "$_" } | ForEach-Object { "$_" } }
                    elseif ($null -ne $value -and -not ($value.GetType().IsValueType -and $value -eq [Activator]::CreateInstance($value.GetType()))) { [string]::Format([cultureinfo]::InvariantCulture, '{0}', $value) })
                if (-not $words) { continue }
                $shown = "$((Get-Help $command.Name -Parameter $property.Name).defaultValue)"
                $shown | Should -Not -Be 'None' -Because "$($command.Name) -$($property.Name) is $($words -join ', ') when not given"
                foreach ($word in $words) { $shown | Should -BeLike "*$([WildcardPattern]::Escape($word))*" -Because "$($command.Name) -$($property.Name) is $word when not given" }
                $checked++
            }
        }
        $checked | Should -BeGreaterThan 30 -Because 'most cmdlets have parameters with defaults in code'
        (Get-Help Install-PrefectBacklogPublisher -Parameter Schedule).defaultValue | Should -Be 'rate(1 minute)'
        (Get-Help Get-PrefectLateRunCount -Parameter PrefectApiUrl).defaultValue | Should -Match 'PREFECT_API_URL'
        (Get-Help Publish-PrefectBacklogMetric -Parameter Region).defaultValue | Should -Match '\$StoredAWSRegion.*AWS_REGION'
    }

    It 'has an about_PrefectScaling topic with the concepts, the runbook and the troubleshooting table, within 80 columns' {
        $about = Get-Help about_PrefectScaling
        $about | Should -BeOfType [string]
        foreach ($expected in 'SHORT DESCRIPTION', 'BACKLOG MEASURES', 'SCOPES', 'PIPELINE BINDINGS', 'METRICS', 'THREE POLICY KINDS', 'THE PUBLISHER',
                              'RUNBOOK', 'TROUBLESHOOTING', 'LateFlowRuns', '-BacklogPerTask', 'PrefectUnauthorized', 'Install-PrefectBacklogPublisher') {
            $about | Should -Match ([regex]::Escape($expected))
        }
        foreach ($line in $about -split '\r?\n') { $line.Length | Should -BeLessOrEqual 80 -Because "'$line'" }
        (Get-Help about_PrefectScaling*).Name | Should -Contain 'about_PrefectScaling'
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
