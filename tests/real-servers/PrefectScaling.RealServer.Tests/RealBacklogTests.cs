using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PrefectScaling.Backlog;
using PrefectScaling.Prefect;
using Xunit.Abstractions;
using static PrefectScaling.Backlog.BacklogMeasure;

namespace PrefectScaling.RealServer.Tests;

internal sealed class TestLog : IEngineLog
{
    public ConcurrentQueue<string> Lines { get; } = new();
    public void Verbose(string message) => Lines.Enqueue("VERBOSE " + message);
    public void Debug(string message) => Lines.Enqueue("DEBUG " + message);
}

internal static class Scenarios
{
    /// <summary>Runs in every state across three pools (default queues in each, odd names), and on 2.x a
    /// legacy queue in default-agent-pool.</summary>
    public static ScenarioSpec Backlog(bool v3)
    {
        var s = new ScenarioSpec("backlog");
        string a = s.Name("alpha"), b = s.Name("beta"), odd = s.OddPool;
        string etl = s.Name("a-etl"), nightly = s.Name("etl-nightly"), hourly = s.Name("etl-hourly");
        s.AddPool(a, "process", etl, s.OddQueue);
        s.AddPool(b, "kubernetes");
        s.AddPool(odd, "ecs", nightly, hourly);
        s.Add(a, "default", RunKind.Late, 2);
        s.Add(a, "default", RunKind.AwaitingRetry);
        s.Add(a, "default", RunKind.Future, 2);
        if (v3) s.Add(a, "default", RunKind.AwaitingConcurrencySlot);
        s.Add(a, "default", RunKind.Pending);
        s.Add(a, "default", RunKind.Running, 2);
        s.Add(a, "default", RunKind.Cancelling);
        s.Add(a, "default", RunKind.Completed);
        s.Add(a, etl, RunKind.Late);
        s.Add(a, etl, RunKind.Running);
        s.Add(a, s.OddQueue, RunKind.Late, 3);
        s.Add(b, "default", RunKind.Late);
        s.Add(b, "default", RunKind.Pending, 2);
        s.Add(odd, nightly, RunKind.Late, 2);
        s.Add(odd, nightly, RunKind.AwaitingRetry);
        s.Add(odd, hourly, RunKind.Running);
        if (!v3)
        {
            string legacy = s.Name("legacy");
            s.LegacyQueues.Add(legacy);
            s.Add(null, legacy, RunKind.Late, 2);
            s.Add(null, legacy, RunKind.AwaitingRetry);
            s.Add(null, legacy, RunKind.Running);
        }
        return s;
    }

    public const int BulkRuns = 230;
    public const int WideQueues = 205;

    /// <summary>More than a page of runs in one queue, and a pool with more than a page of queues.</summary>
    public static ScenarioSpec Paging()
    {
        var s = new ScenarioSpec("paging");
        string bulk = s.Name("bulk"), side = s.Name("side");
        s.AddPool(s.Name("deep"), "process", bulk, side);
        s.Add(s.Name("deep"), bulk, RunKind.LateDirect, BulkRuns);
        s.Add(s.Name("deep"), side, RunKind.LateDirect, 3);
        s.Add(s.Name("deep"), side, RunKind.Running, 2);
        string[] many = Enumerable.Range(0, WideQueues).Select(i => s.Name("q" + i.ToString("000"))).ToArray();
        s.AddPool(s.Name("wide"), "process", many);
        s.Add(s.Name("wide"), many[0], RunKind.Running);
        s.Add(s.Name("wide"), many[150], RunKind.Pending, 2);
        s.Add(s.Name("wide"), many[^1], RunKind.LateDirect, 2);
        return s;
    }

    /// <summary>A PowerShell-style pattern that matches exactly this name.</summary>
    public static string Escape(string name) => Regex.Replace(name, @"[\*\?\[\]`]", m => "`" + m.Value);
}

/// <summary>Reads through the engine, as the cmdlets do, with a fresh connection each time.</summary>
public abstract class RealServerTests
{
    protected static readonly BacklogMeasure[] AllMeasures = { Late, Due, Pending, Running };
    protected ITestOutputHelper Output { get; }

    protected RealServerTests(ServerFixture fixture, ITestOutputHelper output)
    {
        Fixture = fixture;
        Output = output;
    }

    protected ServerFixture Fixture { get; }

    protected Task<ScenarioSpec> BacklogAsync() => Fixture.SeededAsync("backlog", () => Scenarios.Backlog(Fixture.Server.IsV3));

    protected Task<ScenarioSpec> PagingAsync() => Fixture.SeededAsync("paging", Scenarios.Paging);

    /// <summary>A fresh connection with the server's own credentials.</summary>
    protected PrefectClient Connect() => Connect(Fixture.Server.AuthString);

