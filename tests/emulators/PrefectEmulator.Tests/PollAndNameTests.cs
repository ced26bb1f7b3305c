using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace PrefectScaling.Testing.PrefectEmulator.Tests;

public sealed class PollTests
{
    [Fact]
    public async Task Worker_poll_sets_last_polled_and_returns_due_runs()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3);
        Assert.Null(h.Server.GetQueueLastPolled("acceptance-pool", "acceptance-queue"));
        var before = DateTimeOffset.UtcNow.AddSeconds(10).ToString("O");
        var r = await h.PostAsync("/work_pools/acceptance-pool/get_scheduled_flow_runs",
            $"{{\"work_queue_names\":[\"acceptance-queue\"],\"scheduled_before\":\"{before}\"}}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        var arr = r.Json!.AsArray();
        Assert.Equal(2, arr.Count); // the two Late runs; the Scheduled run is an hour ahead
        foreach (var item in arr) JsonAssert.HasKeys(item, "work_pool_id", "work_queue_id", "flow_run");

        var polled = h.Server.GetQueueLastPolled("acceptance-pool", "acceptance-queue");
        Assert.NotNull(polled);
        Assert.InRange((DateTimeOffset.UtcNow - polled!.Value).TotalSeconds, 0, 30);
        Assert.Null(h.Server.GetQueueLastPolled("acceptance-pool", "default"));

        var q = await h.GetAsync("/work_pools/acceptance-pool/queues/acceptance-queue");
        Assert.Equal("READY", q.Json!["status"]!.GetValue<string>());
        Assert.Equal("READY", (await h.GetAsync("/work_pools/acceptance-pool")).Json!["status"]!.GetValue<string>());
        var status = await h.GetAsync($"/work_queues/{q.Json["id"]!.GetValue<string>()}/status");
        Assert.False(status.Json!["healthy"]!.GetValue<bool>()); // still 2 late runs
        JsonAssert.IsoUtc(status.Json["last_polled"]);

        // Without queue names every queue of the pool is polled.
        await h.PostAsync("/work_pools/acceptance-pool/get_scheduled_flow_runs", "{}");
        Assert.NotNull(h.Server.GetQueueLastPolled("acceptance-pool", "default"));
        Assert.Contains(h.Server.Requests, x => x.Path.EndsWith("/get_scheduled_flow_runs"));
        Assert.Throws<KeyNotFoundException>(() => h.Server.GetQueueLastPolled("acceptance-pool", "nope"));
    }

    [Fact]
    public async Task Agent_poll_sets_last_polled_unless_ui_header()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V2);
        var legacy = await h.GetAsync("/work_queues/name/acceptance-legacy-queue");
        var legacyId = legacy.Json!["id"]!.GetValue<string>();
        var q = await h.PostAsync("/work_pools/acceptance-pool/queues/filter", "{\"work_queues\":{\"name\":{\"any_\":[\"acceptance-queue\"]}}}");
        var id = q.Json![0]!["id"]!.GetValue<string>();

        using (var req = new HttpRequestMessage(HttpMethod.Post, $"{h.Api}/work_queues/{id}/get_runs"))
        {
            req.Headers.Add("x-prefect-ui", "true");
            req.Content = new StringContent("{}", Encoding.UTF8, "application/json");
            using var resp = await h.Http.SendAsync(req);
            Assert.Equal(HttpStatusCode.OK, resp.StatusCode);
        }
        Assert.Null(h.Server.GetQueueLastPolled("acceptance-pool", "acceptance-queue"));

        var r = await h.PostAsync($"/work_queues/{id}/get_runs", "{}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(2, r.Json!.AsArray().Count);
        Assert.NotNull(h.Server.GetQueueLastPolled("acceptance-pool", "acceptance-queue"));
        var status = await h.GetAsync($"/work_queues/{id}/status");
        Assert.NotNull(status.Json!["last_polled"]);

        await h.PostAsync($"/work_queues/{legacyId}/get_runs", "{}");
        Assert.NotNull(h.Server.GetQueueLastPolled("default-agent-pool", "acceptance-legacy-queue"));
        var legacyStatus = await h.GetAsync($"/work_queues/{legacyId}/status");
        Assert.True(legacyStatus.Json!["healthy"]!.GetValue<bool>()); // polled just now, no late runs
    }

    [Fact]
    public async Task Seeded_last_polled_offset()
    {
        var seed = new EmulatorSeed
        {
            Pools = { new SeedPool { Name = "p", Queues = { new SeedQueue { Name = "fresh", LastPolledOffsetSeconds = -5 }, new SeedQueue { Name = "stale", LastPolledOffsetSeconds = -120 }, new SeedQueue { Name = "off", IsPaused = true } } } },
        };
        await using var h = await Harness.StartAsync(EmulatorMode.V3, seed);
        var r = await h.PostAsync("/work_pools/p/queues/filter", "{}");
        var status = r.Json!.AsArray().ToDictionary(q => q!["name"]!.GetValue<string>(), q => q!["status"]!.GetValue<string>());
        Assert.Equal("READY", status["fresh"]);
        Assert.Equal("NOT_READY", status["stale"]);
        Assert.Equal("PAUSED", status["off"]);
        Assert.Equal("NOT_READY", status["default"]);
        Assert.Equal(new[] { "default", "fresh", "stale", "off" }, r.Json!.AsArray().Select(q => q!["name"]!.GetValue<string>()));
    }
}

