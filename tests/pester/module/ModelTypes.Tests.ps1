# The Model assembly as a script meets it: the types the engine makes are the types a script names.
BeforeAll {
    . (Join-Path $PSScriptRoot '../Common.ps1')
    $prefect = Start-PrefectEmulator -Mode V3 -SeedPath $SeedPath -Configuration $Configuration
}
AfterAll {
    if ($prefect) { Stop-PrefectEmulator $prefect }
}

Describe 'The Model types' {
    It 'are the very types the engine makes, loaded once, in the default context' {
        $count = Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -WorkPool k8s -WorkQueue default
        $count.GetType() -eq [PrefectScaling.Backlog.PrefectBacklogCount] | Should -BeTrue
        $count.Measure.GetType() -eq [PrefectScaling.Backlog.BacklogMeasure] | Should -BeTrue
        $count.Measure -eq [PrefectScaling.Backlog.BacklogMeasure]::Late | Should -BeTrue

        $assemblies = [AppDomain]::CurrentDomain.GetAssemblies()
        $models = @($assemblies | Where-Object { $_.GetName().Name -eq 'PrefectScaling.Model' })
        $models | Should -HaveCount 1 -Because 'a second copy would make a second PrefectBacklogCount type'
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($models[0]) | Should -Be ([System.Runtime.Loader.AssemblyLoadContext]::Default)
        $models[0].Location | Should -Be (Join-Path (Split-Path $ModulePath) 'PrefectScaling.Model.dll')
        $engine = $assemblies | Where-Object { $_.GetName().Name -eq 'PrefectScaling.Engine' }
        [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext($engine).GetType().Name | Should -Be 'DependencyLoadContext'
    }

    It 'can be named as soon as the module is imported, before any cmdlet runs' {
        $script = "Import-Module '$ModulePath'; [PrefectScaling.Backlog.BacklogMeasure]::Due; [PrefectScaling.Prefect.PrefectErrorKind]::NotFound; " +
                  "[bool]([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'PrefectScaling.Engine' })"
        & dotnet pwsh -NoProfile -NonInteractive -Command $script | Should -Be 'Due', 'NotFound', 'False'
    }

    It 'is what every cmdlet declares as its output: a runtime type, not a name' {
        foreach ($command in Get-Command -Module PrefectScaling) {
            $attribute = $command.ImplementingType.CustomAttributes | Where-Object AttributeType -eq ([System.Management.Automation.OutputTypeAttribute])
            $attribute | Should -HaveCount 1 -Because $command.Name
            $attribute.ConstructorArguments[0].ArgumentType | Should -Be ([type[]]) -Because "$($command.Name) names its output with typeof, so completion after a pipe knows its members"
            foreach ($type in $command.OutputType.Type) {
                $type | Should -BeOfType [type] -Because $command.Name
                if ($type -ne [void]) { $type.Assembly.GetName().Name | Should -Be 'PrefectScaling.Model' -Because $command.Name }
            }
        }
    }
}

Describe 'Member completion after a pipe' {
    # Nothing runs: PowerShell infers $_ from each cmdlet's [OutputType], which names a loaded type.
    It 'completes <Line>' -ForEach @(
        @{ Line = 'Get-PrefectLateRunCount -WorkPool k8s | ForEach-Object { $_.Mea'; Expected = 'Measure' }
        @{ Line = 'Get-PrefectEcsScalingPolicy -Cluster c -Service s | Where-Object { $_.PolicyN'; Expected = 'PolicyName' }
        @{ Line = 'Get-PrefectWorkQueue | Select-Object -Property IsP'; Expected = 'IsPaused' }
        @{ Line = 'Get-PrefectScalingStatus -Cluster c -Service s | Where-Object { $_.Decis'; Expected = 'Decision' }
        @{ Line = '(Get-PrefectBacklogPublisher).Functi'; Expected = 'FunctionArn' }
    ) {
        $completions = (TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches.CompletionText
        $completions | Should -Contain $Expected
    }
}

Describe 'The Model exceptions' {
    It 'a missing pool is catch [PrefectScaling.Prefect.PrefectApiException], with its Kind' {
        $caught = $null
        try { Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -WorkPool no-such-pool -ErrorAction Stop }
        catch [PrefectScaling.Prefect.PrefectApiException] { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.Exception.GetType() -eq [PrefectScaling.Prefect.PrefectApiException] | Should -BeTrue
        $caught.Exception.Kind | Should -Be ([PrefectScaling.Prefect.PrefectErrorKind]::NotFound)
        $caught.FullyQualifiedErrorId | Should -BeLike 'PrefectNotFound,*'
    }

    It 'a profile that does not exist is catch [PrefectScaling.Aws.AwsApiException], with its Kind' {
        $credentials = Join-Path $TestDrive 'credentials'
        Set-Content -Path $credentials -Value "[someone-else]`naws_access_key_id = AKIDEXAMPLE`naws_secret_access_key = example"
        $caught = $null
        try { Publish-PrefectBacklogMetric -WorkQueue default -Count 1 -Region us-east-1 -ProfileName no-such-profile -ProfileLocation $credentials -ErrorAction Stop }
        catch [PrefectScaling.Aws.AwsApiException] { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.Exception.Kind | Should -Be ([PrefectScaling.Aws.AwsErrorKind]::InvalidSettings)
        $caught.Exception.Message | Should -Match 'no-such-profile'
    }
}

Describe 'ConvertTo-Json of the Model types' {
    It 'writes a measure by name, and the name binds back to -Measure' {
        $counts = Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -WorkPool k8s -WorkQueue default -Measure Late, Due
        $json = $counts | ConvertTo-Json -Compress
        $json | Should -Match '"Measure":"Late"'
        $json | Should -Match '"Measure":"Due"'
        $json | Should -Not -Match '"Measure":\d'
        $back = $json | ConvertFrom-Json
        $back.Measure | Should -Be 'Late', 'Due'
        # What a JSON file hands back binds to an enum parameter as the live objects do.
        $again = Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -WorkPool k8s -WorkQueue default -Measure $back.Measure
        $again.Measure | Should -Be ([PrefectScaling.Backlog.BacklogMeasure]::Late), ([PrefectScaling.Backlog.BacklogMeasure]::Due)
    }

    It 'writes an error kind by name' {
        $caught = $null
        try { Get-PrefectLateRunCount -PrefectApiUrl $prefect.ApiUrl -WorkPool no-such-pool -ErrorAction Stop }
        catch [PrefectScaling.Prefect.PrefectApiException] { $caught = $_.Exception }
        [pscustomobject]@{ Kind = $caught.Kind } | ConvertTo-Json -Compress | Should -Be '{"Kind":"NotFound"}'
    }
}
