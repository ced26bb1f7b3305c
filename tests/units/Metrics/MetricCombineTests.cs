using PrefectScaling.Backlog;
using PrefectScaling.Metrics;
using Xunit;

namespace PrefectScaling.Metrics.Tests;

public sealed class MetricCombineTests
{
    private static readonly DateTime Now = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private static BacklogMetricDatum Datum(string? pool, string queue, double count, BacklogMetricOptions? options = null) =>
        BacklogMetricBuilder.Build(new BacklogSample { WorkPool = pool, WorkQueue = queue, Count = count, Timestamp = Now }, options ?? new BacklogMetricOptions(), Now);

    [Fact]
    public void NamesThatLookLikeDimensionsStayTwoSeries()
    {
        // Joined as text both are "WorkPool=a,WorkQueue=b,WorkQueue=c"; CloudWatch sees two different dimension sets.
        var first = Datum("a,WorkQueue=b", "c", 3);
        var second = Datum("a", "b,WorkQueue=c", 5);
        Assert.Equal(first.DimensionText, second.DimensionText);

        var combined = BacklogMetricBuilder.Combine(new[] { first, second });
        Assert.Equal(2, combined.Count);
        Assert.Equal(3, combined.Single(d => d.Dimensions[0].Value == "a,WorkQueue=b").Value);
        Assert.Equal(5, combined.Single(d => d.Dimensions[0].Value == "a").Value);
    }

    [Fact]
    public void TheSameQueueInTwoPoolsIsAddedWhenOnlyTheQueueIsKept()
    {
        var queueOnly = new BacklogMetricOptions { Dimensions = BacklogDimension.WorkQueue };
        var combined = BacklogMetricBuilder.Combine(new[] { Datum("k8s", "default", 2, queueOnly), Datum("ecs", "default", 1, queueOnly), Datum("ecs", "other", 4, queueOnly) });
        Assert.Equal(2, combined.Count);
        Assert.Equal(3, combined.Single(d => d.Dimensions.Single().Value == "default").Value);
    }

    [Fact]
    public void DimensionOrderDoesNotMakeANewSeriesButCaseDoes()
    {
        var forward = new BacklogMetricDatum { Namespace = "Prefect", MetricName = "LateFlowRuns", Timestamp = Now, Value = 1,
            Dimensions = new[] { new KeyValuePair<string, string>("WorkPool", "p"), new KeyValuePair<string, string>("WorkQueue", "q") } };
        var reversed = new BacklogMetricDatum { Namespace = "Prefect", MetricName = "LateFlowRuns", Timestamp = Now, Value = 2,
            Dimensions = new[] { new KeyValuePair<string, string>("WorkQueue", "q"), new KeyValuePair<string, string>("WorkPool", "p") } };
        var otherCase = new BacklogMetricDatum { Namespace = "Prefect", MetricName = "LateFlowRuns", Timestamp = Now, Value = 4,
            Dimensions = new[] { new KeyValuePair<string, string>("WorkPool", "P"), new KeyValuePair<string, string>("WorkQueue", "q") } };
        var combined = BacklogMetricBuilder.Combine(new[] { forward, reversed, otherCase });
        Assert.Equal(new[] { 3.0, 4.0 }, combined.Select(d => d.Value));
    }
}
