using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.Runtime.Endpoints;
using Amazon.SecurityToken.Model;
using Amazon.SimpleSystemsManagement.Model;
using PrefectScaling.Aws.Sdk;

namespace PrefectScaling.Aws.Tests;

/// <summary>The endpoint table on its own: the regional defaults of each partition, the variables and -EndpointUrl
/// over them, and the endpoints the SDK-generated SSM and STS clients are handed. No call is made.</summary>
public sealed class AwsEndpointsTests
{
    private static readonly string[] Services = AwsService.All.Select(s => s.Name).Concat(new[] { AwsEndpoints.SsmName, AwsEndpoints.StsName }).ToArray();

    private static (AwsEndpoints Endpoints, List<string> Sources) Describe(string region, string? endpointUrl, params (string, string)[] variables)
    {
        var sources = new List<string>();
        return (AwsEndpoints.Describe(region, Env.Of(variables), endpointUrl, sources), sources);
    }

    private static AwsContext WithEnvironment(params (string, string)[] variables) => AwsContext.Create(
        new AwsSettingsInput { AccessKey = "testing", SecretKey = "testing", Region = "eu-west-1" }, Env.Of(variables), null);

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
    public void AWS_IGNORE_CONFIGURED_ENDPOINT_URLS_switches_the_variables_off()
    {
        using AwsContext aws = WithEnvironment(("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"));
        Assert.Equal("https://monitoring.eu-west-1.amazonaws.com", aws.EndpointFor("CloudWatch").Url);
    }

    [Fact]
    public void An_endpoint_that_is_not_a_url_is_a_settings_error()
    {
        var error = Assert.Throws<AwsApiException>(() => WithEnvironment(("AWS_ENDPOINT_URL_LAMBDA", "localhost:4566")));
        Assert.Equal(AwsErrorKind.InvalidSettings, error.Kind);
        Assert.Contains("AWS_ENDPOINT_URL_LAMBDA", error.Message);
    }

    [Theory]
    [InlineData("eu-west-1", "CloudWatch", "https://monitoring.eu-west-1.amazonaws.com", "eu-west-1")]
    [InlineData("eu-west-1", "ApplicationAutoScaling", "https://application-autoscaling.eu-west-1.amazonaws.com", "eu-west-1")]
    [InlineData("eu-west-1", "EventBridge", "https://events.eu-west-1.amazonaws.com", "eu-west-1")]
    [InlineData("eu-west-1", "Lambda", "https://lambda.eu-west-1.amazonaws.com", "eu-west-1")]
    [InlineData("eu-west-1", "ECS", "https://ecs.eu-west-1.amazonaws.com", "eu-west-1")]
    [InlineData("eu-west-1", "IAM", "https://iam.amazonaws.com", "us-east-1")]
    [InlineData("eu-west-1", "SSM", "https://ssm.eu-west-1.amazonaws.com", "eu-west-1")]
    [InlineData("cn-north-1", "CloudWatch", "https://monitoring.cn-north-1.amazonaws.com.cn", "cn-north-1")]
    [InlineData("cn-northwest-1", "IAM", "https://iam.cn-north-1.amazonaws.com.cn", "cn-north-1")]
    [InlineData("us-gov-east-1", "IAM", "https://iam.us-gov.amazonaws.com", "us-gov-west-1")]
    public void Default_endpoints_follow_the_partition(string region, string service, string url, string signingRegion)
    {
        using AwsContext aws = AwsContext.Create(new AwsSettingsInput { AccessKey = "K", SecretKey = "S", Region = region }, Env.Empty, null);
        var endpoint = aws.EndpointFor(service);
        Assert.Equal(url, endpoint.Url);
        Assert.Equal(signingRegion, endpoint.SigningRegion);
        Assert.Equal("regional endpoint", endpoint.Source);
    }
}
