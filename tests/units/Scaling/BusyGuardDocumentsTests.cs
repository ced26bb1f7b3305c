using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using PrefectScaling.Bindings;

namespace PrefectScaling.Scaling.Tests;

/// <summary>The busy guard's documents: each kind's scale-in behind the guard, its alarm's metric math, -RunsPerTask and
/// the opt-out.</summary>
public sealed class BusyGuardDocumentsTests
{
    private static ScalingPolicySpec Spec(ScalingPolicyKind kind, int? runsPerTask = null, int min = 0) => new()
    {
        Cluster = "prod", Service = "agent", Scope = BindingScope.From(new[] { "pool" }, new[] { "etl" }), MinCapacity = min, MaxCapacity = 8, Kind = kind, RunsPerTask = runsPerTask,
    };

    private static void Same(string expected, JsonNode? actual) => Assert.Equal(JsonNode.Parse(expected)!.ToJsonString(), actual?.ToJsonString());

    /// <summary>The reactive kinds; the capacity policy scales in through its own policy (CapacityPolicy).</summary>
    public static TheoryData<ScalingPolicyKind> Kinds() => new(System.Enum.GetValues<ScalingPolicyKind>().Where(k => k != ScalingPolicyKind.Capacity));

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_kind_scales_in_only_through_the_guarded_in_policy(ScalingPolicyKind kind)
    {
        ScalingPolicySpec spec = Spec(kind);
        spec.Validate();
        var policies = ScalingPolicyDocuments.Policies(spec);
        DesiredPolicy scaleIn = Assert.Single(policies, p => p.Name == spec.BaseName + ":in");
        Assert.True(ScalingPolicyDocuments.IsGuardAlarm(scaleIn.Alarm));
        Assert.Equal("StepScaling", scaleIn.PolicyType);
        // Target tracking's own scale-in is off: it would stop busy tasks.
        foreach (DesiredPolicy tracking in policies.Where(p => p.PolicyType == "TargetTrackingScaling"))
            Assert.True((bool)tracking.PutInput["TargetTrackingScalingPolicyConfiguration"]!["DisableScaleIn"]!);
        // Nothing else scales in.
        foreach (DesiredPolicy other in policies.Where(p => p.PolicyType == "StepScaling" && p != scaleIn))
            Assert.All(other.PutInput["StepScalingPolicyConfiguration"]!["StepAdjustments"]!.AsArray(), s => Assert.True((int)s!["ScalingAdjustment"]! > 0));
    }

