using PrefectScaling.Prefect;
using Xunit;

namespace PrefectScaling.Prefect.Tests;

public sealed class PrefectSettingsTests : IDisposable
{
    private const string CanaryKey = "pnu_CANARY_settings_0123456789";
    private readonly string _folder = Directory.CreateTempSubdirectory("prefect-settings-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string WriteProfiles(string text)
    {
        string path = Path.Combine(_folder, "profiles.toml");
        File.WriteAllText(path, text);
        return path;
    }

    private static Func<string, string?> Env(params (string Name, string Value)[] values) =>
        name => values.FirstOrDefault(v => v.Name == name).Value;

    [Fact]
    public void ParameterBeatsEnvironmentBeatsProfile()
    {
        string profiles = WriteProfiles("""
            active = "prod"
            [profiles.prod]
            PREFECT_API_URL = "http://profile.example:4200/api"
            PREFECT_API_KEY = "from-profile"
            """);
        var env = Env(("PREFECT_PROFILES_PATH", profiles), ("PREFECT_API_URL", "http://env.example:4200/api"));

        var fromParameter = PrefectSettingsResolver.Resolve(new PrefectSettingsInput { ApiUrl = "http://param.example:4200/api/" }, env, _folder);
        Assert.Equal("http://param.example:4200/api", fromParameter.ApiUrl.AbsoluteUri);
        Assert.Contains(fromParameter.Sources, s => s.StartsWith("PREFECT_API_URL from parameter", StringComparison.Ordinal));
        // The key still comes from the profile: each setting is resolved on its own, as Prefect does.
        Assert.Equal(PrefectAuthKind.BearerApiKey, fromParameter.AuthKind);
        Assert.Contains(fromParameter.Sources, s => s.StartsWith("PREFECT_API_KEY from profile 'prod'", StringComparison.Ordinal));

        var fromEnvironment = PrefectSettingsResolver.Resolve(new PrefectSettingsInput(), env, _folder);
        Assert.Equal("http://env.example:4200/api", fromEnvironment.ApiUrl.AbsoluteUri);

        var fromProfile = PrefectSettingsResolver.Resolve(new PrefectSettingsInput(), Env(("PREFECT_PROFILES_PATH", profiles)), _folder);
        Assert.Equal("http://profile.example:4200/api", fromProfile.ApiUrl.AbsoluteUri);
    }

    [Fact]
    public void PrefectProfileVariableChoosesTheProfileAndHomeIsTheDefaultLocation()
    {
        Directory.CreateDirectory(Path.Combine(_folder, ".prefect"));
        File.WriteAllText(Path.Combine(_folder, ".prefect", "profiles.toml"), """
            active = "a"
            [profiles.a]
            PREFECT_API_URL = "http://a.example/api"
            [profiles.b]
            PREFECT_API_URL = "http://b.example/api"
            PREFECT_API_AUTH_STRING = "admin:pass"
            """);
        var settings = PrefectSettingsResolver.Resolve(new PrefectSettingsInput(), Env(("PREFECT_PROFILE", "b")), _folder);
        Assert.Equal("http://b.example/api", settings.ApiUrl.AbsoluteUri);
        Assert.Equal(PrefectAuthKind.BasicAuthString, settings.AuthKind);
        Assert.Equal("Basic YWRtaW46cGFzcw==", settings.AuthorizationHeaderValue);
    }

    [Fact]
    public void MissingActiveProfileIsAnError()
    {
        string profiles = WriteProfiles("active = \"gone\"\n[profiles.other]\nPREFECT_API_URL = \"http://x/api\"\n");
        var e = Assert.Throws<PrefectApiException>(() => PrefectSettingsResolver.Resolve(new PrefectSettingsInput(), Env(("PREFECT_PROFILES_PATH", profiles)), _folder));
        Assert.Equal(PrefectErrorKind.InvalidSettings, e.Kind);
        Assert.Contains("'gone'", e.Message);
    }

    [Fact]
    public void InvalidTomlIsAnErrorThatDoesNotQuoteTheFile()
    {
        string profiles = WriteProfiles("active = \"p\"\n[profiles.p]\nPREFECT_API_KEY = \"" + CanaryKey + "\n");
        var e = Assert.Throws<PrefectApiException>(() => PrefectSettingsResolver.Resolve(new PrefectSettingsInput(), Env(("PREFECT_PROFILES_PATH", profiles)), _folder));
        Assert.Contains("not valid TOML", e.Message);
        Assert.DoesNotContain(CanaryKey, e.ToString());
    }

    [Fact]
    public void NoUrlAnywhereIsAClearError()
    {
        var e = Assert.Throws<PrefectApiException>(() => PrefectSettingsResolver.Resolve(new PrefectSettingsInput(), Env(), _folder));
        Assert.Contains("-PrefectApiUrl", e.Message);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://host/api")]
    [InlineData("/relative/api")]
    [InlineData("http://user:secret@host/api")]
    [InlineData("http://host/api?x=1")]
    public void MalformedUrlsAreRejectedBeforeAnyCall(string url)
    {
        var e = Assert.Throws<PrefectApiException>(() => PrefectSettingsResolver.Resolve(new PrefectSettingsInput { ApiUrl = url }, Env(), _folder));
        Assert.Equal(PrefectErrorKind.InvalidSettings, e.Kind);
        Assert.DoesNotContain("secret", e.Message);
    }

    [Theory]
    [InlineData("http://user:CANARY-pw@host:4200/api")]
    [InlineData("http://:CANARY-pw@host/api")]
    [InlineData("http://user:CANARY/pw@host/api")] // parses as host "user", port... : refused on its text
    [InlineData("http://user:1234/CANARY@host/api")] // parses as host "user", port 1234, path "/CANARY@host/api"
    [InlineData("https://user:CANARY#pw@api.prefect.cloud/api")]
    public void AUrlWithCredentialsIsRefusedFromEverySourceAndNeverShown(string url)
    {
        string profiles = WriteProfiles("active = \"p\"\n[profiles.p]\nPREFECT_API_URL = \"" + url + "\"\n");
        var attempts = new List<Func<PrefectConnectionSettings>>
        {
            () => PrefectSettingsResolver.Resolve(new PrefectSettingsInput { ApiUrl = url }, Env(), _folder),
            () => PrefectSettingsResolver.Resolve(new PrefectSettingsInput(), Env(("PREFECT_API_URL", url)), _folder),
            () => PrefectSettingsResolver.Resolve(new PrefectSettingsInput(), Env(("PREFECT_PROFILES_PATH", profiles)), _folder),
        };
        if (Uri.TryCreate(url, UriKind.Absolute, out Uri? parsed)) attempts.Add(() => new PrefectConnectionSettings(parsed, null, null));
        foreach (var attempt in attempts)
        {
            var e = Assert.Throws<PrefectApiException>(attempt);
            Assert.Equal(PrefectErrorKind.InvalidSettings, e.Kind);
            Assert.Contains("user information", e.Message);
            Assert.DoesNotContain("CANARY", e.ToString());
        }
        Assert.DoesNotContain("CANARY", PrefectConnectionSettings.PrintableText(url));
    }

    [Theory]
    [InlineData("http://user:pw@host:4200/api", "http://host:4200/api")]
    [InlineData("http://user:p@ss@host/api/", "http://host/api")]
    [InlineData("http://host/api?token=x#y", "http://host/api")]
    [InlineData("not a url", "not a url")]
    public void PrintableTextDropsUserInfoQueryAndFragment(string url, string printable) =>
        Assert.Equal(printable, PrefectConnectionSettings.PrintableText(url));

    [Fact]
    public void CloudUrlsAreRecognisedAndUseTheKeyEvenWhenAnAuthStringIsSet()
    {
        var settings = new PrefectConnectionSettings(new Uri("https://api.prefect.cloud/api/accounts/11111111-1111-1111-1111-111111111111/workspaces/22222222-2222-2222-2222-222222222222"), CanaryKey, "a:b");
        Assert.True(settings.IsCloud);
        Assert.Equal(PrefectAuthKind.BearerApiKey, settings.AuthKind);
        Assert.DoesNotContain(CanaryKey, settings.ToString());
        Assert.DoesNotContain(CanaryKey, settings.CacheKey);
    }

    [Fact]
    public void SourcesNeverHoldTheSecret()
    {
        var settings = PrefectSettingsResolver.Resolve(new PrefectSettingsInput { ApiUrl = "http://h/api", ApiKey = CanaryKey }, Env(("PREFECT_API_AUTH_STRING", "u:" + CanaryKey)), _folder);
        Assert.All(settings.Sources, s => Assert.DoesNotContain(CanaryKey, s));
        Assert.Equal(PrefectAuthKind.BasicAuthString, settings.AuthKind);
    }
}
