using System.Text;
using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Prefect;
using PrefectScaling.Testing.PrefectEmulator;
using Xunit.Abstractions;
using static PrefectScaling.Backlog.BacklogMeasure;

namespace PrefectScaling.RealServer.Tests;

/// <summary>A real server and the emulator in the matching mode, seeded from one scenario, with a map from the
/// emulator's ids to the real server's (queues and pools get random ids on each).</summary>
public sealed class ContractPair : IAsyncDisposable
{
    private readonly Dictionary<string, string> _ids = new(StringComparer.Ordinal);

    private ContractPair(ScenarioSpec spec, PrefectEmulatorServer emulator, PrefectHttp real, PrefectHttp emulated)
    {
        Spec = spec;
        Emulator = emulator;
        Real = real;
        Emulated = emulated;
    }

    public ScenarioSpec Spec { get; }
    public PrefectEmulatorServer Emulator { get; }
    public PrefectHttp Real { get; }
    public PrefectHttp Emulated { get; }
    public HashSet<string> PoolNames { get; } = new(StringComparer.Ordinal);
    public HashSet<string> QueueNames { get; } = new(StringComparer.Ordinal);

    public static ScenarioSpec Scenario(bool v3)
    {
        var s = new ScenarioSpec("contract");
        string a = s.Name("alpha"), etl = s.Name("etl"), nightly = s.Name("nightly");
        s.AddPool(a, "process", etl, s.OddQueue);
        s.AddPool(s.OddPool, "kubernetes", nightly);
        s.Add(a, "default", RunKind.Late);
        s.Add(a, "default", RunKind.AwaitingRetry);
        s.Add(a, "default", RunKind.Future);
        s.Add(a, "default", RunKind.Pending);
        s.Add(a, "default", RunKind.Running);
        s.Add(a, "default", RunKind.Cancelling);
        s.Add(a, "default", RunKind.Completed);
        if (v3) s.Add(a, "default", RunKind.AwaitingConcurrencySlot);
        s.Add(a, etl, RunKind.LateDirect, 2);
        s.Add(a, s.OddQueue, RunKind.Running);
        s.Add(s.OddPool, nightly, RunKind.LateDirect);
        s.Add(s.OddPool, "default", RunKind.Pending);
        if (!v3)
        {
            s.LegacyQueues.Add(s.Name("legacy"));
            s.Add(null, s.LegacyQueues[0], RunKind.LateDirect);
        }
        return s;
    }

