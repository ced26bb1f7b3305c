using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.Util;

namespace PrefectScaling.Aws
{
    /// <summary>What the resolution decided: credentials (not yet fetched when they come from a chain),
    /// region, and where each came from.</summary>
    internal sealed class ResolvedAwsSettings
    {
        public ResolvedAwsSettings(AWSCredentials credentials, string region, IReadOnlyList<string> sources, IReadOnlyList<string> secrets)
        {
            Credentials = credentials;
            Region = region;
            Sources = sources;
            Secrets = secrets;
        }

        public AWSCredentials Credentials { get; }
        public string Region { get; }
        public IReadOnlyList<string> Sources { get; }
        /// <summary>Secret values known to the resolution, scrubbed from every message.</summary>
        public IReadOnlyList<string> Secrets { get; }
    }

    /// <summary>The one place that resolves AWS settings, in AWS Tools for PowerShell's order: keys,
    /// -ProfileName, -Credential, $StoredAWSCredentials, environment keys, then AWS_PROFILE, the default
    /// profile and roles.</summary>
    internal static class AwsSettingsResolver
    {
        private const string DefaultProfile = "default";
        private static readonly Regex RegionPattern = new Regex("^[a-z0-9]+(-[a-z0-9]+)+$", RegexOptions.CultureInvariant);

