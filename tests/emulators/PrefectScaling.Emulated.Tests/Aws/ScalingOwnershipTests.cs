using System.Text.Json.Nodes;
using PrefectScaling.Bindings;
using PrefectScaling.Scaling;
using AAS = PrefectScaling.Aws.AwsOperations.ApplicationAutoScaling;
using CW = PrefectScaling.Aws.AwsOperations.CloudWatch;

namespace PrefectScaling.Aws.Tests;

/// <summary>Against moto: the module reads, changes and removes only what it made for exactly one service, and a
/// Set converges when another Set writes the same service meanwhile.</summary>
[Collection(MotoCollection.Name)]
public sealed class ScalingOwnershipTests
{
    private readonly MotoFixture _moto;
    private readonly RecordingLog _log = new();
    private readonly string _p = "o" + Guid.NewGuid().ToString("N")[..6];

    public ScalingOwnershipTests(MotoFixture moto) { _moto = moto; }

    private static ScalingPolicySpec Spec(string cluster, string service, ScalingPolicyKind kind = ScalingPolicyKind.StepScaling, string queue = "etl") =>
        new() { Cluster = cluster, Service = service, Scope = BindingScope.From(null, new[] { queue }), MinCapacity = 0, MaxCapacity = 4, Kind = kind };

    private async Task ApplyAsync(IEnumerable<AwsChange> changes)
    {
        foreach (AwsChange change in changes) await change.Apply(_log, default);
    }

    private async Task SetAsync(AwsContext aws, ScalingPolicySpec spec)
    {
        var planner = new EcsScalingPlanner(aws);
        await ApplyAsync(planner.PlanSet(spec, await planner.ReadAsync(spec.Cluster, spec.Service, _log, default)));
    }

    /// <summary>What the first release made for a step-scaling scope of one queue: its names, no tags.</summary>
    private async Task PutFirstReleaseAsync(AwsContext aws, ScalingPolicySpec spec)
    {
        string legacy = ScalingNames.LegacyBaseName(spec.Cluster, spec.Service, null, spec.Scope!.AnyPoolQueues.Single());
        foreach (DesiredPolicy policy in ScalingPolicyDocuments.Policies(spec))
        {
            string name = legacy + policy.Name.Substring(spec.BaseName.Length);
            var input = (JsonObject)policy.PutInput.DeepClone();
            input["PolicyName"] = name;
            string arn = (string)(await aws.InvokeAsync(AAS.PutScalingPolicy, input, _log, default))!["PolicyARN"]!;
            if (policy.Alarm == null) continue;
            var alarm = (JsonObject)policy.Alarm.DeepClone();
            alarm["AlarmName"] = name;
            alarm["AlarmActions"] = new JsonArray(arn);
            await aws.InvokeAsync(CW.PutMetricAlarm, alarm, _log, default);
        }
    }

    private async Task<List<string>> AlarmNamesAsync(AwsContext aws, string prefix) =>
        ((await aws.InvokeAsync(CW.DescribeAlarms, new JsonObject { ["AlarmNamePrefix"] = prefix }, _log, default))!["MetricAlarms"]!.AsArray())
            .Select(a => (string)a!["AlarmName"]!).OrderBy(n => n, StringComparer.Ordinal).ToList();

    private async Task<List<string>> PolicyNamesAsync(AwsContext aws, string cluster, string service) =>
        ((await aws.InvokeAsync(AAS.DescribeScalingPolicies, new JsonObject { ["ServiceNamespace"] = "ecs", ["ResourceId"] = "service/" + cluster + "/" + service }, _log, default))!["ScalingPolicies"]!.AsArray())
            .Where(p => (string)p!["ResourceId"]! == "service/" + cluster + "/" + service)
            .Select(p => (string)p!["PolicyName"]!).OrderBy(n => n, StringComparer.Ordinal).ToList();

