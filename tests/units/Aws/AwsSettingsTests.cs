using Amazon.Runtime;
using PrefectScaling.Aws;

namespace PrefectScaling.Aws.Tests;

/// <summary>Credential and region order as AWS Tools for PowerShell documents it; no network.</summary>
public sealed class AwsSettingsTests : IDisposable
{
    private readonly TempFolder _home = new();
    private readonly TempFolder _elsewhere = new();
    private static readonly Func<string?> NoInstanceMetadata = () => null;

    public AwsSettingsTests()
    {
        _home.Write(".aws/credentials", """
            [default]
            aws_access_key_id = DEFAULTKEY
            aws_secret_access_key = default-secret
            """);
        _home.Write(".aws/config", """
            [default]
            region = us-west-2
            """);
        _elsewhere.Write("credentials", """
            [other]
            aws_access_key_id = OTHERKEY
            aws_secret_access_key = other-secret
            [default]
            aws_access_key_id = ELSEWHEREDEFAULT
            aws_secret_access_key = elsewhere-secret
            """);
        _elsewhere.Write("config", """
            [profile other]
            region = ap-southeast-2
            [default]
            region = ca-central-1
            """);
    }

    public void Dispose()
    {
        _home.Dispose();
        _elsewhere.Dispose();
    }

    private string OtherFile => Path.Combine(_elsewhere.Path, "credentials");

    private ResolvedAwsSettings Resolve(AwsSettingsInput input, Func<string, string?>? environment = null, Func<string?>? imds = null) =>
        AwsSettingsResolver.Resolve(input, environment ?? Env.Empty, _home.Path, imds ?? NoInstanceMetadata);

    private static string AccessKeyOf(ResolvedAwsSettings settings) => settings.Credentials.GetCredentials().AccessKey;

    [Fact]
    public void Explicit_keys_beat_environment_keys()
    {
        var settings = Resolve(new AwsSettingsInput { AccessKey = "EXPLICIT", SecretKey = "explicit-secret", SessionToken = "tok", Region = "eu-west-1" },
            Env.Of(("AWS_ACCESS_KEY_ID", "ENVKEY"), ("AWS_SECRET_ACCESS_KEY", "env-secret")));
        Assert.Equal("EXPLICIT", AccessKeyOf(settings));
        Assert.Equal("tok", settings.Credentials.GetCredentials().Token);
        Assert.Contains("credentials: parameters -AccessKey/-SecretKey/-SessionToken", settings.Sources);
    }

    [Fact]
    public void Explicit_keys_beat_a_profile_name()
    {
        var settings = Resolve(new AwsSettingsInput { AccessKey = "EXPLICIT", SecretKey = "s", ProfileName = "other", ProfileLocation = OtherFile });
        Assert.Equal("EXPLICIT", AccessKeyOf(settings));
        // The named profile still gives the region.
        Assert.Equal("ap-southeast-2", settings.Region);
    }

    [Theory]
    [InlineData("EXPLICIT", null, null)]
    [InlineData(null, "secret", null)]
    [InlineData(null, null, "token")]
    public void Half_of_an_explicit_key_pair_is_an_error(string? access, string? secret, string? token)
    {
        var error = Assert.Throws<AwsApiException>(() => Resolve(new AwsSettingsInput { AccessKey = access, SecretKey = secret, SessionToken = token, Region = "eu-west-1" }));
        Assert.Equal(AwsErrorKind.InvalidSettings, error.Kind);
        Assert.Contains("-AccessKey and -SecretKey", error.Message);
    }

    [Fact]
    public void A_profile_name_beats_environment_keys()
    {
        var settings = Resolve(new AwsSettingsInput { ProfileName = "other", ProfileLocation = OtherFile },
            Env.Of(("AWS_ACCESS_KEY_ID", "ENVKEY"), ("AWS_SECRET_ACCESS_KEY", "env-secret")));
        Assert.Equal("OTHERKEY", AccessKeyOf(settings));
        Assert.Contains(settings.Sources, s => s.StartsWith("credentials: profile 'other'", StringComparison.Ordinal) && s.Contains("-ProfileLocation"));
    }

    [Fact]
    public void Environment_keys_beat_AWS_PROFILE()
    {
        var settings = Resolve(new AwsSettingsInput { Region = "eu-west-1" },
            Env.Of(("AWS_ACCESS_KEY_ID", "ENVKEY"), ("AWS_SECRET_ACCESS_KEY", "env-secret"), ("AWS_SESSION_TOKEN", "env-token"), ("AWS_PROFILE", "other")));
        Assert.Equal("ENVKEY", AccessKeyOf(settings));
        Assert.Equal("env-token", settings.Credentials.GetCredentials().Token);
        Assert.Contains("credentials: environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN", settings.Sources);
    }

