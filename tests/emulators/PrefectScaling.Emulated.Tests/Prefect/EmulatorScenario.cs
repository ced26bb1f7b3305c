using PrefectScaling.Backlog;
using PrefectScaling.Testing.PrefectEmulator;

namespace PrefectScaling.Prefect.Tests;

/// <summary>The emulator's standard seed and a fresh connection to it, shared by the Prefect half's tests.</summary>
internal static class EmulatorScenario
{
    /// <summary>A name that needs escaping in a URL path and in JSON.</summary>
    public const string OddQueue = "etl \"quoted\" #1 ü?";
    public const string OddPool = "team a+b #2 ü;=";

    /// <summary>Pools k8s and ecs-pool (both with a default queue), runs in every state.</summary>
    public static EmulatorSeed Standard() => new()
    {
        Pools =
        {
            new SeedPool { Name = "k8s", Type = "kubernetes", Queues = { new SeedQueue { Name = "default" }, new SeedQueue { Name = OddQueue } } },
            new SeedPool { Name = "ecs-pool", Type = "ecs", Queues = { new SeedQueue { Name = "reports" } } },
            new SeedPool { Name = OddPool, Type = "process", Queues = { new SeedQueue { Name = "etl-nightly" }, new SeedQueue { Name = "etl-hourly" } } },
        },
        Runs =
        {
            Run("k8s", "default", "Late", -600, 2),
            Run("k8s", "default", "Scheduled", -5),
            Run("k8s", "default", "AwaitingRetry", -30),
            Run("k8s", "default", "Scheduled", 3600, 3),
            Run("k8s", "default", "AwaitingConcurrencySlot", -10),
            Run("k8s", "default", "Pending", 0, 1, "PENDING"),
            Run("k8s", "default", "Running", -60, 2, "RUNNING"),
            Run("k8s", "default", "Completed", -900, 4, "COMPLETED"),
            Run("k8s", OddQueue, "Late", -300, 3),
            Run("ecs-pool", "default", "Late", -120),
            Run(OddPool, "etl-nightly", "Late", -100, 5),
            Run(OddPool, "etl-hourly", "Running", -100, 1, "RUNNING"),
            new SeedRun { StateName = "Late", ScheduledOffsetSeconds = -100, Count = 2 }, // runs with no queue: never counted
        },
    };

    public static SeedRun Run(string pool, string queue, string stateName, double offset, int count = 1, string? stateType = null) =>
        new() { Pool = pool, Queue = queue, StateName = stateName, StateType = stateType, ScheduledOffsetSeconds = offset, Count = count };

    public static Task<PrefectEmulatorServer> StartAsync(EmulatorMode mode = EmulatorMode.V3, EmulatorSeed? seed = null, string? authString = null, string? apiKey = null) =>
        PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = mode, AuthString = authString, ApiKey = apiKey }, seed ?? Standard());

    public static PrefectHttpOptions Quick => new()
    {
        RequestTimeout = TimeSpan.FromSeconds(5),
        Deadline = TimeSpan.FromSeconds(10),
        BaseBackoff = TimeSpan.FromMilliseconds(20),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
    };

    /// <summary>A fresh connection (not the process-wide one), so request counts start at zero.</summary>
    public static (PrefectClient Client, BacklogReader Reader, WorkQueueCatalog Catalog) Connect(PrefectEmulatorServer server, string? apiKey = null, string? authString = null, PrefectHttpOptions? options = null)
    {
        var client = new PrefectClient(new PrefectConnectionSettings(server.ApiUrl, apiKey, authString), options ?? Quick);
        var catalog = new WorkQueueCatalog(client);
        return (client, new BacklogReader(catalog), catalog);
    }

    public static ScopeSelector Sel(string? pool, string? queue) => new(pool, queue);

    public static BacklogReadOptions Measures(params BacklogMeasure[] measures) => new() { Measures = measures };

    public static int CountOf(BacklogReadResult result, string? pool, string queue, BacklogMeasure measure = BacklogMeasure.Late) =>
        result.Counts.Single(c => c.WorkPool == pool && c.WorkQueue == queue && c.Measure == measure).Count;
}
