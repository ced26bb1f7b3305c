BeforeAll {
    . (Join-Path $PSScriptRoot '../Common.ps1')
    $server = Start-PrefectEmulator -Mode V3 -SeedPath $SeedPath -Configuration $Configuration
    $script:Canary = 'CANARY-url-password-7731'

    # Everything an error record shows about itself, as text.
    function Get-ErrorText($record) {
        @(
            $record.Exception.ToString()
            "$($record.TargetObject)"
            $record.CategoryInfo.TargetName
            $record.CategoryInfo.ToString()
            "$($record.ErrorDetails)"
        ) -join "`n"
    }

    # The one error a call must give for a URL with credentials, with the password nowhere in it.
    function Assert-RefusedUrl($errors) {
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -BeLike 'PrefectInvalidSettings,*'
        $errors[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $errors[0].Exception.Message | Should -Match 'user information'
        Get-ErrorText $errors[0] | Should -Not -Match $script:Canary
    }
}
AfterAll { if ($server) { Stop-PrefectEmulator $server } }

Describe 'A Prefect API URL with credentials in it' {
    It 'is refused from -PrefectApiUrl by <Command>, and the password is nowhere in the error' -ForEach @(
        @{ Command = 'Get-PrefectLateRunCount' }
        @{ Command = 'Get-PrefectWorkQueue' }
    ) {
        Invoke-WithCleanPrefectEnvironment {
            & $Command -PrefectApiUrl "http://admin:$($script:Canary)@127.0.0.1:4200/api" -WorkPool k8s -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Assert-RefusedUrl $err
            $err[0].TargetObject | Should -Be 'http://127.0.0.1:4200/api'
        }
    }

    It 'is refused when a password with a slash makes it parse as another host' {
        # http://user:1234/<password>@host/api is host "user", port 1234 to a URL parser.
        Invoke-WithCleanPrefectEnvironment {
            Get-PrefectLateRunCount -PrefectApiUrl "http://user:1234/$($script:Canary)@127.0.0.1/api" -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Assert-RefusedUrl $err
        }
    }

    It 'is refused from PREFECT_API_URL, and -Debug does not show it either' {
        Invoke-WithCleanPrefectEnvironment -Set @{ PREFECT_API_URL = "http://admin:$($script:Canary)@127.0.0.1:4200/api" } {
            $DebugPreference = 'Continue'
            $VerbosePreference = 'Continue'
            $output = Get-PrefectLateRunCount -WorkPool k8s -ErrorVariable err -ErrorAction SilentlyContinue *>&1
            ($output | Out-String) | Should -Not -Match $script:Canary
            Assert-RefusedUrl $err
            $err[0].TargetObject | Should -Be 'PREFECT_API_URL'
        }
    }

    It 'is refused from the active profile' {
        $profiles = Join-Path ([IO.Path]::GetTempPath()) "prefect-url-profiles-$PID.toml"
        Set-Content -Path $profiles -Value "active = `"p`"`n[profiles.p]`nPREFECT_API_URL = `"http://admin:$($script:Canary)@127.0.0.1:4200/api`"`n"
        try {
            Invoke-WithCleanPrefectEnvironment -Set @{ PREFECT_PROFILES_PATH = $profiles } {
                Get-PrefectWorkQueue -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
                Assert-RefusedUrl $err
            }
        }
        finally { Remove-Item $profiles -ErrorAction SilentlyContinue }
    }

    It 'is refused by Install-PrefectBacklogPublisher before anything else happens' {
        Invoke-WithCleanPrefectEnvironment {
            Install-PrefectBacklogPublisher -PrefectApiUrl "http://admin:$($script:Canary)@127.0.0.1:4200/api" -WorkPool k8s -WhatIf -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Assert-RefusedUrl $err
        }
    }
}

Describe 'A Prefect URL without /api' {
    It 'says which URL was meant' {
        Invoke-WithCleanPrefectEnvironment {
            Get-PrefectLateRunCount -PrefectApiUrl $server.RootUrl -WorkPool k8s -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'PrefectInvalidSettings,*'
            $err[0].Exception.Message | Should -BeLike "*did you mean $($server.RootUrl.TrimEnd('/'))/api?"
        }
    }
}
