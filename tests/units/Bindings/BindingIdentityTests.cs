using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Metrics;
using PrefectScaling.Scaling;

namespace PrefectScaling.Bindings.Tests;

/// <summary>The identity of a binding's series, end to end: for every policy kind and every option, each metric that
/// the policies and their alarms read is exactly a series that the publisher writes for that binding. The publisher
/// side is BindingData.Build, which Publish-PrefectBacklogMetric -Cluster -Service and the scheduled publisher call;
/// the policy side is the request documents Set sends, walked here on their own (not with the engine's walker).</summary>
public sealed class BindingIdentityTests
{
    private static readonly DateTime Now = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    /// <summary>Every scope form, with and without -WorkPool.</summary>
    private static readonly BindingScope[] Scopes =
    {
        BindingScope.From(new[] { "k8s" }, null),
        BindingScope.From(new[] { "k8s" }, new[] { "default", "etl" }),
        BindingScope.From(null, new[] { "default", "etl" }),
        BindingScope.From(new[] { "team a+b #2 ü;=" }, new[] { "etl \"quoted\" #1 ü`?" }),
    };

    public static IEnumerable<object?[]> Options()
    {
        // The capacity kind reads the desired tasks and the requirement, not a backlog: CapacityPolicyDocumentTests.
        foreach (ScalingPolicyKind kind in Enum.GetValues<ScalingPolicyKind>().Where(k => k != ScalingPolicyKind.Capacity))
            foreach (BacklogMeasure measure in Enum.GetValues<BacklogMeasure>())
                foreach (string? metricName in new[] { null, "Backlog" })
                    foreach (string ns in new[] { "Prefect", "Team/Prefect" })
                        foreach (int resolution in new[] { 60, 1 })
                            foreach (int? period in resolution == 1 ? new int?[] { null, 10, 30, 60 } : new int?[] { null, 60, 300 })
                                yield return new object?[] { kind, measure, metricName, ns, resolution, period };
    }

    private static ScalingPolicySpec Spec(ScalingPolicyKind kind, BacklogMeasure measure, string? metricName, string ns, int resolution, int? period, BindingScope scope) => new()
    {
        Cluster = "prod", Service = "agent", Scope = scope, MinCapacity = 0, MaxCapacity = 5, Kind = kind, Measure = measure,
        AlarmPeriod = period, Metric = new BacklogMetricOptions { Namespace = ns, MetricName = metricName, StorageResolution = resolution },
    };

    /// <summary>Every object in the documents that names a metric (a metric spec, a metric-math input, an alarm).</summary>
    private static List<MetricSeries> MetricsIn(JsonNode? node)
    {
        var found = new List<MetricSeries>();
        void Walk(JsonNode? n)
        {
            switch (n)
            {
                case JsonObject o:
                    if (o["MetricName"] is JsonValue name && o["Namespace"] is JsonValue ns)
                    {
                        found.Add(new MetricSeries((string)ns!, (string)name!, (o["Dimensions"] as JsonArray ?? new JsonArray())
                            .Select(d => new KeyValuePair<string, string>((string)d!["Name"]!, (string)d["Value"]!)).ToList()));
                    }
                    foreach (KeyValuePair<string, JsonNode?> member in o) Walk(member.Value);
                    break;
                case JsonArray a:
                    foreach (JsonNode? item in a) Walk(item);
                    break;
            }
        }
        Walk(node);
        return found;
    }

    /// <summary>The periods the alarms evaluate at (each MetricStat's and each alarm's own).</summary>
    private static List<int> PeriodsIn(IEnumerable<DesiredPolicy> policies) =>
        policies.Where(p => p.Alarm != null)
            .SelectMany(p => new[] { p.Alarm!["Period"] }.Concat((p.Alarm["Metrics"] as JsonArray ?? new JsonArray()).Select(q => q?["MetricStat"]?["Period"])))
            .Where(v => v != null).Select(v => (int)v!).ToList();