        public static ResolvedAwsSettings Resolve(AwsSettingsInput input, Func<string, string?> environment, string? homeDirectory,
            Func<string?>? instanceMetadataRegion = null)
        {
            var sources = new List<string>();
            var secrets = new List<string>();
            string? Env(string name)
            {
                string? value = environment(name);
                return string.IsNullOrWhiteSpace(value) ? null : value!.Trim();
            }
            void Secret(string? value) { if (!string.IsNullOrEmpty(value)) secrets.Add(value!); }
            Secret(input.SecretKey);
            Secret(input.SessionToken);
            Secret(Env("AWS_SECRET_ACCESS_KEY"));
            Secret(Env("AWS_SESSION_TOKEN"));

            var profiles = new ProfileStore(input.ProfileLocation, Env("AWS_SHARED_CREDENTIALS_FILE"), homeDirectory);
            AWSCredentials? credentials = null;
            CredentialProfile? credentialProfile = null;

            // 1. Explicit keys.
            bool hasAccess = !string.IsNullOrWhiteSpace(input.AccessKey), hasSecret = !string.IsNullOrWhiteSpace(input.SecretKey);
            if (hasAccess != hasSecret || (!hasAccess && !string.IsNullOrWhiteSpace(input.SessionToken)))
                throw AwsApiException.InvalidSettings(
                    "Explicit AWS credentials need both -AccessKey and -SecretKey (and -SessionToken only with them, for temporary credentials). Pass both, or leave all three out to use a profile or the environment.");
            if (input.Credential != null && (hasAccess || !string.IsNullOrWhiteSpace(input.ProfileName)))
                throw AwsApiException.InvalidSettings(
                    "-Credential names one set of AWS credentials and " + (hasAccess ? "-AccessKey/-SecretKey" : "-ProfileName") + " another. Pass only one of them.");
            if (hasAccess)
            {
                credentials = string.IsNullOrWhiteSpace(input.SessionToken)
                    ? new BasicAWSCredentials(input.AccessKey!.Trim(), input.SecretKey!.Trim())
                    : (AWSCredentials)new SessionAWSCredentials(input.AccessKey!.Trim(), input.SecretKey!.Trim(), input.SessionToken!.Trim());
                sources.Add("credentials: parameters -AccessKey/-SecretKey" + (string.IsNullOrWhiteSpace(input.SessionToken) ? string.Empty : "/-SessionToken"));
            }
            // 2. -ProfileName: a named profile must exist.
            else if (!string.IsNullOrWhiteSpace(input.ProfileName))
            {
                credentialProfile = profiles.Require(input.ProfileName!.Trim(), "-ProfileName");
                credentials = CredentialsOf(credentialProfile, profiles, "-ProfileName", sources, secrets);
            }
            // 3. -Credential: an AWSCredentials object.
            else if (input.Credential != null)
            {
                credentials = AwsCredentialObjects.Read(input.Credential, "-Credential", out string description);
                sources.Add("credentials: parameter -Credential (" + description + ")");
            }
            // 4. $StoredAWSCredentials (Set-AWSCredential), which overrides the environment as in AWS Tools.
            else if (input.StoredCredentials != null)
            {
                credentials = AwsCredentialObjects.Read(input.StoredCredentials, "$StoredAWSCredentials", out string description);
                sources.Add("credentials: $StoredAWSCredentials from Set-AWSCredential (" + description + ")");
            }
            else
            {
                // 5. Environment keys.
                string? envAccess = Env("AWS_ACCESS_KEY_ID"), envSecret = Env("AWS_SECRET_ACCESS_KEY");
                if (envAccess != null || envSecret != null)
                {
                    if (envAccess == null || envSecret == null)
                        throw AwsApiException.InvalidSettings(
                            "Only one of the environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set. Set both, or clear both to use a profile.");
                    string? envToken = Env("AWS_SESSION_TOKEN");
                    credentials = envToken == null
                        ? new BasicAWSCredentials(envAccess, envSecret)
                        : (AWSCredentials)new SessionAWSCredentials(envAccess, envSecret, envToken);
                    sources.Add("credentials: environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY" + (envToken == null ? string.Empty : "/AWS_SESSION_TOKEN"));
                }
                // 6. AWS_PROFILE: a named profile must exist.
                else if (Env("AWS_PROFILE") is string envProfile)
                {
                    credentialProfile = profiles.Require(envProfile, "environment variable AWS_PROFILE");
                    credentials = CredentialsOf(credentialProfile, profiles, "environment variable AWS_PROFILE", sources, secrets);
                }
                // 7. The default profile, when it exists and holds credentials.
                else if (profiles.TryGet(DefaultProfile, out CredentialProfile? defaultProfile) && defaultProfile!.CanCreateAWSCredentials)
                {
                    credentialProfile = defaultProfile;
                    credentials = CredentialsOf(defaultProfile, profiles, "the default profile", sources, secrets);
                }
                // 8. The SDK's own providers for roles: web identity, container, instance profile.
                else
                {
                    credentials = new DeferredRoleCredentials(environment);
                    sources.Add("credentials: " + DeferredRoleCredentials.Describe(environment)
                        + " (no keys in parameters, -Credential, $StoredAWSCredentials or environment, no AWS_PROFILE, no default profile with credentials in " + profiles.Description + ")");
                }
            }

            // Region.
            string? region;
            if (!string.IsNullOrWhiteSpace(input.Region)) { region = input.Region!.Trim(); sources.Add("region: parameter -Region"); }
            else if (!string.IsNullOrWhiteSpace(input.StoredRegion)) { region = input.StoredRegion!.Trim(); sources.Add("region: $StoredAWSRegion (Set-DefaultAWSRegion)"); }
            else if (Env("AWS_REGION") is string awsRegion) { region = awsRegion; sources.Add("region: environment variable AWS_REGION"); }
            else if (Env("AWS_DEFAULT_REGION") is string defaultRegion) { region = defaultRegion; sources.Add("region: environment variable AWS_DEFAULT_REGION"); }
            else
            {
                CredentialProfile? regionProfile = credentialProfile;
                if (regionProfile == null)
                {
                    string name = !string.IsNullOrWhiteSpace(input.ProfileName) ? input.ProfileName!.Trim() : Env("AWS_PROFILE") ?? DefaultProfile;
                    profiles.TryGet(name, out regionProfile);
                }
                if (regionProfile?.Region != null)
                {
                    region = regionProfile.Region.SystemName;
                    sources.Add("region: profile '" + regionProfile.Name + "' in " + profiles.Description);
                }
                else if (!IsTrue(Env("AWS_EC2_METADATA_DISABLED")) && (instanceMetadataRegion ?? InstanceMetadataRegion)() is string imdsRegion)
                {
                    region = imdsRegion;
                    sources.Add("region: EC2 instance metadata");
                }
                else
                {
                    throw AwsApiException.InvalidSettings(
                        "No AWS region was found. Pass -Region, run Set-DefaultAWSRegion, set the AWS_REGION environment variable, or set region in the AWS profile"
                        + (regionProfile != null ? " '" + regionProfile.Name + "'" : string.Empty) + ".");
                }
            }
            region = region.ToLowerInvariant();
            if (!RegionPattern.IsMatch(region))
                throw AwsApiException.InvalidSettings("'" + region + "' is not an AWS region name (" + Last(sources) + "). Use a name such as eu-west-1.");
            return new ResolvedAwsSettings(credentials, region, sources, secrets);
        }

        private static AWSCredentials CredentialsOf(CredentialProfile profile, ProfileStore profiles, string how, List<string> sources, List<string> secrets)
        {
            if (!profile.CanCreateAWSCredentials)
                throw AwsApiException.InvalidSettings(
                    "The AWS profile '" + profile.Name + "' (" + how + ", in " + profiles.Description + ") holds no usable credentials. Add keys, a role, SSO settings or credential_process to it, or name another profile.");
            if (!string.IsNullOrEmpty(profile.Options?.SecretKey)) secrets.Add(profile.Options!.SecretKey);
            if (!string.IsNullOrEmpty(profile.Options?.Token)) secrets.Add(profile.Options!.Token);
            AWSCredentials credentials;
            try
            {
                credentials = AWSCredentialsFactory.GetAWSCredentials(profile, profiles.Source);
            }
            catch (Exception exception) when (exception is not AwsApiException)
            {
                throw AwsApiException.InvalidSettings(
                    "The AWS profile '" + profile.Name + "' (" + how + ", in " + profiles.Description + ") could not be used: " + AwsSecrets.Scrub(exception.Message, secrets));
            }
            sources.Add("credentials: profile '" + profile.Name + "' (" + profile.CredentialDescription + ") from " + how + ", in " + profiles.Description);
            return credentials;
        }

