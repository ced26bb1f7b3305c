BeforeAll {
    . (Join-Path $PSScriptRoot '../Common.ps1')
    $script:Commands = @(Get-Command -Module PrefectScaling -CommandType Cmdlet)
    $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters

    # A parameter name that some cmdlets use for another thing, on purpose. Each variant lists its cmdlets, why, and
    # exactly which parts of the metadata differ from the other cmdlets' definition: a part that no longer differs
    # must leave the list, so it can only shrink. A name may have several variants (an array of them).
    $script:Variants = @{
        WorkQueue = @(
            @{ Why = 'one exact queue, not a scope of names and wildcards'; Differs = 'Type', 'Wildcards'; Cmdlets = 'Publish-PrefectBacklogMetric' }
            @{ Why = 'the exact names of a binding''s scope: no wildcards, it is read as one total'; Differs = 'Wildcards'; Cmdlets = 'Set-PrefectEcsScalingPolicy', 'Remove-PrefectEcsScalingPolicy', 'Get-PrefectFlowRunHistory' })
        WorkPool  = @(
            @{ Why = 'the pool of one exact queue, where empty means none, not a scope'; Differs = 'Type', 'Wildcards', 'Validation'; Cmdlets = 'Publish-PrefectBacklogMetric' }
            @{ Why = 'the exact names of a binding''s scope: no wildcards, it is read as one total'; Differs = 'Wildcards'; Cmdlets = 'Set-PrefectEcsScalingPolicy', 'Remove-PrefectEcsScalingPolicy', 'Get-PrefectFlowRunHistory' })
        Measure   = @{ Why = 'the measure of one count, bound from it, not the measures to read'; Differs = 'Type', 'Validation', 'Pipeline'
                       Cmdlets = 'Publish-PrefectBacklogMetric', 'Set-PrefectEcsScalingPolicy', 'Invoke-PrefectScalingSimulation' }
        Cluster   = @{ Why = 'the one service whose backlog per task a publishing call adds, not the service of a policy'; Differs = 'Pipeline'
                       Cmdlets = 'Publish-PrefectBacklogMetric', 'Install-PrefectBacklogPublisher' }
        Service   = @{ Why = 'the one service whose backlog per task a publishing call adds, not the service of a policy'; Differs = 'Pipeline'
                       Cmdlets = 'Publish-PrefectBacklogMetric', 'Install-PrefectBacklogPublisher' }
    }

    # Cmdlets that bind nothing from the pipeline (checked below): their pipeline binding is not compared.
    $script:NoPipelineInput = @{
        'Install-PrefectBacklogPublisher' = 'every input would install the same publisher again, and a piped publisher (Name, ApiUrl) would be reinstalled with default settings'
    }

    function Format-Value($Value) {
        if ($null -eq $Value) { return '' }
        if ($Value -is [type]) { return $Value.FullName }
        if ($Value -is [scriptblock]) { return $Value.ToString().Trim() }
        if ($Value -is [System.Collections.IEnumerable] -and $Value -isnot [string]) { return (@($Value | ForEach-Object { Format-Value $_ }) -join ',') }
        "$Value"
    }

    # An attribute with every public setting it has (ValidateSet's values, ValidateRange's bounds, a completer's type).
    function Format-Attribute($Attribute) {
        $settings = foreach ($property in ($Attribute.GetType().GetProperties() | Where-Object Name -ne 'TypeId' | Sort-Object Name)) {
            "$($property.Name)=$(Format-Value $property.GetValue($Attribute))"
        }
        "$($Attribute.GetType().Name)($($settings -join ';'))"
    }

    # What a user relies on when the same name appears in two cmdlets, part by part. Mandatory and position are the
    # cmdlet's own business; what the parameter is and how it binds is not.
    function Get-ParameterShape([System.Management.Automation.CommandInfo] $Command, [string] $Name) {
        $parameter = $Command.Parameters[$Name]
        $attributes = @($parameter.Attributes | Where-Object { $_.GetType().Namespace -ne 'System.Runtime.CompilerServices' })
        $binding = @($attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] })
        $other = @($attributes | Where-Object { $_ -isnot [System.Management.Automation.ParameterAttribute] })
        [ordered]@{
            Type       = $parameter.ParameterType.FullName
            Aliases    = (@($parameter.Aliases | Sort-Object) -join ',')
            Pipeline   = (@($binding | ForEach-Object { "ByValue=$($_.ValueFromPipeline);ByPropertyName=$($_.ValueFromPipelineByPropertyName);Remaining=$($_.ValueFromRemainingArguments)" } | Sort-Object -Unique) -join ' | ')
            Validation = (@($other | Where-Object { $_ -isnot [System.Management.Automation.ArgumentCompleterAttribute] -and $_ -isnot [System.Management.Automation.SupportsWildcardsAttribute] } |
                              ForEach-Object { Format-Attribute $_ } | Sort-Object) -join ' ')
            Completer  = (@($other | Where-Object { $_ -is [System.Management.Automation.ArgumentCompleterAttribute] } | ForEach-Object { Format-Attribute $_ }) -join ' ')
            Wildcards  = [bool]($other | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
        }
    }

    # The parts in which two definitions differ; pipeline binding only between cmdlets that take pipeline input.
    function Compare-Shape([string] $Name, [string] $A, [string] $B) {
        $left = Get-ParameterShape (Get-Command $A) $Name
        $right = Get-ParameterShape (Get-Command $B) $Name
        foreach ($part in $left.Keys) {
            if ($part -eq 'Pipeline' -and ($script:NoPipelineInput.ContainsKey($A) -or $script:NoPipelineInput.ContainsKey($B))) { continue }
            if ($left[$part] -ne $right[$part]) { [pscustomobject]@{ Part = $part; Left = "$A=$($left[$part])"; Right = "$B=$($right[$part])" } }
        }
    }

    # Every own parameter name used by more than one cmdlet, with the cmdlets using it.
    $script:Shared = [ordered]@{}
    foreach ($group in ($script:Commands | ForEach-Object { $c = $_; $c.Parameters.Keys | Where-Object { $_ -notin $common } | ForEach-Object { [pscustomobject]@{ Name = $_; Cmdlet = $c.Name } } } |
                        Group-Object Name | Where-Object Count -gt 1 | Sort-Object Name)) {
        $script:Shared[$group.Name] = @($group.Group.Cmdlet | Sort-Object)
    }
}

