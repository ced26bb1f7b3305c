using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using PrefectScaling.Backlog;

namespace PrefectScaling.Simulation
{
    /// <summary>A deterministic discrete-event simulation, in one-second steps on its own clock, of Prefect, the
    /// service's tasks, the publisher, CloudWatch and Application Auto Scaling acting on one policy.</summary>
    public sealed class ScalingSimulator
    {
        private enum RunStatus { Future, Scheduled, Late, Pending, Running, Done, Interrupted }

        private sealed class RunState
        {
            public RunState(SimulatedRun run, int index) { Run = run; Index = index; }
            public SimulatedRun Run { get; }
            public int Index { get; }
            public long Created, Expected, Duration;
            public RunStatus Status;
            public long PickedAt, RunningAt;
            public SimTask? Task;
        }

        private sealed class SimTask
        {
            public int Id;
            public long LaunchedAt;
            public bool Running;
            public long NextPoll;
            public readonly List<RunState> Runs = new List<RunState>();
        }

        /// <summary>An alarm's evaluation state, and when it last invoked its action.</summary>
        private sealed class AlarmState
        {
            public AlarmState(SimulatedAlarm alarm) => Alarm = alarm;
            public SimulatedAlarm Alarm { get; }
            public string State = "INSUFFICIENT_DATA";
            public long LastInvoked = long.MinValue;
            public double? LastValue;
        }

        private sealed class PolicyState
        {
            public PolicyState(SimulatedScalingPolicy policy) => Policy = policy;
            public SimulatedScalingPolicy Policy { get; }
            public AlarmState? Alarm, High, Low;
            public long OutCooldownUntil = long.MinValue, InCooldownUntil = long.MinValue;
            public int CooldownBase;
        }

        private readonly SimulatedPolicy _policy;
        private readonly SimulationEnvironment _env;
        private readonly Dictionary<SimulatedSeries, Dictionary<long, double>> _datapoints = new Dictionary<SimulatedSeries, Dictionary<long, double>>();
        private readonly List<SimTask> _tasks = new List<SimTask>();
        private readonly List<string> _events = new List<string>();
        private int _desired;

        /// <summary>The scalable target's MinCapacity now: the policy's, or as a capacity policy's publisher holds it.</summary>
        private int _min;
        private (long At, int Floor)? _pendingFloor;
        private int _nextTaskId;
        private long _now;
        private long? _firstScaleOut;
        private int _scaleEvents;
        private List<PolicyState> _states = new List<PolicyState>();

        private ScalingSimulator(SimulatedPolicy policy, SimulationEnvironment environment)
        {
            _policy = policy ?? throw new ArgumentNullException(nameof(policy));
            _env = environment ?? throw new ArgumentNullException(nameof(environment));
            _env.Validate();
        }

        /// <summary>Simulates one policy on one workload (a simulator runs once).</summary>
        public static PrefectScalingSimulation Simulate(SimulatedPolicy policy, SimulationEnvironment environment, IReadOnlyList<SimulatedRun> workload, string workloadName, bool timeline = false) =>
            new ScalingSimulator(policy, environment).Run(workload, workloadName, timeline);

