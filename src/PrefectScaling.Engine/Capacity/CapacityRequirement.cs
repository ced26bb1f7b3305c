using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace PrefectScaling.Capacity
{
    /// <summary>A concurrency limit that caps how many of a binding's runs can be in flight at once: a work pool's or
    /// a work queue's concurrency_limit, with the pool's active_slots (its Pending and Running runs) where the server
    /// reports it.</summary>
    public sealed class ConcurrencyCap
    {
        public ConcurrencyCap(string source, int limit, int? activeSlots = null)
        {
            if (limit < 0) throw new ArgumentOutOfRangeException(nameof(limit), limit, "A concurrency limit cannot be negative.");
            if (activeSlots < 0) throw new ArgumentOutOfRangeException(nameof(activeSlots), activeSlots, "active_slots cannot be negative.");
            Source = source ?? throw new ArgumentNullException(nameof(source));
            Limit = limit;
            ActiveSlots = activeSlots;
        }

        /// <summary>What the limit is on, as people read it ("pool k8s", "queues a, b").</summary>
        public string Source { get; }
        public int Limit { get; }
        public int? ActiveSlots { get; }

        /// <summary>The runs of the binding that can be in flight under this limit. With active_slots, slots other
        /// scopes hold are not the binding's: its own in-flight runs plus the free slots (its in-flight count stands in
        /// for the slots it holds, which can only make the cap looser, never cost a run its task).</summary>
        public int RunsFor(double inFlight)
        {
            if (ActiveSlots is not int active) return Limit;
            double free = Math.Max(0, Limit - active);
            return (int)Math.Min(Limit, Math.Ceiling(Math.Max(0, inFlight) + free));
        }

        public override string ToString() => Source + " limit " + Limit.ToString(CultureInfo.InvariantCulture) +
            (ActiveSlots is int a ? " (" + a.ToString(CultureInfo.InvariantCulture) + " active)" : string.Empty);
    }

    /// <summary>What a binding's capacity policy asks for: the tasks its runs need now and soon, and why. Required
    /// tasks = ceil((Due + Upcoming + InFlight) / RunsPerTask) (the measures partition the runs: Due takes Late in,
    /// InFlight the runs held or due within the look-ahead, Upcoming the ones the schedule announces within the lead
    /// time), capped by the concurrency limits (more workers than the limits let run only idle), then clamped to the
    /// scalable target's min and max. Every part is kept, so that a status can say why N tasks.</summary>
    public sealed class CapacityRequirement
    {
        public double Due { get; private set; }
        public double Upcoming { get; private set; }
        public double InFlight { get; private set; }
        public int RunsPerTask { get; private set; }

        /// <summary>Due + Upcoming + InFlight.</summary>
        public double Runs => Due + Upcoming + InFlight;

        /// <summary>ceil(Runs / RunsPerTask), before any cap.</summary>
        public int DemandTasks { get; private set; }

        /// <summary>The runs the concurrency limits let be in flight (the tightest part of the scope's limits); null:
        /// no limit caps the scope.</summary>
        public int? RunCap { get; private set; }
        public string? CapSource { get; private set; }

        /// <summary>ceil(min(Runs, RunCap) / RunsPerTask).</summary>
        public int CappedTasks { get; private set; }

        public int MinCapacity { get; private set; }
        public int MaxCapacity { get; private set; }

        /// <summary>The capped tasks clamped to [MinCapacity, MaxCapacity]: what the policy holds the service at.</summary>
        public int RequiredTasks { get; private set; }

        /// <summary>The parts as one line: "ceil((Due 3 + Upcoming 5 + InFlight 2) / 4) = 3; pool k8s limit 8 -> 2; min 0, max 10: 2".</summary>
        public string Reason
        {
            get
            {
                string n(double v) => v.ToString(CultureInfo.InvariantCulture);
                string text = "ceil((Due " + n(Due) + " + Upcoming " + n(Upcoming) + " + InFlight " + n(InFlight) + ") / " + n(RunsPerTask) + ") = " + n(DemandTasks);
                if (RunCap is int cap) text += "; " + CapSource + " caps runs at " + n(cap) + " -> " + n(CappedTasks);
                return text + "; min " + n(MinCapacity) + ", max " + n(MaxCapacity) + ": " + n(RequiredTasks);
            }
        }

        /// <summary>The requirement from a binding's measured totals. <paramref name="capsByPart"/> holds, per part
        /// of the scope, the limits on that part's runs (a pool's and its queues'); a part with no limit is an empty
        /// list, and then nothing caps the scope as a whole (its runs can go there).</summary>
        public static CapacityRequirement Compute(double due, double upcoming, double inFlight, int runsPerTask, int minCapacity, int maxCapacity,
            IReadOnlyList<IReadOnlyList<ConcurrencyCap>>? capsByPart = null)
        {
            void Count(string name, double value)
            {
                if (double.IsNaN(value) || double.IsInfinity(value) || value < 0) throw new ArgumentOutOfRangeException(name, value, name + " must be a count of 0 or more.");
            }
            Count(nameof(due), due);
            Count(nameof(upcoming), upcoming);
            Count(nameof(inFlight), inFlight);
            ValidateRunsPerTask(runsPerTask);
            if (minCapacity < 0 || maxCapacity < minCapacity)
                throw new ArgumentOutOfRangeException(nameof(minCapacity), minCapacity + ".." + maxCapacity, "The capacity range must be 0 <= min <= max.");

            var r = new CapacityRequirement { Due = due, Upcoming = upcoming, InFlight = inFlight, RunsPerTask = runsPerTask, MinCapacity = minCapacity, MaxCapacity = maxCapacity };
            r.DemandTasks = Tasks(r.Runs, runsPerTask);
            double runs = r.Runs;
            if (capsByPart != null && capsByPart.Count > 0 && capsByPart.All(p => p != null && p.Count > 0))
            {
                // Each part is held to its tightest limit; the scope's runs are the sum of its parts'.
                var tightest = capsByPart.Select(p => p.OrderBy(c => c.RunsFor(inFlight)).First()).ToList();
                r.RunCap = tightest.Sum(c => c.RunsFor(inFlight));
                r.CapSource = string.Join(" + ", tightest.Select(c => c.Source));
                runs = Math.Min(runs, r.RunCap.Value);
            }
            r.CappedTasks = Tasks(runs, runsPerTask);
            r.RequiredTasks = Math.Max(minCapacity, Math.Min(maxCapacity, r.CappedTasks));
            return r;
        }

        /// <summary>The busy guard's floor: ceil((Due + InFlight) / RunsPerTask), clamped. No scale-in goes below it,
        /// even where concurrency limits hold the requirement lower (they only keep the service from growing).</summary>
        public int GuardTasks => Math.Max(MinCapacity, Math.Min(MaxCapacity, Tasks(Due + InFlight, RunsPerTask)));

        /// <summary>The MinCapacity to hold now: the requirement when it scales out; when it would scale in, never
        /// below <see cref="GuardTasks"/>, and no scale-in at all while an in-flight run is on a task no protection
        /// covers (ECS picks which task stops; an unknown count is taken as busy).</summary>
        public int FloorWithGuard(int desiredTasks, double? unprotectedInFlight)
        {
            int held = Math.Min(MaxCapacity, desiredTasks);
            if (held <= RequiredTasks) return RequiredTasks;
            bool busyUnprotected = unprotectedInFlight is not double u || u > 0;
            return busyUnprotected ? held : Math.Max(RequiredTasks, Math.Min(held, GuardTasks));
        }

        /// <summary>-RunsPerTask: 1 to 1000 (a worker's or agent's --limit).</summary>
        public static void ValidateRunsPerTask(int runsPerTask)
        {
            if (runsPerTask < 1 || runsPerTask > 1000) throw new ArgumentException("-RunsPerTask must be between 1 and 1000, not " + runsPerTask + ".");
        }

        private static int Tasks(double runs, int runsPerTask) => (int)Math.Min(int.MaxValue, Math.Ceiling(runs / runsPerTask - 1e-9));

        public override string ToString() => RequiredTasks.ToString(CultureInfo.InvariantCulture) + " task(s): " + Reason;
    }
}