Describe 'A parameter name shared by several cmdlets' {
    It 'is found (the check below has something to check)' {
        $script:Shared.Keys | Should -Contain 'PrefectApiUrl'
        $script:Shared['PrefectApiUrl'] | Should -Contain 'Install-PrefectBacklogPublisher'
        $script:Shared['Cluster'].Count | Should -BeGreaterOrEqual 5
    }

    It 'has one definition: type, aliases, pipeline binding, validation, completer and wildcards alike' {
        $drift = foreach ($name in $script:Shared.Keys) {
            $variants = @($script:Variants[$name] | Where-Object { $_ })
            $inVariant = @($variants | ForEach-Object { $_.Cmdlets })
            $groups = @(, @($script:Shared[$name] | Where-Object { $_ -notin $inVariant }))
            foreach ($variant in $variants) { $groups += , @($script:Shared[$name] | Where-Object { $_ -in $variant.Cmdlets }) }
            foreach ($group in $groups) {
                foreach ($other in ($group | Select-Object -Skip 1)) {
                    Compare-Shape $name $group[0] $other | ForEach-Object { "-$name differs in $($_.Part): $($_.Left) but $($_.Right)" }
                }
            }
        }
        $drift | Should -BeNullOrEmpty
    }

    It 'differs in a listed variant exactly where the list says, and nowhere else' {
        foreach ($name in $script:Variants.Keys) { foreach ($variant in @($script:Variants[$name])) {
            $variant.Cmdlets | ForEach-Object { $script:Shared[$name] | Should -Contain $_ -Because "the variant of -$name lists $_" }
            $main = @($script:Shared[$name] | Where-Object { $_ -notin @($script:Variants[$name] | ForEach-Object { $_.Cmdlets }) })
            $main | Should -Not -BeNullOrEmpty -Because "-$name has a main definition besides its variant"
            # Compare cmdlets that both take pipeline input, so that every part is compared.
            $left = @($main | Where-Object { -not $script:NoPipelineInput.ContainsKey($_) })[0]
            $right = @($variant.Cmdlets | Where-Object { -not $script:NoPipelineInput.ContainsKey($_) })[0]
            $parts = @(Compare-Shape $name $left $right | ForEach-Object Part)
            ($parts | Sort-Object) -join ',' | Should -Be (($variant.Differs | Sort-Object) -join ',') -Because "-$name is $($variant.Why)"
        } }
    }

    It 'is bound from the pipeline by no parameter of a cmdlet that takes no pipeline input' {
        foreach ($name in $script:NoPipelineInput.Keys) {
            $bound = (Get-Command $name).Parameters.Values | Where-Object { $_.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] -and ($_.ValueFromPipeline -or $_.ValueFromPipelineByPropertyName) } }
            @($bound).Name | Should -BeNullOrEmpty -Because "$name takes no pipeline input: $($script:NoPipelineInput[$name])"
        }
    }
}

Describe '-Cluster and -Service of <Command>' -ForEach @(
    @{ Command = 'Publish-PrefectBacklogMetric'; Rest = '-WorkQueue q -Count 1' }
    @{ Command = 'Install-PrefectBacklogPublisher'; Rest = '-WorkPool k8s' }
) {
    It 'are a parameter set of their own, both mandatory in it, and the default set has neither' {
        $sets = (Get-Command $Command).ParameterSets
        $with = @($sets | Where-Object { $_.Parameters.Name -contains 'Cluster' })
        $with | Should -HaveCount 1
        ($with[0].Parameters | Where-Object Name -in 'Cluster', 'Service').IsMandatory | Should -Be @($true, $true)
        $default = @($sets | Where-Object IsDefault)
        $default | Should -HaveCount 1
        $default[0].Parameters.Name | Should -Not -Contain 'Cluster'
        $default[0].Parameters.Name | Should -Not -Contain 'Service'
        # So Get-Help and -Syntax show the pair.
        (Get-Command $Command -Syntax) | Should -Match '-Cluster <string> -Service <string>'
    }

    It 'refuse -<Given> without -<Missing>, naming it, before anything runs' -ForEach @(
        @{ Given = 'Cluster'; Missing = 'Service' }
        @{ Given = 'Service'; Missing = 'Cluster' }
    ) {
        # A runspace without a host cannot prompt for the missing one, as a script without a console cannot.
        $shell = [powershell]::Create()
        try {
            $null = $shell.AddScript("Import-Module '$ModulePath'; $Command $Rest -$Given x -Region us-east-1 -EndpointUrl http://127.0.0.1:9 -AccessKey a -SecretKey s")
            $output = $shell.Invoke()
            $output | Should -BeNullOrEmpty
            $errors = @($shell.Streams.Error)
            $errors | Should -HaveCount 1
            $errors[0].FullyQualifiedErrorId | Should -BeLike "MissingMandatoryParameter,*"
            $errors[0].Exception.Message | Should -Match "missing mandatory parameters: $Missing\."
        }
        finally { $shell.Dispose() }
    }
}
