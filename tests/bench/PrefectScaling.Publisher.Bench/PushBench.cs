using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using PrefectScaling;
using PrefectScaling.Aws;
using PrefectScaling.Bindings;
using PrefectScaling.Prefect;
using PrefectScaling.Publisher;
using PrefectScaling.TestSupport;
using PrefectScaling.Testing.PrefectEmulator;

// dotnet PrefectScaling.Publisher.Bench.dll --push --publisher-dir <published folder> [--warm K] [--prefect-url <real 3.x API URL> --rounds R]
// The push path's handler, loaded from the published folder as Lambda loads it, behind a local function URL stand-in.
// Handler latency: the first push request of a new process (cold: load, configuration, SSM, one cycle) and K more,
// each for another binding (warm: one cycle each), plus K requests with a wrong secret (rejected). Against the
// emulator by default; with --prefect-url against that real server, where the publisher and its push path are
// installed (moto and the server) and R runs, one per binding, are created Scheduled in the past: the time from each
// run's Late state to the handler's published answer is measured. Prints one JSON line.
internal static class PushBench
{
    private const string Cluster = "bench", Secret = "bench-push-secret";

    public static async Task<JsonObject> RunAsync(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < args.Length; i++)
            if (args[i].StartsWith("--", StringComparison.Ordinal) && args[i] != "--push") values[args[i][2..]] = i + 1 < args.Length ? args[++i] : "";
        string dir = Path.GetFullPath(values["publisher-dir"]);
        int warm = values.TryGetValue("warm", out string? w) ? int.Parse(w, CultureInfo.InvariantCulture) : 5;
        int rounds = values.TryGetValue("rounds", out string? r) ? int.Parse(r, CultureInfo.InvariantCulture) : 3;
        Uri? real = values.TryGetValue("prefect-url", out string? u) && u.Length > 0 ? new Uri(u.TrimEnd('/') + "/") : null;
        int bindings = 1 + warm + (real != null ? rounds : 0);

        await using MotoServer moto = await MotoServer.StartAsync();
        using AwsContext aws = moto.Context();
        await aws.InvokeAsync(AwsOperations.Ecs.CreateCluster, new JsonObject { ["clusterName"] = Cluster }, NullEngineLog.Instance, default);
        await aws.InvokeAsync(AwsOperations.Ecs.RegisterTaskDefinition, JsonNode.Parse("""{"family":"w","containerDefinitions":[{"name":"w","image":"prefecthq/prefect:3-latest","memory":512}]}""")!.AsObject(), NullEngineLog.Instance, default);
        string tag = Guid.NewGuid().ToString("N")[..8];
        List<string> pools = Enumerable.Range(1, bindings).Select(i => "push-bench-" + tag + "-" + i).ToList();
        var bound = pools.Select((pool, i) => new ServiceBinding(Cluster, "svc-" + (i + 1), BindingScope.From(new[] { pool }, null))).ToList();
        foreach (ServiceBinding binding in bound)
            await aws.InvokeAsync(AwsOperations.Ecs.CreateService, new JsonObject { ["cluster"] = Cluster, ["serviceName"] = binding.Service, ["taskDefinition"] = "w", ["desiredCount"] = 1 }, NullEngineLog.Instance, default);