    public static async Task<ContractPair> StartAsync(ServerFixture fixture, EmulatorMode mode)
    {
        ScenarioSpec spec = await fixture.SeededAsync("contract", () => Scenario(fixture.Server.IsV3));
        string? auth = fixture.Server.AuthString;
        PrefectEmulatorServer emulator = await PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = mode, AuthString = auth }, spec.ToEmulatorSeed());
        var pair = new ContractPair(spec, emulator, fixture.Http(), new PrefectHttp(emulator.ApiUrl, auth));
        foreach ((string pool, string queue) in spec.Queues())
        {
            pair.PoolNames.Add(pool);
            pair.QueueNames.Add(queue);
        }
        await pair.MapIdsAsync();
        return pair;
    }

    private async Task MapIdsAsync()
    {
        var listing = new JsonObject { ["work_pools"] = new JsonObject { ["name"] = new JsonObject { ["any_"] = new JsonArray(PoolNames.Select(n => (JsonNode)n).ToArray()) } } };
        Map(await ListAsync(Emulated, "/work_pools/filter", listing), await ListAsync(Real, "/work_pools/filter", listing), p => p["name"]!.GetValue<string>());
        foreach (string pool in PoolNames)
        {
            string path = "/work_pools/" + PrefectHttp.Segment(pool) + "/queues/filter";
            Map(await ListAsync(Emulated, path, new JsonObject()), await ListAsync(Real, path, new JsonObject()), q => q["name"]!.GetValue<string>());
        }
    }

    private void Map(JsonArray emulated, JsonArray real, Func<JsonNode, string> key)
    {
        var byKey = real.ToDictionary(r => key(r!), r => r!["id"]!.GetValue<string>(), StringComparer.Ordinal);
        foreach (JsonNode? e in emulated)
        {
            // default-agent-pool on a shared 2.x server holds other scenarios' legacy queues too.
            if (byKey.TryGetValue(key(e!), out string? id)) _ids[e!["id"]!.GetValue<string>()] = id;
        }
    }

    private static async Task<JsonArray> ListAsync(PrefectHttp http, string path, JsonObject body)
    {
        PrefectAnswer answer = await http.PostAsync(path, body);
        return answer.Status == 200 && answer.Json is JsonArray list ? list : throw new InvalidOperationException(path + " answered " + answer);
    }

    /// <summary>An emulator request body with the real server's ids in place of the emulator's.</summary>
    public string? Translate(string? body)
    {
        if (body == null) return null;
        var sb = new StringBuilder(body);
        foreach (var (emulated, real) in _ids) sb.Replace(emulated, real);
        return sb.ToString();
    }

    /// <summary>What of an answer can be compared on a shared server: of a listing of every pool or queue, this
    /// scenario's items only; and in the shared default-agent-pool a queue's priority depends on how many
    /// legacy queues other scenarios made before (it is still compared as a number).</summary>
    public JsonNode? Scope(string path, JsonNode? answer)
    {
        if (answer is not JsonArray list) return answer;
        IEnumerable<JsonNode?> kept = list;
        if (path.EndsWith("/work_pools/filter", StringComparison.Ordinal))
            kept = list.Where(item => PoolNames.Contains(item!["name"]!.GetValue<string>()));
        else if (path.EndsWith("/work_queues/filter", StringComparison.Ordinal))
            kept = list.Where(item => QueueNames.Contains(item!["name"]!.GetValue<string>()) && PoolNames.Contains(item["work_pool_name"]?.GetValue<string>() ?? ""));
        var copy = new JsonArray(kept.Select(i => i?.DeepClone()).ToArray());
        foreach (JsonObject queue in copy.OfType<JsonObject>())
            if (queue["work_pool_name"]?.GetValue<string>() == ScenarioSpec.DefaultAgentPool && queue["name"]?.GetValue<string>() != "default" && queue["priority"] is JsonValue)
                queue["priority"] = 0;
        return copy;
    }

    public async ValueTask DisposeAsync()
    {
        Real.Dispose();
        Emulated.Dispose();
        await Emulator.DisposeAsync();
    }
}

/// <summary>The emulator answers what a real server answers: the module's own requests (recorded from the engine
/// reading the emulator, then replayed to both) and the edge cases around them (422 bodies, 404s, limits),
/// compared by status, keys and value kinds everywhere, and by value where values are deterministic.</summary>
public abstract class ContractTests
{
    // The seeder sets an idempotency key on the real server's runs (so a retried create is harmless); the
    // emulator's seeded runs have none.
    private static readonly HashSet<string> SeedDependent = new(StringComparer.Ordinal) { "idempotency_key" };
    private readonly ITestOutputHelper _output;

    protected ContractTests(ServerFixture fixture, ITestOutputHelper output)
    {
        Fixture = fixture;
        _output = output;
    }

    protected ServerFixture Fixture { get; }
    protected abstract EmulatorMode Mode { get; }

    protected Task<ContractPair> PairAsync() => Fixture.SharedAsync("contract-pair", () => ContractPair.StartAsync(Fixture, Mode));

    protected async Task<List<string>> CompareAsync(ContractPair pair, HttpMethod method, string path, string? body, bool ordered, PrefectHttp? real = null, PrefectHttp? emulated = null)
    {
        PrefectAnswer e = await (emulated ?? pair.Emulated).SendAsync(method, path, body);
        PrefectAnswer r = await (real ?? pair.Real).SendAsync(method, path, pair.Translate(body));
        string call = method.Method + " " + path + " " + (body ?? "");
        var differences = new List<string>();
        if (r.Status != e.Status) differences.Add($"status: real {r.Status}, emulator {e.Status}");
        if (r.Json == null || e.Json == null)
        {
            if (r.Text != e.Text) differences.Add($"body: real {r}, emulator {e}");
        }
        else
        {
            differences.AddRange(JsonContract.Diff(pair.Scope(path, r.Json), pair.Scope(path, e.Json), ordered, SeedDependent));
        }
        _output.WriteLine(call + " -> real " + r.Status + ", emulator " + e.Status + (differences.Count == 0 ? "" : ": " + differences.Count + " difference(s)"));
        return differences.Select(d => call + "\n    " + d).ToList();
    }

