using PrefectScaling.Backlog;
using PrefectScaling.Prefect;
using PrefectScaling.Testing.PrefectEmulator;
using Xunit;
using static PrefectScaling.Prefect.Tests.EmulatorScenario;

namespace PrefectScaling.Prefect.Tests;

public sealed class BacklogReaderTests
{
    public static TheoryData<EmulatorMode> SelfHostedModes => new() { EmulatorMode.V3, EmulatorMode.V2 };

    [Theory]
    [MemberData(nameof(SelfHostedModes))]
    public async Task PoolScopeCountsEveryQueueOfThePool(EmulatorMode mode)
    {
        await using var server = await StartAsync(mode);
        var (_, reader, _) = Connect(server);
        var result = await reader.ReadAsync(new[] { Sel("k8s", null) }, Measures(BacklogMeasure.Late), new RecordingLog(), default);
        Assert.Empty(result.Failures);
        Assert.Equal(2, result.Counts.Count);
        Assert.Equal(2, CountOf(result, "k8s", "default"));
        Assert.Equal(3, CountOf(result, "k8s", OddQueue));
        Assert.All(result.Counts, c => Assert.Equal(DateTimeKind.Utc, c.Timestamp.Kind));
        Assert.All(result.Counts, c => Assert.Equal(server.ApiUrl.AbsoluteUri.TrimEnd('/'), c.ApiUrl));
    }

    [Theory]
    [MemberData(nameof(SelfHostedModes))]
    public async Task EveryMeasureCountsWhatItSays(EmulatorMode mode)
    {
        await using var server = await StartAsync(mode);
        var (_, reader, _) = Connect(server);
        var result = await reader.ReadAsync(new[] { Sel("k8s", "default") }, Measures(BacklogMeasure.Late, BacklogMeasure.Due, BacklogMeasure.Pending, BacklogMeasure.Running), new RecordingLog(), default);
        Assert.Equal(2, CountOf(result, "k8s", "default", BacklogMeasure.Late));
        // Due: 2 Late + 1 overdue Scheduled + 1 due AwaitingRetry; not the future ones, not AwaitingConcurrencySlot.
        Assert.Equal(4, CountOf(result, "k8s", "default", BacklogMeasure.Due));
        Assert.Equal(1, CountOf(result, "k8s", "default", BacklogMeasure.Pending));
        Assert.Equal(2, CountOf(result, "k8s", "default", BacklogMeasure.Running));
    }

    [Theory]
    [MemberData(nameof(SelfHostedModes))]
    public async Task MeasuresAreRightWhenGroupedAcrossQueuesToo(EmulatorMode mode)
    {
        await using var server = await StartAsync(mode);
        var (_, reader, _) = Connect(server);
        var result = await reader.ReadAsync(Array.Empty<ScopeSelector>(), Measures(BacklogMeasure.Due, BacklogMeasure.Running), new RecordingLog(), default);
        Assert.Equal(4, CountOf(result, "k8s", "default", BacklogMeasure.Due));
        Assert.Equal(3, CountOf(result, "k8s", OddQueue, BacklogMeasure.Due));
        Assert.Equal(1, CountOf(result, "ecs-pool", "default", BacklogMeasure.Due));
        Assert.Equal(0, CountOf(result, "ecs-pool", "reports", BacklogMeasure.Due));
        Assert.Equal(2, CountOf(result, "k8s", "default", BacklogMeasure.Running));
        Assert.Equal(1, CountOf(result, OddPool, "etl-hourly", BacklogMeasure.Running));
    }

    [Theory]
    [MemberData(nameof(SelfHostedModes))]
    public async Task AQueueNameAloneIsCountedInEveryPoolThatHasIt(EmulatorMode mode)
    {
        await using var server = await StartAsync(mode);
        var (_, reader, _) = Connect(server);
        var result = await reader.ReadAsync(new[] { Sel(null, "default") }, Measures(BacklogMeasure.Late), new RecordingLog(), default);
        Assert.Equal(2, CountOf(result, "k8s", "default"));
        Assert.Equal(1, CountOf(result, "ecs-pool", "default"));
        Assert.Equal(0, CountOf(result, OddPool, "default"));
        Assert.All(result.Counts, c => Assert.Equal("default", c.WorkQueue));
    }