    [Fact]
    public void The_guard_alarm_reads_the_binding_s_backlog_in_flight_unprotected_and_tasks_and_never_breaches_on_missing_data()
    {
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.StepScaling);
        spec.ScaleInAfterPeriods = 4;
        JsonObject alarm = ScalingPolicyDocuments.Policies(spec)[1].Alarm!;
        string Dim = """[{"Name":"ClusterName","Value":"prod"},{"Name":"ServiceName","Value":"agent"}]""";
        Same("""
            [{"Id":"backlog","MetricStat":{"Metric":{"Namespace":"Prefect","MetricName":"LateFlowRuns","Dimensions":DIM},"Period":60,"Stat":"Maximum"},"ReturnData":false},
             {"Id":"inflight","MetricStat":{"Metric":{"Namespace":"Prefect","MetricName":"InFlightFlowRuns","Dimensions":DIM},"Period":60,"Stat":"Maximum"},"ReturnData":false},
             {"Id":"unprotected","MetricStat":{"Metric":{"Namespace":"Prefect","MetricName":"UnprotectedInFlightFlowRuns","Dimensions":DIM},"Period":60,"Stat":"Maximum"},"ReturnData":false},
             {"Id":"tasks","MetricStat":{"Metric":{"Namespace":"Prefect","MetricName":"EcsServiceDesiredTasks","Dimensions":DIM},"Period":60,"Stat":"Minimum"},"ReturnData":false},
             {"Id":"surplus","Expression":"IF((unprotected == 0) AND (backlog + inflight == 0), tasks - 0, 0)","Label":"Tasks the work does not need (busy guard)","ReturnData":true}]
            """.Replace("DIM", Dim, System.StringComparison.Ordinal), alarm["Metrics"]);
        Assert.Equal("GreaterThanOrEqualToThreshold", (string?)alarm["ComparisonOperator"]);
        Assert.Equal(1, (int)alarm["Threshold"]!);
        Assert.Equal(4, (int)alarm["EvaluationPeriods"]!);
        Assert.Equal(4, (int)alarm["DatapointsToAlarm"]!);
        Assert.Equal("notBreaching", (string?)alarm["TreatMissingData"]);
        Assert.Null(alarm["MetricName"]);
        Assert.Null(ScalingPolicyDocuments.GuardRunsPerTask(alarm));
    }

    [Fact]
    public void Step_scaling_removes_one_task_at_a_time_and_to_minimum_grades_the_steps_on_the_surplus()
    {
        ScalingPolicySpec one = Spec(ScalingPolicyKind.StepScaling);
        Same("""{"AdjustmentType":"ChangeInCapacity","StepAdjustments":[{"MetricIntervalLowerBound":0,"ScalingAdjustment":-1}],"Cooldown":300,"MetricAggregationType":"Maximum"}""",
            ScalingPolicyDocuments.Policies(one)[1].PutInput["StepScalingPolicyConfiguration"]);

        ScalingPolicySpec all = Spec(ScalingPolicyKind.StepScaling);
        all.ScaleInToMinimum = true;
        JsonArray steps = ScalingPolicyDocuments.Policies(all)[1].PutInput["StepScalingPolicyConfiguration"]!["StepAdjustments"]!.AsArray();
        Assert.Equal(ScalingPolicySpec.MaxSteps, steps.Count);
        // Surplus s (threshold 1): [s - 1, s) removes s tasks; the last step is open.
        Same("""{"MetricIntervalLowerBound":0,"MetricIntervalUpperBound":1,"ScalingAdjustment":-1}""", steps[0]);
        Same("""{"MetricIntervalLowerBound":2,"MetricIntervalUpperBound":3,"ScalingAdjustment":-3}""", steps[2]);
        Same("""{"MetricIntervalLowerBound":19,"ScalingAdjustment":-20}""", steps[19]);
    }

    [Fact]
    public void Runs_per_task_keeps_ceil_of_the_work_over_the_limit_and_never_below_min()
    {
        JsonObject alarm = ScalingPolicyDocuments.Policies(Spec(ScalingPolicyKind.TargetTracking, runsPerTask: 4, min: 1))[1].Alarm!;
        string expression = (string)alarm["Metrics"]!.AsArray().Single(q => q!["Expression"] != null)!["Expression"]!;
        Assert.Equal("IF(unprotected == 0, tasks - IF(CEIL((backlog + inflight) / 4) > 1, CEIL((backlog + inflight) / 4), 1), 0)", expression);
        Assert.Equal(4, ScalingPolicyDocuments.GuardRunsPerTask(alarm));
        Assert.Equal("IF(unprotected == 0, tasks - CEIL((backlog + inflight) / 4), 0)", ScalingPolicyDocuments.GuardExpression(4, 0));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Allow_busy_scale_in_writes_the_policies_of_before_the_guard(ScalingPolicyKind kind)
    {
        ScalingPolicySpec spec = Spec(kind);
        spec.AllowBusyScaleIn = true;
        var policies = ScalingPolicyDocuments.Policies(spec);
        Assert.DoesNotContain(policies, p => ScalingPolicyDocuments.IsGuardAlarm(p.Alarm));
        Assert.Equal(kind == ScalingPolicyKind.StepScaling, policies.Any(p => p.Name.EndsWith(":in", System.StringComparison.Ordinal)));
        foreach (DesiredPolicy tracking in policies.Where(p => p.PolicyType == "TargetTrackingScaling"))
            Assert.False((bool)tracking.PutInput["TargetTrackingScalingPolicyConfiguration"]!["DisableScaleIn"]!);
    }

    [Fact]
    public void Disabled_scale_in_needs_no_guarded_policy()
    {
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.TargetTracking);
        spec.DisableScaleIn = true;
        Assert.Single(ScalingPolicyDocuments.Policies(spec));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1001)]
    public void Runs_per_task_outside_1_to_1000_is_refused(int limit)
    {
        var e = Assert.Throws<System.ArgumentException>(() => Spec(ScalingPolicyKind.StepScaling, runsPerTask: limit).Validate());
        Assert.Contains("-RunsPerTask", e.Message);
    }

    [Fact]
    public void Runs_per_task_with_the_opt_out_is_refused()
    {
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.StepScaling, runsPerTask: 2);
        spec.AllowBusyScaleIn = true;
        Assert.Contains("-AllowBusyScaleIn", Assert.Throws<System.ArgumentException>(spec.Validate).Message);
    }
}

/// <summary>What Get-PrefectScalingStatus and Get-PrefectEcsScalingPolicy say of the guard, from its documents as Set writes them.</summary>
public sealed class BusyGuardStatusTests
{
    private static readonly DateTime Now = new(2026, 3, 1, 12, 0, 30, DateTimeKind.Utc);

    private static EcsScalingState State(int? runsPerTask, bool allowBusy = false, int min = 0)
    {
        var spec = new ScalingPolicySpec
        {
            Cluster = "prod", Service = "agent", Scope = BindingScope.From(new[] { "pool" }, null), MinCapacity = min, MaxCapacity = 8,
            Kind = ScalingPolicyKind.TargetTracking, RunsPerTask = runsPerTask, AllowBusyScaleIn = allowBusy,
        };
        List<DesiredPolicy> policies = ScalingPolicyDocuments.Policies(spec);
        var json = new JsonObject
        {
            ["Cluster"] = "prod", ["Service"] = "agent", ["Target"] = ScalingPolicyDocuments.ScalableTarget(spec),
            ["Policies"] = new JsonArray(policies.Select(p => (JsonNode)p.PutInput.DeepClone()).ToArray()),
            ["Alarms"] = new JsonArray(policies.Where(p => p.Alarm != null).Select(p => (JsonNode)p.Alarm!.DeepClone()).ToArray()),
        };
        // As parsed from an answer (numbers as JSON numbers, not CLR ints).
        return EcsScalingState.FromJson(JsonNode.Parse(json.ToJsonString())!.AsObject());
    }

