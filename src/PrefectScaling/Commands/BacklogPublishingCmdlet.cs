using System.Management.Automation;
using PrefectScaling.Completion;

namespace PrefectScaling.Commands
{
    /// <summary>A metric cmdlet that publishes the backlog, by hand (Publish-PrefectBacklogMetric) or on a schedule
    /// (Install-PrefectBacklogPublisher). Both can also publish the backlog per task of one ECS service: -Cluster
    /// and -Service go together, as their own parameter set, so the binder refuses one without the other and the
    /// syntax shows the pair. They are per call, never bound from the pipeline: one service for the whole batch.
    /// A cmdlet of this kind names BacklogSet as its DefaultParameterSetName.</summary>
    public abstract class BacklogPublishingCmdlet : BacklogMetricCmdlet
    {
        protected const string BacklogSet = "Backlog";
        protected const string BacklogPerTaskSet = "BacklogPerTask";
        private const string PairHelp = "-Cluster and -Service go together: they name the ECS service whose backlog per task is also published.";

        /// <summary>The ECS cluster of the service whose backlog per task is also published.</summary>
        [Parameter(Mandatory = true, ParameterSetName = BacklogPerTaskSet, HelpMessage = PairHelp)]
        [ArgumentCompleter(typeof(EcsClusterNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string? Cluster { get; set; }

        /// <summary>The ECS service whose desired task count divides the backlog.</summary>
        [Parameter(Mandatory = true, ParameterSetName = BacklogPerTaskSet, HelpMessage = PairHelp)]
        [ArgumentCompleter(typeof(EcsServiceNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string? Service { get; set; }

        /// <summary>True when -Cluster and -Service name a service (the binder gives both or neither).</summary>
        internal bool PublishesPerTask => Cluster != null && Service != null;
    }
}
