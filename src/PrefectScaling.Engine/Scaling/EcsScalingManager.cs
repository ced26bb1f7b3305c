using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Scaling
{
    /// <summary>What exists now for a service: its scalable target and the policies and alarms the module manages.</summary>
    public sealed class EcsScalingState
    {
        public string Cluster { get; internal set; } = string.Empty;
        public string Service { get; internal set; } = string.Empty;
        public JsonObject? Target { get; internal set; }
        public List<JsonObject> Policies { get; } = new List<JsonObject>();
        public List<JsonObject> Alarms { get; } = new List<JsonObject>();
    }

    /// <summary>Reads, plans and applies the scalable target, scaling policies and alarms of one ECS service.
    /// Plans compare what exists with what is wanted, so running the same Set again changes nothing.</summary>
    public sealed class EcsScalingManager
    {
        private readonly AwsContext _aws;

        public EcsScalingManager(AwsContext aws)
        {
            _aws = aws;
        }

        /// <summary>ECS DescribeServices: a clear error, before any change, when the service is not there.</summary>
        public async Task EnsureServiceExistsAsync(string cluster, string service, IEngineLog log, CancellationToken ct)
        {
            JsonNode? answer = await _aws.InvokeAsync(AwsOperations.Ecs.DescribeServices,
                new JsonObject { ["cluster"] = cluster, ["services"] = new JsonArray(service) }, log, ct).ConfigureAwait(false);
            bool active = (answer?["services"] as JsonArray)?.Any(s => (string?)s?["status"] == "ACTIVE") ?? false;
            if (!active)
                throw new AwsApiException(AwsErrorKind.NotFound, "ECS", "DescribeServices",
                    "ECS service '" + service + "' was not found (or is not active) in cluster '" + cluster + "' in " + _aws.Region + ".", "ServiceNotFoundException");
        }

        public async Task<EcsScalingState> ReadAsync(string cluster, string service, IEngineLog log, CancellationToken ct)
        {
            var state = new EcsScalingState { Cluster = cluster, Service = service };
            string resourceId = "service/" + cluster + "/" + service;
            string prefix = ScalingPolicySpec.ServicePrefix(cluster, service);

            JsonNode? targets = await _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.DescribeScalableTargets, new JsonObject
            {
                ["ServiceNamespace"] = ScalingPlan.ServiceNamespace,
                ["ResourceIds"] = new JsonArray(resourceId),
                ["ScalableDimension"] = ScalingPlan.ScalableDimension,
            }, log, ct).ConfigureAwait(false);
            state.Target = (targets?["ScalableTargets"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(t => (string?)t["ResourceId"] == resourceId);

            string? token = null;
            do
            {
                var input = new JsonObject { ["ServiceNamespace"] = ScalingPlan.ServiceNamespace, ["ResourceId"] = resourceId, ["ScalableDimension"] = ScalingPlan.ScalableDimension };
                if (token != null) input["NextToken"] = token;
                JsonNode? page = await _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.DescribeScalingPolicies, input, log, ct).ConfigureAwait(false);
                // Filtered here: some endpoints ignore the PolicyNames filter.
                foreach (JsonObject policy in (page?["ScalingPolicies"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                    if (((string?)policy["PolicyName"] ?? string.Empty).StartsWith(prefix, StringComparison.Ordinal) && (string?)policy["ResourceId"] == resourceId)
                        state.Policies.Add(policy);
                token = (string?)page?["NextToken"];
            }
            while (!string.IsNullOrEmpty(token));

            token = null;
            do
            {
                var input = new JsonObject { ["AlarmNamePrefix"] = prefix };
                if (token != null) input["NextToken"] = token;
                JsonNode? page = await _aws.InvokeAsync(AwsOperations.CloudWatch.DescribeAlarms, input, log, ct).ConfigureAwait(false);
                foreach (JsonObject alarm in (page?["MetricAlarms"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                    if (((string?)alarm["AlarmName"] ?? string.Empty).StartsWith(prefix, StringComparison.Ordinal))
                        state.Alarms.Add(alarm);
                token = (string?)page?["NextToken"];
            }
            while (!string.IsNullOrEmpty(token));
            return state;
        }

        /// <summary>The changes that make the service match the spec, in the order they must be made.</summary>
        public List<AwsChange> PlanSet(ScalingPolicySpec spec, EcsScalingState current)
        {
            var changes = new List<AwsChange>();
            var arns = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonObject policy in current.Policies) arns[(string)policy["PolicyName"]!] = (string?)policy["PolicyARN"] ?? string.Empty;

            JsonObject target = ScalingPlan.ScalableTarget(spec);
            if (current.Target == null || !Same(target["MinCapacity"], current.Target["MinCapacity"]) || !Same(target["MaxCapacity"], current.Target["MaxCapacity"]))
            {
                changes.Add(new AwsChange(spec.ResourceId, (current.Target == null ? "Register scalable target" : "Update scalable target") +
                    " (min " + spec.MinCapacity + ", max " + spec.MaxCapacity + ")",
                    (log, ct) => _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.RegisterScalableTarget, target, log, ct)));
            }

            List<DesiredPolicy> desired = ScalingPlan.Policies(spec);
            var desiredNames = new HashSet<string>(desired.Select(d => d.Name), StringComparer.Ordinal);
            var desiredAlarms = new HashSet<string>(desired.Where(d => d.Alarm != null).Select(d => d.Name), StringComparer.Ordinal);

            // Old resources of this scope go first: a policy cannot change type in place (switching kind).
            foreach (JsonObject existing in current.Policies.Where(p => IsOfScope((string)p["PolicyName"]!, spec.BaseName)))
            {
                string name = (string)existing["PolicyName"]!;
                DesiredPolicy? wanted = desired.FirstOrDefault(d => d.Name == name);
                if (wanted != null && wanted.PolicyType == (string?)existing["PolicyType"]) continue;
                changes.Add(DeletePolicy(current, name));
                arns.Remove(name);
            }
            foreach (JsonObject alarm in current.Alarms.Where(a => IsOfScope((string)a["AlarmName"]!, spec.BaseName) && !desiredAlarms.Contains((string)a["AlarmName"]!)))
                changes.Add(DeleteAlarm((string)alarm["AlarmName"]!));

            foreach (DesiredPolicy policy in desired)
            {
                JsonObject? existing = current.Policies.FirstOrDefault(p => (string?)p["PolicyName"] == policy.Name);
                string configurationKey = policy.PolicyType == "StepScaling" ? "StepScalingPolicyConfiguration" : "TargetTrackingScalingPolicyConfiguration";
                bool same = existing != null && (string?)existing["PolicyType"] == policy.PolicyType && Same(policy.PutInput[configurationKey], existing[configurationKey]);
                if (!same)
                {
                    changes.Add(new AwsChange(policy.Name, (existing == null ? "Create " : "Update ") + policy.PolicyType + " policy on " + spec.ResourceId, async (log, ct) =>
                    {
                        JsonNode? put = await _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.PutScalingPolicy, policy.PutInput, log, ct).ConfigureAwait(false);
                        arns[policy.Name] = (string?)put?["PolicyARN"] ?? throw new AwsApiException(AwsErrorKind.ServiceError, "Application Auto Scaling", "PutScalingPolicy", "PutScalingPolicy returned no PolicyARN for " + policy.Name + ".");
                    }));
                }
                if (policy.Alarm == null) continue;

                JsonObject? alarm = current.Alarms.FirstOrDefault(a => (string?)a["AlarmName"] == policy.Name);
                bool alarmSame = same && alarm != null && Same(policy.Alarm, alarm) && ActionIs(alarm, arns.TryGetValue(policy.Name, out string? arn) ? arn : null);
                if (!alarmSame)
                {
                    changes.Add(new AwsChange(policy.Name, (alarm == null ? "Create" : "Update") + " CloudWatch alarm that triggers policy " + policy.Name, (log, ct) =>
                    {
                        if (!arns.TryGetValue(policy.Name, out string? policyArn) || string.IsNullOrEmpty(policyArn))
                            throw new InvalidOperationException("The alarm " + policy.Name + " was not written: its scaling policy was not created.");
                        var input = (JsonObject)policy.Alarm.DeepClone();
                        input["AlarmActions"] = new JsonArray(policyArn);
                        return _aws.InvokeAsync(AwsOperations.CloudWatch.PutMetricAlarm, input, log, ct);
                    }));
                }
            }
            return changes;
        }

        /// <summary>The changes that remove what the module manages for a service (one scope, or all of them).</summary>
        public List<AwsChange> PlanRemove(EcsScalingState current, string? baseName, bool deregisterTarget)
        {
            var changes = new List<AwsChange>();
            foreach (JsonObject alarm in current.Alarms.Where(a => baseName == null || IsOfScope((string)a["AlarmName"]!, baseName)))
                changes.Add(DeleteAlarm((string)alarm["AlarmName"]!));
            foreach (JsonObject policy in current.Policies.Where(p => baseName == null || IsOfScope((string)p["PolicyName"]!, baseName)))
                changes.Add(DeletePolicy(current, (string)policy["PolicyName"]!, deleteAlarm: false));
            if (deregisterTarget && current.Target != null)
            {
                string resourceId = "service/" + current.Cluster + "/" + current.Service;
                changes.Add(new AwsChange(resourceId, "Deregister scalable target", (log, ct) => _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.DeregisterScalableTarget, new JsonObject
                {
                    ["ServiceNamespace"] = ScalingPlan.ServiceNamespace,
                    ["ResourceId"] = resourceId,
                    ["ScalableDimension"] = ScalingPlan.ScalableDimension,
                }, log, ct)));
            }
            return changes;
        }

        /// <summary>The base name itself, or the base name with one of the module's suffixes.</summary>
        public static bool IsOfScope(string name, string baseName) =>
            name == baseName || name == baseName + ":out" || name == baseName + ":in" || name == baseName + ":wake";

        private AwsChange DeletePolicy(EcsScalingState current, string name, bool deleteAlarm = true) =>
            new AwsChange(name, "Delete scaling policy" + (deleteAlarm && current.Alarms.Any(a => (string?)a["AlarmName"] == name) ? " and its alarm" : string.Empty), async (log, ct) =>
            {
                if (deleteAlarm && current.Alarms.Any(a => (string?)a["AlarmName"] == name))
                    await _aws.InvokeAsync(AwsOperations.CloudWatch.DeleteAlarms, new JsonObject { ["AlarmNames"] = new JsonArray(name) }, log, ct).ConfigureAwait(false);
                await _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.DeleteScalingPolicy, new JsonObject
                {
                    ["PolicyName"] = name,
                    ["ServiceNamespace"] = ScalingPlan.ServiceNamespace,
                    ["ResourceId"] = "service/" + current.Cluster + "/" + current.Service,
                    ["ScalableDimension"] = ScalingPlan.ScalableDimension,
                }, log, ct).ConfigureAwait(false);
            });

        private AwsChange DeleteAlarm(string name) =>
            new AwsChange(name, "Delete CloudWatch alarm", (log, ct) => _aws.InvokeAsync(AwsOperations.CloudWatch.DeleteAlarms, new JsonObject { ["AlarmNames"] = new JsonArray(name) }, log, ct));

        private static bool ActionIs(JsonObject alarm, string? arn) =>
            arn != null && alarm["AlarmActions"] is JsonArray actions && actions.Count == 1 && (string?)actions[0] == arn;

        /// <summary>True when every member of what is wanted is in what exists with an equal value. Values are
        /// compared by meaning (the query protocol answers "60" for 60, "true" for true), dimensions in any order.</summary>
        internal static bool Same(JsonNode? wanted, JsonNode? existing)
        {
            switch (wanted)
            {
                case null:
                    return existing == null;
                case JsonObject wantedObject:
                    if (existing is not JsonObject existingObject) return false;
                    foreach (KeyValuePair<string, JsonNode?> member in wantedObject)
                    {
                        existingObject.TryGetPropertyValue(member.Key, out JsonNode? other);
                        if (other == null && member.Value is JsonValue v && v.TryGetValue(out bool flag) && !flag) continue; // false may be left out
                        if (!Same(member.Value, other)) return false;
                    }
                    return true;
                case JsonArray wantedArray:
                    if (existing is not JsonArray existingArray || existingArray.Count != wantedArray.Count) return false;
                    List<JsonNode?> left = Ordered(wantedArray), right = Ordered(existingArray);
                    for (int i = 0; i < left.Count; i++) if (!Same(left[i], right[i])) return false;
                    return true;
                default:
                    return existing is JsonValue && Scalar(wanted) == Scalar(existing);
            }
        }

        /// <summary>Dimension lists ({Name, Value}) are compared as sets; other lists in order.</summary>
        private static List<JsonNode?> Ordered(JsonArray array) =>
            array.All(n => n is JsonObject o && o.ContainsKey("Name") && o.ContainsKey("Value") && o.Count == 2)
                ? array.OrderBy(n => (string?)n!["Name"], StringComparer.Ordinal).ToList()
                : array.ToList();

        private static string Scalar(JsonNode node)
        {
            JsonElement element = JsonSerializer.SerializeToElement(node);
            switch (element.ValueKind)
            {
                case JsonValueKind.Number: return element.GetDouble().ToString("R", CultureInfo.InvariantCulture);
                case JsonValueKind.True: return "true";
                case JsonValueKind.False: return "false";
                case JsonValueKind.String:
                    string text = element.GetString()!;
                    if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double number)) return number.ToString("R", CultureInfo.InvariantCulture);
                    if (bool.TryParse(text, out bool flag)) return flag ? "true" : "false";
                    return text;
                default: return element.GetRawText();
            }
        }
    }
}
