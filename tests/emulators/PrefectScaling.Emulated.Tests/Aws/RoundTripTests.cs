using System.Globalization;
using System.IO.Compression;
using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using CW = PrefectScaling.Aws.AwsOperations.CloudWatch;
using AAS = PrefectScaling.Aws.AwsOperations.ApplicationAutoScaling;
using EB = PrefectScaling.Aws.AwsOperations.EventBridge;
using IAM = PrefectScaling.Aws.AwsOperations.Iam;
using LAM = PrefectScaling.Aws.AwsOperations.Lambda;
using ECS = PrefectScaling.Aws.AwsOperations.Ecs;

namespace PrefectScaling.Aws.Tests;

/// <summary>Each protocol against moto: what goes in comes back.</summary>
[Collection(MotoCollection.Name)]
public sealed class RoundTripTests
{
    private readonly MotoFixture _moto;
    private readonly RecordingLog _log = new();

    public RoundTripTests(MotoFixture moto) { _moto = moto; }

    private static string Iso(DateTime time) => time.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static JsonArray Dimensions(string pool) => new() { new JsonObject { ["Name"] = "WorkPool", ["Value"] = pool } };

    [Fact]
    public async Task CloudWatch_metric_data_comes_back_through_statistics_and_metric_data()
    {
        using AwsContext aws = _moto.Context();
        string ns = "Prefect/RoundTrip" + Guid.NewGuid().ToString("N")[..6];
        DateTime now = DateTime.UtcNow;
        var put = new JsonObject
        {
            ["Namespace"] = ns,
            ["MetricData"] = new JsonArray
            {
                new JsonObject { ["MetricName"] = "Backlog", ["Dimensions"] = Dimensions("k8s"), ["Value"] = 7, ["Unit"] = "Count", ["Timestamp"] = Iso(now) },
                new JsonObject { ["MetricName"] = "Backlog", ["Dimensions"] = Dimensions("k8s"), ["Value"] = 3.5, ["Unit"] = "Count", ["Timestamp"] = Iso(now), ["StorageResolution"] = 1 },
            },
        };
        JsonNode? answer = await aws.InvokeAsync(CW.PutMetricData, put, _log, default);
        Assert.IsType<JsonObject>(answer);

        JsonNode stats = (await aws.InvokeAsync(CW.GetMetricStatistics, new JsonObject
        {
            ["Namespace"] = ns, ["MetricName"] = "Backlog", ["Dimensions"] = Dimensions("k8s"),
            ["StartTime"] = Iso(now.AddMinutes(-10)), ["EndTime"] = Iso(now.AddMinutes(10)), ["Period"] = 60,
            ["Statistics"] = new JsonArray("Maximum", "Sum", "SampleCount"),
        }, _log, default))!;
        JsonArray points = stats["Datapoints"]!.AsArray();
        Assert.Single(points);
        Assert.Equal(7.0, double.Parse((string)points[0]!["Maximum"]!, CultureInfo.InvariantCulture));
        Assert.Equal(10.5, double.Parse((string)points[0]!["Sum"]!, CultureInfo.InvariantCulture));
        Assert.Equal(2.0, double.Parse((string)points[0]!["SampleCount"]!, CultureInfo.InvariantCulture));

        JsonNode data = (await aws.InvokeAsync(CW.GetMetricData, new JsonObject
        {
            ["MetricDataQueries"] = new JsonArray(new JsonObject
            {
                ["Id"] = "m1",
                ["MetricStat"] = new JsonObject
                {
                    ["Metric"] = new JsonObject { ["Namespace"] = ns, ["MetricName"] = "Backlog", ["Dimensions"] = Dimensions("k8s") },
                    ["Period"] = 60, ["Stat"] = "Sum",
                },
                ["ReturnData"] = true,
            }),
            ["StartTime"] = Iso(now.AddMinutes(-10)), ["EndTime"] = Iso(now.AddMinutes(10)),
        }, _log, default))!;
        JsonNode result = data["MetricDataResults"]!.AsArray().Single()!;
        Assert.Equal("m1", (string)result["Id"]!);
        Assert.Equal(10.5, double.Parse((string)result["Values"]!.AsArray().Single()!, CultureInfo.InvariantCulture));

        JsonNode listed = (await aws.InvokeAsync(CW.ListMetrics, new JsonObject { ["Namespace"] = ns }, _log, default))!;
        JsonNode metric = listed["Metrics"]!.AsArray().Single()!;
        Assert.Equal("Backlog", (string)metric["MetricName"]!);
        Assert.Equal("k8s", (string)metric["Dimensions"]!.AsArray().Single()!["Value"]!);

        Assert.Contains("VERBOSE CloudWatch PutMetricData in eu-west-1", _log.Lines);
    }