        private PrefectScalingSimulation Run(IReadOnlyList<SimulatedRun> workload, string workloadName, bool timeline)
        {
            if (workload == null || workload.Count == 0) throw new ArgumentException("A simulation needs at least one run.");
            DateTime first = workload.Min(r => r.Created);
            // Minute-aligned, a minute before the first run appears: CloudWatch periods start on the minute.
            var origin = new DateTime(first.Ticks - first.Ticks % TimeSpan.TicksPerMinute, DateTimeKind.Utc).AddMinutes(-1);
            long Seconds(DateTime t) => (long)Math.Floor((t - origin).TotalSeconds);
            List<RunState> runs = workload.Select((r, i) => new RunState(r, i) { Created = Seconds(r.Created), Expected = Seconds(r.ExpectedStart), Duration = (long)Math.Ceiling(r.Duration.TotalSeconds) })
                .OrderBy(r => r.Created).ThenBy(r => r.Expected).ThenBy(r => r.Index).ToList();
            long horizon = runs.Max(r => r.Expected + r.Duration) + _env.TailSeconds;

            List<PolicyState> policies = _states = _policy.Policies.Select(p => new PolicyState(p)).ToList();
            foreach (PolicyState p in policies)
            {
                if (p.Policy.IsTargetTracking)
                {
                    // The alarms target tracking makes: high 3 of 3 one-minute datapoints above the target, low 15 of 15
                    // below 0.9 × target, missing data treated as missing (AWS does not document these; they are what
                    // AAS creates for ECS services).
                    p.High = new AlarmState(new SimulatedAlarm { Name = "AlarmHigh", Metric = p.Policy.TrackedMetric!, Period = 60, EvaluationPeriods = 3, DatapointsToAlarm = 3, Threshold = p.Policy.TargetValue, ComparisonOperator = "GreaterThanThreshold", TreatMissingData = "missing" });
                    if (!p.Policy.DisableScaleIn)
                        p.Low = new AlarmState(new SimulatedAlarm { Name = "AlarmLow", Metric = p.Policy.TrackedMetric!, Period = 60, EvaluationPeriods = 15, DatapointsToAlarm = 15, Threshold = 0.9 * p.Policy.TargetValue, ComparisonOperator = "LessThanThreshold", TreatMissingData = "missing" });
                }
                else if (p.Policy.Alarm != null) p.Alarm = new AlarmState(p.Policy.Alarm);
            }

            int floor = _policy.MinCapacity;
            _min = floor;
            _desired = Clamp(_env.InitialTasks ?? floor);
            for (int i = 0; i < _desired; i++) _tasks.Add(new SimTask { Id = _nextTaskId++, LaunchedAt = 0, Running = true, NextPoll = 0 });

            var steps = new List<PrefectScalingSimulationStep>();
            // The desired count over the run, sampled every timeline step, for the sparkline of the default view.
            var desiredOverTime = new List<double>();
            var delays = new List<double>();
            long? firstLate = null;
            long lateSeconds = 0, taskSeconds = 0, idleSeconds = 0;
            int interrupted = 0, nextCreated = 0;
            var waiting = new List<RunState>();
            var inFlight = new List<RunState>();

            for (_now = 0; _now <= horizon; _now++)
            {
                _events.Clear();
                // Prefect: runs appear when created; the late-runs service marks overdue Scheduled runs Late on its loop.
                while (nextCreated < runs.Count && runs[nextCreated].Created <= _now) { runs[nextCreated].Status = RunStatus.Scheduled; waiting.Add(runs[nextCreated]); nextCreated++; }
                if (_now % _env.LateRunsLoopSeconds == 0)
                {
                    foreach (RunState r in waiting)
                    {
                        if (r.Status != RunStatus.Scheduled || _now < r.Expected + _env.LateAfterSeconds) continue;
                        r.Status = RunStatus.Late;
                        firstLate ??= _now;
                    }
                }

                // ECS: started tasks begin polling; runs go Pending -> Running -> done.
                foreach (SimTask task in _tasks)
                    if (!task.Running && _now >= task.LaunchedAt + _env.TaskStartSeconds) { task.Running = true; task.NextPoll = _now; }
                for (int i = inFlight.Count - 1; i >= 0; i--)
                {
                    RunState r = inFlight[i];
                    if (r.Status == RunStatus.Pending && _now >= r.PickedAt + _env.RunPendingSeconds)
                    {
                        r.Status = RunStatus.Running;
                        r.RunningAt = _now;
                        delays.Add(_now - r.Expected);
                    }
                    if (r.Status == RunStatus.Running && _now >= r.RunningAt + r.Duration)
                    {
                        r.Status = RunStatus.Done;
                        r.Task!.Runs.Remove(r);
                        inFlight.RemoveAt(i);
                    }
                }

                // Workers poll and take due runs, earliest expected start first, up to their free slots.
                foreach (SimTask task in _tasks)
                {
                    if (!task.Running || _now < task.NextPoll) continue;
                    task.NextPoll = _now + _env.WorkerPollSeconds;
                    int free = _env.RunsPerTask - task.Runs.Count;
                    if (free <= 0) continue;
                    foreach (RunState r in waiting.Where(w => w.Expected <= _now).OrderBy(w => w.Expected).ThenBy(w => w.Index).Take(free).ToList())
                    {
                        r.Status = RunStatus.Pending;
                        r.PickedAt = _now;
                        r.Task = task;
                        task.Runs.Add(r);
                        waiting.Remove(r);
                        inFlight.Add(r);
                    }
                }

                // The publisher samples each measure and the desired count; CloudWatch has it after the latency.
                if (_now % _env.SampleIntervalSeconds == 0 && !(_now >= _env.PublisherSilentAfterSeconds))
                {
                    Record(SimulatedSeries.Backlog(BacklogMeasure.Late), waiting.Count(r => r.Status == RunStatus.Late));
                    Record(SimulatedSeries.Backlog(BacklogMeasure.Due), waiting.Count(r => r.Expected <= _now));
                    Record(SimulatedSeries.Backlog(BacklogMeasure.Pending), inFlight.Count(r => r.Status == RunStatus.Pending));
                    Record(SimulatedSeries.Backlog(BacklogMeasure.Running), inFlight.Count(r => r.Status == RunStatus.Running));
                    Record(SimulatedSeries.DesiredTasks, _desired);
                    // The busy guard's inputs: in flight is Pending, Running and SCHEDULED runs due before the next
                    // sample; a run on a task that protects itself is covered, a run not yet on a task never is.
                    int soon = waiting.Count(r => r.Status == RunStatus.Scheduled && r.Expected > _now && r.Expected <= _now + _env.SampleIntervalSeconds);
                    Record(SimulatedSeries.Backlog(BacklogMeasure.InFlight), inFlight.Count + soon);
                    Record(SimulatedSeries.UnprotectedInFlight, _env.TasksProtectThemselves ? soon : inFlight.Count + soon);
                    if (_policy.Capacity != null) SampleCapacity(_policy.Capacity, waiting, inFlight);
                }
                if (_pendingFloor is (long at, int pendingFloor) && _now >= at) { _pendingFloor = null; ApplyFloor(pendingFloor); }

                // CloudWatch evaluates each alarm at the end of its period; Application Auto Scaling acts on ALARM.
                foreach (PolicyState p in policies)
                {
                    if (p.Alarm != null && Evaluate(p.Alarm)) InvokeStep(p, p.Alarm);
                    if (p.High != null && Evaluate(p.High)) InvokeTracking(p, p.High, scaleOut: true);
                    if (p.Low != null && Evaluate(p.Low)) InvokeTracking(p, p.Low, scaleOut: false);
                }

                interrupted += Reconcile(inFlight);

                int running = _tasks.Count(t => t.Running);
                taskSeconds += running;
                idleSeconds += _tasks.Count(t => t.Running && t.Runs.Count == 0);
                lateSeconds += waiting.Count(r => r.Status == RunStatus.Late);

                if (_now % _env.TimelineStepSeconds == 0) desiredOverTime.Add(_desired);
                if (timeline && (_now % _env.TimelineStepSeconds == 0 || _events.Count > 0))
                {
                    PolicyState? shown = policies.FirstOrDefault();
                    steps.Add(new PrefectScalingSimulationStep
                    {
                        Policy = _policy.Description,
                        Time = origin.AddSeconds(_now),
                        Backlog = waiting.Count(r => r.Expected <= _now),
                        Late = waiting.Count(r => r.Status == RunStatus.Late),
                        InFlight = inFlight.Count,
                        DesiredTasks = _desired,
                        RunningTasks = running,
                        Metric = (shown?.Alarm ?? shown?.High)?.LastValue,
                        Event = string.Join("; ", _events),
                    });
                }

                // Done when every run has ended and the service is back at its floor.
                if (nextCreated == runs.Count && waiting.Count == 0 && inFlight.Count == 0 && _desired <= floor && _tasks.Count == _desired) break;
            }

            delays.Sort();
            return new PrefectScalingSimulation
            {
                Policy = _policy.Description,
                Kind = _policy.Kind,
                Workload = workloadName,
                Runs = runs.Count,
                StartDelayP50 = Percentile(delays, 0.50),
                StartDelayP95 = Percentile(delays, 0.95),
                StartDelayMax = delays.Count == 0 ? 0 : delays[delays.Count - 1],
                RunsNotStarted = runs.Count(r => r.Status == RunStatus.Future || r.Status == RunStatus.Scheduled || r.Status == RunStatus.Late || r.Status == RunStatus.Pending),
                LateRunMinutes = lateSeconds / 60.0,
                TaskMinutes = taskSeconds / 60.0,
                IdleTaskMinutes = idleSeconds / 60.0,
                FirstScaleOutSeconds = firstLate != null && _firstScaleOut != null ? _firstScaleOut - firstLate : null,
                ScaleEvents = _scaleEvents,
                RunsInterrupted = interrupted,
                Start = origin,
                End = origin.AddSeconds(Math.Min(_now, horizon)),
                Sparkline = SimulationChart.Sparkline(desiredOverTime),
                Timeline = steps,
            };
        }

