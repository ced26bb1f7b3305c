using System.Text.Json.Nodes;
using static PrefectScaling.Scaling.ScalingStatusReader;

namespace PrefectScaling.Scaling.Tests;

/// <summary>What the policies would do, from answers and data shaped as AWS gives them (no AWS call): the cases moto
/// cannot show (metric math, which it does not evaluate; percent steps; scale-in disabled; zero tasks).</summary>
public sealed class ScalingStatusTests
{
    private static readonly DateTime Now = new(2026, 3, 1, 12, 0, 30, DateTimeKind.Utc);

    private static JsonObject O(string json) => JsonNode.Parse(json)!.AsObject();

    private static Dictionary<string, List<Datum>> Data(params (string Key, double Value)[] latest) =>
        latest.ToDictionary(d => d.Key, d => new List<Datum> { new(Now.AddSeconds(-30), d.Value) });

    private static EcsScalingState Scaling(string policies, string alarms = "[]") => EcsScalingState.FromJson(O(
        """{"Cluster":"prod","Service":"agent","Target":{"MinCapacity":0,"MaxCapacity":10},"Policies":""" + policies + ""","Alarms":""" + alarms + "}"));

    private static PrefectScalingStatus Build(EcsScalingState scaling, int desired, Dictionary<string, List<Datum>> data) =>
        ScalingStatusReader.Build("prod", "agent", Now, O("""{"desiredCount":""" + desired + ""","runningCount":1,"pendingCount":0}"""), scaling, Array.Empty<JsonObject>(), data);

    private const string Tracking = "PrefectScaling/prod/agent/k8s~0123456789abcdef";

    private static string TrackingPolicy(bool disableScaleIn = false) => new JsonArray(new JsonObject
    {
        ["PolicyName"] = Tracking, ["PolicyType"] = "TargetTrackingScaling", ["ResourceId"] = "service/prod/agent",
        ["TargetTrackingScalingPolicyConfiguration"] = new JsonObject
        {
            ["TargetValue"] = 2, ["DisableScaleIn"] = disableScaleIn, ["CustomizedMetricSpecification"] = new JsonObject { ["Metrics"] = new JsonArray() },
        },
    }).ToJsonString();

    [Fact]
    public void Target_tracking_does_not_scale_in_with_scale_in_disabled()
    {
        Assert.Equal("scale in to 1", Build(Scaling(TrackingPolicy()), 4, Data((Tracking, 0.5))).Decision);
        PrefectScalingStatus held = Build(Scaling(TrackingPolicy(disableScaleIn: true)), 4, Data((Tracking, 0.5)));
        Assert.Equal(("hold at 4", (int?)4), (held.Decision, held.DecisionDesiredTasks));
    }

