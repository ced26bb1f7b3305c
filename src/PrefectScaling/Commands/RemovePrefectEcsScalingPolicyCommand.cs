using System;
using System.Collections.Generic;
using System.Management.Automation;
using PrefectScaling.Aws;
using PrefectScaling.Scaling;

namespace PrefectScaling.Commands
{
    /// <summary>Removes the scaling policies and alarms the module manages for an ECS service (one scope, or all),
    /// and can deregister the scalable target.</summary>
    [Cmdlet(VerbsCommon.Remove, "PrefectEcsScalingPolicy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(typeof(void))]
    public sealed class RemovePrefectEcsScalingPolicyCommand : EcsScalingCmdlet
    {
        /// <summary>Only this queue's policies; without it, every policy the module manages for the service.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? WorkQueue { get; set; }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        public string? WorkPool { get; set; }

        [Parameter]
        public SwitchParameter DeregisterTarget { get; set; }

        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessRecord()
        {
            string? baseName = WorkQueue == null ? null : ScalingPolicySpec.BaseNameFor(Cluster, Service, string.IsNullOrEmpty(WorkPool) ? null : WorkPool, WorkQueue);
            try
            {
                AwsContext aws = ConnectAws();
                var manager = new EcsScalingManager(aws);
                EcsScalingState state = RunEngine((log, ct) => manager.ReadAsync(Cluster, Service, log, ct));
                List<AwsChange> changes = manager.PlanRemove(state, baseName, DeregisterTarget);
                if (changes.Count == 0) WriteVerbose("Nothing of the module's is left on service/" + Cluster + "/" + Service + "; nothing was removed.");
                foreach (AwsChange change in changes)
                {
                    if (!ShouldChange(change.Target, change.Action, Force)) continue;
                    RunEngine(async (log, ct) => { await change.Apply(log, ct).ConfigureAwait(false); return true; });
                    WriteVerbose(change.ToString());
                }
            }
            catch (AwsApiException e)
            {
                WriteError(ErrorRecords.From(e, "service/" + Cluster + "/" + Service));
            }
        }
    }
}
