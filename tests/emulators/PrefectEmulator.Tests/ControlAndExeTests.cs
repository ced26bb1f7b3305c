using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace PrefectScaling.Testing.PrefectEmulator.Tests;

public sealed class ControlEndpointTests
{
    internal static async Task ExerciseControlAsync(HttpClient http, string root, string api, string? authHeader)
    {
        StringContent Json(string s) => new(s, Encoding.UTF8, "application/json");

        using (var seeded = await http.PostAsync(root + "/_emulator/seed", Json(Seeds.AcceptanceSeedJson)))
        {
            Assert.Equal(HttpStatusCode.OK, seeded.StatusCode);
            var counts = JsonNode.Parse(await seeded.Content.ReadAsStringAsync())!;
            Assert.Equal(5, counts["runs"]!.GetValue<int>());
            Assert.Equal(4, counts["queues"]!.GetValue<int>());
        }
        using (var reset = await http.PostAsync(root + "/_emulator/requests/reset", null))
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);

        using var countReq = new HttpRequestMessage(HttpMethod.Post, api + "/flow_runs/count") { Content = Json("{}") };
        if (authHeader is not null) countReq.Headers.TryAddWithoutValidation("Authorization", authHeader);
        using (var count = await http.SendAsync(countReq))
        {
            Assert.Equal(HttpStatusCode.OK, count.StatusCode);
            Assert.Equal("5", await count.Content.ReadAsStringAsync());
        }

        var requests = JsonNode.Parse(await http.GetStringAsync(root + "/_emulator/requests"))!.AsArray();
        var rec = Assert.Single(requests)!; // control requests are not recorded
        Assert.Equal("POST", rec["method"]!.GetValue<string>());
        Assert.Equal("/flow_runs/count", rec["path"]!.GetValue<string>());
        Assert.Equal("{}", rec["body"]!.GetValue<string>());
        Assert.Equal(200, rec["status"]!.GetValue<int>());
        Assert.Equal(authHeader?.Split(' ')[0], rec["authScheme"]?.GetValue<string>());
        Assert.StartsWith("application/json", rec["contentType"]!.GetValue<string>());
        Assert.Equal(2, rec["contentLength"]!.GetValue<long>());
        Assert.True(DateTimeOffset.TryParse(rec["at"]!.GetValue<string>(), out _));

        using (var fault = await http.PostAsync(root + "/_emulator/faults",
                   Json("{\"pathContains\":\"/admin/version\",\"kind\":\"TooManyRequests\",\"count\":-1,\"retryAfter\":\"7\"}")))
            Assert.Equal(HttpStatusCode.OK, fault.StatusCode);
        using (var limited = await http.GetAsync(api + "/admin/version"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(7), limited.Headers.RetryAfter!.Delta);
        }
        using (var cleared = await http.DeleteAsync(root + "/_emulator/faults"))
            Assert.Equal(HttpStatusCode.OK, cleared.StatusCode);
        using (var after = await http.GetAsync(api + "/admin/version"))
            Assert.NotEqual(HttpStatusCode.TooManyRequests, after.StatusCode);