        /// <summary>Nearest rank.</summary>
        private static double Percentile(List<double> sorted, double p) =>
            sorted.Count == 0 ? 0 : sorted[Math.Max(0, (int)Math.Ceiling(p * sorted.Count) - 1)];

        private void Record(SimulatedSeries series, double value)
        {
            if (!_datapoints.TryGetValue(series, out Dictionary<long, double>? points)) _datapoints[series] = points = new Dictionary<long, double>();
            points[_now] = value;
        }

        /// <summary>A series' statistic over [start, start + period), from the datapoints CloudWatch has by now; null
        /// when it has none ("Statistics" in the CloudWatch concepts).</summary>
        private double? Aggregate(SimulatedSeries series, string statistic, long start, int period)
        {
            if (!_datapoints.TryGetValue(series, out Dictionary<long, double>? points)) return null;
            long visibleUntil = _now - _env.PublisherLatencySeconds;
            var values = new List<double>();
            for (long t = start; t < start + period && t <= visibleUntil; t++)
                if (points.TryGetValue(t, out double v)) values.Add(v);
            if (values.Count == 0) return null;
            return statistic switch
            {
                "Maximum" => values.Max(),
                "Minimum" => values.Min(),
                "Sum" => values.Sum(),
                "SampleCount" => values.Count,
                _ => values.Average(),
            };
        }

