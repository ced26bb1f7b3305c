using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Metrics;
using PrefectScaling.Scaling;
using AAS = PrefectScaling.Aws.AwsOperations.ApplicationAutoScaling;
using CW = PrefectScaling.Aws.AwsOperations.CloudWatch;

namespace PrefectScaling.Aws.Tests;

/// <summary>Against moto: a binding's status from its published series, the service and the module's policies, with
/// the data each policy and alarm reads found from the policy and the alarm themselves (so the test holds whatever
/// series the policy documents name). moto never evaluates alarms (they stay OK) and leaves running tasks at 0.</summary>
[Collection(MotoCollection.Name)]
public sealed class ScalingStatusReaderTests
{
    private readonly MotoFixture _moto;
    private readonly RecordingLog _log = new();
    private readonly string _cluster = "s" + Guid.NewGuid().ToString("N")[..6];
    private readonly BacklogMetricOptions _metric = new();
    // The moment the status is for: data are placed relative to it, so a slow run reads the same periods.
    private readonly DateTime _now = DateTime.UtcNow;

    public ScalingStatusReaderTests(MotoFixture moto) { _moto = moto; }

    private static DateTime Minute(DateTime t) => new(t.Ticks - t.Ticks % TimeSpan.TicksPerMinute, DateTimeKind.Utc);

    private async Task SetAsync(AwsContext aws, ScalingPolicySpec spec)
    {
        var planner = new EcsScalingPlanner(aws);
        foreach (AwsChange change in planner.PlanSet(spec, await planner.ReadAsync(spec.Cluster, spec.Service, _log, default))) await change.Apply(_log, default);
    }

    // A queue of the test's own: the series a policy reads must hold only this test's data. The policies as they are
    // without the busy guard (-AllowBusyScaleIn): BusyGuardTests reads the guard's status.
    private ScalingPolicySpec Spec(ScalingPolicyKind kind, int max = 4, double target = 2) =>
        new() { Cluster = _cluster, Service = "agent", Scope = BindingScope.From(null, new[] { "etl-" + _cluster }), MinCapacity = 0, MaxCapacity = max, Kind = kind, TargetValue = target, AllowBusyScaleIn = true };

    private async Task PublishAsync(AwsContext aws, MetricSeries series, params (double Value, int SecondsAgo)[] data) =>
        await new MetricPublisher(aws).PublishAsync(data.Select(d => BindingSeries.Datum(series, d.Value, _now.AddSeconds(-d.SecondsAgo), 60)).ToList(), _log, default);

    /// <summary>The series an alarm of the module reads, as DescribeAlarms gives it.</summary>
    private async Task<MetricSeries> AlarmSeriesAsync(AwsContext aws, string suffix)
    {
        JsonArray alarms = (await aws.InvokeAsync(CW.DescribeAlarms, new JsonObject { ["AlarmNamePrefix"] = ScalingNames.ServiceHead(_cluster, "agent") }, _log, default))!["MetricAlarms"]!.AsArray();
        JsonNode alarm = alarms.Single(a => ((string)a!["AlarmName"]!).EndsWith(suffix, StringComparison.Ordinal))!;
        return new MetricSeries((string)alarm["Namespace"]!, (string)alarm["MetricName"]!,
            alarm["Dimensions"]!.AsArray().Select(d => new KeyValuePair<string, string>((string)d!["Name"]!, (string)d["Value"]!)).ToList());
    }

    /// <summary>The series a target-tracking policy of the module reads, as DescribeScalingPolicies gives it.</summary>
    private async Task<MetricSeries> TrackedSeriesAsync(AwsContext aws)
    {
        JsonNode policies = (await aws.InvokeAsync(AAS.DescribeScalingPolicies, new JsonObject { ["ServiceNamespace"] = "ecs", ["ResourceId"] = ScalingNames.ResourceId(_cluster, "agent") }, _log, default))!;
        JsonNode metric = policies["ScalingPolicies"]!.AsArray().Single(p => (string)p!["PolicyType"]! == "TargetTrackingScaling")!["TargetTrackingScalingPolicyConfiguration"]!["CustomizedMetricSpecification"]!;
        return new MetricSeries((string)metric["Namespace"]!, (string)metric["MetricName"]!,
            metric["Dimensions"]!.AsArray().Select(d => new KeyValuePair<string, string>((string)d!["Name"]!, (string)d["Value"]!)).ToList());
    }