        var lp = JsonNode.Parse(await http.GetStringAsync(root + "/_emulator/queues/acceptance-pool/acceptance-queue/last_polled"))!;
        Assert.Null(lp["last_polled"]);
        using (var missing = await http.GetAsync(root + "/_emulator/queues/acceptance-pool/nope/last_polled"))
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using (var badSeed = await http.PostAsync(root + "/_emulator/seed", Json("{\"pools\":[{\"nmae\":\"typo\"}]}")))
            Assert.Equal(HttpStatusCode.BadRequest, badSeed.StatusCode);
        // Names a real server refuses (422 "must not contain / % & > <") cannot be seeded either.
        foreach (string banned in new[] { "{\"pools\":[{\"name\":\"a%20b\"}]}", "{\"pools\":[{\"name\":\"p\",\"queues\":[{\"name\":\"x & y\"}]}]}" })
            using (var refused = await http.PostAsync(root + "/_emulator/seed", Json(banned)))
                Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);

        using (var reset = await http.PostAsync(root + "/_emulator/requests/reset", null))
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        Assert.Empty(JsonNode.Parse(await http.GetStringAsync(root + "/_emulator/requests"))!.AsArray());
    }

    [Fact]
    public async Task Control_endpoints_in_process()
    {
        await using var h = await Harness.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3, AuthString = "admin:s3cret" }, new EmulatorSeed());
        Assert.Equal(h.Server.ApiUrl.GetLeftPart(UriPartial.Authority), h.Server.RootUrl.GetLeftPart(UriPartial.Authority));
        await ExerciseControlAsync(h.Http, h.Server.RootUrl.ToString().TrimEnd('/'), h.Api, "Basic YWRtaW46czNjcmV0");
    }
}

public sealed class SeedTests
{
    [Fact]
    public async Task Seed_json_and_generate()
    {
        var seed = EmulatorSeed.FromJson("""
            {
              "pools": [ { "name": "k8s", "type": "kubernetes", "is_paused": false, "concurrency_limit": null,
                           "queues": [ { "name": "default", "priority": 1, "is_paused": false, "concurrency_limit": null, "last_polled_offset_seconds": null } ] } ],
              "runs":  [ { "pool": "k8s", "queue": "default", "state_type": "SCHEDULED", "state_name": "Late",
                           "scheduled_offset_seconds": -600, "count": 3, "tags": [] } ],
              "generate": { "pools": 2, "queues_per_pool": 5, "late_runs": 7, "pool_prefix": "bench", "queue_prefix": "q" }
            }
            """);
        await using var h = await Harness.StartAsync(EmulatorMode.V3, seed);
        Assert.Equal(3 + 7 + 10, await h.CountAsync("{}"));
        Assert.Equal(10, await h.CountAsync("{\"flow_runs\":{\"state\":{\"name\":{\"any_\":[\"Late\"]}}}}"));
        var pools = await h.PostAsync("/work_pools/filter", "{}");
        Assert.Equal(new[] { "bench-1", "bench-2", "k8s" }, pools.Json!.AsArray().Select(p => p!["name"]!.GetValue<string>()));
        var queues = await h.PostAsync("/work_pools/bench-1/queues/filter", "{}");
        Assert.Equal(6, queues.Json!.AsArray().Count); // default + q-1..q-5
        Assert.Equal(4, await h.CountAsync("{\"work_pools\":{\"name\":{\"any_\":[\"bench-1\"]}},\"flow_runs\":{\"state\":{\"name\":{\"any_\":[\"Late\"]}}}}"));
        Assert.Equal(10, await h.CountAsync("{\"flow_runs\":{\"state\":{\"name\":{\"any_\":[\"Scheduled\"]}},\"next_scheduled_start_time\":{\"after_\":\"" + DateTimeOffset.UtcNow.AddMinutes(30).ToString("O") + "\"}}}"));
        Assert.Throws<System.Text.Json.JsonException>(() => EmulatorSeed.FromJson("{\"pool\":[]}"));

        // Seed() replaces everything.
        h.Server.Seed(new EmulatorSeed());
        Assert.Equal(0, await h.CountAsync("{}"));
        Assert.Empty((await h.PostAsync("/work_pools/filter", "{}")).Json!.AsArray());
    }

