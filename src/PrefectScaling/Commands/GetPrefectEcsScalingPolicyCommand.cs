using System.Management.Automation;
using PrefectScaling.Scaling;

namespace PrefectScaling.Commands
{
    /// <summary>Shows the scalable target, scaling policies and alarms the module manages for an ECS service.</summary>
    [Cmdlet(VerbsCommon.Get, "PrefectEcsScalingPolicy")]
    [OutputType(typeof(PrefectEcsScalingPolicy))]
    public sealed class GetPrefectEcsScalingPolicyCommand : EcsScalingCmdlet
    {
        protected override void ProcessRecord() => Guard(ScalingNames.ResourceId(Cluster, Service), () =>
        {
            ScalingNames.ValidateService(Cluster, Service);
            var manager = new EcsScalingPlanner(Aws);
            EcsScalingState state = RunEngine((log, ct) => manager.ReadAsync(Cluster, Service, log, ct));
            // The busy guard now, on its scale-in row (one GetMetricData of its inputs, only where there is a guard).
            string? guard = RunEngine((log, ct) => new ScalingStatusReader(Aws).ReadGuardAsync(state, log, ct));
            foreach (PrefectEcsScalingPolicy row in PrefectEcsScalingPolicy.From(state, guard)) WriteObject(row);
        });
    }
}