        private static string? InstanceMetadataRegion()
        {
            try { return EC2InstanceMetadata.Region?.SystemName; }
            catch (Exception) { return null; }
        }

        private static bool IsTrue(string? value) => string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);

        private static string Last(List<string> items) => items.Count == 0 ? string.Empty : items[items.Count - 1];

        /// <summary>The profile files: -ProfileLocation, else AWS_SHARED_CREDENTIALS_FILE, else
        /// &lt;home&gt;/.aws/credentials, else the SDK's defaults. The SDK reads the config file beside the
        /// credentials file (or AWS_CONFIG_FILE from the process environment).</summary>
        internal sealed class ProfileStore
        {
            private readonly CredentialProfileStoreChain _chain;

            public ProfileStore(string? profileLocation, string? sharedCredentialsFile, string? homeDirectory)
            {
                string? path = !string.IsNullOrWhiteSpace(profileLocation) ? profileLocation!.Trim()
                    : sharedCredentialsFile ?? (string.IsNullOrWhiteSpace(homeDirectory) ? null : Path.Combine(homeDirectory!, ".aws", "credentials"));
                _chain = new CredentialProfileStoreChain(path);
                Description = path == null ? "the shared AWS credentials and config files" : "'" + path + "'"
                    + (string.IsNullOrWhiteSpace(profileLocation) ? string.Empty : " (-ProfileLocation)");
            }

            public ICredentialProfileSource Source => _chain;
            public string Description { get; }

            /// <summary>Every profile's name in these files.</summary>
            public IReadOnlyList<string> Names() => _chain.ListProfiles().Select(p => p.Name).Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToList();

            public bool TryGet(string name, out CredentialProfile? profile)
            {
                try
                {
                    if (_chain.TryGetProfile(name, out CredentialProfile found)) { profile = found; return true; }
                }
                catch (Exception exception)
                {
                    throw AwsApiException.InvalidSettings("The AWS profile files " + Description + " could not be read: " + exception.Message);
                }
                profile = null;
                return false;
            }

            public CredentialProfile Require(string name, string how)
            {
                if (TryGet(name, out CredentialProfile? profile)) return profile!;
                throw AwsApiException.InvalidSettings(
                    "The AWS profile '" + name + "' (" + how + ") was not found in " + Description
                    + ". Check the name (Get-AWSCredential -ListProfileDetail lists them), pass -ProfileLocation for another file, or create it with Set-AWSCredential or 'aws configure --profile " + name + "'.");
            }
        }
    }

    /// <summary>The SDK's role credential providers, picked on first use so that resolving settings makes no
    /// network call: web identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), the container credentials
    /// endpoint (ECS, EKS pod identity), else the EC2 instance profile.</summary>
    internal sealed class DeferredRoleCredentials : AWSCredentials
    {
        private readonly Lazy<AWSCredentials> _inner;

        public DeferredRoleCredentials(Func<string, string?> environment)
        {
            _inner = new Lazy<AWSCredentials>(() => Choose(environment));
        }

        public static string Describe(Func<string, string?> environment)
        {
            if (!string.IsNullOrWhiteSpace(environment("AWS_WEB_IDENTITY_TOKEN_FILE")) && !string.IsNullOrWhiteSpace(environment("AWS_ROLE_ARN")))
                return "web identity role from AWS_ROLE_ARN/AWS_WEB_IDENTITY_TOKEN_FILE";
            if (!string.IsNullOrWhiteSpace(environment("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) || !string.IsNullOrWhiteSpace(environment("AWS_CONTAINER_CREDENTIALS_FULL_URI")))
                return "container role from AWS_CONTAINER_CREDENTIALS_*";
            return "EC2 instance profile (instance metadata)";
        }

        private static AWSCredentials Choose(Func<string, string?> environment)
        {
            string? tokenFile = environment("AWS_WEB_IDENTITY_TOKEN_FILE"), roleArn = environment("AWS_ROLE_ARN");
            if (!string.IsNullOrWhiteSpace(tokenFile) && !string.IsNullOrWhiteSpace(roleArn))
            {
                string? sessionName = environment("AWS_ROLE_SESSION_NAME");
                return new AssumeRoleWithWebIdentityCredentials(tokenFile, roleArn,
                    string.IsNullOrWhiteSpace(sessionName) ? "PrefectScaling-" + DateTime.UtcNow.Ticks : sessionName);
            }
            if (!string.IsNullOrWhiteSpace(environment("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) || !string.IsNullOrWhiteSpace(environment("AWS_CONTAINER_CREDENTIALS_FULL_URI")))
                return new GenericContainerCredentials();
            return new InstanceProfileAWSCredentials();
        }

        public override ImmutableCredentials GetCredentials() => _inner.Value.GetCredentials();

        public override Task<ImmutableCredentials> GetCredentialsAsync() => _inner.Value.GetCredentialsAsync();
    }
}
