using PrefectScaling.Backlog;
using PrefectScaling.Prefect;
using PrefectScaling.Testing.PrefectEmulator;
using Xunit;
using static PrefectScaling.Backlog.BacklogMeasure;
using static PrefectScaling.Prefect.Tests.EmulatorScenario;

namespace PrefectScaling.Bindings.Tests;

/// <summary>Totals of whole scopes against the emulator: what each scope adds up to (checked against the per-queue
/// reader, an independent path), what a missing or ambiguous name does, that one scope's failure leaves the others
/// alone, and how many requests each way of reading costs.</summary>
public sealed class BindingTotalsReaderTests
{
    public static TheoryData<EmulatorMode> SelfHostedModes => new() { EmulatorMode.V3, EmulatorMode.V2 };

    private static readonly BacklogMeasure[] AllMeasures = { Late, Due, Pending, Running };

    private static BindingTotalsOptions Options(params BacklogMeasure[] measures) => new() { Measures = measures.Length == 0 ? AllMeasures : measures };

    private static (PrefectClient Client, BindingTotalsReader Reader) Open(PrefectEmulatorServer server, Func<DateTimeOffset>? clock = null, string? authString = null)
    {
        var (client, _, catalog) = Connect(server, authString: authString);
        return (client, new BindingTotalsReader(catalog, clock));
    }

    /// <summary>A scope by exact names, with no wildcard grammar in the way.</summary>
    private static BindingScope Pools(params string[] pools) => BindingScope.Of(pools.Select(p => new BindingScope.PoolPart(p, Array.Empty<string>())), null);

    private static BindingScope PoolQueues(string pool, params string[] queues) => BindingScope.Of(new[] { new BindingScope.PoolPart(pool, queues) }, null);

    private static BindingScope AnyPool(params string[] queues) => BindingScope.Of(Array.Empty<BindingScope.PoolPart>(), queues);

    /// <summary>The same scope counted per queue by BacklogReader on a connection of its own, summed per measure.</summary>
    private static async Task<int[]> OracleAsync(PrefectEmulatorServer server, BindingScope scope, IReadOnlyList<BacklogMeasure> measures)
    {
        var (_, reader, _) = Connect(server);
        BacklogReadResult result = await reader.ReadAsync(scope.Selectors(), new BacklogReadOptions { Measures = measures }, new RecordingLog(), default);
        Assert.Empty(result.Failures);
        return measures.Select(m => result.Counts.Where(c => c.Measure == m).Sum(c => c.Count)).ToArray();
    }

    private static int[] CountsOf(ScopeTotals totals)
    {
        Assert.Null(totals.Failure);
        return totals.Totals.Select(t => t.Count).ToArray();
    }

    private static string[] Paths(PrefectEmulatorServer server) => server.Requests.Select(r => r.Method + " " + r.Path).ToArray();

    [Theory]
    [MemberData(nameof(SelfHostedModes))]
    public async Task AScopeIsCountedInOneRequestPerMeasureAfterItsNamesAreFound(EmulatorMode mode)
    {
        await using var server = await StartAsync(mode);
        var (client, reader) = Open(server);
        var options = new BindingTotalsOptions { Measures = AllMeasures, VerifiedScopeMaxAge = TimeSpan.FromMinutes(5) };
        BindingTotalsResult cold = await reader.ReadAsync(new[] { Pools("k8s") }, options, new RecordingLog(), default);
        ScopeTotals k8s = Assert.Single(cold.Scopes);
        // Late 2 + 3; Due 4 in default (2 Late, an overdue Scheduled, a due retry; not the run waiting for a slot) + 3.
        Assert.Equal(new[] { 5, 7, 1, 2 }, CountsOf(k8s));
        Assert.Equal(AllMeasures, k8s.Totals.Select(t => t.Measure));
        Assert.All(k8s.Totals, t => Assert.Equal(("pool k8s", DateTimeKind.Utc, server.ApiUrl.AbsoluteUri.TrimEnd('/')), (t.Scope, t.Timestamp.Kind, t.ApiUrl)));
        Assert.Equal(new[] { "GET /admin/version", "POST /work_pools/filter" }.Concat(Enumerable.Repeat("POST /flow_runs/count", 4)), Paths(server));
        Assert.All(server.Requests.Where(r => r.Path == "/flow_runs/count"), r => Assert.Contains("\"work_pools\":{\"name\":{\"any_\":[\"k8s\"]}}", r.Body));

        server.ResetRequests();
        int before = client.RequestCount;
        Assert.Equal(new[] { 5, 7, 1, 2 }, CountsOf((await reader.ReadAsync(new[] { Pools("k8s") }, options, new RecordingLog(), default)).Scopes[0]));
        Assert.Equal(4, client.RequestCount - before);
        Assert.All(server.Requests, r => Assert.Equal("/flow_runs/count", r.Path));

        // Some queues of a pool: the pool's own listing finds them, then one count per measure by their ids.
        server.ResetRequests();
        BindingScope some = PoolQueues("k8s", "default", OddQueue);
        Assert.Equal(await OracleAsync(server, some, AllMeasures), CountsOf((await reader.ReadAsync(new[] { some }, options, new RecordingLog(), default)).Scopes[0]));
        RecordedRequest[] mine = server.Requests.Where(r => !r.Path.Contains("admin")).ToArray()[..5];
        Assert.Equal("/work_pools/k8s/queues/filter", mine[0].Path);
        Assert.All(mine[1..], r => Assert.Contains("\"work_pool_queues\":{\"id\":", r.Body));
    }

