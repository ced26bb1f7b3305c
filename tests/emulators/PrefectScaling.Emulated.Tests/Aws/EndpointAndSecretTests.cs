using System.Text.Json.Nodes;
using PrefectScaling.Aws;

namespace PrefectScaling.Aws.Tests;

/// <summary>Endpoint overrides against moto and a capture listener, and a canary secret that must appear nowhere.</summary>
[Collection(MotoCollection.Name)]
public sealed class EndpointAndSecretTests
{
    private readonly MotoFixture _moto;
    private readonly RecordingLog _log = new();

    public EndpointAndSecretTests(MotoFixture moto) { _moto = moto; }

    private static string DeadUrl() => "http://127.0.0.1:" + CaptureServer.FreePort();

    private static AwsContext WithEnvironment(params (string, string)[] variables) => AwsContext.Create(
        new AwsSettingsInput { AccessKey = "testing", SecretKey = "testing", Region = MotoFixture.Region }, Env.Of(variables), null);

    [Fact]
    public async Task The_service_specific_variable_beats_the_generic_one()
    {
        string dead = DeadUrl();
        using AwsContext aws = WithEnvironment(("AWS_ENDPOINT_URL", dead), ("AWS_ENDPOINT_URL_CLOUDWATCH", _moto.Url), ("AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING", _moto.Url));
        JsonNode? metrics = await aws.InvokeAsync(AwsOperations.CloudWatch.ListMetrics, new JsonObject(), _log, default);
        Assert.NotNull(metrics);
        JsonNode? targets = await aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.DescribeScalableTargets, new JsonObject { ["ServiceNamespace"] = "ecs" }, _log, default);
        Assert.NotNull(targets!["ScalableTargets"]);
        Assert.Equal(("http://127.0.0.1:" + new Uri(_moto.Url).Port, "AWS_ENDPOINT_URL_CLOUDWATCH"), (aws.EndpointFor("CloudWatch").Url, aws.EndpointFor("CloudWatch").Source));
        Assert.Contains("endpoint: ApplicationAutoScaling at " + _moto.Url + " (AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING)", aws.Sources);
        Assert.Contains("endpoint: other services at " + dead + " (AWS_ENDPOINT_URL)", aws.Sources);

        // IAM has no specific variable here: it goes to the generic (dead) one.
        AwsApiException failed = await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(AwsOperations.Iam.ListRolePolicies, new JsonObject { ["RoleName"] = "x" }, _log, default));
        Assert.Equal(AwsErrorKind.ConnectionFailed, failed.Kind);
        Assert.Contains(dead, failed.Message);
        Assert.Equal("IAM", failed.Service);
    }

    [Fact]
    public async Task The_generic_variable_serves_every_service()
    {
        using AwsContext aws = WithEnvironment(("AWS_ENDPOINT_URL", _moto.Url));
        await aws.InvokeAsync(AwsOperations.EventBridge.ListRules, new JsonObject(), _log, default);
        Assert.Null(await aws.GetParameterAsync("/does/not/exist", false, _log, default));
        Assert.Equal(MotoFixture.AccountId, await aws.GetAccountIdAsync(_log, default));
    }

    [Fact]
    public async Task The_EndpointUrl_parameter_beats_the_variables()
    {
        using AwsContext aws = AwsContext.Create(
            new AwsSettingsInput { AccessKey = "testing", SecretKey = "testing", Region = MotoFixture.Region, EndpointUrl = _moto.Url },
            Env.Of(("AWS_ENDPOINT_URL", DeadUrl()), ("AWS_ENDPOINT_URL_EVENTBRIDGE", DeadUrl())), null);
        await aws.InvokeAsync(AwsOperations.EventBridge.ListRules, new JsonObject(), _log, default);
        Assert.Equal(new[] { "endpoint: every service at " + _moto.Url + " (-EndpointUrl)" }, aws.Sources.Where(s => s.StartsWith("endpoint:", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_canary_secret_appears_in_no_source_message_exception_or_log()
    {
        const string canary = "CANARY-5ecret-Do-Not-Print-9f3b";
        const string canaryToken = "CANARY-token-Do-Not-Print-77aa";
        var texts = new List<string>();
        var log = new RecordingLog();

        // Explicit keys, against moto: successes and service errors.
        using (AwsContext aws = AwsContext.Create(new AwsSettingsInput { AccessKey = "testing", SecretKey = canary, SessionToken = canaryToken, Region = MotoFixture.Region, EndpointUrl = _moto.Url }, Env.Empty, null))
        {
            texts.AddRange(aws.Sources);
            await aws.InvokeAsync(AwsOperations.CloudWatch.ListMetrics, new JsonObject(), log, default);
            texts.Add((await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(AwsOperations.Iam.GetRole, new JsonObject { ["RoleName"] = "missing" }, log, default))).ToString());
            texts.Add((await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(AwsOperations.EventBridge.DescribeRule, new JsonObject { ["Name"] = canary }, log, default))).Message);
            await aws.PutSecureStringParameterAsync("/canary/param", canary, null, null, log, default);
            await aws.DeleteParameterAsync("/canary/param", log, default);
        }
        // Environment keys against a dead endpoint: a connection failure.
        using (AwsContext aws = AwsContext.Create(new AwsSettingsInput { Region = MotoFixture.Region, EndpointUrl = DeadUrl() },
            Env.Of(("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", canary), ("AWS_SESSION_TOKEN", canaryToken)), null))
        {
            texts.AddRange(aws.Sources);
            texts.Add((await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(AwsOperations.Lambda.GetFunction, new JsonObject { ["FunctionName"] = "f" }, log, default))).ToString());
            texts.Add((await Assert.ThrowsAsync<AwsApiException>(() => aws.GetAccountIdAsync(log, default))).ToString());
        }
        // Settings errors.
        texts.Add(Assert.Throws<AwsApiException>(() => AwsContext.Create(new AwsSettingsInput { SecretKey = canary, Region = "eu-west-1" }, Env.Empty, null)).ToString());
        using (var home = new TempFolder())
        {
            string file = home.Write("creds", "[p]\naws_access_key_id = testing\naws_secret_access_key = " + canary + "\naws_session_token = " + canaryToken + "\n");
            using AwsContext aws = AwsContext.Create(new AwsSettingsInput { ProfileName = "p", ProfileLocation = file, Region = "eu-west-1", EndpointUrl = _moto.Url }, Env.Empty, home.Path);
            texts.AddRange(aws.Sources);
            texts.Add((await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(AwsOperations.Iam.GetRole, new JsonObject { ["RoleName"] = "missing" }, log, default))).ToString());
        }
        texts.AddRange(log.Lines);

        Assert.NotEmpty(texts);
        Assert.All(texts, text =>
        {
            Assert.DoesNotContain(canary, text);
            Assert.DoesNotContain(canaryToken, text);
        });
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
}
