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
            foreach (PrefectEcsScalingPolicy row in PrefectEcsScalingPolicy.From(state)) WriteObject(row);
        });
    }
}
