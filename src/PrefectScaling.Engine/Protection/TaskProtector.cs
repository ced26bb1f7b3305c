using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;
using PrefectScaling.Bindings;

namespace PrefectScaling.Protection
{
    /// <summary>What task protection did for one binding in one cycle.</summary>
    public sealed class BindingProtection
    {
        internal BindingProtection(ServiceBinding binding)
        {
            Binding = binding;
        }

        public ServiceBinding Binding { get; }

        /// <summary>Each in-flight run read, with its task or why it has none.</summary>
        public IReadOnlyList<RunMapping> Mappings { get; internal set; } = Array.Empty<RunMapping>();

        /// <summary>The ids of the busy tasks that are protected now (set or refreshed this cycle, or still within
        /// the expiry this publisher set a moment ago).</summary>
        public IReadOnlyList<string> ProtectedTasks { get; internal set; } = Array.Empty<string>();

        /// <summary>Task ids this cycle set or refreshed (the rest of <see cref="ProtectedTasks"/> needed no call yet).</summary>
        public IReadOnlyList<string> Refreshed { get; internal set; } = Array.Empty<string>();

        /// <summary>The ids of the idle tasks whose protection (this publisher's, set last cycle) was released.</summary>
        public IReadOnlyList<string> ReleasedTasks { get; internal set; } = Array.Empty<string>();

        /// <summary>The in-flight runs on no task that is protected now, each with why: no task found for it, or its
        /// task's protection failed.</summary>
        public IReadOnlyList<(InFlightRun Run, string Why)> UnprotectedRuns { get; internal set; } = Array.Empty<(InFlightRun, string)>();

        /// <summary>Runs on a task that is protected now.</summary>
        public int ProtectedRuns { get; internal set; }

        /// <summary>Why protection covered nothing this cycle (the runs or the tasks could not be read, or the
        /// protect call failed): every in-flight run then counts as unprotected.</summary>
        public Exception? Failure { get; internal set; }

        /// <summary>With -WhatIf: what would be done, nothing was changed.</summary>
        public bool DryRun { get; internal set; }

        /// <summary>The busy guard's input: the in-flight runs not on a protected task. With the binding's InFlight
        /// total (which also counts runs about to be claimed, on no task yet), the larger of the runs read here that
        /// are unprotected and the total less those that are protected, so that a run that came or went between the
        /// two reads never lowers it. Null when protection failed and no total is known.</summary>
        public double? UnprotectedInFlight(double? inFlightTotal)
        {
            if (Failure != null) return inFlightTotal;
            double listed = UnprotectedRuns.Count;
            return inFlightTotal is double total ? Math.Max(listed, Math.Max(0, total - ProtectedRuns)) : listed;
        }

        public override string ToString() => Binding.ResourceId + ": " + (Failure != null
            ? "no protection (" + Failure.Message + ")"
            : ProtectedTasks.Count + " task(s) protected, " + ReleasedTasks.Count + " released, " + UnprotectedRuns.Count + " run(s) unprotected");
    }

    /// <summary>Protects the tasks of a service that are running flows, and releases the ones this publisher
    /// protected that went idle: UpdateTaskProtection with a short expiry, refreshed while the task stays busy. It
    /// never releases a task it did not protect in its last cycle (an in-container protector's protection is left to
    /// it), and releases nothing while any in-flight run cannot be tied to a task (such a run may be on any of them).
    /// One instance lives as long as the publisher's execution environment; what it protected is forgotten with it,
    /// and such a protection then simply expires.</summary>
    public sealed class TaskProtector
    {
        /// <summary>A few one-minute cycles: long enough to outlive a missed cycle, short enough that a task protected
        /// by a publisher that stopped is free soon after.</summary>
        public const int DefaultExpiresInMinutes = 10;

