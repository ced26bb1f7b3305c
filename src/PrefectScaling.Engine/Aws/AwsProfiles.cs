using System;
using System.Collections.Generic;

namespace PrefectScaling.Aws
{
    /// <summary>The profiles of the shared AWS credentials and config files, for tab completion of -ProfileName:
    /// the files the settings resolver reads for the same -ProfileLocation and environment.</summary>
    public static class AwsProfiles
    {
        public static IReadOnlyList<string> Names(string? profileLocation, Func<string, string?> environment, string? homeDirectory)
        {
            if (environment == null) throw new ArgumentNullException(nameof(environment));
            string? sharedCredentialsFile = environment("AWS_SHARED_CREDENTIALS_FILE")?.Trim();
            return new AwsSettingsResolver.ProfileStore(profileLocation, string.IsNullOrEmpty(sharedCredentialsFile) ? null : sharedCredentialsFile, homeDirectory).Names();
        }
    }
}
