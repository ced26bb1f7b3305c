using System;
using System.Collections.Generic;
using System.Linq;
using PrefectScaling.Bindings;
using PrefectScaling.Metrics;
using PrefectScaling.Scaling;
using Xunit.Abstractions;

namespace PrefectScaling.Simulation.Tests;

/// <summary>The capacity policy's goals, simulated (deterministic): the scheduled burst and random arrivals beside
/// the reactive kinds, and the mechanism it uses against the alarm-driven candidate.</summary>
public sealed class CapacitySimulationTests
{
    private static readonly DateTime Start = new(2026, 1, 5, 0, 0, 0, DateTimeKind.Utc);
    private readonly ITestOutputHelper _output;

    public CapacitySimulationTests(ITestOutputHelper output) => _output = output;

    /// <summary>The capacity policy as Set writes it, with a publisher sampling every 10 s (high resolution).</summary>
    internal static ScalingPolicySpec CapacitySpec(int runsPerTask = 1, int min = 0, int max = 20) => new()
    {
        Cluster = "prod", Service = "agent", Scope = BindingScope.From(new[] { "pool" }, null), MinCapacity = min, MaxCapacity = max,
        Kind = ScalingPolicyKind.Capacity, RunsPerTask = runsPerTask, ScaleInAfterPeriods = 1,
        Metric = new BacklogMetricOptions { StorageResolution = 1 },
    };

    private static ScalingPolicySpec Reactive(ScalingPolicyKind kind, int max = 20) => new()
    {
        Cluster = "prod", Service = "agent", Scope = BindingScope.From(new[] { "pool" }, null), MinCapacity = 0, MaxCapacity = max, Kind = kind,
    };

    private static ScalingPolicySpec Seed(int max = 20) => new()
    {
        Cluster = "prod", Service = "agent", Scope = BindingScope.From(new[] { "pool" }, null), MinCapacity = 0, MaxCapacity = max,
        Kind = ScalingPolicyKind.TargetTracking, TargetValue = 1, ScaleOutCooldown = 300, ScaleInCooldown = 300,
    };

