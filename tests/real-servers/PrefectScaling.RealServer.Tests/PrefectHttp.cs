using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PrefectScaling.RealServer.Tests;

/// <summary>One answer of a Prefect API: status, raw text and the parsed JSON (null when not JSON).</summary>
public sealed record PrefectAnswer(int Status, string Text, JsonNode? Json)
{
    public override string ToString() => Status + " " + (Text.Length > 600 ? Text[..600] + "…" : Text);
}

/// <summary>Plain HTTP to a Prefect API (a real server or the emulator), for seeding and for replaying the
/// module's requests. A real server on SQLite answers 503 while its database is locked by its own services;
/// such answers are retried, since they say nothing about the request.</summary>
public sealed class PrefectHttp : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private readonly string _base;

    public PrefectHttp(Uri apiUrl, string? authString = null)
    {
        _base = apiUrl.AbsoluteUri.TrimEnd('/');
        if (authString != null) _http.DefaultRequestHeaders.Authorization = RealPrefectServer.BasicHeader(authString);
    }

    /// <summary>Sends the secret as a bearer token instead (what a Cloud key would be).</summary>
    public void Bearer(string token) => _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);

    public Task<PrefectAnswer> GetAsync(string path) => SendAsync(HttpMethod.Get, path, null);

    public Task<PrefectAnswer> PostAsync(string path, JsonNode? body) => SendAsync(HttpMethod.Post, path, body?.ToJsonString());

    public Task<PrefectAnswer> PostRawAsync(string path, string body) => SendAsync(HttpMethod.Post, path, body);

    public async Task<PrefectAnswer> SendAsync(HttpMethod method, string path, string? body)
    {
        for (int attempt = 1; ; attempt++)
        {
            using var request = new HttpRequestMessage(method, _base + path);
            if (body != null) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            using HttpResponseMessage response = await _http.SendAsync(request);
            string text = await response.Content.ReadAsStringAsync();
            int status = (int)response.StatusCode;
            if (status == 503 && attempt < 30)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 * attempt)));
                continue;
            }
            JsonNode? json = null;
            try { json = text.Length == 0 ? null : JsonNode.Parse(text); }
            catch (JsonException) { }
            return new PrefectAnswer(status, text, json);
        }
    }

    /// <summary>POST that must succeed (2xx); returns the JSON.</summary>
    public async Task<JsonNode?> CreateAsync(string path, JsonNode body)
    {
        PrefectAnswer answer = await PostAsync(path, body);
        if (answer.Status is < 200 or > 299) throw new InvalidOperationException("POST " + path + " " + body.ToJsonString() + " answered " + answer);
        return answer.Json;
    }

    public async Task<long> CountAsync(JsonNode body)
    {
        PrefectAnswer answer = await PostAsync("/flow_runs/count", body);
        if (answer.Status != 200 || answer.Json is not JsonValue value) throw new InvalidOperationException("/flow_runs/count answered " + answer);
        return value.GetValue<long>();
    }

    /// <summary>A path segment for a name (Starlette decodes the path before matching).</summary>
    public static string Segment(string name) => Uri.EscapeDataString(name);

    public void Dispose() => _http.Dispose();
}