    protected PrefectClient Connect(string? authString) =>
        new(new PrefectConnectionSettings(Fixture.Server.ApiUrl, null, authString), new PrefectHttpOptions { Deadline = TimeSpan.FromSeconds(90) });

    protected async Task<BacklogReadResult> ReadAsync(PrefectClient client, params ScopeSelector[] selectors)
    {
        var log = new TestLog();
        BacklogReadResult result = await new BacklogReader(new WorkQueueCatalog(client)).ReadAsync(selectors, new BacklogReadOptions { Measures = AllMeasures }, log, default);
        Output.WriteLine(Fixture.Server + ": " + client.RequestCount + " request(s) for " + string.Join("; ", selectors.Select(s => s.ToString())));
        return result;
    }

    protected async Task<BacklogReadResult> ReadAsync(params ScopeSelector[] selectors)
    {
        using PrefectClient client = Connect();
        return await ReadAsync(client, selectors);
    }

    protected static ScopeSelector Sel(string? pool, string? queue) => new(pool, queue);

    /// <summary>Each measure of each named queue is there once and equals the seeded number.</summary>
    protected static void AssertCounts(ScenarioSpec spec, BacklogReadResult result, IEnumerable<(string Pool, string Queue)> queues)
    {
        foreach ((string pool, string queue) in queues)
        {
            foreach (BacklogMeasure measure in AllMeasures)
            {
                PrefectBacklogCount[] found = result.Counts.Where(c => c.WorkPool == pool && c.WorkQueue == queue && c.Measure == measure).ToArray();
                Assert.True(found.Length == 1, $"{pool}/{queue} {measure}: {found.Length} counts in [{string.Join(", ", result.Counts)}]");
                Assert.True(spec.Expected(pool, queue, measure) == found[0].Count, $"{pool}/{queue} {measure}: expected {spec.Expected(pool, queue, measure)}, counted {found[0].Count}");
            }
        }
    }

}