    private static bool Ordered(string path) => !path.Contains("/flow_runs/", StringComparison.Ordinal);

    [Fact]
    public async Task TheModulesOwnRequestsGetTheSameAnswers()
    {
        ContractPair pair = await PairAsync();
        ScenarioSpec spec = pair.Spec;
        string a = spec.Pools[0].Name, etl = spec.Pools[0].Queues[0];
        var reads = new List<ScopeSelector[]>
        {
            new[] { new ScopeSelector(a, null) },
            new[] { new ScopeSelector(a, etl) },
            new[] { new ScopeSelector(null, etl), new ScopeSelector(spec.OddPool, null) },
            new[] { new ScopeSelector(Scenarios.Escape(spec.OddPool[..^4]) + "*", "default") },
            new[] { new ScopeSelector(spec.Name("missing"), null) },
        };
        if (spec.LegacyQueues.Count > 0) reads.Add(new[] { new ScopeSelector(null, spec.LegacyQueues[0]) });

        pair.Emulator.ResetRequests();
        foreach (ScopeSelector[] selectors in reads)
        {
            using var client = new PrefectClient(new PrefectConnectionSettings(pair.Emulator.ApiUrl, null, Fixture.Server.AuthString));
            await new BacklogReader(new WorkQueueCatalog(client)).ReadAsync(selectors, new BacklogReadOptions { Measures = new[] { Late, Due, Pending, Running } }, new TestLog(), default);
        }
        var recorded = pair.Emulator.Requests.Select(r => (r.Method, r.Path, r.Body)).Distinct().ToList();
        var paths = recorded.Select(r => r.Path).ToHashSet(StringComparer.Ordinal);
        // What the module sends, so that this test cannot pass by comparing nothing.
        Assert.Contains("/admin/version", paths);
        Assert.Contains("/work_pools/filter", paths);
        Assert.Contains("/work_queues/filter", paths);
        Assert.Contains("/flow_runs/count", paths);
        Assert.Contains(Fixture.Server.IsV3 ? "/flow_runs/paginate" : "/flow_runs/filter", paths);
        Assert.Contains(paths, p => p.EndsWith("/queues/filter", StringComparison.Ordinal) && p.StartsWith("/work_pools/", StringComparison.Ordinal));
        Assert.Contains(pair.Emulator.Requests, r => r.Status == 404);

        var differences = new List<string>();
        foreach ((string method, string path, string? body) in recorded)
            differences.AddRange(await CompareAsync(pair, new HttpMethod(method), path, body, Ordered(path)));
        Assert.True(differences.Count == 0, recorded.Count + " requests replayed; differences:\n" + string.Join("\n", differences));
    }

