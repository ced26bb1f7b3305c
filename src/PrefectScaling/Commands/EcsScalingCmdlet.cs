using System.Management.Automation;

namespace PrefectScaling.Commands
{
    /// <summary>A cmdlet about the scaling of one ECS service.</summary>
    public abstract class EcsScalingCmdlet : AwsCmdlet
    {
        /// <summary>The ECS cluster's name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(Completion.EcsClusterNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Cluster { get; set; } = string.Empty;

        /// <summary>The ECS service's name.</summary>
        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(Completion.EcsServiceNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Service { get; set; } = string.Empty;
    }
}
