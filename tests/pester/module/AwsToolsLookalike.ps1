# Dot-sourced by a child session to stand in for AWS Tools for PowerShell, which is not installed here: its own
# AWSSDK.Core loaded in the default load context (the module's copy stays private, so the types differ), and a
# wrapper shaped like the one Set-AWSCredential leaves in $StoredAWSCredentials (members internal, as there).
param([Parameter(Mandatory)] [string] $SdkPath)

Add-Type -Path $SdkPath
Add-Type -ReferencedAssemblies $SdkPath -TypeDefinition @'
namespace Amazon.PowerShell.Common
{
    public enum CredentialsSource { Strings, Profile, CredentialsObject, Session, Environment, Container, InstanceProfile, Unknown }

    public sealed class AWSPSCredentials
    {
        private AWSPSCredentials(Amazon.Runtime.AWSCredentials credentials, string name, CredentialsSource source)
        {
            Credentials = credentials;
            Name = name;
            Source = source;
        }

        internal Amazon.Runtime.AWSCredentials Credentials { get; private set; }
        internal string Name { get; private set; }
        internal CredentialsSource Source { get; private set; }

        public override string ToString() { return Name; }

        // For the tests: what Set-AWSCredential -ProfileName <name> stores.
        public static AWSPSCredentials FromProfile(Amazon.Runtime.AWSCredentials credentials, string name)
        {
            return new AWSPSCredentials(credentials, name, CredentialsSource.Profile);
        }
    }
}
'@

# What Set-AWSCredential does with the wrapper (AWS Tools sets the variable in the caller's scope, or -Scope's).
function Set-LookalikeAWSCredential([Amazon.Runtime.AWSCredentials] $Credential, [string] $ProfileName) {
    Set-Variable -Name StoredAWSCredentials -Scope Global -Value ([Amazon.PowerShell.Common.AWSPSCredentials]::FromProfile($Credential, $ProfileName))
}

# Account B's temporary keys, handed over in the environment (never in arguments).
function New-AccountBCredential {
    [Amazon.Runtime.SessionAWSCredentials]::new($env:TEST_B_ACCESS_KEY, $env:TEST_B_SECRET_KEY, $env:TEST_B_SESSION_TOKEN)
}