    [Fact]
    public async Task CloudWatch_alarms_are_put_described_and_deleted()
    {
        using AwsContext aws = _moto.Context();
        string name = "backlog-high-" + Guid.NewGuid().ToString("N")[..6];
        await aws.InvokeAsync(CW.PutMetricAlarm, new JsonObject
        {
            ["AlarmName"] = name, ["Namespace"] = "Prefect", ["MetricName"] = "Backlog", ["Dimensions"] = Dimensions("k8s"),
            ["Statistic"] = "Average", ["Period"] = 60, ["EvaluationPeriods"] = 2, ["Threshold"] = 5,
            ["ComparisonOperator"] = "GreaterThanThreshold", ["ActionsEnabled"] = false,
            ["AlarmActions"] = new JsonArray("arn:aws:autoscaling:eu-west-1:123456789012:scalingPolicy:x"),
        }, _log, default);

        JsonNode described = (await aws.InvokeAsync(CW.DescribeAlarms, new JsonObject { ["AlarmNames"] = new JsonArray(name) }, _log, default))!;
        JsonNode alarm = described["MetricAlarms"]!.AsArray().Single()!;
        Assert.Equal(name, (string)alarm["AlarmName"]!);
        Assert.Equal(5.0, double.Parse((string)alarm["Threshold"]!, CultureInfo.InvariantCulture));
        Assert.Equal("2", (string)alarm["EvaluationPeriods"]!);
        Assert.Equal("false", (string)alarm["ActionsEnabled"]!);
        Assert.Single(alarm["AlarmActions"]!.AsArray());

        await aws.InvokeAsync(CW.DeleteAlarms, new JsonObject { ["AlarmNames"] = new JsonArray(name) }, _log, default);
        JsonNode after = (await aws.InvokeAsync(CW.DescribeAlarms, new JsonObject { ["AlarmNames"] = new JsonArray(name) }, _log, default))!;
        Assert.Empty(after["MetricAlarms"]!.AsArray()); // an empty list element is still an array
    }

    internal static async Task<string> CreateEcsServiceAsync(AwsContext aws, IEngineLog log, string cluster, string service)
    {
        await aws.InvokeAsync(ECS.CreateCluster, new JsonObject { ["clusterName"] = cluster }, log, default);
        await aws.InvokeAsync(ECS.RegisterTaskDefinition, Json.Obj("""
            {"family":"worker","containerDefinitions":[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]}
            """), log, default);
        await aws.InvokeAsync(ECS.CreateService, new JsonObject
        {
            ["cluster"] = cluster, ["serviceName"] = service, ["taskDefinition"] = "worker", ["desiredCount"] = 1,
        }, log, default);
        return "service/" + cluster + "/" + service;
    }