    /// <summary>Pools of every kind, runs in every state, in pools the scopes take whole and in pools they take some
    /// queues of.</summary>
    private static EmulatorSeed Rich()
    {
        EmulatorSeed seed = Standard();
        seed.Generate = new SeedGenerate { Pools = 6, QueuesPerPool = 3, LateRuns = 40, PoolPrefix = "gen", QueuePrefix = "q" };
        seed.Runs.AddRange(new[]
        {
            Run("gen-1", "q-1", "AwaitingConcurrencySlot", -10, 2),
            Run("gen-1", "q-2", "AwaitingRetry", -30),
            Run("gen-2", "q-1", "Scheduled", -5, 3),
            Run("gen-2", "q-2", "Pending", 0, 2, "PENDING"),
            Run("gen-3", "default", "Running", -60, 4, "RUNNING"),
            Run("gen-3", "q-3", "Submitting", 0, 1, "PENDING"),
            Run("gen-4", "q-1", "Late", -900, 3),
            Run("gen-5", "q-2", "Cancelling", 0, 1, "CANCELLING"),
            Run("gen-6", "q-3", "Scheduled", 7200, 2),
        });
        return seed;
    }

    private static BindingScope[] RichScopes() => new[]
    {
        Pools("k8s"),
        PoolQueues("ecs-pool", "default"),
        AnyPool(OddQueue),
        PoolQueues(OddPool, "etl-nightly", "etl-hourly"),
        Pools("gen-1"),
        PoolQueues("gen-2", "q-1", "q-2"),
        Pools("gen-3", "gen-4"),
        BindingScope.Of(new[] { new BindingScope.PoolPart("gen-5", Array.Empty<string>()), new BindingScope.PoolPart("gen-6", new[] { "q-3", "default" }) }, null),
    };

    [Theory]
    [MemberData(nameof(SelfHostedModes))]
    public async Task TotalsAreTheSumsOfThePerQueueCountsWhetherCountedOrTalliedFromPages(EmulatorMode mode)
    {
        await using var server = await StartAsync(mode, Rich());
        BindingScope[] scopes = RichScopes();
        var oracle = new List<int[]>();
        foreach (BindingScope scope in scopes) oracle.Add(await OracleAsync(server, scope, AllMeasures));
        Assert.True(oracle.All(o => o.Sum() > 0), "every scope has runs to count");

        // Together: one paged read of the active runs of every bound pool, tallied here.
        var (_, together) = Open(server);
        server.ResetRequests();
        BindingTotalsResult all = await together.ReadAsync(scopes, Options(), new RecordingLog(), default);
        Assert.True(all.ReadByPages);
        Assert.Equal(1, server.Requests.Count(r => r.Path.StartsWith("/flow_runs/", StringComparison.Ordinal)));
        Assert.Equal(scopes, all.Scopes.Select(s => s.Scope));
        for (int i = 0; i < scopes.Length; i++) Assert.True(oracle[i].SequenceEqual(CountsOf(all.Scopes[i])), scopes[i] + ": pages " + string.Join(",", CountsOf(all.Scopes[i])) + ", per queue " + string.Join(",", oracle[i]));

        // Alone: counted by the server.
        var (_, alone) = Open(server);
        for (int i = 0; i < scopes.Length; i++)
        {
            BindingTotalsResult one = await alone.ReadAsync(new[] { scopes[i] }, Options(), new RecordingLog(), default);
            Assert.False(one.ReadByPages);
            Assert.Equal(oracle[i], CountsOf(one.Scopes[0]));
        }
    }

