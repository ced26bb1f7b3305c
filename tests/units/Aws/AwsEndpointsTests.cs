using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.Runtime.Endpoints;
using Amazon.SecurityToken.Model;
using Amazon.SimpleSystemsManagement.Model;
using PrefectScaling.Aws.Sdk;
using PrefectScaling.TestSupport;

namespace PrefectScaling.Aws.Tests;

/// <summary>The endpoint table on its own, and that every client (the SDK-generated SSM and STS ones too) calls the
/// endpoint the table decided and -Debug names.</summary>
public sealed class AwsEndpointsTests
{
    private static readonly string[] Services = AwsService.All.Select(s => s.Name).Concat(new[] { AwsEndpoints.SsmName, AwsEndpoints.StsName }).ToArray();

    private static (AwsEndpoints Endpoints, List<string> Sources) Describe(string region, string? endpointUrl, params (string, string)[] variables)
    {
        var sources = new List<string>();
        return (AwsEndpoints.Describe(region, Env.Of(variables), endpointUrl, sources), sources);
    }

    [Fact]
    public void Without_overrides_every_service_is_regional_in_the_region_s_partition()
    {
        (AwsEndpoints endpoints, List<string> sources) = Describe("us-gov-west-1", null);
        Assert.Empty(sources);
        Assert.All(Services, name => Assert.Equal("regional endpoint", endpoints.For(name).Source));
        Assert.Equal("https://ssm.us-gov-west-1.amazonaws.com", endpoints.For("SSM").Endpoint.Url);
        Assert.Equal("https://sts.us-gov-west-1.amazonaws.com", endpoints.For("STS").Endpoint.Url);
        Assert.Equal("https://iam.us-gov.amazonaws.com", endpoints.For("IAM").Endpoint.Url);
        Assert.False(endpoints.For("SSM").Endpoint.IsOverride);
    }

    [Fact]
    public void A_service_variable_beats_the_generic_one_which_beats_the_region()
    {
        (AwsEndpoints endpoints, List<string> sources) = Describe("eu-west-1", null,
            ("AWS_ENDPOINT_URL", "http://generic:4566/"), ("AWS_ENDPOINT_URL_SSM", "http://ssm-only:1234"));
        Assert.Equal(("http://ssm-only:1234", "AWS_ENDPOINT_URL_SSM"), (endpoints.For("SSM").Endpoint.Url, endpoints.For("SSM").Source));
        Assert.Equal(("http://generic:4566", "AWS_ENDPOINT_URL"), (endpoints.For("STS").Endpoint.Url, endpoints.For("STS").Source));
        Assert.Equal("eu-west-1", endpoints.For("IAM").Endpoint.SigningRegion); // an override is signed for the region itself
        Assert.Equal(new[] { "endpoint: SSM at http://ssm-only:1234 (AWS_ENDPOINT_URL_SSM)", "endpoint: other services at http://generic:4566 (AWS_ENDPOINT_URL)" }, sources);
    }

