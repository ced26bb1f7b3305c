using System;

namespace PrefectScaling.Scaling
{
    /// <summary>One binding's status as Get-PrefectScalingStatus shows it: the backlog its series hold, the service's
    /// tasks, the scaling alarms' states, how old the data is, and what the scaling policies would do with it now.
    /// A number that was not measured is null, never 0. The engine builds it (ScalingStatusReader).</summary>
    public sealed class PrefectScalingStatus
    {
        public string Cluster { get; set; } = string.Empty;
        public string Service { get; set; } = string.Empty;

        /// <summary>service/cluster/service.</summary>
        public string ResourceId { get; set; } = string.Empty;

        /// <summary>The latest datum of the binding's backlog series of each measure; null: no datum.</summary>
        public double? LateRuns { get; set; }
        public double? DueRuns { get; set; }
        public double? PendingRuns { get; set; }
        public double? RunningRuns { get; set; }

        /// <summary>The measures with data, as people read them ("Late 3, Due 5"), or "no data".</summary>
        public string Backlog { get; set; } = string.Empty;

        /// <summary>The latest InFlight datum (Pending, Running, Cancelling and soon-scheduled runs), else Pending +
        /// Running when both series have data; null: unknown.</summary>
        public double? InFlightRuns { get; set; }

        /// <summary>The latest datum of the busy guard's UnprotectedInFlight series (in-flight runs no task protection
        /// covers); null: no datum.</summary>
        public double? UnprotectedInFlightRuns { get; set; }

        /// <summary>The busy guard now, from the latest data: "blocks: 3 runs in flight, 1 unprotected", "blocks: no
        /// InFlight datum for 7 min", "allows: 2 task(s) beyond the work", "off: ..." (-AllowBusyScaleIn) or "none".</summary>
        public string ScaleInGuard { get; set; } = string.Empty;

        /// <summary>ECS DescribeServices: the service's desired, running and pending task counts now.</summary>
        public int DesiredTasks { get; set; }
        public int RunningTasks { get; set; }
        public int PendingTasks { get; set; }

        /// <summary>The scalable target's bounds; null when the service is not a scalable target.</summary>
        public int? MinCapacity { get; set; }
        public int? MaxCapacity { get; set; }

        /// <summary>The kinds of the module's policies on the service (StepScaling, TargetTracking, BacklogPerTask); null: none.</summary>
        public string? PolicyKind { get; set; }

        /// <summary>Each scaling alarm's state by its role: "out OK, in ALARM" (step scaling), "high OK, low ALARM"
        /// (the alarms AWS made for target tracking).</summary>
        public string AlarmStates { get; set; } = string.Empty;

        /// <summary>The number of scaling alarms in ALARM, of <see cref="AlarmCount"/>.</summary>
        public int AlarmsInAlarm { get; set; }
        public int AlarmCount { get; set; }

        /// <summary>The start of the newest period in which a backlog series has a datum, UTC; null: none.</summary>
        public DateTime? LastDatum { get; set; }

        /// <summary>How long ago <see cref="LastDatum"/> was when this was read.</summary>
        public TimeSpan? LastDatumAge { get; set; }

        /// <summary>What the policies would do with the latest data: "scale out to 4", "scale in to 0", "hold at 1",
        /// "no data" (none of them has data to act on) or "no policy".</summary>
        public string Decision { get; set; } = string.Empty;

        /// <summary>The desired count the policies would set now; null with "no data" and "no policy".</summary>
        public int? DecisionDesiredTasks { get; set; }

        /// <summary>Each policy's reasoning, "; " between them.</summary>
        public string PolicyDetail { get; set; } = string.Empty;

        /// <summary>A capacity policy's last requirement (the RequiredTasks its publisher published); null: no
        /// capacity policy, or no datum.</summary>
        public double? RequiredTasks { get; set; }

        /// <summary>Why that many tasks, from the latest data: "3 = ceil((Due 3 + Upcoming 2 + InFlight 1) / 2); min 0,
        /// max 10", and when concurrency limits held it lower, that they did; empty without a capacity policy.</summary>
        public string Requirement { get; set; } = string.Empty;

        /// <summary>When this was read, UTC.</summary>
        public DateTime Timestamp { get; set; }

        public override string ToString() => ResourceId + ": " + Backlog + "; " + Decision;
    }
}
