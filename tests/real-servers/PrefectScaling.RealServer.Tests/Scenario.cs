using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Testing.PrefectEmulator;

namespace PrefectScaling.RealServer.Tests;

/// <summary>The states a seeded flow run is put in.</summary>
public enum RunKind
{
    /// <summary>Scheduled a minute ago: the server's late-runs service makes it Late.</summary>
    Late,
    /// <summary>Created in the Late state (for bulk data, where waiting for the service would cost minutes).</summary>
    LateDirect,
    /// <summary>Scheduled a day ahead.</summary>
    Future,
    Pending,
    Running,
    Cancelling,
    /// <summary>A retry due a minute ago (type SCHEDULED): never marked Late, but due.</summary>
    AwaitingRetry,
    /// <summary>3.x: blocked by a deployment concurrency limit (type SCHEDULED), due a minute ago.</summary>
    AwaitingConcurrencySlot,
    Completed,
    /// <summary>Scheduled 5 minutes ahead: in flight with a look-ahead of more than that (RealInFlightTests uses 10 min).</summary>
    Soon,
    /// <summary>Scheduled 20 minutes ahead: upcoming with a lead of more than that, after the look-ahead.</summary>
    Ahead,
}

/// <param name="Pool">null: a legacy 2.x queue (it lives in default-agent-pool).</param>
public sealed record RunSpec(string? Pool, string Queue, RunKind Kind, int Count = 1);

public sealed record PoolSpec(string Name, string Type, IReadOnlyList<string> Queues);

/// <summary>Pools, queues and runs described once, then put on a real server through its REST API or into the
/// emulator through its seed, and the counts each measure must give worked out from the same description.
/// Names carry a unique suffix, so scenarios on one shared server never see each other.</summary>
public sealed class ScenarioSpec
{
    public const string DefaultAgentPool = "default-agent-pool";

    public ScenarioSpec(string tag)
    {
        Suffix = tag + "-" + Guid.NewGuid().ToString("N")[..10];
    }

    public string Suffix { get; }
    public List<PoolSpec> Pools { get; } = new();
    public List<string> LegacyQueues { get; } = new();
    public List<RunSpec> Runs { get; } = new();

    /// <summary>A unique name; Prefect forbids / % &amp; &gt; &lt; in pool and queue names.</summary>
    public string Name(string stem) => stem + "-" + Suffix;

    /// <summary>A name that needs escaping in a URL path, in JSON and as a wildcard pattern.</summary>
    public string OddQueue => "etl \"quoted\" #1 ü? [x] " + Suffix;

    public string OddPool => "team a+b #2 ü;= " + Suffix;

    public PoolSpec AddPool(string name, string type = "process", params string[] queues)
    {
        var pool = new PoolSpec(name, type, queues);
        Pools.Add(pool);
        return pool;
    }

    public void Add(string? pool, string queue, RunKind kind, int count = 1) => Runs.Add(new RunSpec(pool, queue, kind, count));

    /// <summary>Every queue of the scenario as (pool, queue); the pool's default queue first.</summary>
    public IEnumerable<(string Pool, string Queue)> Queues() =>
        Pools.SelectMany(p => new[] { "default" }.Concat(p.Queues).Select(q => (p.Name, q)))
             .Concat(LegacyQueues.Select(q => (DefaultAgentPool, q)));

    private static string PoolOf(RunSpec run) => run.Pool ?? DefaultAgentPool;

    /// <summary>What a measure must count for one queue, from the README's definitions.</summary>
    public int Expected(string pool, string queue, BacklogMeasure measure) =>
        Runs.Where(r => PoolOf(r) == pool && r.Queue == queue && Counts(measure, r.Kind)).Sum(r => r.Count);

    public static bool Counts(BacklogMeasure measure, RunKind kind) => measure switch
    {
        BacklogMeasure.Late => kind is RunKind.Late or RunKind.LateDirect,
        // Scheduled runs whose start has passed, but not those waiting for a concurrency slot (on 2.x the
        // name list Scheduled/Late/AwaitingRetry leaves them out too).
        BacklogMeasure.Due => kind is RunKind.Late or RunKind.LateDirect or RunKind.AwaitingRetry,
        BacklogMeasure.Pending => kind == RunKind.Pending,
        BacklogMeasure.Running => kind == RunKind.Running,
        BacklogMeasure.InFlight => kind is RunKind.Pending or RunKind.Running or RunKind.Cancelling or RunKind.Soon,
        BacklogMeasure.Upcoming => kind == RunKind.Ahead,
        _ => throw new ArgumentOutOfRangeException(nameof(measure)),
    };