    [Fact]
    public void The_EndpointUrl_parameter_beats_every_variable_and_the_ignore_switch_turns_the_variables_off()
    {
        (AwsEndpoints parameter, List<string> sources) = Describe("eu-west-1", " http://local:9000/ ", ("AWS_ENDPOINT_URL_STS", "http://sts-only:1"));
        Assert.All(Services, name => Assert.Equal(("http://local:9000", "-EndpointUrl"), (parameter.For(name).Endpoint.Url, parameter.For(name).Source)));
        Assert.Equal(new[] { "endpoint: every service at http://local:9000 (-EndpointUrl)" }, sources);

        (AwsEndpoints ignored, _) = Describe("eu-west-1", null, ("AWS_ENDPOINT_URL", "http://generic:1"), ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "TRUE"));
        Assert.All(Services, name => Assert.Equal("regional endpoint", ignored.For(name).Source));
    }

    [Theory]
    [InlineData("localhost:4566", "is not an http(s) URL")]
    [InlineData("ftp://files.example", "is not an http(s) URL")]
    [InlineData("http://user:s3cr3t@localhost:4566", "carries a user name or password")]
    public void An_endpoint_that_is_not_a_plain_http_url_is_a_settings_error(string value, string message)
    {
        var fromVariable = Assert.Throws<AwsApiException>(() => Describe("eu-west-1", null, ("AWS_ENDPOINT_URL_STS", value)));
        Assert.Equal(AwsErrorKind.InvalidSettings, fromVariable.Kind);
        Assert.Contains("environment variable AWS_ENDPOINT_URL_STS " + message, fromVariable.Message);
        Assert.DoesNotContain("s3cr3t", fromVariable.Message);
        Assert.Contains("-EndpointUrl " + message, Assert.Throws<AwsApiException>(() => Describe("eu-west-1", value)).Message);
    }

    [Fact]
    public void Use_logs_the_endpoint_it_hands_out()
    {
        (AwsEndpoints endpoints, _) = Describe("eu-west-1", null, ("AWS_ENDPOINT_URL_SSM", "http://ssm-only:1234"));
        var log = new RecordingLog();
        Assert.Equal("http://ssm-only:1234", endpoints.Use("SSM", log).Url);
        Assert.Equal("https://sts.eu-west-1.amazonaws.com", endpoints.Use("STS", log).Url);
        Assert.Equal(new[]
        {
            "DEBUG SSM endpoint http://ssm-only:1234 (AWS_ENDPOINT_URL_SSM), signing region eu-west-1",
            "DEBUG STS endpoint https://sts.eu-west-1.amazonaws.com (regional endpoint), signing region eu-west-1",
        }, log.Lines);
        Assert.Equal("NoSuchService", endpoints.UrlOf("NoSuchService"));
    }

    [Theory]
    [InlineData("eu-west-1")]
    [InlineData("us-east-1")]
    [InlineData("cn-north-1")]
    [InlineData("us-gov-east-1")]
    public void The_generated_SSM_and_STS_clients_call_the_regional_endpoint_the_table_names(string region)
    {
        (AwsEndpoints endpoints, _) = Describe(region, null);
        var credentials = new BasicAWSCredentials("K", "S");
        using var ssm = SdkTypedClients.Ssm(credentials, endpoints.For("SSM").Endpoint);
        using var sts = SdkTypedClients.Sts(credentials, endpoints.For("STS").Endpoint);
        Endpoint ssmCall = ssm.Config.DetermineServiceOperationEndpoint(new ServiceOperationEndpointParameters(new GetParameterRequest { Name = "/x" }));
        Endpoint stsCall = sts.Config.DetermineServiceOperationEndpoint(new ServiceOperationEndpointParameters(new GetCallerIdentityRequest()));
        Assert.Equal(endpoints.For("SSM").Endpoint.Url, ssmCall.URL.TrimEnd('/'));
        Assert.Equal(endpoints.For("STS").Endpoint.Url, stsCall.URL.TrimEnd('/'));
        Assert.Equal(region, ssm.Config.AuthenticationRegion);
    }

    [Fact]
    public async Task SSM_and_STS_go_where_minus_Debug_says_they_go()
    {
        using var server = new CaptureServer((request, _) => request.Body.Contains("GetCallerIdentity", StringComparison.Ordinal)
            ? new CannedResponse(200, "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>210987654321</Account></GetCallerIdentityResult></GetCallerIdentityResponse>", "text/xml")
            : new CannedResponse(400, "{\"__type\":\"ParameterNotFound\",\"message\":\"\"}"));
        string dead = "http://127.0.0.1:" + CaptureServer.FreePort();
        using AwsContext aws = AwsContext.Create(new AwsSettingsInput { AccessKey = "K", SecretKey = "S", Region = "eu-west-1" },
            Env.Of(("AWS_ENDPOINT_URL", dead), ("AWS_ENDPOINT_URL_SSM", server.Url), ("AWS_ENDPOINT_URL_STS", server.Url)), null);
        var log = new RecordingLog();
        Assert.Null(await aws.GetParameterAsync("/x", false, log, default));
        Assert.Equal("210987654321", await aws.GetAccountIdAsync(log, default));
        Assert.Equal(2, server.Requests.Count);
        Assert.Contains("DEBUG SSM endpoint " + server.Url + " (AWS_ENDPOINT_URL_SSM), signing region eu-west-1", log.Lines);
        Assert.Contains("DEBUG STS endpoint " + server.Url + " (AWS_ENDPOINT_URL_STS), signing region eu-west-1", log.Lines);
    }

    [Fact]
    public async Task The_SDK_user_agent_carries_the_module_s_version()
    {
        using var server = new CaptureServer((_, _) => new CannedResponse(200, "{}"));
        using AwsContext aws = AwsContext.Create(new AwsSettingsInput { AccessKey = "K", SecretKey = "S", Region = "eu-west-1", EndpointUrl = server.Url }, Env.Empty, null);
        await aws.InvokeAsync(AwsOperations.EventBridge.ListRules, new JsonObject(), new RecordingLog(), default);
        Version version = typeof(AwsContext).Assembly.GetName().Version!;
        // The SDK names the calling API as api/<name>#<version>.
        string expected = "api/PrefectScaling#" + version.ToString(3);
        CapturedRequest request = Assert.Single(server.Requests);
        Assert.Contains(expected + " ", request.Headers["User-Agent"] + " ");
    }
}
