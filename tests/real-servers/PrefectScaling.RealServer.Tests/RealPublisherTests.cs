using System.Globalization;
using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Prefect;
using PrefectScaling.Publisher;
using PrefectScaling.TestSupport;
using Xunit.Abstractions;
using static PrefectScaling.Backlog.BacklogMeasure;

namespace PrefectScaling.RealServer.Tests;

/// <summary>The publisher's cycle for a pool binding against a real 3.8.3 server, publishing into moto: what CloudWatch
/// holds for the binding is the server's own count for the pool and measure, in exactly one series each.</summary>
[Collection(Prefect3Collection.Name)]
public sealed class Prefect3PublisherTests : RealServerTests, IAsyncLifetime
{
    private const string Cluster = "prod", Service = "workers";
    private MotoServer? _moto;

    public Prefect3PublisherTests(Prefect3Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    public async Task InitializeAsync() => _moto = await MotoServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_moto != null) await _moto.DisposeAsync();
    }

    /// <summary>The server's own /flow_runs/count for a pool and measure, with the measure as the README defines it.</summary>
    private async Task<long> ServerCountAsync(string pool, BacklogMeasure measure)
    {
        JsonObject runs = measure switch
        {
            Late => new JsonObject { ["state"] = new JsonObject { ["name"] = new JsonObject { ["any_"] = new JsonArray("Late") } } },
            Due => new JsonObject
            {
                ["state"] = new JsonObject
                {
                    ["type"] = new JsonObject { ["any_"] = new JsonArray("SCHEDULED") },
                    ["name"] = new JsonObject { ["not_any_"] = new JsonArray("AwaitingConcurrencySlot") },
                },
                ["next_scheduled_start_time"] = new JsonObject { ["before_"] = ScenarioSpec.Timestamp(DateTimeOffset.UtcNow) },
            },
            Pending => new JsonObject { ["state"] = new JsonObject { ["type"] = new JsonObject { ["any_"] = new JsonArray("PENDING") } } },
            Running => new JsonObject { ["state"] = new JsonObject { ["type"] = new JsonObject { ["any_"] = new JsonArray("RUNNING") } } },
            _ => throw new ArgumentOutOfRangeException(nameof(measure)),
        };
        using PrefectHttp http = Fixture.Http();
        return await http.CountAsync(new JsonObject { ["work_pools"] = new JsonObject { ["name"] = new JsonObject { ["any_"] = new JsonArray(pool) } }, ["flow_runs"] = runs });
    }

    [Fact]
    public async Task APoolBindingPublishesTheServersOwnCountForThePoolAndEachMeasure()
    {
        ScenarioSpec spec = await BacklogAsync();
        string pool = spec.Pools[0].Name;
        using AwsContext aws = _moto!.Context();
        await aws.InvokeAsync(AwsOperations.Ecs.CreateCluster, new JsonObject { ["clusterName"] = Cluster }, NullEngineLog.Instance, default);
        await aws.InvokeAsync(AwsOperations.Ecs.RegisterTaskDefinition, JsonNode.Parse("""
            {"family":"worker","containerDefinitions":[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]}
            """)!.AsObject(), NullEngineLog.Instance, default);
        await aws.InvokeAsync(AwsOperations.Ecs.CreateService, new JsonObject { ["cluster"] = Cluster, ["serviceName"] = Service, ["taskDefinition"] = "worker", ["desiredCount"] = 3 }, NullEngineLog.Instance, default);

        string ns = "RealPublisher" + Guid.NewGuid().ToString("N")[..8];
        var configuration = new PublisherConfiguration
        {
            ApiUrl = Fixture.Server.ApiUrl.AbsoluteUri,
            Bindings = new[] { new ServiceBinding(Cluster, Service, BindingScope.From(new[] { pool }, null)) },
            BindingsPath = "/prefectscaling/real/bindings",
            Measures = AllMeasures,
            Metric = new Metrics.BacklogMetricOptions { Namespace = ns },
        };
        configuration.Validate();
        var settings = new PrefectConnectionSettings(Fixture.Server.ApiUrl, null, Fixture.Server.AuthString);
        PublisherCycleResult result = await new PublisherCycle(configuration, PrefectConnection.For(settings), aws).RunOnceAsync(new TestLog(), default);
        Output.WriteLine(Fixture.Server + ": " + result.PrefectRequests + " Prefect request(s), " + result.Published + " data for pool " + pool);
        // Each measure, the desired tasks, and the busy guard's two inputs (InFlight, always counted, and the part of
        // it no protection covers: all of it without task protection).
        Assert.Equal(AllMeasures.Length + 3, result.Published);
        double Value(string metric) => result.Data.Single(d => d.MetricName == metric).Value;
        Assert.Equal(Value("InFlightFlowRuns"), Value(BindingSeries.UnprotectedInFlightMetricName));
        Assert.True(Value("PendingFlowRuns") + Value("RunningFlowRuns") <= Value("InFlightFlowRuns"), "InFlight holds every Pending and Running run");

        DateTime now = DateTime.UtcNow;
        JsonNode listed = (await aws.InvokeAsync(AwsOperations.CloudWatch.ListMetrics, new JsonObject { ["Namespace"] = ns }, NullEngineLog.Instance, default))!;
        var series = listed["Metrics"]!.AsArray().Select(m => (string)m!["MetricName"]! + " " + string.Join(",",
            m["Dimensions"]!.AsArray().Select(d => (string)d!["Name"]! + "=" + (string)d["Value"]!).OrderBy(d => d, StringComparer.Ordinal))).ToList();
        foreach (BacklogMeasure measure in AllMeasures)
        {
            string metric = Metrics.BacklogMetricOptions.DefaultMetricName(measure);
            Assert.Single(series, s => s == metric + " ClusterName=" + Cluster + ",ServiceName=" + Service);
            JsonNode stats = (await aws.InvokeAsync(AwsOperations.CloudWatch.GetMetricStatistics, new JsonObject
            {
                ["Namespace"] = ns,
                ["MetricName"] = metric,
                ["Dimensions"] = new JsonArray(new JsonObject { ["Name"] = "ClusterName", ["Value"] = Cluster }, new JsonObject { ["Name"] = "ServiceName", ["Value"] = Service }),
                ["StartTime"] = (now.AddMinutes(-10)).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["EndTime"] = (now.AddMinutes(10)).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["Period"] = 60,
                ["Statistics"] = new JsonArray("Maximum"),
            }, NullEngineLog.Instance, default))!;
            double published = double.Parse((string)stats["Datapoints"]!.AsArray().Single()!["Maximum"]!, CultureInfo.InvariantCulture);
            long counted = await ServerCountAsync(pool, measure);
            int seeded = spec.Queues().Where(q => q.Pool == pool).Sum(q => spec.Expected(q.Pool, q.Queue, measure));
            Output.WriteLine(measure + ": published " + published + ", the server counts " + counted + ", seeded " + seeded);
            Assert.Equal(counted, (long)published);
            Assert.Equal(seeded, (int)published);
        }
        Assert.Single(series, s => s == "EcsServiceDesiredTasks ClusterName=" + Cluster + ",ServiceName=" + Service);
        Assert.Single(series, s => s == "InFlightFlowRuns" + " ClusterName=" + Cluster + ",ServiceName=" + Service);
        Assert.Single(series, s => s == BindingSeries.UnprotectedInFlightMetricName + " ClusterName=" + Cluster + ",ServiceName=" + Service);
        Assert.Equal(AllMeasures.Length + 3, series.Distinct().Count());
    }
}
