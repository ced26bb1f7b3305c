using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Prefect;
using PrefectScaling.Testing.PrefectEmulator;
using Xunit;
using static PrefectScaling.Prefect.Tests.EmulatorScenario;

namespace PrefectScaling.Prefect.Tests;

public sealed class FailureTests
{
    private static async Task<PrefectApiException> ReadFails(PrefectEmulatorServer server, PrefectHttpOptions? options = null, string? apiKey = null, string? authString = null, RecordingLog? log = null)
    {
        var (_, reader, _) = Connect(server, apiKey, authString, options);
        return await Assert.ThrowsAsync<PrefectApiException>(() => reader.ReadAsync(new[] { Sel("k8s", null) }, Measures(BacklogMeasure.Late), log ?? new RecordingLog(), default));
    }

    [Fact]
    public async Task AServerThatIsDownIsAConnectionError()
    {
        var server = await StartAsync();
        Uri url = server.ApiUrl;
        await server.DisposeAsync();
        var client = new PrefectClient(new PrefectConnectionSettings(url, null, null), new PrefectHttpOptions { Deadline = TimeSpan.FromSeconds(1), BaseBackoff = TimeSpan.FromMilliseconds(50) });
        var reader = new BacklogReader(new WorkQueueCatalog(client));
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => reader.ReadAsync(new[] { Sel("k8s", null) }, Measures(BacklogMeasure.Late), new RecordingLog(), default));
        Assert.Equal(PrefectErrorKind.ConnectionFailed, e.Kind);
        Assert.Contains("Could not reach the Prefect API", e.Message);
        Assert.True(client.RequestCount > 1, "connection failures are retried");
    }

    [Fact]
    public async Task ASlowServerTimesOut()
    {
        await using var server = await StartAsync();
        server.AddFault(new FaultRule { Kind = FaultKind.Delay, DelayMilliseconds = 3000, Count = -1 });
        // The deadline is far off, so the attempts (not the deadline) run out however slow the machine is.
        var e = await ReadFails(server, new PrefectHttpOptions { RequestTimeout = TimeSpan.FromMilliseconds(300), Deadline = TimeSpan.FromSeconds(60), MaxAttempts = 2, BaseBackoff = TimeSpan.FromMilliseconds(50) });
        Assert.Equal(PrefectErrorKind.Timeout, e.Kind);
        Assert.Contains("did not answer", e.Message);
        Assert.Contains("Gave up after 2 attempts", e.Message);
    }

    [Fact]
    public async Task WrongOrMissingBasicAuthIs401AndTheSecretNeverShows()
    {
        const string canary = "CANARY-password-5551212";
        await using var server = await StartAsync(authString: "admin:right");
        var log = new RecordingLog();
        var missing = await ReadFails(server);
        var wrong = await ReadFails(server, authString: "admin:" + canary, log: log);
        Assert.Equal(PrefectErrorKind.Unauthorized, missing.Kind);
        Assert.Equal(PrefectErrorKind.Unauthorized, wrong.Kind);
        Assert.Contains("No credentials were sent", missing.Message);
        Assert.DoesNotContain(canary, wrong.ToString());
        Assert.All(log.Lines, l => Assert.DoesNotContain(canary, l));

        var (_, reader, _) = Connect(server, authString: "admin:right");
        var result = await reader.ReadAsync(new[] { Sel("k8s", "default") }, Measures(BacklogMeasure.Late), new RecordingLog(), default);
        Assert.Equal(2, result.Counts.Single().Count);
    }

    [Fact]
    public async Task A422ShowsWhatTheServerRejected()
    {
        await using var server = await StartAsync();
        var (client, _, _) = Connect(server);
        var body = new JsonObject { ["flow_runs"] = new JsonObject { ["bogus_key"] = new JsonObject { ["any_"] = new JsonArray("x") } } };
        var e = await Assert.ThrowsAsync<PrefectApiException>(() => client.PostAsync("/flow_runs/count", body, new RecordingLog(), default));
        Assert.Equal(PrefectErrorKind.InvalidRequest, e.Kind);
        Assert.Equal(422, e.StatusCode);
        Assert.Contains("bogus_key", e.Message);
        Assert.Equal(1, client.RequestCount); // a 422 is not retried
    }

    [Fact]
    public async Task RateLimitingIsWaitedOutWithinTheDeadline()
    {
        await using var server = await StartAsync();
        server.AddFault(new FaultRule { Kind = FaultKind.TooManyRequests, RetryAfter = "1", PathContains = "/flow_runs", Count = 1 });
        server.AddFault(new FaultRule { Kind = FaultKind.ServiceUnavailable, PathContains = "/queues/filter", Count = 1 });
        server.AddFault(new FaultRule { Kind = FaultKind.DropConnection, PathContains = "/admin/version", Count = 1 });
        var (client, reader, _) = Connect(server);
        var started = DateTime.UtcNow;
        var result = await reader.ReadAsync(new[] { Sel("k8s", null) }, Measures(BacklogMeasure.Late), new RecordingLog(), default);
        Assert.Equal(2, CountOf(result, "k8s", "default"));
        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromSeconds(1), "Retry-After was honoured");
        Assert.Equal(6, client.RequestCount); // three calls, each once more
    }

    [Fact]
    public async Task RateLimitingPastTheDeadlineGivesUpAtOnce()
    {
        await using var server = await StartAsync();
        server.AddFault(new FaultRule { Kind = FaultKind.TooManyRequests, RetryAfter = DateTimeOffset.UtcNow.AddSeconds(30).ToString("r"), Count = -1 });
        var started = DateTime.UtcNow;
        var e = await ReadFails(server, new PrefectHttpOptions { Deadline = TimeSpan.FromSeconds(5) });
        Assert.Equal(PrefectErrorKind.RateLimited, e.Kind);
        Assert.Contains("deadline", e.Message);
        // Waiting out the 30 s Retry-After would pass the 5 s deadline: it gives up instead of sleeping
        // (the bound is loose so that a busy machine cannot fail it; a wait would take 30 s).
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task AFailedRunQueryFailsTheWholeRead()
    {
        await using var server = await StartAsync();
        server.AddFault(new FaultRule { Kind = FaultKind.InternalError, PathContains = "/flow_runs/", Count = -1 });
        var e = await ReadFails(server);
        Assert.Equal(PrefectErrorKind.ServerError, e.Kind);
        Assert.Equal(500, e.StatusCode);
    }

    [Fact]
    public async Task CancellationStopsAtOnce()
    {
        await using var server = await StartAsync();
        server.AddFault(new FaultRule { Kind = FaultKind.Delay, DelayMilliseconds = 60_000, Count = -1 });
        var (_, reader, _) = Connect(server);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var started = DateTime.UtcNow;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reader.ReadAsync(new[] { Sel("k8s", null) }, Measures(BacklogMeasure.Late), new RecordingLog(), cancel.Token));
        // The server holds every answer for a minute: ending well before that means the token stopped the read
        // (loose, so that a busy machine cannot fail it).
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(30));
    }
}
