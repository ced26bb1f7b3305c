using System.Reflection;
using System.Runtime.Loader;
using Amazon.Runtime;
using PrefectScaling.Aws;

namespace PrefectScaling.Aws.Tests;

/// <summary>-Credential and $StoredAWSCredentials as AWS Tools for PowerShell hands them over: objects of AWS
/// Tools' own AWSSDK.Core, here a second copy of AWSSDK.Core in its own load context, so another type.</summary>
public sealed class AwsToolsCredentialTests : IDisposable
{
    private static readonly Lazy<Assembly> ForeignSdk = new(() =>
        new AssemblyLoadContext("aws-tools-like").LoadFromAssemblyPath(typeof(AWSCredentials).Assembly.Location));
    private readonly TempFolder _home = new();

    public AwsToolsCredentialTests()
    {
        _home.Write(".aws/credentials", """
            [default]
            aws_access_key_id = DEFAULTKEY
            aws_secret_access_key = default-secret
            [named]
            aws_access_key_id = NAMEDKEY
            aws_secret_access_key = named-secret
            """);
    }

    public void Dispose() => _home.Dispose();

    private static readonly Func<string, string?> EnvironmentKeys =
        Env.Of(("AWS_ACCESS_KEY_ID", "ENVKEY"), ("AWS_SECRET_ACCESS_KEY", "env-secret"), ("AWS_REGION", "eu-west-1"));

    private ResolvedAwsSettings Resolve(AwsSettingsInput input, Func<string, string?>? environment = null) =>
        AwsSettingsResolver.Resolve(input, environment ?? EnvironmentKeys, _home.Path, () => null);

    private static object Foreign(string type, params object[] arguments) =>
        Activator.CreateInstance(ForeignSdk.Value.GetType("Amazon.Runtime." + type, throwOnError: true)!, arguments)!;

    private static object Stored(object? credentials, string name = "account-b") =>
        new Amazon.PowerShell.Common.AWSPSCredentials(credentials, name, Amazon.PowerShell.Common.CredentialsSource.Profile);

    [Fact]
    public void The_foreign_object_really_is_another_type()
    {
        object foreign = Foreign("BasicAWSCredentials", "K", "S");
        Assert.False(foreign is AWSCredentials);
        Assert.Equal(typeof(AWSCredentials).FullName, foreign.GetType().BaseType!.FullName);
    }

    [Fact]
    public void Stored_credentials_beat_environment_keys_and_say_so_without_the_secret()
    {
        var settings = Resolve(new AwsSettingsInput { StoredCredentials = Stored(Foreign("SessionAWSCredentials", "STOREDKEY", "stored-secret", "stored-token")) });
        ImmutableCredentials keys = settings.Credentials.GetCredentials();
        Assert.Equal("STOREDKEY", keys.AccessKey);
        Assert.Equal("stored-secret", keys.SecretKey);
        Assert.Equal("stored-token", keys.Token);
        string source = Assert.Single(settings.Sources, s => s.StartsWith("credentials: ", StringComparison.Ordinal));
        Assert.Equal("credentials: $StoredAWSCredentials from Set-AWSCredential ('account-b', source Profile, SessionAWSCredentials)", source);
        Assert.DoesNotContain("stored-secret", string.Join("\n", settings.Sources));
        Assert.DoesNotContain("stored-token", string.Join("\n", settings.Sources));
    }

    [Fact]
    public async Task Stored_credentials_are_read_asynchronously_too()
    {
        var settings = Resolve(new AwsSettingsInput { StoredCredentials = Stored(Foreign("BasicAWSCredentials", "STOREDKEY", "stored-secret")) });
        ImmutableCredentials keys = await settings.Credentials.GetCredentialsAsync();
        Assert.Equal("STOREDKEY", keys.AccessKey);
        Assert.False(keys.UseToken);
    }

