@{
    # build.ps1 stamps ModuleVersion from Directory.Build.props, the one place the version lives.
    ModuleVersion        = '0.0.0'
    GUID                 = '0c6f7c1e-5a43-4c43-9d1b-7f2a8e2f4b61'
    Author               = 'PrefectScaling'
    CompanyName          = 'PrefectScaling'
    Copyright            = '(c) PrefectScaling contributors. MIT License.'
    Description          = 'Autoscale Prefect agents and workers running as an AWS ECS service from the Prefect backlog: count Late runs per work queue, publish them to CloudWatch, and scale the service on them.'
    RootModule           = 'PrefectScaling.dll'
    # The output records, enums and exceptions, so scripts can name them ([PrefectScaling.Backlog.BacklogMeasure],
    # catch [PrefectScaling.Prefect.PrefectApiException]) from import on.
    RequiredAssemblies   = @('PrefectScaling.Model.dll')
    # What is tested: PowerShell 7.6 (.NET 10); 7.4 is out of support and not tested. Windows PowerShell 5.1
    # has no AssemblyLoadContext for the dependency isolation.
    PowerShellVersion    = '7.6'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('PrefectScaling.Format.ps1xml')
    CmdletsToExport      = @(
        'Get-PrefectLateRunCount'
        'Get-PrefectWorkQueue'
        'Publish-PrefectBacklogMetric'
        'Set-PrefectEcsScalingPolicy'
        'Get-PrefectEcsScalingPolicy'
        'Remove-PrefectEcsScalingPolicy'
        'Get-PrefectScalingStatus'
        'Install-PrefectBacklogPublisher'
        'Get-PrefectBacklogPublisher'
        'Test-PrefectBacklogPublisher'
        'Uninstall-PrefectBacklogPublisher'
        'Get-PrefectFlowRunHistory'
        'Invoke-PrefectScalingSimulation'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('Prefect', 'AWS', 'ECS', 'CloudWatch', 'Autoscaling', 'Lambda', 'PSEdition_Core', 'Linux', 'Windows', 'MacOS')
            LicenseUri   = 'https://opensource.org/licenses/MIT'
            ProjectUri   = 'https://github.com/prefectscaling/PrefectScaling'
            ReleaseNotes = 'First release: count the Prefect backlog (Get-PrefectLateRunCount, Get-PrefectWorkQueue), publish it to CloudWatch (Publish-PrefectBacklogMetric), scale ECS on it (Set/Get/Remove-PrefectEcsScalingPolicy) and publish it every minute from Lambda (Install/Get/Test/Uninstall-PrefectBacklogPublisher).'
        }
    }
}
