namespace PrefectScaling.Aws
{
    /// <summary>The AWS common parameters as AWS Tools for PowerShell names them, as the caller gave them.</summary>
    public sealed class AwsSettingsInput
    {
        /// <summary>-Region (alias RegionToCall).</summary>
        public string? Region { get; set; }
        /// <summary>$StoredAWSRegion from the caller's session (Set-DefaultAWSRegion).</summary>
        public string? StoredRegion { get; set; }
        /// <summary>-ProfileName (aliases StoredCredentials, AWSProfileName).</summary>
        public string? ProfileName { get; set; }
        /// <summary>-ProfileLocation (aliases AWSProfilesLocation, ProfilesLocation): a shared credentials file.</summary>
        public string? ProfileLocation { get; set; }
        /// <summary>-AccessKey (alias AK).</summary>
        public string? AccessKey { get; set; }
        /// <summary>-SecretKey (aliases SK, SecretAccessKey).</summary>
        public string? SecretKey { get; set; }
        /// <summary>-SessionToken (alias ST).</summary>
        public string? SessionToken { get; set; }
        /// <summary>-Credential: an Amazon.Runtime.AWSCredentials object, from AWS Tools' own AWSSDK.Core or any
        /// other copy (read by AwsCredentialObjects), or AWS Tools' AWSPSCredentials.</summary>
        public object? Credential { get; set; }
        /// <summary>$StoredAWSCredentials from the caller's session, as Set-AWSCredential left it (an AWSPSCredentials).</summary>
        public object? StoredCredentials { get; set; }
        /// <summary>-EndpointUrl: the service URL for every service this call talks to.</summary>
        public string? EndpointUrl { get; set; }
    }
}