public sealed class NameEscapingTests
{
    private const string Pool = "sp ace \"quote\" 100 a+b #hash ?q \u00fcn\u00efc\u00f8de \u6f22";
    private const string Queue = "q 1+2=3 ;25 #? \"\u20ac\"";

    [Fact]
    public async Task Escaped_names_round_trip()
    {
        var seed = new EmulatorSeed
        {
            Pools = { new SeedPool { Name = Pool, Queues = { new SeedQueue { Name = Queue } } }, new SeedPool { Name = "a b" } },
            Runs = { new SeedRun { Pool = Pool, Queue = Queue, StateName = "Late", ScheduledOffsetSeconds = -60 } },
        };
        await using var h = await Harness.StartAsync(EmulatorMode.V3, seed);
        var p = Uri.EscapeDataString(Pool);
        var q = Uri.EscapeDataString(Queue);

        var pool = await h.GetAsync($"/work_pools/{p}");
        Assert.Equal(HttpStatusCode.OK, pool.Status);
        Assert.Equal(Pool, pool.Json!["name"]!.GetValue<string>());

        var queue = await h.GetAsync($"/work_pools/{p}/queues/{q}");
        Assert.Equal(HttpStatusCode.OK, queue.Status);
        Assert.Equal(Queue, queue.Json!["name"]!.GetValue<string>());
        Assert.Equal(Pool, queue.Json["work_pool_name"]!.GetValue<string>());

        var filter = await h.PostAsync($"/work_pools/{p}/queues/filter", "{}");
        Assert.Equal(2, filter.Json!.AsArray().Count);

        // "+" in a path is a literal plus, never a space.
        Assert.Equal(HttpStatusCode.NotFound, (await h.GetAsync("/work_pools/a+b")).Status);
        Assert.Equal(HttpStatusCode.OK, (await h.GetAsync("/work_pools/a%20b")).Status);

        // Names in bodies need no escaping.
        var body = new System.Text.Json.Nodes.JsonObject
        {
            ["work_pools"] = new System.Text.Json.Nodes.JsonObject { ["name"] = new System.Text.Json.Nodes.JsonObject { ["any_"] = new System.Text.Json.Nodes.JsonArray(Pool) } },
            ["work_pool_queues"] = new System.Text.Json.Nodes.JsonObject { ["name"] = new System.Text.Json.Nodes.JsonObject { ["any_"] = new System.Text.Json.Nodes.JsonArray(Queue) } },
        };
        Assert.Equal(1, await h.CountAsync(body.ToJsonString()));

        // The request log keeps the path as sent on the wire.
        Assert.Contains(h.Server.Requests, r => r.Path == $"/work_pools/{p}/queues/{q}");

        // 404 detail carries the decoded name.
        var missing = await h.GetAsync("/work_pools/" + Uri.EscapeDataString("no such \"pool\""));
        Assert.Equal("Work pool \"no such \"pool\"\" not found.", missing.Json!["detail"]!.GetValue<string>());
    }
}