    [Fact]
    public async Task Scalable_target_and_scaling_policy_round_trip_on_an_ecs_service()
    {
        using AwsContext aws = _moto.Context();
        string cluster = "c-" + Guid.NewGuid().ToString("N")[..6];
        string resourceId = await CreateEcsServiceAsync(aws, _log, cluster, "workers");

        JsonNode services = (await aws.InvokeAsync(ECS.DescribeServices, new JsonObject { ["cluster"] = cluster, ["services"] = new JsonArray("workers") }, _log, default))!;
        Assert.Equal(1, (int)services["services"]![0]!["desiredCount"]!);

        var target = new JsonObject
        {
            ["ServiceNamespace"] = "ecs", ["ResourceId"] = resourceId, ["ScalableDimension"] = "ecs:service:DesiredCount",
        };
        JsonObject register = (JsonObject)target.DeepClone();
        register["MinCapacity"] = 0;
        register["MaxCapacity"] = 5;
        await aws.InvokeAsync(AAS.RegisterScalableTarget, register, _log, default);

        JsonNode targets = (await aws.InvokeAsync(AAS.DescribeScalableTargets, new JsonObject
        {
            ["ServiceNamespace"] = "ecs", ["ResourceIds"] = new JsonArray(resourceId),
        }, _log, default))!;
        JsonNode found = targets["ScalableTargets"]!.AsArray().Single()!;
        Assert.Equal(5, (int)found["MaxCapacity"]!);
        Assert.Equal(0, (int)found["MinCapacity"]!);

        JsonObject policy = (JsonObject)target.DeepClone();
        policy["PolicyName"] = "backlog-per-task";
        policy["PolicyType"] = "TargetTrackingScaling";
        policy["TargetTrackingScalingPolicyConfiguration"] = Json.Obj("""
            {"TargetValue":10.0,"ScaleOutCooldown":60,"ScaleInCooldown":300,
             "CustomizedMetricSpecification":{"MetricName":"BacklogPerTask","Namespace":"Prefect","Statistic":"Average",
               "Dimensions":[{"Name":"WorkPool","Value":"k8s"}]}}
            """);
        JsonNode put = (await aws.InvokeAsync(AAS.PutScalingPolicy, policy, _log, default))!;
        Assert.StartsWith("arn:aws:autoscaling:eu-west-1:123456789012:scalingPolicy:", (string)put["PolicyARN"]!);

        JsonNode policies = (await aws.InvokeAsync(AAS.DescribeScalingPolicies, new JsonObject
        {
            ["ServiceNamespace"] = "ecs", ["ResourceId"] = resourceId,
        }, _log, default))!;
        JsonNode described = policies["ScalingPolicies"]!.AsArray().Single(p => (string)p!["PolicyName"]! == "backlog-per-task")!;
        Assert.Equal(10.0, (double)described["TargetTrackingScalingPolicyConfiguration"]!["TargetValue"]!);
        Assert.Equal("BacklogPerTask", (string)described["TargetTrackingScalingPolicyConfiguration"]!["CustomizedMetricSpecification"]!["MetricName"]!);

        JsonObject delete = (JsonObject)target.DeepClone();
        delete["PolicyName"] = "backlog-per-task";
        await aws.InvokeAsync(AAS.DeleteScalingPolicy, delete, _log, default);
        await aws.InvokeAsync(AAS.DeregisterScalableTarget, (JsonObject)target.DeepClone(), _log, default);
        JsonNode none = (await aws.InvokeAsync(AAS.DescribeScalableTargets, new JsonObject
        {
            ["ServiceNamespace"] = "ecs", ["ResourceIds"] = new JsonArray(resourceId),
        }, _log, default))!;
        Assert.Empty(none["ScalableTargets"]!.AsArray());

        AwsApiException missing = await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(AAS.DeregisterScalableTarget, (JsonObject)target.DeepClone(), _log, default));
        // AWS answers ObjectNotFoundException (NotFound); moto 5.2.1 answers ValidationException.
        Assert.Contains(missing.ErrorCode, new[] { "ObjectNotFoundException", "ValidationException" });
        Assert.Equal(missing.ErrorCode == "ObjectNotFoundException" ? AwsErrorKind.NotFound : AwsErrorKind.Validation, missing.Kind);
        Assert.Equal("ApplicationAutoScaling", missing.Service);
        Assert.Equal("DeregisterScalableTarget", missing.Operation);
    }

    [Fact]
    public async Task EventBridge_rule_and_targets_round_trip()
    {
        using AwsContext aws = _moto.Context();
        string rule = "prefect-publisher-" + Guid.NewGuid().ToString("N")[..6];
        JsonNode created = (await aws.InvokeAsync(EB.PutRule, new JsonObject
        {
            ["Name"] = rule, ["ScheduleExpression"] = "rate(1 minute)", ["State"] = "ENABLED", ["Description"] = "publishes backlog",
            ["Tags"] = new JsonArray(new JsonObject { ["Key"] = "ManagedBy", ["Value"] = "PrefectScaling" }),
        }, _log, default))!;
        string ruleArn = (string)created["RuleArn"]!;
        Assert.Equal("arn:aws:events:eu-west-1:123456789012:rule/" + rule, ruleArn);

        JsonNode described = (await aws.InvokeAsync(EB.DescribeRule, new JsonObject { ["Name"] = rule }, _log, default))!;
        Assert.Equal("rate(1 minute)", (string)described["ScheduleExpression"]!);
        Assert.Equal("ENABLED", (string)described["State"]!);

        JsonNode tags = (await aws.InvokeAsync(EB.ListTagsForResource, new JsonObject { ["ResourceARN"] = ruleArn }, _log, default))!;
        Assert.Equal("PrefectScaling", (string)tags["Tags"]!.AsArray().Single(t => (string)t!["Key"]! == "ManagedBy")!["Value"]!);

        JsonNode putTargets = (await aws.InvokeAsync(EB.PutTargets, new JsonObject
        {
            ["Rule"] = rule,
            ["Targets"] = new JsonArray(new JsonObject { ["Id"] = "publisher", ["Arn"] = "arn:aws:lambda:eu-west-1:123456789012:function:publisher", ["Input"] = "{\"a\":1}" }),
        }, _log, default))!;
        Assert.Equal(0, (int)putTargets["FailedEntryCount"]!);
        JsonNode listed = (await aws.InvokeAsync(EB.ListTargetsByRule, new JsonObject { ["Rule"] = rule }, _log, default))!;
        Assert.Equal("{\"a\":1}", (string)listed["Targets"]!.AsArray().Single()!["Input"]!);

        AwsApiException busy = await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(EB.DeleteRule, new JsonObject { ["Name"] = rule }, _log, default));
        Assert.NotNull(busy.ErrorCode);

        await aws.InvokeAsync(EB.RemoveTargets, new JsonObject { ["Rule"] = rule, ["Ids"] = new JsonArray("publisher") }, _log, default);
        await aws.InvokeAsync(EB.DeleteRule, new JsonObject { ["Name"] = rule }, _log, default);
        AwsApiException gone = await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(EB.DescribeRule, new JsonObject { ["Name"] = rule }, _log, default));
        Assert.Equal(AwsErrorKind.NotFound, gone.Kind);
        Assert.Equal("ResourceNotFoundException", gone.ErrorCode);
        Assert.StartsWith("EventBridge DescribeRule failed: ResourceNotFoundException: ", gone.Message);
    }

    internal const string LambdaTrust = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}""";

    [Fact]
    public async Task IAM_role_and_inline_policy_round_trip()
    {
        using AwsContext aws = _moto.Context();
        string role = "prefect-publisher-" + Guid.NewGuid().ToString("N")[..6];
        JsonNode created = (await aws.InvokeAsync(IAM.CreateRole, new JsonObject
        {
            ["RoleName"] = role, ["AssumeRolePolicyDocument"] = LambdaTrust, ["Description"] = "publisher",
            ["Tags"] = new JsonArray(new JsonObject { ["Key"] = "ManagedBy", ["Value"] = "PrefectScaling" }),
        }, _log, default))!;
        Assert.Equal("arn:aws:iam::123456789012:role/" + role, (string)created["Role"]!["Arn"]!);

        JsonNode got = (await aws.InvokeAsync(IAM.GetRole, new JsonObject { ["RoleName"] = role }, _log, default))!;
        Assert.Equal(role, (string)got["Role"]!["RoleName"]!);
        Assert.Contains("lambda.amazonaws.com", Uri.UnescapeDataString((string)got["Role"]!["AssumeRolePolicyDocument"]!));

        const string policy = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"cloudwatch:PutMetricData","Resource":"*"}]}""";
        await aws.InvokeAsync(IAM.PutRolePolicy, new JsonObject { ["RoleName"] = role, ["PolicyName"] = "publish", ["PolicyDocument"] = policy }, _log, default);
        JsonNode inline = (await aws.InvokeAsync(IAM.GetRolePolicy, new JsonObject { ["RoleName"] = role, ["PolicyName"] = "publish" }, _log, default))!;
        Assert.Contains("cloudwatch:PutMetricData", Uri.UnescapeDataString((string)inline["PolicyDocument"]!));
        JsonNode names = (await aws.InvokeAsync(IAM.ListRolePolicies, new JsonObject { ["RoleName"] = role }, _log, default))!;
        Assert.Equal("publish", (string)names["PolicyNames"]!.AsArray().Single()!);

        await aws.InvokeAsync(IAM.UpdateAssumeRolePolicy, new JsonObject { ["RoleName"] = role, ["PolicyDocument"] = LambdaTrust.Replace("lambda.amazonaws.com", "events.amazonaws.com") }, _log, default);
        await aws.InvokeAsync(IAM.TagRole, new JsonObject { ["RoleName"] = role, ["Tags"] = new JsonArray(new JsonObject { ["Key"] = "Team", ["Value"] = "data" }) }, _log, default);
        JsonNode updated = (await aws.InvokeAsync(IAM.GetRole, new JsonObject { ["RoleName"] = role }, _log, default))!;
        Assert.Contains("events.amazonaws.com", Uri.UnescapeDataString((string)updated["Role"]!["AssumeRolePolicyDocument"]!));

        AwsApiException conflict = await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(IAM.DeleteRole, new JsonObject { ["RoleName"] = role }, _log, default));
        Assert.Equal(AwsErrorKind.Conflict, conflict.Kind);
        Assert.Equal("DeleteConflict", conflict.ErrorCode);

        await aws.InvokeAsync(IAM.DeleteRolePolicy, new JsonObject { ["RoleName"] = role, ["PolicyName"] = "publish" }, _log, default);
        JsonNode empty = (await aws.InvokeAsync(IAM.ListRolePolicies, new JsonObject { ["RoleName"] = role }, _log, default))!;
        Assert.Empty(empty["PolicyNames"]!.AsArray());
        await aws.InvokeAsync(IAM.DeleteRole, new JsonObject { ["RoleName"] = role }, _log, default);

        AwsApiException missing = await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(IAM.GetRole, new JsonObject { ["RoleName"] = role }, _log, default));
        Assert.Equal(AwsErrorKind.NotFound, missing.Kind);
        Assert.Equal("NoSuchEntity", missing.ErrorCode);
        Assert.Equal(404, missing.StatusCode);
        Assert.False(string.IsNullOrEmpty(missing.RequestId));
        Assert.Equal("IAM", missing.Service);
        Assert.StartsWith("IAM GetRole failed: NoSuchEntity: ", missing.Message);
        Assert.EndsWith("(request id " + missing.RequestId + ")", missing.Message);
    }

    internal static string TinyZip()
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        {
            ZipArchiveEntry entry = zip.CreateEntry("index.py");
            using var writer = new StreamWriter(entry.Open());
            writer.Write("def handler(event, context):\n    return {'ok': True}\n");
        }
        return Convert.ToBase64String(buffer.ToArray());
    }

    [Fact]
    public async Task Lambda_function_is_created_read_updated_permitted_tagged_and_deleted()
    {
        using AwsContext aws = _moto.Context();
        string suffix = Guid.NewGuid().ToString("N")[..6];
        JsonNode role = (await aws.InvokeAsync(IAM.CreateRole, new JsonObject { ["RoleName"] = "fn-role-" + suffix, ["AssumeRolePolicyDocument"] = LambdaTrust }, _log, default))!;
        string roleArn = (string)role["Role"]!["Arn"]!;
        string name = "publisher-" + suffix;

        JsonNode created = (await aws.InvokeAsync(LAM.CreateFunction, new JsonObject
        {
            ["FunctionName"] = name, ["Runtime"] = "python3.12", ["Role"] = roleArn, ["Handler"] = "index.handler",
            ["Code"] = new JsonObject { ["ZipFile"] = TinyZip() }, ["Timeout"] = 10, ["MemorySize"] = 256,
            ["Tags"] = new JsonObject { ["ManagedBy"] = "PrefectScaling" },
        }, _log, default))!;
        string functionArn = (string)created["FunctionArn"]!;
        Assert.Equal("arn:aws:lambda:eu-west-1:123456789012:function:" + name, functionArn);

        JsonNode got = (await aws.InvokeAsync(LAM.GetFunction, new JsonObject { ["FunctionName"] = name }, _log, default))!;
        Assert.Equal(10, (int)got["Configuration"]!["Timeout"]!);

        await aws.InvokeAsync(LAM.UpdateFunctionCode, new JsonObject { ["FunctionName"] = name, ["ZipFile"] = TinyZip() }, _log, default);
        await aws.InvokeAsync(LAM.UpdateFunctionConfiguration, new JsonObject
        {
            ["FunctionName"] = name, ["Timeout"] = 30,
            ["Environment"] = new JsonObject { ["Variables"] = new JsonObject { ["PREFECT_API_URL"] = "http://prefect:4200/api" } },
        }, _log, default);
        JsonNode config = (await aws.InvokeAsync(LAM.GetFunctionConfiguration, new JsonObject { ["FunctionName"] = functionArn }, _log, default))!;
        Assert.Equal(30, (int)config["Timeout"]!);
        Assert.Equal("http://prefect:4200/api", (string)config["Environment"]!["Variables"]!["PREFECT_API_URL"]!);

        string ruleArn = "arn:aws:events:eu-west-1:123456789012:rule/publisher";
        await aws.InvokeAsync(LAM.AddPermission, new JsonObject
        {
            ["FunctionName"] = name, ["StatementId"] = "events-invoke", ["Action"] = "lambda:InvokeFunction",
            ["Principal"] = "events.amazonaws.com", ["SourceArn"] = ruleArn,
        }, _log, default);
        JsonNode policy = (await aws.InvokeAsync(LAM.GetPolicy, new JsonObject { ["FunctionName"] = name }, _log, default))!;
        JsonNode statement = JsonNode.Parse((string)policy["Policy"]!)!["Statement"]!.AsArray().Single()!;
        Assert.Equal("events-invoke", (string)statement["Sid"]!);
        Assert.Contains(ruleArn, statement.ToJsonString());
        await aws.InvokeAsync(LAM.RemovePermission, new JsonObject { ["FunctionName"] = name, ["StatementId"] = "events-invoke" }, _log, default);

        // The ARN goes into the path: escaped by the SDK, as generated clients do.
        await aws.InvokeAsync(LAM.TagResource, new JsonObject { ["Resource"] = functionArn, ["Tags"] = new JsonObject { ["Team"] = "data" } }, _log, default);
        JsonNode tags = (await aws.InvokeAsync(LAM.ListTags, new JsonObject { ["Resource"] = functionArn }, _log, default))!;
        Assert.Equal("PrefectScaling", (string)tags["Tags"]!["ManagedBy"]!);
        Assert.Equal("data", (string)tags["Tags"]!["Team"]!);

        JsonNode? deleted = await aws.InvokeAsync(LAM.DeleteFunction, new JsonObject { ["FunctionName"] = name }, _log, default);
        Assert.IsType<JsonObject>(deleted);
        AwsApiException missing = await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(LAM.GetFunction, new JsonObject { ["FunctionName"] = name }, _log, default));
        Assert.Equal(AwsErrorKind.NotFound, missing.Kind);
        Assert.Equal("ResourceNotFoundException", missing.ErrorCode);
        Assert.Equal(404, missing.StatusCode);
        Assert.Equal("Lambda", missing.Service);
    }

    [Fact]
    public async Task Lambda_operation_without_its_path_member_is_a_validation_error_before_sending()
    {
        using AwsContext aws = _moto.Context();
        AwsApiException error = await Assert.ThrowsAsync<AwsApiException>(() => aws.InvokeAsync(LAM.GetFunction, new JsonObject(), _log, default));
        Assert.Equal(AwsErrorKind.Validation, error.Kind);
        Assert.Contains("FunctionName", error.Message);
    }

    [Fact]
    public async Task SSM_secure_string_is_put_read_overwritten_and_deleted()
    {
        using AwsContext aws = _moto.Context();
        string name = "/prefect-scaling/test-" + Guid.NewGuid().ToString("N")[..6] + "/api-key";
        var tags = new Dictionary<string, string> { ["ManagedBy"] = "PrefectScaling" };
        await aws.PutSecureStringParameterAsync(name, "pnu_first", "Prefect API key", tags, _log, default);
        SsmParameterInfo? first = await aws.GetParameterAsync(name, withDecryption: true, _log, default);
        Assert.NotNull(first);
        Assert.Equal("SecureString", first!.Type);
        Assert.Equal("pnu_first", first.Value);
        Assert.Equal(1, first.Version);
        Assert.Equal("arn:aws:ssm:eu-west-1:123456789012:parameter" + name, first.Arn);
        Assert.NotNull(first.LastModified);

        await aws.PutSecureStringParameterAsync(name, "pnu_second", "Prefect API key", tags, _log, default);
        SsmParameterInfo? second = await aws.GetParameterAsync(name, withDecryption: true, _log, default);
        Assert.Equal("pnu_second", second!.Value);
        Assert.Equal(2, second.Version);

        Assert.True(await aws.DeleteParameterAsync(name, _log, default));
        Assert.False(await aws.DeleteParameterAsync(name, _log, default));
        Assert.Null(await aws.GetParameterAsync(name, withDecryption: true, _log, default));
        Assert.DoesNotContain("pnu_", _log.All);
    }

    [Fact]
    public async Task STS_gives_the_account_id_once()
    {
        using AwsContext aws = _moto.Context();
        Assert.Equal(MotoFixture.AccountId, await aws.GetAccountIdAsync(_log, default));
        Assert.Equal(MotoFixture.AccountId, await aws.GetAccountIdAsync(_log, default));
        Assert.Single(_log.Lines, l => l == "VERBOSE STS GetCallerIdentity in eu-west-1");
    }

    [Fact]
    public async Task A_cancelled_call_throws_OperationCanceledException()
    {
        using AwsContext aws = _moto.Context();
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => aws.InvokeAsync(CW.ListMetrics, new JsonObject(), _log, cancelled.Token));
    }
}
