using System;
using System.Collections.Generic;
using System.Management.Automation;
using PrefectScaling.Aws;
using PrefectScaling.Bindings;
using PrefectScaling.Completion;
using PrefectScaling.Scaling;

namespace PrefectScaling.Commands
{
    /// <summary>Removes the scaling policies and alarms the module manages for an ECS service (every scope, or one),
    /// and can deregister the scalable target.</summary>
    [Cmdlet(VerbsCommon.Remove, "PrefectEcsScalingPolicy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(typeof(void))]
    public sealed class RemovePrefectEcsScalingPolicyCommand : EcsScalingCmdlet
    {
        /// <summary>With -WorkPool: only the policies of this binding scope (and of its one queue from before
        /// bindings); without both, every policy the module manages for the service.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(WorkQueueNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? WorkQueue { get; set; }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(WorkPoolNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? WorkPool { get; set; }

        [Parameter]
        public SwitchParameter DeregisterTarget { get; set; }

        /// <summary>With -DeregisterTarget: deregister even though the target carries policies or scheduled actions
        /// the module did not make (AWS deletes them with the target). -Force only skips the confirmation.</summary>
        [Parameter]
        public SwitchParameter DeleteUnmanaged { get; set; }

        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessRecord()
        {
            string resourceId = ScalingNames.ResourceId(Cluster, Service);
            Guard(resourceId, () =>
            {
                ScalingNames.ValidateService(Cluster, Service);
                if (DeleteUnmanaged && !DeregisterTarget) throw new ArgumentException("-DeleteUnmanaged goes with -DeregisterTarget: only deregistering the target deletes what the module did not make.");
                HashSet<string>? scope = WorkQueue == null && WorkPool == null ? null
                    : ScalingNames.ScopeNames(new ServiceBinding(Cluster, Service, BindingScope.From(WorkPool, WorkQueue)));

                var manager = new EcsScalingPlanner(Aws);
                WriteReadingProgress(resourceId, "Reading the scaling of the service");
                EcsScalingState state = RunEngine((log, ct) => manager.ReadAsync(Cluster, Service, log, ct, withScheduledActions: DeregisterTarget));
                List<AwsChange> changes = manager.PlanRemove(state, scope, DeregisterTarget, DeleteUnmanaged);
                if (changes.Count == 0) WriteVerbose("Nothing of the module's is left on " + resourceId + "; nothing was removed.");
                ApplyChanges(changes, resourceId, Force);
                foreach (string alarm in state.OtherAlarmNames)
                    WriteVerbose("Left alone: the alarm " + alarm + " is named like the module's but PrefectScaling did not make it for " + resourceId + ".");
            });
        }
    }
}
