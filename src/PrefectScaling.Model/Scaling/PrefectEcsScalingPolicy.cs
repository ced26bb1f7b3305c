namespace PrefectScaling.Scaling
{
    /// <summary>A scaling policy the module manages, with its target and alarms, as Get-PrefectEcsScalingPolicy shows it.
    /// The engine builds it from what it read (PrefectEcsScalingPolicyFactory).</summary>
    public sealed class PrefectEcsScalingPolicy
    {
        public string Cluster { get; set; } = string.Empty;
        public string Service { get; set; } = string.Empty;
        public string ResourceId { get; set; } = string.Empty;
        public bool TargetRegistered { get; set; }
        public int? MinCapacity { get; set; }
        public int? MaxCapacity { get; set; }
        public string? PolicyName { get; set; }

        /// <summary>The binding's scope, read back from the policy's name ("pool k8s queues a, b"): exact, or empty when
        /// the name cannot give it back exactly (a scope too long for the name, the first release's names).</summary>
        public string? Scope { get; set; }
        public string? PolicyType { get; set; }

        /// <summary>TargetTracking, BacklogPerTask (its target-tracking and wake policies) or StepScaling (out and in).</summary>
        public string? Kind { get; set; }

        public double? TargetValue { get; set; }
        public string? MetricNamespace { get; set; }
        public string? MetricName { get; set; }
        public string? Dimensions { get; set; }
        public int? ScaleOutCooldown { get; set; }
        public int? ScaleInCooldown { get; set; }
        public bool? DisableScaleIn { get; set; }
        public string? AdjustmentType { get; set; }
        public string? Steps { get; set; }
        public string? AlarmName { get; set; }
        public string? AlarmState { get; set; }
        public string? AlarmCondition { get; set; }
        public string? PolicyArn { get; set; }

        /// <summary>The busy guard on this service: "on", "on, 4 runs per task", or "off" (-AllowBusyScaleIn: scale-in
        /// can stop tasks running flows); null when no policy of the module scales in.</summary>
        public string? BusyGuard { get; set; }

        /// <summary>On the guarded scale-in policy's row: whether the guard blocks scale-in now and why, from the latest
        /// published data ("blocks: 3 runs in flight, 1 unprotected"); null when not read.</summary>
        public string? ScaleInGuard { get; set; }
    }
}