    [Fact]
    public void Only_one_environment_key_is_an_error()
    {
        var error = Assert.Throws<AwsApiException>(() => Resolve(new AwsSettingsInput { Region = "eu-west-1" }, Env.Of(("AWS_ACCESS_KEY_ID", "ENVKEY"))));
        Assert.Equal(AwsErrorKind.InvalidSettings, error.Kind);
        Assert.Contains("AWS_SECRET_ACCESS_KEY", error.Message);
    }

    [Fact]
    public void AWS_PROFILE_is_read_from_the_profile_location()
    {
        var settings = Resolve(new AwsSettingsInput { ProfileLocation = OtherFile }, Env.Of(("AWS_PROFILE", "other")));
        Assert.Equal("OTHERKEY", AccessKeyOf(settings));
        Assert.Equal("ap-southeast-2", settings.Region);
        Assert.Contains(settings.Sources, s => s.StartsWith("credentials: profile 'other'", StringComparison.Ordinal) && s.Contains("AWS_PROFILE"));
        Assert.Contains(settings.Sources, s => s.StartsWith("region: profile 'other'", StringComparison.Ordinal));
    }

    [Fact]
    public void AWS_SHARED_CREDENTIALS_FILE_names_the_profile_file()
    {
        var settings = Resolve(new AwsSettingsInput(), Env.Of(("AWS_SHARED_CREDENTIALS_FILE", OtherFile), ("AWS_PROFILE", "other")));
        Assert.Equal("OTHERKEY", AccessKeyOf(settings));
    }

    [Fact]
    public void A_named_profile_that_does_not_exist_is_an_error_not_a_fall_through()
    {
        var error = Assert.Throws<AwsApiException>(() => Resolve(new AwsSettingsInput { ProfileName = "nope", ProfileLocation = OtherFile, Region = "eu-west-1" },
            Env.Of(("AWS_ACCESS_KEY_ID", "ENVKEY"), ("AWS_SECRET_ACCESS_KEY", "env-secret"))));
        Assert.Equal(AwsErrorKind.InvalidSettings, error.Kind);
        Assert.Contains("'nope'", error.Message);
        Assert.Contains("-ProfileName", error.Message);
        Assert.Contains(OtherFile, error.Message);
    }

    [Fact]
    public void AWS_PROFILE_naming_a_missing_profile_is_an_error()
    {
        var error = Assert.Throws<AwsApiException>(() => Resolve(new AwsSettingsInput { Region = "eu-west-1" }, Env.Of(("AWS_PROFILE", "ghost"))));
        Assert.Equal(AwsErrorKind.InvalidSettings, error.Kind);
        Assert.Contains("'ghost'", error.Message);
        Assert.Contains("AWS_PROFILE", error.Message);
    }

    [Fact]
    public void The_default_profile_comes_last_before_roles()
    {
        var settings = Resolve(new AwsSettingsInput());
        Assert.Equal("DEFAULTKEY", AccessKeyOf(settings));
        Assert.Equal("us-west-2", settings.Region);
        Assert.Contains(settings.Sources, s => s.StartsWith("credentials: profile 'default'", StringComparison.Ordinal));
    }

    [Fact]
    public void The_default_profile_of_the_profile_location_is_used_when_given()
    {
        var settings = Resolve(new AwsSettingsInput { ProfileLocation = OtherFile });
        Assert.Equal("ELSEWHEREDEFAULT", AccessKeyOf(settings));
        Assert.Equal("ca-central-1", settings.Region);
    }

    [Fact]
    public void Without_keys_or_profiles_the_role_providers_are_chosen_without_a_network_call()
    {
        using var empty = new TempFolder();
        int metadataCalls = 0;
        Func<string?> countingMetadata = () => { metadataCalls++; return null; };
        var settings = AwsSettingsResolver.Resolve(new AwsSettingsInput { Region = "eu-west-1" }, Env.Empty, empty.Path, countingMetadata);
        // Deferred: the role's credentials are fetched on the first signed request, not while resolving.
        Assert.IsType<DeferredRoleCredentials>(settings.Credentials);
        Assert.Contains(settings.Sources, s => s.StartsWith("credentials: EC2 instance profile", StringComparison.Ordinal));
        Assert.Equal(0, metadataCalls);

        var container = AwsSettingsResolver.Resolve(new AwsSettingsInput { Region = "eu-west-1" }, Env.Of(("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x")), empty.Path, NoInstanceMetadata);
        Assert.Contains(container.Sources, s => s.StartsWith("credentials: container role", StringComparison.Ordinal));
    }

