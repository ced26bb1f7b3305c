using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Prefect;
using PrefectScaling.Scaling;
using PrefectScaling.TestSupport;
using PrefectScaling.Testing.PrefectEmulator;

namespace PrefectScaling.Publisher.Tests;

/// <summary>The capacity policy against moto and the Prefect emulator: Set -Capacity's documents, then publisher
/// cycles that hold each capacity binding's MinCapacity at its requirement, touching only targets whose capacity
/// policy the module made, and nothing when nothing changed.</summary>
[Collection(PublisherCollection.Name)]
public sealed class CapacityPublisherTests : IAsyncLifetime
{
    private const string Cluster = "prod";
    private readonly MotoServer _moto;
    private readonly AwsContext _aws;
    private readonly RecordingLog _log = new();

    public CapacityPublisherTests(MotoFixture moto)
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

    private static ServiceBinding Bind(string service, string pool) => new(Cluster, service, BindingScope.From(new[] { pool }, null));

    /// <summary>Pool "capacity": 3 Late, 2 Scheduled due in 100 s (Upcoming), 1 Running (InFlight) and 1 Scheduled in an
    /// hour (neither); pool "limited" (concurrency limit 2): 5 Late.</summary>
    private static EmulatorSeed Seed() => new()
    {
        Pools =
        {
            new SeedPool { Name = "capacity", Type = "ecs", Queues = { new SeedQueue { Name = "default" } } },
            new SeedPool { Name = "limited", Type = "ecs", ConcurrencyLimit = 2, Queues = { new SeedQueue { Name = "default" } } },
        },
        Runs =
        {
            new SeedRun { Pool = "capacity", Queue = "default", StateName = "Late", ScheduledOffsetSeconds = -600, Count = 3 },
            new SeedRun { Pool = "capacity", Queue = "default", StateName = "Scheduled", ScheduledOffsetSeconds = 100, Count = 2 },
            new SeedRun { Pool = "capacity", Queue = "default", StateName = "Running", StateType = "RUNNING", ScheduledOffsetSeconds = -60, Count = 1 },
            new SeedRun { Pool = "capacity", Queue = "default", StateName = "Scheduled", ScheduledOffsetSeconds = 3600, Count = 1 },
            new SeedRun { Pool = "limited", Queue = "default", StateName = "Late", ScheduledOffsetSeconds = -300, Count = 5 },
        },
    };

    private async Task CreateServicesAsync(params (string Name, int Desired)[] services)
    {
        await _aws.InvokeAsync(AwsOperations.Ecs.CreateCluster, new JsonObject { ["clusterName"] = Cluster }, _log, default);
        await _aws.InvokeAsync(AwsOperations.Ecs.RegisterTaskDefinition, JsonNode.Parse("""
            {"family":"worker","containerDefinitions":[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]}
            """)!.AsObject(), _log, default);
        foreach ((string name, int desired) in services)
            await _aws.InvokeAsync(AwsOperations.Ecs.CreateService, new JsonObject { ["cluster"] = Cluster, ["serviceName"] = name, ["taskDefinition"] = "worker", ["desiredCount"] = desired }, _log, default);
    }

    private static ScalingPolicySpec CapacitySpec(ServiceBinding binding, int runsPerTask, int min = 0, int max = 10) => new()
    {
        Cluster = binding.Cluster, Service = binding.Service, Scope = binding.Scope, MinCapacity = min, MaxCapacity = max,
        Kind = ScalingPolicyKind.Capacity, RunsPerTask = runsPerTask, ScaleInAfterPeriods = 1,
    };

    private async Task SetAsync(ScalingPolicySpec spec)
    {
        spec.Validate();
        var run = new EcsScalingRun(new EcsScalingPlanner(_aws), spec) { SettleDelay = TimeSpan.Zero };
        for (List<AwsChange> changes = await run.NextAsync(_log, default); changes.Count > 0; changes = await run.NextAsync(_log, default))
            foreach (AwsChange change in changes) await change.Apply(_log, default);
    }

