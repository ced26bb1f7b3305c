using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PrefectScaling.Testing.PrefectEmulator.Tests;

/// <summary>A started emulator plus an HttpClient aimed at its API base.</summary>
internal sealed class Harness : IAsyncDisposable
{
    public PrefectEmulatorServer Server { get; }
    public HttpClient Http { get; }
    public string Api { get; }

    private Harness(PrefectEmulatorServer server, AuthenticationHeaderValue? auth)
    {
        Server = server;
        Http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        if (auth is not null) Http.DefaultRequestHeaders.Authorization = auth;
        Api = server.ApiUrl.ToString().TrimEnd('/');
    }

    public static async Task<Harness> StartAsync(EmulatorOptions options, EmulatorSeed? seed = null, AuthenticationHeaderValue? auth = null)
    {
        var server = await PrefectEmulatorServer.StartAsync(options, seed ?? Seeds.Acceptance());
        return new Harness(server, auth);
    }

    public static Task<Harness> StartAsync(EmulatorMode mode, EmulatorSeed? seed = null) =>
        StartAsync(new EmulatorOptions { Mode = mode }, seed);

    public async Task<(HttpStatusCode Status, JsonNode? Json, string Text, HttpResponseMessage Response)> PostAsync(string path, string? json)
    {
        using var content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json");
        var resp = await Http.PostAsync(Api + path, content);
        return await ReadAsync(resp);
    }

    public Task<(HttpStatusCode Status, JsonNode? Json, string Text, HttpResponseMessage Response)> PostAsync(string path, JsonNode body) =>
        PostAsync(path, body.ToJsonString());

    public async Task<(HttpStatusCode Status, JsonNode? Json, string Text, HttpResponseMessage Response)> GetAsync(string path)
    {
        var resp = await Http.GetAsync(Api + path);
        return await ReadAsync(resp);
    }

    public static async Task<(HttpStatusCode Status, JsonNode? Json, string Text, HttpResponseMessage Response)> ReadAsync(HttpResponseMessage resp)
    {
        var text = await resp.Content.ReadAsStringAsync();
        JsonNode? node = null;
        try { node = text.Length == 0 ? null : JsonNode.Parse(text); }
        catch (JsonException) { }
        return (resp.StatusCode, node, text, resp);
    }

    public async Task<long> CountAsync(string body)
    {
        var r = await PostAsync("/flow_runs/count", body);
        Assert.True(r.Status == HttpStatusCode.OK, $"count answered {(int)r.Status}: {r.Text}");
        return r.Json!.GetValue<long>();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }
}

internal static class Seeds
{
    /// <summary>The objects of reference sections 10 and 11.</summary>
    public static EmulatorSeed Acceptance() => new()
    {
        Pools =
        {
            new SeedPool
            {
                Name = "acceptance-pool", Type = "process",
                Queues = { new SeedQueue { Name = "default", Priority = 1 }, new SeedQueue { Name = "acceptance-queue", Priority = 2 } },
            },
            new SeedPool { Name = "default-agent-pool", Type = "prefect-agent", Queues = { new SeedQueue { Name = "acceptance-legacy-queue" } } },
        },
        Runs =
        {
            new SeedRun { Pool = "acceptance-pool", Queue = "acceptance-queue", StateType = "SCHEDULED", StateName = "Late", ScheduledOffsetSeconds = -600, Count = 2 },
            new SeedRun { Pool = "acceptance-pool", Queue = "acceptance-queue", StateType = "SCHEDULED", StateName = "Scheduled", ScheduledOffsetSeconds = 3600 },
            new SeedRun { Pool = "acceptance-pool", Queue = "acceptance-queue", StateType = "PENDING", ScheduledOffsetSeconds = -30 },
            new SeedRun { Pool = "acceptance-pool", Queue = "acceptance-queue", StateType = "RUNNING", ScheduledOffsetSeconds = -120 },
        },
    };

    public const string AcceptanceSeedJson = """
    {
      "pools": [
        { "name": "acceptance-pool", "type": "process", "is_paused": false, "concurrency_limit": null,
          "queues": [ { "name": "default", "priority": 1, "is_paused": false, "concurrency_limit": null, "last_polled_offset_seconds": null },
                      { "name": "acceptance-queue", "priority": 2 } ] },
        { "name": "default-agent-pool", "type": "prefect-agent", "queues": [ { "name": "acceptance-legacy-queue" } ] }
      ],
      "runs": [
        { "pool": "acceptance-pool", "queue": "acceptance-queue", "state_type": "SCHEDULED", "state_name": "Late", "scheduled_offset_seconds": -600, "count": 2, "tags": [] },
        { "pool": "acceptance-pool", "queue": "acceptance-queue", "state_type": "SCHEDULED", "state_name": "Scheduled", "scheduled_offset_seconds": 3600 },
        { "pool": "acceptance-pool", "queue": "acceptance-queue", "state_type": "PENDING", "scheduled_offset_seconds": -30 },
        { "pool": "acceptance-pool", "queue": "acceptance-queue", "state_type": "RUNNING", "scheduled_offset_seconds": -120 }
      ]
    }
    """;
}

internal static class JsonAssert
{
    public static void Equal(string expectedJson, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expectedJson), actual),
            $"expected {expectedJson}\n  actual {actual?.ToJsonString()}");

    public static void HasKeys(JsonNode? node, params string[] keys)
    {
        var o = Assert.IsType<JsonObject>(node);
        foreach (var k in keys) Assert.True(o.ContainsKey(k), $"missing key '{k}' in {o.ToJsonString()}");
    }

    public static void LacksKeys(JsonNode? node, params string[] keys)
    {
        var o = Assert.IsType<JsonObject>(node);
        foreach (var k in keys) Assert.False(o.ContainsKey(k), $"unexpected key '{k}' in {o.ToJsonString()}");
    }

    public static void IsoUtc(JsonNode? node)
    {
        var s = node!.GetValue<string>();
        // 2.x writes UTC as +00:00, 3.x (pydantic 2) as Z.
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)$", s);
    }
}
