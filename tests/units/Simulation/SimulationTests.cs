using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Scaling;

namespace PrefectScaling.Simulation.Tests;

/// <summary>Each AWS rule the simulator models, from AWS's documented examples, and each policy kind's behaviour.</summary>
public sealed class SimulationTests
{
    private static readonly DateTime T0 = new(2026, 1, 5, 9, 0, 0, DateTimeKind.Utc);

    private static ScalingPolicySpec Spec(ScalingPolicyKind kind, int min = 0, int max = 10) => new()
    {
        Cluster = "prod", Service = "agent", Scope = BindingScope.From(new[] { "pool" }, null), MinCapacity = min, MaxCapacity = max, Kind = kind,
        RunsPerTask = kind == ScalingPolicyKind.Capacity ? 1 : null,
    };

    private static List<SimulatedRun> Burst(int count, double minutes, DateTime? at = null) =>
        Enumerable.Range(0, count).Select(_ => new SimulatedRun(at ?? T0, TimeSpan.FromMinutes(minutes))).ToList();

    private static List<string> ScaleEvents(PrefectScalingSimulation result) =>
        result.Timeline.SelectMany(s => s.Event.Split("; ")).Where(e => e.StartsWith("scale ")).ToList();

    private static double SecondsOfFirst(PrefectScalingSimulation result, string text) =>
        (result.Timeline.First(s => s.Event.Contains(text)).Time - T0).TotalSeconds;

    [Fact]
    public void Metric_math_evaluates_the_per_task_and_wake_expressions_the_module_writes()
    {
        double? Eval(string e, double? backlog, double? tasks) => MetricMath.Evaluate(e, new Dictionary<string, double?> { ["backlog"] = backlog, ["tasks"] = tasks });
        Assert.Equal(2.5, Eval(ScalingPolicyDocuments.PerTaskExpression, 10, 4));
        Assert.Equal(7, Eval(ScalingPolicyDocuments.PerTaskExpression, 7, 0));
        Assert.Equal(1, Eval(ScalingPolicyDocuments.WakeExpression, 3, 0));
        Assert.Equal(0, Eval(ScalingPolicyDocuments.WakeExpression, 3, 1));
        Assert.Equal(0, Eval(ScalingPolicyDocuments.WakeExpression, 0, 0));
        Assert.Null(Eval(ScalingPolicyDocuments.PerTaskExpression, null, 2));
        Assert.Equal(7, Eval("2 * (backlog - 1) + -tasks + 1 - 0", 4, 0));
        Assert.Throws<ArgumentException>(() => Eval("backlog +", 1, 1));
    }

    [Fact]
    public void Step_bounds_are_relative_to_the_threshold_lower_inclusive_above_upper_inclusive_below()
    {
        // "Step scaling policies for Application Auto Scaling": above the threshold the lower bound is inclusive and
        // the upper exclusive; below it the lower bound is exclusive and the upper inclusive.
        var above = new[] { new SimulatedStep { LowerBound = 0, UpperBound = 4, Adjustment = 1 }, new SimulatedStep { LowerBound = 4, Adjustment = 3 } };
        Assert.Equal(1, ScalingSimulator.FindStep(above, 0, aboveThreshold: true)!.Adjustment);
        Assert.Equal(1, ScalingSimulator.FindStep(above, 3.9, aboveThreshold: true)!.Adjustment);
        Assert.Equal(3, ScalingSimulator.FindStep(above, 4, aboveThreshold: true)!.Adjustment);
        var below = new[] { new SimulatedStep { LowerBound = -5, UpperBound = 0, Adjustment = -1 }, new SimulatedStep { UpperBound = -5, Adjustment = -2 } };
        Assert.Equal(-1, ScalingSimulator.FindStep(below, 0, aboveThreshold: false)!.Adjustment);
        Assert.Equal(-2, ScalingSimulator.FindStep(below, -5, aboveThreshold: false)!.Adjustment);
        Assert.Null(ScalingSimulator.FindStep(below, 0.5, aboveThreshold: false));
    }