    private async Task<JsonObject> TargetAsync(string service) =>
        (JsonObject)(await _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.DescribeScalableTargets, new JsonObject
        {
            ["ServiceNamespace"] = "ecs", ["ResourceIds"] = new JsonArray(ScalingNames.ResourceId(Cluster, service)), ["ScalableDimension"] = "ecs:service:DesiredCount",
        }, _log, default))!["ScalableTargets"]![0]!;

    private async Task<int> MinAsync(string service) => (int)(await TargetAsync(service))["MinCapacity"]!;

    private PublisherCycle Cycle(PrefectEmulatorServer prefect, string ns, IReadOnlyList<ServiceBinding> bindings, params BacklogMeasure[] measures)
    {
        var configuration = new PublisherConfiguration
        {
            ApiUrl = prefect.ApiUrl.AbsoluteUri,
            Bindings = bindings,
            Measures = measures.Length > 0 ? measures : new[] { BacklogMeasure.Late, BacklogMeasure.Due, BacklogMeasure.Upcoming, BacklogMeasure.InFlight },
            Metric = new Metrics.BacklogMetricOptions { Namespace = ns },
            // Bindings given here are used as they are; the path is only where Install would store them.
            BindingsPath = "/prefectscaling/" + ns + "/bindings",
        };
        configuration.Validate();
        return new PublisherCycle(configuration, PrefectConnection.For(new PrefectConnectionSettings(prefect.ApiUrl, null, null), Scenario.Quick), _aws);
    }

    [Fact]
    public async Task The_publisher_raises_the_minimum_to_the_requirement_once_and_only_for_the_module_s_capacity_policies()
    {
        await CreateServicesAsync(("cap", 0), ("limited", 0), ("foreign", 0), ("plain", 0));
        await using PrefectEmulatorServer prefect = await PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3 }, Seed());
        ServiceBinding cap = Bind("cap", "capacity"), limited = Bind("limited", "limited"), foreign = Bind("foreign", "capacity"), plain = Bind("plain", "capacity");
        await SetAsync(CapacitySpec(cap, runsPerTask: 2));
        await SetAsync(CapacitySpec(limited, runsPerTask: 1));
        // "foreign": a target and an alarm of the capacity alarm's exact name and settings, but not the module's (no
        // tags, no action on the service's policy); "plain": a target without any capacity policy.
        foreach (string service in new[] { "foreign", "plain" })
        {
            await _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.RegisterScalableTarget, new JsonObject
            {
                ["ServiceNamespace"] = "ecs", ["ResourceId"] = ScalingNames.ResourceId(Cluster, service), ["ScalableDimension"] = "ecs:service:DesiredCount", ["MinCapacity"] = 0, ["MaxCapacity"] = 10,
            }, _log, default);
        }
        await _aws.InvokeAsync(AwsOperations.CloudWatch.PutMetricAlarm, new JsonObject
        {
            ["AlarmName"] = CapacityPolicy.AlarmName(foreign), ["AlarmDescription"] = "Somebody's " + CapacityPolicy.Describe(new CapacitySettings(1, 0)),
            ["Namespace"] = "Other", ["MetricName"] = "M", ["Statistic"] = "Maximum", ["Period"] = 60, ["EvaluationPeriods"] = 1, ["Threshold"] = 1, ["ComparisonOperator"] = "GreaterThanThreshold",
        }, _log, default);
        string ns = Scenario.UniqueName("Capacity");
        PublisherCycle cycle = Cycle(prefect, ns, new[] { cap, limited, foreign, plain });

        // A test run without publishing changes nothing and says what it would do.
        PublisherCycleResult dry = await cycle.RunAsync(_log, default, publish: false);
        CapacityOutcome planned = Assert.Single(dry.Capacity, o => o.Binding.Equals(cap));
        Assert.Equal((0, 3, false), (planned.MinCapacityBefore, planned.MinCapacityAfter, planned.Applied));
        Assert.Equal(0, await MinAsync("cap"));

        PublisherCycleResult first = await cycle.RunOnceAsync(_log, default);
        Assert.Equal(new[] { cap.ResourceId, limited.ResourceId }, first.Capacity.Select(o => o.Binding.ResourceId));
        CapacityOutcome raised = first.Capacity[0];
        Assert.True(raised.Applied);
        // ceil((Due 3 + Upcoming 2 + InFlight 1) / 2) = 3.
        Assert.Equal((3.0, 2.0, 1.0, 3), (raised.Requirement!.Due, raised.Requirement.Upcoming, raised.Requirement.InFlight, raised.Requirement.RequiredTasks));
        Assert.Equal(3, await MinAsync("cap"));
        Assert.Equal(10, (int)(await TargetAsync("cap"))["MaxCapacity"]!);
        // The pool's limit of 2 caps its 5 due runs: 2 tasks.
        Assert.Equal((5, 2, 2), (first.Capacity[1].Requirement!.DemandTasks, first.Capacity[1].Requirement!.RunCap, first.Capacity[1].Requirement!.RequiredTasks));
        Assert.Equal(2, await MinAsync("limited"));
        Assert.Equal(0, await MinAsync("foreign"));
        Assert.Equal(0, await MinAsync("plain"));
        Assert.Equal(3, await new CloudWatchReader(_aws).SingleValueAsync(ns, BindingSeries.RequiredTasksMetricName, ("ClusterName", Cluster), ("ServiceName", "cap")));

        // Nothing changed in Prefect: the next cycle calls RegisterScalableTarget for nobody.
        PublisherCycleResult second = await cycle.RunOnceAsync(_log, default);
        Assert.All(second.Capacity, o => Assert.False(o.Applied));
        Assert.Equal(3, await MinAsync("cap"));

        // Set again keeps the minimum the publisher holds inside the range: it plans no change to the target.
        List<AwsChange> again = new EcsScalingPlanner(_aws).PlanSet(CapacitySpec(cap, runsPerTask: 2), await new EcsScalingPlanner(_aws).ReadAsync(Cluster, "cap", _log, default));
        Assert.Empty(again);
    }

    [Fact]
    public async Task While_a_run_is_in_flight_the_minimum_never_drops_below_the_desired_count()
    {
        await CreateServicesAsync(("busy", 6));
        await using PrefectEmulatorServer prefect = await PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3 }, Seed());
        ServiceBinding busy = Bind("busy", "capacity");
        await SetAsync(CapacitySpec(busy, runsPerTask: 2));
        PublisherCycleResult result = await Cycle(prefect, Scenario.UniqueName("Capacity"), new[] { busy }).RunOnceAsync(_log, default);
        CapacityOutcome outcome = Assert.Single(result.Capacity);
        // The requirement is 3, but one run is in flight and ECS would pick the tasks to stop: hold all 6.
        Assert.Equal(3, outcome.Requirement!.RequiredTasks);
        Assert.Equal(6, await MinAsync("busy"));
    }

    [Fact]
    public async Task A_publisher_that_does_not_count_upcoming_runs_never_looks_for_capacity_policies()
    {
        await CreateServicesAsync(("cap", 0));
        await using PrefectEmulatorServer prefect = await PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3 }, Seed());
        ServiceBinding cap = Bind("cap", "capacity");
        await SetAsync(CapacitySpec(cap, runsPerTask: 2));
        PublisherCycleResult result = await Cycle(prefect, Scenario.UniqueName("Capacity"), new[] { cap }, BacklogMeasure.Late).RunOnceAsync(_log, default);
        Assert.Empty(result.Capacity);
        Assert.Equal(0, await MinAsync("cap"));
    }

    [Fact]
    public async Task A_capacity_binding_without_its_measures_changes_nothing_and_fails_the_cycle_after_publishing()
    {
        await CreateServicesAsync(("cap", 0));
        await using PrefectEmulatorServer prefect = await PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3 }, Seed());
        ServiceBinding cap = Bind("cap", "capacity");
        await SetAsync(CapacitySpec(cap, runsPerTask: 2));
        string ns = Scenario.UniqueName("Capacity");
        PublisherCycle cycle = Cycle(prefect, ns, new[] { cap }, BacklogMeasure.Late, BacklogMeasure.Upcoming);
        InvalidOperationException thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => cycle.RunOnceAsync(_log, default));
        Assert.Contains("does not count Due", thrown.Message);
        Assert.Equal(0, await MinAsync("cap"));
        Assert.Equal(3, await new CloudWatchReader(_aws).SingleValueAsync(ns, "LateFlowRuns", ("ClusterName", Cluster), ("ServiceName", "cap")));
    }
}
