using System.Text.Json.Nodes;
using PrefectScaling.Aws;

namespace PrefectScaling.Publisher.Tests;

/// <summary>The publisher role's IAM documents: least privilege, with ARNs in the region's partition from the same
/// partition table the endpoints use.</summary>
public sealed class PublisherPoliciesTests
{
    private const string Account = "123456789012";

    private static PublisherInstallSpec Spec(bool withSecret = true, bool withService = true, bool inVpc = false)
    {
        var spec = new PublisherInstallSpec { Name = "pub", Package = new byte[] { 1 }, Secret = withSecret ? "s3cret-value" : null };
        spec.Configuration.ApiUrl = "https://prefect.example.com/api";
        spec.Configuration.SecretKind = withSecret ? PublisherSecretKind.ApiKey : PublisherSecretKind.None;
        spec.Configuration.Metric.Namespace = "Team/Prefect";
        if (withService) { spec.Configuration.Cluster = "prod"; spec.Configuration.Service = "agent"; }
        if (inVpc) { spec.SubnetIds = new[] { "subnet-1" }; spec.SecurityGroupIds = new[] { "sg-1" }; }
        spec.Validate();
        return spec;
    }

    private static PublisherState At(string region) => new() { Name = "pub", Region = region, AccountId = Account };

    private static Dictionary<string, JsonObject> Statements(JsonObject policy) =>
        policy["Statement"]!.AsArray().Select(s => s!.AsObject()).ToDictionary(s => (string)s["Sid"]!);

    [Theory]
    [InlineData("eu-west-1", "aws")]
    [InlineData("cn-northwest-1", "aws-cn")]
    [InlineData("us-gov-east-1", "aws-us-gov")]
    [InlineData("us-iso-east-1", "aws-iso")]        // a partition a prefix guess (cn-, us-gov-) would have called aws
    public void Arns_are_in_the_region_s_partition(string region, string partition)
    {
        Assert.Equal(partition, AwsPartition.NameOf(region));
        PublisherState at = At(region);
        Dictionary<string, JsonObject> statements = Statements(PublisherPolicies.Inline(Spec(), at));
        string prefix = "arn:" + partition + ":";
        Assert.Equal(prefix + "logs:" + region + ":" + Account + ":log-group:/aws/lambda/pub:*", (string?)statements["WriteOwnLogs"]["Resource"]);
        Assert.Equal(prefix + "ssm:" + region + ":" + Account + ":parameter/prefectscaling/pub/prefect-secret", (string?)statements["ReadPrefectSecret"]["Resource"]);
        Assert.Equal(prefix + "ecs:" + region + ":" + Account + ":service/prod/agent", (string?)statements["ReadServiceTasks"]["Resource"]);
        Assert.Equal(prefix + "iam::" + Account + ":role/pub-role", at.ManagedRoleArn);
        Assert.Equal(prefix + "lambda:" + region + ":" + Account + ":function:pub", at.FunctionArn);
        Assert.Equal(prefix + "events:" + region + ":" + Account + ":rule/pub", at.RuleArn);
    }

    [Fact]
    public void The_partition_is_the_one_the_endpoints_use()
    {
        using AwsContext aws = AwsContext.Create(new AwsSettingsInput { AccessKey = "K", SecretKey = "S", Region = "cn-north-1" }, Env.Empty, null);
        Assert.Equal("https://lambda.cn-north-1.amazonaws.com.cn", aws.EndpointFor("Lambda").Url);
        Assert.Equal("aws-cn", At(aws.Region).Partition);
    }

    [Fact]
    public void Metrics_go_only_into_the_configured_namespace_and_nothing_else_is_granted_without_need()
    {
        Dictionary<string, JsonObject> all = Statements(PublisherPolicies.Inline(Spec(inVpc: true), At("eu-west-1")));
        Assert.Equal(new[] { "PublishBacklogMetrics", "ReadPrefectSecret", "ReadServiceTasks", "VpcNetworkInterfaces", "WriteOwnLogs" }, all.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("cloudwatch:PutMetricData", (string?)all["PublishBacklogMetrics"]["Action"]);
        Assert.Equal("Team/Prefect", (string?)all["PublishBacklogMetrics"]["Condition"]!["StringEquals"]!["cloudwatch:namespace"]);
        Assert.Equal("ssm:GetParameter", (string?)all["ReadPrefectSecret"]["Action"]);
        Assert.Equal("ecs:DescribeServices", (string?)all["ReadServiceTasks"]["Action"]);

        Dictionary<string, JsonObject> least = Statements(PublisherPolicies.Inline(Spec(withSecret: false, withService: false), At("eu-west-1")));
        Assert.Equal(new[] { "PublishBacklogMetrics", "WriteOwnLogs" }, least.Keys.Order(StringComparer.Ordinal));
        Assert.All(least.Values, s => Assert.Equal("Allow", (string?)s["Effect"]));
    }

    [Fact]
    public void Only_Lambda_may_assume_the_role() =>
        Assert.Equal("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}""",
            PublisherPolicies.Trust().ToJsonString());
}
