using System.Net;
using System.Net.Http.Headers;

namespace PrefectScaling.Testing.PrefectEmulator.Tests;

/// <summary>Replays reference section 11 (a real Prefect 3.8.3 server) against the emulator in V3 mode.</summary>
public sealed class AcceptanceV3Tests : IAsyncLifetime
{
    private Harness _h = null!;

    public async Task InitializeAsync() => _h = await Harness.StartAsync(EmulatorMode.V3);
    public async Task DisposeAsync() => await _h.DisposeAsync();

    private const string Scope = "\"work_pools\":{\"name\":{\"any_\":[\"acceptance-pool\"]}},\"work_pool_queues\":{\"name\":{\"any_\":[\"acceptance-queue\"]}}";

    [Fact]
    public async Task Admin_version_and_version()
    {
        var r = await _h.GetAsync("/admin/version");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal("3.8.3", r.Json!.GetValue<string>());
        Assert.Equal("0.8.4", (await _h.GetAsync("/version")).Json!.GetValue<string>());
    }

    [Fact]
    public async Task Counts_scoped_by_pool_and_queue()
    {
        Assert.Equal(5, await _h.CountAsync("{" + Scope + "}"));
        Assert.Equal(2, await _h.CountAsync("{" + Scope + ",\"flow_runs\":{\"state\":{\"name\":{\"any_\":[\"Late\"]}}}}"));
        Assert.Equal(2, await _h.CountAsync("{" + Scope + ",\"flow_runs\":{\"state\":{\"type\":{\"not_any_\":[\"SCHEDULED\"]}}}}"));
        Assert.Equal(5, await _h.CountAsync("{" + Scope + ",\"flow_runs\":{\"state\":{\"type\":{\"not_any_\":[\"COMPLETED\",\"FAILED\",\"CANCELLED\",\"CRASHED\"]}}}}"));
        Assert.Equal(0, await _h.CountAsync("{\"work_pools\":{\"name\":{\"any_\":[\"acceptance-pool\"]}},\"work_pool_queues\":{\"name\":{\"any_\":[\"default\"]}}}"));
    }

