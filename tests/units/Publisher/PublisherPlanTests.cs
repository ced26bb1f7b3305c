using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Scaling;

namespace PrefectScaling.Publisher.Tests;

/// <summary>The installer's plans from a state (no AWS call): what an install makes, that a second install after it
/// plans nothing, what drift it puts right, and what it refuses or leaves alone.</summary>
public sealed class PublisherPlanTests : IDisposable
{
    private const string Account = "123456789012";
    private readonly AwsContext _aws = AwsContext.Create(
        new AwsSettingsInput { AccessKey = "testing", SecretKey = "testing", Region = "eu-west-1", EndpointUrl = "http://127.0.0.1:9" }, Env.Empty, null);

    public void Dispose() => _aws.Dispose();

    private PublisherPlan Plan => new(_aws);

    private static PublisherInstallSpec Spec(string? secret = "pnu_secret", string? roleArn = null)
    {
        var spec = new PublisherInstallSpec { Name = "pub", Package = new byte[] { 1, 2, 3 }, Secret = secret, RoleArn = roleArn };
        spec.Configuration.ApiUrl = "https://prefect.example.com/api";
        spec.Configuration.SecretKind = secret == null ? PublisherSecretKind.None : PublisherSecretKind.ApiKey;
        spec.Validate();
        return spec;
    }

    private static PublisherState Nothing() => new() { Name = "pub", Region = "eu-west-1", AccountId = Account };

    private static JsonArray TagList(PublisherInstallSpec spec) =>
        new(spec.AllTags().Select(t => (JsonNode)new JsonObject { ["Key"] = t.Key, ["Value"] = t.Value }).ToArray());

    /// <summary>What AWS answers after the install of <paramref name="spec"/> was applied, as the reader keeps it.</summary>
    private static PublisherState Installed(PublisherInstallSpec spec)
    {
        PublisherState state = Nothing();
        PublisherNames names = spec.Names;
        string roleArn = spec.RoleArn ?? state.ManagedRoleArn;
        if (spec.Secret != null)
        {
            state.SecretParameterExists = true;
            state.SecretHash = PublisherState.HashOf(spec.Secret);
        }
        if (spec.RoleArn == null)
        {
            // IAM answers policy documents URL-encoded.
            state.Role = new JsonObject
            {
                ["RoleName"] = names.RoleName, ["Arn"] = roleArn, ["Tags"] = TagList(spec),
                ["AssumeRolePolicyDocument"] = WebUtility.UrlEncode(PublisherPolicies.Trust().ToJsonString()),
            };
            state.RoleIsManaged = true;
            state.RolePolicy = JsonNode.Parse(PublisherPolicies.Inline(spec, state).ToJsonString());
        }
        state.LogGroup = new JsonObject { ["logGroupName"] = names.LogGroupName, ["retentionInDays"] = 14 };
        state.LogGroupIsManaged = true;

        // GetFunction: the configuration as created, and what Lambda adds to it.
        var configuration = PublisherPlan.FunctionConfiguration(spec, roleArn);
        configuration["FunctionArn"] = "arn:aws:lambda:eu-west-1:" + Account + ":function:" + names.FunctionName;
        configuration["CodeSha256"] = Convert.ToBase64String(SHA256.HashData(spec.Package));
        configuration["State"] = "Active";
        configuration["LastUpdateStatus"] = "Successful";
        configuration["VpcConfig"]!["VpcId"] = "";
        state.Function = new JsonObject { ["Configuration"] = configuration, ["Tags"] = new JsonObject(spec.AllTags().Select(t => new KeyValuePair<string, JsonNode?>(t.Key, t.Value))) };
        state.FunctionIsManaged = true;

        state.Rule = new JsonObject { ["Name"] = names.RuleName, ["Arn"] = "arn:aws:events:eu-west-1:" + Account + ":rule/" + names.RuleName, ["ScheduleExpression"] = spec.Schedule, ["State"] = "ENABLED" };
        state.RuleIsManaged = true;
        state.Target = new JsonObject { ["Id"] = PublisherNames.TargetId, ["Arn"] = state.FunctionArn };
        state.Permission = new JsonObject
        {
            ["Sid"] = names.StatementId, ["Effect"] = "Allow", ["Principal"] = new JsonObject { ["Service"] = "events.amazonaws.com" },
            ["Action"] = "lambda:InvokeFunction", ["Condition"] = new JsonObject { ["ArnLike"] = new JsonObject { ["AWS:SourceArn"] = state.RuleArn } },
        };
        state.DashboardBody = PublisherDashboard.Body(spec, state.Region, Array.Empty<DashboardBindingFacts>()).ToJsonString();
        state.DashboardIsManaged = true;
        return state;
    }

