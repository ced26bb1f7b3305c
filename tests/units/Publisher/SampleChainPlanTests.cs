using System.Globalization;
using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Scaling;
using Xunit;

namespace PrefectScaling.Publisher.Tests;

/// <summary>The chain of delayed samples (no AWS call): its messages and lateness, and the installer's plans, role
/// statements and problems for the sample queue and its event source mapping.</summary>
public sealed class SampleChainPlanTests : IDisposable
{
    private const string Account = "123456789012";
    private readonly AwsContext _aws = AwsContext.Create(
        new AwsSettingsInput { AccessKey = "testing", SecretKey = "testing", Region = "eu-west-1", EndpointUrl = "http://127.0.0.1:9" }, Env.Empty, null);

    public void Dispose() => _aws.Dispose();

    private static PublisherInstallSpec Spec(int interval, string? roleArn = null)
    {
        var spec = new PublisherInstallSpec { Name = "pub", Package = new byte[] { 1, 2, 3 }, RoleArn = roleArn };
        spec.Configuration.ApiUrl = "https://prefect.example.com/api";
        spec.Configuration.SampleIntervalSeconds = interval;
        spec.Configuration.Metric.StorageResolution = interval < 60 ? 1 : 60;
        spec.Validate();
        return spec;
    }

    private const string QueueArn = "arn:aws:sqs:eu-west-1:" + Account + ":pub-samples";
    private const string FunctionArn = "arn:aws:lambda:eu-west-1:" + Account + ":function:pub";

    private static PublisherState State(SampleQueueState queue, bool functionIsManaged = true)
    {
        var state = new PublisherState { Name = "pub", Region = "eu-west-1", AccountId = Account, SampleQueue = queue };
        state.Function = new JsonObject { ["Configuration"] = new JsonObject { ["FunctionArn"] = FunctionArn } };
        state.FunctionIsManaged = functionIsManaged;
        return state;
    }

    /// <summary>The queue and mapping as the installer leaves them for <paramref name="spec"/>.</summary>
    private static SampleQueueState Installed(PublisherInstallSpec spec, string mappingState = "Enabled", int batchSize = 1) => new()
    {
        QueueName = "pub-samples",
        QueueArn = QueueArn,
        QueueUrl = "https://sqs.eu-west-1.amazonaws.com/" + Account + "/pub-samples",
        Attributes = new JsonObject(PublisherQueuePlan.WantedAttributes(spec).Select(a => new KeyValuePair<string, JsonNode?>(a.Key, a.Value))
            .Append(new KeyValuePair<string, JsonNode?>("QueueArn", QueueArn))),
        QueueIsManaged = true,
        Mapping = new JsonObject { ["UUID"] = "uuid-1", ["BatchSize"] = batchSize, ["State"] = mappingState, ["EventSourceArn"] = QueueArn, ["FunctionArn"] = FunctionArn },
        MappingIsManaged = true,
    };

    private static SampleQueueState Missing() => new() { QueueName = "pub-samples", QueueArn = QueueArn };

    [Theory]
    [InlineData(10, new[] { 10, 20, 30, 40, 50 })]
    [InlineData(15, new[] { 15, 30, 45 })]
    [InlineData(20, new[] { 20, 40 })]
    [InlineData(30, new[] { 30 })]
    [InlineData(60, new int[0])]
    public void The_minutes_other_samples_are_due_and_delayed_k_intervals_after_the_first(int interval, int[] delays)
    {
        var start = new DateTime(2026, 3, 1, 12, 0, 0, 250, DateTimeKind.Utc);
        IReadOnlyList<ChainedSample> samples = SampleChain.Follow(start, interval);
        Assert.Equal(delays, samples.Select(s => s.DelaySeconds));
        Assert.Equal(delays.Select(d => start.AddSeconds(d)), samples.Select(s => s.Due));
        Assert.Equal(Enumerable.Range(1, delays.Length), samples.Select(s => s.Index));
        Assert.All(samples, s => Assert.InRange(s.DelaySeconds, 1, SampleChain.MaxDelaySeconds));
        Assert.Equal(interval < 60, SampleChain.IsChained(interval));
    }

    [Fact]
    public void A_message_carries_its_due_time_and_only_the_chains_messages_are_read()
    {
        var due = new DateTime(2026, 3, 1, 12, 0, 20, 125, DateTimeKind.Utc);
        string body = SampleChain.MessageBody(new ChainedSample(2, due, 20));
        Assert.Equal(due, SampleChain.ReadDue(body));
        Assert.Equal(DateTimeKind.Utc, SampleChain.ReadDue(body)!.Value.Kind);
        foreach (string? other in new[] { null, "", "not json", "[]", "{\"due\":\"2026-03-01T12:00:20Z\"}", "{\"kind\":\"prefectscaling-sample\",\"due\":\"soon\"}" })
            Assert.Null(SampleChain.ReadDue(other));
    }

