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
