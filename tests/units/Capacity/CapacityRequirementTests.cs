using System;
using System.Collections.Generic;
using System.Linq;
using PrefectScaling.Scaling;

namespace PrefectScaling.Capacity.Tests;

/// <summary>The requirement: each part, the caps, min and max, and the busy guard's floor.</summary>
public sealed class CapacityRequirementTests
{
    private static IReadOnlyList<IReadOnlyList<ConcurrencyCap>> Parts(params IReadOnlyList<ConcurrencyCap>[] parts) => parts;

    [Theory]
    [InlineData(0, 0, 0, 1, 0)]
    [InlineData(3, 0, 0, 1, 3)]   // Due alone
    [InlineData(0, 5, 0, 1, 5)]   // Upcoming alone
    [InlineData(0, 0, 2, 1, 2)]   // InFlight alone
    [InlineData(3, 5, 2, 4, 3)]   // ceil(10 / 4)
    [InlineData(4, 0, 4, 4, 2)]   // exactly two tasks' worth
    [InlineData(1, 0, 0, 1000, 1)] // one run still needs a task
    public void Required_tasks_are_the_ceiling_of_the_runs_over_runs_per_task(double due, double upcoming, double inFlight, int runsPerTask, int expected)
    {
        CapacityRequirement r = CapacityRequirement.Compute(due, upcoming, inFlight, runsPerTask, 0, 100);
        Assert.Equal(expected, r.RequiredTasks);
        Assert.Equal(expected, r.DemandTasks);
        Assert.Equal(due + upcoming + inFlight, r.Runs);
        Assert.Null(r.RunCap);
    }

    [Fact]
    public void The_range_clamps_the_requirement_and_keeps_the_unclamped_parts()
    {
        CapacityRequirement high = CapacityRequirement.Compute(30, 0, 0, 2, 1, 10);
        Assert.Equal(15, high.DemandTasks);
        Assert.Equal(10, high.RequiredTasks);
        CapacityRequirement low = CapacityRequirement.Compute(0, 0, 0, 2, 1, 10);
        Assert.Equal(0, low.DemandTasks);
        Assert.Equal(1, low.RequiredTasks);
        Assert.Equal("ceil((Due 30 + Upcoming 0 + InFlight 0) / 2) = 15; min 1, max 10: 10", high.Reason);
    }

    [Fact]
    public void A_pool_limit_caps_the_runs_and_the_tightest_limit_of_a_part_wins()
    {
        // 12 runs, 2 a task: 6 tasks; the pool lets 8 run at once: 4 tasks; its queues only 6: 3 tasks.
        CapacityRequirement pool = CapacityRequirement.Compute(6, 4, 2, 2, 0, 10, Parts(new[] { new ConcurrencyCap("pool k8s", 8) }));
        Assert.Equal(6, pool.DemandTasks);
        Assert.Equal(8, pool.RunCap);
        Assert.Equal(4, pool.RequiredTasks);
        Assert.Contains("pool k8s caps runs at 8 -> 4", pool.Reason);
        CapacityRequirement queues = CapacityRequirement.Compute(6, 4, 2, 2, 0, 10, Parts(new[] { new ConcurrencyCap("pool k8s", 8), new ConcurrencyCap("queues a, b of pool k8s", 6) }));
        Assert.Equal(6, queues.RunCap);
        Assert.Equal(3, queues.RequiredTasks);
        Assert.Equal("queues a, b of pool k8s", queues.CapSource);
    }

    [Fact]
    public void The_parts_of_a_scope_add_up_and_a_part_without_a_limit_leaves_the_scope_uncapped()
    {
        CapacityRequirement both = CapacityRequirement.Compute(20, 0, 0, 1, 0, 50, Parts(new[] { new ConcurrencyCap("pool a", 3) }, new[] { new ConcurrencyCap("pool b", 4) }));
        Assert.Equal(7, both.RunCap);
        Assert.Equal(7, both.RequiredTasks);
        CapacityRequirement open = CapacityRequirement.Compute(20, 0, 0, 1, 0, 50, Parts(new[] { new ConcurrencyCap("pool a", 3) }, Array.Empty<ConcurrencyCap>()));
        Assert.Null(open.RunCap);
        Assert.Equal(20, open.RequiredTasks);
    }

    [Fact]
    public void Active_slots_leave_the_binding_its_own_runs_and_the_free_slots()
    {
        // Limit 10, 8 held (3 of them this binding's in-flight runs): 3 + 2 free = 5 runs.
        var cap = new ConcurrencyCap("pool k8s", 10, activeSlots: 8);
        Assert.Equal(5, cap.RunsFor(3));
        CapacityRequirement r = CapacityRequirement.Compute(6, 0, 3, 1, 0, 20, Parts(new[] { cap }));
        Assert.Equal(5, r.RunCap);
        Assert.Equal(5, r.RequiredTasks);
        // Never more than the limit, and a full pool still keeps the binding's own runs.
        Assert.Equal(10, new ConcurrencyCap("p", 10, 0).RunsFor(4));
        Assert.Equal(3, new ConcurrencyCap("p", 10, 12).RunsFor(3));
    }