        private double? PeriodValue(SimulatedMetric metric, long start, int period)
        {
            if (metric.Expression == null) return Aggregate(metric.Queries[0].Series, metric.Queries[0].Statistic, start, period);
            var values = metric.Queries.ToDictionary(q => q.Id, q => Aggregate(q.Series, q.Statistic, start, period));
            return MetricMath.Evaluate(metric.Expression, values);
        }

        /// <summary>At the end of each period: the last EvaluationPeriods datapoints, M of them breaching puts the alarm
        /// in ALARM; missing ones count as TreatMissingData says ("Configuring how CloudWatch alarms treat missing
        /// data"). Returns whether the alarm's action is invoked now: on entering ALARM and about once a minute while it
        /// stays there.</summary>
        private bool Evaluate(AlarmState state)
        {
            SimulatedAlarm alarm = state.Alarm;
            if (_now % alarm.Period == 0 && _now > 0)
            {
                int breaching = 0, present = 0;
                double? latest = null;
                for (int k = 0; k < alarm.EvaluationPeriods; k++)
                {
                    long start = _now - (long)(k + 1) * alarm.Period;
                    double? value = start < 0 ? null : PeriodValue(alarm.Metric, start, alarm.Period);
                    if (k == 0 || latest == null) latest ??= value;
                    if (value is double v) { present++; if (alarm.Breaches(v)) breaching++; }
                    else if (alarm.TreatMissingData == "breaching") { present++; breaching++; }
                    else if (alarm.TreatMissingData == "notBreaching") present++;
                }
                state.LastValue = latest;
                string next = breaching >= alarm.DatapointsToAlarm ? "ALARM"
                    : present > 0 ? "OK"
                    : alarm.TreatMissingData == "ignore" ? state.State
                    : "INSUFFICIENT_DATA";
                if (next != state.State)
                {
                    _events.Add(Short(alarm.Name) + " " + next);
                    state.State = next;
                    if (next == "ALARM") { state.LastInvoked = _now; return true; }
                }
            }
            if (state.State == "ALARM" && _now >= state.LastInvoked + _env.AlarmReinvokeSeconds) { state.LastInvoked = _now; return true; }
            return false;
        }

