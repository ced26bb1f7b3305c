using System.Text.Json.Nodes;
using PrefectScaling.Bindings;

namespace PrefectScaling.Scaling.Tests;

/// <summary>The request documents a spec becomes: the scalable target, each kind's policies and the alarms the module owns.</summary>
public sealed class ScalingPolicyDocumentsTests
{
    private static ScalingPolicySpec Spec(ScalingPolicyKind kind) => new()
    {
        Cluster = "prod", Service = "agent", Scope = BindingScope.From(new[] { "pool" }, new[] { "etl" }), MinCapacity = 0, MaxCapacity = 8, Kind = kind,
    };

    private static void Same(string expected, JsonNode? actual) => Assert.Equal(JsonNode.Parse(expected)!.ToJsonString(), actual?.ToJsonString());

    [Fact]
    public void The_scalable_target_is_the_service_s_desired_count_within_min_and_max() =>
        Same("""{"ServiceNamespace":"ecs","ResourceId":"service/prod/agent","ScalableDimension":"ecs:service:DesiredCount","MinCapacity":0,"MaxCapacity":8}""",
            ScalingPolicyDocuments.ScalableTarget(Spec(ScalingPolicyKind.StepScaling)));

    [Fact]
    public void Target_tracking_holds_the_binding_s_backlog_at_the_target_and_owns_no_alarm()
    {
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.TargetTracking);
        spec.TargetValue = 3;
        spec.DisableScaleIn = true;
        DesiredPolicy policy = Assert.Single(ScalingPolicyDocuments.Policies(spec));
        Assert.Equal(spec.BaseName, policy.Name);
        Assert.Null(policy.Alarm);
        Same("""
            {"PolicyName":"NAME","ServiceNamespace":"ecs","ResourceId":"service/prod/agent","ScalableDimension":"ecs:service:DesiredCount",
             "PolicyType":"TargetTrackingScaling","TargetTrackingScalingPolicyConfiguration":{"TargetValue":3,
               "CustomizedMetricSpecification":{"MetricName":"LateFlowRuns","Namespace":"Prefect",
                 "Dimensions":[{"Name":"ClusterName","Value":"prod"},{"Name":"ServiceName","Value":"agent"}],"Statistic":"Maximum","Unit":"Count"},
               "ScaleOutCooldown":60,"ScaleInCooldown":300,"DisableScaleIn":true}}
            """.Replace("NAME", spec.BaseName, StringComparison.Ordinal), policy.PutInput);
    }

    [Fact]
    public void Step_scaling_out_has_bounds_relative_to_the_lowest_threshold_and_an_open_last_step()
    {
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.StepScaling);
        spec.ScaleOutSteps = new[] { new ScaleOutStep(20, 6), new ScaleOutStep(2, 1), new ScaleOutStep(5, 3) };
        List<DesiredPolicy> policies = ScalingPolicyDocuments.Policies(spec);
        Assert.Equal(new[] { spec.BaseName + ":out", spec.BaseName + ":in" }, policies.Select(p => p.Name));

        DesiredPolicy scaleOut = policies[0];
        Same("""
            {"AdjustmentType":"ChangeInCapacity","StepAdjustments":[
               {"MetricIntervalLowerBound":0,"MetricIntervalUpperBound":3,"ScalingAdjustment":1},
               {"MetricIntervalLowerBound":3,"MetricIntervalUpperBound":18,"ScalingAdjustment":3},
               {"MetricIntervalLowerBound":18,"ScalingAdjustment":6}],
             "Cooldown":60,"MetricAggregationType":"Maximum"}
            """, scaleOut.PutInput["StepScalingPolicyConfiguration"]);
        JsonObject alarm = scaleOut.Alarm!;
        Assert.Equal(scaleOut.Name, (string?)alarm["AlarmName"]);
        Assert.Equal("GreaterThanOrEqualToThreshold", (string?)alarm["ComparisonOperator"]);
        Assert.Equal(2, (double)alarm["Threshold"]!);
        Assert.Equal(1, (int)alarm["EvaluationPeriods"]!);
        Assert.Equal(60, (int)alarm["Period"]!);
        Assert.Equal("notBreaching", (string?)alarm["TreatMissingData"]);
        Same("""[{"Name":"ClusterName","Value":"prod"},{"Name":"ServiceName","Value":"agent"}]""", alarm["Dimensions"]);
        Assert.False(alarm.ContainsKey("AlarmActions")); // the policy's ARN is added once the policy exists
    }

    [Theory]
    [InlineData(false, "ChangeInCapacity", -1)]
    [InlineData(true, "ExactCapacity", 2)]
    public void Step_scaling_in_waits_for_periods_without_backlog(bool toMinimum, string adjustmentType, int adjustment)
    {
        // The scale-in of the first release, as -AllowBusyScaleIn keeps it (BusyGuardDocumentsTests: the guarded one).
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.StepScaling);
        spec.AllowBusyScaleIn = true;
        spec.MinCapacity = 2;
        spec.ScaleInToMinimum = toMinimum;
        spec.ScaleInAfterPeriods = 7;
        spec.Metric.StorageResolution = 1;
        DesiredPolicy scaleIn = ScalingPolicyDocuments.Policies(spec)[1];
        var expected = new JsonObject
        {
            ["AdjustmentType"] = adjustmentType,
            ["StepAdjustments"] = new JsonArray(new JsonObject { ["MetricIntervalUpperBound"] = 0, ["ScalingAdjustment"] = adjustment }),
            ["Cooldown"] = 300,
            ["MetricAggregationType"] = "Maximum",
        };
        Same(expected.ToJsonString(), scaleIn.PutInput["StepScalingPolicyConfiguration"]);
        Assert.Equal("LessThanOrEqualToThreshold", (string?)scaleIn.Alarm!["ComparisonOperator"]);
        Assert.Equal(0, (double)scaleIn.Alarm["Threshold"]!);
        Assert.Equal(7, (int)scaleIn.Alarm["EvaluationPeriods"]!);
        Assert.Equal(7, (int)scaleIn.Alarm["DatapointsToAlarm"]!);
        Assert.Equal(10, (int)scaleIn.Alarm["Period"]!); // high-resolution metrics: 10-second alarms
    }

    [Fact]
    public void Backlog_per_task_tracks_metric_math_over_the_binding_s_series_and_wakes_a_service_at_zero()
    {
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.BacklogPerTask);
        List<DesiredPolicy> policies = ScalingPolicyDocuments.Policies(spec);
        // And the busy guard's scale-in (BusyGuardDocumentsTests).
        Assert.Equal(new[] { spec.BaseName, spec.BaseName + ":wake", spec.BaseName + ":in" }, policies.Select(p => p.Name));

        Same("""
            {"Metrics":[
              {"Id":"backlog","MetricStat":{"Metric":{"Namespace":"Prefect","MetricName":"LateFlowRuns",
                 "Dimensions":[{"Name":"ClusterName","Value":"prod"},{"Name":"ServiceName","Value":"agent"}]},"Stat":"Maximum"},"ReturnData":false},
              {"Id":"tasks","MetricStat":{"Metric":{"Namespace":"Prefect","MetricName":"EcsServiceDesiredTasks",
                 "Dimensions":[{"Name":"ClusterName","Value":"prod"},{"Name":"ServiceName","Value":"agent"}]},"Stat":"Maximum"},"ReturnData":false},
              {"Id":"perTask","Expression":"IF(tasks > 0, backlog / tasks, backlog)","Label":"LateFlowRuns per desired task","ReturnData":true}]}
            """, policies[0].PutInput["TargetTrackingScalingPolicyConfiguration"]!["CustomizedMetricSpecification"]);

        DesiredPolicy wake = policies[1];
        Same("""{"AdjustmentType":"ExactCapacity","StepAdjustments":[{"MetricIntervalLowerBound":0,"ScalingAdjustment":1}],"Cooldown":60,"MetricAggregationType":"Maximum"}""",
            wake.PutInput["StepScalingPolicyConfiguration"]);
        JsonArray queries = wake.Alarm!["Metrics"]!.AsArray();
        Assert.Equal(new[] { "backlog", "tasks", "wake" }, queries.Select(q => (string?)q!["Id"]));
        Assert.Equal("IF(tasks == 0 AND backlog > 0, 1, 0)", (string?)queries[2]!["Expression"]);
        Assert.Equal("EcsServiceDesiredTasks", (string?)queries[1]!["MetricStat"]!["Metric"]!["MetricName"]);
        Assert.Equal(1, (int)wake.Alarm["Threshold"]!);
    }

    [Fact]
    public void An_alarm_description_stays_within_CloudWatch_s_1024_characters_for_a_scope_of_many_queues()
    {
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.StepScaling);
        spec.Scope = BindingScope.From(new[] { "pool" }, Enumerable.Range(1, 500).Select(i => "queue-" + i));
        Assert.All(ScalingPolicyDocuments.Policies(spec), p => Assert.InRange(((string)p.Alarm!["AlarmDescription"]!).Length, 1, 1024));
    }
}