    [Fact]
    public async Task Unknown_key_inside_filter_is_422_pydantic_v2()
    {
        var r = await _h.PostAsync("/flow_runs/count", "{\"flow_runs\":{\"bogus_key\":{\"any_\":[\"x\"]}}}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, r.Status);
        JsonAssert.Equal("""
            {"exception_message":"Invalid request received.",
             "exception_detail":[{"type":"extra_forbidden","loc":["body","flow_runs","bogus_key"],"msg":"Extra inputs are not permitted","input":{"any_":["x"]}}],
             "request_body":{"flow_runs":{"bogus_key":{"any_":["x"]}}}}
            """, r.Json);
    }

    [Fact]
    public async Task Unknown_top_level_key_is_ignored()
    {
        Assert.Equal(5, await _h.CountAsync("{\"bogus_top_level\":1}"));
    }

    [Fact]
    public async Task Filter_limit_above_default_is_422_detail()
    {
        var r = await _h.PostAsync("/flow_runs/filter", "{\"limit\":1000}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, r.Status);
        JsonAssert.Equal("""{"detail":"Invalid limit: must be less than or equal to 200."}""", r.Json);
    }

    [Fact]
    public async Task Non_uuid_path_is_404_not_found()
    {
        var r = await _h.GetAsync("/work_queues/not-a-uuid/status");
        Assert.Equal(HttpStatusCode.NotFound, r.Status);
        JsonAssert.Equal("""{"detail":"Not Found"}""", r.Json);
    }

    [Fact]
    public async Task V3_shapes_have_active_slots_and_storage_configuration()
    {
        var pool = await _h.GetAsync("/work_pools/acceptance-pool");
        Assert.Equal(HttpStatusCode.OK, pool.Status);
        JsonAssert.HasKeys(pool.Json, "id", "name", "description", "type", "base_job_template", "is_paused", "concurrency_limit",
            "status", "default_queue_id", "storage_configuration", "active_slots");
        var queue = await _h.GetAsync("/work_pools/acceptance-pool/queues/acceptance-queue");
        Assert.Equal(HttpStatusCode.OK, queue.Status);
        JsonAssert.HasKeys(queue.Json, "id", "name", "priority", "work_pool_id", "work_pool_name", "status", "active_slots", "last_polled");
        var missing = await _h.GetAsync("/work_pools/acceptance-pool/queues/nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        JsonAssert.Equal("""{"detail":"Work pool queue 'acceptance-pool/nope' not found."}""", missing.Json);
    }
}

/// <summary>Section 11, basic auth part (PREFECT_SERVER_API_AUTH_STRING=admin:s3cret).</summary>
public sealed class AcceptanceV3AuthTests : IAsyncLifetime
{
    private Harness _h = null!;

    public async Task InitializeAsync() =>
        _h = await Harness.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3, AuthString = "admin:s3cret" });

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private async Task<(HttpStatusCode, string)> SendAsync(HttpMethod method, string path, string? authorization)
    {
        using var req = new HttpRequestMessage(method, _h.Api + path);
        if (authorization is not null) req.Headers.TryAddWithoutValidation("Authorization", authorization);
        if (method == HttpMethod.Post) req.Content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        using var resp = await _h.Http.SendAsync(req);
        return (resp.StatusCode, await resp.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Count_without_header_is_401()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/flow_runs/count", null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("{\"exception_message\":\"Unauthorized\"}", body);
    }

    [Fact]
    public async Task Count_with_correct_basic_is_200()
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/flow_runs/count", "Basic YWRtaW46czNjcmV0");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("5", body);
    }

    [Theory]
    [InlineData("Basic YWRtaW46d3Jvbmc=")] // admin:wrong
    [InlineData("Bearer YWRtaW46czNjcmV0")]
    [InlineData("Basic")]
    [InlineData("Basic ")]
    [InlineData("Basic !!!not-base64!!!")]
    public async Task Bad_credentials_are_401(string header)
    {
        var (status, body) = await SendAsync(HttpMethod.Post, "/flow_runs/count", header);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("{\"exception_message\":\"Unauthorized\"}", body);
    }

    [Fact]
    public async Task Health_and_ready_are_exempt_exact_paths_only()
    {
        var (s1, b1) = await SendAsync(HttpMethod.Get, "/health", null);
        Assert.Equal(HttpStatusCode.OK, s1);
        Assert.Equal("true", b1);
        var (s2, b2) = await SendAsync(HttpMethod.Get, "/ready", null);
        Assert.Equal(HttpStatusCode.OK, s2);
        Assert.Equal("{\"message\":\"OK\"}", b2);
        // Exact match since 3.6.22: a path that merely ends with /health is not exempt.
        var (s3, _) = await SendAsync(HttpMethod.Get, "/admin/health", null);
        Assert.Equal(HttpStatusCode.Unauthorized, s3);
    }

    [Fact]
    public async Task Admin_version_version_and_hello_need_auth()
    {
        foreach (var p in new[] { "/admin/version", "/version", "/hello" })
        {
            var (status, _) = await SendAsync(HttpMethod.Get, p, null);
            Assert.Equal(HttpStatusCode.Unauthorized, status);
        }
        var (ok, body) = await SendAsync(HttpMethod.Get, "/admin/version", "Basic " + Convert.ToBase64String("admin:s3cret"u8.ToArray()));
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal("\"3.8.3\"", body);
    }

    [Fact]
    public async Task Recorded_request_keeps_scheme_not_credentials()
    {
        _h.Server.ResetRequests();
        _h.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", "YWRtaW46czNjcmV0");
        var r = await _h.PostAsync("/flow_runs/count", "{}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        var rec = Assert.Single(_h.Server.Requests);
        Assert.Equal("Basic", rec.AuthScheme);
        Assert.Equal("/flow_runs/count", rec.Path);
        Assert.Equal("POST", rec.Method);
        Assert.Equal("{}", rec.Body);
        Assert.Equal(200, rec.Status);
        Assert.StartsWith("application/json", rec.ContentType);
        Assert.Equal(2, rec.ContentLength);
        Assert.DoesNotContain("YWRtaW46czNjcmV0", rec.ToString());
    }
}
