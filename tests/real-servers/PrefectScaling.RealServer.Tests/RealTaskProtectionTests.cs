using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Bindings;
using PrefectScaling.Prefect;
using PrefectScaling.Protection;
using PrefectScaling.Publisher;
using PrefectScaling.TestSupport;
using Xunit.Abstractions;

namespace PrefectScaling.RealServer.Tests;

/// <summary>-ProtectBusyTasks end to end: runs seeded on a real server the way a worker or agent leaves them (the
/// infrastructure_pid it PATCHes, and on 3.x the worker labels), tasks running in moto, and the protection calls
/// answered by the stand-in in front of moto. The publisher's own cycle protects the busy tasks, refreshes them,
/// keeps everything while a run cannot be placed, and releases each task once its runs are over.</summary>
public abstract class RealTaskProtectionTests : RealServerTests, IAsyncLifetime
{
    private const string Service = "workers";
    private MotoServer? _moto;
    private TaskProtectionStandIn? _standIn;

    protected RealTaskProtectionTests(ServerFixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    public async Task InitializeAsync()
    {
        _moto = await MotoServer.StartAsync();
        _standIn = await TaskProtectionStandIn.StartAsync(_moto);
    }

    public async Task DisposeAsync()
    {
        if (_standIn != null) await _standIn.DisposeAsync();
        if (_moto != null) await _moto.DisposeAsync();
    }

    /// <summary>A pool with a deployment, and runs created in it by the server.</summary>
    private sealed class Seeded
    {
        public string Pool = string.Empty, PoolId = string.Empty, Deployment = string.Empty;
    }

    private async Task<Seeded> SeedPoolAsync(PrefectHttp http, string suffix)
    {
        var seeded = new Seeded { Pool = "protect-" + suffix };
        JsonNode flow = (await http.CreateAsync("/flows/", new JsonObject { ["name"] = "protect-flow-" + suffix }))!;
        JsonNode pool = (await http.CreateAsync("/work_pools/", new JsonObject { ["name"] = seeded.Pool, ["type"] = "process" }))!;
        seeded.PoolId = (string)pool["id"]!;
        seeded.Deployment = (string)(await http.CreateAsync("/deployments/", new JsonObject
        {
            ["name"] = "protect-dep-" + suffix, ["flow_id"] = (string)flow["id"]!, ["work_pool_name"] = seeded.Pool, ["work_queue_name"] = "default",
        }))!["id"]!;
        return seeded;
    }

    private static async Task<string> RunAsync(PrefectHttp http, Seeded seeded, string type, string name) =>
        (string)(await http.CreateAsync("/deployments/" + seeded.Deployment + "/create_flow_run", new JsonObject
        {
            ["state"] = new JsonObject { ["type"] = type, ["name"] = name },
        }))!["id"]!;

    /// <summary>What BaseWorker._submit_run (and the 2.x agent's submit_run) does once the process started.</summary>
    private static async Task SetPidAsync(PrefectHttp http, string run, string pid)
    {
        PrefectAnswer answer = await http.SendAsync(HttpMethod.Patch, "/flow_runs/" + run, new JsonObject { ["infrastructure_pid"] = pid }.ToJsonString());
        Assert.True(answer.Status is 200 or 204, "PATCH infrastructure_pid answered " + answer);
    }

    /// <summary>What BaseWorker._give_worker_labels_to_flow_run does on every 3.1.9+ server.</summary>
    private static async Task LabelAsync(PrefectHttp http, Seeded seeded, string run, string worker)
    {
        PrefectAnswer answer = await http.SendAsync(HttpMethod.Patch, "/flow_runs/" + run + "/labels", new JsonObject
        {
            ["prefect.worker.name"] = worker, ["prefect.worker.type"] = "process", ["prefect.work-pool.name"] = seeded.Pool, ["prefect.work-pool.id"] = seeded.PoolId,
        }.ToJsonString());
        Assert.True(answer.Status is 200 or 204, "PATCH labels answered " + answer);
    }

    private static async Task FinishAsync(PrefectHttp http, string run)
    {
        PrefectAnswer answer = await http.PostAsync("/flow_runs/" + run + "/set_state", new JsonObject
        {
            ["state"] = new JsonObject { ["type"] = "COMPLETED", ["name"] = "Completed" }, ["force"] = true,
        });
        Assert.True(answer.Status is 200 or 201, "set_state answered " + answer);
    }

    private (PublisherCycle Cycle, AwsContext Aws) Cycle(string cluster, Seeded seeded, Func<DateTimeOffset> clock)
    {
        AwsContext aws = _standIn!.Context();
        var configuration = new PublisherConfiguration
        {
            ApiUrl = Fixture.Server.ApiUrl.AbsoluteUri,
            Bindings = new[] { new ServiceBinding(cluster, Service, BindingScope.From(new[] { seeded.Pool }, null)) },
            BindingsPath = "/prefectscaling/protect/bindings",
            Measures = new[] { Backlog.BacklogMeasure.Late },
            Metric = new Metrics.BacklogMetricOptions { Namespace = "Protect" + Guid.NewGuid().ToString("N")[..8] },
            ProtectBusyTasks = true,
        };
        configuration.Validate();
        var settings = new PrefectConnectionSettings(Fixture.Server.ApiUrl, null, Fixture.Server.AuthString);
        return (new PublisherCycle(configuration, PrefectConnection.For(settings), aws, new TaskProtector(clock: clock)), aws);
    }

    private static double Unprotected(PublisherCycleResult result) =>
        result.Data.Single(d => d.MetricName == BindingSeries.UnprotectedInFlightMetricName).Value;

    private static string IdOf(string arn) => EcsServiceTask.IdOf(arn);

    [Fact]
    public async Task BusyTasksAreProtectedRefreshedAndReleasedOnceTheirRunsEnd()
    {
        string suffix = Guid.NewGuid().ToString("N")[..8];
        string cluster = "protect-" + suffix;
        using PrefectHttp http = Fixture.Http();
        Seeded seeded = await SeedPoolAsync(http, suffix);
        DateTimeOffset now = DateTimeOffset.UtcNow;
        (PublisherCycle cycle, AwsContext aws) = Cycle(cluster, seeded, () => now);
        using AwsContext _ = aws;
        var tasks = await _standIn!.ServiceWithTasksAsync(aws, cluster, Service, 3);

        // Run A on task 0, run B on task 1, shaped as this server's own workers leave them.
        string a = await RunAsync(http, seeded, "RUNNING", "Running");
        string b = await RunAsync(http, seeded, "RUNNING", "Running");
        if (Fixture.Server.IsV3)
        {
            // 3.8.3 process worker: the pid alone, and the worker's labels (named after its task by the entrypoint).
            await SetPidAsync(http, a, "4242");
            await LabelAsync(http, seeded, a, "ecs-" + IdOf(tasks[0].Arn));
            // 3.0 to 3.2.7 process worker: "hostname:pid", the hostname Amazon's ip-a-b-c-d name.
            await SetPidAsync(http, b, "ip-" + tasks[1].Ip.Replace('.', '-') + ".eu-west-1.compute.internal:777");
        }
        else
        {
            // 2.20.25 agent with Process infrastructure: "socket.gethostname():pid".
            await SetPidAsync(http, a, tasks[0].DnsName + ":4242");
            await SetPidAsync(http, b, "ip-" + tasks[1].Ip.Replace('.', '-') + ":777");
        }

        PublisherCycleResult first = await cycle.RunOnceAsync(new TestLog(), default);
        BindingProtection protection = first.Bindings.Single().Protection!;
        Output.WriteLine(Fixture.Server + ": " + protection + "; " + string.Join("; ", protection.Mappings) + "; " + first.PrefectRequests + " Prefect request(s), " +
            (await _standIn.CallsAsync()).Count + " protection call(s), " + first.DurationMs.ToString("0") + " ms");
        Assert.Null(protection.Failure);
        Assert.Equal(new[] { tasks[0].Arn, tasks[1].Arn }.OrderBy(x => x, StringComparer.Ordinal), (await _standIn.ProtectedAsync()).Keys.OrderBy(x => x, StringComparer.Ordinal));
        Assert.Equal(Fixture.Server.IsV3 ? RunTaskLink.WorkerName : RunTaskLink.Hostname, protection.Mappings.Single(m => m.Run.Id == a).Link);
        Assert.Equal(0, Unprotected(first));
        double firstExpiry = (await _standIn.ProtectedAsync())[tasks[1].Arn];
        Assert.InRange(firstExpiry - DateTimeOffset.UtcNow.ToUnixTimeSeconds(), 8 * 60, 10 * 60 + 5);

        // Two minutes on: still busy, so both are refreshed.
        now = now.AddMinutes(2);
        await Task.Delay(1100);
        PublisherCycleResult second = await cycle.RunOnceAsync(new TestLog(), default);
        Assert.Equal(new[] { IdOf(tasks[0].Arn), IdOf(tasks[1].Arn) }.OrderBy(x => x, StringComparer.Ordinal), second.Bindings.Single().Protection!.Refreshed.OrderBy(x => x, StringComparer.Ordinal));
        Assert.True((await _standIn.ProtectedAsync())[tasks[1].Arn] > firstExpiry, "the refresh moved the expiry on");

        // A ends; C is claimed but its process has not started: it cannot be placed, so nothing is released.
        await FinishAsync(http, a);
        string c = await RunAsync(http, seeded, "PENDING", "Pending");
        now = now.AddMinutes(1);
        PublisherCycleResult third = await cycle.RunOnceAsync(new TestLog(), default);
        BindingProtection held = third.Bindings.Single().Protection!;
        Assert.Empty(held.ReleasedTasks);
        Assert.Contains(tasks[0].Arn, (await _standIn.ProtectedAsync()).Keys);
        var unmapped = Assert.Single(held.UnprotectedRuns);
        Assert.Equal(c, unmapped.Run.Id);
        Assert.Contains("PENDING", unmapped.Why, StringComparison.Ordinal);
        Assert.Equal(1, Unprotected(third));

        // C ends too: task 0 is idle and every run is placed, so its protection (this publisher's) is released.
        await FinishAsync(http, c);
        now = now.AddMinutes(1);
        PublisherCycleResult fourth = await cycle.RunOnceAsync(new TestLog(), default);
        Assert.Equal(new[] { IdOf(tasks[0].Arn) }, fourth.Bindings.Single().Protection!.ReleasedTasks);
        Assert.Equal(new[] { tasks[1].Arn }, (await _standIn.ProtectedAsync()).Keys);
        Assert.Equal(0, Unprotected(fourth));

        await FinishAsync(http, b);
        now = now.AddMinutes(1);
        PublisherCycleResult fifth = await cycle.RunOnceAsync(new TestLog(), default);
        Assert.Equal(new[] { IdOf(tasks[1].Arn) }, fifth.Bindings.Single().Protection!.ReleasedTasks);
        Assert.Empty(await _standIn.ProtectedAsync());
        Assert.Equal(0, Unprotected(fifth));
        // The third task never ran anything and was never touched.
        Assert.DoesNotContain((await _standIn.CallsAsync()).SelectMany(call => call.Request["tasks"]!.AsArray()), t => (string?)t == tasks[2].Arn);
    }

    [Fact]
    public async Task WhenEcsRefusesTheProtectionEveryInFlightRunStaysGuarded()
    {
        string suffix = Guid.NewGuid().ToString("N")[..8];
        string cluster = "protect-" + suffix;
        using PrefectHttp http = Fixture.Http();
        Seeded seeded = await SeedPoolAsync(http, suffix);
        (PublisherCycle cycle, AwsContext aws) = Cycle(cluster, seeded, () => DateTimeOffset.UtcNow);
        using AwsContext _ = aws;
        var tasks = await _standIn!.ServiceWithTasksAsync(aws, cluster, Service, 2);
        string a = await RunAsync(http, seeded, "RUNNING", "Running");
        await SetPidAsync(http, a, "ip-" + tasks[0].Ip.Replace('.', '-') + ":1");
        await RunAsync(http, seeded, "CANCELLING", "Cancelling");

        await _standIn.FailAsync("UpdateTaskProtection", "ServerException", 500, times: 20);
        PublisherCycleResult result = await cycle.RunOnceAsync(new TestLog(), default);
        BindingProtection protection = result.Bindings.Single().Protection!;
        Output.WriteLine(protection.ToString());
        Assert.NotNull(protection.Failure);
        Assert.Empty(await _standIn.ProtectedAsync());
        // Both in-flight runs (the CANCELLING one has no task) count: the InFlight total.
        Assert.Equal(2, Unprotected(result));
    }
}

[Collection(Prefect3Collection.Name)]
public sealed class Prefect3TaskProtectionTests : RealTaskProtectionTests
{
    public Prefect3TaskProtectionTests(Prefect3Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }
}

[Collection(Prefect2Collection.Name)]
public sealed class Prefect2TaskProtectionTests : RealTaskProtectionTests
{
    public Prefect2TaskProtectionTests(Prefect2Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }
}
