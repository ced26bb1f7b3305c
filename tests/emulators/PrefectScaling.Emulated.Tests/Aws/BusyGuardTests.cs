using System.Linq;
using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Metrics;
using PrefectScaling.Scaling;
using PrefectScaling.Simulation;
using AAS = PrefectScaling.Aws.AwsOperations.ApplicationAutoScaling;
using CW = PrefectScaling.Aws.AwsOperations.CloudWatch;

namespace PrefectScaling.Aws.Tests;

/// <summary>Against moto: Set writes the busy guard for every kind, reads it back, converges (from the policies of before
/// the guard too), and the guard alarm's metric math as moto holds it, evaluated over the series as the publisher
/// writes them, blocks scale-in while runs are in flight and allows it once they end. moto stores alarms but never
/// evaluates them, so the expression read back from moto is evaluated here, over data read back with GetMetricData.</summary>
[Collection(MotoCollection.Name)]
public sealed class BusyGuardTests
{
    private readonly MotoFixture _moto;
    private readonly RecordingLog _log = new();
    private readonly string _cluster = "g" + Guid.NewGuid().ToString("N")[..6];
    private readonly BacklogMetricOptions _metric = new();
    private readonly DateTime _now = DateTime.UtcNow;

    public BusyGuardTests(MotoFixture moto) { _moto = moto; }

    /// <summary>The reactive kinds; the capacity policy's publisher keeps the guard itself (CapacityPublisherTests).</summary>
    public static TheoryData<ScalingPolicyKind> Kinds() => new(Enum.GetValues<ScalingPolicyKind>().Where(k => k != ScalingPolicyKind.Capacity));

    private ScalingPolicySpec Spec(ScalingPolicyKind kind, int? runsPerTask = null, bool allowBusy = false) => new()
    {
        Cluster = _cluster, Service = "agent", Scope = BindingScope.From(null, new[] { "etl-" + _cluster }), MinCapacity = 0, MaxCapacity = 6, Kind = kind,
        RunsPerTask = runsPerTask, AllowBusyScaleIn = allowBusy,
    };

    private async Task<int> SetAsync(AwsContext aws, ScalingPolicySpec spec)
    {
        spec.Validate();
        var planner = new EcsScalingPlanner(aws);
        List<AwsChange> changes = planner.PlanSet(spec, await planner.ReadAsync(spec.Cluster, spec.Service, _log, default));
        foreach (AwsChange change in changes) await change.Apply(_log, default);
        return changes.Count;
    }

