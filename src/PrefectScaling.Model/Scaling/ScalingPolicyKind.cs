namespace PrefectScaling.Scaling
{
    /// <summary>The kind of scaling policy Set-PrefectEcsScalingPolicy puts on a service.</summary>
    // Int64-backed, like BacklogMeasure, so that ConvertTo-Json writes the name.
    public enum ScalingPolicyKind : long
    {
        /// <summary>Target tracking on the published backlog metric.</summary>
        TargetTracking,

        /// <summary>Target tracking on backlog ÷ desired tasks, with a step policy that wakes a service at zero.</summary>
        BacklogPerTask,

        /// <summary>Step scaling with CloudWatch alarms the module owns.</summary>
        StepScaling,

        /// <summary>Capacity before the runs are due: the publisher holds the scalable target's MinCapacity at the
        /// tasks the binding's due, upcoming and in-flight runs need; a step policy scales in to it.</summary>
        Capacity,
    }
}