    [Fact]
    public async Task PoolAndQueueAndEscapedNamesAndWildcards()
    {
        await using var server = await StartAsync();
        var (_, reader, _) = Connect(server);
        var result = await reader.ReadAsync(new[] { Sel("k8s", OddQueue.Replace("?", "`?")), Sel(OddPool, "etl-*"), Sel("ecs-*", "def*") }, Measures(BacklogMeasure.Late), new RecordingLog(), default);
        Assert.Empty(result.Failures);
        Assert.Equal(3, CountOf(result, "k8s", OddQueue));
        Assert.Equal(5, CountOf(result, OddPool, "etl-nightly"));
        Assert.Equal(0, CountOf(result, OddPool, "etl-hourly"));
        Assert.Equal(1, CountOf(result, "ecs-pool", "default"));
        Assert.Equal(4, result.Counts.Count);
    }

    [Fact]
    public async Task MissingPoolsAndQueuesAreFailuresNeverZeros()
    {
        await using var server = await StartAsync();
        var (_, reader, _) = Connect(server);
        var result = await reader.ReadAsync(new[] { Sel("no-such-pool", null), Sel("k8s", "no-such-queue"), Sel(null, "nowhere"), Sel("k8s", "default"), Sel("zz*", null) }, Measures(BacklogMeasure.Late), new RecordingLog(), default);
        Assert.Equal(3, result.Failures.Count);
        Assert.All(result.Failures, f => Assert.Equal(PrefectErrorKind.NotFound, f.Error.Kind));
        Assert.Contains(result.Failures, f => f.Error.Message.Contains("Work pool 'no-such-pool'"));
        Assert.Contains(result.Failures, f => f.Error.Message.Contains("Work queue 'no-such-queue' was not found in work pool 'k8s'"));
        Assert.Contains(result.Failures, f => f.Error.Message.Contains("'nowhere' was not found in any work pool"));
        var only = Assert.Single(result.Counts);
        Assert.Equal(("k8s", "default", 2), (only.WorkPool, only.WorkQueue, only.Count));
    }

    [Fact]
    public async Task TheRequestTargetHoldsFor1000QueuesAndNoPollEndpointIsCalled()
    {
        var seed = new EmulatorSeed { Generate = new SeedGenerate { Pools = 1, QueuesPerPool = 999, LateRuns = 150, PoolPrefix = "bench", QueuePrefix = "q" } };
        await using var server = await StartAsync(EmulatorMode.V3, seed);
        var (client, reader, _) = Connect(server);
        string pool = (await new WorkQueueCatalog(client).ListPoolsAsync(null, new RecordingLog(), default)).Single().Name;
        int before = client.RequestCount;
        var result = await reader.ReadAsync(new[] { Sel(pool, null) }, new BacklogReadOptions { QueueListingMaxAge = TimeSpan.FromMinutes(1) }, new RecordingLog(), default);
        Assert.Equal(1000, result.Counts.Count);
        Assert.Equal(150, result.Counts.Sum(c => c.Count));
        // floor(1000/200)+1 listing pages (a full last page needs one more to see the end) + 1 page of runs,
        // +1 for the version, asked once per connection.
        Assert.Equal(1 + 6 + 1, client.RequestCount - before);

        int warm = client.RequestCount;
        var again = await reader.ReadAsync(new[] { Sel(pool, null) }, new BacklogReadOptions { QueueListingMaxAge = TimeSpan.FromMinutes(1) }, new RecordingLog(), default);
        Assert.Equal(150, again.Counts.Sum(c => c.Count));
        Assert.Equal(1, client.RequestCount - warm); // the listing is reused: one page of runs

        Assert.DoesNotContain(server.Requests, r => r.Path.Contains("get_scheduled_flow_runs") || r.Path.Contains("get_runs"));
    }

    [Theory]
    [MemberData(nameof(SelfHostedModes))]
    public async Task ALargeBacklogIsPagedAndCountedExactly(EmulatorMode mode)
    {
        var seed = new EmulatorSeed { Generate = new SeedGenerate { Pools = 1, QueuesPerPool = 99, LateRuns = 1000, PoolPrefix = "big", QueuePrefix = "q" } };
        await using var server = await StartAsync(mode, seed);
        var (client, reader, _) = Connect(server);
        var result = await reader.ReadAsync(Array.Empty<ScopeSelector>(), Measures(BacklogMeasure.Late), new RecordingLog(), default);
        Assert.Equal(1000, result.Counts.Sum(c => c.Count));
        Assert.All(result.Counts, c => Assert.InRange(c.Count, 0, 11));
        // 1 version + 1 listing page + 1000/200 run pages; 2.x sends no total with a page, so a backlog that is
        // an exact multiple of 200 costs one more (empty) page there.
        Assert.Equal(mode == EmulatorMode.V2 ? 8 : 7, client.RequestCount);
    }