    // ------------------------------------------------------------------ the emulator

    /// <summary>The same data as an emulator seed: states as the real server holds them once its services ran.</summary>
    public EmulatorSeed ToEmulatorSeed()
    {
        var seed = new EmulatorSeed();
        foreach (PoolSpec pool in Pools)
            seed.Pools.Add(new SeedPool { Name = pool.Name, Type = pool.Type, Queues = pool.Queues.Select(q => new SeedQueue { Name = q }).ToList() });
        if (LegacyQueues.Count > 0)
            seed.Pools.Add(new SeedPool { Name = DefaultAgentPool, Type = "prefect-agent", Queues = LegacyQueues.Select(q => new SeedQueue { Name = q }).ToList() });
        foreach (RunSpec run in Runs)
        {
            (string type, string name, double offset) = run.Kind switch
            {
                RunKind.Late => ("SCHEDULED", "Late", -60.0),
                RunKind.LateDirect => ("SCHEDULED", "Late", -600.0),
                RunKind.Future => ("SCHEDULED", "Scheduled", 86400.0),
                RunKind.Soon => ("SCHEDULED", "Scheduled", 300.0),
                RunKind.Ahead => ("SCHEDULED", "Scheduled", 1200.0),
                RunKind.AwaitingRetry => ("SCHEDULED", "AwaitingRetry", -60.0),
                RunKind.AwaitingConcurrencySlot => ("SCHEDULED", "AwaitingConcurrencySlot", -60.0),
                RunKind.Pending => ("PENDING", "Pending", 0.0),
                RunKind.Running => ("RUNNING", "Running", 0.0),
                RunKind.Cancelling => ("CANCELLING", "Cancelling", 0.0),
                _ => ("COMPLETED", "Completed", 0.0),
            };
            seed.Runs.Add(new SeedRun { Pool = PoolOf(run), Queue = run.Queue, StateType = type, StateName = name, ScheduledOffsetSeconds = offset, Count = run.Count });
        }
        return seed;
    }

    // ------------------------------------------------------------------ a real server

    /// <summary>Creates everything through the server's REST API, one request at a time (SQLite serializes
    /// writes anyway, and parallel ones only meet "database is locked"), then waits, bounded, until the
    /// late-runs service has marked the runs that are due to turn Late.</summary>
    public async Task SeedAsync(PrefectHttp http)
    {
        DateTimeOffset now = DateTimeOffset.UtcNow;
        JsonNode flow = (await http.CreateAsync("/flows/", new JsonObject { ["name"] = "flow-" + Suffix }))!;
        string flowId = flow["id"]!.GetValue<string>();
        FlowId = flowId;

        var deployments = new Dictionary<string, string>(StringComparer.Ordinal);
        int n = 0;
        foreach (PoolSpec pool in Pools)
        {
            await CreateOnceAsync(http, "/work_pools/", new JsonObject { ["name"] = pool.Name, ["type"] = pool.Type });
            foreach (string queue in pool.Queues)
                await CreateOnceAsync(http, "/work_pools/" + PrefectHttp.Segment(pool.Name) + "/queues", new JsonObject { ["name"] = queue });
            deployments[pool.Name] = await DeploymentAsync(http, flowId, "dep-" + n++ + "-" + Suffix, pool.Name, "default");
        }
        foreach (string queue in LegacyQueues)
        {
            // 2.x: the legacy queue API creates the queue in default-agent-pool, and so does a deployment
            // that names a queue but no pool.
            await CreateOnceAsync(http, "/work_queues/", new JsonObject { ["name"] = queue });
            deployments["legacy:" + queue] = await DeploymentAsync(http, flowId, "dep-" + n++ + "-" + Suffix, null, queue);
        }

        int key = 0;
        foreach (RunSpec run in Runs)
        {
            string deployment = run.Pool == null ? deployments["legacy:" + run.Queue] : deployments[run.Pool];
            for (int i = 0; i < run.Count; i++)
            {
                var body = new JsonObject
                {
                    // Makes a retried create (after a 503) return the run it already made.
                    ["idempotency_key"] = Suffix + "-" + key++,
                    ["state"] = StateFor(run.Kind, now),
                };
                if (run.Pool != null) body["work_queue_name"] = run.Queue;
                await http.CreateAsync("/deployments/" + deployment + "/create_flow_run", body);
            }
        }
        await WaitForLateAsync(http);
    }

