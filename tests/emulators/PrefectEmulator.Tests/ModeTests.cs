using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace PrefectScaling.Testing.PrefectEmulator.Tests;

public sealed class ModeTests
{
    [Fact]
    public async Task V2Legacy_ignores_pool_keys_and_has_no_work_pool_routes()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V2Legacy);
        Assert.Equal("2.7.12", (await h.GetAsync("/admin/version")).Json!.GetValue<string>());
        // The danger: pool/queue scoping keys are unknown top-level keys, so they count everything.
        Assert.Equal(5, await h.CountAsync("{\"work_pools\":{\"name\":{\"any_\":[\"no-such-pool\"]}},\"work_pool_queues\":{\"name\":{\"any_\":[\"nope\"]}}}"));
        // Even their content is not validated.
        Assert.Equal(5, await h.CountAsync("{\"work_pools\":{\"bogus\":1}}"));
        Assert.Equal(2, await h.CountAsync("{\"flow_runs\":{\"work_queue_name\":{\"any_\":[\"acceptance-queue\"]},\"state\":{\"name\":{\"any_\":[\"Late\"]}}}}"));

        var wp = await h.PostAsync("/work_pools/filter", "{}");
        Assert.Equal(HttpStatusCode.NotFound, wp.Status);
        JsonAssert.Equal("""{"detail":"Not Found"}""", wp.Json);
        Assert.Equal(HttpStatusCode.NotFound, (await h.GetAsync("/work_pools/acceptance-pool")).Status);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await h.PostAsync("/flow_runs/paginate", "{}")).Status);

        var runs = await h.PostAsync("/flow_runs/filter", "{}");
        Assert.Equal(HttpStatusCode.OK, runs.Status);
        foreach (var r in runs.Json!.AsArray())
        {
            JsonAssert.HasKeys(r, "work_queue_name", "work_queue_id");
            JsonAssert.LacksKeys(r, "work_pool_name", "work_pool_id");
        }
        var queues = await h.PostAsync("/work_queues/filter", "{}");
        Assert.Equal(HttpStatusCode.OK, queues.Status);
        Assert.Equal(4, queues.Json!.AsArray().Count);
        Assert.Equal(HttpStatusCode.OK, (await h.GetAsync("/work_queues/name/acceptance-queue")).Status);
    }

    [Fact]
    public async Task V2_has_no_paginate()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V2);
        var r = await h.PostAsync("/flow_runs/paginate", "{}");
        // As on a real 2.20.25: the path meets the GET-only /flow_runs/{id} route.
        Assert.Equal(HttpStatusCode.MethodNotAllowed, r.Status);
        JsonAssert.Equal("""{"detail":"Method Not Allowed"}""", r.Json);
    }

    [Fact]
    public async Task V2_with_api_key_requires_bearer_like_a_proxy()
    {
        await using var h = await Harness.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V2, ApiKey = "k" });
        Assert.Equal(HttpStatusCode.Unauthorized, (await h.GetAsync("/health")).Status);
        h.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "k");
        Assert.Equal(HttpStatusCode.OK, (await h.GetAsync("/health")).Status);
        Assert.Equal(5, await h.CountAsync("{}"));
    }

    [Fact]
    public async Task Cloud_requires_bearer_everywhere_and_content_length()
    {
        await using var h = await Harness.StartAsync(new EmulatorOptions { Mode = EmulatorMode.Cloud, ApiKey = "pnu_test" });
        Assert.Matches(@"^http://127\.0\.0\.1:\d+/api/accounts/[0-9a-f-]{36}/workspaces/[0-9a-f-]{36}$", h.Api);

        foreach (var path in new[] { "/health", "/ready", "/admin/version" })
        {
            var r = await h.GetAsync(path);
            Assert.Equal(HttpStatusCode.Unauthorized, r.Status);
            JsonAssert.Equal("""{"detail":"Invalid authentication credentials"}""", r.Json);
        }
        h.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, (await h.PostAsync("/flow_runs/count", "{}")).Status);
        h.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", "cG51X3Rlc3Q=");
        Assert.Equal(HttpStatusCode.Unauthorized, (await h.PostAsync("/flow_runs/count", "{}")).Status);

        h.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "pnu_test");
        Assert.Equal("3.8.3", (await h.GetAsync("/admin/version")).Json!.GetValue<string>());
        Assert.Equal(5, await h.CountAsync("{}"));
        var page = await h.PostAsync("/flow_runs/paginate", "{}");
        Assert.Equal(HttpStatusCode.OK, page.Status);

        // A POST without Content-Length (chunked) is refused with 411.
        using var req = new HttpRequestMessage(HttpMethod.Post, h.Api + "/flow_runs/count") { Content = new ChunkedJson("{}") };
        using var resp = await h.Http.SendAsync(req);
        Assert.Equal(HttpStatusCode.LengthRequired, resp.StatusCode);
        var rec = h.Server.Requests.Last();
        Assert.Null(rec.ContentLength);
        Assert.Equal(411, rec.Status);
        Assert.Equal("Bearer", rec.AuthScheme);

        // The account/workspace prefix is required: /api/flow_runs/count does not exist on Cloud.
        var root = h.Server.RootUrl.ToString().TrimEnd('/');
        using var wrong = await h.Http.PostAsync(root + "/api/flow_runs/count", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, wrong.StatusCode);
    }

    [Fact]
    public async Task Cloud_without_api_key_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.Cloud }));
    }

    [Fact]
    public async Task Api_version_header_is_checked()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3);
        h.Http.DefaultRequestHeaders.Add("X-PREFECT-API-VERSION", "0.8.4");
        Assert.Equal(5, await h.CountAsync("{}"));
        h.Http.DefaultRequestHeaders.Remove("X-PREFECT-API-VERSION");
        h.Http.DefaultRequestHeaders.Add("X-PREFECT-API-VERSION", "0.7.9");
        var old = await h.GetAsync("/hello");
        Assert.Equal(HttpStatusCode.BadRequest, old.Status);
        Assert.Contains("requires version 0.8.0 or higher", old.Json!["detail"]!.GetValue<string>());
        h.Http.DefaultRequestHeaders.Remove("X-PREFECT-API-VERSION");
        h.Http.DefaultRequestHeaders.Add("X-PREFECT-API-VERSION", "1.0");
        var bad = await h.GetAsync("/hello");
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.StartsWith("Invalid X-PREFECT-API-VERSION header format.", bad.Json!["detail"]!.GetValue<string>());
    }

    [Fact]
    public async Task Post_body_without_json_content_type_is_422()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3);
        using var resp = await h.Http.PostAsync(h.Api + "/flow_runs/count", new StringContent("{}", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, resp.StatusCode);
        using var bytes = new ByteArrayContent("{}"u8.ToArray());
        using var resp2 = await h.Http.PostAsync(h.Api + "/flow_runs/count", bytes);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, resp2.StatusCode);
        // An empty POST is fine (every key optional).
        using var resp3 = await h.Http.PostAsync(h.Api + "/flow_runs/count", null);
        Assert.Equal(HttpStatusCode.OK, resp3.StatusCode);
    }

    [Fact]
    public async Task Routes_unmatched_trailing_slash_and_wrong_method()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3);
        Assert.Equal(HttpStatusCode.NotFound, (await h.PostAsync("/flow_runs/count/", "{}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await h.GetAsync("/no/such/route")).Status);
        var wrong = await h.GetAsync("/flow_runs/count");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrong.Status);
        JsonAssert.Equal("""{"detail":"Method Not Allowed"}""", wrong.Json);
    }

    /// <summary>JSON content whose length is unknown, so HttpClient sends it chunked (no Content-Length).</summary>
    private sealed class ChunkedJson : HttpContent
    {
        private readonly byte[] _bytes;
        public ChunkedJson(string json)
        {
            _bytes = Encoding.UTF8.GetBytes(json);
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(_bytes).AsTask();
        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