        /// <summary>Step scaling ("Step scaling policies for Application Auto Scaling"): the step whose bounds, relative
        /// to the alarm threshold, hold the metric (above the threshold the lower bound is inclusive, below it the upper
        /// bound is); during the cooldown a scale-out adds only what a larger step asks beyond the capacity the cooldown
        /// started from; a scale-in waits out its cooldown, which a scale-out ends.</summary>
        private void InvokeStep(PolicyState p, AlarmState alarm)
        {
            if (alarm.LastValue is not double value) return;
            SimulatedScalingPolicy policy = p.Policy;
            SimulatedStep? step = FindStep(policy.Steps, value - alarm.Alarm.Threshold, alarm.Alarm.IsAbove);
            if (step == null) return;
            bool inCooldown = _now < p.OutCooldownUntil;
            int from = inCooldown ? p.CooldownBase : _desired;
            int wanted = Adjust(policy, from, step.Adjustment);
            if (wanted > _desired)
            {
                if (!inCooldown) { p.CooldownBase = _desired; p.OutCooldownUntil = _now + policy.Cooldown; }
                EndScaleInCooldowns();
                SetDesired(wanted, policy.Name);
            }
            else if (wanted < _desired)
            {
                if (_now < p.InCooldownUntil) return;
                p.InCooldownUntil = _now + policy.Cooldown;
                SetDesired(Adjust(policy, _desired, step.Adjustment), policy.Name);
            }
        }

        public static SimulatedStep? FindStep(IEnumerable<SimulatedStep> steps, double difference, bool aboveThreshold) => steps.FirstOrDefault(s => aboveThreshold
            ? (s.LowerBound == null || difference >= s.LowerBound) && (s.UpperBound == null || difference < s.UpperBound)
            : (s.LowerBound == null || difference > s.LowerBound) && (s.UpperBound == null || difference <= s.UpperBound));

        /// <summary>ChangeInCapacity, ExactCapacity and PercentChangeInCapacity (over 1 rounds down, 0..1 is 1, -1..0 is -1,
        /// under -1 rounds up; MinAdjustmentMagnitude is the least change), as the step scaling guide defines them.</summary>
        public static int Adjust(SimulatedScalingPolicy policy, int current, int adjustment)
        {
            switch (policy.AdjustmentType)
            {
                case "ExactCapacity": return adjustment;
                case "PercentChangeInCapacity":
                    double change = current * adjustment / 100.0;
                    int rounded = change > 1 ? (int)Math.Floor(change) : change > 0 ? 1 : change >= -1 && change < 0 ? -1 : change < -1 ? (int)Math.Ceiling(change) : 0;
                    if (policy.MinAdjustmentMagnitude is int min && Math.Abs(rounded) < min && rounded != 0) rounded = Math.Sign(rounded) * min;
                    return current + rounded;
                default: return current + adjustment;
            }
        }

        /// <summary>Target tracking ("Target tracking scaling policies for Application Auto Scaling"): from the running
        /// count proportionally to metric / target (the formula is a parameter); at zero tasks the minimum amount; a
        /// scale-out during its cooldown only when larger; scale-in after its cooldown, which a scale-out ends.</summary>
        private void InvokeTracking(PolicyState p, AlarmState alarm, bool scaleOut)
        {
            if (alarm.LastValue is not double metric) return;
            SimulatedScalingPolicy policy = p.Policy;
            int current = _tasks.Count(t => t.Running);
            if (scaleOut)
            {
                int wanted = current == 0 ? (_env.TargetTrackingLeavesZero ? 1 : 0) : _env.ProportionalCapacity(current, metric, policy.TargetValue);
                if (wanted <= _desired) return;
                p.OutCooldownUntil = _now + policy.ScaleOutCooldown;
                EndScaleInCooldowns();
                SetDesired(wanted, policy.Name);
            }
            else
            {
                if (_now < p.InCooldownUntil) return;
                int wanted = _env.ProportionalCapacity(current, metric, policy.TargetValue);
                if (wanted >= _desired) return;
                p.InCooldownUntil = _now + policy.ScaleInCooldown;
                SetDesired(wanted, policy.Name);
            }
        }

        /// <summary>A scale-out interrupts the scale-in cooldown; the policies share one target, so every policy's.</summary>
        private void EndScaleInCooldowns()
        {
            foreach (PolicyState p in _states) p.InCooldownUntil = long.MinValue;
        }

        /// <summary>A policy or alarm as the timeline names it: the module's suffix (out, in, wake), or its own name.</summary>
        private static string Short(string name)
        {
            int colon = name.LastIndexOf(':');
            return colon >= 0 ? name.Substring(colon + 1) : name.StartsWith("PrefectScaling", StringComparison.Ordinal) ? "tracking" : name;
        }

        /// <summary>Min and max clamp every policy change (ECS "Automatically scale your Amazon ECS service").</summary>
        private int Clamp(int capacity) => Math.Max(_min, Math.Min(_policy.MaxCapacity, capacity));

