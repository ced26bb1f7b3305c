using System;
using System.Management.Automation;
using PrefectScaling.Aws;
using PrefectScaling.Scaling;

namespace PrefectScaling.Commands
{
    /// <summary>Shows the scalable target, scaling policies and alarms the module manages for an ECS service.</summary>
    [Cmdlet(VerbsCommon.Get, "PrefectEcsScalingPolicy")]
    [OutputType(typeof(PrefectEcsScalingPolicy))]
    public sealed class GetPrefectEcsScalingPolicyCommand : EcsScalingCmdlet
    {
        protected override void ProcessRecord()
        {
            try
            {
                ScalingNames.ValidateService(Cluster, Service);
            }
            catch (ArgumentException e)
            {
                WriteError(ErrorRecords.From(e, ScalingNames.ResourceId(Cluster, Service)));
                return;
            }
            try
            {
                AwsContext aws = ConnectAws();
                var manager = new EcsScalingPlanner(aws);
                EcsScalingState state = RunEngine((log, ct) => manager.ReadAsync(Cluster, Service, log, ct));
                foreach (PrefectEcsScalingPolicy row in PrefectEcsScalingPolicy.From(state)) WriteObject(row);
            }
            catch (AwsApiException e)
            {
                WriteError(ErrorRecords.From(e, ScalingNames.ResourceId(Cluster, Service)));
            }
        }
    }
}