    [Fact]
    public void The_floor_never_drops_below_the_desired_count_while_a_run_is_unprotected()
    {
        CapacityRequirement r = CapacityRequirement.Compute(0, 0, 1, 1, 0, 10);
        Assert.Equal(1, r.RequiredTasks);
        Assert.Equal(4, r.FloorWithGuard(desiredTasks: 4, unprotectedInFlight: 1));
        Assert.Equal(4, r.FloorWithGuard(desiredTasks: 4, unprotectedInFlight: null)); // unknown counts as busy
        Assert.Equal(1, r.FloorWithGuard(desiredTasks: 4, unprotectedInFlight: 0));
        Assert.Equal(10, r.FloorWithGuard(desiredTasks: 12, unprotectedInFlight: 1)); // never above the maximum
        Assert.Equal(1, r.FloorWithGuard(desiredTasks: 0, unprotectedInFlight: 1));   // scale-out is never held back
    }

    [Fact]
    public void Limits_never_scale_in_below_the_busy_guard_s_floor_they_only_stop_growth()
    {
        // 6 due runs, none in flight, a pool limit of 2: the requirement is 2, the guard's floor 6.
        CapacityRequirement r = CapacityRequirement.Compute(6, 0, 0, 1, 0, 10, Parts(new[] { new ConcurrencyCap("pool k8s", 2) }));
        Assert.Equal((2, 6), (r.RequiredTasks, r.GuardTasks));
        Assert.Equal(2, r.FloorWithGuard(desiredTasks: 0, unprotectedInFlight: 0)); // scale-out stops at the limit
        Assert.Equal(6, r.FloorWithGuard(desiredTasks: 8, unprotectedInFlight: 0)); // scale-in stops at the guard's floor
        Assert.Equal(4, r.FloorWithGuard(desiredTasks: 4, unprotectedInFlight: 0)); // and never raises because of it
    }

    [Theory]
    [InlineData(-1, 0, 0, 1)]
    [InlineData(0, double.NaN, 0, 1)]
    [InlineData(0, 0, double.PositiveInfinity, 1)]
    [InlineData(0, 0, 0, 0)]
    [InlineData(0, 0, 0, 1001)]
    public void Bad_input_is_an_error(double due, double upcoming, double inFlight, int runsPerTask)
    {
        Assert.ThrowsAny<ArgumentException>(() => CapacityRequirement.Compute(due, upcoming, inFlight, runsPerTask, 0, 1));
    }

    [Fact]
    public void The_alarm_carries_the_settings_the_publisher_reads_back()
    {
        var spec = new ScalingPolicySpec
        {
            Cluster = "prod", Service = "agent", Scope = Bindings.BindingScope.From(new[] { "pool" }, null), MinCapacity = 1, MaxCapacity = 9,
            Kind = ScalingPolicyKind.Capacity, RunsPerTask = 4, ScaleInAfterPeriods = 1,
        };
        spec.Validate();
        DesiredPolicy policy = Assert.Single(ScalingPolicyDocuments.Policies(spec));
        Assert.EndsWith(CapacityPolicy.Suffix, policy.Name);
        CapacitySettings? settings = CapacityPolicy.Parse((string?)policy.Alarm!["AlarmDescription"]);
        Assert.NotNull(settings);
        Assert.Equal(4, settings!.RunsPerTask);
        Assert.Equal(1, settings.MinCapacity);
        Assert.Equal("ExactCapacity", (string?)policy.PutInput["StepScalingPolicyConfiguration"]!["AdjustmentType"]);
        Assert.Null(CapacityPolicy.Parse("Scale service/prod/agent in. Managed by PrefectScaling."));
        Assert.Throws<ArgumentException>(() => { spec.RunsPerTask = null; spec.Validate(); });
        Assert.Throws<ArgumentException>(() => { spec.RunsPerTask = 0; spec.Validate(); });
    }

    [Fact]
    public void The_scale_in_alarm_reads_the_desired_tasks_and_the_requirement_of_the_binding_and_nothing_else()
    {
        var metric = new Metrics.BacklogMetricOptions { Namespace = "Team/Prefect", StorageResolution = 1 };
        foreach (Bindings.BindingScope scope in new[] { Bindings.BindingScope.From(new[] { "k8s" }, null), Bindings.BindingScope.From(null, new[] { "a", "b" }) })
        {
            var spec = new ScalingPolicySpec
            {
                Cluster = "prod", Service = "agent", Scope = scope, MinCapacity = 0, MaxCapacity = 5, Kind = ScalingPolicyKind.Capacity, RunsPerTask = 2, ScaleInAfterPeriods = 1, Metric = metric,
            };
            spec.Validate();
            List<Bindings.MetricSeries> read = ScalingPolicyDocuments.SeriesRead(ScalingPolicyDocuments.Policies(spec));
            Assert.Equal(new[] { Bindings.BindingSeries.DesiredTasks(metric, "prod", "agent"), Bindings.BindingSeries.RequiredTasks(metric, "prod", "agent") }, read);
            Assert.Equal(10, spec.EffectiveAlarmPeriod);
        }
    }
}
