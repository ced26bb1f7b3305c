using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Capacity;
using PrefectScaling.Prefect;
using PrefectScaling.Publisher;
using Xunit.Abstractions;

namespace PrefectScaling.RealServer.Tests;

/// <summary>The capacity policy's counts against the real 3.x server: runs a deployment's schedule made ahead of their
/// start are Upcoming within the lead time, InFlight within the look-ahead, and neither beyond it, for each kind of
/// binding scope; a pool's concurrency limit and active_slots come back as the requirement reads them.</summary>
[Collection(Prefect3Collection.Name)]
public sealed class RealUpcomingTests : RealServerTests
{
    public RealUpcomingTests(Prefect3Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    // Wide windows: a slow machine may take minutes between seeding and counting.
    private static readonly MeasureWindows Windows = new(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(30));

    private static JsonObject Scheduled(DateTimeOffset at) => new()
    {
        ["type"] = "SCHEDULED", ["name"] = "Scheduled", ["state_details"] = new JsonObject { ["scheduled_time"] = ScenarioSpec.Timestamp(at) },
    };

    /// <summary>Pool "up-…" (concurrency limit 50) with queues a and b: queue a has runs due in 5 min (InFlight's
    /// look-ahead), 15 and 20 min (Upcoming) and 2 h (neither) and one Running; queue b one run due in 25 min.</summary>
    private async Task<string> SeedAsync(string suffix)
    {
        using PrefectHttp http = Fixture.Http();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        string pool = "up-" + suffix;
        string flow = (await http.CreateAsync("/flows/", new JsonObject { ["name"] = "flow-up-" + suffix }))!["id"]!.GetValue<string>();
        await http.CreateAsync("/work_pools/", new JsonObject { ["name"] = pool, ["type"] = "process", ["concurrency_limit"] = 50 });
        foreach (string queue in new[] { "a", "b" })
            await http.CreateAsync("/work_pools/" + PrefectHttp.Segment(pool) + "/queues", new JsonObject { ["name"] = queue });
        string deployment = (await http.CreateAsync("/deployments/", new JsonObject { ["name"] = "dep-up-" + suffix, ["flow_id"] = flow, ["work_pool_name"] = pool, ["work_queue_name"] = "a" }))!["id"]!.GetValue<string>();
        int key = 0;
        async Task RunAsync(string queue, JsonObject state) => await http.CreateAsync("/deployments/" + deployment + "/create_flow_run",
            new JsonObject { ["idempotency_key"] = suffix + "-" + key++, ["work_queue_name"] = queue, ["state"] = state });
        await RunAsync("a", Scheduled(now.AddMinutes(5)));
        await RunAsync("a", Scheduled(now.AddMinutes(15)));
        await RunAsync("a", Scheduled(now.AddMinutes(20)));
        await RunAsync("a", Scheduled(now.AddHours(2)));
        await RunAsync("a", new JsonObject { ["type"] = "RUNNING", ["name"] = "Running" });
        await RunAsync("b", Scheduled(now.AddMinutes(25)));
        return pool;
    }

    [Fact]
    public async Task Scheduled_runs_seeded_ahead_are_upcoming_within_the_lead_time_for_each_kind_of_scope()
    {
        string suffix = Guid.NewGuid().ToString("N")[..8];
        string pool = await SeedAsync(suffix);
        BindingScope whole = BindingScope.From(new[] { pool }, null), queueA = BindingScope.From(new[] { pool }, new[] { "a" });
        using PrefectClient client = Connect();
        BindingTotalsResult read = await new BindingTotalsReader(new WorkQueueCatalog(client)).ReadAsync(new[] { whole, queueA },
            new BindingTotalsOptions { Measures = new[] { BacklogMeasure.Due, BacklogMeasure.Upcoming, BacklogMeasure.InFlight }, Windows = Windows }, new TestLog(), default);
        int Count(int scope, BacklogMeasure m)
        {
            ScopeTotals totals = read.Scopes[scope];
            Assert.True(totals.Failure == null, totals.Scope + ": " + totals.Failure?.Message);
            return totals.Totals.Single(t => t.Measure == m).Count;
        }
        Output.WriteLine(string.Join("; ", read.Scopes.Select(s => s.Scope + ": " + string.Join(", ", s.Totals.Select(t => t.Measure + " " + t.Count)))));
        Assert.Equal((0, 3, 2), (Count(0, BacklogMeasure.Due), Count(0, BacklogMeasure.Upcoming), Count(0, BacklogMeasure.InFlight)));
        Assert.Equal((0, 2, 2), (Count(1, BacklogMeasure.Due), Count(1, BacklogMeasure.Upcoming), Count(1, BacklogMeasure.InFlight)));

        // The requirement as the publisher computes it for the whole pool, 2 runs a task: ceil((0 + 3 + 2) / 2) = 3.
        List<PrefectWorkPool> pools = await new WorkQueueCatalog(client).ListPoolsAsync(new[] { pool }, new TestLog(), default);
        PrefectWorkPool listed = Assert.Single(pools);
        Assert.Equal(50, listed.ConcurrencyLimit);
        // active_slots: the pool's Pending and Running runs (the one Running).
        Assert.Equal(1, listed.ActiveSlots);
        var caps = CapacityApplier.CapsOf(whole, pools, Array.Empty<Prefect.PrefectWorkQueue>());
        CapacityRequirement requirement = CapacityRequirement.Compute(Count(0, BacklogMeasure.Due), Count(0, BacklogMeasure.Upcoming), Count(0, BacklogMeasure.InFlight), 2, 0, 10, caps);
        Assert.Equal(3, requirement.RequiredTasks);
        Assert.Equal(50, requirement.RunCap);
    }
}
