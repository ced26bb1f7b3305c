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
}