    [Theory]
    [MemberData(nameof(Options))]
    public void Every_metric_the_policies_and_alarms_read_is_a_series_the_publisher_writes(ScalingPolicyKind kind, BacklogMeasure measure, string? metricName, string ns, int resolution, int? period)
    {
        foreach (BindingScope scope in Scopes)
        {
            ScalingPolicySpec spec = Spec(kind, measure, metricName, ns, resolution, period, scope);
            spec.Validate();
            List<DesiredPolicy> policies = ScalingPolicyDocuments.Policies(spec);
            List<MetricSeries> read = policies.SelectMany(p => MetricsIn(p.PutInput).Concat(MetricsIn(p.Alarm))).Distinct().ToList();

            // The publisher always counts InFlight beside the policy's measure (the busy guard reads it).
            var totals = new[] { measure, BacklogMeasure.InFlight }.Distinct()
                .Select(m => new PrefectBacklogTotal { Scope = scope.ToString(), ResourceId = spec.ResourceId, Measure = m, Count = 7, Timestamp = Now.AddSeconds(-2) });
            List<BacklogMetricDatum> written = BindingData.Build(spec.Binding, totals, desiredTasks: 2, spec.Metric, Now);
            List<MetricSeries> publishes = written.Select(d => new MetricSeries(d.Namespace, d.MetricName, d.Dimensions)).ToList();

            Assert.NotEmpty(read);
            Assert.All(read, series => Assert.Contains(series, publishes));
            // What the policy reads first is the backlog of its measure, under the options' names.
            Assert.Equal(new MetricSeries(ns, metricName ?? BacklogMetricOptions.DefaultMetricName(measure), new[]
            {
                new KeyValuePair<string, string>("ClusterName", "prod"), new KeyValuePair<string, string>("ServiceName", "agent"),
            }), read[0]);
            // The backlog, the desired tasks and the busy guard's InFlight and UnprotectedInFlight (InFlight once when
            // it is the policy's own measure under its own name).
            Assert.Equal(measure == BacklogMeasure.InFlight && metricName == null ? 3 : 4, read.Count);
            Assert.Contains(BindingSeries.UnprotectedInFlight(spec.Metric, spec.Binding.Cluster, spec.Binding.Service), read);
            // The engine's own list (what Set checks for data) is exactly these series.
            Assert.Equal(read, ScalingPolicyDocuments.SeriesRead(policies));
            // The data carry the resolution the alarms need: sub-minute periods only on high-resolution data.
            Assert.All(written, d => Assert.Equal(resolution, d.StorageResolution));
            Assert.All(PeriodsIn(policies), p => Assert.True(p >= 60 || resolution == 1, p + " s alarm on " + resolution + " s data"));
            if (period != null) Assert.All(PeriodsIn(policies), p => Assert.Equal(period.Value, p));
            Assert.Equal(7, written.Single(d => d.MetricName == read[0].MetricName).Value);
        }
    }

    [Fact]
    public void A_policy_set_with_or_without_WorkPool_reads_the_series_a_publisher_of_either_scope_writes()
    {
        var options = new BacklogMetricOptions();
        BindingScope withPool = BindingScope.From(new[] { "k8s" }, new[] { "default" }), withoutPool = BindingScope.From(null, new[] { "default" });
        // The capacity kind also reads RequiredTasks, which the publisher's CapacityApplier writes (CapacityRequirementTests).
        foreach (ScalingPolicyKind kind in Enum.GetValues<ScalingPolicyKind>().Where(k => k != ScalingPolicyKind.Capacity))
        {
            List<MetricSeries> a = ScalingPolicyDocuments.SeriesRead(ScalingPolicyDocuments.Policies(Spec(kind, BacklogMeasure.Late, null, "Prefect", 60, null, withPool)));
            List<MetricSeries> b = ScalingPolicyDocuments.SeriesRead(ScalingPolicyDocuments.Policies(Spec(kind, BacklogMeasure.Late, null, "Prefect", 60, null, withoutPool)));
            Assert.Equal(a, b);
            foreach (BindingScope publisherScope in new[] { withPool, withoutPool })
            {
                List<BacklogMetricDatum> written = BindingData.Build(new ServiceBinding("prod", "agent", publisherScope),
                    new[] { BacklogMeasure.Late, BacklogMeasure.InFlight }.Select(m => new PrefectBacklogTotal { Measure = m, Count = 1, Timestamp = Now }), 1, options, Now);
                Assert.All(a, s => Assert.Contains(s, written.Select(d => new MetricSeries(d.Namespace, d.MetricName, d.Dimensions))));
            }
        }
    }
}
