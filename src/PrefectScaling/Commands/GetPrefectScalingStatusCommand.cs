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
        /// <summary>The namespace the binding's series are published in.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Namespace { get; set; } = BacklogMetricOptions.DefaultNamespace;

        protected override void ProcessRecord() => Guard(ScalingNames.ResourceId(Cluster, Service), () =>
        {
            var metric = new BacklogMetricOptions { Namespace = Namespace };
            metric.Validate();
            var reader = new ScalingStatusReader(Aws);
            WriteObject(RunEngine((log, ct) => reader.ReadAsync(Cluster, Service, metric, log, ct)));
        });
    }
}
