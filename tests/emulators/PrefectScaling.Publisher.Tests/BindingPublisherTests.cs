using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Prefect;
using PrefectScaling.TestSupport;
using PrefectScaling.Testing.PrefectEmulator;

namespace PrefectScaling.Publisher.Tests;

/// <summary>A publisher of bindings: its bindings stored in SSM as Install stores them, read back by the handler, and
/// published as one series per binding and measure; a binding that cannot be read publishes nothing on its own.</summary>
[Collection(PublisherCollection.Name)]
public sealed class BindingPublisherTests : IAsyncLifetime
{
    private const string Cluster = "prod";
    private readonly MotoServer _moto;
    private readonly AwsContext _aws;

    public BindingPublisherTests(MotoFixture moto)
    {
        _moto = moto.Server;
        _aws = _moto.Context();
    }

    public Task InitializeAsync() => _moto.ResetAsync();

    public Task DisposeAsync()
    {
        _aws.Dispose();
        return Task.CompletedTask;
    }

    private static ServiceBinding Bind(string service, string? pool, params string[] queues) =>
        new(Cluster, service, BindingScope.From(pool == null ? null : new[] { pool }, queues.Length == 0 ? null : queues));

    private async Task CreateServicesAsync(params (string Name, int Desired)[] services)
    {
        await _aws.InvokeAsync(AwsOperations.Ecs.CreateCluster, new JsonObject { ["clusterName"] = Cluster }, NullEngineLog.Instance, default);
        await _aws.InvokeAsync(AwsOperations.Ecs.RegisterTaskDefinition, JsonNode.Parse("""
            {"family":"worker","containerDefinitions":[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]}
            """)!.AsObject(), NullEngineLog.Instance, default);
        foreach ((string name, int desired) in services)
        {
            await _aws.InvokeAsync(AwsOperations.Ecs.CreateService, new JsonObject
            {
                ["cluster"] = Cluster, ["serviceName"] = name, ["taskDefinition"] = "worker", ["desiredCount"] = desired,
            }, NullEngineLog.Instance, default);
        }
    }

    /// <summary>A spec as Install-PrefectBacklogPublisher builds it for these bindings (no secret: an open server).</summary>
    private static PublisherInstallSpec Spec(Uri apiUrl, string ns, IReadOnlyList<ServiceBinding> bindings, Action<PublisherConfiguration>? configure = null)
    {
        var spec = new PublisherInstallSpec { Name = Scenario.UniqueName("pub"), Package = new byte[] { 1 } };
        spec.Configuration.ApiUrl = apiUrl.AbsoluteUri;
        spec.Configuration.Bindings = bindings;
        spec.Configuration.Metric = new Metrics.BacklogMetricOptions { Namespace = ns };
        configure?.Invoke(spec.Configuration);
        spec.Validate();
        return spec;
    }

    /// <summary>Applies the binding parameters of an install plan (the rest of the plan is the installer's other parts).</summary>
    private async Task<List<AwsChange>> StoreBindingsAsync(PublisherInstallSpec spec)
    {
        var installer = new PublisherInstaller(_aws);
        PublisherState current = await installer.ReadAsync(spec.Name, false, NullEngineLog.Instance, default, spec.Configuration.Bindings);
        List<AwsChange> changes = installer.PlanInstall(spec, current).Where(c => c.Target.StartsWith(spec.Names.BindingsPath + "/", StringComparison.Ordinal)).ToList();
        foreach (AwsChange change in changes) await change.Apply(NullEngineLog.Instance, default);
        return changes;
    }

    /// <summary>The handler with the environment Install writes, reading AWS on moto.</summary>
    private Function Handler(PublisherInstallSpec spec)
    {
        Dictionary<string, string> environment = spec.Configuration.ToEnvironment();
        foreach (var variable in _moto.LambdaEnvironment()) environment[variable.Key] = variable.Value;
        return new Function(name => environment.TryGetValue(name, out string? value) ? value : null) { PrefectHttpOptions = Scenario.Quick };
    }

