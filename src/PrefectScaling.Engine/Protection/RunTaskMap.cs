using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;

namespace PrefectScaling.Protection
{
    /// <summary>An in-flight flow run as the publisher reads it: what its worker or agent left on it.</summary>
    public sealed class InFlightRun
    {
        public InFlightRun(string id, string? name, string? stateType, string? workerName, string? infrastructurePid)
        {
            Id = id;
            Name = name;
            StateType = stateType;
            WorkerName = workerName;
            InfrastructurePid = infrastructurePid;
        }

        public string Id { get; }
        public string? Name { get; }

        /// <summary>PENDING, RUNNING or CANCELLING.</summary>
        public string? StateType { get; }

        /// <summary>labels["prefect.worker.name"]: set by every 3.1.9+ worker on the runs it submits.</summary>
        public string? WorkerName { get; }

        /// <summary>"hostname:pid" (2.x agents and workers, 3.0 to 3.2.7), "pid" (3.2.8+), or another infrastructure's form.</summary>
        public string? InfrastructurePid { get; }

        public override string ToString() => Id + (Name == null ? string.Empty : " (" + Name + ")");
    }

    /// <summary>How a run was tied to a task.</summary>
    public enum RunTaskLink
    {
        /// <summary>Not tied to any task of the service: see <see cref="RunMapping.Why"/>.</summary>
        None,

        /// <summary>The worker's name carries the task id (the module's entrypoint starts it as ecs-&lt;taskId&gt;).</summary>
        WorkerName,

        /// <summary>infrastructure_pid's host is the task's private IP, its DNS name, an ip-a-b-c-d name of that IP,
        /// the prefix of a container's id (bridge mode), or starts with the task id.</summary>
        Hostname,
    }

    /// <summary>One run and the task it runs on, or why none could be found.</summary>
    public sealed class RunMapping
    {
        public RunMapping(InFlightRun run, EcsServiceTask? task, RunTaskLink link, string? why)
        {
            Run = run;
            Task = task;
            Link = link;
            Why = why;
        }

        public InFlightRun Run { get; }
        public EcsServiceTask? Task { get; }
        public RunTaskLink Link { get; }

        /// <summary>Why the run is not tied to a task; null when it is.</summary>
        public string? Why { get; }

        public override string ToString() => Run + (Task != null ? " -> " + Task.TaskId + " (" + Link + ")" : ": " + Why);
    }

    /// <summary>Ties in-flight runs to the service's tasks, best link first: the worker's name (labels
    /// "prefect.worker.name", Prefect 3.1.9+) naming a task's id, then infrastructure_pid's host part (2.x and
    /// 3.0 to 3.2.7 write "hostname:pid") against the tasks' private addresses. Pure: the same runs and tasks always
    /// map the same way.</summary>
    public static class RunTaskMap
    {
        /// <summary>ip-10-0-4-168, ip-10-0-4-168.ec2.internal, ip-10-0-4-168.eu-west-1.compute.internal: Amazon's
        /// IP-based names. Only the IP is compared, since the suffix depends on the region and DHCP options.</summary>
        private static readonly Regex IpName = new Regex(@"^ip-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(\.|$)", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);

        private static readonly Regex DottedIp = new Regex(@"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$", RegexOptions.CultureInvariant);
        private static readonly Regex ShortContainerId = new Regex("^[0-9a-f]{12,64}$", RegexOptions.CultureInvariant);

        public static IReadOnlyList<RunMapping> Map(IEnumerable<InFlightRun> runs, IReadOnlyList<EcsServiceTask> tasks)
        {
            if (runs == null) throw new ArgumentNullException(nameof(runs));
            if (tasks == null) throw new ArgumentNullException(nameof(tasks));
            return runs.Select(run => MapOne(run, tasks)).ToList();
        }

        public static RunMapping MapOne(InFlightRun run, IReadOnlyList<EcsServiceTask> tasks)
        {
            var why = new List<string>();
            if (!string.IsNullOrEmpty(run.WorkerName))
            {
                EcsServiceTask? named = ByWorkerName(run.WorkerName!, tasks);
                if (named != null) return new RunMapping(run, named, RunTaskLink.WorkerName, null);
                why.Add("its worker '" + run.WorkerName + "' names no running task of the service");
            }

            string? pid = run.InfrastructurePid;
            if (string.IsNullOrEmpty(pid))
            {
                why.Add(run.StateType == "PENDING" ? "it is PENDING and has no infrastructure_pid yet" : "it has no infrastructure_pid");
            }
            else
            {
                int colon = pid!.LastIndexOf(':');
                if (colon <= 0)
                    why.Add("its infrastructure_pid '" + pid + "' has no host (Prefect 3.2.8+ process workers write the pid alone): start the worker with --name ecs-<task id>");
                else
                {
                    string host = pid.Substring(0, colon);
                    EcsServiceTask? byHost = ByHostname(host, tasks);
                    if (byHost != null) return new RunMapping(run, byHost, RunTaskLink.Hostname, null);
                    why.Add("its host '" + host + "' (from infrastructure_pid) matches no running task's private IP, DNS name or container id");
                }
            }
            if (run.WorkerName == null) why.Add("it has no prefect.worker.name label (Prefect 2.x, or before 3.1.9)");
            return new RunMapping(run, null, RunTaskLink.None, string.Join("; ", why));
        }

        /// <summary>The task whose id the worker name is, or ends with after a separator (ecs-&lt;taskId&gt;).</summary>
        internal static EcsServiceTask? ByWorkerName(string workerName, IReadOnlyList<EcsServiceTask> tasks)
        {
            foreach (EcsServiceTask task in tasks)
            {
                string id = task.TaskId;
                if (id.Length == 0) continue;
                if (string.Equals(workerName, id, StringComparison.OrdinalIgnoreCase)) return task;
                if (workerName.Length > id.Length && workerName.EndsWith(id, StringComparison.OrdinalIgnoreCase) && !char.IsLetterOrDigit(workerName[workerName.Length - id.Length - 1]))
                    return task;
            }
            return null;
        }

        /// <summary>The task a hostname belongs to. Host mode (the instance's name, shared by every task on it)
        /// matches no task's address, so it stays unmapped, which is the safe side.</summary>
        internal static EcsServiceTask? ByHostname(string host, IReadOnlyList<EcsServiceTask> tasks)
        {
            host = host.Trim();
            if (host.Length == 0) return null;
            string? ip = null;
            Match named = IpName.Match(host);
            if (named.Success) ip = string.Join(".", named.Groups[1].Value, named.Groups[2].Value, named.Groups[3].Value, named.Groups[4].Value);
            else if (DottedIp.IsMatch(host)) ip = host;

            List<EcsServiceTask> hits = tasks.Where(t =>
                (ip != null && t.PrivateIps.Contains(ip, StringComparer.Ordinal)) ||
                t.PrivateDnsNames.Any(n => string.Equals(n, host, StringComparison.OrdinalIgnoreCase)) ||
                (ShortContainerId.IsMatch(host) && t.RuntimeIds.Any(r => r.StartsWith(host, StringComparison.OrdinalIgnoreCase))) ||
                // Fargate without VPC DNS hostnames: <task id>-<n> (seen in the field, not documented).
                (t.TaskId.Length >= 32 && host.StartsWith(t.TaskId + "-", StringComparison.OrdinalIgnoreCase))).ToList();
            // Two tasks with one address (a reused IP, say) cannot be told apart: neither is chosen.
            return hits.Count == 1 ? hits[0] : null;
        }
    }
}
