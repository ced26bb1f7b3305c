using System.Net;
using System.Text.Json.Nodes;

namespace PrefectScaling.Testing.PrefectEmulator.Tests;

public sealed class FilterTests
{
    private static EmulatorSeed Sorted() => new()
    {
        Pools = { new SeedPool { Name = "p", Queues = { new SeedQueue { Name = "alpha" }, new SeedQueue { Name = "Alpine" }, new SeedQueue { Name = "beta" } } } },
        Runs =
        {
            new SeedRun { Pool = "p", Queue = "alpha", Name = "run-b", StateName = "Late", ScheduledOffsetSeconds = -300 },
            new SeedRun { Pool = "p", Queue = "alpha", Name = "run-a", StateName = "Scheduled", ScheduledOffsetSeconds = 600 },
            new SeedRun { Pool = "p", Queue = "beta", Name = "run-c", StateType = "RUNNING", ScheduledOffsetSeconds = -900, Tags = { "x", "y" } },
            new SeedRun { Pool = "p", Queue = "beta", Name = "run-d", StateName = "AwaitingRetry", ScheduledOffsetSeconds = -60, Tags = { "x" } },
            new SeedRun { Name = "run-e", StateType = "COMPLETED", ScheduledOffsetSeconds = -3600 },
        },
    };

    private static List<string> Names(JsonNode? arr) => arr!.AsArray().Select(r => r!["name"]!.GetValue<string>()).ToList();