    private static Task<PrefectEmulatorServer> StartPrefectAsync() =>
        PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3 }, Scenario.Seed());

    [Fact]
    public async Task A_binding_that_cannot_be_read_publishes_nothing_while_the_others_publish()
    {
        await CreateServicesAsync(("workers", 2), ("etl", 1), ("other-agent", 1));
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        string ns = Scenario.UniqueName("Bindings");
        PublisherInstallSpec spec = Spec(prefect.ApiUrl, ns, new[]
        {
            Bind("workers", Scenario.Pool),                 // the whole pool: 3 + 1 late
            Bind("etl", Scenario.Pool, "etl"),              // one queue of it: 1 late
            Bind("other-agent", "no-such-pool"),            // a pool that does not exist
            Bind("gone", "other"),                          // a service that does not exist
        });
        await StoreBindingsAsync(spec);

        using var console = new ConsoleCapture();
        PublisherFailedException thrown = Assert.Throws<PublisherFailedException>(() => Setup.Invoke(Handler(spec)));
        JsonObject line = Assert.Single(console.JsonLines);
        Assert.Equal("failed", (string?)line["event"]);
        // The invocation fails naming each binding that published nothing, and why.
        Assert.Contains("Published 2 of 4 bindings", thrown.Message);
        Assert.Contains("service/prod/other-agent (", thrown.Message);
        Assert.Contains("no-such-pool", thrown.Message);
        Assert.Contains("service/prod/gone (", thrown.Message);
        Assert.Contains("ECS service 'gone' was not found", thrown.Message);
        Assert.DoesNotContain("service/prod/workers", thrown.Message);
        Assert.Equal(thrown.Message, (string?)line["error"]);

        var cloudWatch = new CloudWatchReader(_aws);
        Assert.Equal(4, await cloudWatch.SingleValueAsync(ns, "LateFlowRuns", ("ClusterName", Cluster), ("ServiceName", "workers")));
        Assert.Equal(2, await cloudWatch.SingleValueAsync(ns, "EcsServiceDesiredTasks", ("ClusterName", Cluster), ("ServiceName", "workers")));
        Assert.Equal(1, await cloudWatch.SingleValueAsync(ns, "LateFlowRuns", ("ClusterName", Cluster), ("ServiceName", "etl")));
        Assert.Equal(1, await cloudWatch.SingleValueAsync(ns, "EcsServiceDesiredTasks", ("ClusterName", Cluster), ("ServiceName", "etl")));
        var metrics = await cloudWatch.ListAsync(ns);
        Assert.Equal(new[] { "etl", "workers" }, metrics.Select(m => m.Dimensions["ServiceName"]).Distinct().OrderBy(s => s, StringComparer.Ordinal));
        // Late, the desired tasks and the busy guard's InFlight and UnprotectedInFlight of each.
        Assert.Equal(8, metrics.Count);
    }

    [Fact]
    public async Task Moto_holds_exactly_one_series_per_binding_and_measure()
    {
        await CreateServicesAsync(("workers", 2), ("etl", 1));
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        string ns = Scenario.UniqueName("Bindings");
        var measures = new[] { BacklogMeasure.Late, BacklogMeasure.Running };
        PublisherInstallSpec spec = Spec(prefect.ApiUrl, ns, new[] { Bind("workers", Scenario.Pool), Bind("etl", Scenario.Pool, "etl") }, c => c.Measures = measures);
        await StoreBindingsAsync(spec);
        Function function = Handler(spec);

        JsonObject first, second;
        using (new ConsoleCapture())
        {
            first = Setup.Invoke(function);
            second = Setup.Invoke(function);
        }
        Assert.Equal(10, (int)first["published"]!); // 2 bindings x (2 measures + desired tasks + InFlight + UnprotectedInFlight)
        Assert.Equal(10, (int)second["published"]!);

        // moto lists a series once per datum: the series are what differs by name and dimensions.
        var metrics = (await new CloudWatchReader(_aws).ListAsync(ns))
            .DistinctBy(m => m.Name + "|" + string.Join(",", m.Dimensions.OrderBy(d => d.Key, StringComparer.Ordinal).Select(d => d.Key + "=" + d.Value))).ToList();
        Assert.Equal(10, metrics.Count);
        Assert.All(metrics, m => Assert.Equal(new[] { "ClusterName", "ServiceName" }, m.Dimensions.Keys.OrderBy(k => k, StringComparer.Ordinal)));
        foreach (string service in new[] { "workers", "etl" })
            foreach (string metric in new[] { "LateFlowRuns", "RunningFlowRuns", "EcsServiceDesiredTasks" })
                Assert.Single(metrics, m => m.Name == metric && m.Dimensions["ServiceName"] == service);
        // The two samples of each series: two points in the same minute, one series.
        List<Point> running = await new CloudWatchReader(_aws).StatisticsAsync(ns, "RunningFlowRuns", 60, ("ClusterName", Cluster), ("ServiceName", "workers"));
        Assert.Equal(2, running.Sum(p => p.SampleCount));
        Assert.All(running, p => Assert.Equal(1, p.Maximum));
    }

    [Fact]
    public async Task Per_queue_series_come_on_top_and_a_queue_two_bindings_share_is_published_once()
    {
        await CreateServicesAsync(("workers", 2), ("etl", 1));
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        string ns = Scenario.UniqueName("Bindings");
        PublisherInstallSpec spec = Spec(prefect.ApiUrl, ns, new[] { Bind("workers", Scenario.Pool), Bind("etl", Scenario.Pool, "etl") });
        spec.PerQueueSeries = true;
        spec.Validate();
        await StoreBindingsAsync(spec);

        JsonObject summary;
        using (new ConsoleCapture()) summary = Setup.Invoke(Handler(spec));

        var cloudWatch = new CloudWatchReader(_aws);
        var metrics = await cloudWatch.ListAsync(ns);
        // Binding series: 2 x (Late + desired + InFlight + UnprotectedInFlight); per queue: default and etl once; per
        // queue and task: workers 2, etl 1.
        Assert.Equal(8 + 2 + 3, metrics.Count);
        Assert.Equal(13, (int)summary["published"]!);
        Assert.Equal(1, await cloudWatch.SingleValueAsync(ns, "LateFlowRuns", ("WorkPool", Scenario.Pool), ("WorkQueue", "etl")));
        Assert.Equal(3, await cloudWatch.SingleValueAsync(ns, "LateFlowRuns", ("WorkPool", Scenario.Pool), ("WorkQueue", "default")));
        Assert.Equal(1.5, await cloudWatch.SingleValueAsync(ns, "LateFlowRunsPerTask", ("ClusterName", Cluster), ("ServiceName", "workers"), ("WorkPool", Scenario.Pool), ("WorkQueue", "default")));
        Assert.Equal(1, await cloudWatch.SingleValueAsync(ns, "LateFlowRunsPerTask", ("ClusterName", Cluster), ("ServiceName", "etl"), ("WorkPool", Scenario.Pool), ("WorkQueue", "etl")));
        Assert.Equal(4, await cloudWatch.SingleValueAsync(ns, "LateFlowRuns", ("ClusterName", Cluster), ("ServiceName", "workers")));
    }

    [Fact]
    public async Task A_hundred_bindings_are_stored_read_back_and_published_with_a_small_environment()
    {
        string[] services = Enumerable.Range(0, 100).Select(i => "prefect-worker-service-" + i.ToString("000")).ToArray();
        await CreateServicesAsync(services.Select((s, i) => (s, i % 3)).ToArray());
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        using var proxy = new RecordingProxy(_moto.Url);
        string ns = Scenario.UniqueName("Bindings");
        // Every other service serves one queue of the pool; the rest the pool and the other pool's queue by name.
        List<ServiceBinding> bindings = services.Select((s, i) => i % 2 == 0
            ? Bind(s, Scenario.Pool, "etl")
            : new ServiceBinding(Cluster, s, BindingScope.Of(new[] { new BindingScope.PoolPart(Scenario.Pool, Array.Empty<string>()), new BindingScope.PoolPart("other", new[] { "default" }) }, null))).ToList();
        PublisherInstallSpec spec = Spec(prefect.ApiUrl, ns, bindings);

        Dictionary<string, string> environment = spec.Configuration.ToEnvironment();
        int size = environment.Sum(v => v.Key.Length + v.Value.Length);
        Assert.True(size < 1024, "the environment is " + size + " bytes of Lambda's 4 KB for 100 bindings");

        Assert.Equal(100, (await StoreBindingsAsync(spec)).Count);
        var installer = new PublisherInstaller(_aws);
        PublisherState state = await installer.ReadAsync(spec.Name, false, NullEngineLog.Instance, default, spec.Configuration.Bindings);
        Assert.Equal(bindings.OrderBy(b => b.ResourceId, StringComparer.Ordinal), state.StoredBindings);
        Assert.All(state.BindingParameters, p => Assert.True(p.IsManaged));
        PublisherConfiguration read = PublisherConfiguration.FromEnvironment(name => environment.TryGetValue(name, out string? value) ? value : null);
        Assert.Equal(bindings.OrderBy(b => b.ResourceId, StringComparer.Ordinal), await PublisherBindings.LoadAsync(_aws, read, NullEngineLog.Instance, default));
        // Stored as asked: a second plan has nothing to change in them.
        Assert.Empty(installer.PlanInstall(spec, state).Where(c => c.Target.StartsWith(spec.Names.BindingsPath + "/", StringComparison.Ordinal)));

        Dictionary<string, string> handlerEnvironment = new(environment);
        foreach (var variable in _moto.LambdaEnvironment(proxy.Url)) handlerEnvironment[variable.Key] = variable.Value;
        var function = new Function(name => handlerEnvironment.TryGetValue(name, out string? value) ? value : null) { PrefectHttpOptions = Scenario.Quick };
        JsonObject summary;
        using (new ConsoleCapture()) summary = Setup.Invoke(function);
        Assert.Equal(400, (int)summary["published"]!); // Late, desired tasks, InFlight, UnprotectedInFlight
        Assert.Equal(10, proxy.Calls("DescribeServices").Count()); // ten services a call
        Assert.InRange(proxy.Calls("GetParametersByPath").Count(), 10, 11); // ten parameters a page (moto ends on an empty one)

        var cloudWatch = new CloudWatchReader(_aws);
        Assert.Equal(1, await cloudWatch.SingleValueAsync(ns, "LateFlowRuns", ("ClusterName", Cluster), ("ServiceName", services[0])));
        Assert.Equal(4 + 5, await cloudWatch.SingleValueAsync(ns, "LateFlowRuns", ("ClusterName", Cluster), ("ServiceName", services[1])));
        Assert.Equal(2, await cloudWatch.SingleValueAsync(ns, "EcsServiceDesiredTasks", ("ClusterName", Cluster), ("ServiceName", services[2])));
    }

    [Fact]
    public async Task Bindings_changed_behind_the_installers_back_publish_nothing_and_say_so()
    {
        await CreateServicesAsync(("workers", 1));
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        string ns = Scenario.UniqueName("Bindings");
        PublisherInstallSpec spec = Spec(prefect.ApiUrl, ns, new[] { Bind("workers", Scenario.Pool) });
        await StoreBindingsAsync(spec);
        // A binding written by hand in the module's form: not in the set Install stamped.
        await _aws.PutStringParameterAsync(spec.Names.BindingsPath + "/prod/etl", PublisherBindings.ValueOf(Bind("etl", Scenario.Pool)), null, new Dictionary<string, string>(), false, NullEngineLog.Instance, default);
        // And something else under the path, which is not a binding at all: ignored.
        await _aws.PutStringParameterAsync(spec.Names.BindingsPath + "/notes", "kept by hand", null, new Dictionary<string, string>(), false, NullEngineLog.Instance, default);

        using var console = new ConsoleCapture();
        PublisherFailedException thrown = Assert.Throws<PublisherFailedException>(() => Setup.Invoke(Handler(spec)));
        Assert.Equal("configuration", thrown.Source);
        Assert.Contains("not the ones Install-PrefectBacklogPublisher wrote", thrown.Message);
        Assert.Empty(await new CloudWatchReader(_aws).ListAsync(ns));

        await _aws.DeleteParameterAsync(spec.Names.BindingsPath + "/prod/etl", NullEngineLog.Instance, default);
        Assert.Equal(4, (int)Setup.Invoke(Handler(spec))["published"]!);
    }

    [Fact]
    public async Task Each_binding_publishes_in_flight_and_unprotected_in_flight_beside_its_backlog()
    {
        await CreateServicesAsync(("workers", 2), ("etl", 1));
        // Beside the scenario: a Pending and a Cancelling run of etl, a Scheduled one due within the cycle (in flight),
        // and one due in 10 minutes (not).
        EmulatorSeed seed = Scenario.Seed();
        seed.Runs.Add(new SeedRun { Pool = Scenario.Pool, Queue = "etl", StateName = "Pending", StateType = "PENDING", ScheduledOffsetSeconds = -30 });
        seed.Runs.Add(new SeedRun { Pool = Scenario.Pool, Queue = "etl", StateName = "Cancelling", StateType = "CANCELLING", ScheduledOffsetSeconds = -300 });
        seed.Runs.Add(new SeedRun { Pool = Scenario.Pool, Queue = "default", StateName = "Scheduled", ScheduledOffsetSeconds = 30 });
        seed.Runs.Add(new SeedRun { Pool = Scenario.Pool, Queue = "default", StateName = "Scheduled", ScheduledOffsetSeconds = 600 });
        await using PrefectEmulatorServer prefect = await PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3 }, seed);
        string ns = Scenario.UniqueName("Guard");
        PublisherInstallSpec spec = Spec(prefect.ApiUrl, ns, new[] { Bind("workers", Scenario.Pool), Bind("etl", Scenario.Pool, "etl") });
        await StoreBindingsAsync(spec);
        using (new ConsoleCapture()) Setup.Invoke(Handler(spec));

        var cloudWatch = new CloudWatchReader(_aws);
        // workers: etl's Running, Pending and Cancelling runs and default's run due in 30 s.
        Assert.Equal(4, await cloudWatch.SingleValueAsync(ns, "InFlightFlowRuns", ("ClusterName", Cluster), ("ServiceName", "workers")));
        Assert.Equal(4, await cloudWatch.SingleValueAsync(ns, BindingSeries.UnprotectedInFlightMetricName, ("ClusterName", Cluster), ("ServiceName", "workers")));
        Assert.Equal(3, await cloudWatch.SingleValueAsync(ns, "InFlightFlowRuns", ("ClusterName", Cluster), ("ServiceName", "etl")));
        Assert.Equal(3, await cloudWatch.SingleValueAsync(ns, BindingSeries.UnprotectedInFlightMetricName, ("ClusterName", Cluster), ("ServiceName", "etl")));
        Assert.Equal(4, await cloudWatch.SingleValueAsync(ns, "LateFlowRuns", ("ClusterName", Cluster), ("ServiceName", "workers")));
    }

    [Fact]
    public async Task A_binding_whose_in_flight_count_fails_publishes_nothing()
    {
        await CreateServicesAsync(("workers", 2));
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        // Only the InFlight count asks for CANCELLING runs: it fails, the backlog count does not.
        prefect.AddFault(new FaultRule { PathContains = "flow_runs", BodyContains = "CANCELLING", Kind = FaultKind.InternalError, Count = -1 });
        string ns = Scenario.UniqueName("Guard");
        PublisherInstallSpec spec = Spec(prefect.ApiUrl, ns, new[] { Bind("workers", Scenario.Pool) });
        await StoreBindingsAsync(spec);

        using (new ConsoleCapture())
        {
            PublisherFailedException thrown = Assert.Throws<PublisherFailedException>(() => Setup.Invoke(Handler(spec)));
            Assert.Contains("Published 0 of 1 bindings", thrown.Message);
        }
        Assert.Contains(prefect.Requests, r => r.Status == 500 && r.Body != null && r.Body.Contains("CANCELLING", StringComparison.Ordinal));
        Assert.Contains(prefect.Requests, r => r.Status == 200 && r.Body != null && r.Body.Contains("Late", StringComparison.Ordinal));
        // Not even the backlog that was read: the guard would otherwise see a backlog without its InFlight.
        Assert.Empty(await new CloudWatchReader(_aws).ListAsync(ns));

        prefect.ClearFaults();
        using (new ConsoleCapture()) Assert.Equal(4, (int)Setup.Invoke(Handler(spec))["published"]!);
    }
}
