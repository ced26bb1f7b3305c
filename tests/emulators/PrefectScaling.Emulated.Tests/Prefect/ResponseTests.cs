using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Prefect;
using PrefectScaling.Testing.PrefectEmulator;
using Xunit;
using static PrefectScaling.Prefect.Tests.EmulatorScenario;

namespace PrefectScaling.Prefect.Tests;

/// <summary>Answers a real Prefect server never sends, but a proxy, a wrong URL or a broken server can: each is
/// a clear PrefectApiException, never a hang, an unhandled exception or a number that was not measured.</summary>
public sealed class ResponseTests
{
    private static PrefectClient ClientFor(LocalHttpServer server, PrefectHttpOptions? options = null, string? apiKey = null) =>
        new(new PrefectConnectionSettings(server.ApiUrl, apiKey, null), options ?? Quick);

    // ------------------------------------------------------------------ body size

    [Fact]
    public async Task ABodyDeclaredOverTheCapIsRefusedBeforeItIsRead()
    {
        using var server = new LocalHttpServer(async (context, _) =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = PrefectHttpOptions.MaxResponseBytes + 1L;
            try
            {
                await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes("[")); // the rest never comes
                await Task.Delay(TimeSpan.FromSeconds(20));
            }
            finally { context.Response.Abort(); }
        });
        var client = ClientFor(server);
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => client.PostAsync("/flow_runs/filter", new JsonObject(), new RecordingLog(), default));
        Assert.Equal(PrefectErrorKind.TooLarge, e.Kind);
        Assert.Contains("33,554,433 bytes", e.Message);
        Assert.Equal(1, client.RequestCount); // not retried
    }

    [Fact]
    public async Task AnUndeclaredHugeBodyStopsAtTheCapWhileStreaming()
    {
        // No Content-Length, and 160 MiB of it: a client that buffered the whole answer before looking would take
        // it all. The server is told to stop when the client hangs up; it never gets far past the cap.
        const long total = 160L * 1024 * 1024;
        long sent = 0;
        using var server = new LocalHttpServer(async (context, _) =>
        {
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            context.Response.SendChunked = true;
            byte[] chunk = Encoding.UTF8.GetBytes("[" + string.Concat(Enumerable.Repeat("{\"id\":\"0123456789abcdef\"},", 2000)));
            while (Interlocked.Read(ref sent) < total)
            {
                await context.Response.OutputStream.WriteAsync(chunk);
                Interlocked.Add(ref sent, chunk.Length);
            }
            context.Response.Close();
        });
        var client = ClientFor(server, new PrefectHttpOptions { RequestTimeout = TimeSpan.FromMinutes(2), Deadline = TimeSpan.FromMinutes(2), MaxAttempts = 1 });
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => client.PostAsync("/flow_runs/filter", new JsonObject(), new RecordingLog(), default));
        Assert.Equal(PrefectErrorKind.TooLarge, e.Kind);
        Assert.Contains("more than 32 MiB", e.Message);
        Assert.True(Interlocked.Read(ref sent) < 100L * 1024 * 1024, Interlocked.Read(ref sent) + " bytes were sent");
    }

    [Fact]
    public async Task ABodyJustUnderTheCapIsRead()
    {
        // A JSON string of almost 32 MiB: big, but allowed.
        string big = "\"" + new string('x', PrefectHttpOptions.MaxResponseBytes - 2) + "\"";
        using var server = new LocalHttpServer((context, _) => LocalHttpServer.Json(context, 200, big));
        var answer = await ClientFor(server).PostAsync("/anything", new JsonObject(), new RecordingLog(), default);
        Assert.Equal(PrefectHttpOptions.MaxResponseBytes - 2, answer.GetString()!.Length);
    }

    [Fact]
    public async Task APageOfRunsTooLargeToReadIsCountedPerQueueInstead()
    {
        // Runs with large parameters: the page is refused, the backlog is still measured, a count per queue.
        using var server = new LocalHttpServer(async (context, body) =>
        {
            switch (context.Request.Url!.AbsolutePath)
            {
                case "/api/admin/version":
                    await LocalHttpServer.Json(context, 200, "\"3.8.3\"");
                    break;
                case "/api/work_pools/p/queues/filter":
                    await LocalHttpServer.Json(context, 200, "[{\"id\":\"q1\",\"name\":\"a\"},{\"id\":\"q2\",\"name\":\"b\"}]");
                    break;
                case "/api/flow_runs/count":
                    await LocalHttpServer.Json(context, 200, body.Contains("q1") ? "4" : "6");
                    break;
                default:
                    context.Response.StatusCode = 200;
                    context.Response.ContentLength64 = PrefectHttpOptions.MaxResponseBytes + 1L;
                    await context.Response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes("{")); // sends the headers
                    context.Response.Abort();
                    break;
            }
        });
        var log = new RecordingLog();
        var reader = new BacklogReader(new WorkQueueCatalog(ClientFor(server)));
        var result = await reader.ReadAsync(new[] { Sel("p", null) }, Measures(BacklogMeasure.Late), log, default);
        Assert.Equal(new[] { ("a", 4), ("b", 6) }, result.Counts.OrderBy(c => c.WorkQueue).Select(c => (c.WorkQueue, c.Count)));
        Assert.Equal(1, server.Count("/flow_runs/paginate"));
        Assert.Contains(log.Lines, l => l.Contains("Counting per queue instead"));
    }

    [Fact]
    public async Task AHugeErrorBodyIsCutShortNotRefused()
    {
        using var server = new LocalHttpServer((context, _) =>
            LocalHttpServer.Json(context, 404, "{\"detail\":\"gone " + new string('y', 1_000_000) + "\"}"));
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => ClientFor(server).PostAsync("/x", new JsonObject(), new RecordingLog(), default));
        Assert.Equal(PrefectErrorKind.NotFound, e.Kind);
    }

    // ------------------------------------------------------------------ redirects

    private static LocalHttpServer Redirecting(int status, Func<string, string> location, Func<string, (int, string)?>? otherwise = null) =>
        new((context, _) =>
        {
            string path = context.Request.Url!.AbsolutePath;
            if (otherwise?.Invoke(path) is { } answer) return LocalHttpServer.Json(context, answer.Item1, answer.Item2);
            context.Response.StatusCode = status;
            context.Response.RedirectLocation = location(path);
            context.Response.ContentLength64 = 0;
            context.Response.Close();
            return Task.CompletedTask;
        });

    [Theory]
    [InlineData(301)]
    [InlineData(302)]
    [InlineData(307)]
    [InlineData(308)]
    public async Task ARedirectedPostIsAnErrorThatSaysWhereItPointed(int status)
    {
        // The common mistake: http where the server wants https; the target has a query that must not be printed.
        using var server = Redirecting(status, path => "https://prefect.example.com" + path + "?token=SECRET-IN-QUERY");
        var client = ClientFor(server);
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => client.PostAsync("/flow_runs/count", new JsonObject(), new RecordingLog(), default));
        Assert.Equal(PrefectErrorKind.UnexpectedResponse, e.Kind);
        Assert.Equal(status, e.StatusCode);
        Assert.Contains("HTTP " + status + ") to https://prefect.example.com/api/flow_runs/count", e.Message);
        Assert.Contains("use https://prefect.example.com/api as the Prefect API URL", e.Message);
        Assert.DoesNotContain("SECRET-IN-QUERY", e.Message);
        Assert.Equal(1, client.RequestCount);
        Assert.Equal(new[] { "POST /api/flow_runs/count" }, server.Requests);
    }

    [Fact]
    public async Task ASameOriginPostRedirectIsNotFollowedEither()
    {
        using var server = Redirecting(307, path => path + "/");
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => ClientFor(server).PostAsync("/flow_runs/count", new JsonObject(), new RecordingLog(), default));
        Assert.Contains("a redirected POST is not followed", e.Message);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task AGetRedirectToAnotherOriginIsNotFollowedAndCarriesNoCredentials()
    {
        using var elsewhere = new LocalHttpServer((context, _) => LocalHttpServer.Json(context, 200, "\"3.8.3\""));
        using var server = Redirecting(302, path => "http://user:pw@127.0.0.1:" + elsewhere.Port + path);
        var client = ClientFor(server, apiKey: "pnu_CANARY_redirect");
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => client.GetAsync("/admin/version", new RecordingLog(), default));
        Assert.Contains("redirects to another origin", e.Message);
        Assert.Contains("to http://127.0.0.1:" + elsewhere.Port + "/api/admin/version", e.Message);
        Assert.DoesNotContain("user:pw", e.Message);
        Assert.Empty(elsewhere.Requests);
    }

    [Fact]
    public async Task ASameOriginGetRedirectIsFollowed()
    {
        // FastAPI redirects a trailing slash with 307 to the same origin.
        using var server = Redirecting(307, path => path.TrimEnd('/'), path => path == "/api/admin/version" ? (200, "\"3.8.3\"") : null);
        var client = ClientFor(server);
        var answer = await client.GetAsync("/admin/version/", new RecordingLog(), default);
        Assert.Equal("3.8.3", answer.GetString());
        Assert.Equal(new[] { "GET /api/admin/version/", "GET /api/admin/version" }, server.Requests);
        Assert.Equal(2, client.RequestCount);
    }

    [Fact]
    public async Task ARedirectLoopIsBounded()
    {
        using var server = Redirecting(302, path => path == "/api/a" ? "/api/b" : "/api/a");
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => ClientFor(server).GetAsync("/a", new RecordingLog(), default));
        Assert.Contains("gave up after " + PrefectHttpOptions.MaxRedirects + " redirects", e.Message);
        Assert.Equal(PrefectHttpOptions.MaxRedirects + 1, server.Requests.Count);
    }

    // ------------------------------------------------------------------ numbers

    public static TheoryData<string> NotCounts => new() { "1e300", "3.5", "-1", "\"5\"", "null", "true", "[]", "2147483648" };

    [Theory]
    [MemberData(nameof(NotCounts))]
    public async Task AFlowRunCountThatIsNotACountIsAProtocolError(string count)
    {
        using var server = LocalHttpServer.Prefect((path, _) => path switch
        {
            "/api/work_pools/p/queues/filter" => (200, "[{\"id\":\"q1\",\"name\":\"default\",\"work_pool_name\":\"p\"}]"),
            "/api/flow_runs/count" => (200, count),
            _ => null,
        });
        var reader = new BacklogReader(new WorkQueueCatalog(ClientFor(server)));
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => reader.ReadAsync(new[] { Sel("p", "default") }, Measures(BacklogMeasure.Late), new RecordingLog(), default));
        Assert.Equal(PrefectErrorKind.UnexpectedResponse, e.Kind);
        Assert.Contains("/flow_runs/count", e.Message);
        Assert.Contains("not a count", e.Message);
    }

    [Theory]
    [MemberData(nameof(NotCounts))]
    [InlineData("missing")]
    public async Task APageTotalThatIsNotACountIsAProtocolError(string pages)
    {
        string answer = pages == "missing"
            ? "{\"results\":[],\"count\":0,\"limit\":200,\"page\":1}"
            : "{\"results\":[],\"count\":0,\"limit\":200,\"pages\":" + pages + ",\"page\":1}";
        using var server = LocalHttpServer.Prefect((path, _) => path switch
        {
            "/api/work_pools/p/queues/filter" => (200, "[{\"id\":\"q1\",\"name\":\"a\"},{\"id\":\"q2\",\"name\":\"b\"}]"),
            "/api/flow_runs/paginate" => (200, answer),
            _ => null,
        });
        var reader = new BacklogReader(new WorkQueueCatalog(ClientFor(server)));
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => reader.ReadAsync(new[] { Sel("p", null) }, Measures(BacklogMeasure.Late), new RecordingLog(), default));
        Assert.Equal(PrefectErrorKind.UnexpectedResponse, e.Kind);
        Assert.Contains("\"pages\"", e.Message);
    }

    [Theory]
    [InlineData("concurrency_limit", "1e300")]
    [InlineData("concurrency_limit", "2.5")]
    [InlineData("concurrency_limit", "\"10\"")]
    [InlineData("priority", "-3")]
    public async Task AQueueLimitThatIsNotACountIsAProtocolError(string field, string value)
    {
        using var server = LocalHttpServer.Prefect((path, _) => path == "/api/work_pools/p/queues/filter"
            ? (200, "[{\"id\":\"q1\",\"name\":\"default\",\"" + field + "\":" + value + "}]")
            : null);
        var catalog = new WorkQueueCatalog(ClientFor(server));
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => catalog.ResolveAsync(new[] { Sel("p", null) }, TimeSpan.Zero, new RecordingLog(), default));
        Assert.Equal(PrefectErrorKind.UnexpectedResponse, e.Kind);
        Assert.Contains("\"" + field + "\"", e.Message);
    }

    [Fact]
    public async Task ANullLimitIsNoLimitAndWholeNumbersInAnyFormAreCounts()
    {
        using var server = LocalHttpServer.Prefect((path, _) => path switch
        {
            "/api/work_pools/p/queues/filter" => (200, "[{\"id\":\"q1\",\"name\":\"default\",\"concurrency_limit\":null,\"priority\":1.0}]"),
            "/api/flow_runs/count" => (200, "7.0"),
            _ => null,
        });
        var reader = new BacklogReader(new WorkQueueCatalog(ClientFor(server)));
        var result = await reader.ReadAsync(new[] { Sel("p", "default") }, Measures(BacklogMeasure.Late), new RecordingLog(), default);
        Assert.Equal(7, result.Counts.Single().Count);
    }

    [Fact]
    public async Task AListingItemThatIsNotAnObjectIsAProtocolError()
    {
        using var server = LocalHttpServer.Prefect((path, _) => path == "/api/work_pools/p/queues/filter" ? (200, "[1,2,3]") : null);
        var catalog = new WorkQueueCatalog(ClientFor(server));
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => catalog.ResolveAsync(new[] { Sel("p", null) }, TimeSpan.Zero, new RecordingLog(), default));
        Assert.Equal(PrefectErrorKind.UnexpectedResponse, e.Kind);
    }

    // ------------------------------------------------------------------ a URL without /api

    [Theory]
    [InlineData(EmulatorMode.V3)]
    [InlineData(EmulatorMode.V2)]
    public async Task AUrlWithoutApiThatReachesAPrefectServerSaysDidYouMean(EmulatorMode mode)
    {
        await using var server = await StartAsync(mode, authString: mode == EmulatorMode.V3 ? "admin:pw" : null);
        var root = server.RootUrl.AbsoluteUri.TrimEnd('/');
        var client = new PrefectClient(new PrefectConnectionSettings(server.RootUrl, null, mode == EmulatorMode.V3 ? "admin:pw" : null), Quick);
        var reader = new BacklogReader(new WorkQueueCatalog(client));
        foreach (var selector in new[] { Sel("k8s", null), Sel(null, "default") })
        {
            var e = await Assert.ThrowsAsync<PrefectApiException>(() => reader.ReadAsync(new[] { selector }, Measures(BacklogMeasure.Late), new RecordingLog(), default));
            Assert.Equal(PrefectErrorKind.InvalidSettings, e.Kind);
            Assert.Contains("did you mean " + root + "/api?", e.Message);
        }
    }

    [Fact]
    public async Task AUrlWithoutApiWhereNoPrefectAnswersKeepsTheNotFound()
    {
        using var server = new LocalHttpServer((context, _) => LocalHttpServer.Json(context, 404, "{\"detail\":\"Not Found\"}"));
        var client = new PrefectClient(new PrefectConnectionSettings(new Uri(server.Root), null, null), Quick);
        var reader = new BacklogReader(new WorkQueueCatalog(client));
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => reader.ReadAsync(new[] { Sel(null, "default") }, Measures(BacklogMeasure.Late), new RecordingLog(), default));
        Assert.Equal(PrefectErrorKind.NotFound, e.Kind);
        Assert.DoesNotContain("did you mean", e.Message);
    }

    // ------------------------------------------------------------------ one deadline per read

    [Fact]
    public async Task OneDeadlineCoversEveryRequestOfARead()
    {
        // Each request takes 0.7 s, well inside a 1.5 s per-request limit, but a read of three requests
        // (version, listing, runs) does not fit in one 1.5 s deadline.
        await using var server = await StartAsync();
        server.AddFault(new FaultRule { Kind = FaultKind.Delay, DelayMilliseconds = 700, Count = -1 });
        var (client, reader, _) = Connect(server, options: new PrefectHttpOptions { RequestTimeout = TimeSpan.FromSeconds(30), Deadline = TimeSpan.FromSeconds(1.5), MaxAttempts = 1 });
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => reader.ReadAsync(new[] { Sel("k8s", null) }, Measures(BacklogMeasure.Late), new RecordingLog(), default));
        Assert.Equal(PrefectErrorKind.Timeout, e.Kind);
        Assert.Contains("1.5 s deadline", e.Message);
        Assert.True(client.RequestCount <= 3, client.RequestCount + " requests");
    }

    [Fact]
    public async Task ADeadlineSharedByTwoCallsCoversBoth()
    {
        await using var server = await StartAsync();
        var (_, _, catalog) = Connect(server);
        var deadline = PrefectDeadline.Start(TimeSpan.FromSeconds(1));
        await catalog.ListPoolsAsync(null, new RecordingLog(), default, deadline);
        // Alone, the second call would have a deadline of its own; shared, it has what the first one left.
        server.AddFault(new FaultRule { Kind = FaultKind.Delay, DelayMilliseconds = 1500, Count = -1 });
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => catalog.ListPoolsAsync(null, new RecordingLog(), default, deadline));
        Assert.Equal(PrefectErrorKind.Timeout, e.Kind);
        Assert.Contains("1 s deadline", e.Message);
    }

    [Fact]
    public async Task AReadGetsTheShorterOfItsConnectionsDeadlineAndTheCallersTime()
    {
        await using var server = await StartAsync();
        var (client, _, _) = Connect(server); // Quick: a 10 s deadline
        Assert.Equal(TimeSpan.FromSeconds(10), client.StartDeadline().Budget);
        Assert.Equal(TimeSpan.FromSeconds(3), client.StartDeadline(TimeSpan.FromSeconds(3)).Budget);
        Assert.Equal(TimeSpan.FromSeconds(10), client.StartDeadline(TimeSpan.FromMinutes(5)).Budget);
        var e = Assert.Throws<PrefectApiException>(() => client.StartDeadline(TimeSpan.FromSeconds(-1)));
        Assert.Equal(PrefectErrorKind.Timeout, e.Kind);
    }
}