    /// <summary>Requests around the module's: bad filters, limits, a missing pool, the 2.x/3.x differences.</summary>
    public static TheoryData<string> Cases => new()
    {
        "version", "health", "count-pool", "count-pool-and-queue", "count-unknown-top-level-key-is-ignored", "count-extra-filter-key",
        "count-name-not-a-list", "count-bad-state-type", "count-not-any", "count-not-json", "count-not-an-object",
        "filter-runs-of-a-pool", "filter-limit-201", "filter-limit-negative", "filter-limit-string", "filter-bad-sort",
        "paginate-page-2", "paginate-limit-201", "work-queues-limit-201", "work-pools-limit-201", "pool-queues-limit-201",
        "pool-queues-by-name", "pool-queues-extra-filter-key", "pool-queues-of-a-missing-pool", "missing-pool", "queue-by-name",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task AnEdgeCaseGetsTheSameAnswer(string name)
    {
        ContractPair pair = await PairAsync();
        ScenarioSpec spec = pair.Spec;
        string a = spec.Pools[0].Name, etl = spec.Pools[0].Queues[0], missing = spec.Name("missing");
        string pool = "/work_pools/" + PrefectHttp.Segment(a);
        JsonObject Pool() => new() { ["name"] = new JsonObject { ["any_"] = new JsonArray(a) } };
        JsonObject Late() => new() { ["state"] = new JsonObject { ["name"] = new JsonObject { ["any_"] = new JsonArray("Late") } } };
        (HttpMethod method, string path, string? body) = name switch
        {
            "version" => (HttpMethod.Get, "/admin/version", null),
            "health" => (HttpMethod.Get, "/health", null),
            "count-pool" => (HttpMethod.Post, "/flow_runs/count", new JsonObject { ["work_pools"] = Pool() }.ToJsonString()),
            "count-pool-and-queue" => (HttpMethod.Post, "/flow_runs/count", new JsonObject
            {
                ["work_pools"] = Pool(), ["work_pool_queues"] = new JsonObject { ["name"] = new JsonObject { ["any_"] = new JsonArray(etl) } }, ["flow_runs"] = Late(),
            }.ToJsonString()),
            // The queue key of /work_queues/filter sent to /flow_runs/count: ignored, so the whole pool is counted.
            "count-unknown-top-level-key-is-ignored" => (HttpMethod.Post, "/flow_runs/count", new JsonObject
            {
                ["work_pools"] = Pool(), ["work_queues"] = new JsonObject { ["name"] = new JsonObject { ["any_"] = new JsonArray(etl) } },
            }.ToJsonString()),
            "count-extra-filter-key" => (HttpMethod.Post, "/flow_runs/count", """{"flow_runs":{"bogus_key":{"any_":["x"]}}}"""),
            "count-name-not-a-list" => (HttpMethod.Post, "/flow_runs/count", """{"flow_runs":{"state":{"name":{"any_":"Late"}}}}"""),
            "count-bad-state-type" => (HttpMethod.Post, "/flow_runs/count", """{"flow_runs":{"state":{"type":{"any_":["LATE"]}}}}"""),
            // 3.x only: 2.x answers 422 (extra field).
            "count-not-any" => (HttpMethod.Post, "/flow_runs/count", new JsonObject
            {
                ["work_pools"] = Pool(),
                ["flow_runs"] = new JsonObject { ["state"] = new JsonObject { ["name"] = new JsonObject { ["not_any_"] = new JsonArray("AwaitingConcurrencySlot") } } },
            }.ToJsonString()),
            "count-not-json" => (HttpMethod.Post, "/flow_runs/count", "{not json"),
            "count-not-an-object" => (HttpMethod.Post, "/flow_runs/count", "[1,2]"),
            "filter-runs-of-a-pool" => (HttpMethod.Post, "/flow_runs/filter", new JsonObject { ["work_pools"] = Pool(), ["sort"] = "ID_DESC", ["offset"] = 0, ["limit"] = 200 }.ToJsonString()),
            "filter-limit-201" => (HttpMethod.Post, "/flow_runs/filter", """{"limit":201}"""),
            "filter-limit-negative" => (HttpMethod.Post, "/flow_runs/filter", """{"limit":-1}"""),
            "filter-limit-string" => (HttpMethod.Post, "/flow_runs/filter", """{"limit":"abc"}"""),
            "filter-bad-sort" => (HttpMethod.Post, "/flow_runs/filter", """{"sort":"LATEST","limit":1}"""),
            // 2.x has no /paginate: POST meets the GET-only /flow_runs/{id} route.
            // Two runs alike (so the second page holds the same one on both, whatever the random ids).
            "paginate-page-2" => (HttpMethod.Post, "/flow_runs/paginate", new JsonObject
            {
                ["work_pools"] = Pool(), ["work_pool_queues"] = new JsonObject { ["name"] = new JsonObject { ["any_"] = new JsonArray(etl) } },
                ["sort"] = "ID_DESC", ["page"] = 2, ["limit"] = 1,
            }.ToJsonString()),
            "paginate-limit-201" => (HttpMethod.Post, "/flow_runs/paginate", """{"page":1,"limit":201}"""),
            "work-queues-limit-201" => (HttpMethod.Post, "/work_queues/filter", """{"offset":0,"limit":201}"""),
            "work-pools-limit-201" => (HttpMethod.Post, "/work_pools/filter", """{"offset":0,"limit":201}"""),
            "pool-queues-limit-201" => (HttpMethod.Post, pool + "/queues/filter", """{"offset":0,"limit":201}"""),
            "pool-queues-by-name" => (HttpMethod.Post, pool + "/queues/filter", new JsonObject
            {
                ["offset"] = 0, ["limit"] = 200, ["work_queues"] = new JsonObject { ["name"] = new JsonObject { ["any_"] = new JsonArray(etl, spec.OddQueue, missing) } },
            }.ToJsonString()),
            "pool-queues-extra-filter-key" => (HttpMethod.Post, pool + "/queues/filter", """{"work_queues":{"name":{"any_":["x"]},"bogus":1}}"""),
            "pool-queues-of-a-missing-pool" => (HttpMethod.Post, "/work_pools/" + PrefectHttp.Segment(missing) + "/queues/filter", """{"offset":0,"limit":200}"""),
            "missing-pool" => (HttpMethod.Get, "/work_pools/" + PrefectHttp.Segment(missing), null),
            "queue-by-name" => (HttpMethod.Get, pool + "/queues/" + PrefectHttp.Segment(spec.OddQueue), null),
            _ => throw new ArgumentOutOfRangeException(nameof(name), name, "No such case."),
        };
        List<string> differences = await CompareAsync(pair, method, path, body, Ordered(path));
        Assert.True(differences.Count == 0, string.Join("\n", differences));
    }
}

[Collection(Prefect2Collection.Name)]
public sealed class Prefect2ContractTests : ContractTests
{
    public Prefect2ContractTests(Prefect2Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }
    protected override EmulatorMode Mode => EmulatorMode.V2;
}

[Collection(Prefect3Collection.Name)]
public sealed class Prefect3ContractTests : ContractTests
{
    public Prefect3ContractTests(Prefect3Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }
    protected override EmulatorMode Mode => EmulatorMode.V3;
}

[Collection(Prefect3AuthCollection.Name)]
public sealed class Prefect3AuthContractTests : ContractTests
{
    public Prefect3AuthContractTests(Prefect3AuthFixture fixture, ITestOutputHelper output) : base(fixture, output) { }
    protected override EmulatorMode Mode => EmulatorMode.V3;