    [Fact]
    public void A_sample_is_late_only_when_the_next_one_is_due_already()
    {
        var due = new DateTime(2026, 3, 1, 12, 0, 10, DateTimeKind.Utc);
        Assert.False(SampleChain.IsLate(due, due.AddSeconds(-1), 10));
        Assert.False(SampleChain.IsLate(due, due.AddSeconds(10), 10));
        Assert.True(SampleChain.IsLate(due, due.AddSeconds(10.001), 10));
        Assert.False(SampleChain.IsLate(due, due.AddSeconds(25), 30));
    }

    [Fact]
    public void A_sub_minute_install_makes_the_queue_and_the_mapping_after_the_function_and_before_the_schedule()
    {
        PublisherInstallSpec spec = Spec(10);
        var nothing = new PublisherState { Name = "pub", Region = "eu-west-1", AccountId = Account, SampleQueue = Missing() };
        List<AwsChange> plan = new PublisherPlan(_aws).PlanInstall(spec, nothing);
        List<string> targets = plan.Select(c => c.Target).ToList();
        int function = targets.IndexOf("pub");
        int queue = targets.IndexOf("pub-samples");
        int rule = plan.FindIndex(c => c.Action.StartsWith("Create EventBridge rule", StringComparison.Ordinal));
        Assert.True(function >= 0 && function < queue && queue < rule, string.Join(" | ", plan));
        Assert.Equal(2, plan.Count(c => c.Target == "pub-samples"));
        Assert.Contains(plan, c => c.Action.StartsWith("Create SQS queue", StringComparison.Ordinal));
        Assert.Contains(plan, c => c.Action.Contains("event source mapping", StringComparison.Ordinal));

        JsonObject variables = (JsonObject)PublisherPlan.FunctionConfiguration(spec, "arn:aws:iam::" + Account + ":role/pub-role")["Environment"]!["Variables"]!;
        Assert.Equal("pub-samples", (string?)variables[SampleChain.QueueVariable]);
        JsonObject minute = (JsonObject)PublisherPlan.FunctionConfiguration(Spec(60), "arn:aws:iam::" + Account + ":role/pub-role")["Environment"]!["Variables"]!;
        Assert.False(minute.ContainsKey(SampleChain.QueueVariable));
    }

    [Fact]
    public void The_queue_holds_a_message_a_minute_and_hides_it_for_the_functions_timeout()
    {
        PublisherInstallSpec spec = Spec(15);
        Dictionary<string, string> attributes = PublisherQueuePlan.WantedAttributes(spec);
        Assert.Equal("60", attributes["MessageRetentionPeriod"]);
        Assert.Equal("0", attributes["DelaySeconds"]);
        Assert.Equal(spec.Timeout.ToString(CultureInfo.InvariantCulture), attributes["VisibilityTimeout"]);
        // A message that failed comes back only after its visibility timeout, when its minute of retention is over.
        Assert.True(int.Parse(attributes["VisibilityTimeout"], CultureInfo.InvariantCulture) > SampleChain.RetentionSeconds);
        Assert.True(SampleChain.Follow(DateTime.UtcNow, 10).Max(s => s.DelaySeconds) < SampleChain.RetentionSeconds);
    }

    [Fact]
    public void Installing_again_plans_nothing_for_the_queue_and_puts_drift_right()
    {
        PublisherInstallSpec spec = Spec(10);
        var plan = new PublisherQueuePlan(_aws);
        Assert.Empty(plan.PlanInstall(spec, State(Installed(spec))));
        foreach (string busy in new[] { "Creating", "Enabling", "Updating" })
            Assert.Empty(plan.PlanInstall(spec, State(Installed(spec, busy))));

        SampleQueueState drifted = Installed(spec);
        drifted.Attributes!["MessageRetentionPeriod"] = "345600";
        Assert.Equal(new[] { "Update the SQS queue's retention and visibility timeout" }, plan.PlanInstall(spec, State(drifted)).Select(c => c.Action));

        Assert.Single(plan.PlanInstall(spec, State(Installed(spec, "Disabled"))), c => c.Action.StartsWith("Update the event source mapping", StringComparison.Ordinal));
        Assert.Single(plan.PlanInstall(spec, State(Installed(spec, batchSize: 10))), c => c.Action.StartsWith("Update the event source mapping", StringComparison.Ordinal));

        SampleQueueState noMapping = Installed(spec);
        noMapping.Mapping = null;
        Assert.Single(plan.PlanInstall(spec, State(noMapping)), c => c.Action.StartsWith("Let the queue invoke the function", StringComparison.Ordinal));
    }

