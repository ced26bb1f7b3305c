using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Prefect;
using PrefectScaling.Simulation;
using Xunit.Abstractions;

namespace PrefectScaling.RealServer.Tests;

/// <summary>Get-PrefectFlowRunHistory's reader against a real server: runs seeded through the REST API, moved
/// Scheduled -> Running -> Completed so the server itself records their start and end, come back with those times,
/// their queue and pool, sorted by expected start; a run still scheduled comes back without a duration.</summary>
public abstract class RealFlowRunHistoryTests : RealServerTests
{
    protected RealFlowRunHistoryTests(ServerFixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    private sealed record Seeded(string Pool, string Queue, List<string> Completed, string Scheduled, DateTimeOffset Before);

    private Task<Seeded> SeedAsync() => Fixture.SharedAsync("history", async () =>
    {
        using PrefectHttp http = Fixture.Http();
        string suffix = Guid.NewGuid().ToString("N")[..8];
        string pool = "history-" + suffix, queue = "replay-" + suffix;
        DateTimeOffset before = DateTimeOffset.UtcNow.AddSeconds(-1);
        Check(await http.PostAsync("/work_pools/", new JsonObject { ["name"] = pool, ["type"] = "process" }), "pool");
        Check(await http.PostAsync("/work_pools/" + PrefectHttp.Segment(pool) + "/queues", new JsonObject { ["name"] = queue }), "queue");
        string flow = (await http.CreateAsync("/flows/", new JsonObject { ["name"] = "history-flow-" + suffix }))!["id"]!.GetValue<string>();
        string deployment = (await http.CreateAsync("/deployments/", new JsonObject { ["name"] = "history-" + suffix, ["flow_id"] = flow, ["work_pool_name"] = pool, ["work_queue_name"] = queue }))!["id"]!.GetValue<string>();

        var completed = new List<string>();
        for (int i = 0; i < 3; i++)
        {
            string id = await CreateRunAsync(http, deployment, queue, DateTimeOffset.UtcNow.AddSeconds(-30 + 10 * i));
            await SetStateAsync(http, id, "RUNNING", "Running");
            await Task.Delay(300); // a measurable duration
            await SetStateAsync(http, id, "COMPLETED", "Completed");
            completed.Add(id);
        }
        string scheduled = await CreateRunAsync(http, deployment, queue, DateTimeOffset.UtcNow.AddMinutes(30));
        return new Seeded(pool, queue, completed, scheduled, before);
    });

    private static async Task<string> CreateRunAsync(PrefectHttp http, string deployment, string queue, DateTimeOffset at)
    {
        var body = new JsonObject
        {
            ["work_queue_name"] = queue,
            ["state"] = new JsonObject { ["type"] = "SCHEDULED", ["name"] = "Scheduled", ["state_details"] = new JsonObject { ["scheduled_time"] = ScenarioSpec.Timestamp(at) } },
        };
        return (await http.CreateAsync("/deployments/" + deployment + "/create_flow_run", body))!["id"]!.GetValue<string>();
    }

    private static async Task SetStateAsync(PrefectHttp http, string id, string type, string name)
    {
        PrefectAnswer answer = await http.PostAsync("/flow_runs/" + id + "/set_state", new JsonObject { ["state"] = new JsonObject { ["type"] = type, ["name"] = name }, ["force"] = true });
        Check(answer, "set_state " + type);
        Assert.Equal("ACCEPT", answer.Json?["status"]?.GetValue<string>());
    }

    private static void Check(PrefectAnswer answer, string what)
    {
        if (answer.Status is not (200 or 201)) throw new InvalidOperationException(what + " answered " + answer);
    }

    [Fact]
    public async Task Completed_runs_come_back_with_the_start_and_end_the_server_recorded()
    {
        Seeded seeded = await SeedAsync();
        using PrefectClient client = Connect();
        var options = new FlowRunHistoryOptions { Since = seeded.Before.AddMinutes(-1), Until = DateTimeOffset.UtcNow.AddHours(1) };

        FlowRunHistory history = await new FlowRunHistoryReader(new WorkQueueCatalog(client)).ReadAsync(BindingScope.From(new[] { seeded.Pool }, null), options, new TestLog(), default);
        Output.WriteLine(Fixture.Server + ": " + client.RequestCount + " request(s), " + history.Runs.Count + " run(s)");

        Assert.False(history.Truncated);
        Assert.Equal(seeded.Completed.Append(seeded.Scheduled), history.Runs.Select(r => r.Id)); // by expected start
        foreach (PrefectFlowRun run in history.Runs.Take(3))
        {
            Assert.Equal(("COMPLETED", "Completed"), (run.State, run.StateName));
            Assert.Equal((seeded.Pool, seeded.Queue), (run.WorkPool, run.WorkQueue));
            DateTime start = Assert.NotNull(run.Start);
            DateTime end = Assert.NotNull(run.End);
            Assert.True(end > start, run.Id + " ended " + end.ToString("O") + ", started " + start.ToString("O"));
            Assert.Equal(end - start, run.Duration);
            Assert.True(run.Duration >= TimeSpan.FromMilliseconds(250));
            Assert.True(start >= seeded.Before.UtcDateTime);
            Assert.True(run.Created >= seeded.Before.UtcDateTime);
        }
        PrefectFlowRun waiting = history.Runs[3];
        Assert.Equal("SCHEDULED", waiting.State);
        Assert.Null(waiting.Start);
        Assert.Null(waiting.Duration);

        // What a replay takes: the three completed, the scheduled one listed as left out.
        WorkloadConversion replay = WorkloadInput.FromFlowRuns(history.Runs);
        Assert.Equal(3, replay.Runs.Count);
        Assert.Single(replay.Skipped);
    }

    [Fact]
    public async Task A_window_before_the_runs_is_empty_and_a_missing_pool_is_an_error()
    {
        Seeded seeded = await SeedAsync();
        using PrefectClient client = Connect();
        var reader = new FlowRunHistoryReader(new WorkQueueCatalog(client));
        var earlier = new FlowRunHistoryOptions { Since = seeded.Before.AddDays(-2), Until = seeded.Before.AddDays(-1) };

        Assert.Empty((await reader.ReadAsync(BindingScope.From(new[] { seeded.Pool }, null), earlier, new TestLog(), default)).Runs);
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => reader.ReadAsync(BindingScope.From(new[] { seeded.Pool + "-gone" }, null), earlier, new TestLog(), default));
        Assert.Equal(PrefectErrorKind.NotFound, e.Kind);
    }
}

[Collection(Prefect2Collection.Name)]
public sealed class Prefect2FlowRunHistoryTests : RealFlowRunHistoryTests
{
    public Prefect2FlowRunHistoryTests(Prefect2Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }
}

[Collection(Prefect3Collection.Name)]
public sealed class Prefect3FlowRunHistoryTests : RealFlowRunHistoryTests
{
    public Prefect3FlowRunHistoryTests(Prefect3Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }
}