    [Fact]
    public async Task Runs_without_pool_and_state_defaults()
    {
        var seed = new EmulatorSeed
        {
            Runs =
            {
                new SeedRun { StateType = "PENDING" },
                new SeedRun { Queue = "legacy", StateName = "AwaitingRetry" },
                new SeedRun { Pool = "auto", StateType = "FAILED", Count = 2 },
            },
        };
        await using var h = await Harness.StartAsync(EmulatorMode.V3, seed);
        var runs = (await h.PostAsync("/flow_runs/filter", "{\"sort\":\"NAME_ASC\"}")).Json!.AsArray();
        Assert.Equal(4, runs.Count);
        var pending = runs.Single(r => r!["state_type"]!.GetValue<string>() == "PENDING")!;
        Assert.Null(pending["work_queue_id"]);
        Assert.Null(pending["work_pool_name"]);
        Assert.Null(pending["next_scheduled_start_time"]);
        Assert.NotNull(pending["expected_start_time"]);
        var retry = runs.Single(r => r!["state_name"]!.GetValue<string>() == "AwaitingRetry")!;
        Assert.Equal("SCHEDULED", retry["state_type"]!.GetValue<string>());
        Assert.Equal("default-agent-pool", retry["work_pool_name"]!.GetValue<string>());
        Assert.Equal(2, runs.Count(r => r!["work_pool_name"]?.GetValue<string>() == "auto" && r["work_queue_name"]!.GetValue<string>() == "default"));
    }

    [Fact]
    public async Task Benchmark_sized_data_answers_every_page_and_count()
    {
        var seed = new EmulatorSeed { Generate = new SeedGenerate { Pools = 10, QueuesPerPool = 1000, LateRuns = 150 } };
        await using var h = await Harness.StartAsync(EmulatorMode.V3, seed);
        Assert.Equal(10_150, await h.CountAsync("{}"));
        // ~35 requests: pools page, one queue page per pool, per-pool counts, and a backlog page.
        Assert.Equal(10, (await h.PostAsync("/work_pools/filter", "{\"limit\":200}")).Json!.AsArray().Count);
        for (var i = 1; i <= 10; i++)
        {
            var page = await h.PostAsync($"/work_pools/bench-{i}/queues/filter", "{\"limit\":200,\"offset\":200}");
            Assert.Equal(200, page.Json!.AsArray().Count);
            Assert.Equal(15, await h.CountAsync($"{{\"work_pools\":{{\"name\":{{\"any_\":[\"bench-{i}\"]}}}},\"flow_runs\":{{\"state\":{{\"name\":{{\"any_\":[\"Late\"]}}}}}}}}"));
            await h.CountAsync($"{{\"work_pools\":{{\"name\":{{\"any_\":[\"bench-{i}\"]}}}},\"work_pool_queues\":{{\"name\":{{\"any_\":[\"q-7\"]}}}},\"flow_runs\":{{\"state\":{{\"type\":{{\"any_\":[\"SCHEDULED\"]}}}},\"next_scheduled_start_time\":{{\"before_\":\"{DateTimeOffset.UtcNow:O}\"}}}}}}");
        }
        var backlog = await h.PostAsync("/flow_runs/filter", "{\"limit\":200,\"sort\":\"NEXT_SCHEDULED_START_TIME_ASC\",\"flow_runs\":{\"state\":{\"type\":{\"any_\":[\"SCHEDULED\"]}},\"next_scheduled_start_time\":{\"before_\":\"" + DateTimeOffset.UtcNow.ToString("O") + "\"}}}");
        Assert.Equal(150, backlog.Json!.AsArray().Count);
        var queues = await h.PostAsync("/work_queues/filter", "{\"limit\":200}");
        Assert.Equal(200, queues.Json!.AsArray().Count);
    }
}

public sealed class ExeTests
{
    private static string EmulatorDll()
    {
        var baseDir = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var tfm = Path.GetFileName(baseDir);
        var config = Path.GetFileName(Path.GetDirectoryName(baseDir)!);
        // tests/emulators/PrefectEmulator.Tests/bin/<config>/<tfm> -> tests/emulators/PrefectEmulator/bin/<config>/<tfm>
        var own = Path.GetFullPath(Path.Combine(baseDir, "..", "..", "..", "..", "PrefectEmulator", "bin", config, tfm, "PrefectEmulator.dll"));
        if (File.Exists(own)) return own;
        var copy = Path.Combine(baseDir, "PrefectEmulator.dll");
        if (File.Exists(copy) && File.Exists(Path.Combine(baseDir, "PrefectEmulator.runtimeconfig.json"))) return copy;
        throw new FileNotFoundException("PrefectEmulator.dll not found", own);
    }