    [Fact]
    public async Task Limit_validation()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3, Sorted());
        var neg = await h.PostAsync("/flow_runs/filter", "{\"limit\":-1}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, neg.Status);
        JsonAssert.Equal("""{"detail":"Invalid limit: must be greater than or equal to 0."}""", neg.Json);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await h.PostAsync("/work_queues/filter", "{\"limit\":201}")).Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await h.PostAsync("/work_pools/filter", "{\"limit\":201}")).Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await h.PostAsync("/work_pools/p/queues/filter", "{\"limit\":201}")).Status);
        Assert.Equal(HttpStatusCode.OK, (await h.PostAsync("/flow_runs/filter", "{\"limit\":200}")).Status);
        Assert.Equal(5, (await h.PostAsync("/flow_runs/filter", "{\"limit\":null}")).Json!.AsArray().Count);
        Assert.Empty((await h.PostAsync("/flow_runs/filter", "{\"limit\":0}")).Json!.AsArray());
        var off = await h.PostAsync("/flow_runs/filter", "{\"offset\":-1}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, off.Status);
        Assert.Equal("greater_than_equal", off.Json!["exception_detail"]![0]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Default_limit_is_configurable()
    {
        await using var h = await Harness.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V2, DefaultLimit = 2 }, Sorted());
        Assert.Equal(2, (await h.PostAsync("/flow_runs/filter", "{}")).Json!.AsArray().Count);
        var r = await h.PostAsync("/flow_runs/filter", "{\"limit\":3}");
        JsonAssert.Equal("""{"detail":"Invalid limit: must be less than or equal to 2."}""", r.Json);
    }

    [Fact]
    public async Task Offset_paging_and_paginate()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3, Sorted());
        var all = Names((await h.PostAsync("/flow_runs/filter", "{\"sort\":\"NAME_ASC\"}")).Json);
        Assert.Equal(new[] { "run-a", "run-b", "run-c", "run-d", "run-e" }, all);
        var paged = new List<string>();
        for (var off = 0; off < 10; off += 2)
            paged.AddRange(Names((await h.PostAsync("/flow_runs/filter", $"{{\"sort\":\"NAME_ASC\",\"limit\":2,\"offset\":{off}}}")).Json));
        Assert.Equal(all, paged);

        var p2 = await h.PostAsync("/flow_runs/paginate", "{\"sort\":\"NAME_ASC\",\"limit\":2,\"page\":2}");
        Assert.Equal(HttpStatusCode.OK, p2.Status);
        Assert.Equal(new[] { "run-c", "run-d" }, Names(p2.Json!["results"]));
        Assert.Equal(5, p2.Json["count"]!.GetValue<int>());
        Assert.Equal(2, p2.Json["limit"]!.GetValue<int>());
        Assert.Equal(3, p2.Json["pages"]!.GetValue<int>());
        Assert.Equal(2, p2.Json["page"]!.GetValue<int>());
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await h.PostAsync("/flow_runs/paginate", "{\"page\":0}")).Status);
    }

    [Fact]
    public async Task Sort_values()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3, Sorted());
        async Task<List<string>> S(string sort, string filter = "") =>
            Names((await h.PostAsync("/flow_runs/filter", $"{{\"sort\":\"{sort}\"{filter}}}")).Json);

        Assert.Equal(new[] { "run-e", "run-d", "run-c", "run-b", "run-a" }, await S("NAME_DESC"));
        Assert.Equal(new[] { "run-e", "run-c", "run-b", "run-d", "run-a" }, await S("EXPECTED_START_TIME_ASC"));
        Assert.Equal(new[] { "run-a", "run-d", "run-b", "run-c", "run-e" }, await S("EXPECTED_START_TIME_DESC"));
        // next_scheduled_start_time is null for non-SCHEDULED runs; NULLs sort first ascending (SQLite), so filter them out.
        Assert.Equal(new[] { "run-b", "run-d", "run-a" },
            await S("NEXT_SCHEDULED_START_TIME_ASC", ",\"flow_runs\":{\"state\":{\"type\":{\"any_\":[\"SCHEDULED\"]}}}"));
        Assert.Equal(new[] { "run-e", "run-c" }, (await S("START_TIME_ASC")).Where(n => n is "run-e" or "run-c").ToList());
        Assert.Equal("run-e", (await S("END_TIME_DESC"))[0]); // the only ended run sorts first (NULLs last when descending)
        var ids = (await h.PostAsync("/flow_runs/filter", "{}")).Json!.AsArray().Select(r => r!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(ids.OrderByDescending(x => x, StringComparer.Ordinal), ids); // default ID_DESC

        var bad = await h.PostAsync("/flow_runs/filter", "{\"sort\":\"BOGUS\"}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.Status);
        Assert.Equal("enum", bad.Json!["exception_detail"]![0]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Work_queue_name_startswith_is_case_insensitive_prefix_list()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3, Sorted());
        var r = await h.PostAsync("/work_queues/filter", "{\"work_queues\":{\"name\":{\"startswith_\":[\"ALP\",\"be\"]}}}");
        Assert.Equal(HttpStatusCode.OK, r.Status);
        Assert.Equal(new[] { "Alpine", "alpha", "beta" }, Names(r.Json));
        var pool = await h.PostAsync("/work_pools/p/queues/filter", "{\"work_queues\":{\"name\":{\"startswith_\":[\"alp\"]}}}");
        Assert.Equal(2, pool.Json!.AsArray().Count);
        var or = await h.PostAsync("/work_queues/filter", "{\"work_queues\":{\"operator\":\"or_\",\"name\":{\"any_\":[\"beta\"]},\"id\":{\"any_\":[]}}}");
        Assert.Equal(new[] { "beta" }, Names(or.Json));
        Assert.Equal(4, await h.CountAsync("{\"work_pool_queues\":{\"name\":{\"startswith_\":[\"a\",\"B\"]}}}"));
    }

    [Fact]
    public async Task Work_pools_filter_and_count()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3, Seeds.Acceptance());
        var r = await h.PostAsync("/work_pools/filter", "{}");
        Assert.Equal(new[] { "acceptance-pool", "default-agent-pool" }, Names(r.Json));
        var t = await h.PostAsync("/work_pools/filter", "{\"work_pools\":{\"type\":{\"any_\":[\"prefect-agent\"]}}}");
        Assert.Equal(new[] { "default-agent-pool" }, Names(t.Json));
        Assert.Equal("2", (await h.PostAsync("/work_pools/count", "{}")).Text);
        Assert.Equal("1", (await h.PostAsync("/work_pools/count", "{\"work_pools\":{\"name\":{\"any_\":[\"acceptance-pool\"]}}}")).Text);
        var bad = await h.PostAsync("/work_pools/count", "{\"work_pools\":{\"name\":{\"like_\":\"a\"}}}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.Status);
    }

    [Fact]
    public async Task V2_rejects_3x_only_fields()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V2, Sorted());
        foreach (var body in new[]
                 {
                     "{\"flow_runs\":{\"state\":{\"type\":{\"not_any_\":[\"SCHEDULED\"]}}}}",
                     "{\"flow_runs\":{\"state\":{\"name\":{\"not_any_\":[\"AwaitingConcurrencySlot\"]}}}}",
                     "{\"flow_runs\":{\"tags\":{\"any_\":[\"x\"]}}}",
                     "{\"flow_runs\":{\"end_time\":{\"before_\":\"2030-01-01T00:00:00Z\"}}}",
                 })
        {
            var r = await h.PostAsync("/flow_runs/count", body);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, r.Status);
            var item = r.Json!["exception_detail"]![0]!;
            Assert.Equal("value_error.extra", item["type"]!.GetValue<string>());
            Assert.Equal("extra fields not permitted", item["msg"]!.GetValue<string>());
        }
        // 2.x way: explicit any_ list.
        Assert.Equal(2, await h.CountAsync("{\"flow_runs\":{\"state\":{\"name\":{\"any_\":[\"Scheduled\",\"Late\"]}}}}"));
    }

    [Fact]
    public async Task V3_silently_drops_state_sub_filter_with_both_any_and_not_any()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3, Sorted());
        // Same sub-object: dropped, so it counts all 5 runs.
        Assert.Equal(5, await h.CountAsync("{\"flow_runs\":{\"state\":{\"name\":{\"any_\":[\"Late\"],\"not_any_\":[\"Scheduled\"]}}}}"));
        Assert.Equal(5, await h.CountAsync("{\"flow_runs\":{\"state\":{\"type\":{\"any_\":[\"SCHEDULED\"],\"not_any_\":[\"RUNNING\"]}}}}"));
        // The other sub-object still applies.
        Assert.Equal(3, await h.CountAsync("{\"flow_runs\":{\"state\":{\"type\":{\"any_\":[\"SCHEDULED\"]},\"name\":{\"any_\":[\"x\"],\"not_any_\":[\"y\"]}}}}"));
        // Different sub-objects are fine.
        Assert.Equal(2, await h.CountAsync("{\"flow_runs\":{\"state\":{\"type\":{\"any_\":[\"SCHEDULED\"]},\"name\":{\"not_any_\":[\"Late\"]}}}}"));
        Assert.Equal(1, await h.CountAsync("{\"flow_runs\":{\"tags\":{\"any_\":[\"y\"]}}}"));
    }

    [Fact]
    public async Task Bad_enum_values_are_422()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V2, Sorted());
        var r = await h.PostAsync("/flow_runs/count", "{\"flow_runs\":{\"state\":{\"type\":{\"any_\":[\"LATE\"]}}}}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, r.Status);
        var item = r.Json!["exception_detail"]![0]!;
        Assert.Equal("type_error.enum", item["type"]!.GetValue<string>());
        JsonAssert.Equal("""["body","flow_runs","state","type","any_",0]""", item["loc"]);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await h.PostAsync("/flow_runs/count", "{\"flow_runs\":{\"state\":{\"type\":{\"any_\":[\"scheduled\"]}}}}")).Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await h.PostAsync("/flow_runs/count", "{\"flow_runs\":{\"operator\":\"AND\"}}")).Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await h.PostAsync("/flow_runs/count", "{\"flow_runs\":{\"id\":{\"any_\":[\"not-a-uuid\"]}}}")).Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await h.PostAsync("/flow_runs/count", "{\"flow_runs\":\"x\"}")).Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await h.PostAsync("/flow_runs/count", "[]")).Status);
    }

    [Fact]
    public async Task Datetimes()
    {
        var now = DateTimeOffset.UtcNow;
        await using var v2 = await Harness.StartAsync(EmulatorMode.V2, Sorted());
        var epoch = now.ToUnixTimeSeconds();
        var num = await v2.PostAsync("/flow_runs/count", $"{{\"flow_runs\":{{\"next_scheduled_start_time\":{{\"before_\":{epoch}}}}}}}");
        Assert.Equal(HttpStatusCode.UnprocessableEntity, num.Status);
        Assert.Equal("Unrecognized datetime.", num.Json!["exception_detail"]![0]!["msg"]!.GetValue<string>());
        var iso = now.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'");
        Assert.Equal(2, await v2.CountAsync($"{{\"flow_runs\":{{\"state\":{{\"type\":{{\"any_\":[\"SCHEDULED\"]}}}},\"next_scheduled_start_time\":{{\"before_\":\"{iso}\"}}}}}}"));
        var naive = now.ToString("yyyy-MM-dd'T'HH:mm:ss");
        Assert.Equal(2, await v2.CountAsync($"{{\"flow_runs\":{{\"next_scheduled_start_time\":{{\"before_\":\"{naive}\"}}}}}}"));
        var offset = now.ToOffset(TimeSpan.FromHours(-5)).ToString("yyyy-MM-dd'T'HH:mm:sszzz");
        Assert.Equal(2, await v2.CountAsync($"{{\"flow_runs\":{{\"next_scheduled_start_time\":{{\"before_\":\"{offset}\"}}}}}}"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity,
            (await v2.PostAsync("/flow_runs/count", "{\"flow_runs\":{\"expected_start_time\":{\"after_\":\"yesterday\"}}}")).Status);

        await using var v3 = await Harness.StartAsync(EmulatorMode.V3, Sorted());
        Assert.Equal(2, await v3.CountAsync($"{{\"flow_runs\":{{\"next_scheduled_start_time\":{{\"before_\":{epoch}}}}}}}"));
        Assert.Equal(1, await v3.CountAsync($"{{\"flow_runs\":{{\"end_time\":{{\"before_\":\"{now.AddMinutes(1):O}\"}}}}}}"));
        Assert.Equal(1, await v3.CountAsync("{\"flow_runs\":{\"start_time\":{\"is_null_\":false},\"end_time\":{\"is_null_\":true}}}"));
    }

    [Fact]
    public async Task Other_flow_run_filters()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3, Sorted());
        Assert.Equal(1, await h.CountAsync("{\"flow_runs\":{\"work_queue_name\":{\"is_null_\":true}}}"));
        Assert.Equal(1, await h.CountAsync("{\"flow_runs\":{\"deployment_id\":{\"is_null_\":true}}}"));
        Assert.Equal(2, await h.CountAsync("{\"flow_runs\":{\"tags\":{\"all_\":[\"x\"]}}}"));
        Assert.Equal(3, await h.CountAsync("{\"flow_runs\":{\"tags\":{\"is_null_\":true}}}"));
        Assert.Equal(5, await h.CountAsync("{\"flow_runs\":{\"name\":{\"like_\":\"RUN-\"}}}"));
        Assert.Equal(2, await h.CountAsync("{\"flow_runs\":{\"name\":{\"any_\":[\"run-a\",\"run-b\"]}}}"));
        Assert.Equal(0, await h.CountAsync("{\"flow_runs\":{\"name\":{\"any_\":[]}}}"));
        Assert.Equal(3, await h.CountAsync("{\"flow_runs\":{\"operator\":\"or_\",\"name\":{\"any_\":[\"run-a\"]},\"tags\":{\"all_\":[\"x\"]}}}"));
        Assert.Equal(3, await h.CountAsync("{\"flow_runs\":{\"state\":{\"operator\":\"or_\",\"type\":{\"any_\":[\"RUNNING\"]},\"name\":{\"any_\":[\"Late\",\"AwaitingRetry\"]}}}}"));
        Assert.Equal(0, await h.CountAsync("{\"flow_runs\":{\"flow_version\":{\"any_\":[\"1\"]}}}"));
        var ids = (await h.PostAsync("/flow_runs/filter", "{\"limit\":2}")).Json!.AsArray().Select(r => r!["id"]!.GetValue<string>()).ToList();
        Assert.Equal(2, await h.CountAsync($"{{\"flow_runs\":{{\"id\":{{\"any_\":[\"{ids[0]}\",\"{ids[1]}\"]}}}}}}"));
        Assert.Equal(3, await h.CountAsync($"{{\"flow_runs\":{{\"id\":{{\"not_any_\":[\"{ids[0]}\",\"{ids[1]}\"]}}}}}}"));
        // A run without a queue never matches a pool or queue filter, even an empty one.
        Assert.Equal(4, await h.CountAsync("{\"work_pools\":{}}"));
        Assert.Equal(4, await h.CountAsync("{\"work_pool_queues\":{}}"));
        Assert.Equal(5, await h.CountAsync("{\"flows\":{},\"task_runs\":null,\"deployments\":{}}"));
    }

    [Fact]
    public async Task Unimplemented_real_filters_answer_500_instead_of_being_ignored()
    {
        await using var h = await Harness.StartAsync(EmulatorMode.V3, Sorted());
        foreach (var body in new[]
                 {
                     "{\"flows\":{\"name\":{\"any_\":[\"f\"]}}}",
                     "{\"task_runs\":{\"id\":{\"any_\":[]}}}",
                     "{\"deployments\":{\"name\":{\"any_\":[\"d\"]}}}",
                     "{\"flow_runs\":{\"parent_task_run_id\":{\"is_null_\":true}}}",
                 })
        {
            var r = await h.PostAsync("/flow_runs/count", body);
            Assert.Equal(HttpStatusCode.InternalServerError, r.Status);
            JsonAssert.Equal("""{"exception_message":"emulator: filter not implemented"}""", r.Json);
        }
    }
}
