using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;

namespace PrefectScaling.Testing.PrefectEmulator.Tests;

public sealed class FaultTests
{
    [Fact]
    public async Task Too_many_requests_with_delta_seconds()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3);
        h.Server.AddFault(new FaultRule { PathContains = "/flow_runs/count", Kind = FaultKind.TooManyRequests, RetryAfter = "2" });
        var r = await h.PostAsync("/flow_runs/count", "{}");
        Assert.Equal(HttpStatusCode.TooManyRequests, r.Status);
        Assert.Equal(TimeSpan.FromSeconds(2), r.Response.Headers.RetryAfter!.Delta);
        // Count = 1: the next request is answered normally.
        Assert.Equal(5, await h.CountAsync("{}"));
        var recs = h.Server.Requests;
        Assert.Equal(new[] { 429, 200 }, recs.Select(x => x.Status));
    }

    [Fact]
    public async Task A_fault_can_match_a_substring_of_the_body()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3);
        h.Server.AddFault(new FaultRule { PathContains = "/flow_runs/count", BodyContains = "\"beta\"", Kind = FaultKind.InternalError, Count = -1 });
        var other = await h.PostAsync("/flow_runs/count", """{"work_pools":{"name":{"any_":["alpha"]}}}""");
        var hit = await h.PostAsync("/flow_runs/count", """{"work_pools":{"name":{"any_":["beta"]}}}""");
        var noBody = await h.PostAsync("/flow_runs/count", (string?)null);
        Assert.Equal(HttpStatusCode.OK, other.Status);
        Assert.Equal(HttpStatusCode.InternalServerError, hit.Status);
        Assert.NotEqual(HttpStatusCode.InternalServerError, noBody.Status);
    }

    [Fact]
    public async Task Too_many_requests_with_http_date()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3);
        var when = DateTimeOffset.UtcNow.AddSeconds(30);
        h.Server.AddFault(new FaultRule { Kind = FaultKind.TooManyRequests, RetryAfter = when.ToString("R") });
        var r = await h.GetAsync("/health");
        Assert.Equal(HttpStatusCode.TooManyRequests, r.Status);
        var date = r.Response.Headers.RetryAfter!.Date;
        Assert.NotNull(date);
        Assert.InRange((date!.Value - when).TotalSeconds, -1.5, 1.5);
    }

    [Fact]
    public async Task Default_retry_after_is_one_second()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3);
        h.Server.AddFault(new FaultRule { Kind = FaultKind.TooManyRequests });
        var r = await h.GetAsync("/health");
        Assert.Equal(TimeSpan.FromSeconds(1), r.Response.Headers.RetryAfter!.Delta);
    }

    [Fact]
    public async Task Service_unavailable_bad_gateway_internal_error()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3);
        h.Server.AddFault(new FaultRule { Method = "POST", PathContains = "/count", Kind = FaultKind.ServiceUnavailable });
        h.Server.AddFault(new FaultRule { Method = "POST", PathContains = "/count", Kind = FaultKind.BadGateway });
        h.Server.AddFault(new FaultRule { Method = "POST", PathContains = "/count", Kind = FaultKind.InternalError });
        // Method and path must both match: these are not affected.
        Assert.Equal(HttpStatusCode.OK, (await h.GetAsync("/health")).Status);
        Assert.Equal(HttpStatusCode.OK, (await h.PostAsync("/flow_runs/filter", "{}")).Status);

        var a = await h.PostAsync("/flow_runs/count", "{}");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, a.Status);
        JsonAssert.Equal("""{"exception_message":"Service Unavailable"}""", a.Json);
        var b = await h.PostAsync("/flow_runs/count", "{}");
        Assert.Equal(HttpStatusCode.BadGateway, b.Status);
        Assert.Null(b.Json); // a proxy's HTML page, not JSON
        var c = await h.PostAsync("/flow_runs/count", "{}");
        Assert.Equal(HttpStatusCode.InternalServerError, c.Status);
        JsonAssert.Equal("""{"exception_message":"Internal Server Error"}""", c.Json);
        Assert.Equal(HttpStatusCode.OK, (await h.PostAsync("/flow_runs/count", "{}")).Status);
    }

    [Fact]
    public async Task Forever_rule_and_clear()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3);
        h.Server.AddFault(new FaultRule { Kind = FaultKind.ServiceUnavailable, Count = -1 });
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.ServiceUnavailable, (await h.GetAsync("/health")).Status);
        h.Server.ClearFaults();
        Assert.Equal(HttpStatusCode.OK, (await h.GetAsync("/health")).Status);
    }

    [Fact]
    public async Task Delay_then_normal_answer()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3);
        h.Server.AddFault(new FaultRule { Kind = FaultKind.Delay, DelayMilliseconds = 700 });
        var sw = Stopwatch.StartNew();
        Assert.Equal(5, await h.CountAsync("{}"));
        Assert.True(sw.ElapsedMilliseconds >= 650, $"answered after {sw.ElapsedMilliseconds} ms");
        Assert.Equal(200, h.Server.Requests.Single().Status);

        h.Server.AddFault(new FaultRule { Kind = FaultKind.Delay, DelayMilliseconds = 5000 });
        using var shortClient = new HttpClient { Timeout = TimeSpan.FromMilliseconds(300) };
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => shortClient.GetAsync(h.Api + "/health"));
    }

    [Fact]
    public async Task Drop_connection_without_answer()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3);
        h.Server.AddFault(new FaultRule { PathContains = "/flow_runs/count", Kind = FaultKind.DropConnection });
        // A fresh connection, so SocketsHttpHandler does not transparently retry on a reused one.
        using var client = new HttpClient(new SocketsHttpHandler());
        using var content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        await Assert.ThrowsAsync<HttpRequestException>(() => client.PostAsync(h.Api + "/flow_runs/count", content));
        var rec = Assert.Single(h.Server.Requests);
        Assert.Equal(0, rec.Status);
        Assert.Equal("{}", rec.Body);
        Assert.Equal(5, await h.CountAsync("{}"));
    }

    [Fact]
    public async Task Faults_apply_before_auth_and_are_recorded()
    {
        await using var h = await Harness.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3, AuthString = "a:b" });
        h.Server.AddFault(new FaultRule { Kind = FaultKind.TooManyRequests, RetryAfter = "3" });
        var r = await h.PostAsync("/flow_runs/count", "{}");
        Assert.Equal(HttpStatusCode.TooManyRequests, r.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await h.PostAsync("/flow_runs/count", "{}")).Status);
        Assert.Equal(new[] { 429, 401 }, h.Server.Requests.Select(x => x.Status));
    }

    [Fact]
    public async Task Ignore_offset_answers_the_first_page_for_every_offset_and_page()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3);
        static List<string> Names(JsonNode? runs) => runs!.AsArray().Select(r => r!["name"]!.GetValue<string>()).ToList();
        var first = Names((await h.PostAsync("/flow_runs/filter", "{\"sort\":\"NAME_ASC\",\"limit\":2}")).Json);
        var second = Names((await h.PostAsync("/flow_runs/filter", "{\"sort\":\"NAME_ASC\",\"limit\":2,\"offset\":2}")).Json);
        Assert.NotEqual(first, second);

        h.Server.AddFault(new FaultRule { Kind = FaultKind.IgnoreOffset, Count = 2 });
        Assert.Equal(first, Names((await h.PostAsync("/flow_runs/filter", "{\"sort\":\"NAME_ASC\",\"limit\":2,\"offset\":2}")).Json));
        var page = await h.PostAsync("/flow_runs/paginate", "{\"sort\":\"NAME_ASC\",\"limit\":2,\"page\":2}");
        Assert.Equal(first, Names(page.Json!["results"]));
        Assert.Equal(1, page.Json!["page"]!.GetValue<long>());
        // The record keeps what was sent; the rule is used up.
        Assert.Contains("\"offset\":2", h.Server.Requests[^2].Body);
        Assert.Equal(second, Names((await h.PostAsync("/flow_runs/filter", "{\"sort\":\"NAME_ASC\",\"limit\":2,\"offset\":2}")).Json));
    }
}