    [Fact]
    public async Task EveryMissingNameIsSaidAndItsScopeHasNoTotalWhileTheOthersDo()
    {
        await using var server = await StartAsync();
        var (_, reader) = Open(server);
        BindingScope[] scopes =
        {
            Pools("no-such-pool"),
            PoolQueues("k8s", "default", "no-such-queue"),
            AnyPool("nowhere"),
            Pools("k8s"),
            BindingScope.Of(new[] { new BindingScope.PoolPart("ecs-pool", Array.Empty<string>()), new BindingScope.PoolPart("gone", new[] { "x" }) }, new[] { "nothing-here" }),
        };
        BindingTotalsResult result = await reader.ReadAsync(scopes, Options(Late), new RecordingLog(), default);
        string[] needles = { "work pool 'no-such-pool'", "work queue 'no-such-queue' in work pool 'k8s'", "work queue 'nowhere' (in no work pool)" };
        for (int i = 0; i < 3; i++)
        {
            PrefectApiException failure = result.Scopes[i].Failure!;
            Assert.Equal(PrefectErrorKind.NotFound, failure.Kind);
            Assert.Contains(needles[i], failure.Message);
            Assert.Contains("'" + scopes[i] + "'", failure.Message);
            Assert.Empty(result.Scopes[i].Totals);
        }
        Assert.Equal(new[] { 5 }, CountsOf(result.Scopes[3]));
        PrefectApiException both = result.Scopes[4].Failure!;
        Assert.Contains("work pool 'gone'", both.Message);
        Assert.Contains("work queue 'nothing-here' (in no work pool)", both.Message);
        Assert.DoesNotContain("ecs-pool'", both.Message);
        // One listing of each kind served all five scopes.
        Assert.Equal(1, server.Requests.Count(r => r.Path == "/work_pools/filter"));
        Assert.Equal(1, server.Requests.Count(r => r.Path == "/work_queues/filter"));
        Assert.Equal(1, server.Requests.Count(r => r.Path == "/work_pools/k8s/queues/filter"));
    }

    [Theory]
    [MemberData(nameof(SelfHostedModes))]
    public async Task AQueueNamedWithoutItsPoolMustBeInExactlyOnePool(EmulatorMode mode)
    {
        await using var server = await StartAsync(mode);
        var (_, reader) = Open(server);
        BindingTotalsResult result = await reader.ReadAsync(new[] { AnyPool("default"), AnyPool(OddQueue), AnyPool(OddQueue, "default") }, Options(Late), new RecordingLog(), default);
        PrefectApiException ambiguous = result.Scopes[0].Failure!;
        Assert.Equal(PrefectErrorKind.InvalidSettings, ambiguous.Kind);
        Assert.Contains("work queue 'default' is in 3 work pools (ecs-pool, k8s, " + OddPool + ")", ambiguous.Message);
        Assert.Contains("name the pool", ambiguous.Message);
        Assert.Empty(result.Scopes[0].Totals);
        Assert.Equal(new[] { 3 }, CountsOf(result.Scopes[1]));
        Assert.NotNull(result.Scopes[2].Failure);
    }

    [Fact]
    public async Task AQueueOfAPoolTheScopeTakesWholeIsCountedOnceAndTheSameScopeTwiceIsReadOnce()
    {
        await using var server = await StartAsync();
        var (_, reader) = Open(server);
        BindingScope overlapping = BindingScope.Of(new[] { new BindingScope.PoolPart("k8s", Array.Empty<string>()) }, new[] { OddQueue });
        BindingTotalsResult result = await reader.ReadAsync(new[] { overlapping, overlapping }, Options(Late), new RecordingLog(), default);
        Assert.Equal(new[] { 5 }, CountsOf(result.Scopes[0]));
        Assert.Equal(new[] { 5 }, CountsOf(result.Scopes[1]));
        Assert.False(result.ReadByPages);
        Assert.Equal(1, server.Requests.Count(r => r.Path == "/flow_runs/count"));
    }

