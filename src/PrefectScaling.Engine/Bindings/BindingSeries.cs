using System;
using System.Collections.Generic;
using System.Linq;
using PrefectScaling.Backlog;
using PrefectScaling.Metrics;

namespace PrefectScaling.Bindings
{
    /// <summary>One CloudWatch series: namespace, metric name and dimensions, as PutMetricData writes it and a
    /// policy or alarm reads it.</summary>
    public sealed class MetricSeries : IEquatable<MetricSeries>
    {
        public MetricSeries(string @namespace, string metricName, IReadOnlyList<KeyValuePair<string, string>> dimensions)
        {
            Namespace = @namespace;
            MetricName = metricName;
            Dimensions = dimensions;
        }

        public string Namespace { get; }
        public string MetricName { get; }

        /// <summary>In the order they are sent.</summary>
        public IReadOnlyList<KeyValuePair<string, string>> Dimensions { get; }

        public string DimensionText => string.Join(",", Dimensions.Select(d => d.Key + "=" + d.Value));

        public override string ToString() => Namespace + "/" + MetricName + " {" + DimensionText + "}";

        /// <summary>As CloudWatch tells series apart: namespace, name, and the set of dimension names and values.</summary>
        public bool Equals(MetricSeries? other) =>
            other != null && Namespace == other.Namespace && MetricName == other.MetricName &&
            Dimensions.Count == other.Dimensions.Count &&
            Dimensions.OrderBy(d => d.Key, StringComparer.Ordinal).SequenceEqual(other.Dimensions.OrderBy(d => d.Key, StringComparer.Ordinal));

        public override bool Equals(object? obj) => Equals(obj as MetricSeries);
        public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToString());
    }

    /// <summary>The one definition of a binding's metric identity. The publisher, Publish-PrefectBacklogMetric,
    /// Set-PrefectEcsScalingPolicy's policies and alarms, the dashboard and the status line all take their series
    /// from here. A binding's series carry only ClusterName and ServiceName: one series per service and measure,
    /// however many queues the scope has (ListMetrics with these dimensions matches no per-queue series, which also
    /// carry WorkPool/WorkQueue). A binding publishes its backlog per measure and its desired task count, nothing
    /// more: backlog per task is metric math over the two in the policy, not a series of its own.</summary>
    public static class BindingSeries
    {
        public const string ClusterDimension = "ClusterName";
        public const string ServiceDimension = "ServiceName";

        /// <summary>The service's desired task count, published beside the backlog so that alarms and metric math can
        /// tell "no task at all" from "one task" (AWS/ECS has no task counts).</summary>
        public const string DesiredTasksMetricName = BacklogMetricOptions.DesiredTasksMetricName;

        public static List<KeyValuePair<string, string>> Dimensions(string cluster, string service) => BacklogMetricOptions.ServiceDimensions(cluster, service);

        /// <summary>The binding's backlog of one measure (the measure's metric name, or -MetricName).</summary>
        public static MetricSeries Backlog(BacklogMetricOptions options, string cluster, string service, BacklogMeasure measure) =>
            new MetricSeries(options.Namespace, options.MetricNameFor(measure), Dimensions(cluster, service));

        public static MetricSeries DesiredTasks(BacklogMetricOptions options, string cluster, string service) =>
            new MetricSeries(options.Namespace, DesiredTasksMetricName, Dimensions(cluster, service));

        /// <summary>The busy guard's input: the binding's in-flight runs (the InFlight measure) that no task protection
        /// is known to cover. Without task protection it is the InFlight total itself; with it, the runs that could
        /// not be mapped to a task that is now protected. Scale-in that lets ECS pick the task to stop waits for 0.</summary>
        public const string UnprotectedInFlightMetricName = "UnprotectedInFlightFlowRuns";

        /// <summary>The binding's in-flight runs (the InFlight measure), always under its default name: -MetricName names
        /// the policy's backlog measure, and the busy guard reads this series beside it.</summary>
        public static MetricSeries InFlight(BacklogMetricOptions options, string cluster, string service) =>
            new MetricSeries(options.Namespace, BacklogMetricOptions.DefaultMetricName(BacklogMeasure.InFlight), Dimensions(cluster, service));

        public static MetricSeries UnprotectedInFlight(BacklogMetricOptions options, string cluster, string service) =>
            new MetricSeries(options.Namespace, UnprotectedInFlightMetricName, Dimensions(cluster, service));

        /// <summary>A capacity policy's requirement: the tasks the binding's runs need now and soon
        /// (<see cref="Capacity.CapacityRequirement"/>), which its scale-in alarm compares with the desired count.</summary>
        public const string RequiredTasksMetricName = "RequiredTasks";

        public static MetricSeries RequiredTasks(BacklogMetricOptions options, string cluster, string service) =>
            new MetricSeries(options.Namespace, RequiredTasksMetricName, Dimensions(cluster, service));

        public static MetricSeries Backlog(BacklogMetricOptions options, ServiceBinding binding, BacklogMeasure measure) => Backlog(options, binding.Cluster, binding.Service, measure);
        public static MetricSeries DesiredTasks(BacklogMetricOptions options, ServiceBinding binding) => DesiredTasks(options, binding.Cluster, binding.Service);

        /// <summary>A datum of a series.</summary>
        public static BacklogMetricDatum Datum(MetricSeries series, double value, DateTime timestampUtc, int storageResolution) => new BacklogMetricDatum
        {
            Namespace = series.Namespace,
            MetricName = series.MetricName,
            Dimensions = series.Dimensions.ToList(),
            Value = value,
            Timestamp = timestampUtc,
            StorageResolution = storageResolution,
        };
    }
}