    private Task<PrefectScalingStatus> ReadAsync(AwsContext aws) => new ScalingStatusReader(aws).ReadAsync(_cluster, "agent", _metric, _log, default, _now);

    [Fact]
    public async Task A_step_policy_with_backlog_above_its_steps_would_scale_out_by_the_step_that_applies()
    {
        using AwsContext aws = _moto.Context();
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        await SetAsync(aws, Spec(ScalingPolicyKind.StepScaling));
        await PublishAsync(aws, await AlarmSeriesAsync(aws, ":out"), (7, 30));
        await PublishAsync(aws, BindingSeries.Backlog(_metric, _cluster, "agent", BacklogMeasure.Late), (7, 30));
        await PublishAsync(aws, BindingSeries.Backlog(_metric, _cluster, "agent", BacklogMeasure.Pending), (2, 30));
        await PublishAsync(aws, BindingSeries.Backlog(_metric, _cluster, "agent", BacklogMeasure.Running), (3, 90), (1, 30));

        PrefectScalingStatus status = await ReadAsync(aws);
        Assert.Equal(("service/" + _cluster + "/agent", 7.0, (double?)null, 2.0, 1.0, 3.0), (status.ResourceId, status.LateRuns, status.DueRuns, status.PendingRuns, status.RunningRuns, status.InFlightRuns));
        Assert.Equal("Late 7, Pending 2, Running 1", status.Backlog);
        Assert.Equal((1, 0, 0, 4), (status.DesiredTasks, status.RunningTasks, status.MinCapacity, status.MaxCapacity));
        Assert.Equal("StepScaling", status.PolicyKind);
        Assert.Equal(("in OK, out OK", 2, 0), (status.AlarmStates, status.AlarmCount, status.AlarmsInAlarm));
        Assert.Equal(Minute(_now.AddSeconds(-30)), status.LastDatum);
        Assert.Equal(_now - status.LastDatum, status.LastDatumAge);
        // Steps 1 -> +1 and 5 -> +3: a backlog of 7 adds 3 to the 1 desired.
        Assert.Equal(("scale out to 4", (int?)4), (status.Decision, status.DecisionDesiredTasks));
        Assert.Equal("in: 0 of 5 period(s) breaching (latest 7), no action; out: 7 >= 1 -> +3 -> 4", status.PolicyDetail);
    }