    private Task<EcsScalingState> ReadAsync(AwsContext aws) => new EcsScalingPlanner(aws).ReadAsync(_cluster, "agent", _log, default);

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task Set_writes_the_guard_for_every_kind_get_reads_it_back_and_set_again_changes_nothing(ScalingPolicyKind kind)
    {
        using AwsContext aws = _moto.Context();
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        ScalingPolicySpec spec = Spec(kind, runsPerTask: 3);
        Assert.True(await SetAsync(aws, spec) > 0);

        EcsScalingState state = await ReadAsync(aws);
        JsonObject guard = Assert.Single(state.Alarms, ScalingPolicyDocuments.IsGuardAlarm);
        Assert.EndsWith(":in", (string)guard["AlarmName"]!, StringComparison.Ordinal);
        DesiredPolicy wanted = ScalingPolicyDocuments.Policies(spec).Single(p => p.Name.EndsWith(":in", StringComparison.Ordinal));
        Assert.True(JsonSubset.Contains(guard, wanted.Alarm), "moto holds the guard alarm as written");
        Assert.Equal(3, ScalingPolicyDocuments.GuardRunsPerTask(guard));
        foreach (JsonObject tracking in state.Policies.Where(p => (string?)p["PolicyType"] == "TargetTrackingScaling"))
            Assert.Equal("true", tracking["TargetTrackingScalingPolicyConfiguration"]!["DisableScaleIn"]!.ToString().ToLowerInvariant());

        List<PrefectEcsScalingPolicy> rows = PrefectEcsScalingPolicy.From(state);
        Assert.All(rows, r => Assert.Equal("on, 3 runs per task", r.BusyGuard));
        Assert.All(rows, r => Assert.Equal(kind.ToString(), r.Kind));
        // The simulator reads the live policy as Set wrote it.
        SimulatedPolicy simulated = SimulatedPolicy.FromState(state);
        Assert.True(simulated.Guarded);
        Assert.Equal(kind.ToString(), simulated.Kind);

        Assert.Equal(0, await SetAsync(aws, spec));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_policies_of_before_the_guard_converge_to_the_guarded_ones_and_back(ScalingPolicyKind kind)
    {
        using AwsContext aws = _moto.Context();
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        // What the release before the guard wrote: -AllowBusyScaleIn writes exactly that.
        await SetAsync(aws, Spec(kind, allowBusy: true));
        Assert.DoesNotContain((await ReadAsync(aws)).Alarms, ScalingPolicyDocuments.IsGuardAlarm);
        Assert.All(PrefectEcsScalingPolicy.From(await ReadAsync(aws)), r => Assert.Equal("off", r.BusyGuard));

        Assert.True(await SetAsync(aws, Spec(kind)) > 0);
        EcsScalingState guarded = await ReadAsync(aws);
        Assert.Single(guarded.Alarms, ScalingPolicyDocuments.IsGuardAlarm);
        Assert.Equal(0, await SetAsync(aws, Spec(kind)));

        Assert.True(await SetAsync(aws, Spec(kind, allowBusy: true)) > 0);
        Assert.DoesNotContain((await ReadAsync(aws)).Alarms, ScalingPolicyDocuments.IsGuardAlarm);
        Assert.Equal(0, await SetAsync(aws, Spec(kind, allowBusy: true)));
    }

    /// <summary>Publishes one reading of the binding as the publisher builds it, <paramref name="secondsAgo"/> before now.</summary>
    private async Task PublishAsync(AwsContext aws, ScalingPolicySpec spec, int late, int inFlight, int? unprotected, int desired, int secondsAgo)
    {
        DateTime at = _now.AddSeconds(-secondsAgo);
        var totals = new[] { (BacklogMeasure.Late, late), (BacklogMeasure.InFlight, inFlight) }
            .Select(t => new PrefectBacklogTotal { Measure = t.Item1, Count = t.Item2, Timestamp = at });
        List<BacklogMetricDatum> data = BindingData.Build(spec.Binding, totals, desired, _metric, at, unprotected);
        foreach (BacklogMetricDatum datum in data) datum.Timestamp = at;
        await new MetricPublisher(aws).PublishAsync(data, _log, default);
    }

    /// <summary>The guard alarm as moto holds it, its expression evaluated on the latest period of each of its
    /// MetricStat inputs as GetMetricData returns them.</summary>
    private async Task<(double? Surplus, string Text)> EvaluateGuardAsync(AwsContext aws)
    {
        EcsScalingState state = await ReadAsync(aws);
        JsonObject alarm = state.Alarms.Single(ScalingPolicyDocuments.IsGuardAlarm);
        var values = new Dictionary<string, double?>(StringComparer.Ordinal);
        string? expression = null;
        foreach (JsonObject query in alarm["Metrics"]!.AsArray().OfType<JsonObject>())
        {
            if (query["MetricStat"] is not JsonObject stat)
            {
                expression = (string)query["Expression"]!;
                continue;
            }
            var one = new JsonObject { ["Id"] = "m", ["MetricStat"] = stat.DeepClone(), ["ReturnData"] = true };
            JsonNode answer = (await aws.InvokeAsync(CW.GetMetricData, new JsonObject
            {
                ["MetricDataQueries"] = new JsonArray(one),
                ["StartTime"] = _now.AddMinutes(-10).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"),
                ["EndTime"] = _now.AddMinutes(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'"),
                ["ScanBy"] = "TimestampDescending",
            }, _log, default))!;
            JsonArray? found = answer["MetricDataResults"]?.AsArray().OfType<JsonObject>().FirstOrDefault()?["Values"] as JsonArray;
            values[(string)query["Id"]!] = found == null || found.Count == 0 ? null : double.Parse(found[0]!.ToString(), System.Globalization.CultureInfo.InvariantCulture);
        }
        string text = (await new ScalingStatusReader(aws).ReadGuardAsync(state, _log, default, _now))!;
        return (MetricMath.Evaluate(expression!, values), text);
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public async Task The_guard_blocks_scale_in_while_runs_are_in_flight_and_allows_it_once_they_end(ScalingPolicyKind kind)
    {
        using AwsContext aws = _moto.Context();
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        ScalingPolicySpec spec = Spec(kind);
        await SetAsync(aws, spec);

        // No backlog, two runs in flight on three tasks: a policy without the guard would scale in.
        await PublishAsync(aws, spec, late: 0, inFlight: 2, unprotected: null, desired: 3, secondsAgo: 90);
        (double? busy, string busyText) = await EvaluateGuardAsync(aws);
        Assert.Equal(0, busy);
        Assert.Equal("blocks: 2 run(s) in flight, 2 unprotected", busyText);

        // The runs have ended: every task can go.
        await PublishAsync(aws, spec, late: 0, inFlight: 0, unprotected: null, desired: 3, secondsAgo: 20);
        (double? idle, string idleText) = await EvaluateGuardAsync(aws);
        Assert.Equal(3, idle);
        Assert.Equal("allows: nothing in flight, 3 task(s) can go", idleText);
    }

    [Fact]
    public async Task With_runs_per_task_protected_runs_let_the_surplus_go_and_one_unprotected_run_blocks()
    {
        using AwsContext aws = _moto.Context();
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.BacklogPerTask, runsPerTask: 2);
        await SetAsync(aws, spec);

        await PublishAsync(aws, spec, late: 0, inFlight: 3, unprotected: 1, desired: 5, secondsAgo: 90);
        Assert.Equal(0, (await EvaluateGuardAsync(aws)).Surplus);
        // All three protected: ceil(3 / 2) = 2 tasks needed of 5.
        await PublishAsync(aws, spec, late: 0, inFlight: 3, unprotected: 0, desired: 5, secondsAgo: 20);
        (double? surplus, string text) = await EvaluateGuardAsync(aws);
        Assert.Equal(3, surplus);
        Assert.StartsWith("allows: 3 task(s) beyond the work", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_in_flight_datum_blocks_scale_in()
    {
        using AwsContext aws = _moto.Context();
        await RoundTripTests.CreateEcsServiceAsync(aws, _log, _cluster, "agent");
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.StepScaling);
        await SetAsync(aws, spec);
        // A publisher that published the backlog and the tasks but no InFlight (as Publish without an InFlight count).
        await new MetricPublisher(aws).PublishAsync(BindingData.Build(spec.Binding,
            new[] { new PrefectBacklogTotal { Measure = BacklogMeasure.Late, Count = 0, Timestamp = _now.AddSeconds(-20) } }, 2, _metric, _now.AddSeconds(-20)), _log, default);
        (double? surplus, string text) = await EvaluateGuardAsync(aws);
        Assert.Null(surplus);
        Assert.Equal("blocks: no InFlight datum", text);
    }
}