    private static string DotnetHost()
    {
        var fromEnv = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(fromEnv)) return fromEnv;
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        return "dotnet";
    }

    private static Process Start(string args, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(EmulatorDll());
        foreach (var a in args.Split(' ', StringSplitOptions.RemoveEmptyEntries)) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    private static async Task<string> FirstLineAsync(Process p)
    {
        var read = p.StandardOutput.ReadLineAsync();
        var done = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(done == read, "emulator did not print its listening line in time: " + (p.HasExited ? await p.StandardError.ReadToEndAsync() : ""));
        return (await read) ?? throw new InvalidOperationException("emulator closed stdout: " + await p.StandardError.ReadToEndAsync());
    }

    private static void Stop(Process p)
    {
        try
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
    }

    [Fact]
    public async Task Exe_prints_listening_line_and_serves_with_auth_from_environment()
    {
        var seedFile = Path.Combine(Path.GetTempPath(), $"emulator-seed-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(seedFile, Seeds.AcceptanceSeedJson);
        var p = Start($"--mode v3 --seed {seedFile} --parent-pid {Environment.ProcessId}",
            new Dictionary<string, string> { ["PREFECT_EMULATOR_AUTH_STRING"] = "admin:s3cret" });
        try
        {
            var line = await FirstLineAsync(p);
            var m = System.Text.RegularExpressions.Regex.Match(line, @"^PrefectEmulator listening on (http://127\.0\.0\.1:\d+/api)$");
            Assert.True(m.Success, line);
            var api = m.Groups[1].Value;
            var root = api[..^"/api".Length];
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            Assert.Equal("true", await http.GetStringAsync(api + "/health"));
            using (var anon = await http.PostAsync(api + "/flow_runs/count", new StringContent("{}", Encoding.UTF8, "application/json")))
                Assert.Equal(HttpStatusCode.Unauthorized, anon.StatusCode);
            await ControlEndpointTests.ExerciseControlAsync(http, root, api, "Basic YWRtaW46czNjcmV0");
            Assert.DoesNotContain("s3cret", string.Join(' ', p.StartInfo.ArgumentList));
        }
        finally
        {
            Stop(p);
            File.Delete(seedFile);
        }
    }

    [Fact]
    public async Task Exe_exits_when_parent_dies()
    {
        // Any long-running process will do as the parent; another emulator is portable.
        using var parent = Start("--mode v2");
        await FirstLineAsync(parent);
        var p = Start($"--mode cloud --parent-pid {parent.Id}", new Dictionary<string, string> { ["PREFECT_EMULATOR_API_KEY"] = "pnu_x" });
        try
        {
            var line = await FirstLineAsync(p);
            Assert.Matches(@"^PrefectEmulator listening on http://127\.0\.0\.1:\d+/api/accounts/[0-9a-f-]{36}/workspaces/[0-9a-f-]{36}$", line);
            parent.Kill();
            parent.WaitForExit();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await p.WaitForExitAsync(cts.Token);
            Assert.Equal(0, p.ExitCode);
        }
        finally
        {
            Stop(p);
            Stop(parent);
        }
    }

    [Theory]
    [InlineData("--mode v4", "Unknown mode")]
    [InlineData("--mode cloud", "PREFECT_EMULATOR_API_KEY")]
    [InlineData("--api-key secret", "Unknown argument")]
    public async Task Exe_rejects_bad_arguments(string args, string message)
    {
        var p = Start(args, new Dictionary<string, string> { ["PREFECT_EMULATOR_API_KEY"] = "" });
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await p.WaitForExitAsync(cts.Token);
            Assert.Equal(2, p.ExitCode);
            Assert.Contains(message, await p.StandardError.ReadToEndAsync());
        }
        finally
        {
            Stop(p);
        }
    }
}
