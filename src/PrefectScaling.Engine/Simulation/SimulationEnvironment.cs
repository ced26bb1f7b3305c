using System;

namespace PrefectScaling.Simulation
{
    /// <summary>Which task ECS stops first on a scale-in. ECS documents balancing tasks across Availability Zones,
    /// not the order within one zone, so the order is a parameter.</summary>
    public enum TaskStopOrder
    {
        /// <summary>Tasks still starting first, then the most recently started.</summary>
        NewestFirst,
        OldestFirst,
    }

    /// <summary>Everything around the policy: Prefect, the service's tasks and the publisher. Defaults are the
    /// documented defaults where there is one and a stated assumption where there is not.</summary>
    public sealed class SimulationEnvironment
    {
        /// <summary>From a task's launch to its worker polling (image pull and start; an assumption, measure yours).</summary>
        public int TaskStartSeconds { get; set; } = 60;

        /// <summary>How often a worker or agent polls (PREFECT_WORKER_QUERY_SECONDS, default 10).</summary>
        public int WorkerPollSeconds { get; set; } = 10;

        /// <summary>How many runs one task runs at once.</summary>
        public int RunsPerTask { get; set; } = 1;

        /// <summary>How often the publisher samples (its schedule: one minute).</summary>
        public int SampleIntervalSeconds { get; set; } = 60;

        /// <summary>From a sample to its datapoint being in CloudWatch (an assumption).</summary>
        public int PublisherLatencySeconds { get; set; } = 2;

        /// <summary>From this many seconds after the simulation's start the publisher publishes nothing (as when it
        /// cannot read the scope); null: it never stops.</summary>
        public int? PublisherSilentAfterSeconds { get; set; }

        /// <summary>Tasks running at the start; null: the policy's minimum.</summary>
        public int? InitialTasks { get; set; }

        /// <summary>Prefect marks a Scheduled run Late this long after its expected start
        /// (PREFECT_API_SERVICES_LATE_RUNS_AFTER_SECONDS, default 15) ...</summary>
        public int LateAfterSeconds { get; set; } = 15;

        /// <summary>... when its late-runs service loops (PREFECT_API_SERVICES_LATE_RUNS_LOOP_SECONDS, default 5).</summary>
        public int LateRunsLoopSeconds { get; set; } = 5;

        /// <summary>From a worker taking a run (Pending) to the run Running inside the task (an assumption).</summary>
        public int RunPendingSeconds { get; set; } = 5;

        /// <summary>An alarm that stays in ALARM invokes its Auto Scaling action again about once a minute
        /// ("Using Amazon CloudWatch alarms"; the step scaling guide).</summary>
        public int AlarmReinvokeSeconds { get; set; } = 60;

        public TaskStopOrder TaskStopOrder { get; set; } = TaskStopOrder.NewestFirst;

        /// <summary>Each task protects itself while it runs flows (ECS task scale-in protection, as the worker
        /// entrypoint sets it): ECS never stops a busy task, and the publisher counts its runs as protected
        /// (UnprotectedInFlight leaves them out). False: no protection, every in-flight run is unprotected.</summary>
        public bool TasksProtectThemselves { get; set; }

        /// <summary>Target tracking at zero tasks: scale out by the minimum amount on one datapoint showing demand
        /// ("Automatically scale your Amazon ECS service"); false models a service that cannot leave zero without the
        /// module's wake policy.</summary>
        public bool TargetTrackingLeavesZero { get; set; } = true;

        /// <summary>The capacity target tracking asks for. AWS does not document the formula; the default is
        /// proportional, ceil(current × metric / target), rounding so that it adds rather than removes too much.</summary>
        public Func<int, double, double, int> ProportionalCapacity { get; set; } = DefaultProportionalCapacity;

        public static int DefaultProportionalCapacity(int current, double metric, double target) =>
            (int)Math.Min(int.MaxValue, Math.Ceiling(current * metric / target - 1e-9));

        /// <summary>How long the simulation goes on after the last run could have ended, to see the service scale in.</summary>
        public int TailSeconds { get; set; } = 7200;

        /// <summary>One timeline row per this many seconds (and one at every event).</summary>
        public int TimelineStepSeconds { get; set; } = 10;

        public void Validate()
        {
            void AtLeast(string name, int value, int min) { if (value < min) throw new ArgumentException("-" + name + " must be " + min + " or more, not " + value + "."); }
            AtLeast(nameof(TaskStartSeconds), TaskStartSeconds, 0);
            AtLeast(nameof(WorkerPollSeconds), WorkerPollSeconds, 1);
            AtLeast(nameof(RunsPerTask), RunsPerTask, 1);
            AtLeast(nameof(SampleIntervalSeconds), SampleIntervalSeconds, 1);
            AtLeast(nameof(PublisherLatencySeconds), PublisherLatencySeconds, 0);
            AtLeast(nameof(LateAfterSeconds), LateAfterSeconds, 0);
            AtLeast(nameof(LateRunsLoopSeconds), LateRunsLoopSeconds, 1);
            AtLeast(nameof(RunPendingSeconds), RunPendingSeconds, 0);
            AtLeast(nameof(AlarmReinvokeSeconds), AlarmReinvokeSeconds, 1);
            AtLeast(nameof(TailSeconds), TailSeconds, 0);
            AtLeast(nameof(TimelineStepSeconds), TimelineStepSeconds, 1);
            if (InitialTasks is int initial) AtLeast(nameof(InitialTasks), initial, 0);
        }
    }
}
