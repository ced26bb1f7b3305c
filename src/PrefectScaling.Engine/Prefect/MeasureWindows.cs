using System;

namespace PrefectScaling.Prefect
{
    /// <summary>How far ahead the measures that look into the schedule count: InFlight takes SCHEDULED runs due within
    /// <see cref="InFlightLookahead"/> (about one cycle: a worker claims them before the next count), Upcoming those due
    /// after that and within <see cref="UpcomingLead"/>.</summary>
    public sealed class MeasureWindows
    {
        public static readonly TimeSpan DefaultInFlightLookahead = TimeSpan.FromSeconds(60);

        /// <summary>How long an ECS task takes to start, at most about: Upcoming looks this far beyond one cycle.</summary>
        public static readonly TimeSpan TaskStartAllowance = TimeSpan.FromSeconds(90);

        /// <summary>A task's start plus one minute's cycle: a run announced this far ahead still finds a task when it
        /// is due.</summary>
        public static readonly TimeSpan DefaultUpcomingLead = TaskStartAllowance + DefaultInFlightLookahead;

        public static readonly MeasureWindows Default = new MeasureWindows(DefaultInFlightLookahead, DefaultUpcomingLead);

        public MeasureWindows(TimeSpan inFlightLookahead, TimeSpan upcomingLead)
        {
            if (inFlightLookahead < TimeSpan.Zero || inFlightLookahead > TimeSpan.FromHours(1))
                throw new ArgumentOutOfRangeException(nameof(inFlightLookahead), inFlightLookahead, "The InFlight look-ahead must be between 0 and 1 hour.");
            if (upcomingLead < inFlightLookahead || upcomingLead > TimeSpan.FromHours(6))
                throw new ArgumentOutOfRangeException(nameof(upcomingLead), upcomingLead, "The Upcoming lead time must be at least the InFlight look-ahead (" + inFlightLookahead.TotalSeconds + " s) and at most 6 hours.");
            InFlightLookahead = inFlightLookahead;
            UpcomingLead = upcomingLead;
        }

        public TimeSpan InFlightLookahead { get; }
        public TimeSpan UpcomingLead { get; }

        /// <summary>The windows of a publisher that samples every <paramref name="cycle"/>: InFlight looks one cycle
        /// ahead (a worker claims those runs before the next count), Upcoming a task's start beyond that.</summary>
        public static MeasureWindows ForCycle(TimeSpan cycle) => new MeasureWindows(cycle, cycle + TaskStartAllowance);
    }
}