    [Fact]
    public async Task A_step_policy_with_no_backlog_for_its_periods_would_scale_in_and_the_maximum_caps_a_scale_out()
    {
        using AwsContext aws = _moto.Context();
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        await SetAsync(aws, Spec(ScalingPolicyKind.StepScaling, max: 2));
        MetricSeries read = await AlarmSeriesAsync(aws, ":in");
        await PublishAsync(aws, read, (0, 30), (0, 90), (0, 150), (0, 210));
        PrefectScalingStatus four = await ReadAsync(aws);
        Assert.Equal("hold at 1", four.Decision);
        Assert.Contains("in: 4 of 5 period(s) breaching (latest 0), no action", four.PolicyDetail);

        await PublishAsync(aws, read, (0, 270));
        PrefectScalingStatus five = await ReadAsync(aws);
        Assert.Equal(("scale in to 0", (int?)0), (five.Decision, five.DecisionDesiredTasks));
        Assert.StartsWith("in: 0 <= 0 -> -1 -> 0", five.PolicyDetail, StringComparison.Ordinal);

        await PublishAsync(aws, read, (9, 10));
        PrefectScalingStatus capped = await ReadAsync(aws);
        Assert.Equal("scale out to 2", capped.Decision);
        Assert.EndsWith("out: 9 >= 1 -> +3 -> 2", capped.PolicyDetail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Target_tracking_would_set_the_count_its_target_implies_and_shows_the_alarms_AWS_made()
    {
        using AwsContext aws = _moto.Context();
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        await SetAsync(aws, Spec(ScalingPolicyKind.TargetTracking, max: 4, target: 2));
        await PublishAsync(aws, await TrackedSeriesAsync(aws), (6, 30));

        PrefectScalingStatus status = await ReadAsync(aws);
        Assert.Equal("TargetTracking", status.PolicyKind);
        Assert.Equal(("high OK, low OK", 2), (status.AlarmStates, status.AlarmCount));
        // ceil(1 task x 6 / 2) = 3.
        Assert.Equal(("scale out to 3", (int?)3), (status.Decision, status.DecisionDesiredTasks));
        Assert.Equal("tracking: 6 against target 2 at 1 task(s) -> 3", status.PolicyDetail);
    }

    [Fact]
    public async Task Without_data_it_says_no_data_rather_than_a_number()
    {
        using AwsContext aws = _moto.Context();
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        await SetAsync(aws, Spec(ScalingPolicyKind.StepScaling));

        PrefectScalingStatus status = await ReadAsync(aws);
        Assert.Equal("no data", status.Backlog);
        Assert.Null(status.LateRuns);
        Assert.Null(status.InFlightRuns);
        Assert.Null(status.LastDatum);
        Assert.Null(status.LastDatumAge);
        Assert.Equal(("no data", (int?)null), (status.Decision, status.DecisionDesiredTasks));
        Assert.Equal("in: no data; out: no data", status.PolicyDetail);
    }

    [Fact]
    public async Task Old_data_are_shown_with_their_age_but_give_target_tracking_nothing_to_act_on()
    {
        using AwsContext aws = _moto.Context();
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        await SetAsync(aws, Spec(ScalingPolicyKind.TargetTracking));
        await PublishAsync(aws, await TrackedSeriesAsync(aws), (6, 3 * 3600));
        await PublishAsync(aws, BindingSeries.Backlog(_metric, _cluster, "agent", BacklogMeasure.Late), (6, 3 * 3600));

        PrefectScalingStatus status = await ReadAsync(aws);
        Assert.Equal(6.0, status.LateRuns);
        Assert.Equal(Minute(_now.AddHours(-3)), status.LastDatum);
        // Pending and Running are not published: in-flight runs are unknown, not 0.
        Assert.Null(status.InFlightRuns);
        Assert.Equal("no data", status.Decision);
        Assert.Equal("tracking: no data (the last datum is 3 h old)", status.PolicyDetail);
    }

    [Fact]
    public async Task A_service_without_a_policy_says_so()
    {
        using AwsContext aws = _moto.Context();
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        PrefectScalingStatus status = await ReadAsync(aws);
        Assert.Equal(("no policy", (string?)null, "", 0), (status.Decision, status.PolicyKind, status.AlarmStates, status.AlarmCount));
        Assert.Equal("The service is not a scalable target.", status.PolicyDetail);
    }

    [Fact]
    public async Task A_service_that_does_not_exist_is_a_clear_error()
    {
        using AwsContext aws = _moto.Context();
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        var missing = await Assert.ThrowsAsync<AwsApiException>(() => new ScalingStatusReader(aws).ReadAsync(_cluster, "nobody", _metric, _log, default));
        Assert.Equal(AwsErrorKind.NotFound, missing.Kind);
        Assert.Contains("ECS service 'nobody' was not found (or is not active) in cluster '" + _cluster + "'", missing.Message);
        var noCluster = await Assert.ThrowsAsync<AwsApiException>(() => new ScalingStatusReader(aws).ReadAsync(_cluster + "-none", "agent", _metric, _log, default));
        Assert.Equal(AwsErrorKind.NotFound, noCluster.Kind);
    }

    [Fact]
    public async Task All_the_data_come_from_one_GetMetricData()
    {
        using AwsContext aws = _moto.Context();
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        await SetAsync(aws, Spec(ScalingPolicyKind.StepScaling));
        _log.Lines.Clear();
        await ReadAsync(aws);
        Assert.Single(_log.Lines, l => l.StartsWith("VERBOSE CloudWatch GetMetricData", StringComparison.Ordinal));
    }
}

/// <summary>Against moto: a capacity policy's status shows its last requirement and why, from the series its publisher
/// writes, and says which part has no datum instead of taking it as 0.</summary>
[Collection(MotoCollection.Name)]
public sealed class CapacityStatusTests
{
    private readonly MotoFixture _moto;
    private readonly RecordingLog _log = new();
    private readonly string _cluster = "c" + Guid.NewGuid().ToString("N")[..6];
    private readonly BacklogMetricOptions _metric = new();
    private readonly DateTime _now = DateTime.UtcNow;

    public CapacityStatusTests(MotoFixture moto) { _moto = moto; }

    private async Task PublishAsync(AwsContext aws, MetricSeries series, double value, int secondsAgo = 30) =>
        await new MetricPublisher(aws).PublishAsync(new List<BacklogMetricDatum> { BindingSeries.Datum(series, value, _now.AddSeconds(-secondsAgo), 60) }, _log, default);

    private async Task<PrefectScalingStatus> SetAndReadAsync(AwsContext aws, Func<AwsContext, Task> publish)
    {
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        var spec = new ScalingPolicySpec
        {
            Cluster = _cluster, Service = "agent", Scope = BindingScope.From(null, new[] { "etl-" + _cluster }), MinCapacity = 0, MaxCapacity = 10,
            Kind = ScalingPolicyKind.Capacity, RunsPerTask = 2, ScaleInAfterPeriods = 1,
        };
        spec.Validate();
        var planner = new EcsScalingPlanner(aws);
        foreach (AwsChange change in planner.PlanSet(spec, await planner.ReadAsync(_cluster, "agent", _log, default))) await change.Apply(_log, default);
        await publish(aws);
        return await new ScalingStatusReader(aws).ReadAsync(_cluster, "agent", _metric, _log, default, _now);
    }

    [Fact]
    public async Task The_status_shows_the_last_requirement_and_its_parts()
    {
        using AwsContext aws = _moto.Context();
        PrefectScalingStatus status = await SetAndReadAsync(aws, async a =>
        {
            await PublishAsync(a, BindingSeries.RequiredTasks(_metric, _cluster, "agent"), 3);
            await PublishAsync(a, BindingSeries.Backlog(_metric, _cluster, "agent", BacklogMeasure.Due), 3);
            await PublishAsync(a, BindingSeries.Backlog(_metric, _cluster, "agent", BacklogMeasure.Upcoming), 2);
            await PublishAsync(a, BindingSeries.Backlog(_metric, _cluster, "agent", BacklogMeasure.InFlight), 1);
        });
        Assert.Equal("Capacity", status.PolicyKind);
        Assert.Equal(3, status.RequiredTasks);
        Assert.Equal("ceil((Due 3 + Upcoming 2 + InFlight 1) / 2) = 3; min 0, max 10: 3", status.Requirement);
    }

    [Fact]
    public async Task Limits_that_held_the_requirement_lower_are_said_so()
    {
        using AwsContext aws = _moto.Context();
        PrefectScalingStatus capped = await SetAndReadAsync(aws, async a =>
        {
            await PublishAsync(a, BindingSeries.RequiredTasks(_metric, _cluster, "agent"), 1);
            await PublishAsync(a, BindingSeries.Backlog(_metric, _cluster, "agent", BacklogMeasure.Due), 8);
            await PublishAsync(a, BindingSeries.Backlog(_metric, _cluster, "agent", BacklogMeasure.Upcoming), 0);
            await PublishAsync(a, BindingSeries.Backlog(_metric, _cluster, "agent", BacklogMeasure.InFlight), 0);
        });
        Assert.EndsWith("; concurrency limits hold it at 1", capped.Requirement);
    }

    [Fact]
    public async Task A_part_without_data_is_named_never_taken_as_zero()
    {
        using AwsContext aws = _moto.Context();
        PrefectScalingStatus status = await SetAndReadAsync(aws, a => PublishAsync(a, BindingSeries.RequiredTasks(_metric, _cluster, "agent"), 2));
        Assert.Equal(2, status.RequiredTasks);
        Assert.Equal("2 (no datum of Due, Upcoming, InFlight)", status.Requirement);
    }
}