    private static List<string> Actions(IEnumerable<AwsChange> changes) => changes.Select(c => c.ToString()).ToList();

    [Fact]
    public void An_install_on_nothing_makes_every_part_in_order()
    {
        Assert.Equal(new[]
        {
            "Create SSM SecureString parameter with the Prefect secret: /prefectscaling/pub/prefect-secret",
            "Create IAM role assumed by lambda.amazonaws.com: pub-role",
            "Attach the role's least-privilege inline policy: pub-role/PrefectScalingPublisher",
            "Create CloudWatch Logs log group (14-day retention): /aws/lambda/pub",
            "Create Lambda function (dotnet10, 0 KiB package): pub",
            "Create EventBridge rule rate(1 minute): pub",
            "Point the rule at the function: pub",
            "Allow the rule (and only it) to invoke the function: pub",
            "Create CloudWatch dashboard (0 binding(s)): pub",
        }, Actions(Plan.PlanInstall(Spec(), Nothing())));
    }

    [Fact]
    public void A_second_install_after_the_first_was_applied_plans_nothing()
    {
        Assert.Empty(Plan.PlanInstall(Spec(), Installed(Spec())));
        Assert.Empty(Plan.PlanInstall(Spec(secret: null), Installed(Spec(secret: null))));
        PublisherInstallSpec own = Spec(roleArn: "arn:aws:iam::" + Account + ":role/my-role");
        Assert.Empty(Plan.PlanInstall(own, Installed(own)));
    }

    [Fact]
    public void An_install_puts_right_only_what_drifted()
    {
        PublisherInstallSpec spec = Spec();

        PublisherState rule = Installed(spec);
        rule.Rule!["State"] = "DISABLED";
        Assert.Equal(new[] { "Update EventBridge rule rate(1 minute): pub" }, Actions(Plan.PlanInstall(spec, rule)));

        PublisherState secret = Installed(spec);
        secret.SecretHash = PublisherState.HashOf("an older secret");
        Assert.Equal(new[] { "Update SSM SecureString parameter with the Prefect secret: /prefectscaling/pub/prefect-secret" }, Actions(Plan.PlanInstall(spec, secret)));

        PublisherState environment = Installed(spec);
        environment.Function!["Configuration"]!["Environment"]!["Variables"]!["ADDED_BY_HAND"] = "1";
        Assert.Equal(new[] { "Update Lambda function configuration: pub" }, Actions(Plan.PlanInstall(spec, environment)));

        PublisherState policy = Installed(spec);
        policy.RolePolicy!["Statement"]!.AsArray().Add(new JsonObject { ["Effect"] = "Allow", ["Action"] = "s3:*", ["Resource"] = "*" });
        Assert.Equal(new[] { "Update the role's least-privilege inline policy: pub-role/PrefectScalingPublisher" }, Actions(Plan.PlanInstall(spec, policy)));

        PublisherState permission = Installed(spec);
        permission.Permission!["Condition"]!["ArnLike"]!["AWS:SourceArn"] = "arn:aws:events:eu-west-1:" + Account + ":rule/other";
        Assert.Equal(new[] { "Allow the rule (and only it) to invoke the function: pub" }, Actions(Plan.PlanInstall(spec, permission)));
    }