    /// <summary>RFC 3339 with an explicit offset, which 2.x and 3.x both parse.</summary>
    public static string Timestamp(DateTimeOffset value) =>
        value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The flow every run of the scenario belongs to (real servers only).</summary>
    public string? FlowId { get; private set; }

    private static async Task<string> DeploymentAsync(PrefectHttp http, string flowId, string name, string? pool, string queue)
    {
        var body = new JsonObject { ["name"] = name, ["flow_id"] = flowId, ["work_queue_name"] = queue };
        if (pool != null) body["work_pool_name"] = pool;
        JsonNode deployment = (await http.CreateAsync("/deployments/", body))!;
        return deployment["id"]!.GetValue<string>();
    }

    /// <summary>A create that a 503 may have half-done: a 409 on the retry means it was made.</summary>
    private static async Task CreateOnceAsync(PrefectHttp http, string path, JsonObject body)
    {
        PrefectAnswer answer = await http.PostAsync(path, body);
        if (answer.Status is not (200 or 201 or 409)) throw new InvalidOperationException("POST " + path + " " + body.ToJsonString() + " answered " + answer);
    }

    private static JsonObject StateFor(RunKind kind, DateTimeOffset now)
    {
        static JsonObject Scheduled(string name, DateTimeOffset at) => new()
        {
            ["type"] = "SCHEDULED",
            ["name"] = name,
            ["state_details"] = new JsonObject { ["scheduled_time"] = Timestamp(at) },
        };
        return kind switch
        {
            RunKind.Late => Scheduled("Scheduled", now.AddSeconds(-60)),
            RunKind.LateDirect => Scheduled("Late", now.AddMinutes(-10)),
            RunKind.Future => Scheduled("Scheduled", now.AddDays(1)),
            RunKind.Soon => Scheduled("Scheduled", now.AddMinutes(5)),
            RunKind.Ahead => Scheduled("Scheduled", now.AddMinutes(20)),
            RunKind.AwaitingRetry => Scheduled("AwaitingRetry", now.AddSeconds(-60)),
            RunKind.AwaitingConcurrencySlot => Scheduled("AwaitingConcurrencySlot", now.AddSeconds(-60)),
            RunKind.Pending => new JsonObject { ["type"] = "PENDING", ["name"] = "Pending" },
            RunKind.Running => new JsonObject { ["type"] = "RUNNING", ["name"] = "Running" },
            RunKind.Cancelling => new JsonObject { ["type"] = "CANCELLING", ["name"] = "Cancelling" },
            _ => new JsonObject { ["type"] = "COMPLETED", ["name"] = "Completed" },
        };
    }

    /// <summary>How long the late-runs service took to mark this scenario's runs (null: nothing to wait for).</summary>
    public TimeSpan? LateAfter { get; private set; }

    private async Task WaitForLateAsync(PrefectHttp http)
    {
        int late = Runs.Where(r => r.Kind is RunKind.Late or RunKind.LateDirect).Sum(r => r.Count);
        if (!Runs.Any(r => r.Kind == RunKind.Late)) return;
        JsonObject Query(string name) => new()
        {
            ["flows"] = new JsonObject { ["id"] = new JsonObject { ["any_"] = new JsonArray(FlowId) } },
            ["flow_runs"] = new JsonObject { ["state"] = new JsonObject { ["name"] = new JsonObject { ["any_"] = new JsonArray(name) } } },
        };
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long marked = 0, waiting = 0;
        // The service runs every 5 s and takes runs 15 s overdue; 2.20.25 and 3.8.3 took 3-6 s when measured,
        // a busy 2-core machine longer. Bounded, so a server whose service is off fails here, not later.
        while (clock.Elapsed < TimeSpan.FromSeconds(120))
        {
            marked = await http.CountAsync(Query("Late"));
            waiting = await http.CountAsync(Query("Scheduled"));
            if (marked == late && waiting == Runs.Where(r => r.Kind == RunKind.Future).Sum(r => r.Count))
            {
                LateAfter = clock.Elapsed;
                return;
            }
            await Task.Delay(500);
        }
        throw new TimeoutException("The late-runs service did not mark the runs of scenario " + Suffix + " within " + clock.Elapsed.TotalSeconds.ToString("0") +
                                   " s: " + marked + " of " + late + " Late, " + waiting + " still Scheduled.");
    }
}