        private readonly Dictionary<string, Dictionary<string, DateTimeOffset>> _protected = new Dictionary<string, Dictionary<string, DateTimeOffset>>(StringComparer.Ordinal);
        private readonly object _lock = new object();
        private readonly Func<DateTimeOffset> _clock;

        public TaskProtector(int expiresInMinutes = DefaultExpiresInMinutes, Func<DateTimeOffset>? clock = null)
        {
            if (expiresInMinutes < EcsServiceTasks.MinExpiresInMinutes || expiresInMinutes > EcsServiceTasks.MaxExpiresInMinutes)
                throw new ArgumentOutOfRangeException(nameof(expiresInMinutes), expiresInMinutes, "A protection expires in 1 to 2880 minutes.");
            ExpiresInMinutes = expiresInMinutes;
            _clock = clock ?? (() => DateTimeOffset.UtcNow);
        }

        public int ExpiresInMinutes { get; }

        /// <summary>A protection this publisher set is refreshed once less than this is left of it: about once a
        /// minute, however often the publisher samples.</summary>
        private TimeSpan RefreshWhenLeft => TimeSpan.FromMinutes(ExpiresInMinutes - 1);

        /// <summary>One cycle for one binding. <paramref name="runs"/> is the binding's in-flight runs, or null with
        /// <paramref name="runsFailure"/> when they could not be read. With <paramref name="apply"/> false nothing is
        /// changed: the result says what would be.</summary>
        public async Task<BindingProtection> ProtectAsync(AwsContext aws, ServiceBinding binding, IReadOnlyList<InFlightRun>? runs, Exception? runsFailure, bool apply, IEngineLog log, CancellationToken cancellationToken)
        {
            var result = new BindingProtection(binding) { DryRun = !apply };
            if (runs == null)
            {
                result.Failure = runsFailure ?? new InvalidOperationException("The in-flight runs were not read.");
                return result;
            }

            IReadOnlyList<EcsServiceTask> tasks;
            try
            {
                tasks = await EcsServiceTasks.ListAsync(aws, binding.Cluster, binding.Service, log, cancellationToken).ConfigureAwait(false);
            }
            catch (AwsApiException e)
            {
                result.Failure = e;
                result.Mappings = runs.Select(r => new RunMapping(r, null, RunTaskLink.None, "the service's tasks could not be listed")).ToList();
                result.UnprotectedRuns = runs.Select(r => (r, "the service's tasks could not be listed: " + e.Message)).ToList();
                return result;
            }

            IReadOnlyList<RunMapping> mappings = RunTaskMap.Map(runs, tasks);
            result.Mappings = mappings;
            var busy = mappings.Where(m => m.Task != null).Select(m => m.Task!.TaskArn).Distinct(StringComparer.Ordinal).OrderBy(a => a, StringComparer.Ordinal).ToList();
            var listed = new HashSet<string>(tasks.Select(t => t.TaskArn), StringComparer.Ordinal);
            DateTimeOffset now = _clock();
            Dictionary<string, DateTimeOffset> mine = Mine(binding);

            // Still well within the expiry this publisher set: no call needed yet.
            var covered = busy.Where(a => mine.TryGetValue(a, out DateTimeOffset until) && until - now > RefreshWhenLeft).ToList();
            var toProtect = busy.Except(covered, StringComparer.Ordinal).ToList();
            var refused = new Dictionary<string, string>(StringComparer.Ordinal);
            var nowProtected = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            foreach (string arn in covered) nowProtected[arn] = mine[arn];
            if (toProtect.Count > 0)
            {
                if (!apply)
                {
                    foreach (string arn in toProtect) nowProtected[arn] = now.AddMinutes(ExpiresInMinutes);
                }
                else
                {
                    try
                    {
                        TaskProtectionAnswer answer = await EcsServiceTasks.UpdateAsync(aws, binding.Cluster, toProtect, true, ExpiresInMinutes, log, cancellationToken).ConfigureAwait(false);
                        foreach (TaskProtectionState state in answer.Tasks.Where(t => t.Enabled))
                            nowProtected[state.TaskArn] = state.Expires ?? now.AddMinutes(ExpiresInMinutes);
                        foreach (string arn in toProtect.Where(a => !nowProtected.ContainsKey(a)))
                            refused[arn] = answer.Failures.TryGetValue(arn, out string? why) ? why
                                : answer.Failures.TryGetValue(EcsServiceTask.IdOf(arn), out why) ? why : "ECS did not say it is protected";
                    }
                    catch (AwsApiException e)
                    {
                        // A failed call protects nothing it was asked for, as far as the guard knows.
                        result.Failure = e;
                        foreach (string arn in toProtect) refused[arn] = e.Message;
                    }
                }
                result.Refreshed = toProtect.Where(nowProtected.ContainsKey).Select(EcsServiceTask.IdOf).ToList();
            }

            var unprotected = new List<(InFlightRun, string)>();
            int protectedRuns = 0;
            foreach (RunMapping mapping in mappings)
            {
                if (mapping.Task == null) unprotected.Add((mapping.Run, mapping.Why ?? "no task found"));
                else if (nowProtected.ContainsKey(mapping.Task.TaskArn)) protectedRuns++;
                else unprotected.Add((mapping.Run, "its task " + mapping.Task.TaskId + " could not be protected: " + (refused.TryGetValue(mapping.Task.TaskArn, out string? why) ? why : "unknown")));
            }
            result.UnprotectedRuns = unprotected;
            result.ProtectedRuns = protectedRuns;
            result.ProtectedTasks = nowProtected.Keys.OrderBy(a => a, StringComparer.Ordinal).Select(EcsServiceTask.IdOf).ToList();

            // Release only what this publisher protected, what is idle, and only when every run has its task.
            var keep = new Dictionary<string, DateTimeOffset>(nowProtected, StringComparer.Ordinal);
            var idle = mine.Keys.Where(a => !busy.Contains(a, StringComparer.Ordinal) && listed.Contains(a) && mine[a] > now).OrderBy(a => a, StringComparer.Ordinal).ToList();
            bool everyRunMapped = mappings.All(m => m.Task != null);
            if (idle.Count > 0 && everyRunMapped && result.Failure == null)
            {
                if (!apply) result.ReleasedTasks = idle.Select(EcsServiceTask.IdOf).ToList();
                else
                {
                    try
                    {
                        TaskProtectionAnswer answer = await EcsServiceTasks.UpdateAsync(aws, binding.Cluster, idle, false, ExpiresInMinutes, log, cancellationToken).ConfigureAwait(false);
                        var released = answer.Tasks.Where(t => !t.Enabled).Select(t => t.TaskArn).ToList();
                        result.ReleasedTasks = released.Select(EcsServiceTask.IdOf).ToList();
                        foreach (string arn in idle.Except(released, StringComparer.Ordinal)) keep[arn] = mine[arn];
                    }
                    catch (AwsApiException e)
                    {
                        // Tried again next cycle; until then the protection runs out by itself.
                        log.Verbose("Releasing idle tasks of " + binding.ResourceId + " failed: " + e.Message);
                        foreach (string arn in idle) keep[arn] = mine[arn];
                    }
                }
            }
            else
            {
                foreach (string arn in idle) keep[arn] = mine[arn];
            }
            if (apply) Remember(binding, keep);
            log.Verbose("Task protection of " + result);
            return result;
        }

        private Dictionary<string, DateTimeOffset> Mine(ServiceBinding binding)
        {
            lock (_lock)
                return _protected.TryGetValue(binding.ResourceId, out var known) ? new Dictionary<string, DateTimeOffset>(known, StringComparer.Ordinal) : new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        }

        private void Remember(ServiceBinding binding, Dictionary<string, DateTimeOffset> protectedTasks)
        {
            lock (_lock) _protected[binding.ResourceId] = protectedTasks;
        }
    }
}
