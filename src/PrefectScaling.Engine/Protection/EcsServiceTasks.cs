using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Protection
{
    /// <summary>One running task of a service, with what a flow run can be tied to it by.</summary>
    public sealed class EcsServiceTask
    {
        public EcsServiceTask(string taskArn, string? lastStatus, IReadOnlyList<string> privateIps, IReadOnlyList<string> privateDnsNames, IReadOnlyList<string> runtimeIds)
        {
            TaskArn = taskArn;
            LastStatus = lastStatus;
            PrivateIps = privateIps;
            PrivateDnsNames = privateDnsNames;
            RuntimeIds = runtimeIds;
        }

        public string TaskArn { get; }

        /// <summary>The last segment of the ARN: what a worker started by the module's entrypoint names itself after.</summary>
        public string TaskId => IdOf(TaskArn);

        public string? LastStatus { get; }

        /// <summary>The private IPv4 addresses of its ENI (awsvpc) and of its containers' network interfaces.</summary>
        public IReadOnlyList<string> PrivateIps { get; }

        public IReadOnlyList<string> PrivateDnsNames { get; }

        /// <summary>Its containers' Docker ids (EC2): a bridge-mode container's hostname is a prefix of one.</summary>
        public IReadOnlyList<string> RuntimeIds { get; }

        public static string IdOf(string taskArn) => taskArn.Substring(taskArn.LastIndexOf('/') + 1);

        public override string ToString() => TaskId;
    }

    /// <summary>A task's protection as ECS answered it.</summary>
    public sealed class TaskProtectionState
    {
        public TaskProtectionState(string taskArn, bool enabled, DateTimeOffset? expires)
        {
            TaskArn = taskArn;
            Enabled = enabled;
            Expires = expires;
        }

        public string TaskArn { get; }
        public bool Enabled { get; }
        public DateTimeOffset? Expires { get; }
    }

    /// <summary>What an UpdateTaskProtection or GetTaskProtection answered: the tasks it covered, and those it refused with why.</summary>
    public sealed class TaskProtectionAnswer
    {
        public List<TaskProtectionState> Tasks { get; } = new List<TaskProtectionState>();

        /// <summary>By task ARN (or id as sent): reason and detail, e.g. MISSING, TASK_NOT_VALID, DEPLOYMENT_BLOCKED.</summary>
        public Dictionary<string, string> Failures { get; } = new Dictionary<string, string>(StringComparer.Ordinal);
    }

    /// <summary>ECS's task calls for one service: its running tasks (ListTasks, paged, then DescribeTasks, 100 a call)
    /// and their scale-in protection (UpdateTaskProtection, 10 a call; GetTaskProtection, 100 a call).</summary>
    public static class EcsServiceTasks
    {
        public const int DescribeBatch = 100;
        public const int UpdateBatch = 10;
        public const int MinExpiresInMinutes = 1;
        public const int MaxExpiresInMinutes = 2880;

        /// <summary>A bound on the listing: ListTasks pages of 100; a service with more tasks than this is not one
        /// a publisher binding is meant for, and its protection fails rather than run on.</summary>
        public const int MaxListPages = 50;

        /// <summary>The service's tasks whose desired status is RUNNING. Only tasks whose group is the service's are
        /// kept: the listing's serviceName filter is what ECS applies, this is the proof.</summary>
        public static async Task<IReadOnlyList<EcsServiceTask>> ListAsync(AwsContext aws, string cluster, string service, IEngineLog log, CancellationToken cancellationToken)
        {
            var arns = new List<string>();
            string? next = null;
            for (int page = 0; ; page++)
            {
                if (page >= MaxListPages)
                    throw new AwsApiException(AwsErrorKind.ServiceError, "ECS", "ListTasks", "The service " + service + " of cluster " + cluster + " still listed tasks after " + MaxListPages + " pages; the listing stops there.");
                var input = new JsonObject { ["cluster"] = cluster, ["serviceName"] = service, ["desiredStatus"] = "RUNNING", ["maxResults"] = 100 };
                if (next != null) input["nextToken"] = next;
                JsonNode? answer = await aws.InvokeAsync(AwsOperations.Ecs.ListTasks, input, log, cancellationToken).ConfigureAwait(false);
                foreach (JsonNode? arn in answer?["taskArns"] as JsonArray ?? new JsonArray())
                    if ((string?)arn is string text && !arns.Contains(text, StringComparer.Ordinal)) arns.Add(text);
                next = (string?)answer?["nextToken"];
                if (string.IsNullOrEmpty(next)) break;
            }

            var tasks = new List<EcsServiceTask>();
            string group = "service:" + service;
            for (int start = 0; start < arns.Count; start += DescribeBatch)
            {
                var batch = new JsonArray(arns.Skip(start).Take(DescribeBatch).Select(a => (JsonNode?)JsonValue.Create(a)).ToArray());
                JsonNode? answer = await aws.InvokeAsync(AwsOperations.Ecs.DescribeTasks, new JsonObject { ["cluster"] = cluster, ["tasks"] = batch }, log, cancellationToken).ConfigureAwait(false);
                foreach (JsonObject task in (answer?["tasks"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                {
                    if ((string?)task["group"] != group || !((string?)task["taskArn"] is string arn)) continue;
                    tasks.Add(Parse(arn, task));
                }
            }
            return tasks;
        }

        internal static EcsServiceTask Parse(string arn, JsonObject task)
        {
            var ips = new List<string>();
            var names = new List<string>();
            foreach (JsonObject attachment in (task["attachments"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
            {
                if ((string?)attachment["type"] != "ElasticNetworkInterface" && (string?)attachment["type"] != "eni") continue;
                foreach (JsonObject detail in (attachment["details"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                {
                    string? value = (string?)detail["value"];
                    if (string.IsNullOrEmpty(value)) continue;
                    if ((string?)detail["name"] == "privateIPv4Address") Add(ips, value!);
                    else if ((string?)detail["name"] == "privateDnsName") Add(names, value!);
                }
            }
            var runtimeIds = new List<string>();
            foreach (JsonObject container in (task["containers"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
            {
                if ((string?)container["runtimeId"] is string runtime && runtime.Length > 0) Add(runtimeIds, runtime);
                foreach (JsonObject nic in (container["networkInterfaces"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                    if ((string?)nic["privateIpv4Address"] is string ip && ip.Length > 0) Add(ips, ip);
            }
            return new EcsServiceTask(arn, (string?)task["lastStatus"], ips, names, runtimeIds);
        }

        private static void Add(List<string> list, string value)
        {
            if (!list.Contains(value, StringComparer.OrdinalIgnoreCase)) list.Add(value);
        }

        /// <summary>Sets or clears the protection of tasks, ten a call. A call that fails fails the rest: what was
        /// answered before it is in the exception's data only as far as the caller kept it, so callers treat the
        /// tasks as unprotected.</summary>
        public static async Task<TaskProtectionAnswer> UpdateAsync(AwsContext aws, string cluster, IReadOnlyList<string> taskArns, bool enabled, int expiresInMinutes, IEngineLog log, CancellationToken cancellationToken)
        {
            if (enabled && (expiresInMinutes < MinExpiresInMinutes || expiresInMinutes > MaxExpiresInMinutes))
                throw new ArgumentOutOfRangeException(nameof(expiresInMinutes), expiresInMinutes, "A protection expires in " + MinExpiresInMinutes + " to " + MaxExpiresInMinutes + " minutes.");
            var result = new TaskProtectionAnswer();
            for (int start = 0; start < taskArns.Count; start += UpdateBatch)
            {
                var input = new JsonObject
                {
                    ["cluster"] = cluster,
                    ["tasks"] = new JsonArray(taskArns.Skip(start).Take(UpdateBatch).Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()),
                    ["protectionEnabled"] = enabled,
                };
                if (enabled) input["expiresInMinutes"] = expiresInMinutes;
                Read(await aws.InvokeAsync(AwsOperations.Ecs.UpdateTaskProtection, input, log, cancellationToken).ConfigureAwait(false), result);
            }
            return result;
        }

        /// <summary>The protection of tasks, a hundred a call.</summary>
        public static async Task<TaskProtectionAnswer> GetAsync(AwsContext aws, string cluster, IReadOnlyList<string> taskArns, IEngineLog log, CancellationToken cancellationToken)
        {
            var result = new TaskProtectionAnswer();
            for (int start = 0; start < taskArns.Count; start += DescribeBatch)
            {
                var input = new JsonObject
                {
                    ["cluster"] = cluster,
                    ["tasks"] = new JsonArray(taskArns.Skip(start).Take(DescribeBatch).Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()),
                };
                Read(await aws.InvokeAsync(AwsOperations.Ecs.GetTaskProtection, input, log, cancellationToken).ConfigureAwait(false), result);
            }
            return result;
        }

        private static void Read(JsonNode? answer, TaskProtectionAnswer result)
        {
            foreach (JsonObject task in (answer?["protectedTasks"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
            {
                if (!((string?)task["taskArn"] is string arn)) continue;
                result.Tasks.Add(new TaskProtectionState(arn, (bool?)task["protectionEnabled"] ?? false, Timestamp(task["expirationDate"])));
            }
            foreach (JsonObject failure in (answer?["failures"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
            {
                string arn = (string?)failure["arn"] ?? string.Empty;
                string reason = (string?)failure["reason"] ?? "unknown";
                result.Failures[arn] = (string?)failure["detail"] is string detail && detail.Length > 0 ? reason + " (" + detail + ")" : reason;
            }
        }

        /// <summary>ECS's JSON protocol sends timestamps as epoch seconds.</summary>
        private static DateTimeOffset? Timestamp(JsonNode? value)
        {
            if (value is JsonValue v)
            {
                if (v.TryGetValue(out double seconds)) return DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Round(seconds * 1000));
                if (v.TryGetValue(out string? text) && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset at)) return at;
            }
            return null;
        }
    }
}