    private static PrefectScalingSimulation Simulate(ScalingPolicySpec spec, string scenario, int sampleSeconds = 60, int runsPerTask = 1) =>
        ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(spec), new SimulationEnvironment { SampleIntervalSeconds = sampleSeconds, RunsPerTask = runsPerTask },
            SimulationScenarios.Get(scenario, Start), scenario);

    private static double IdealTaskMinutes(string scenario, int runsPerTask) =>
        SimulationScenarios.Get(scenario, Start).Sum(r => r.Duration.TotalMinutes) / runsPerTask;

    private void Show(PrefectScalingSimulation r) =>
        _output.WriteLine(r.Workload + " | " + r.Policy + " | p95 " + r.StartDelayP95 + " s | TaskMinutes " + Math.Round(r.TaskMinutes, 1) + " | interrupted " + r.RunsInterrupted + " | not started " + r.RunsNotStarted);

    private List<PrefectScalingSimulation> ReactiveKinds(string scenario)
    {
        var results = new List<PrefectScalingSimulation>
        {
            Simulate(Reactive(ScalingPolicyKind.TargetTracking), scenario),
            Simulate(Reactive(ScalingPolicyKind.BacklogPerTask), scenario),
            Simulate(Reactive(ScalingPolicyKind.StepScaling), scenario),
            Simulate(Seed(), scenario),
        };
        results.ForEach(Show);
        return results;
    }

    [Fact]
    public void Scheduled_burst_starts_within_15_seconds_at_most_a_quarter_above_the_ideal_task_minutes()
    {
        List<PrefectScalingSimulation> reactive = ReactiveKinds(SimulationScenarios.ScheduledBurst);
        PrefectScalingSimulation capacity = Simulate(CapacitySpec(), SimulationScenarios.ScheduledBurst, sampleSeconds: 10);
        Show(capacity);
        Assert.Equal(0, capacity.RunsNotStarted);
        Assert.Equal(0, capacity.RunsInterrupted);
        Assert.True(capacity.StartDelayP95 <= 15, "p95 start delay " + capacity.StartDelayP95 + " s");
        double ideal = IdealTaskMinutes(SimulationScenarios.ScheduledBurst, 1);
        Assert.True(capacity.TaskMinutes <= 1.25 * ideal, "TaskMinutes " + capacity.TaskMinutes + " of ideal " + ideal);
        // The reactive kinds only start scaling once the runs are Late: minutes.
        Assert.All(reactive, r => Assert.True(r.StartDelayP95 > 60, r.Policy + ": " + r.StartDelayP95));
    }

    [Fact]
    public void Scheduled_burst_with_four_runs_a_task_needs_a_quarter_of_the_tasks()
    {
        PrefectScalingSimulation capacity = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(CapacitySpec(runsPerTask: 4)),
            new SimulationEnvironment { SampleIntervalSeconds = 10, RunsPerTask = 4, TimelineStepSeconds = 10 }, SimulationScenarios.Get(SimulationScenarios.ScheduledBurst, Start), "burst", timeline: true);
        Show(capacity);
        Assert.Equal(5, capacity.Timeline.Max(s => s.DesiredTasks));
        Assert.True(capacity.StartDelayP95 <= 15);
        Assert.True(capacity.TaskMinutes <= 1.25 * IdealTaskMinutes(SimulationScenarios.ScheduledBurst, 4));
    }

    [Fact]
    public void Random_arrivals_start_no_later_than_the_best_reactive_kind_within_a_tenth_of_its_task_minutes()
    {
        List<PrefectScalingSimulation> reactive = ReactiveKinds(SimulationScenarios.RandomArrivals);
        PrefectScalingSimulation capacity = Simulate(CapacitySpec(), SimulationScenarios.RandomArrivals, sampleSeconds: 10);
        Show(capacity);
        PrefectScalingSimulation best = reactive.OrderBy(r => r.StartDelayP95).ThenBy(r => r.TaskMinutes).First();
        Assert.Equal(0, capacity.RunsInterrupted);
        Assert.True(capacity.StartDelayP95 <= best.StartDelayP95, "capacity " + capacity.StartDelayP95 + " s, best reactive " + best.Policy + " " + best.StartDelayP95 + " s");
        Assert.True(capacity.TaskMinutes <= 1.10 * best.TaskMinutes, "capacity " + capacity.TaskMinutes + ", best reactive " + best.TaskMinutes);
    }

    /// <summary>The candidate mechanism: the publisher only publishes RequiredTasks, and a step policy on a 10-second
    /// alarm over it sets ExactCapacity (one step per task count, AAS's 20-step limit).</summary>
    internal static SimulatedPolicy ExactCapacityAlarmCandidate(int max = 20)
    {
        SimulatedPolicy policy = SimulatedPolicy.FromSpec(CapacitySpec(max: max));
        policy.Capacity!.Mechanism = CapacityMechanism.ExactCapacityAlarm;
        policy.Description = "Capacity " + policy.MinCapacity + ".." + max + " ExactCapacity alarm 10s";
        var outPolicy = new SimulatedScalingPolicy
        {
            Name = "candidate:out",
            AdjustmentType = "ExactCapacity",
            Cooldown = 0,
            Alarm = new SimulatedAlarm
            {
                Name = "candidate:out",
                Metric = new SimulatedMetric(new[] { ("required", SimulatedSeries.RequiredTasks, "Maximum"), ("tasks", SimulatedSeries.DesiredTasks, "Minimum") }, "IF(required > tasks, required, 0)"),
                Period = 10, EvaluationPeriods = 1, DatapointsToAlarm = 1, Threshold = 0, ComparisonOperator = "GreaterThanThreshold", TreatMissingData = "notBreaching",
            },
        };
        for (int n = 1; n <= max; n++)
            outPolicy.Steps.Add(new SimulatedStep { LowerBound = n - 1, UpperBound = n == max ? null : n, Adjustment = n });
        policy.Policies.Add(outPolicy);
        return policy;
    }

    [Theory]
    [InlineData(SimulationScenarios.ScheduledBurst)]
    [InlineData(SimulationScenarios.RandomArrivals)]
    public void Raising_the_minimum_moves_the_service_before_an_exact_capacity_alarm_does(string scenario)
    {
        var environment = new SimulationEnvironment { SampleIntervalSeconds = 10 };
        PrefectScalingSimulation raise = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(CapacitySpec()), environment, SimulationScenarios.Get(scenario, Start), scenario, timeline: true);
        PrefectScalingSimulation alarm = ScalingSimulator.Simulate(ExactCapacityAlarmCandidate(), environment, SimulationScenarios.Get(scenario, Start), scenario, timeline: true);
        Show(raise);
        Show(alarm);
        DateTime FirstScaleOut(PrefectScalingSimulation r) => r.Timeline.First(s => s.Event.Contains("scale out")).Time;
        _output.WriteLine("first scale-out: raise " + FirstScaleOut(raise).ToString("HH:mm:ss") + ", alarm " + FirstScaleOut(alarm).ToString("HH:mm:ss"));
        Assert.Equal(0, alarm.RunsNotStarted);
        Assert.Equal(0, raise.RunsInterrupted);
        // The same sample raises the requirement; the minimum moves the service as the publisher's call ends, the
        // alarm only at the end of its period.
        Assert.True(FirstScaleOut(raise) < FirstScaleOut(alarm), FirstScaleOut(raise) + " against " + FirstScaleOut(alarm));
    }

    [Fact]
    public void Sixty_second_sampling_still_beats_the_reactive_kinds_on_the_scheduled_burst()
    {
        List<PrefectScalingSimulation> reactive = ReactiveKinds(SimulationScenarios.ScheduledBurst);
        ScalingPolicySpec spec = CapacitySpec();
        spec.Metric = new BacklogMetricOptions();
        PrefectScalingSimulation capacity = Simulate(spec, SimulationScenarios.ScheduledBurst);
        Show(capacity);
        Assert.True(capacity.StartDelayP95 <= 15, "p95 " + capacity.StartDelayP95);
        Assert.True(capacity.TaskMinutes < reactive.Min(r => r.TaskMinutes));
    }

    [Fact]
    public void The_busy_guard_holds_every_task_while_a_run_is_in_flight_so_no_run_is_interrupted()
    {
        // Two runs: a long one and a short one; when the short one ends the requirement drops to 1, but ECS could
        // stop the long run's task, so the service holds 2 until the long one ends too.
        var runs = new List<SimulatedRun>
        {
            new(Start.AddMinutes(5), TimeSpan.FromMinutes(30), Start),
            new(Start.AddMinutes(5), TimeSpan.FromMinutes(2), Start),
        };
        PrefectScalingSimulation r = ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(CapacitySpec()), new SimulationEnvironment { SampleIntervalSeconds = 10, TaskStopOrder = TaskStopOrder.OldestFirst }, runs, "two", timeline: true);
        Assert.Equal(0, r.RunsInterrupted);
        DateTime shortEnded = Start.AddMinutes(5 + 2 + 1);
        DateTime longEnded = Start.AddMinutes(5 + 30);
        Assert.All(r.Timeline.Where(s => s.Time > shortEnded && s.Time < longEnded), s => Assert.Equal(2, s.DesiredTasks));
        Assert.Equal(0, r.Timeline.Last().DesiredTasks);
    }
}
