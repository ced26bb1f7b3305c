using System.Linq;
using System.Management.Automation;
using PrefectScaling.Completion;
using PrefectScaling.Metrics;

namespace PrefectScaling.Commands
{
    /// <summary>A metric cmdlet that publishes the backlog, by hand (Publish-PrefectBacklogMetric) or on a schedule
    /// (Install-PrefectBacklogPublisher). Both can publish for one ECS service, on its binding's series: -Cluster
    /// and -Service go together, as their own parameter set, so the binder refuses one without the other and the
    /// syntax shows the pair. They are per call, never bound from the pipeline: one service for the whole batch.
    /// A cmdlet of this kind names BacklogSet as its DefaultParameterSetName.</summary>
    public abstract class BacklogPublishingCmdlet : BacklogMetricCmdlet
    {
        protected const string BacklogSet = "Backlog";
        protected const string BindingSet = "Binding";
        private const string PairHelp = "-Cluster and -Service go together: they name the ECS service whose binding series are published.";

        /// <summary>The ECS cluster of the service whose binding series are published.</summary>
        [Parameter(Mandatory = true, ParameterSetName = BindingSet, HelpMessage = PairHelp)]
        [ArgumentCompleter(typeof(EcsClusterNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string? Cluster { get; set; }

        /// <summary>The ECS service whose binding series are published (the backlog per measure, the desired task count).</summary>
        [Parameter(Mandatory = true, ParameterSetName = BindingSet, HelpMessage = PairHelp)]
        [ArgumentCompleter(typeof(EcsServiceNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string? Service { get; set; }

        /// <summary>The dimensions of per-queue series: WorkQueue, and WorkPool where known.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public BacklogDimension[] Dimension { get; set; } = { BacklogDimension.WorkQueue, BacklogDimension.WorkPool };

        internal override BacklogDimension PerQueueDimensions => Dimension.Aggregate((BacklogDimension)0, (all, d) => all | d);

        /// <summary>True when -Cluster and -Service name a service (the binder gives both or neither).</summary>
        internal bool PublishesPerTask => Cluster != null && Service != null;
    }
}