    public static TheoryData<string, string, string> RegionOrder => new()
    {
        { "region", "ap-northeast-1", "region: parameter -Region" },
        { "stored", "sa-east-1", "region: $StoredAWSRegion (Set-DefaultAWSRegion)" },
        { "AWS_REGION", "eu-central-1", "region: environment variable AWS_REGION" },
        { "AWS_DEFAULT_REGION", "eu-north-1", "region: environment variable AWS_DEFAULT_REGION" },
        { "profile", "ap-southeast-2", "region: profile 'other'" },
    };

    [Theory]
    [MemberData(nameof(RegionOrder))]
    public void Region_order_is_parameter_stored_AWS_REGION_AWS_DEFAULT_REGION_profile(string winner, string expected, string source)
    {
        // Everything from the winner down is set; everything above it is not.
        string[] order = { "region", "stored", "AWS_REGION", "AWS_DEFAULT_REGION", "profile" };
        int from = Array.IndexOf(order, winner);
        bool Has(string step) => Array.IndexOf(order, step) >= from;
        var input = new AwsSettingsInput
        {
            AccessKey = "K", SecretKey = "S", ProfileName = "other", ProfileLocation = OtherFile,
            Region = Has("region") ? "ap-northeast-1" : null,
            StoredRegion = Has("stored") ? "sa-east-1" : null,
        };
        var variables = new List<(string, string)>();
        if (Has("AWS_REGION")) variables.Add(("AWS_REGION", "eu-central-1"));
        if (Has("AWS_DEFAULT_REGION")) variables.Add(("AWS_DEFAULT_REGION", "eu-north-1"));
        var settings = Resolve(input, Env.Of(variables.ToArray()), imds: () => "us-gov-west-1");
        Assert.Equal(expected, settings.Region);
        Assert.Contains(settings.Sources, s => s.StartsWith(source, StringComparison.Ordinal));
    }

    [Fact]
    public void Instance_metadata_gives_the_region_last()
    {
        using var empty = new TempFolder();
        var settings = AwsSettingsResolver.Resolve(new AwsSettingsInput { AccessKey = "K", SecretKey = "S" }, Env.Empty, empty.Path, () => "ap-south-1");
        Assert.Equal("ap-south-1", settings.Region);
        Assert.Contains("region: EC2 instance metadata", settings.Sources);

        var disabled = Assert.Throws<AwsApiException>(() => AwsSettingsResolver.Resolve(new AwsSettingsInput { AccessKey = "K", SecretKey = "S" },
            Env.Of(("AWS_EC2_METADATA_DISABLED", "true")), empty.Path, () => "ap-south-1"));
        Assert.Equal(AwsErrorKind.InvalidSettings, disabled.Kind);
    }

    [Fact]
    public void No_region_anywhere_is_an_error_that_says_what_to_do()
    {
        using var empty = new TempFolder();
        var error = Assert.Throws<AwsApiException>(() => AwsContext.Create(new AwsSettingsInput { AccessKey = "K", SecretKey = "S" }, Env.Empty, empty.Path, NoInstanceMetadata));
        Assert.Equal(AwsErrorKind.InvalidSettings, error.Kind);
        Assert.Contains("-Region", error.Message);
        Assert.Contains("AWS_REGION", error.Message);
        Assert.Equal("AWS", error.Service);
    }

    [Fact]
    public void A_region_that_is_not_a_region_name_is_an_error()
    {
        var error = Assert.Throws<AwsApiException>(() => Resolve(new AwsSettingsInput { AccessKey = "K", SecretKey = "S", Region = "Europe (Ireland)" }));
        Assert.Equal(AwsErrorKind.InvalidSettings, error.Kind);
        Assert.Contains("-Region", error.Message);
    }

    [Fact]
    public void Sources_say_where_each_setting_came_from()
    {
        using AwsContext aws = AwsContext.Create(new AwsSettingsInput { Region = "eu-west-1" },
            Env.Of(("AWS_ACCESS_KEY_ID", "ENVKEY"), ("AWS_SECRET_ACCESS_KEY", "env-secret"), ("AWS_ENDPOINT_URL_CLOUDWATCH", "http://127.0.0.1:1")), _home.Path);
        Assert.Equal(new[]
        {
            "credentials: environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
            "region: parameter -Region",
            "endpoint: CloudWatch at http://127.0.0.1:1 (AWS_ENDPOINT_URL_CLOUDWATCH)",
        }, aws.Sources);
        Assert.Equal("eu-west-1", aws.Region);
    }
}