/// <summary>The engine's counts against a real server, per scope and measure, equal what was seeded there.</summary>
public abstract class RealBacklogTests : RealServerTests
{
    protected RealBacklogTests(ServerFixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    [Fact]
    public async Task EveryQueueOfAPoolIsCountedForEveryMeasure()
    {
        ScenarioSpec spec = await BacklogAsync();
        if (spec.LateAfter is TimeSpan late) Output.WriteLine(Fixture.Server + ": the late-runs service marked the scenario's runs within " + late.TotalSeconds.ToString("0.0") + " s");
        string pool = spec.Pools[0].Name;
        BacklogReadResult result = await ReadAsync(Sel(pool, null));
        Assert.Empty(result.Failures);
        var queues = spec.Queues().Where(q => q.Pool == pool).ToList();
        AssertCounts(spec, result, queues);
        Assert.Equal(queues.Count * AllMeasures.Length, result.Counts.Count);
        // Worked out from the seed, and not all zero: the scenario has runs in every measure here.
        Assert.All(AllMeasures, m => Assert.True(result.Counts.Where(c => c.Measure == m).Sum(c => c.Count) > 0, m + " counted nothing"));
    }

    [Fact]
    public async Task ADefaultQueueNameAloneIsCountedInEveryPoolThatHasIt()
    {
        ScenarioSpec spec = await BacklogAsync();
        BacklogReadResult result = await ReadAsync(Sel(null, "default"));
        Assert.Empty(result.Failures);
        Assert.All(result.Counts, c => Assert.Equal("default", c.WorkQueue));
        // The server is shared: other scenarios' pools have a default queue too; these three must be exact.
        AssertCounts(spec, result, spec.Pools.Select(p => (p.Name, "default")));
    }

    [Fact]
    public async Task OneQueueOfAPoolAndSeveralQueuesOfSeveralPools()
    {
        ScenarioSpec spec = await BacklogAsync();
        (string a, string etl) = (spec.Pools[0].Name, spec.Pools[0].Queues[0]);
        string b = spec.Pools[1].Name;
        // One queue: counted with /flow_runs/count. Two queues of two pools: one run query by queue id.
        AssertCounts(spec, await ReadAsync(Sel(a, etl)), new[] { (a, etl) });
        BacklogReadResult two = await ReadAsync(Sel(a, etl), Sel(b, "default"));
        Assert.Equal(2 * AllMeasures.Length, two.Counts.Count);
        AssertCounts(spec, two, new[] { (a, etl), (b, "default") });
    }

    [Fact]
    public async Task NamesThatNeedEscapingAndWildcards()
    {
        ScenarioSpec spec = await BacklogAsync();
        string a = spec.Pools[0].Name, odd = spec.OddPool;
        BacklogReadResult exact = await ReadAsync(Sel(a, Scenarios.Escape(spec.OddQueue)), Sel(odd, null));
        Assert.Empty(exact.Failures);
        AssertCounts(spec, exact, spec.Queues().Where(q => q.Pool == odd).Append((a, spec.OddQueue)));

        // Wildcards in both: the pool by a prefix of its odd name, its queues by a prefix.
        BacklogReadResult wild = await ReadAsync(Sel(Scenarios.Escape(odd[..^4]) + "*", "etl-*"));
        Assert.Empty(wild.Failures);
        var etlQueues = spec.Queues().Where(q => q.Pool == odd && q.Queue.StartsWith("etl-", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, etlQueues.Count);
        Assert.Equal(etlQueues.Count * AllMeasures.Length, wild.Counts.Count);
        AssertCounts(spec, wild, etlQueues);
    }

    [Fact]
    public async Task AMissingPoolOrQueueIsNotFoundAndHasNoCount()
    {
        ScenarioSpec spec = await BacklogAsync();
        (string a, string etl) = (spec.Pools[0].Name, spec.Pools[0].Queues[0]);
        string noPool = spec.Name("no-such-pool"), noQueue = spec.Name("no-such-queue");
        BacklogReadResult result = await ReadAsync(Sel(a, etl), Sel(noPool, null), Sel(a, noQueue), Sel(null, noQueue));
        Assert.Equal(3, result.Failures.Count);
        Assert.All(result.Failures, f => Assert.Equal(PrefectErrorKind.NotFound, f.Error.Kind));
        Assert.Contains(result.Failures, f => f.Selector.Equals(Sel(noPool, null)) && f.Error.Message.Contains(noPool, StringComparison.Ordinal));
        Assert.Contains(result.Failures, f => f.Selector.Equals(Sel(a, noQueue)));
        Assert.Contains(result.Failures, f => f.Selector.Equals(Sel(null, noQueue)));
        // The one that exists is still counted, and nothing stands in for the missing ones.
        Assert.All(result.Counts, c => Assert.Equal((a, etl), (c.WorkPool!, c.WorkQueue)));
        AssertCounts(spec, result, new[] { (a, etl) });
    }

    [Fact]
    public async Task ReadingNeverMarksAQueueAsPolled()
    {
        ScenarioSpec spec = await BacklogAsync();
        string a = spec.Pools[0].Name;
        await ReadAsync(Sel(a, null));
        await ReadAsync(Sel(a, spec.Pools[0].Queues[0]));
        using PrefectHttp http = Fixture.Http();
        PrefectAnswer queues = await http.PostAsync("/work_pools/" + PrefectHttp.Segment(a) + "/queues/filter", new JsonObject());
        Assert.Equal(200, queues.Status);
        JsonArray list = queues.Json!.AsArray();
        Assert.Equal(3, list.Count);
        Assert.All(list, q => Assert.Null(q!["last_polled"]));
        Assert.All(list, q => Assert.Equal("NOT_READY", q!["status"]!.GetValue<string>()));
    }
}

/// <summary>Past one page of 200, of runs and of queues (seeded on the servers without auth only: it costs
/// about 450 creates per server).</summary>
public abstract class RealPagingTests : RealServerTests
{
    protected RealPagingTests(ServerFixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    [Fact]
    public async Task RunsPastOnePageInOneQueue()
    {
        ScenarioSpec spec = await PagingAsync();
        PoolSpec deep = spec.Pools[0];
        // The whole pool: the runs come in pages of 200 and are grouped by queue.
        BacklogReadResult pool = await ReadAsync(Sel(deep.Name, null));
        Assert.Empty(pool.Failures);
        AssertCounts(spec, pool, spec.Queues().Where(q => q.Pool == deep.Name));
        Assert.Equal(Scenarios.BulkRuns, pool.Counts.Single(c => c.WorkQueue == deep.Queues[0] && c.Measure == Late).Count);
        // The one queue alone: one count request.
        BacklogReadResult one = await ReadAsync(Sel(deep.Name, deep.Queues[0]));
        AssertCounts(spec, one, new[] { (deep.Name, deep.Queues[0]) });
    }

    [Fact]
    public async Task APoolWithMoreThanOnePageOfQueues()
    {
        ScenarioSpec spec = await PagingAsync();
        PoolSpec wide = spec.Pools[1];
        BacklogReadResult result = await ReadAsync(Sel(wide.Name, null));
        Assert.Empty(result.Failures);
        var queues = spec.Queues().Where(q => q.Pool == wide.Name).ToList();
        Assert.Equal(Scenarios.WideQueues + 1, queues.Count);
        Assert.Equal(queues.Count * AllMeasures.Length, result.Counts.Count);
        AssertCounts(spec, result, queues);
        // A queue name from past the first page of the listing, alone.
        AssertCounts(spec, await ReadAsync(Sel(null, wide.Queues[^1])), new[] { (wide.Name, wide.Queues[^1]) });
        // All but the default queue by a wildcard: the runs are asked for by 205 queue ids.
        BacklogReadResult wild = await ReadAsync(Sel(wide.Name, "q*"));
        Assert.Equal(Scenarios.WideQueues * AllMeasures.Length, wild.Counts.Count);
        AssertCounts(spec, wild, queues.Where(q => q.Queue != "default"));
    }
}

[Collection(Prefect2Collection.Name)]
public sealed class Prefect2PagingTests : RealPagingTests
{
    public Prefect2PagingTests(Prefect2Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }
}

[Collection(Prefect3Collection.Name)]
public sealed class Prefect3PagingTests : RealPagingTests
{
    public Prefect3PagingTests(Prefect3Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }
}

[Collection(Prefect2Collection.Name)]
public sealed class Prefect2BacklogTests : RealBacklogTests
{
    public Prefect2BacklogTests(Prefect2Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    [Fact]
    public async Task ALegacyQueueInDefaultAgentPoolIsCountedByNameAndByPool()
    {
        ScenarioSpec spec = await BacklogAsync();
        string legacy = spec.LegacyQueues.Single();
        BacklogReadResult byName = await ReadAsync(Sel(null, legacy));
        Assert.Empty(byName.Failures);
        AssertCounts(spec, byName, new[] { (ScenarioSpec.DefaultAgentPool, legacy) });
        BacklogReadResult byPool = await ReadAsync(Sel(ScenarioSpec.DefaultAgentPool, legacy), Sel(spec.Pools[1].Name, "default"));
        AssertCounts(spec, byPool, new[] { (ScenarioSpec.DefaultAgentPool, legacy), (spec.Pools[1].Name, "default") });
    }
}

[Collection(Prefect3Collection.Name)]
public sealed class Prefect3BacklogTests : RealBacklogTests
{
    public Prefect3BacklogTests(Prefect3Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    [Fact]
    public async Task RunsWaitingForAConcurrencySlotAreNotDue()
    {
        ScenarioSpec spec = await BacklogAsync();
        string a = spec.Pools[0].Name;
        Assert.Contains(spec.Runs, r => r.Pool == a && r.Queue == "default" && r.Kind == RunKind.AwaitingConcurrencySlot);
        BacklogReadResult result = await ReadAsync(Sel(a, "default"));
        // Late 2 + due retry 1; the due AwaitingConcurrencySlot run is SCHEDULED too but left out.
        Assert.Equal(3, result.Counts.Single(c => c.Measure == Due).Count);
        using PrefectHttp http = Fixture.Http();
        long scheduledAndDue = await http.CountAsync(new JsonObject
        {
            ["work_pools"] = new JsonObject { ["name"] = new JsonObject { ["any_"] = new JsonArray(a) } },
            ["work_pool_queues"] = new JsonObject { ["name"] = new JsonObject { ["any_"] = new JsonArray("default") } },
            ["flow_runs"] = new JsonObject
            {
                ["state"] = new JsonObject { ["type"] = new JsonObject { ["any_"] = new JsonArray("SCHEDULED") } },
                ["next_scheduled_start_time"] = new JsonObject { ["before_"] = ScenarioSpec.Timestamp(DateTimeOffset.UtcNow) },
            },
        });
        Assert.Equal(4, scheduledAndDue);
    }
}

/// <summary>Basic auth on a real 3.8.3 server: the right credentials count, missing and wrong ones are
/// refused before anything is counted.</summary>
[Collection(Prefect3AuthCollection.Name)]
public sealed class Prefect3AuthBacklogTests : RealBacklogTests
{
    public Prefect3AuthBacklogTests(Prefect3AuthFixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MissingOrWrongCredentialsAreUnauthorizedAndCountNothing(bool wrong)
    {
        ScenarioSpec spec = await BacklogAsync();
        string auth = Fixture.Server.AuthString!;
        string? credentials = wrong ? auth[..auth.IndexOf(':')] + ":not-" + auth[(auth.IndexOf(':') + 1)..] : null;
        using PrefectClient client = Connect(credentials);
        var log = new TestLog();
        var reader = new BacklogReader(new WorkQueueCatalog(client));
        PrefectApiException e = await Assert.ThrowsAsync<PrefectApiException>(() =>
            reader.ReadAsync(new[] { Sel(spec.Pools[0].Name, null) }, new BacklogReadOptions { Measures = AllMeasures }, log, default));
        Assert.Equal(PrefectErrorKind.Unauthorized, e.Kind);
        Assert.Equal(401, e.StatusCode);
        Assert.DoesNotContain(auth, e.Message + string.Join("\n", log.Lines), StringComparison.Ordinal);
        if (credentials != null) Assert.DoesNotContain(credentials, e.Message + string.Join("\n", log.Lines), StringComparison.Ordinal);
    }
}
