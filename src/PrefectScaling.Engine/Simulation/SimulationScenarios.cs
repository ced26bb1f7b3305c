using System;
using System.Collections.Generic;
using System.Linq;

namespace PrefectScaling.Simulation
{
    /// <summary>Named synthetic workloads for Invoke-PrefectScalingSimulation -Scenario and Bench. Each is fixed: the
    /// same name and start give the same runs (no randomness), so results compare across policies and versions.
    /// <list type="bullet">
    /// <item>Burst: 20 ad-hoc runs at once, 5 minutes after the start, each running 5 minutes; 1 hour simulated.</item>
    /// <item>Trickle: one ad-hoc run every 3 minutes from the start for 2 hours, each running 4 minutes (about 1.3
    /// runs in flight); 2 hours 30 minutes simulated.</item>
    /// <item>DailySchedule: a day from the start. An hourly deployment (a run on each hour, 10 minutes each) and a
    /// morning burst at 08:00 after the start: 30 runs expected from 08:00 to 08:09 (3 a minute), running 10 to 20
    /// minutes in a fixed pattern. Scheduled runs are created by the deployment's schedule 1 hour ahead of their
    /// start, as Prefect's scheduler service does.</item>
    /// <item>LongRuns: long runs under scale-in pressure. 8 ad-hoc runs at once, 5 minutes after the start, running
    /// 20, 30, ... 90 minutes, and 4 more at 40 minutes running 15 minutes each: once they are all taken, the backlog is
    /// 0 for over an hour while flows still run, which a policy without the busy guard answers by stopping busy
    /// tasks; 3 hours simulated.</item>
    /// <item>ScheduledBurst: the burst announced by a schedule: 20 runs expected at once 5 minutes after the start,
    /// each running 5 minutes, created at the start (Scheduled 5 minutes ahead, as a deployment's schedule makes
    /// them); 1 hour simulated.</item>
    /// <item>RandomArrivals: 60 ad-hoc runs over 2 hours at random moments (a fixed seed: the same runs every
    /// time), each running 2 to 8 minutes; 2 hours 30 minutes simulated.</item>
    /// </list></summary>
    public static class SimulationScenarios
    {
        public const string Burst = "Burst";
        public const string Trickle = "Trickle";
        public const string DailySchedule = "DailySchedule";
        public const string LongRuns = "LongRuns";
        public const string ScheduledBurst = "ScheduledBurst";
        public const string RandomArrivals = "RandomArrivals";

        public static IReadOnlyList<string> Names { get; } = new[] { Burst, Trickle, DailySchedule, LongRuns, ScheduledBurst, RandomArrivals };

        /// <summary>How long to simulate a scenario for: its runs plus time for the service to settle.</summary>
        public static TimeSpan Length(string name) => Canonical(name) switch
        {
            Burst or ScheduledBurst => TimeSpan.FromHours(1),
            Trickle or RandomArrivals => TimeSpan.FromMinutes(150),
            LongRuns => TimeSpan.FromHours(3),
            _ => TimeSpan.FromDays(1),
        };

        /// <summary>The runs of a scenario starting at <paramref name="startUtc"/>, by expected start.</summary>
        public static IReadOnlyList<SimulatedRun> Get(string name, DateTime startUtc)
        {
            DateTime start = startUtc.Kind == DateTimeKind.Local ? startUtc.ToUniversalTime() : DateTime.SpecifyKind(startUtc, DateTimeKind.Utc);
            var runs = new List<SimulatedRun>();
            switch (Canonical(name))
            {
                case Burst:
                    for (int i = 0; i < 20; i++) runs.Add(new SimulatedRun(start.AddMinutes(5), TimeSpan.FromMinutes(5)));
                    break;
                case Trickle:
                    for (int i = 0; i < 40; i++) runs.Add(new SimulatedRun(start.AddMinutes(3 * i), TimeSpan.FromMinutes(4)));
                    break;
                case LongRuns:
                    for (int i = 0; i < 8; i++) runs.Add(new SimulatedRun(start.AddMinutes(5), TimeSpan.FromMinutes(20 + 10 * i)));
                    for (int i = 0; i < 4; i++) runs.Add(new SimulatedRun(start.AddMinutes(40), TimeSpan.FromMinutes(15)));
                    break;
                case ScheduledBurst:
                    for (int i = 0; i < 20; i++) runs.Add(new SimulatedRun(start.AddMinutes(5), TimeSpan.FromMinutes(5), start));
                    break;
                case RandomArrivals:
                    // A linear congruential generator (Knuth's MMIX constants): the same sequence on every runtime.
                    ulong state = 13;
                    double Next() { state = state * 6364136223846793005UL + 1442695040888963407UL; return (state >> 11) / (double)(1UL << 53); }
                    for (int i = 0; i < 60; i++)
                    {
                        DateTime at = start.AddSeconds(Math.Floor(Next() * 7200));
                        runs.Add(new SimulatedRun(at, TimeSpan.FromSeconds(120 + Math.Floor(Next() * 360))));
                    }
                    break;
                case DailySchedule:
                    TimeSpan ahead = TimeSpan.FromHours(1);
                    for (int hour = 0; hour < 24; hour++)
                    {
                        DateTime at = start.AddHours(hour);
                        runs.Add(new SimulatedRun(at, TimeSpan.FromMinutes(10), at - ahead, "hourly"));
                    }
                    for (int i = 0; i < 30; i++)
                    {
                        DateTime at = start.AddHours(8).AddSeconds(20 * i);
                        runs.Add(new SimulatedRun(at, TimeSpan.FromMinutes(10 + (i * 7) % 11), at - ahead, "morning"));
                    }
                    break;
            }
            return runs.OrderBy(r => r.ExpectedStart).ToList();
        }

        private static string Canonical(string name) =>
            Names.FirstOrDefault(n => string.Equals(n, name?.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException("There is no scenario '" + name + "': the scenarios are " + string.Join(", ", Names) + ".", nameof(name));
    }
}