    [Theory]
    [InlineData(EmulatorMode.V3, "/flow_runs/paginate")]
    [InlineData(EmulatorMode.V2, "/flow_runs/filter")]
    public async Task AFailedCountFailsItsScopeOnly(EmulatorMode mode, string pages)
    {
        await using var server = await StartAsync(mode);
        var (_, reader) = Open(server);
        // The paged read fails as a server error would: the reader counts each scope instead.
        server.AddFault(new FaultRule { PathContains = pages, Kind = FaultKind.InternalError, Count = -1 });
        server.AddFault(new FaultRule { PathContains = "/flow_runs/count", BodyContains = "\"ecs-pool\"", Kind = FaultKind.InternalError, Count = -1 });
        var log = new RecordingLog();
        BindingTotalsResult result = await reader.ReadAsync(new[] { Pools("k8s"), Pools("ecs-pool"), PoolQueues(OddPool, "etl-nightly") }, Options(Late, Running), log, default);
        Assert.False(result.ReadByPages);
        Assert.Contains(log.Lines, l => l.Contains("Counting each scope instead"));
        Assert.Equal(new[] { 5, 2 }, CountsOf(result.Scopes[0]));
        Assert.Equal(PrefectErrorKind.ServerError, result.Scopes[1].Failure!.Kind);
        Assert.Empty(result.Scopes[1].Totals);
        Assert.Equal(new[] { 5, 0 }, CountsOf(result.Scopes[2]));
    }

    [Fact]
    public async Task AFailedListingFailsTheScopesThatNeedItOnly()
    {
        await using var server = await StartAsync();
        var (_, reader) = Open(server);
        server.AddFault(new FaultRule { PathContains = "/work_pools/k8s/queues/filter", Kind = FaultKind.InternalError, Count = -1 });
        BindingTotalsResult result = await reader.ReadAsync(new[] { PoolQueues("k8s", "default"), Pools("ecs-pool"), AnyPool(OddQueue) }, Options(Late), new RecordingLog(), default);
        Assert.Equal(PrefectErrorKind.ServerError, result.Scopes[0].Failure!.Kind);
        Assert.Equal(new[] { 1 }, CountsOf(result.Scopes[1]));
        Assert.Equal(new[] { 3 }, CountsOf(result.Scopes[2]));
    }

    [Fact]
    public async Task CredentialsThatAreRefusedFailEveryScopeWithoutThrowing()
    {
        await using var server = await StartAsync(authString: "admin:right");
        var (_, reader) = Open(server, authString: "admin:wrong");
        BindingTotalsResult result = await reader.ReadAsync(new[] { Pools("k8s"), Pools("ecs-pool") }, Options(Late), new RecordingLog(), default);
        Assert.All(result.Scopes, s => Assert.Equal(PrefectErrorKind.Unauthorized, s.Failure!.Kind));
        Assert.All(result.Scopes, s => Assert.Empty(s.Totals));
    }

    private static EmulatorSeed Generated(int pools, int lateRuns) =>
        new() { Generate = new SeedGenerate { Pools = pools, QueuesPerPool = 2, LateRuns = lateRuns, PoolPrefix = "gen", QueuePrefix = "q" } };

    private static BindingScope[] WholePools(int count) => Enumerable.Range(1, count).Select(i => Pools("gen-" + i)).ToArray();

    [Theory]
    [MemberData(nameof(SelfHostedModes))]
    public async Task ManyScopesWithASmallBacklogCostOnePageNotACountEach(EmulatorMode mode)
    {
        await using var server = await StartAsync(mode, Generated(10, 50));
        var (client, reader) = Open(server);
        BindingTotalsResult result = await reader.ReadAsync(WholePools(10), Options(Late), new RecordingLog(), default);
        Assert.True(result.ReadByPages);
        Assert.All(result.Scopes, s => Assert.Equal(new[] { 5 }, CountsOf(s)));
        // The version, one listing of the ten pools, one page: 10 counts would have cost 10.
        Assert.Equal(3, client.RequestCount);
    }

    [Theory]
    [InlineData(EmulatorMode.V3, 7)]
    [InlineData(EmulatorMode.V2, 8)]
    public async Task ABacklogOfManyPagesIsCountedInstead(EmulatorMode mode, int requests)
    {
        // 500 late runs in each pool: four pools are 2,000 runs, ten pages, against four counts.
        await using var server = await StartAsync(mode, Generated(10, 5000));
        var (client, reader) = Open(server);
        var log = new RecordingLog();
        BindingTotalsResult result = await reader.ReadAsync(WholePools(4), Options(Late), log, default);
        Assert.False(result.ReadByPages);
        Assert.All(result.Scopes, s => Assert.Equal(new[] { 500 }, CountsOf(s)));
        // Version, listing, the first page (3.x: it says how many there are; 2.x: then a count to know), four counts.
        Assert.Equal(requests, client.RequestCount);
        Assert.Contains(log.Lines, l => l.Contains("counts cost less"));
    }

