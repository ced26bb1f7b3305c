using System;
using System.Management.Automation;
using PrefectScaling.Aws;
using PrefectScaling.Completion;

namespace PrefectScaling.Commands
{
    /// <summary>A cmdlet that calls AWS: the common parameters named and aliased as AWS Tools for PowerShell
    /// names them, resolved in AWS Tools' documented order by the engine.</summary>
    public abstract class AwsCmdlet : EngineCmdlet
    {
        private AwsContext? _aws;
        /// <summary>The AWS region; else $StoredAWSRegion, AWS_REGION, AWS_DEFAULT_REGION, the profile.</summary>
        [Parameter]
        [Alias("RegionToCall")]
        [ArgumentCompleter(typeof(AwsRegionCompleter))]
        [ValidateNotNullOrEmpty]
        public string? Region { get; set; }

        /// <summary>A profile in the shared credentials/config files.</summary>
        [Parameter]
        [Alias("StoredCredentials", "AWSProfileName")]
        [ArgumentCompleter(typeof(AwsProfileNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string? ProfileName { get; set; }

        /// <summary>The credentials file to read profiles from.</summary>
        [Parameter]
        [Alias("AWSProfilesLocation", "ProfilesLocation")]
        [ValidateNotNullOrEmpty]
        public string? ProfileLocation { get; set; }

        [Parameter]
        [Alias("AK")]
        [ValidateNotNullOrEmpty]
        public string? AccessKey { get; set; }

        [Parameter]
        [Alias("SK", "SecretAccessKey")]
        [ValidateNotNullOrEmpty]
        public string? SecretKey { get; set; }

        [Parameter]
        [Alias("ST")]
        [ValidateNotNullOrEmpty]
        public string? SessionToken { get; set; }

        /// <summary>An Amazon.Runtime.AWSCredentials object, as AWS Tools' common -Credential takes: typed as object
        /// because AWS Tools' AWSSDK.Core is not the module's private one.</summary>
        [Parameter]
        [ValidateNotNull]
        [AwsCredentialObject]
        public object? Credential { get; set; }

        /// <summary>A service URL for every AWS call of this command (a VPC endpoint, a local emulator).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? EndpointUrl { get; set; }

        /// <summary>The invocation's one AWS context: resolved on first use, then the same for every input (no AWS
        /// parameter is bound from the pipeline), and disposed with the cmdlet, SDK clients and all. The first use
        /// reads PowerShell state, so it belongs on the pipeline thread: read it before RunEngine, not inside.</summary>
        internal AwsContext Aws => _aws ??= ConnectAws();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _aws?.Dispose();
                _aws = null;
            }
            base.Dispose(disposing);
        }

        /// <summary>Resolves credentials, region and endpoints. The context itself says where each came from, on the
        /// debug stream, at its first call.</summary>
        private AwsContext ConnectAws()
        {
            var input = new AwsSettingsInput
            {
                Region = Region,
                StoredRegion = SessionState.PSVariable.GetValue("StoredAWSRegion") as string,
                ProfileName = ProfileName,
                ProfileLocation = ProfileLocation == null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(ProfileLocation),
                AccessKey = AccessKey,
                SecretKey = SecretKey,
                SessionToken = SessionToken,
                Credential = Unwrap(Credential),
                StoredCredentials = Unwrap(SessionState.PSVariable.GetValue("StoredAWSCredentials")),
                EndpointUrl = EndpointUrl,
            };
            return AwsContext.Create(input, Environment.GetEnvironmentVariable, PrefectCmdlet.HomeDirectory());
        }

        private static object? Unwrap(object? value) => value is PSObject wrapped ? wrapped.BaseObject : value;

        /// <summary>Refuses at binding, before anything runs, what is not an AWS credentials object.</summary>
        internal sealed class AwsCredentialObjectAttribute : ValidateArgumentsAttribute
        {
            protected override void Validate(object arguments, EngineIntrinsics engineIntrinsics)
            {
                object? value = Unwrap(arguments);
                if (!AwsCredentialObjects.IsCredentialObject(value))
                    throw new ValidationMetadataException("-Credential takes an Amazon.Runtime.AWSCredentials object (New-AWSCredential or Get-AWSCredential make one), not "
                        + (value == null ? "null" : "a " + value.GetType().FullName) + ". For keys use -AccessKey/-SecretKey; for a profile, -ProfileName.");
            }
        }
    }
}