    [Theory]
    [InlineData("none", "GET", "/admin/version")]
    [InlineData("none", "POST", "/flow_runs/count")]
    [InlineData("none", "POST", "/work_pools/filter")]
    [InlineData("none", "GET", "/health")]
    [InlineData("wrong", "POST", "/flow_runs/count")]
    [InlineData("wrong", "POST", "/work_queues/filter")]
    [InlineData("bearer", "POST", "/flow_runs/count")]
    public async Task CredentialsAreCheckedAlike(string credentials, string method, string path)
    {
        ContractPair pair = await PairAsync();
        string auth = Fixture.Server.AuthString!;
        string? sent = credentials switch { "none" => null, "wrong" => auth + "x", _ => null };
        using var real = new PrefectHttp(Fixture.Server.ApiUrl, sent);
        using var emulated = new PrefectHttp(pair.Emulator.ApiUrl, sent);
        if (credentials == "bearer")
        {
            real.Bearer(auth);
            emulated.Bearer(auth);
        }
        PrefectAnswer answer = await real.SendAsync(new HttpMethod(method), path, method == "POST" ? "{}" : null);
        Assert.Equal(path == "/health" ? 200 : 401, answer.Status);
        List<string> differences = await CompareAsync(pair, new HttpMethod(method), path, method == "POST" ? "{}" : null, true, real, emulated);
        Assert.True(differences.Count == 0, string.Join("\n", differences));
    }
}
