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

        /// <summary>The dimensions: WorkQueue, and WorkPool where known.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public BacklogDimension[] Dimension { get; set; } = { BacklogDimension.WorkQueue, BacklogDimension.WorkPool };

        [Parameter]
        [ValidateSet("1", "60")]
        public int StorageResolution { get; set; } = 60;

        internal BacklogMetricOptions MetricOptions() => new BacklogMetricOptions
        {
            Namespace = Namespace,
            MetricName = MetricName,
            Dimensions = Dimension.Aggregate((BacklogDimension)0, (all, d) => all | d),
            StorageResolution = StorageResolution,
        };
    }
}
