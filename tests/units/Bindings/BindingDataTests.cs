using PrefectScaling.Backlog;
using PrefectScaling.Metrics;

namespace PrefectScaling.Bindings.Tests;

/// <summary>What a binding publishes: one datum per measure and moment on the binding's backlog series, and the
/// desired task count; nothing at all when a count could not be published as measured.</summary>
public sealed class BindingDataTests
{
    private static readonly DateTime Now = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Read = Now.AddSeconds(-3);

    private static BacklogSample Count(string? pool, string queue, BacklogMeasure measure, double count, DateTime? at = null) =>
        new() { WorkPool = pool, WorkQueue = queue, Measure = measure, Count = count, Timestamp = at ?? Read };

    [Fact]
    public void Counts_of_one_measure_and_moment_are_added_into_one_datum_per_measure_beside_the_desired_tasks()
    {
        List<BacklogMetricDatum> data = BindingData.Build("prod", "agent", new[]
        {
            Count("k8s", "default", BacklogMeasure.Late, 2), Count("k8s", "etl", BacklogMeasure.Late, 3), Count("ecs", "default", BacklogMeasure.Late, 0),
            Count("k8s", "default", BacklogMeasure.Due, 1), Count("k8s", "etl", BacklogMeasure.Due, 4),
        }, desiredTasks: 3, new BacklogMetricOptions { StorageResolution = 1 }, Now);

        Assert.Equal(new[] { "LateFlowRuns=5", "DueFlowRuns=5", "EcsServiceDesiredTasks=3" }, data.Select(d => d.MetricName + "=" + d.Value));
        Assert.All(data, d => Assert.Equal("ClusterName=prod,ServiceName=agent", d.DimensionText));
        Assert.All(data, d => Assert.Equal("Prefect", d.Namespace));
        Assert.All(data, d => Assert.Equal(1, d.StorageResolution));
        Assert.Equal(new[] { Read, Read, Now }, data.Select(d => d.Timestamp));
    }

    [Fact]
    public void Totals_of_two_readings_stay_two_data_and_a_count_without_a_moment_is_now()
    {
        List<BacklogMetricDatum> data = BindingData.Build(new ServiceBinding("prod", "agent", BindingScope.From(new[] { "k8s" }, null)), new[]
        {
            new PrefectBacklogTotal { Measure = BacklogMeasure.Late, Count = 4, Timestamp = Read },
            new PrefectBacklogTotal { Measure = BacklogMeasure.Late, Count = 6, Timestamp = Read.AddSeconds(-60) },
            new PrefectBacklogTotal { Measure = BacklogMeasure.Running, Count = 1 },
        }, 0, new BacklogMetricOptions { MetricName = "Backlog", Namespace = "Team/Prefect" }, Now);
        Assert.Equal(new[] { "Backlog=4", "Backlog=6", "Backlog=1", "EcsServiceDesiredTasks=0" }, data.Select(d => d.MetricName + "=" + d.Value));
        Assert.Equal(Now, data[2].Timestamp);
        Assert.All(data, d => Assert.Equal("Team/Prefect", d.Namespace));
    }

    [Theory]
    [InlineData(-1.0, "negative")]
    [InlineData(double.NaN, "finite")]
    [InlineData(1e300, "outside what CloudWatch accepts")]
    public void A_count_CloudWatch_would_refuse_fails_the_whole_binding(double bad, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => BindingData.Build("prod", "agent", new[] { Count("k8s", "default", BacklogMeasure.Late, 2), Count("k8s", "etl", BacklogMeasure.Late, bad) }, 1, new BacklogMetricOptions(), Now));
        Assert.Contains(message, error.Message);
        Assert.Contains("k8s/etl", error.Message);
        Assert.Contains("14 days", Assert.Throws<ArgumentException>(() => BindingData.Build("prod", "agent", new[] { Count("k8s", "default", BacklogMeasure.Late, 2, Now.AddDays(-20)) }, 1, new BacklogMetricOptions(), Now)).Message);
        // A sum of counts each in range can leave it.
        Assert.Contains("total Late backlog", Assert.Throws<ArgumentException>(() => BindingData.Build("prod", "agent", new[] { Count(null, "a", BacklogMeasure.Late, 1e108), Count(null, "b", BacklogMeasure.Late, 1e108) }, 1, new BacklogMetricOptions(), Now)).Message);
    }
}