    [Fact]
    public void At_zero_tasks_target_tracking_stays_and_the_wake_policy_sets_one_task()
    {
        string policies = """
            [{"PolicyName":"PrefectScaling/prod/agent/k8s~0123456789abcdef","PolicyType":"TargetTrackingScaling",
              "TargetTrackingScalingPolicyConfiguration":{"TargetValue":2,"CustomizedMetricSpecification":{"Metrics":[]}}},
             {"PolicyName":"PrefectScaling/prod/agent/k8s~0123456789abcdef:wake","PolicyType":"StepScaling",
              "StepScalingPolicyConfiguration":{"AdjustmentType":"ExactCapacity","StepAdjustments":[{"MetricIntervalLowerBound":0,"ScalingAdjustment":1}]}}]
            """;
        string alarms = """
            [{"AlarmName":"PrefectScaling/prod/agent/k8s~0123456789abcdef:wake","StateValue":"ALARM","ComparisonOperator":"GreaterThanOrEqualToThreshold",
              "Threshold":"1.0","EvaluationPeriods":"1","DatapointsToAlarm":"1","Metrics":[{"Id":"wake","Expression":"IF(tasks == 0 AND backlog > 0, 1, 0)","ReturnData":"true"},
              {"Id":"backlog","MetricStat":{"Metric":{"Namespace":"Prefect","MetricName":"LateFlowRuns"},"Period":"60","Stat":"Maximum"},"ReturnData":"false"}]}]
            """;
        PrefectScalingStatus status = Build(Scaling(policies, alarms), 0, Data((Tracking, 5), (Tracking + ":wake", 1)));
        Assert.Equal(("scale out to 1", (int?)1), (status.Decision, status.DecisionDesiredTasks));
        Assert.Equal("tracking: 5 against target 2 at 0 task(s) -> 0 (target tracking cannot leave zero tasks); wake: 1 >= 1 -> set 1 -> 1", status.PolicyDetail);
        Assert.Equal(("wake ALARM", 1, 1), (status.AlarmStates, status.AlarmsInAlarm, status.AlarmCount));

        // Metric math that has no data (as moto answers it): the wake policy does nothing, and says so.
        PrefectScalingStatus noMath = Build(Scaling(policies, alarms), 0, Data((Tracking, 5)));
        Assert.Equal("hold at 0", noMath.Decision);
        Assert.EndsWith("wake: no data", noMath.PolicyDetail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(25, null, 5)]  // 25 % of 4 = 1
    [InlineData(25, 2, 6)]     // at least 2
    [InlineData(10, null, 5)]  // 0.4 rounds up to 1
    [InlineData(60, null, 6)]  // 2.4 rounds down to 2
    public void Percent_steps_round_as_Application_Auto_Scaling_does(int percent, int? minMagnitude, int desired)
    {
        string step = """{"AdjustmentType":"PercentChangeInCapacity","StepAdjustments":[{"MetricIntervalLowerBound":0,"ScalingAdjustment":""" + percent + "}]"
            + (minMagnitude == null ? string.Empty : ""","MinAdjustmentMagnitude":""" + minMagnitude) + "}";
        string policies = """[{"PolicyName":"PrefectScaling/prod/agent/k8s~0123456789abcdef:out","PolicyType":"StepScaling","StepScalingPolicyConfiguration":""" + step + "}]";
        string alarms = """
            [{"AlarmName":"PrefectScaling/prod/agent/k8s~0123456789abcdef:out","StateValue":"OK","ComparisonOperator":"GreaterThanOrEqualToThreshold",
              "Threshold":"1.0","EvaluationPeriods":"1","Period":"60","Namespace":"Prefect","MetricName":"LateFlowRuns","Statistic":"Maximum"}]
            """;
        Assert.Equal("scale out to " + desired, Build(Scaling(policies, alarms), 4, Data(("PrefectScaling/prod/agent/k8s~0123456789abcdef:out", 3))).Decision);
    }

    [Fact]
    public void A_batch_keeps_each_probe_s_ids_apart_and_returns_one_result_per_probe()
    {
        var batch = new MetricBatch();
        batch.Add("Late", new JsonObject { ["Id"] = "m", ["MetricStat"] = new JsonObject { ["Period"] = 60 }, ["ReturnData"] = true });
        batch.Add("policy", new List<JsonObject>
        {
            O("""{"Id":"m1","MetricStat":{"Period":10},"ReturnData":false}"""),
            O("""{"Id":"m2","MetricStat":{"Period":10},"ReturnData":false}"""),
            O("""{"Id":"perTask","Expression":"m1 / IF(m2 > 0, m2, 1) + m10","ReturnData":true}"""),
            O("""{"Id":"m10","Expression":"FILL(m1, 0)","ReturnData":true}"""),
        });
        Assert.Equal(new[] { "q0_m", "q1_m1", "q1_m2", "q1_perTask", "q1_m10" }, batch.Queries.Select(q => (string)q["Id"]!));
        Assert.Equal("q1_m1 / IF(q1_m2 > 0, q1_m2, 1) + q1_m10", (string)batch.Queries[3]["Expression"]!);
        Assert.Equal(new[] { true, false, false, true, false }, batch.Queries.Select(q => (bool)q["ReturnData"]!));
        // A 10-second period reads the 3 hours that sub-minute data are kept.
        Assert.Equal(TimeSpan.FromHours(3), batch.Window);
    }
}
