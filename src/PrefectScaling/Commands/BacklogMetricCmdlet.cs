using System.Linq;
using System.Management.Automation;
using PrefectScaling.Backlog;
using PrefectScaling.Metrics;

namespace PrefectScaling.Commands
{
    /// <summary>An AWS cmdlet that names the backlog metric: the publisher writes it, a policy reads it, and both
    /// build it from these parameters through the same options, so they cannot disagree.</summary>
    public abstract class BacklogMetricCmdlet : AwsCmdlet
    {
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Namespace { get; set; } = BacklogMetricOptions.DefaultNamespace;

        /// <summary>One metric name, instead of the measure's default.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? MetricName { get; set; }

        [Parameter]
        [ValidateSet("1", "60")]
        public int StorageResolution { get; set; } = 60;

        /// <summary>The dimensions of per-queue series; a binding's series carry ClusterName and ServiceName only.</summary>
        internal virtual BacklogDimension PerQueueDimensions => BacklogDimension.WorkQueue | BacklogDimension.WorkPool;

        internal BacklogMetricOptions MetricOptions() => new BacklogMetricOptions
        {
            Namespace = Namespace,
            MetricName = MetricName,
            Dimensions = PerQueueDimensions,
            StorageResolution = StorageResolution,
        };
    }
}
