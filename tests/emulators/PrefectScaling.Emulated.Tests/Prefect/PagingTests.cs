using System.Text;
using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Prefect;
using PrefectScaling.Testing.PrefectEmulator;
using Xunit;
using static PrefectScaling.Prefect.Tests.EmulatorScenario;

namespace PrefectScaling.Prefect.Tests;

/// <summary>A server (or proxy) that ignores offset/page sends the first page again and again: every pager
/// must stop with an error, never loop and never count the de-duplicated first page as the backlog.</summary>
public sealed class PagingTests
{
    // The fault stops after this many requests, so that a pager that does not notice still ends (with a wrong answer).
    private const int FaultRequests = 40;

    private static EmulatorSeed Generated(int pools, int queuesPerPool, int lateRuns) =>
        new() { Generate = new SeedGenerate { Pools = pools, QueuesPerPool = queuesPerPool, LateRuns = lateRuns, PoolPrefix = "bench", QueuePrefix = "q", FutureRuns = false } };

    private static async Task<PrefectApiException> RepeatedPagesFail(EmulatorMode mode, EmulatorSeed seed, string pathContains, ScopeSelector selector)
    {
        await using var server = await StartAsync(mode, seed);
        server.AddFault(new FaultRule { Kind = FaultKind.IgnoreOffset, PathContains = pathContains, Count = FaultRequests });
        var (_, reader, _) = Connect(server);
        var log = new RecordingLog();
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => reader.ReadAsync(new[] { selector }, Measures(BacklogMeasure.Late), log, default));
        Assert.Equal(PrefectErrorKind.UnexpectedResponse, e.Kind);
        Assert.Contains("only items it had already sent", e.Message);
        // It stops at the first repeated page: the first page and the repeat (as sent; the emulator records an
        // answer only after it has gone out).
        Assert.Equal(2, log.Lines.Count(l => l.StartsWith("VERBOSE POST ", StringComparison.Ordinal) && l.Contains(pathContains, StringComparison.Ordinal)));
        return e;
    }

    [Fact]
    public async Task APoolsQueueListingThatRepeatsFails()
    {
        var e = await RepeatedPagesFail(EmulatorMode.V3, Generated(1, 450, 10), "/queues/filter", Sel("bench-1", null));
        Assert.Contains("'offset'", e.Message);
    }

    [Fact]
    public async Task TheAllPoolsQueueListingThatRepeatsFails() =>
        await RepeatedPagesFail(EmulatorMode.V3, Generated(3, 150, 10), "/work_queues/filter", Sel(null, null));

    [Fact]
    public async Task APoolListingThatRepeatsFails() =>
        await RepeatedPagesFail(EmulatorMode.V3, Generated(250, 1, 10), "/work_pools/filter", Sel("bench-*", null));

    [Fact]
    public async Task PaginatedRunsThatRepeatFailInsteadOfCountingTheFirstPage()
    {
        // 900 late runs in 3 queues: 5 pages, cheaper than a count per queue, so the runs are paged.
        var e = await RepeatedPagesFail(EmulatorMode.V3, Generated(1, 3, 900), "/flow_runs/paginate", Sel("bench-1", null));
        Assert.Contains("'page'", e.Message);
    }

    [Fact]
    public async Task FilteredRunsThatRepeatFail()
    {
        // 2.x pages /flow_runs/filter by offset: 900 runs in 8 queues is 5 pages.
        var e = await RepeatedPagesFail(EmulatorMode.V2, Generated(1, 8, 900), "/flow_runs/filter", Sel("bench-1", null));
        Assert.Contains("'offset'", e.Message);
    }

    [Theory]
    [InlineData(EmulatorMode.V3)]
    [InlineData(EmulatorMode.V2)]
    public async Task WithoutTheFaultTheSameScopesAreCountedExactly(EmulatorMode mode)
    {
        await using var server = await StartAsync(mode, Generated(1, 8, 900));
        var (_, reader, _) = Connect(server);
        var result = await reader.ReadAsync(new[] { Sel("bench-1", null) }, Measures(BacklogMeasure.Late), new RecordingLog(), default);
        Assert.Equal(900, result.Counts.Sum(c => c.Count));
    }

    [Fact]
    public async Task AListingThatNeverEndsStopsAtThePageBound()
    {
        // Every page is full of new pools; after the bound (plus a margin) the server fails, so a pager without one ends too.
        int pages = 0;
        using var server = LocalHttpServer.Prefect((path, _) =>
        {
            if (path != "/api/work_pools/filter") return null;
            if (Interlocked.Increment(ref pages) > PageGuard.MaxPages + 5) return (500, "{\"exception_message\":\"Internal Server Error\"}");
            var page = new JsonArray();
            for (int i = 0; i < 200; i++) page.Add(new JsonObject { ["id"] = Guid.NewGuid().ToString(), ["name"] = "p" + Guid.NewGuid().ToString("N") });
            return (200, page.ToJsonString());
        });
        var client = new PrefectClient(new PrefectConnectionSettings(server.ApiUrl, null, null), new PrefectHttpOptions { Deadline = TimeSpan.FromMinutes(5) });
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => new WorkQueueCatalog(client).ListPoolsAsync(null, new RecordingLog(), default));
        Assert.Equal(PrefectErrorKind.TooLarge, e.Kind);
        Assert.Contains("1,000 pages", e.Message);
        Assert.Equal(PageGuard.MaxPages, server.Count("/work_pools/filter"));
    }

    [Fact]
    public async Task APaginateTotalPastThePageBoundIsNotPagedButCountedPerQueue()
    {
        // 1,200 queues, so 1,001 pages would look cheaper than a count per queue; the bound says otherwise.
        const int queues = 1200;
        using var server = LocalHttpServer.Prefect((path, body) =>
        {
            switch (path)
            {
                case "/api/work_pools/bench/queues/filter":
                    int offset = (int?)JsonNode.Parse(body)!["offset"] ?? 0;
                    var page = new JsonArray();
                    for (int i = offset; i < Math.Min(queues, offset + 200); i++) page.Add(new JsonObject { ["id"] = "q" + i, ["name"] = "q" + i, ["work_pool_name"] = "bench" });
                    return (200, page.ToJsonString());
                case "/api/flow_runs/paginate":
                    return (200, "{\"results\":[],\"count\":200200,\"limit\":200,\"pages\":1001,\"page\":1}");
                case "/api/flow_runs/count":
                    return (200, "2");
                default:
                    return null;
            }
        });
        var client = new PrefectClient(new PrefectConnectionSettings(server.ApiUrl, null, null), Quick);
        var reader = new BacklogReader(new WorkQueueCatalog(client));
        var result = await reader.ReadAsync(new[] { Sel("bench", null) }, Measures(BacklogMeasure.Late), new RecordingLog(), default);
        Assert.Equal(queues * 2, result.Counts.Sum(c => c.Count));
        Assert.Equal(1, server.Count("/flow_runs/paginate"));
        Assert.Equal(queues, server.Count("/flow_runs/count"));
    }
}