    [Fact]
    public void An_install_with_no_secret_now_deletes_the_stored_one()
    {
        PublisherState state = Installed(Spec());
        Assert.Contains("Delete SSM parameter (no secret is configured now): /prefectscaling/pub/prefect-secret", Actions(Plan.PlanInstall(Spec(secret: null), state)));
    }

    [Fact]
    public void A_user_s_role_of_the_same_name_is_refused_unless_the_user_brings_a_role()
    {
        PublisherState state = Nothing();
        state.Role = new JsonObject { ["RoleName"] = "pub-role", ["AssumeRolePolicyDocument"] = WebUtility.UrlEncode(PublisherPolicies.Trust().ToJsonString()) };
        state.RoleIsManaged = false;
        var refused = Assert.Throws<ResourceOwnershipException>(() => Plan.PlanInstall(Spec(), state));
        Assert.Equal("PublisherNameTaken", refused.ErrorId);
        Assert.Contains("IAM role pub-role (pass -RoleArn", refused.Message);

        // With -RoleArn the role of that name is none of the installer's business: no IAM change, and an uninstall leaves it.
        List<AwsChange> changes = Plan.PlanInstall(Spec(roleArn: "arn:aws:iam::" + Account + ":role/my-role"), state);
        Assert.Contains(changes, c => c.Action.StartsWith("Create Lambda function", StringComparison.Ordinal));
        Assert.DoesNotContain(changes, c => c.Target.StartsWith("pub-role", StringComparison.Ordinal));
        Assert.Empty(Plan.PlanUninstall(state));
    }

    [Fact]
    public void A_user_s_log_group_of_the_same_name_is_used_but_never_deleted()
    {
        PublisherState state = Nothing();
        state.LogGroup = new JsonObject { ["logGroupName"] = "/aws/lambda/pub" };
        state.LogGroupIsManaged = false;
        Assert.DoesNotContain(Actions(Plan.PlanInstall(Spec(), state)), a => a.Contains("log group", StringComparison.Ordinal));
        Assert.Empty(Plan.PlanUninstall(state));
    }

    [Fact]
    public void An_uninstall_removes_every_part_in_an_order_AWS_accepts_and_then_plans_nothing()
    {
        Assert.Equal(new[]
        {
            "Remove the EventBridge rule's target: pub",
            "Delete EventBridge rule: arn:aws:events:eu-west-1:123456789012:rule/pub",
            "Remove the invoke permission: pub",
            "Delete Lambda function: arn:aws:lambda:eu-west-1:123456789012:function:pub",
            "Delete the role's inline policy: pub-role/PrefectScalingPublisher",
            "Delete IAM role: arn:aws:iam::123456789012:role/pub-role",
            "Delete SSM parameter: /prefectscaling/pub/prefect-secret",
            "Delete CloudWatch Logs log group: /aws/lambda/pub",
            "Delete CloudWatch dashboard: pub",
        }, Actions(Plan.PlanUninstall(Installed(Spec()))));
        Assert.Empty(Plan.PlanUninstall(Nothing()));
    }

    [Fact]
    public void Every_name_comes_from_the_publisher_s_name()
    {
        var names = new PublisherNames("pub");
        Assert.Equal(("pub", "pub", "pub-role", "/prefectscaling/pub/prefect-secret", "prefectscaling-pub", "/aws/lambda/pub"),
            (names.FunctionName, names.RuleName, names.RoleName, names.SecretParameterName, names.StatementId, names.LogGroupName));
        PublisherInstallSpec spec = Spec();
        Assert.Equal(names.SecretParameterName, spec.Configuration.SecretParameter);
        Assert.Equal("arn:aws:iam::" + Account + ":role/" + names.RoleName, Nothing().ManagedRoleArn);
    }
}
