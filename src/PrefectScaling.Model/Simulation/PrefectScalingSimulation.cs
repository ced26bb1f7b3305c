using System;
using System.Collections.Generic;

namespace PrefectScaling.Simulation
{
    /// <summary>What one policy did to one workload in Invoke-PrefectScalingSimulation: how late runs started, what
    /// capacity cost, and how the service moved. Several results (one per policy) compare side by side.</summary>
    public sealed class PrefectScalingSimulation
    {
        /// <summary>The policy as people read it ("StepScaling 0..5 @{1=1; 5=3}").</summary>
        public string Policy { get; set; } = string.Empty;

        public string Kind { get; set; } = string.Empty;

        /// <summary>The workload's name (a scenario, a file, "runs").</summary>
        public string Workload { get; set; } = string.Empty;

        public int Runs { get; set; }

        /// <summary>Seconds from a run's expected start to its start (runs that never started are left out and counted
        /// in <see cref="RunsNotStarted"/>).</summary>
        public double StartDelayP50 { get; set; }
        public double StartDelayP95 { get; set; }
        public double StartDelayMax { get; set; }

        public int RunsNotStarted { get; set; }

        /// <summary>The sum over runs of the minutes each spent Late.</summary>
        public double LateRunMinutes { get; set; }

        /// <summary>Minutes of running tasks (what the service costs), and of those with no run in them.</summary>
        public double TaskMinutes { get; set; }
        public double IdleTaskMinutes { get; set; }

        /// <summary>From the first run turning Late to the first increase of the desired count; null when there was no
        /// Late run or no increase.</summary>
        public double? FirstScaleOutSeconds { get; set; }

        /// <summary>Changes of the desired count.</summary>
        public int ScaleEvents { get; set; }

        /// <summary>Runs whose task was stopped under them by a scale-in.</summary>
        public int RunsInterrupted { get; set; }

        /// <summary>The desired task count over the simulation, as one line of block characters.</summary>
        public string Sparkline { get; set; } = string.Empty;

        /// <summary>The simulated time span.</summary>
        public DateTime Start { get; set; }
        public DateTime End { get; set; }

        /// <summary>The per-step rows, when -Timeline or -OutFile asked for them.</summary>
        public IReadOnlyList<PrefectScalingSimulationStep> Timeline { get; set; } = Array.Empty<PrefectScalingSimulationStep>();
    }

    /// <summary>One moment of a simulation (-Timeline).</summary>
    public sealed class PrefectScalingSimulationStep
    {
        public string Policy { get; set; } = string.Empty;
        public DateTime Time { get; set; }

        /// <summary>Runs Scheduled past their start, of which Late.</summary>
        public int Backlog { get; set; }
        public int Late { get; set; }

        /// <summary>Runs Pending or Running.</summary>
        public int InFlight { get; set; }

        public int DesiredTasks { get; set; }
        public int RunningTasks { get; set; }

        /// <summary>The value of the metric the policy reads, as the simulated CloudWatch last aggregated it (null: no data).</summary>
        public double? Metric { get; set; }

        /// <summary>What happened at this moment ("alarm k8s:out ALARM", "scale out 1 -> 4"), or empty.</summary>
        public string Event { get; set; } = string.Empty;
    }
}
