using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Scaling;

namespace PrefectScaling.Publisher.Tests;

/// <summary>The publisher's report and uninstall plan from a state (no AWS call): half-finished installs, and
/// resources with the publisher's names that the module did not make.</summary>
public sealed class PublisherOwnershipTests : IDisposable
{
    private readonly AwsContext _aws = AwsContext.Create(
        new AwsSettingsInput { AccessKey = "testing", SecretKey = "testing", Region = "eu-west-1", EndpointUrl = "http://127.0.0.1:9" }, Env.Empty, null);

    public void Dispose() => _aws.Dispose();

    private static PublisherState HalfInstalled(bool roleIsManaged = true, bool logGroupIsManaged = true) => new()
    {
        Name = "pub", Region = "eu-west-1", AccountId = "123456789012",
        Role = new JsonObject { ["RoleName"] = "pub-role" }, RoleIsManaged = roleIsManaged,
        RolePolicy = new JsonObject { ["Version"] = "2012-10-17" },
        SecretParameterExists = true,
        LogGroup = new JsonObject { ["logGroupName"] = "/aws/lambda/pub" }, LogGroupIsManaged = logGroupIsManaged,
    };

    [Fact]
    public void A_half_finished_install_is_reported_with_how_to_finish_or_remove_it()
    {
        PrefectBacklogPublisher report = PrefectBacklogPublisher.From(HalfInstalled());
        Assert.False(report.Installed);
        Assert.True(report.PartlyInstalled);
        Assert.Equal(new[] { "IAM role pub-role", "SSM parameter /prefectscaling/pub/prefect-secret", "log group /aws/lambda/pub" }, report.Found);
        string problem = Assert.Single(report.Problems);
        Assert.Contains("Install-PrefectBacklogPublisher -Name pub again", problem);
        Assert.Contains("Uninstall-PrefectBacklogPublisher -Name pub to remove", problem);

        List<string> plan = new PublisherInstaller(_aws).PlanUninstall(HalfInstalled()).Select(c => c.ToString()).ToList();
        Assert.Equal(new[]
        {
            "Delete the role's inline policy: pub-role/PrefectScalingPublisher",
            "Delete IAM role: arn:aws:iam::123456789012:role/pub-role",
            "Delete SSM parameter: /prefectscaling/pub/prefect-secret",
            "Delete CloudWatch Logs log group: /aws/lambda/pub",
        }, plan);
    }

    [Fact]
    public void What_the_module_did_not_make_is_reported_and_never_in_the_uninstall_plan()
    {
        PublisherState state = HalfInstalled(roleIsManaged: false, logGroupIsManaged: false);
        state.Function = new JsonObject { ["Configuration"] = new JsonObject { ["FunctionName"] = "pub" } };
        state.Rule = new JsonObject { ["Name"] = "pub", ["Arn"] = "arn:aws:events:eu-west-1:123456789012:rule/pub" };

        PrefectBacklogPublisher report = PrefectBacklogPublisher.From(state);
        Assert.False(report.Installed);
        Assert.Equal(4, report.NotOwned.Count);
        Assert.Contains(report.Problems, p => p.Contains("left alone: the IAM role pub-role", StringComparison.Ordinal));

        Assert.Equal(new[] { "Delete SSM parameter: /prefectscaling/pub/prefect-secret" }, new PublisherInstaller(_aws).PlanUninstall(state).Select(c => c.ToString()));
        var spec = new PublisherInstallSpec { Name = "pub", Package = new byte[] { 1 } };
        var refused = Assert.Throws<ResourceOwnershipException>(() => new PublisherInstaller(_aws).PlanInstall(spec, state));
        Assert.Equal("PublisherNameTaken", refused.ErrorId);
        Assert.Contains("Lambda function pub", refused.Message);
        Assert.Contains("EventBridge rule pub", refused.Message);
        Assert.Contains("IAM role pub-role", refused.Message);
    }

    [Theory]
    [InlineData("""[{"Key":"ManagedBy","Value":"PrefectScaling"},{"Key":"PrefectScalingPublisher","Value":"pub"}]""", true)]
    [InlineData("""{"ManagedBy":"PrefectScaling","PrefectScalingPublisher":"pub"}""", true)]
    [InlineData("""{"ManagedBy":"PrefectScaling","PrefectScalingPublisher":"other"}""", false)]
    [InlineData("""{"ManagedBy":"PrefectScaling"}""", false)]
    [InlineData("""[]""", false)]
    public void Tags_name_the_publisher_in_either_form(string tags, bool expected) =>
        Assert.Equal(expected, PublisherReader.TagsNamePublisher(JsonNode.Parse(tags), "pub"));
}
