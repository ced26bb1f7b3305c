using System.Net;
using System.Text.Json.Nodes;

namespace PrefectScaling.Testing.PrefectEmulator.Tests;

/// <summary>Replays reference section 10 (a real Prefect 2.20.25 server) against the emulator in V2 mode.</summary>
public sealed class AcceptanceV2Tests : IAsyncLifetime
{
    private Harness _h = null!;

    public async Task InitializeAsync() => _h = await Harness.StartAsync(EmulatorMode.V2);
    public async Task DisposeAsync() => await _h.DisposeAsync();

    private const string Q = "\"work_queue_name\":{\"any_\":[\"acceptance-queue\"]}";

    [Fact]
    public async Task Health_is_true()
    {
        var r = await _h.GetAsync("/health");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal("true", r.Text);
    }

    [Fact]
    public async Task Version_is_api_schema_version_and_admin_version_is_package_version()
    {
        var r = await _h.GetAsync("/version");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal("0.8.4", r.Json!.GetValue<string>());
        Assert.Equal("2.20.25", (await _h.GetAsync("/admin/version")).Json!.GetValue<string>());
    }

    [Fact]
    public async Task Count_empty_body_is_a_bare_integer()
    {
        var r = await _h.PostAsync("/flow_runs/count", "{}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal("5", r.Text);
    }

    [Fact]
    public async Task Count_by_queue_name_and_state()
    {
        Assert.Equal(2, await _h.CountAsync("{\"flow_runs\":{" + Q + ",\"state\":{\"name\":{\"any_\":[\"Late\"]}}}}"));
        Assert.Equal(3, await _h.CountAsync("{\"flow_runs\":{" + Q + ",\"state\":{\"type\":{\"any_\":[\"SCHEDULED\"]}}}}"));
        Assert.Equal(2, await _h.CountAsync("{\"flow_runs\":{" + Q + ",\"state\":{\"type\":{\"any_\":[\"PENDING\",\"RUNNING\"]}}}}"));
    }

    [Fact]
    public async Task Count_by_pool_and_pool_queue()
    {
        Assert.Equal(2, await _h.CountAsync("{\"work_pools\":{\"name\":{\"any_\":[\"acceptance-pool\"]}},\"flow_runs\":{\"state\":{\"name\":{\"any_\":[\"Late\"]}}}}"));
        Assert.Equal(2, await _h.CountAsync("{\"work_pools\":{\"name\":{\"any_\":[\"acceptance-pool\"]}},\"work_pool_queues\":{\"name\":{\"any_\":[\"acceptance-queue\"]}},\"flow_runs\":{\"state\":{\"name\":{\"any_\":[\"Late\"]}}}}"));
        Assert.Equal(0, await _h.CountAsync("{\"work_pools\":{\"name\":{\"any_\":[\"no-such-pool\"]}}}"));
    }

    [Fact]
    public async Task Unknown_top_level_key_is_ignored()
    {
        Assert.Equal(5, await _h.CountAsync("{\"bogus_top_level\":1}"));
    }

    [Fact]
    public async Task Unknown_key_inside_filter_is_422_pydantic_v1()
    {
        var body = "{\"flow_runs\":{\"bogus_key\":{\"any_\":[\"x\"]}}}";
        var r = await _h.PostAsync("/flow_runs/count", body);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, r.Status);
        JsonAssert.Equal("""
            {"exception_message":"Invalid request received.",
             "exception_detail":[{"loc":["body","flow_runs","bogus_key"],"msg":"extra fields not permitted","type":"value_error.extra"}],
             "request_body":{"flow_runs":{"bogus_key":{"any_":["x"]}}}}
            """, r.Json);
    }

    [Fact]
    public async Task String_instead_of_list_is_422_type_error_list()
    {
        var r = await _h.PostAsync("/flow_runs/count", "{\"flow_runs\":{\"state\":{\"name\":{\"any_\":\"Late\"}}}}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, r.Status);
        Assert.Equal("Invalid request received.", r.Json!["exception_message"]!.GetValue<string>());
        var item = r.Json["exception_detail"]![0]!;
        Assert.Equal("type_error.list", item["type"]!.GetValue<string>());
        JsonAssert.Equal("""["body","flow_runs","state","name","any_"]""", item["loc"]);
        Assert.NotNull(r.Json["request_body"]);
    }

    [Fact]
    public async Task Body_that_is_not_json_is_422_jsondecode_with_raw_request_body()
    {
        var r = await _h.PostAsync("/flow_runs/count", "this is not json");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, r.Status);
        Assert.Equal("value_error.jsondecode", r.Json!["exception_detail"]![0]!["type"]!.GetValue<string>());
        Assert.Equal("this is not json", r.Json["request_body"]!.GetValue<string>());
    }