    [Fact]
    public async Task PagesAServerDoesNotTurnAreCountedInstead()
    {
        await using var server = await StartAsync(EmulatorMode.V3, Generated(10, 1000));
        var (_, reader) = Open(server);
        server.AddFault(new FaultRule { PathContains = "/flow_runs/paginate", Kind = FaultKind.IgnoreOffset, Count = -1 });
        var log = new RecordingLog();
        BindingTotalsResult result = await reader.ReadAsync(WholePools(10), Options(Late), log, default);
        Assert.False(result.ReadByPages);
        Assert.All(result.Scopes, s => Assert.Equal(new[] { 100 }, CountsOf(s)));
        Assert.Contains(log.Lines, l => l.Contains("ignores 'page'"));
    }

    [Fact]
    public async Task AVerifiedScopeIsReusedForItsMaxAgeOnlyAndAFailedOneNever()
    {
        await using var server = await StartAsync();
        DateTimeOffset now = DateTimeOffset.UtcNow;
        var (_, reader) = Open(server, () => now);
        var options = new BindingTotalsOptions { Measures = new[] { Late }, VerifiedScopeMaxAge = TimeSpan.FromSeconds(60) };
        BindingScope[] scopes = { Pools("k8s"), Pools("missing") };
        int Listings() => server.Requests.Count(r => r.Path == "/work_pools/filter");

        await reader.ReadAsync(scopes, options, new RecordingLog(), default);
        Assert.Equal(1, Listings());
        now = now.AddSeconds(59);
        BindingTotalsResult warm = await reader.ReadAsync(new[] { Pools("k8s") }, options, new RecordingLog(), default);
        Assert.Equal(new[] { 5 }, CountsOf(warm.Scopes[0]));
        Assert.Equal(1, Listings());
        // The missing pool is looked up again every time: it may have been made since.
        BindingTotalsResult again = await reader.ReadAsync(scopes, options, new RecordingLog(), default);
        Assert.Equal(PrefectErrorKind.NotFound, again.Scopes[1].Failure!.Kind);
        Assert.Equal(2, Listings());
        Assert.Contains("\"any_\":[\"missing\"]", server.Requests.Last(r => r.Path == "/work_pools/filter").Body);
        now = now.AddSeconds(2);
        await reader.ReadAsync(new[] { Pools("k8s") }, options, new RecordingLog(), default);
        Assert.Equal(3, Listings());
    }

    [Fact]
    public async Task BeforeWorkPoolsAScopeOfPoolsIsUnsupportedAndQueuesAreCountedByName()
    {
        var seed = new EmulatorSeed { Runs = { new SeedRun { Queue = "legacy-a", StateName = "Late", ScheduledOffsetSeconds = -60, Count = 2 }, new SeedRun { Queue = "legacy-b", StateName = "Late", ScheduledOffsetSeconds = -60, Count = 5 } } };
        await using var server = await StartAsync(EmulatorMode.V2Legacy, seed);
        var (_, reader) = Open(server);
        BindingTotalsResult result = await reader.ReadAsync(new[] { AnyPool("legacy-a", "legacy-b"), Pools("some-pool") }, Options(Late), new RecordingLog(), default);
        Assert.Equal(new[] { 7 }, CountsOf(result.Scopes[0]));
        Assert.Equal(PrefectErrorKind.Unsupported, result.Scopes[1].Failure!.Kind);
        Assert.DoesNotContain(server.Requests, r => r.Body != null && (r.Body.Contains("work_pool_queues") || r.Body.Contains("work_pools")));
        Assert.Contains(server.Requests, r => r.Path == "/flow_runs/count" && r.Body!.Contains("\"work_queue_name\":{\"any_\":[\"legacy-a\",\"legacy-b\"]}"));
    }

    [Fact]
    public async Task VerifyOnlyLooksNamesUp()
    {
        await using var server = await StartAsync();
        var (_, reader) = Open(server);
        IReadOnlyList<PrefectApiException?> checks = await reader.VerifyAsync(new[] { Pools("k8s"), AnyPool("default"), Pools("missing") }, TimeSpan.Zero, new RecordingLog(), default);
        Assert.Null(checks[0]);
        Assert.Equal(PrefectErrorKind.InvalidSettings, checks[1]!.Kind);
        Assert.Equal(PrefectErrorKind.NotFound, checks[2]!.Kind);
        Assert.DoesNotContain(server.Requests, r => r.Path.StartsWith("/flow_runs", StringComparison.Ordinal));
    }
}
