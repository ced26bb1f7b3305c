using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Prefect;
using Xunit.Abstractions;
using static PrefectScaling.Backlog.BacklogMeasure;

namespace PrefectScaling.RealServer.Tests;

/// <summary>The busy guard's count on a real server: InFlight counts a binding's Pending, Running and Cancelling runs
/// and its SCHEDULED runs due within the look-ahead, and nothing else (Late, due, far ahead, done, another queue's);
/// Upcoming counts the SCHEDULED runs after the look-ahead and within the lead. The look-ahead is 10 minutes here so
/// that the seeded runs stay inside their windows however long seeding takes.</summary>
public abstract class RealInFlightTests : RealServerTests
{
    protected RealInFlightTests(ServerFixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    private static readonly MeasureWindows Windows = new(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30));

    private static ScenarioSpec Build()
    {
        var s = new ScenarioSpec("inflight");
        string pool = s.Name("guard"), etl = s.Name("g-etl"), other = s.Name("g-other");
        s.AddPool(pool, "process", etl, other);
        s.Add(pool, etl, RunKind.Pending, 2);
        s.Add(pool, etl, RunKind.Running, 3);
        s.Add(pool, etl, RunKind.Cancelling);
        s.Add(pool, etl, RunKind.Soon, 2);
        s.Add(pool, etl, RunKind.Ahead, 4);
        s.Add(pool, etl, RunKind.Future);
        s.Add(pool, etl, RunKind.LateDirect, 2);
        s.Add(pool, etl, RunKind.Completed);
        // Another queue of the pool: in the pool's total, never in etl's.
        s.Add(pool, other, RunKind.Running);
        s.Add(pool, other, RunKind.Soon);
        s.Add(pool, other, RunKind.Ahead);
        return s;
    }

    private Task<ScenarioSpec> ScenarioAsync() => Fixture.SeededAsync("inflight", Build);

    [Fact]
    public async Task InFlight_and_Upcoming_count_the_binding_s_scope_as_seeded_for_a_pool_and_for_one_of_its_queues()
    {
        ScenarioSpec spec = await ScenarioAsync();
        string pool = spec.Name("guard"), etl = spec.Name("g-etl"), other = spec.Name("g-other");
        BindingScope wholePool = BindingScope.From(new[] { pool }, null), oneQueue = BindingScope.From(new[] { pool }, new[] { etl });

        using PrefectClient client = Connect();
        BindingTotalsResult result = await new BindingTotalsReader(new WorkQueueCatalog(client))
            .ReadAsync(new[] { wholePool, oneQueue }, new BindingTotalsOptions { Measures = new[] { Late, InFlight, Upcoming }, Windows = Windows }, new TestLog(), default);

        int Expected(BacklogMeasure m, params string[] queues) => queues.Sum(q => spec.Expected(pool, q, m));
        int Total(ScopeTotals t, BacklogMeasure m)
        {
            Assert.True(t.Failure == null, t.Scope + ": " + t.Failure?.Message);
            return t.Totals.Single(x => x.Measure == m).Count;
        }
        ScopeTotals poolTotals = result.Scopes[0], queueTotals = result.Scopes[1];
        // Pending 2 + Running 3 + Cancelling 1 + 2 due within the look-ahead in etl; Running 1 + 1 soon in the other queue.
        Assert.Equal(8, Expected(InFlight, etl));
        Assert.Equal(8, Total(queueTotals, InFlight));
        Assert.Equal(Expected(InFlight, etl, other), Total(poolTotals, InFlight));
        Assert.Equal(10, Total(poolTotals, InFlight));
        Assert.Equal(4, Total(queueTotals, Upcoming));
        Assert.Equal(5, Total(poolTotals, Upcoming));
        Assert.Equal(2, Total(queueTotals, Late));
        Output.WriteLine(Fixture.Server + ": InFlight " + Total(poolTotals, InFlight) + ", Upcoming " + Total(poolTotals, Upcoming) + " in " + client.RequestCount + " request(s)");
    }

    [Fact]
    public async Task The_per_queue_read_counts_InFlight_and_Upcoming_per_queue_as_seeded()
    {
        ScenarioSpec spec = await ScenarioAsync();
        string pool = spec.Name("guard");
        using PrefectClient client = Connect();
        BacklogReadResult read = await new BacklogReader(new WorkQueueCatalog(client)).ReadAsync(
            BindingScope.From(new[] { pool }, null).Selectors(), new BacklogReadOptions { Measures = new[] { InFlight, Upcoming }, Windows = Windows }, new TestLog(), default);
        Assert.Empty(read.Failures);
        foreach ((string p, string queue) in spec.Queues().Where(q => q.Pool == pool))
            foreach (BacklogMeasure measure in new[] { InFlight, Upcoming })
                Assert.Equal(spec.Expected(p, queue, measure), read.Counts.Single(c => c.WorkQueue == queue && c.Measure == measure).Count);
    }

    [Fact]
    public async Task The_publisher_s_one_minute_look_ahead_leaves_runs_five_minutes_ahead_out_of_InFlight()
    {
        ScenarioSpec spec = await ScenarioAsync();
        string pool = spec.Name("guard"), etl = spec.Name("g-etl");
        using PrefectClient client = Connect();
        BindingTotalsResult result = await new BindingTotalsReader(new WorkQueueCatalog(client)).ReadAsync(
            new[] { BindingScope.From(new[] { pool }, new[] { etl }) },
            new BindingTotalsOptions { Measures = new[] { InFlight }, Windows = MeasureWindows.ForCycle(TimeSpan.FromSeconds(60)) }, new TestLog(), default);
        ScopeTotals totals = Assert.Single(result.Scopes);
        Assert.True(totals.Failure == null, totals.Failure?.Message);
        // Pending, Running and Cancelling only: the two runs 5 minutes ahead are beyond a one-minute cycle.
        Assert.Equal(6, Assert.Single(totals.Totals).Count);
    }
}

[Collection(Prefect2Collection.Name)]
public sealed class Prefect2InFlightTests : RealInFlightTests
{
    public Prefect2InFlightTests(Prefect2Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }
}

[Collection(Prefect3Collection.Name)]
public sealed class Prefect3InFlightTests : RealInFlightTests
{
    public Prefect3InFlightTests(Prefect3Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }
}
