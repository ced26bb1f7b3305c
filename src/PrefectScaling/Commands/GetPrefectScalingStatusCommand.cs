using System.Management.Automation;
using PrefectScaling.Metrics;
using PrefectScaling.Scaling;

namespace PrefectScaling.Commands
{
    /// <summary>One line per binding: the backlog its series hold, the runs in flight, the service's desired and
    /// running tasks, the scaling alarms' states, the age of the last datum, and what the policies would do now.</summary>
    [Cmdlet(VerbsCommon.Get, "PrefectScalingStatus")]
    [OutputType(typeof(PrefectScalingStatus))]
    public sealed class GetPrefectScalingStatusCommand : EcsScalingCmdlet
    {
        private BacklogMetricOptions? _metric;

        /// <summary>The namespace the binding's series are published in.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Namespace { get; set; } = BacklogMetricOptions.DefaultNamespace;

        protected override void BeginProcessing()
        {
            base.BeginProcessing();
            var metric = new BacklogMetricOptions { Namespace = Namespace };
            Guard(Namespace, () => metric.Validate(), terminating: true);
            _metric = metric;
        }

        protected override void ProcessRecord() => Guard(ScalingNames.ResourceId(Cluster, Service), () =>
        {
            var reader = new ScalingStatusReader(Aws);
            WriteObject(RunEngine((log, ct) => reader.ReadAsync(Cluster, Service, _metric!, log, ct)));
        });
    }
}