    [Fact]
    public void Going_back_to_one_sample_a_minute_removes_the_modules_mapping_and_queue_and_nothing_else()
    {
        PublisherInstallSpec tenSeconds = Spec(10);
        var plan = new PublisherQueuePlan(_aws);
        Assert.Equal(new[] { "Delete the event source mapping from the sample queue to the function", "Delete SQS queue" },
            plan.PlanInstall(Spec(60), State(Installed(tenSeconds))).Select(c => c.Action));
        Assert.Empty(plan.PlanInstall(Spec(60), State(Missing())));

        SampleQueueState theirs = Installed(tenSeconds);
        theirs.QueueIsManaged = false;
        theirs.MappingIsManaged = false;
        Assert.Empty(plan.PlanInstall(Spec(60), State(theirs)));
        Assert.Empty(plan.PlanUninstall(State(theirs)));
        Assert.Equal(2, plan.PlanUninstall(State(Installed(tenSeconds))).Count);
    }

    [Fact]
    public void A_queue_of_the_name_that_the_module_did_not_make_is_never_taken_over()
    {
        PublisherInstallSpec spec = Spec(10);
        SampleQueueState theirs = Installed(spec);
        theirs.QueueIsManaged = false;
        theirs.Mapping = null;
        PublisherState state = State(theirs);
        Assert.Equal(new[] { "SQS queue pub-samples" }, PublisherQueuePlan.Taken(spec, state));
        Assert.Empty(PublisherQueuePlan.Taken(Spec(60), state));
        var taken = Assert.Throws<ResourceOwnershipException>(() => new PublisherPlan(_aws).PlanInstall(spec, state));
        Assert.Contains("SQS queue pub-samples", taken.Message, StringComparison.Ordinal);
        Assert.Contains(state.NotOwned(), o => o.Contains("SQS queue pub-samples", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("eu-west-1", "aws")]
    [InlineData("cn-north-1", "aws-cn")]
    public void The_role_may_send_to_receive_from_and_delete_in_its_own_queue_only(string region, string partition)
    {
        var at = new PublisherState { Name = "pub", Region = region, AccountId = Account };
        Dictionary<string, JsonObject> statements = PublisherPolicies.Inline(Spec(20), at)["Statement"]!.AsArray().Select(s => s!.AsObject()).ToDictionary(s => (string)s["Sid"]!);
        string queue = "arn:" + partition + ":sqs:" + region + ":" + Account + ":pub-samples";
        Assert.Equal(queue, (string?)statements["ChainSamples"]["Resource"]);
        Assert.Equal(new[] { "sqs:GetQueueUrl", "sqs:SendMessage" }, statements["ChainSamples"]["Action"]!.AsArray().Select(a => (string?)a));
        Assert.Equal(queue, (string?)statements["ReceiveChainedSamples"]["Resource"]);
        Assert.Equal(new[] { "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes" }, statements["ReceiveChainedSamples"]["Action"]!.AsArray().Select(a => (string?)a));

        JsonArray minute = PublisherPolicies.Inline(Spec(60), at)["Statement"]!.AsArray();
        Assert.DoesNotContain(minute, s => ((string?)s!["Sid"])!.Contains("Sample", StringComparison.Ordinal));
    }

    [Fact]
    public void The_report_says_what_keeps_the_chain_from_running()
    {
        PublisherInstallSpec spec = Spec(10);
        PublisherState Ready(SampleQueueState queue)
        {
            PublisherState state = State(queue);
            state.Function!["Configuration"]!["Environment"] = new JsonObject { ["Variables"] = new JsonObject { [SampleChain.QueueVariable] = "pub-samples" } };
            return state;
        }

        Assert.Empty(PublisherQueuePlan.Problems(Ready(Installed(spec)), spec.Configuration));
        Assert.Contains(PublisherQueuePlan.Problems(Ready(Missing()), spec.Configuration), p => p.Contains("is missing", StringComparison.Ordinal));
        Assert.Contains(PublisherQueuePlan.Problems(Ready(Installed(spec, "Disabled")), spec.Configuration), p => p.Contains("Disabled", StringComparison.Ordinal));
        Assert.Contains(PublisherQueuePlan.Problems(State(Installed(spec)), spec.Configuration), p => p.Contains(SampleChain.QueueVariable, StringComparison.Ordinal));
        SampleQueueState unmapped = Installed(spec);
        unmapped.Mapping = null;
        Assert.Contains(PublisherQueuePlan.Problems(Ready(unmapped), spec.Configuration), p => p.Contains("no event source mapping", StringComparison.Ordinal));
        Assert.Contains(PublisherQueuePlan.Problems(Ready(Installed(spec)), Spec(60).Configuration), p => p.Contains("left from sub-minute sampling", StringComparison.Ordinal));
        Assert.Empty(PublisherQueuePlan.Problems(Ready(Missing()), Spec(60).Configuration));
    }
}
