using System;
using System.Collections.Generic;
using System.Linq;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Scaling;

namespace PrefectScaling.Simulation.Tests;

/// <summary>The busy guard in the simulator: the policies exactly as Set writes them, long runs under scale-in pressure.</summary>
public sealed class BusyGuardSimulationTests
{
    private static readonly DateTime T0 = new(2026, 1, 5, 0, 0, 0, DateTimeKind.Utc);

    /// <summary>The reactive kinds, whose scale-in the guard's policy does; the capacity policy guards its own (below).</summary>
    public static IEnumerable<object[]> Kinds() => Enum.GetValues<ScalingPolicyKind>().Where(k => k != ScalingPolicyKind.Capacity).Select(k => new object[] { k });

    private static ScalingPolicySpec Spec(ScalingPolicyKind kind, bool allowBusy = false, int? runsPerTask = null, int min = 0, int max = 10) => new()
    {
        Cluster = "prod", Service = "agent", Scope = BindingScope.From(new[] { "pool" }, null), MinCapacity = min, MaxCapacity = max, Kind = kind,
        AllowBusyScaleIn = allowBusy, RunsPerTask = runsPerTask,
    };

    private static PrefectScalingSimulation LongRuns(ScalingPolicySpec spec, SimulationEnvironment? environment = null) =>
        ScalingSimulator.Simulate(SimulatedPolicy.FromSpec(spec), environment ?? new SimulationEnvironment(), SimulationScenarios.Get(SimulationScenarios.LongRuns, T0), SimulationScenarios.LongRuns, timeline: true);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Long_runs_are_interrupted_without_the_guard_and_never_with_it(ScalingPolicyKind kind)
    {
        PrefectScalingSimulation unguarded = LongRuns(Spec(kind, allowBusy: true));
        PrefectScalingSimulation guarded = LongRuns(Spec(kind));

        Assert.True(unguarded.RunsInterrupted > 0, kind + " without the guard interrupted no run: the scenario puts no scale-in pressure on busy tasks.");
        Assert.Equal(0, guarded.RunsInterrupted);
        Assert.Equal(0, guarded.RunsNotStarted);
        // The guard still scales in once the runs have ended: back to the floor.
        Assert.Equal(0, guarded.Timeline[^1].DesiredTasks);
        Assert.Contains(guarded.Timeline, s => s.Event.Contains("scale in") && s.Event.Contains("(in)"));
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void With_runs_per_task_and_self_protecting_tasks_scale_in_goes_on_while_flows_run_and_stops_none(ScalingPolicyKind kind)
    {
        var protecting = new SimulationEnvironment { RunsPerTask = 2, TasksProtectThemselves = true };
        PrefectScalingSimulation guarded = LongRuns(Spec(kind, runsPerTask: 2), protecting);
        Assert.Equal(0, guarded.RunsInterrupted);
        // A partial scale-in while runs are still in flight: the surplus goes, the busy tasks stay.
        Assert.Contains(guarded.Timeline, s => s.Event.Contains("scale in") && s.InFlight > 0);

        // Without protection the same -RunsPerTask waits for no run in flight: ECS could pick a busy task.
        PrefectScalingSimulation unprotected = LongRuns(Spec(kind, runsPerTask: 2), new SimulationEnvironment { RunsPerTask = 2 });
        Assert.Equal(0, unprotected.RunsInterrupted);
        Assert.DoesNotContain(unprotected.Timeline, s => s.Event.Contains("scale in") && s.InFlight > 0);
    }

    [Fact]
    public void The_capacity_policy_stops_no_long_run_and_still_scales_in_once_they_end()
    {
        PrefectScalingSimulation capacity = LongRuns(Spec(ScalingPolicyKind.Capacity, runsPerTask: 1), new SimulationEnvironment { RunsPerTask = 1 });
        Assert.Equal(0, capacity.RunsInterrupted);
        Assert.Equal(0, capacity.RunsNotStarted);
        Assert.Equal(0, capacity.Timeline[^1].DesiredTasks);
    }

    [Fact]
    public void Protected_tasks_are_skipped_when_ecs_stops_tasks()
    {
        // Without the guard but with self-protecting tasks, ECS's stop choice alone keeps the runs.
        PrefectScalingSimulation result = LongRuns(Spec(ScalingPolicyKind.StepScaling, allowBusy: true), new SimulationEnvironment { TasksProtectThemselves = true });
        Assert.Equal(0, result.RunsInterrupted);
        Assert.Contains(result.Timeline, s => s.RunningTasks > s.DesiredTasks);
    }

    [Fact]
    public void The_guard_s_expressions_evaluate_as_cloudwatch_s_if_ceil_and_comparisons()
    {
        double? Eval(string e, double? backlog, double? inflight, double? unprotected, double? tasks) => MetricMath.Evaluate(e, new Dictionary<string, double?>
        {
            ["backlog"] = backlog, ["inflight"] = inflight, ["unprotected"] = unprotected, ["tasks"] = tasks,
        });
        string plain = ScalingPolicyDocuments.GuardExpression(null, 0);
        Assert.Equal(3, Eval(plain, 0, 0, 0, 3));
        Assert.Equal(0, Eval(plain, 0, 1, 0, 3));
        Assert.Equal(0, Eval(plain, 1, 0, 0, 3));
        Assert.Null(Eval(plain, 0, null, 0, 3));
        Assert.Null(Eval(plain, 0, 0, null, 3));
        Assert.Equal(2, Eval(ScalingPolicyDocuments.GuardExpression(null, 1), 0, 0, 0, 3));

        string perTask = ScalingPolicyDocuments.GuardExpression(3, 0);
        Assert.Equal(2, Eval(perTask, 1, 3, 0, 4));   // ceil(4 / 3) = 2 needed of 4
        Assert.Equal(0, Eval(perTask, 1, 3, 1, 4));   // an unprotected run blocks
        Assert.Equal(-1, Eval(perTask, 6, 3, 0, 2));  // short of tasks: nothing to remove
        Assert.Equal(4, Eval(perTask, 0, 0, 0, 4));
        string floored = ScalingPolicyDocuments.GuardExpression(3, 2);
        Assert.Equal(2, Eval(floored, 0, 0, 0, 4));   // never below min
        Assert.Equal(1, Eval(floored, 0, 7, 0, 4));   // ceil(7 / 3) = 3 above min
        Assert.Equal(2, MetricMath.Evaluate("CEIL(1.2) + FLOOR(0.7)", new Dictionary<string, double?>()));
    }
}
