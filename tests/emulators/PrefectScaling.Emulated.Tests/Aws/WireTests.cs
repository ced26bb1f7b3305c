using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PrefectScaling.Aws;

namespace PrefectScaling.Aws.Tests;

/// <summary>What goes on the wire, captured by a local listener used as -EndpointUrl: protocol layout,
/// SigV4 credential scope, error parsing, retries.</summary>
public sealed class WireTests
{
    private readonly RecordingLog _log = new();

    private static AwsContext Context(string url, string region = "eu-west-1") => AwsContext.Create(
        new AwsSettingsInput { AccessKey = "AKIDEXAMPLE", SecretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", Region = region, EndpointUrl = url },
        Env.Empty, null);

    private static Match Scope(CapturedRequest request)
    {
        Match match = Regex.Match(request.Headers["Authorization"],
            @"^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/(\d{8})/([a-z0-9-]+)/([a-z0-9-]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$");
        Assert.True(match.Success, request.Headers["Authorization"]);
        return match;
    }

    [Fact]
    public async Task Query_requests_are_form_encoded_and_signed_for_monitoring_in_the_region()
    {
        using var server = new CaptureServer((_, _) => new CannedResponse(200,
            "<PutMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PutMetricDataResponse>", "text/xml"));
        using AwsContext aws = Context(server.Url, "ap-southeast-2");
        JsonNode? result = await aws.InvokeAsync(AwsOperations.CloudWatch.PutMetricData, Json.Obj("""
            {"Namespace":"Prefect","MetricData":[{"MetricName":"Backlog","Value":1.5,"Dimensions":[{"Name":"Pool","Value":"a b&c"}]},{"MetricName":"Late","Value":0}],"Flag":true}
            """), _log, default);
        Assert.Equal("{}", result!.ToJsonString());
        CapturedRequest request = Assert.Single(server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/", request.PathAndQuery);
        Assert.StartsWith("application/x-www-form-urlencoded", request.Headers["Content-Type"]);
        Assert.Equal(
            "Action=PutMetricData&Version=2010-08-01&Namespace=Prefect&MetricData.member.1.MetricName=Backlog&MetricData.member.1.Value=1.5"
            + "&MetricData.member.1.Dimensions.member.1.Name=Pool&MetricData.member.1.Dimensions.member.1.Value=a%20b%26c"
            + "&MetricData.member.2.MetricName=Late&MetricData.member.2.Value=0&Flag=true", request.Body);
        Match scope = Scope(request);
        Assert.Equal("ap-southeast-2", scope.Groups[2].Value);
        Assert.Equal("monitoring", scope.Groups[3].Value);
        Assert.Contains("host", scope.Groups[4].Value.Split(';'));
        Assert.Contains("x-amz-date", scope.Groups[4].Value.Split(';'));
        Assert.True(request.Headers.ContainsKey("X-Amz-Date"));
        Assert.False(request.Headers.ContainsKey("X-Amz-Security-Token"));
    }

    [Theory]
    [InlineData("ApplicationAutoScaling", "application-autoscaling", "AnyScaleFrontendService.DescribeScalableTargets")]
    [InlineData("EventBridge", "events", "AWSEvents.DescribeRule")]
    [InlineData("ECS", "ecs", "AmazonEC2ContainerServiceV20141113.DescribeServices")]
    public async Task Json_requests_carry_the_target_and_are_signed_for_the_service(string service, string signingName, string target)
    {
        using var server = new CaptureServer((_, _) => new CannedResponse(200, "{\"Answer\":[1,2]}", Headers: new() { ["x-amzn-RequestId"] = "req-9" }));
        using AwsContext aws = Context(server.Url);
        AwsOperation operation = service switch
        {
            "ApplicationAutoScaling" => AwsOperations.ApplicationAutoScaling.DescribeScalableTargets,
            "EventBridge" => AwsOperations.EventBridge.DescribeRule,
            _ => AwsOperations.Ecs.DescribeServices,
        };
        JsonNode? result = await aws.InvokeAsync(operation, Json.Obj("""{"Name":"x","N":2}"""), _log, default);
        Assert.Equal("{\"Answer\":[1,2]}", result!.ToJsonString());
        CapturedRequest request = Assert.Single(server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/", request.PathAndQuery);
        Assert.Equal(target, request.Headers["X-Amz-Target"]);
        Assert.Equal("application/x-amz-json-1.1", request.Headers["Content-Type"]);
        Assert.Equal("{\"Name\":\"x\",\"N\":2}", request.Body);
        Match scope = Scope(request);
        Assert.Equal("eu-west-1", scope.Groups[2].Value);
        Assert.Equal(signingName, scope.Groups[3].Value);
        Assert.Contains("x-amz-target", scope.Groups[4].Value.Split(';'));
        Assert.Contains(_log.Lines, l => l.Contains("request id req-9"));
    }

    [Fact]
    public async Task Rest_json_requests_use_the_operation_path_query_and_body()
    {
        using var server = new CaptureServer((_, _) => new CannedResponse(200, "{}", "application/json"));
        using AwsContext aws = Context(server.Url);
        await aws.InvokeAsync(AwsOperations.Lambda.GetFunction, Json.Obj("""{"FunctionName":"arn:aws:lambda:eu-west-1:123456789012:function:pub","Qualifier":"$LATEST"}"""), _log, default);
        await aws.InvokeAsync(AwsOperations.Lambda.UpdateFunctionConfiguration, Json.Obj("""{"FunctionName":"pub","Timeout":30}"""), _log, default);
        CapturedRequest[] requests = server.Requests.ToArray();
        Assert.Equal("GET", requests[0].Method);
        Assert.Equal("/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Apub?Qualifier=%24LATEST", requests[0].PathAndQuery);
        Assert.Equal(string.Empty, requests[0].Body);
        Assert.Equal("PUT", requests[1].Method);
        Assert.Equal("/2015-03-31/functions/pub/configuration", requests[1].PathAndQuery);
        Assert.Equal("{\"Timeout\":30}", requests[1].Body);
        Assert.Equal("application/json", requests[1].Headers["Content-Type"]);
        Assert.Equal("lambda", Scope(requests[1]).Groups[3].Value);
    }

    [Fact]
    public async Task IAM_and_STS_and_SSM_sign_with_their_names()
    {
        using var server = new CaptureServer((request, _) =>
            request.Headers.TryGetValue("X-Amz-Target", out string? target) && target.StartsWith("AmazonSSM", StringComparison.Ordinal)
                ? new CannedResponse(400, "{\"__type\":\"ParameterNotFound\",\"message\":\"\"}")
                : request.Body.Contains("GetCallerIdentity")
                    ? new CannedResponse(200, "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>210987654321</Account><Arn>arn:aws:iam::210987654321:user/x</Arn><UserId>X</UserId></GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>", "text/xml")
                    : new CannedResponse(200, "<ListRolePoliciesResponse><ListRolePoliciesResult><PolicyNames/><IsTruncated>false</IsTruncated></ListRolePoliciesResult></ListRolePoliciesResponse>", "text/xml"));
        using AwsContext aws = Context(server.Url);
        JsonNode? policies = await aws.InvokeAsync(AwsOperations.Iam.ListRolePolicies, new JsonObject { ["RoleName"] = "r" }, _log, default);
        Assert.Empty(policies!["PolicyNames"]!.AsArray());
        Assert.Equal("false", (string)policies["IsTruncated"]!);
        Assert.Equal("210987654321", await aws.GetAccountIdAsync(_log, default));
        Assert.Null(await aws.GetParameterAsync("/x", true, _log, default));
        string[] names = server.Requests.Select(r => Scope(r).Groups[3].Value).ToArray();
        Assert.Equal(new[] { "iam", "sts", "ssm" }, names);
        Assert.All(server.Requests, r => Assert.Equal("eu-west-1", Scope(r).Groups[2].Value));
    }

    [Fact]
    public async Task Session_tokens_are_sent_as_X_Amz_Security_Token()
    {
        using var server = new CaptureServer((_, _) => new CannedResponse(200, "{}"));
        using AwsContext aws = AwsContext.Create(new AwsSettingsInput { AccessKey = "AKIDEXAMPLE", SecretKey = "s", SessionToken = "session-token-1", Region = "eu-west-1", EndpointUrl = server.Url }, Env.Empty, null);
        await aws.InvokeAsync(AwsOperations.EventBridge.ListRules, new JsonObject(), _log, default);
        CapturedRequest request = Assert.Single(server.Requests);
        Assert.Equal("session-token-1", request.Headers["X-Amz-Security-Token"]);
        Assert.Contains("x-amz-security-token", Scope(request).Groups[4].Value.Split(';'));
    }

    [Fact]
    public async Task Server_errors_and_throttling_are_retried_by_the_sdk()
    {
        using var server = new CaptureServer((_, n) => n switch
        {
            1 => new CannedResponse(503, "{\"__type\":\"ServiceUnavailable\",\"message\":\"busy\"}"),
            2 => new CannedResponse(400, "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}"),
            _ => new CannedResponse(200, "{\"Rules\":[]}"),
        });
        using AwsContext aws = Context(server.Url);
        JsonNode? result = await aws.InvokeAsync(AwsOperations.EventBridge.ListRules, new JsonObject(), _log, default);
        Assert.Empty(result!["Rules"]!.AsArray());
        Assert.Equal(3, server.Requests.Count);
    }

    [Fact]
    public async Task A_json_error_names_code_message_request_id_and_kind()
    {
        using var server = new CaptureServer((_, _) => new CannedResponse(409,
            "{\"Type\":\"User\",\"message\":\"The statement id (s1) provided already exists.\"}",
            "application/json", new() { ["x-amzn-ErrorType"] = "ResourceConflictException:http://internal.amazon.com/coral/com.amazonaws.awslambda/", ["x-amzn-RequestId"] = "abc-123" }));
        using AwsContext aws = Context(server.Url);
        var error = await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(AwsOperations.Lambda.AddPermission, Json.Obj("""{"FunctionName":"f","StatementId":"s1"}"""), _log, default));
        Assert.Equal(AwsErrorKind.Conflict, error.Kind);
        Assert.Equal("ResourceConflictException", error.ErrorCode);
        Assert.Equal("abc-123", error.RequestId);
        Assert.Equal(409, error.StatusCode);
        Assert.Equal("Lambda AddPermission failed: ResourceConflictException: The statement id (s1) provided already exists. (request id abc-123)", error.Message);
    }

    [Fact]
    public async Task An_xml_error_names_code_message_and_request_id()
    {
        using var server = new CaptureServer((_, _) => new CannedResponse(400,
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>x-1</RequestId></ErrorResponse>", "text/xml"));
        using AwsContext aws = Context(server.Url);
        var error = await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(AwsOperations.Iam.GetRole, new JsonObject { ["RoleName"] = "r" }, _log, default));
        Assert.Equal(AwsErrorKind.Throttled, error.Kind);
        Assert.Equal("IAM GetRole failed: Throttling: Rate exceeded (request id x-1)", error.Message);
        Assert.True(server.Requests.Count > 1); // throttling was retried before giving up
    }

    [Fact]
    public async Task A_5xx_html_page_is_a_service_error()
    {
        using var server = new CaptureServer((_, _) => new CannedResponse(500, "<!doctype html><html><body>Internal Server Error</body></html>", "text/html"));
        using AwsContext aws = Context(server.Url);
        var error = await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(AwsOperations.CloudWatch.ListMetrics, new JsonObject(), _log, default));
        Assert.Equal(AwsErrorKind.ServiceError, error.Kind);
        Assert.Equal(500, error.StatusCode);
        Assert.Null(error.ErrorCode);
        Assert.StartsWith("CloudWatch ListMetrics failed: HTTP 500: ", error.Message);
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
