using PrefectScaling.Backlog;
using PrefectScaling.Metrics;

namespace PrefectScaling.Publisher.Tests;

/// <summary>What the installer writes into the function's environment is what the function reads back.</summary>
public sealed class PublisherConfigurationTests
{
    private static PublisherConfiguration RoundTrip(PublisherConfiguration written)
    {
        Dictionary<string, string> environment = written.ToEnvironment();
        return PublisherConfiguration.FromEnvironment(name => environment.TryGetValue(name, out string? value) ? value : null);
    }

    [Fact]
    public void Every_setting_and_scope_comes_back()
    {
        var written = new PublisherConfiguration
        {
            ApiUrl = "https://prefect.example.com/api",
            SecretKind = PublisherSecretKind.AuthString,
            SecretParameter = "/prefectscaling/pub/prefect-secret",
            Scopes = new[]
            {
                new ScopeSelector("pool-a", "etl"),
                new ScopeSelector(null, "report-*"),        // a wildcard, any pool
                new ScopeSelector("gpu", null),             // a whole pool
                new ScopeSelector("pool-b", "exact`*name"), // an escaped *: one exact name
            },
            Measures = new[] { BacklogMeasure.Late, BacklogMeasure.Pending },
            Metric = new BacklogMetricOptions { Namespace = "Team/Prefect", MetricName = "Backlog", Dimensions = BacklogDimension.WorkQueue, StorageResolution = 1 },
            SampleIntervalSeconds = 15,
            Cluster = "prod",
            Service = "agent",
            QueueListingCacheSeconds = 45,
        };
        PublisherConfiguration read = RoundTrip(written);

        Assert.Equal(written.Scopes, read.Scopes);
        Assert.Equal(new[] { true, false, true, true }, read.Scopes.Select(s => s.IsExplicit));
        Assert.Equal("exact*name", read.Scopes[3].Queue!.Exact);
        Assert.Equal(written.Measures, read.Measures);
        Assert.Equal((written.ApiUrl, written.SecretKind, written.SecretParameter), (read.ApiUrl, read.SecretKind, read.SecretParameter));
        Assert.Equal((written.Metric.Namespace, written.Metric.MetricName, written.Metric.Dimensions, written.Metric.StorageResolution),
            (read.Metric.Namespace, read.Metric.MetricName, read.Metric.Dimensions, read.Metric.StorageResolution));
        Assert.Equal((15, "prod", "agent", 45), (read.SampleIntervalSeconds, read.Cluster, read.Service, read.QueueListingCacheSeconds));
        Assert.Equal(written.ToEnvironment(), read.ToEnvironment());
    }

    [Fact]
    public void The_defaults_come_back_and_no_scope_means_every_queue()
    {
        var written = new PublisherConfiguration { ApiUrl = "http://prefect.internal:4200/api" };
        PublisherConfiguration read = RoundTrip(written);
        Assert.Empty(read.Scopes);
        Assert.Equal(new[] { BacklogMeasure.Late }, read.Measures);
        Assert.Null(read.SecretParameter);
        Assert.Equal(PublisherSecretKind.None, read.SecretKind);
        Assert.Null(read.Metric.MetricName);
        Assert.Equal(BacklogDimension.WorkQueue | BacklogDimension.WorkPool, read.Metric.Dimensions);
        Assert.Null(read.Cluster);
        Assert.Equal(written.ToEnvironment(), read.ToEnvironment());
    }
}
