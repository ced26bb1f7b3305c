using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Prefect;
using PrefectScaling.Testing.PrefectEmulator;
using Xunit.Abstractions;
using static PrefectScaling.Backlog.BacklogMeasure;

namespace PrefectScaling.RealServer.Tests;

/// <summary>Totals of whole scopes against a real server: a pool's total and a pool-and-queues total equal what the
/// server itself counts for that scope and measure (a body written out here, from the measures' definitions), and
/// the seeded numbers; scopes read together from pages equal the same scopes counted; and every request the reader
/// sends gets the same answer from the emulator as from the real server.</summary>
public abstract class RealTotalsTests : RealServerTests
{
    protected RealTotalsTests(ServerFixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    protected abstract EmulatorMode Mode { get; }

    private static BindingScope Pools(params string[] pools) => BindingScope.Of(pools.Select(p => new BindingScope.PoolPart(p, Array.Empty<string>())), null);

    private static BindingScope PoolQueues(string pool, params string[] queues) => BindingScope.Of(new[] { new BindingScope.PoolPart(pool, queues) }, null);

    private static BindingScope AnyPool(params string[] queues) => BindingScope.Of(Array.Empty<BindingScope.PoolPart>(), queues);

    private async Task<BindingTotalsResult> TotalsAsync(params BindingScope[] scopes)
    {
        using PrefectClient client = Connect();
        BindingTotalsResult result = await new BindingTotalsReader(new WorkQueueCatalog(client)).ReadAsync(scopes, new BindingTotalsOptions { Measures = AllMeasures }, new TestLog(), default);
        Output.WriteLine(Fixture.Server + ": " + client.RequestCount + " request(s) for " + string.Join("; ", scopes.Select(s => s.ToString())) + (result.ReadByPages ? " (pages)" : " (counts)"));
        return result;
    }

    /// <summary>Each measure as the README defines it, written out for this server (not built by the module).</summary>
    private JsonObject MeasureFilter(BacklogMeasure measure, DateTimeOffset now) => measure switch
    {
        Late => Json("""{"state":{"name":{"any_":["Late"]}}}"""),
        Due => Json(Fixture.Server.IsV3
            ? """{"state":{"type":{"any_":["SCHEDULED"]},"name":{"not_any_":["AwaitingConcurrencySlot"]}},"next_scheduled_start_time":{"before_":"NOW"}}"""
            : """{"state":{"type":{"any_":["SCHEDULED"]},"name":{"any_":["Scheduled","Late","AwaitingRetry"]}},"next_scheduled_start_time":{"before_":"NOW"}}""", now),
        Pending => Json("""{"state":{"type":{"any_":["PENDING"]}}}"""),
        _ => Json("""{"state":{"type":{"any_":["RUNNING"]}}}"""),
    };

    private static JsonObject Json(string text, DateTimeOffset? now = null) =>
        JsonNode.Parse(now is DateTimeOffset t ? text.Replace("NOW", ScenarioSpec.Timestamp(t)) : text)!.AsObject();

    private static JsonArray Names(IEnumerable<string> names) => new(names.Select(n => (JsonNode?)JsonValue.Create(n)).ToArray());

    /// <summary>What the server counts for a pool, or for some queues of it, and a measure.</summary>
    private async Task<long> ServerCountAsync(string pool, IReadOnlyList<string>? queues, BacklogMeasure measure, DateTimeOffset now)
    {
        var body = new JsonObject
        {
            ["work_pools"] = new JsonObject { ["name"] = new JsonObject { ["any_"] = Names(new[] { pool }) } },
            ["flow_runs"] = MeasureFilter(measure, now),
        };
        if (queues != null) body["work_pool_queues"] = new JsonObject { ["name"] = new JsonObject { ["any_"] = Names(queues) } };
        using PrefectHttp http = Fixture.Http();
        return await http.CountAsync(body);
    }

    private static int Seeded(ScenarioSpec spec, string pool, IEnumerable<string> queues, BacklogMeasure measure) => queues.Sum(q => spec.Expected(pool, q, measure));

    private static int[] CountsOf(ScopeTotals totals)
    {
        Assert.True(totals.Failure == null, totals.Scope + ": " + totals.Failure?.Message);
        return totals.Totals.Select(t => t.Count).ToArray();
    }

    [Fact]
    public async Task APoolTotalEqualsTheServersOwnCountOfThePoolForEveryMeasure()
    {
        ScenarioSpec spec = await BacklogAsync();
        foreach (PoolSpec pool in spec.Pools)
        {
            BindingTotalsResult result = await TotalsAsync(Pools(pool.Name));
            Assert.False(result.ReadByPages);
            ScopeTotals totals = Assert.Single(result.Scopes);
            DateTimeOffset measuredAt = new(DateTime.SpecifyKind(totals.Totals[0].Timestamp, DateTimeKind.Utc));
            int[] counts = CountsOf(totals);
            for (int i = 0; i < AllMeasures.Length; i++)
            {
                string what = pool.Name + " " + AllMeasures[i];
                // Due is "before now": the server is asked about the same instant the total was measured at.
                Assert.True(await ServerCountAsync(pool.Name, null, AllMeasures[i], measuredAt) == counts[i], what + ": the server counts otherwise");
                Assert.True(Seeded(spec, pool.Name, spec.Queues().Where(q => q.Pool == pool.Name).Select(q => q.Queue), AllMeasures[i]) == counts[i], what + ": not what was seeded");
            }
        }
        Assert.Contains(spec.Pools, p => spec.Runs.Any(r => r.Pool == p.Name && r.Kind == RunKind.Late));
    }

    [Fact]
    public async Task APoolAndQueuesTotalEqualsTheServersOwnCountOfThoseQueuesForEveryMeasure()
    {
        ScenarioSpec spec = await BacklogAsync();
        (string a, string etl) = (spec.Pools[0].Name, spec.Pools[0].Queues[0]);
        PoolSpec odd = spec.Pools[2];
        foreach ((string pool, string[] queues) in new[] { (a, new[] { "default", etl }), (a, new[] { spec.OddQueue }), (odd.Name, odd.Queues.ToArray()) })
        {
            ScopeTotals totals = Assert.Single((await TotalsAsync(PoolQueues(pool, queues))).Scopes);
            DateTimeOffset measuredAt = new(DateTime.SpecifyKind(totals.Totals[0].Timestamp, DateTimeKind.Utc));
            int[] counts = CountsOf(totals);
            for (int i = 0; i < AllMeasures.Length; i++)
            {
                string what = pool + " " + string.Join(",", queues) + " " + AllMeasures[i];
                Assert.True(await ServerCountAsync(pool, queues, AllMeasures[i], measuredAt) == counts[i], what + ": the server counts otherwise");
                Assert.True(Seeded(spec, pool, queues, AllMeasures[i]) == counts[i], what + ": not what was seeded");
            }
        }
    }

    [Fact]
    public async Task ScopesReadTogetherFromPagesEqualTheSameScopesCounted()
    {
        ScenarioSpec spec = await BacklogAsync();
        (string a, string b, string odd) = (spec.Pools[0].Name, spec.Pools[1].Name, spec.Pools[2].Name);
        var scopes = new List<BindingScope>
        {
            Pools(a),
            Pools(b, odd),
            PoolQueues(a, "default", spec.Pools[0].Queues[0]),
            PoolQueues(odd, spec.Pools[2].Queues[0]),
            AnyPool(spec.OddQueue),
        };
        if (spec.LegacyQueues.Count > 0) scopes.Add(AnyPool(spec.LegacyQueues[0]));
        BindingTotalsResult together = await TotalsAsync(scopes.ToArray());
        Assert.True(together.ReadByPages);
        for (int i = 0; i < scopes.Count; i++)
        {
            BindingTotalsResult alone = await TotalsAsync(scopes[i]);
            Assert.False(alone.ReadByPages);
            int[] paged = CountsOf(together.Scopes[i]), counted = CountsOf(alone.Scopes[0]);
            Assert.True(counted.SequenceEqual(paged), scopes[i] + ": pages " + string.Join(",", paged) + ", counts " + string.Join(",", counted));
        }
        // Not all zero: Late, Due, Pending and Running each have runs in these scopes.
        Assert.All(Enumerable.Range(0, AllMeasures.Length), m => Assert.True(together.Scopes.Sum(s => s.Totals[m].Count) > 0, AllMeasures[m] + " counted nothing"));
    }

    [Fact]
    public async Task AMissingNameOrAQueueInSeveralPoolsFailsOnlyItsScope()
    {
        ScenarioSpec spec = await BacklogAsync();
        string a = spec.Pools[0].Name;
        BindingTotalsResult result = await TotalsAsync(Pools(spec.Name("no-such-pool")), PoolQueues(a, spec.Name("no-such-queue")), AnyPool("default"), Pools(a));
        Assert.Equal(PrefectErrorKind.NotFound, result.Scopes[0].Failure!.Kind);
        Assert.Equal(PrefectErrorKind.NotFound, result.Scopes[1].Failure!.Kind);
        Assert.Equal(PrefectErrorKind.InvalidSettings, result.Scopes[2].Failure!.Kind);
        Assert.Contains(a, result.Scopes[2].Failure!.Message);
        Assert.Equal(Seeded(spec, a, spec.Queues().Where(q => q.Pool == a).Select(q => q.Queue), Late), CountsOf(result.Scopes[3])[0]);
    }

    [Fact]
    public async Task TheReadersRequestsGetTheSameAnswersFromTheEmulator()
    {
        ContractPair pair = await Fixture.SharedAsync("contract-pair", () => ContractPair.StartAsync(Fixture, Mode));
        ScenarioSpec spec = pair.Spec;
        string a = spec.Pools[0].Name, etl = spec.Pools[0].Queues[0];
        BindingScope[][] reads =
        {
            new[] { Pools(a) },
            new[] { PoolQueues(a, "default", etl) },
            new[] { AnyPool(etl) },
            // Together: the paged read of the active runs, for every measure.
            new[] { Pools(a), PoolQueues(spec.OddPool, "default"), AnyPool(spec.OddQueue), Pools(spec.Name("missing")), AnyPool("default") },
            // Queues only: the paged read by queue ids.
            new[] { PoolQueues(a, etl), AnyPool(spec.Pools[1].Queues[0]) },
        };
        pair.Emulator.ResetRequests();
        bool paged = false;
        foreach (BindingScope[] scopes in reads)
        {
            using var client = new PrefectClient(new PrefectConnectionSettings(pair.Emulator.ApiUrl, null, Fixture.Server.AuthString));
            BindingTotalsResult result = await new BindingTotalsReader(new WorkQueueCatalog(client)).ReadAsync(scopes, new BindingTotalsOptions { Measures = AllMeasures }, new TestLog(), default);
            paged |= result.ReadByPages;
        }
        Assert.True(paged, "a paged read was sent");
        var recorded = pair.Emulator.Requests.Select(r => (r.Method, r.Path, r.Body)).Distinct().ToList();
        Assert.Contains(recorded, r => r.Path == "/flow_runs/count" && r.Body!.Contains("work_pool_queues"));
        Assert.Contains(recorded, r => r.Path == (Fixture.Server.IsV3 ? "/flow_runs/paginate" : "/flow_runs/filter") && r.Body!.Contains("\"or_\""));

        var differences = new List<string>();
        foreach ((string method, string path, string? body) in recorded)
        {
            PrefectAnswer emulated = await pair.Emulated.SendAsync(new HttpMethod(method), path, body);
            PrefectAnswer real = await pair.Real.SendAsync(new HttpMethod(method), path, pair.Translate(body));
            string call = method + " " + path + " " + body;
            if (real.Status != emulated.Status) differences.Add(call + "\n    status: real " + real.Status + ", emulator " + emulated.Status);
            else if (real.Json == null || emulated.Json == null) { if (real.Text != emulated.Text) differences.Add(call + "\n    body: real " + real + ", emulator " + emulated); }
            // Compared as multisets: the reader never depends on order, and queues of one name (default, in several
            // pools) come in an order of their own on each server (2.20.25: the order they were made in).
            else differences.AddRange(JsonContract.Diff(pair.Scope(path, real.Json), pair.Scope(path, emulated.Json), ordered: false, new HashSet<string> { "idempotency_key" })
                .Select(d => call + "\n    " + d));
        }
        Assert.True(differences.Count == 0, recorded.Count + " requests replayed; differences:\n" + string.Join("\n", differences));
    }
}

[Collection(Prefect2Collection.Name)]
public sealed class Prefect2TotalsTests : RealTotalsTests
{
    public Prefect2TotalsTests(Prefect2Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }
    protected override EmulatorMode Mode => EmulatorMode.V2;
}

[Collection(Prefect3Collection.Name)]
public sealed class Prefect3TotalsTests : RealTotalsTests
{
    public Prefect3TotalsTests(Prefect3Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }
    protected override EmulatorMode Mode => EmulatorMode.V3;
}