    [Fact]
    public async Task Removing_service_agent_leaves_agent_gpu_of_both_releases_alone()
    {
        using AwsContext aws = _moto.Context();
        string cluster = _p;
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, cluster, "agent");
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, cluster, "agent-gpu");
        await SetAsync(aws, Spec(cluster, "agent"));
        await SetAsync(aws, Spec(cluster, "agent-gpu"));
        await PutFirstReleaseAsync(aws, Spec(cluster, "agent-gpu", queue: "old"));
        List<string> gpu = (await AlarmNamesAsync(aws, "PrefectScaling")).Where(n => n.Contains(cluster + "/agent-gpu/", StringComparison.Ordinal) || n.StartsWith("PrefectScaling-" + cluster + "-agent-gpu-", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, gpu.Count);

        var planner = new EcsScalingPlanner(aws);
        EcsScalingState agent = await planner.ReadAsync(cluster, "agent", _log, default);
        Assert.Equal(2, agent.Policies.Count);
        Assert.Equal(2, agent.Alarms.Count);
        // agent-gpu's first-release alarms start with agent's first-release prefix, but their actions are agent-gpu's.
        Assert.Equal(2, agent.OtherAlarms.Count);
        await ApplyAsync(planner.PlanRemove(agent, null, deregisterTarget: true));

        Assert.Empty(await PolicyNamesAsync(aws, cluster, "agent"));
        Assert.Equal(4, (await PolicyNamesAsync(aws, cluster, "agent-gpu")).Count);
        Assert.Equal(gpu, (await AlarmNamesAsync(aws, "PrefectScaling")).Where(n => n.Contains(cluster, StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Clusters_a_b_with_c_and_a_with_b_c_do_not_meet()
    {
        using AwsContext aws = _moto.Context();
        string left = _p + "a-b", right = _p + "a";
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, left, "c");
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, right, "b-c");
        // The first release named both PrefectScaling-<p>a-b-c-etl.
        await SetAsync(aws, Spec(right, "b-c", ScalingPolicyKind.TargetTracking, queue: "new"));
        await PutFirstReleaseAsync(aws, Spec(right, "b-c"));
        await SetAsync(aws, Spec(left, "c"));

        var planner = new EcsScalingPlanner(aws);
        EcsScalingState state = await planner.ReadAsync(left, "c", _log, default);
        Assert.All(state.Alarms, a => Assert.StartsWith("PrefectScaling/" + left + "/c/", (string)a["AlarmName"]!));
        await ApplyAsync(planner.PlanRemove(state, null, deregisterTarget: false));

        // The guarded target tracking (tracking and ":in") and the first release's two.
        Assert.Equal(4, (await PolicyNamesAsync(aws, right, "b-c")).Count);
        Assert.Equal(2, (await AlarmNamesAsync(aws, ScalingNames.LegacyServicePrefix(right, "b-c"))).Count);
        Assert.Empty(await AlarmNamesAsync(aws, ScalingNames.ServiceHead(left, "c")));
    }

    [Fact]
    public async Task Set_replaces_the_first_release_and_leaves_a_user_s_alarm_named_like_it()
    {
        using AwsContext aws = _moto.Context();
        string cluster = _p;
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, cluster, "agent");
        ScalingPolicySpec spec = Spec(cluster, "agent");
        await PutFirstReleaseAsync(aws, spec);
        string legacy = ScalingNames.LegacyBaseName(cluster, "agent", null, "etl");
        // A user's own alarm that the first release's prefix also matches.
        await aws.InvokeAsync(CW.PutMetricAlarm, Json.Obj("""
            {"AlarmName":"__NAME__","Namespace":"Prefect","MetricName":"LateFlowRuns","Statistic":"Maximum","Period":60,"EvaluationPeriods":1,
             "Threshold":100,"ComparisonOperator":"GreaterThanThreshold","AlarmActions":["arn:aws:sns:eu-west-1:123456789012:pager"]}
            """.Replace("__NAME__", legacy + ":page-me")), _log, default);

        await SetAsync(aws, spec);
        Assert.Equal(new[] { spec.BaseName + ":in", spec.BaseName + ":out" }, await PolicyNamesAsync(aws, cluster, "agent"));
        Assert.Equal(new[] { legacy + ":page-me" }, await AlarmNamesAsync(aws, ScalingNames.LegacyServicePrefix(cluster, "agent")));
        JsonNode tags = (await aws.InvokeAsync(CW.ListTagsForResource, new JsonObject
        {
            ["ResourceARN"] = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:" + spec.BaseName + ":out",
        }, _log, default))!;
        Assert.True(ScalingNames.TagsNameService(tags["Tags"], cluster, "agent"));

        var planner = new EcsScalingPlanner(aws);
        await ApplyAsync(planner.PlanRemove(await planner.ReadAsync(cluster, "agent", _log, default), null, deregisterTarget: true));
        Assert.Equal(new[] { legacy + ":page-me" }, await AlarmNamesAsync(aws, "PrefectScaling-" + cluster));
        Assert.Empty(await AlarmNamesAsync(aws, ScalingNames.ServiceHead(cluster, "agent")));
    }

    [Fact]
    public async Task Set_of_another_scope_replaces_the_binding_and_the_first_release_s_queues_and_says_which()
    {
        using AwsContext aws = _moto.Context();
        string cluster = _p;
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, cluster, "agent");
        ScalingPolicySpec old = Spec(cluster, "agent", queue: "old");
        await SetAsync(aws, old);
        await PutFirstReleaseAsync(aws, Spec(cluster, "agent", queue: "legacy"));
        var pool = new ScalingPolicySpec { Cluster = cluster, Service = "agent", Scope = BindingScope.From(new[] { "k8s" }, null), MinCapacity = 0, MaxCapacity = 4, Kind = ScalingPolicyKind.BacklogPerTask };

        var planner = new EcsScalingPlanner(aws);
        EcsScalingState before = await planner.ReadAsync(cluster, "agent", _log, default);
        Assert.Equal(new[] { "queue old (any pool)", ScalingNames.LegacyBaseName(cluster, "agent", null, "legacy") + " (the first release's name)" },
            EcsScalingPlanner.ReplacedScopes(pool, before));
        await ApplyAsync(planner.PlanSet(pool, before));

        // Backlog per task: tracking, its wake policy and the busy guard's scale-in.
        Assert.Equal(new[] { pool.BaseName, pool.BaseName + ":in", pool.BaseName + ":wake" }, await PolicyNamesAsync(aws, cluster, "agent"));
        Assert.Equal(new[] { pool.BaseName + ":in", pool.BaseName + ":wake" }, await AlarmNamesAsync(aws, ScalingNames.ServiceHead(cluster, "agent")));
        Assert.Empty(await AlarmNamesAsync(aws, ScalingNames.LegacyServicePrefix(cluster, "agent")));
        EcsScalingState after = await planner.ReadAsync(cluster, "agent", _log, default);
        Assert.Empty(planner.PlanSet(pool, after));
        Assert.Empty(EcsScalingPlanner.ReplacedScopes(pool, after));
        // What AWS holds gives the binding's scope back, and its metric math as sent.
        Assert.All(PrefectEcsScalingPolicy.From(after), row => Assert.Equal("pool k8s", row.Scope));
        JsonNode metrics = after.Policies.Single(p => (string)p["PolicyName"]! == pool.BaseName)["TargetTrackingScalingPolicyConfiguration"]!["CustomizedMetricSpecification"]!["Metrics"]!;
        Assert.Equal(ScalingPolicyDocuments.Policies(pool)[0].PutInput["TargetTrackingScalingPolicyConfiguration"]!["CustomizedMetricSpecification"]!["Metrics"]!.ToJsonString(), metrics.ToJsonString());
    }

    [Fact]
    public async Task An_alarm_with_the_module_s_name_but_not_its_tags_is_neither_overwritten_nor_removed()
    {
        using AwsContext aws = _moto.Context();
        string cluster = _p;
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, cluster, "agent");
        ScalingPolicySpec spec = Spec(cluster, "agent");
        // The module's policies, and an untagged alarm of the name the module would give it, triggering that very
        // policy: pointing at the module's policy is not enough without the tags.
        string arn = string.Empty;
        foreach (DesiredPolicy policy in ScalingPolicyDocuments.Policies(spec))
        {
            string put = (string)(await aws.InvokeAsync(AAS.PutScalingPolicy, policy.PutInput, _log, default))!["PolicyARN"]!;
            if (policy.Name.EndsWith(":out", StringComparison.Ordinal)) arn = put;
        }
        await aws.InvokeAsync(CW.PutMetricAlarm, Json.Obj("""
            {"AlarmName":"__NAME__","Namespace":"Mine","MetricName":"Other","Statistic":"Maximum","Period":60,"EvaluationPeriods":1,
             "Threshold":7,"ComparisonOperator":"GreaterThanThreshold","AlarmActions":["__ARN__"]}
            """.Replace("__NAME__", spec.BaseName + ":out").Replace("__ARN__", arn)), _log, default);

        var planner = new EcsScalingPlanner(aws);
        EcsScalingState state = await planner.ReadAsync(cluster, "agent", _log, default);
        Assert.Equal(2, state.Policies.Count);
        Assert.Equal(spec.BaseName + ":out", (string)state.OtherAlarms.Single()["AlarmName"]!);
        Assert.Equal("AlarmNameTaken", Assert.Throws<ResourceOwnershipException>(() => planner.PlanSet(spec, state)).ErrorId);
        await ApplyAsync(planner.PlanRemove(state, null, deregisterTarget: false));
        Assert.Empty(await PolicyNamesAsync(aws, cluster, "agent"));
        JsonNode mine = (await aws.InvokeAsync(CW.DescribeAlarms, new JsonObject { ["AlarmNames"] = new JsonArray(spec.BaseName + ":out") }, _log, default))!["MetricAlarms"]![0]!;
        Assert.Equal("Mine", (string)mine["Namespace"]!);
    }

    [Fact]
    public async Task A_run_removes_another_kind_written_meanwhile_and_settles()
    {
        using AwsContext aws = _moto.Context();
        string cluster = _p;
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, cluster, "agent");
        ScalingPolicySpec step = Spec(cluster, "agent");
        ScalingPolicySpec tracking = Spec(cluster, "agent", ScalingPolicyKind.TargetTracking);
        var run = new EcsScalingRun(new EcsScalingPlanner(aws), step) { SettleDelay = TimeSpan.Zero };

        List<AwsChange> planned = await run.NextAsync(_log, default);
        Assert.Equal(5, planned.Count);
        // Another Set writes target tracking on the same scope between this run's plan and its apply.
        await SetAsync(aws, tracking);
        await ApplyAsync(planned);
        Assert.Equal(3, (await PolicyNamesAsync(aws, cluster, "agent")).Count);

        List<AwsChange> second = await run.NextAsync(_log, default);
        Assert.Equal(new[] { "Delete scaling policy: " + step.BaseName }, second.Select(c => c.ToString()));
        Assert.Contains("something else", run.Interference(second));
        await ApplyAsync(second);
        Assert.Empty(await run.NextAsync(_log, default));
        Assert.Equal(new[] { step.BaseName + ":in", step.BaseName + ":out" }, await PolicyNamesAsync(aws, cluster, "agent"));
    }

    [Fact]
    public async Task A_run_that_keeps_being_changed_stops_after_its_rounds()
    {
        using AwsContext aws = _moto.Context();
        string cluster = _p;
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, cluster, "agent");
        ScalingPolicySpec step = Spec(cluster, "agent");
        var run = new EcsScalingRun(new EcsScalingPlanner(aws), step, maxRounds: 2) { SettleDelay = TimeSpan.Zero };
        for (int round = 0; round < 2; round++)
        {
            List<AwsChange> changes = await run.NextAsync(_log, default);
            await ApplyAsync(changes);
            await SetAsync(aws, Spec(cluster, "agent", ScalingPolicyKind.TargetTracking));
        }
        var stopped = await Assert.ThrowsAsync<ResourceOwnershipException>(() => run.NextAsync(_log, default));
        Assert.Equal("ScalingDidNotSettle", stopped.ErrorId);
        Assert.Contains("after 2 rounds", stopped.Message);
    }

    [Fact]
    public async Task Deregistering_a_target_with_a_user_s_policy_is_refused_and_changes_nothing()
    {
        using AwsContext aws = _moto.Context();
        string cluster = _p;
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, cluster, "agent");
        ScalingPolicySpec spec = Spec(cluster, "agent");
        await SetAsync(aws, spec);
        await aws.InvokeAsync(AAS.PutScalingPolicy, Json.Obj("""
            {"PolicyName":"cpu","ServiceNamespace":"ecs","ResourceId":"service/__C__/agent","ScalableDimension":"ecs:service:DesiredCount",
             "PolicyType":"TargetTrackingScaling","TargetTrackingScalingPolicyConfiguration":{"TargetValue":50,
             "PredefinedMetricSpecification":{"PredefinedMetricType":"ECSServiceAverageCPUUtilization"}}}
            """.Replace("__C__", cluster)), _log, default);
        var planner = new EcsScalingPlanner(aws);
        EcsScalingState state = await planner.ReadAsync(cluster, "agent", _log, default, withScheduledActions: true);
        Assert.Equal("cpu", (string)state.OtherPolicies.Single()["PolicyName"]!);
        Assert.Throws<ResourceOwnershipException>(() => planner.PlanRemove(state, null, deregisterTarget: true));
        Assert.Equal(3, (await PolicyNamesAsync(aws, cluster, "agent")).Count);
    }
}
