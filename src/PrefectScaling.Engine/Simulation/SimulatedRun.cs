using System;

namespace PrefectScaling.Simulation
{
    /// <summary>One flow run of a simulated workload: when it is expected to start, how long it runs, and when it was
    /// created (a deployment's schedule creates runs ahead of their start; an ad-hoc run appears at its start).</summary>
    public sealed class SimulatedRun
    {
        public SimulatedRun(DateTime expectedStartUtc, TimeSpan duration, DateTime? createdUtc = null, string? workQueue = null)
        {
            if (duration < TimeSpan.Zero) throw new ArgumentException("A run's duration cannot be negative (" + duration + ").");
            if (createdUtc is DateTime created && created > expectedStartUtc)
                throw new ArgumentException("A run cannot be created (" + created.ToString("u") + ") after its expected start (" + expectedStartUtc.ToString("u") + ").");
            ExpectedStart = expectedStartUtc;
            Duration = duration;
            Created = createdUtc ?? expectedStartUtc;
            WorkQueue = workQueue;
        }

        public DateTime ExpectedStart { get; }
        public TimeSpan Duration { get; }
        public DateTime Created { get; }
        public string? WorkQueue { get; }
    }
}
