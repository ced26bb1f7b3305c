using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Metrics;
using CW = PrefectScaling.Aws.AwsOperations.CloudWatch;

namespace PrefectScaling.Aws.Tests;

/// <summary>Against moto: whether a binding's series has data is asked of CloudWatch exactly. ListMetrics also
/// answers series with more dimensions than asked, as AWS does, so a per-queue series of the service must not
/// pass for the binding's.</summary>
[Collection(MotoCollection.Name)]
public sealed class BindingSeriesTests
{
    private readonly MotoFixture _moto;
    private readonly RecordingLog _log = new();

    public BindingSeriesTests(MotoFixture moto) { _moto = moto; }

    [Fact]
    public async Task A_series_with_more_dimensions_does_not_count_as_the_binding_s()
    {
        using AwsContext aws = _moto.Context();
        var options = new BacklogMetricOptions { Namespace = "Prefect/Series" + Guid.NewGuid().ToString("N")[..6] };
        MetricSeries binding = BindingSeries.Backlog(options, "prod", "agent", BacklogMeasure.Late);
        var publisher = new MetricPublisher(aws);

        // A per-queue series of the service (the first release's per-task shape): the binding's dimensions and more.
        var perQueue = new BacklogMetricDatum
        {
            Namespace = options.Namespace, MetricName = binding.MetricName, Value = 3, Timestamp = DateTime.UtcNow, StorageResolution = 60,
            Dimensions = binding.Dimensions.Concat(new[] { new KeyValuePair<string, string>("WorkPool", "k8s"), new KeyValuePair<string, string>("WorkQueue", "default") }).ToList(),
        };
        await publisher.PublishAsync(new[] { perQueue }, _log, default);
        JsonNode listed = (await aws.InvokeAsync(CW.ListMetrics, new JsonObject
        {
            ["Namespace"] = options.Namespace, ["MetricName"] = binding.MetricName,
            ["Dimensions"] = new JsonArray(binding.Dimensions.Select(d => (JsonNode)new JsonObject { ["Name"] = d.Key, ["Value"] = d.Value }).ToArray()),
        }, _log, default))!;
        Assert.Single(listed["Metrics"]!.AsArray()); // the emulator answers the superset, as CloudWatch does
        Assert.False(await publisher.IsPublishedAsync(binding.Namespace, binding.MetricName, binding.Dimensions, _log, default));

        // What a binding publishes is its series exactly, however its dimensions are ordered when asked.
        var total = new PrefectBacklogTotal { Measure = BacklogMeasure.Late, Count = 3, Timestamp = DateTime.UtcNow };
        await publisher.PublishAsync(BindingData.Build(new ServiceBinding("prod", "agent", BindingScope.From(new[] { "k8s" }, null)), new[] { total }, 1, options, DateTime.UtcNow), _log, default);
        Assert.True(await publisher.IsPublishedAsync(binding.Namespace, binding.MetricName, binding.Dimensions.Reverse().ToList(), _log, default));
        MetricSeries tasks = BindingSeries.DesiredTasks(options, "prod", "agent");
        Assert.True(await publisher.IsPublishedAsync(tasks.Namespace, tasks.MetricName, tasks.Dimensions, _log, default));
        Assert.False(await publisher.IsPublishedAsync(tasks.Namespace, tasks.MetricName, BindingSeries.Dimensions("prod", "agent-gpu"), _log, default));
    }
}