        /// <summary>A capacity policy's publisher at a sample: it counts Due (Late included), InFlight (Pending and
        /// Running, and Scheduled runs due within the look-ahead of one sample interval) and Upcoming (Scheduled runs
        /// due after that, within the lead time), publishes the requirement, and, raising the target's MinCapacity, applies it
        /// once its calls are done (the publisher's latency). No task protection is modelled, so every in-flight run is
        /// unprotected and the busy guard allows no scale-in while there is one.</summary>
        private void SampleCapacity(SimulatedCapacity capacity, List<RunState> waiting, List<RunState> inFlight)
        {
            long lookahead = _env.SampleIntervalSeconds;
            long lead = Math.Max(lookahead, capacity.LeadSeconds ?? _env.TaskStartSeconds + _env.SampleIntervalSeconds);
            int due = waiting.Count(r => r.Expected <= _now);
            int soon = waiting.Count(r => r.Expected > _now && r.Expected <= _now + lookahead);
            int upcoming = waiting.Count(r => r.Expected > _now + lookahead && r.Expected <= _now + lead);
            int held = inFlight.Count;
            Capacity.CapacityRequirement requirement = Capacity.CapacityRequirement.Compute(due, upcoming, held + soon, capacity.RunsPerTask, _policy.MinCapacity, _policy.MaxCapacity);
            int floor = requirement.FloorWithGuard(_desired, held + soon);
            if (capacity.Mechanism == CapacityMechanism.RaiseMinimum)
            {
                Record(SimulatedSeries.RequiredTasks, requirement.RequiredTasks);
                _pendingFloor = (_now + _env.PublisherLatencySeconds, floor);
            }
            else
            {
                // The alarm-driven candidate has no floor to hold: its scale-in alarm must see the guard in the metric.
                Record(SimulatedSeries.RequiredTasks, floor);
            }
        }

        /// <summary>RegisterScalableTarget with a new MinCapacity: a desired count below it moves up at once.</summary>
        private void ApplyFloor(int floor)
        {
            if (floor == _min) return;
            _events.Add("min " + _min.ToString(CultureInfo.InvariantCulture) + " -> " + floor.ToString(CultureInfo.InvariantCulture));
            _min = floor;
            if (_desired < _min) SetDesired(_min, "capacity");
        }

        private void SetDesired(int wanted, string by)
        {
            int next = Clamp(wanted);
            if (next == _desired) return;
            if (next > _desired) _firstScaleOut ??= _now;
            _events.Add("scale " + (next > _desired ? "out " : "in ") + _desired.ToString(CultureInfo.InvariantCulture) + " -> " + next.ToString(CultureInfo.InvariantCulture) + " (" + Short(by) + ")");
            _desired = next;
            _scaleEvents++;
        }

        /// <summary>ECS launches tasks up to the desired count and stops the surplus (in <see cref="TaskStopOrder"/>,
        /// skipping protected tasks); the runs inside a stopped task are interrupted. Returns how many.</summary>
        private int Reconcile(List<RunState> inFlight)
        {
            while (_tasks.Count < _desired) _tasks.Add(new SimTask { Id = _nextTaskId++, LaunchedAt = _now });
            int interrupted = 0;
            while (_tasks.Count > _desired)
            {
                // A protected task (busy, with TasksProtectThemselves) is not stopped: the service stays above its
                // desired count until the task is idle again.
                List<SimTask> stoppable = _tasks.Where(t => !(_env.TasksProtectThemselves && t.Runs.Count > 0)).ToList();
                if (stoppable.Count == 0) break;
                SimTask victim = stoppable.FirstOrDefault(t => !t.Running)
                    ?? (_env.TaskStopOrder == TaskStopOrder.NewestFirst ? stoppable.OrderByDescending(t => t.LaunchedAt).ThenByDescending(t => t.Id).First() : stoppable.OrderBy(t => t.LaunchedAt).ThenBy(t => t.Id).First());
                foreach (RunState r in victim.Runs)
                {
                    r.Status = RunStatus.Interrupted;
                    inFlight.Remove(r);
                    interrupted++;
                }
                if (victim.Runs.Count > 0) _events.Add(victim.Runs.Count + " run(s) interrupted");
                victim.Runs.Clear();
                _tasks.Remove(victim);
            }
            return interrupted;
        }
    }
}