    [Fact]
    public void A_credential_object_beats_stored_credentials()
    {
        var settings = Resolve(new AwsSettingsInput
        {
            Credential = Foreign("BasicAWSCredentials", "PARAMKEY", "param-secret"),
            StoredCredentials = Stored(Foreign("BasicAWSCredentials", "STOREDKEY", "stored-secret")),
        });
        Assert.Equal("PARAMKEY", settings.Credentials.GetCredentials().AccessKey);
        Assert.Contains("credentials: parameter -Credential (BasicAWSCredentials)", settings.Sources);
    }

    [Fact]
    public void The_stored_wrapper_itself_is_taken_by_Credential()
    {
        var settings = Resolve(new AwsSettingsInput { Credential = Stored(Foreign("BasicAWSCredentials", "PARAMKEY", "param-secret")) });
        Assert.Equal("PARAMKEY", settings.Credentials.GetCredentials().AccessKey);
    }

    [Fact]
    public void The_engines_own_credentials_type_is_taken_as_it_is()
    {
        var own = new BasicAWSCredentials("OWNKEY", "own-secret");
        Assert.Same(own, Resolve(new AwsSettingsInput { Credential = own }).Credentials);
    }

    [Fact]
    public void Explicit_keys_and_a_profile_name_beat_stored_credentials()
    {
        object stored = Stored(Foreign("BasicAWSCredentials", "STOREDKEY", "stored-secret"));
        Assert.Equal("EXPLICIT", Resolve(new AwsSettingsInput { AccessKey = "EXPLICIT", SecretKey = "s", StoredCredentials = stored }).Credentials.GetCredentials().AccessKey);
        Assert.Equal("NAMEDKEY", Resolve(new AwsSettingsInput { ProfileName = "named", StoredCredentials = stored }).Credentials.GetCredentials().AccessKey);
    }

    [Fact]
    public void Without_anything_stored_the_environment_still_wins()
    {
        Assert.Equal("ENVKEY", Resolve(new AwsSettingsInput()).Credentials.GetCredentials().AccessKey);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void A_credential_object_with_keys_or_a_profile_name_is_an_error(bool keys, bool profile)
    {
        var error = Assert.Throws<AwsApiException>(() => Resolve(new AwsSettingsInput
        {
            Credential = Foreign("BasicAWSCredentials", "PARAMKEY", "param-secret"),
            AccessKey = keys ? "EXPLICIT" : null,
            SecretKey = keys ? "s" : null,
            ProfileName = profile ? "named" : null,
        }));
        Assert.Equal(AwsErrorKind.InvalidSettings, error.Kind);
        Assert.Contains("Pass only one of them", error.Message);
    }

    [Fact]
    public void Something_else_in_StoredAWSCredentials_is_an_error_never_a_fall_through_to_the_environment()
    {
        var error = Assert.Throws<AwsApiException>(() => Resolve(new AwsSettingsInput { StoredCredentials = "account-b" }));
        Assert.Equal(AwsErrorKind.InvalidSettings, error.Kind);
        Assert.Contains("$StoredAWSCredentials holds a System.String", error.Message);

        error = Assert.Throws<AwsApiException>(() => Resolve(new AwsSettingsInput { StoredCredentials = Stored(null) }));
        Assert.Contains("no AWS credentials in it", error.Message);
    }

    [Fact]
    public void Credentials_that_fail_to_give_keys_say_which_and_why()
    {
        // An SDK credentials object that has no keys to give.
        object empty = Foreign("AnonymousAWSCredentials");
        var settings = Resolve(new AwsSettingsInput { Credential = empty });
        var error = Assert.Throws<AmazonClientException>(() => settings.Credentials.GetCredentials());
        Assert.Contains("The AnonymousAWSCredentials credentials", error.Message);
    }

    [Fact]
    public void Only_AWS_credential_objects_are_recognised()
    {
        Assert.True(AwsCredentialObjects.IsCredentialObject(Foreign("BasicAWSCredentials", "K", "S")));
        Assert.True(AwsCredentialObjects.IsCredentialObject(new BasicAWSCredentials("K", "S")));
        Assert.True(AwsCredentialObjects.IsCredentialObject(Stored(null)));
        Assert.False(AwsCredentialObjects.IsCredentialObject("K"));
        Assert.False(AwsCredentialObjects.IsCredentialObject(null));
    }
}