    [Fact]
    public async Task Filter_limit_not_integer_is_422_type_error_integer()
    {
        var r = await _h.PostAsync("/flow_runs/filter", "{\"limit\":\"abc\"}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, r.Status);
        var item = r.Json!["exception_detail"]![0]!;
        Assert.Equal("type_error.integer", item["type"]!.GetValue<string>());
        JsonAssert.Equal("""["body","limit"]""", item["loc"]);
    }

    [Fact]
    public async Task Filter_limit_above_default_is_422_detail()
    {
        var r = await _h.PostAsync("/flow_runs/filter", "{\"limit\":1000}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, r.Status);
        JsonAssert.Equal("""{"detail":"Invalid limit: must be less than or equal to 200."}""", r.Json);
    }

    private async Task<string> QueueIdAsync(string pool, string queue)
    {
        var r = await _h.PostAsync($"/work_pools/{pool}/queues/filter", "{\"work_queues\":{\"name\":{\"any_\":[\"" + queue + "\"]}}}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        return r.Json!.AsArray().Single()!["id"]!.GetValue<string>();
    }

    [Fact]
    public async Task Work_queue_status_detail()
    {
        var id = await QueueIdAsync("acceptance-pool", "acceptance-queue");
        var r = await _h.GetAsync($"/work_queues/{id}/status");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        JsonAssert.Equal("""
            {"healthy":false,"late_runs_count":2,"last_polled":null,
             "health_check_policy":{"maximum_late_runs":0,"maximum_seconds_since_last_polled":60}}
            """, r.Json);
    }

    [Fact]
    public async Task Work_queue_by_name_searches_only_default_agent_pool()
    {
        var r = await _h.GetAsync("/work_queues/name/acceptance-queue");
        Assert.Equal(HttpStatusCode.NotFound, r.Status);
        JsonAssert.Equal("""{"detail":"work queue not found"}""", r.Json);

        r = await _h.GetAsync("/work_queues/name/acceptance-legacy-queue");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal("default-agent-pool", r.Json!["work_pool_name"]!.GetValue<string>());
        Assert.Equal("acceptance-legacy-queue", r.Json["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task Work_queue_bad_uuid_is_422_path_id()
    {
        foreach (var path in new[] { "/work_queues/not-a-uuid", "/work_queues/not-a-uuid/status" })
        {
            var r = await _h.GetAsync(path);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, r.Status);
            Assert.Equal("Invalid request received.", r.Json!["exception_message"]!.GetValue<string>());
            var item = r.Json["exception_detail"]![0]!;
            JsonAssert.Equal("""["path","id"]""", item["loc"]);
            Assert.Equal("type_error.uuid", item["type"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task Work_queue_unknown_uuid_status_is_404_exception_message()
    {
        var id = Guid.NewGuid().ToString();
        var r = await _h.GetAsync($"/work_queues/{id}/status");
        Assert.Equal(HttpStatusCode.NotFound, r.Status);
        JsonAssert.Equal($$"""{"exception_message":"Work queue with id {{id}} not found"}""", r.Json);

        r = await _h.GetAsync($"/work_queues/{id}");
        Assert.Equal(HttpStatusCode.NotFound, r.Status);
        JsonAssert.Equal("""{"detail":"work queue not found"}""", r.Json);
    }

    [Fact]
    public async Task Unknown_work_pool_is_404_detail()
    {
        var r = await _h.GetAsync("/work_pools/no-such-pool");
        Assert.Equal(HttpStatusCode.NotFound, r.Status);
        JsonAssert.Equal("""{"detail":"Work pool \"no-such-pool\" not found."}""", r.Json);

        r = await _h.PostAsync("/work_pools/no-such-pool/queues/filter", "{}");
        Assert.Equal(HttpStatusCode.NotFound, r.Status);
        JsonAssert.Equal("""{"detail":"Work pool \"no-such-pool\" not found."}""", r.Json);
    }

    [Fact]
    public async Task Work_queues_filter_lists_queues_of_all_pools()
    {
        var r = await _h.PostAsync("/work_queues/filter", "{}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        var arr = r.Json!.AsArray();
        Assert.Equal(4, arr.Count); // acceptance-pool: default, acceptance-queue; default-agent-pool: default, acceptance-legacy-queue
        var names = arr.Select(q => q!["name"]!.GetValue<string>()).ToList();
        Assert.Equal(names.OrderBy(n => n, StringComparer.Ordinal), names);
        foreach (var q in arr)
        {
            JsonAssert.HasKeys(q, "id", "created", "updated", "name", "description", "is_paused", "concurrency_limit", "priority",
                "work_pool_id", "filter", "last_polled", "work_pool_name", "status");
            JsonAssert.LacksKeys(q, "active_slots");
            Assert.Equal("NOT_READY", q!["status"]!.GetValue<string>());
            JsonAssert.IsoUtc(q["created"]);
        }
        Assert.Contains(arr, q => q!["work_pool_name"]!.GetValue<string>() == "default-agent-pool");
    }

    [Fact]
    public async Task Flow_run_shape()
    {
        var r = await _h.PostAsync("/flow_runs/filter", "{\"flow_runs\":{\"state\":{\"name\":{\"any_\":[\"Late\"]}}}}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        var arr = r.Json!.AsArray();
        Assert.Equal(2, arr.Count);
        foreach (var run in arr)
        {
            JsonAssert.HasKeys(run, "id", "name", "flow_id", "deployment_id", "work_queue_id", "work_queue_name", "work_pool_id",
                "work_pool_name", "state_type", "state_name", "state", "expected_start_time", "next_scheduled_start_time",
                "estimated_start_time_delta", "start_time", "end_time", "tags", "created", "updated");
            Assert.Equal("SCHEDULED", run!["state_type"]!.GetValue<string>());
            Assert.Equal("Late", run["state_name"]!.GetValue<string>());
            Assert.Equal("acceptance-queue", run["work_queue_name"]!.GetValue<string>());
            Assert.Equal("acceptance-pool", run["work_pool_name"]!.GetValue<string>());
            JsonAssert.IsoUtc(run["expected_start_time"]);
            JsonAssert.IsoUtc(run["next_scheduled_start_time"]);
            Assert.True(run["estimated_start_time_delta"]!.GetValue<double>() >= 599);
            var state = run["state"]!;
            JsonAssert.HasKeys(state, "id", "type", "name", "timestamp", "message", "state_details");
            Assert.Equal(run["next_scheduled_start_time"]!.GetValue<string>(), state["state_details"]!["scheduled_time"]!.GetValue<string>());
        }
    }
}