    private static Dictionary<string, List<ScalingStatusReader.Datum>> Inputs(double? backlog, double? inflight, double? unprotected, double? tasks, int ageSeconds = 30)
    {
        var data = new Dictionary<string, List<ScalingStatusReader.Datum>>();
        void Put(string id, double? v) { if (v != null) data["guard:" + id] = new List<ScalingStatusReader.Datum> { new(Now.AddSeconds(-ageSeconds), v.Value) }; }
        Put("backlog", backlog); Put("inflight", inflight); Put("unprotected", unprotected); Put("tasks", tasks);
        return data;
    }

    [Fact]
    public void The_guard_says_what_blocks_scale_in_now()
    {
        EcsScalingState plain = State(null);
        Assert.Equal("blocks: 3 run(s) in flight, 1 unprotected", ScalingStatusReader.GuardText(plain, Inputs(0, 3, 1, 4), Now));
        Assert.Equal("blocks: 0 run(s) in flight, backlog 2", ScalingStatusReader.GuardText(plain, Inputs(2, 0, 0, 4), Now));
        Assert.Equal("allows: nothing in flight, 4 task(s) can go", ScalingStatusReader.GuardText(plain, Inputs(0, 0, 0, 4), Now));
        Assert.Equal("blocks: no InFlight datum", ScalingStatusReader.GuardText(plain, Inputs(0, null, 0, 4), Now));
        var stale = Inputs(0, 0, 0, 4);
        stale["guard:inflight"] = Inputs(0, 0, 0, 4, ageSeconds: 300)["guard:inflight"];
        Assert.Equal("blocks: no InFlight datum for 5 min", ScalingStatusReader.GuardText(plain, stale, Now));

        EcsScalingState perTask = State(2, min: 1);
        Assert.Equal("allows: 2 task(s) beyond the work (3 run(s) in flight, all protected)", ScalingStatusReader.GuardText(perTask, Inputs(0, 3, 0, 4), Now));
        Assert.Equal("blocks: 3 run(s) in flight and backlog 4 need 4 task(s) at 2 per task", ScalingStatusReader.GuardText(perTask, Inputs(4, 3, 0, 4), Now));

        Assert.StartsWith("off:", ScalingStatusReader.GuardText(State(null, allowBusy: true), Inputs(0, 3, 3, 4), Now), StringComparison.Ordinal);
    }

    [Fact]
    public void Get_rows_name_the_binding_s_kind_and_the_guard()
    {
        List<PrefectEcsScalingPolicy> rows = PrefectEcsScalingPolicy.From(State(4), "blocks: 1 run(s) in flight, 1 unprotected");
        Assert.All(rows, r => Assert.Equal("TargetTracking", r.Kind));
        Assert.All(rows, r => Assert.Equal("on, 4 runs per task", r.BusyGuard));
        Assert.Equal("blocks: 1 run(s) in flight, 1 unprotected", Assert.Single(rows, r => r.ScaleInGuard != null).ScaleInGuard);
        Assert.All(PrefectEcsScalingPolicy.From(State(null, allowBusy: true)), r => Assert.Equal("off", r.BusyGuard));
    }

    [Fact]
    public void The_status_shows_in_flight_unprotected_and_the_guard_and_holds_while_it_blocks()
    {
        EcsScalingState state = State(null);
        var data = Inputs(0, 2, 2, 3);
        data["InFlight"] = new List<ScalingStatusReader.Datum> { new(Now.AddSeconds(-30), 2) };
        data["UnprotectedInFlight"] = new List<ScalingStatusReader.Datum> { new(Now.AddSeconds(-30), 2) };
        string inName = state.Policies.Select(p => (string)p["PolicyName"]!).Single(n => n.EndsWith(":in", StringComparison.Ordinal));
        data[inName] = new List<ScalingStatusReader.Datum> { new(Now.AddSeconds(-30), 0) };
        PrefectScalingStatus status = ScalingStatusReader.Build("prod", "agent", Now, JsonNode.Parse("""{"desiredCount":3,"runningCount":3,"pendingCount":0}""")!.AsObject(),
            state, Array.Empty<JsonObject>(), data);
        Assert.Equal((2.0, 2.0), (status.InFlightRuns, status.UnprotectedInFlightRuns));
        Assert.Equal("blocks: 2 run(s) in flight, 2 unprotected", status.ScaleInGuard);
        Assert.Equal("hold at 3", status.Decision);
        Assert.Equal("TargetTracking", status.PolicyKind);
    }
}