    [Fact]
    public async Task OneQueueWithAHugeBacklogCostsOneCount()
    {
        var seed = new EmulatorSeed { Pools = { new SeedPool { Name = "p" } }, Runs = { Run("p", "default", "Late", -60, 700) } };
        await using var server = await StartAsync(EmulatorMode.V3, seed);
        var (client, reader, _) = Connect(server);
        var result = await reader.ReadAsync(new[] { Sel("p", "default") }, Measures(BacklogMeasure.Late), new RecordingLog(), default);
        Assert.Equal(700, Assert.Single(result.Counts).Count);
        Assert.Equal(3, client.RequestCount); // version, listing, one count
        Assert.Contains(server.Requests, r => r.Path == "/flow_runs/count");
    }

    [Fact]
    public async Task ManyRunsInFewQueuesSwitchesToPerQueueCounts()
    {
        var seed = new EmulatorSeed { Pools = { new SeedPool { Name = "p", Queues = { new SeedQueue { Name = "a" } } } }, Runs = { Run("p", "default", "Late", -60, 650), Run("p", "a", "Late", -60, 10) } };
        await using var server = await StartAsync(EmulatorMode.V3, seed);
        var (client, reader, _) = Connect(server);
        var result = await reader.ReadAsync(new[] { Sel("p", null) }, Measures(BacklogMeasure.Late), new RecordingLog(), default);
        Assert.Equal(650, CountOf(result, "p", "default"));
        Assert.Equal(10, CountOf(result, "p", "a"));
        // version + listing + first page + 2 counts, cheaper than 4 pages.
        Assert.Equal(5, client.RequestCount);
    }

    [Fact]
    public async Task LegacyServersAreScopedByQueueNameAndRefusePools()
    {
        var seed = new EmulatorSeed { Runs = { new SeedRun { Queue = "legacy-a", StateName = "Late", ScheduledOffsetSeconds = -60, Count = 2 }, new SeedRun { Queue = "legacy-b", StateName = "Late", ScheduledOffsetSeconds = -60, Count = 5 } } };
        await using var server = await StartAsync(EmulatorMode.V2Legacy, seed);
        var (_, reader, _) = Connect(server);
        var result = await reader.ReadAsync(new[] { Sel(null, "legacy-a"), Sel("some-pool", null) }, Measures(BacklogMeasure.Late), new RecordingLog(), default);
        var failure = Assert.Single(result.Failures);
        Assert.Equal(PrefectErrorKind.Unsupported, failure.Error.Kind);
        var count = Assert.Single(result.Counts);
        Assert.Equal(("legacy-a", 2), (count.WorkQueue, count.Count));
        Assert.DoesNotContain(server.Requests, r => r.Body != null && r.Body.Contains("work_pool_queues"));
    }

    [Fact]
    public async Task CloudUsesBearerSkipsTheVersionProbeAndSendsContentLength()
    {
        const string key = "pnu_CANARY_cloud_key_987654321";
        await using var server = await StartAsync(EmulatorMode.Cloud, apiKey: key);
        var (client, reader, _) = Connect(server, apiKey: key);
        var log = new RecordingLog();
        var result = await reader.ReadAsync(new[] { Sel("k8s", null) }, Measures(BacklogMeasure.Late), log, default);
        Assert.Equal(2, CountOf(result, "k8s", "default"));
        Assert.DoesNotContain(server.Requests, r => r.Path.Contains("admin/version"));
        Assert.All(server.Requests, r => Assert.Equal("Bearer", r.AuthScheme));
        Assert.All(server.Requests.Where(r => r.Method == "POST"), r => Assert.True(r.ContentLength > 0 && r.ContentType!.StartsWith("application/json")));
        Assert.All(log.Lines, l => Assert.DoesNotContain(key, l));
    }
}