        PrefectEmulatorServer? emulator = null;
        using var http = new HttpClient();
        PushInstall? installed = null;
        PublishedFunction? function = null;
        using var standIn = new FunctionUrlStandIn(input => function!.Invoke(input));
        var result = new JsonObject { ["server"] = real == null ? "emulator 3.x" : "real " + real.AbsoluteUri, ["bindings"] = bindings };
        try
        {
            Dictionary<string, string> environment;
            if (real == null)
            {
                var seed = new EmulatorSeed();
                foreach (string pool in pools)
                {
                    seed.Pools.Add(new SeedPool { Name = pool, Type = "process", Queues = { new SeedQueue { Name = "default" } } });
                    seed.Runs.Add(new SeedRun { Pool = pool, Queue = "default", StateName = "Late", ScheduledOffsetSeconds = -60, Count = 3 });
                }
                emulator = await PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3 }, seed);
                environment = await ConfigureAsync(aws, emulator.ApiUrl, bound, tag);
            }
            else
            {
                foreach (string pool in pools)
                    (await http.PostAsJsonAsync(new Uri(real, "work_pools/"), new { name = pool, type = "process" })).EnsureSuccessStatusCode();
                installed = await InstallAsync(aws, real, bound, tag, standIn.Url);
                environment = installed.Environment;
            }
            foreach (var variable in moto.LambdaEnvironment()) environment[variable.Key] = variable.Value;
            string secret = (await aws.GetParameterAsync(environment[PublisherConfiguration.PushSecretParameterVariable], true, NullEngineLog.Instance, default))!.Value!;

            var log = new StringWriter();
            TextWriter stdout = Console.Out;
            using (ProcessEnvironment.Set(environment))
            {
                Console.SetOut(log);
                try
                {
                    var clock = Stopwatch.StartNew();
                    function = PublishedFunction.Load(dir);
                    Expect(await PostAsync(http, standIn.Url, secret, pools[0]), "published", "cold");
                    result["coldMs"] = Math.Round(clock.Elapsed.TotalMilliseconds, 1);
                    var warmMs = new List<double>();
                    for (int i = 1; i <= warm; i++)
                    {
                        clock.Restart();
                        Expect(await PostAsync(http, standIn.Url, secret, pools[i]), "published", "warm " + i);
                        warmMs.Add(clock.Elapsed.TotalMilliseconds);
                    }
                    var rejectedMs = new List<double>();
                    for (int i = 0; i < warm; i++)
                    {
                        clock.Restart();
                        Expect(await PostAsync(http, standIn.Url, "wrong-" + i, pools[0]), "rejected", "wrong secret " + i);
                        rejectedMs.Add(clock.Elapsed.TotalMilliseconds);
                    }
                    result["warmMsMedian"] = Math.Round(Median(warmMs), 1);
                    result["warmMsMax"] = Math.Round(warmMs.Max(), 1);
                    result["rejectedMsMedian"] = Math.Round(Median(rejectedMs), 1);
                    if (real != null) await LateToPublishedAsync(http, real, standIn, pools.Skip(1 + warm).ToList(), result);
                }
                finally
                {
                    Console.SetOut(stdout);
                }
            }
        }
        finally
        {
            if (installed != null) await installed.RemoveAsync();
            if (real != null)
                foreach (string pool in pools) await http.DeleteAsync(new Uri(real, "work_pools/" + pool));
            if (emulator != null) await emulator.DisposeAsync();
            function?.Dispose();
        }
        return result;
    }

    /// <summary>For each pool: a run scheduled 30 s ago turns Late, its automation calls the stand-in, and the handler
    /// answers published. The time from the Late state's timestamp to that answer, per run.</summary>
    private static async Task LateToPublishedAsync(HttpClient http, Uri api, FunctionUrlStandIn standIn, List<string> pools, JsonObject result)
    {
        var flow = await (await http.PostAsJsonAsync(new Uri(api, "flows/"), new { name = "push-bench" })).Content.ReadFromJsonAsync<JsonObject>();
        var times = new List<double>();
        var runs = new List<string>();
        try
        {
            foreach (string pool in pools)
            {
                int before;
                lock (standIn.Answers) before = standIn.Answers.Count;
                var body = new JsonObject
                {
                    ["flow_id"] = (string)flow!["id"]!,
                    ["work_pool_name"] = pool,
                    ["state"] = new JsonObject { ["type"] = "SCHEDULED", ["name"] = "Scheduled", ["state_details"] = new JsonObject { ["scheduled_time"] = DateTime.UtcNow.AddSeconds(-30).ToString("o", CultureInfo.InvariantCulture) } },
                };
                var created = await (await http.PostAsync(new Uri(api, "flow_runs/"), new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"))).Content.ReadFromJsonAsync<JsonObject>();
                string id = (string)created!["id"]!;
                runs.Add(id);
                DateTime? late = null, published = null;
                var waited = Stopwatch.StartNew();
                while ((late == null || published == null) && waited.Elapsed < TimeSpan.FromMinutes(2))
                {
                    if (late == null)
                    {
                        JsonObject? run = await http.GetFromJsonAsync<JsonObject>(new Uri(api, "flow_runs/" + id));
                        if ((string?)run?["state"]?["name"] == "Late")
                            late = DateTime.Parse((string)run!["state"]!["timestamp"]!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
                    }
                    lock (standIn.Answers)
                        published ??= standIn.Answers.Skip(before).Where(a => a.Status == 200 && a.Body.Contains("\"outcome\":\"published\"", StringComparison.Ordinal)).Select(a => (DateTime?)a.At).FirstOrDefault();
                    await Task.Delay(100);
                }
                if (late == null || published == null) throw new InvalidOperationException("Round for " + pool + ": Late " + late + ", published " + published + "; answers: " + string.Join(" | ", standIn.Answers.Select(a => a.Status + " " + a.Body)));
                times.Add((published.Value - late.Value).TotalMilliseconds);
            }
        }
        finally
        {
            foreach (string id in runs) await http.DeleteAsync(new Uri(api, "flow_runs/" + id));
            await http.DeleteAsync(new Uri(api, "flows/" + (string)flow!["id"]!));
        }
        result["lateToPublishedMs"] = new JsonArray(times.Select(t => (JsonNode?)Math.Round(t, 0)).ToArray());
        result["lateToPublishedMsMedian"] = Math.Round(Median(times), 0);
        result["lateToPublishedMsMax"] = Math.Round(times.Max(), 0);
    }

    private static async Task<(int Status, string Body)> PostAsync(HttpClient http, Uri url, string token, string pool)
    {
        var body = new JsonObject
        {
            ["source"] = "prefect", ["event"] = "prefect.flow-run.Late", ["event_id"] = Guid.NewGuid().ToString(),
            ["occurred"] = DateTime.UtcNow.ToString("o", CultureInfo.InvariantCulture), ["flow_run"] = "prefect.flow-run." + Guid.NewGuid(),
            ["work_pool"] = pool, ["work_queue"] = "default",
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
        request.Headers.Add(PushPath.TokenHeader, token);
        using HttpResponseMessage response = await http.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static void Expect((int Status, string Body) answer, string outcome, string which)
    {
        if (!answer.Body.Contains("\"outcome\":\"" + outcome + "\"", StringComparison.Ordinal))
            throw new InvalidOperationException("The " + which + " push request answered " + answer.Status + " " + answer.Body + ", not " + outcome + ".");
    }

    /// <summary>The environment Install writes for these bindings with the push path on, and what it stores in SSM.</summary>
    private static async Task<Dictionary<string, string>> ConfigureAsync(AwsContext aws, Uri apiUrl, IReadOnlyList<ServiceBinding> bindings, string tag)
    {
        var names = new PublisherNames("push-bench-" + tag);
        var configuration = new PublisherConfiguration
        {
            ApiUrl = apiUrl.AbsoluteUri,
            Bindings = bindings,
            BindingsPath = names.BindingsPath,
            Metric = new PrefectScaling.Metrics.BacklogMetricOptions { Namespace = "PrefectScalingPushBench" },
            PushSecretParameter = names.PushSecretParameterName,
        };
        configuration.Validate();
        foreach (ServiceBinding binding in bindings)
            await aws.PutStringParameterAsync(PublisherBindings.ParameterName(names.BindingsPath, binding), PublisherBindings.ValueOf(binding), "bench", new Dictionary<string, string>(), false, NullEngineLog.Instance, default);
        await aws.PutSecureStringParameterAsync(names.PushSecretParameterName, Secret, "bench", null, NullEngineLog.Instance, default);
        return configuration.ToEnvironment();
    }

    /// <summary>The publisher and its push path installed as Install-PrefectBacklogPublisher -Push -PushUrl does.</summary>
    private static async Task<PushInstall> InstallAsync(AwsContext aws, Uri api, IReadOnlyList<ServiceBinding> bindings, string tag, Uri pushUrl)
    {
        var settings = new PrefectConnectionSettings(api, null, null);
        PrefectClient prefect = PrefectConnection.For(settings).Client;
        var spec = new PublisherInstallSpec { Name = "push-bench-" + tag, Package = TinyZip(), Push = true, PushUrl = pushUrl };
        spec.Configuration.Bindings = bindings;
        spec.Configuration.Metric = new PrefectScaling.Metrics.BacklogMetricOptions { Namespace = "PrefectScalingPushBench" };
        spec.UsePrefectSettings(settings);
        spec.Validate();
        var installer = new PublisherInstaller(aws);
        PublisherState current = await installer.ReadAsync(spec.Name, false, NullEngineLog.Instance, default, bindings);
        spec.Settle(current);
        await installer.ReadDashboardFactsAsync(current, bindings, NullEngineLog.Instance, default);
        List<AwsChange> changes = installer.PlanInstall(spec, current);
        PushPath push = installer.Push(prefect);
        await push.EnsurePrefectSupportsAsync(NullEngineLog.Instance, default);
        changes.AddRange(push.PlanInstall(spec, await push.ReadAsync(spec.Names, true, NullEngineLog.Instance, default)));
        foreach (AwsChange change in changes) await change.Apply(NullEngineLog.Instance, default);
        JsonObject variables = (await aws.InvokeAsync(AwsOperations.Lambda.GetFunction, new JsonObject { ["FunctionName"] = spec.Names.FunctionName }, NullEngineLog.Instance, default))!["Configuration"]!["Environment"]!["Variables"]!.AsObject();
        return new PushInstall(variables.ToDictionary(v => v.Key, v => (string)v.Value!), async () =>
        {
            PublisherState now = await installer.ReadAsync(spec.Name, false, NullEngineLog.Instance, default);
            List<AwsChange> removal = push.PlanRemoval(await push.ReadAsync(spec.Names, false, NullEngineLog.Instance, default));
            removal.AddRange(installer.PlanUninstall(now));
            foreach (AwsChange change in removal) await change.Apply(NullEngineLog.Instance, default);
        });
    }

    private sealed record PushInstall(Dictionary<string, string> Environment, Func<Task> RemoveAsync);

    private static byte[] TinyZip()
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        using (var writer = new StreamWriter(zip.CreateEntry("PrefectScaling.Publisher.runtimeconfig.json").Open()))
            writer.Write("{}");
        return buffer.ToArray();
    }

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