    [Fact]
    public void Percent_change_rounds_as_the_step_scaling_guide_s_worked_example()
    {
        // The guide's example: 10 -> +10% -> 11 -> +30% -> 14 -> -10% -> 13 -> -30% -> 10.
        var percent = new SimulatedScalingPolicy { AdjustmentType = "PercentChangeInCapacity" };
        Assert.Equal(11, ScalingSimulator.Adjust(percent, 10, 10));
        Assert.Equal(14, ScalingSimulator.Adjust(percent, 11, 30));
        Assert.Equal(13, ScalingSimulator.Adjust(percent, 14, -10));
        Assert.Equal(10, ScalingSimulator.Adjust(percent, 13, -30));
        // MinAdjustmentMagnitude: 25% of 4 is 1; with a minimum of 2 it adds 2.
        Assert.Equal(6, ScalingSimulator.Adjust(new SimulatedScalingPolicy { AdjustmentType = "PercentChangeInCapacity", MinAdjustmentMagnitude = 2 }, 4, 25));
        Assert.Equal(3, ScalingSimulator.Adjust(new SimulatedScalingPolicy { AdjustmentType = "ExactCapacity" }, 9, 3));
    }

    [Fact]
    public void A_larger_step_during_the_cooldown_adds_only_the_difference()
    {
        // The step scaling guide's example: +2 done, a later +3 step during the cooldown adds only 1.
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.StepScaling);
        spec.ScaleOutSteps = new[] { new ScaleOutStep(1, 2), new ScaleOutStep(5, 3) };
        spec.ScaleOutCooldown = 600;
        var runs = Burst(3, 5).Concat(Burst(4, 5, T0.AddMinutes(3))).ToList();
        // Tasks that never start keep the backlog where the alarms see it.
        var env = new SimulationEnvironment { TaskStartSeconds = 100000, TailSeconds = 900 };
        PrefectScalingSimulation result = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(spec), env, runs, "cooldown", timeline: true);
        List<string> events = ScaleEvents(result);
        Assert.StartsWith("scale out 0 -> 2", events[0]);
        Assert.StartsWith("scale out 2 -> 3", events[1]);
        Assert.True(SecondsOfFirst(result, "2 -> 3") - SecondsOfFirst(result, "0 -> 2") < spec.ScaleOutCooldown);
    }

    [Fact]
    public void A_step_policy_is_invoked_again_each_minute_while_its_alarm_stays_in_alarm()
    {
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.StepScaling);
        spec.ScaleOutSteps = new[] { new ScaleOutStep(1, 1) };
        var env = new SimulationEnvironment { TaskStartSeconds = 100000, TailSeconds = 900 };
        PrefectScalingSimulation result = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(spec), env, Burst(3, 1), "reinvoke", timeline: true);
        var outs = result.Timeline.Where(s => s.Event.Contains("scale out")).Select(s => s.Time).ToList();
        Assert.True(outs.Count >= 3);
        Assert.Equal(60, (outs[1] - outs[0]).TotalSeconds);
        Assert.Equal(10, result.Timeline.Max(s => s.DesiredTasks));
    }

    [Fact]
    public void Target_tracking_needs_three_one_minute_datapoints_above_the_target_to_scale_out()
    {
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.TargetTracking, min: 1);
        PrefectScalingSimulation result = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(spec), new SimulationEnvironment(), Burst(10, 5), "burst");
        Assert.NotNull(result.FirstScaleOutSeconds);
        Assert.True(result.FirstScaleOutSeconds >= 120, "scaled out after " + result.FirstScaleOutSeconds + " s");
        // Step scaling on one datapoint reacts sooner on the same workload.
        PrefectScalingSimulation step = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(Spec(ScalingPolicyKind.StepScaling, min: 1)), new SimulationEnvironment(), Burst(10, 5), "burst");
        Assert.True(step.FirstScaleOutSeconds < result.FirstScaleOutSeconds);
    }

    [Fact]
    public void Target_tracking_asks_for_capacity_proportional_to_metric_over_target_within_max()
    {
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.TargetTracking, min: 1, max: 4);
        var env = new SimulationEnvironment { TaskStartSeconds = 100000, TailSeconds = 600 };
        PrefectScalingSimulation result = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(spec), env, Burst(20, 5), "burst", timeline: true);
        Assert.StartsWith("scale out 1 -> 4", ScaleEvents(result)[0]);
        Assert.Equal(4, result.Timeline.Max(s => s.DesiredTasks));
        Assert.Equal(20, SimulationEnvironment.DefaultProportionalCapacity(1, 20, 1));
        Assert.Equal(2, SimulationEnvironment.DefaultProportionalCapacity(4, 0.5, 1));
    }

    [Fact]
    public void Missing_data_never_scales_in()
    {
        foreach (ScalingPolicyKind kind in new[] { ScalingPolicyKind.StepScaling, ScalingPolicyKind.TargetTracking })
        {
            var runs = Burst(1, 1);
            var silent = new SimulationEnvironment { InitialTasks = 3, PublisherSilentAfterSeconds = 0, TailSeconds = 3600 };
            PrefectScalingSimulation withoutData = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(Spec(kind)), silent, runs, "silent");
            Assert.Equal(0, withoutData.ScaleEvents);
            PrefectScalingSimulation withData = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(Spec(kind)), new SimulationEnvironment { InitialTasks = 3, TailSeconds = 3600 }, runs, "published");
            Assert.True(withData.ScaleEvents > 0, kind + " never scaled in with data");
            Assert.True(withData.TaskMinutes < withoutData.TaskMinutes);
        }
    }

    [Fact]
    public void Step_scaling_scales_to_zero_only_after_the_configured_periods_without_backlog()
    {
        double FirstScaleIn(int periods)
        {
            ScalingPolicySpec spec = Spec(ScalingPolicyKind.StepScaling);
            spec.ScaleInAfterPeriods = periods;
            PrefectScalingSimulation result = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(spec), new SimulationEnvironment(), Burst(1, 1), "one", timeline: true);
            DateTime lastBacklog = result.Timeline.Last(s => s.Late > 0).Time;
            return (result.Timeline.First(s => s.Event.Contains("scale in")).Time - lastBacklog).TotalSeconds;
        }
        double five = FirstScaleIn(5), ten = FirstScaleIn(10);
        Assert.True(five >= 4 * 60, "scaled in " + five + " s after the backlog");
        Assert.True(ten >= 9 * 60, "scaled in " + ten + " s after the backlog");
        Assert.True(ten - five >= 5 * 60 - 1);
    }

    [Fact]
    public void Scale_in_stops_the_newest_task_and_interrupts_the_runs_inside()
    {
        // Late-count scaling without the busy guard sees no backlog while runs run, so it scales in under them.
        ScalingPolicySpec spec = Spec(ScalingPolicyKind.StepScaling);
        spec.AllowBusyScaleIn = true;
        PrefectScalingSimulation result = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(spec), new SimulationEnvironment(), Burst(4, 60), "long");
        Assert.True(result.RunsInterrupted > 0);
        Assert.Equal(4, result.Runs);
        Assert.Equal(0, result.RunsNotStarted);
        // Tracking the runs in flight keeps the tasks while they run.
        ScalingPolicySpec running = Spec(ScalingPolicyKind.StepScaling);
        running.Measure = BacklogMeasure.Running;
        running.AllowBusyScaleIn = true;
        Assert.Equal(0, ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(running), new SimulationEnvironment { InitialTasks = 4 }, Burst(4, 60), "long").RunsInterrupted);
    }

    [Fact]
    public void Backlog_per_task_wakes_from_zero_with_its_wake_policy_when_tracking_cannot_leave_zero()
    {
        var env = new SimulationEnvironment { TargetTrackingLeavesZero = false };
        PrefectScalingSimulation perTask = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(Spec(ScalingPolicyKind.BacklogPerTask)), env, Burst(5, 2), "burst");
        Assert.NotNull(perTask.FirstScaleOutSeconds);
        Assert.Equal(0, perTask.RunsNotStarted);
        PrefectScalingSimulation tracking = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(Spec(ScalingPolicyKind.TargetTracking)), env, Burst(5, 2), "burst");
        Assert.Null(tracking.FirstScaleOutSeconds);
        Assert.Equal(5, tracking.RunsNotStarted);
    }

    [Fact]
    public void The_live_state_simulates_as_the_documents_set_writes()
    {
        foreach (ScalingPolicyKind kind in Enum.GetValues<ScalingPolicyKind>())
        {
            ScalingPolicySpec spec = Spec(kind);
            List<DesiredPolicy> documents = ScalingPolicyDocuments.Policies(spec);
            var policies = new JsonArray();
            var alarms = new JsonArray();
            foreach (DesiredPolicy d in documents)
            {
                var put = (JsonObject)d.PutInput.DeepClone();
                string arn = "arn:aws:autoscaling:eu-west-1:123456789012:scalingPolicy:x:resource/" + d.Name;
                put["PolicyARN"] = arn;
                policies.Add(put);
                if (d.Alarm is JsonObject alarm)
                {
                    var a = (JsonObject)alarm.DeepClone();
                    a["AlarmName"] = "renamed-" + d.Name;
                    a["AlarmActions"] = new JsonArray(arn);
                    alarms.Add(a);
                }
            }
            EcsScalingState state = EcsScalingState.FromJson(new JsonObject
            {
                ["Cluster"] = "prod", ["Service"] = "agent", ["Target"] = ScalingPolicyDocuments.ScalableTarget(spec), ["Policies"] = policies, ["Alarms"] = alarms,
            });
            var runs = Burst(20, 3).Concat(Burst(5, 10, T0.AddHours(1))).ToList();
            PrefectScalingSimulation fromSpec = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(spec), new SimulationEnvironment(), runs, "w");
            PrefectScalingSimulation fromState = ScalingSimulator.Simulate(SimulatedPolicy.FromState(state), new SimulationEnvironment(), runs, "w");
            Assert.Equal(kind.ToString(), SimulatedPolicy.FromState(state).Kind);
            Assert.Equal((fromSpec.StartDelayP95, fromSpec.TaskMinutes, fromSpec.ScaleEvents, fromSpec.FirstScaleOutSeconds), (fromState.StartDelayP95, fromState.TaskMinutes, fromState.ScaleEvents, fromState.FirstScaleOutSeconds));
        }
    }

    [Fact]
    public void The_same_input_gives_the_same_result()
    {
        var runs = Burst(20, 3).Concat(Enumerable.Range(0, 30).Select(i => new SimulatedRun(T0.AddMinutes(7 * i), TimeSpan.FromSeconds(90 + 13 * i), T0.AddMinutes(7 * i - 5)))).ToList();
        foreach (ScalingPolicyKind kind in Enum.GetValues<ScalingPolicyKind>())
        {
            PrefectScalingSimulation a = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(Spec(kind)), new SimulationEnvironment(), runs, "w", timeline: true);
            PrefectScalingSimulation b = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(Spec(kind)), new SimulationEnvironment(), runs, "w", timeline: true);
            Assert.Equal(string.Join("\n", a.Timeline.Select(s => s.Time + " " + s.DesiredTasks + " " + s.RunningTasks + " " + s.Event)), string.Join("\n", b.Timeline.Select(s => s.Time + " " + s.DesiredTasks + " " + s.RunningTasks + " " + s.Event)));
            Assert.Equal((a.StartDelayP95, a.TaskMinutes, a.IdleTaskMinutes, a.LateRunMinutes), (b.StartDelayP95, b.TaskMinutes, b.IdleTaskMinutes, b.LateRunMinutes));
            Assert.Equal(0, a.RunsNotStarted);
        }
    }
}
