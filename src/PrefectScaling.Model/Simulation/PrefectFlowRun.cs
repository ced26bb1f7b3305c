using System;

namespace PrefectScaling.Simulation
{
    /// <summary>One past flow run of a scope, as Get-PrefectFlowRunHistory reads it for replay. ExpectedStart, Duration,
    /// Created and WorkQueue bind to Invoke-PrefectScalingSimulation -Run down a pipeline.</summary>
    public sealed class PrefectFlowRun
    {
        public string Id { get; set; } = string.Empty;
        public string Name { get; set; } = string.Empty;

        /// <summary>When the run was scheduled to start, UTC.</summary>
        public DateTime ExpectedStart { get; set; }

        /// <summary>When it started and ended, UTC; null while it has not.</summary>
        public DateTime? Start { get; set; }
        public DateTime? End { get; set; }

        /// <summary>From start to end; null while the run has not ended (or never started).</summary>
        public TimeSpan? Duration { get; set; }

        /// <summary>When the run was created, UTC: ahead of its start for a deployment's schedule.</summary>
        public DateTime Created { get; set; }

        /// <summary>The state type (COMPLETED, FAILED, RUNNING, ...) and name (Completed, Late, ...).</summary>
        public string State { get; set; } = string.Empty;
        public string StateName { get; set; } = string.Empty;

        public string? WorkQueue { get; set; }
        public string? WorkPool { get; set; }

        public string ApiUrl { get; set; } = string.Empty;

        public override string ToString() => Name + " " + StateName + " " + ExpectedStart.ToString("u");
    }

    /// <summary>The cap that cut a history read short, so a caller can say so (never silently).</summary>
    public sealed class PrefectFlowRunHistoryLimit
    {
        public int MaxRuns { get; set; }
        public int Read { get; set; }
    }
}
