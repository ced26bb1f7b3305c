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
    /// <summary>What exists now for a service: its scalable target, the policies and alarms the module made for it,
    /// and what else is there that the module must not touch.</summary>
    public sealed class EcsScalingState
    {
        public string Cluster { get; internal set; } = string.Empty;
        public string Service { get; internal set; } = string.Empty;
        public string ResourceId => ScalingNames.ResourceId(Cluster, Service);
        public JsonObject? Target { get; internal set; }

        /// <summary>The module's policies: on exactly this resource id, with a name the module gives this service.</summary>
        public List<JsonObject> Policies { get; } = new List<JsonObject>();

        /// <summary>The module's alarms: its tags name this service and every action is this service's policy of the
        /// alarm's name (or, first release, untagged with such actions).</summary>
        public List<JsonObject> Alarms { get; } = new List<JsonObject>();

        /// <summary>Policies on the target that the module did not make.</summary>
        public List<JsonObject> OtherPolicies { get; } = new List<JsonObject>();

        /// <summary>Alarms named like the module's that are not provably its own: never changed or deleted.</summary>
        public List<JsonObject> OtherAlarms { get; } = new List<JsonObject>();

        /// <summary>The names of <see cref="OtherAlarms"/>, for a host that says what it left alone.</summary>
        public IEnumerable<string> OtherAlarmNames => OtherAlarms.Select(a => (string?)a["AlarmName"] ?? string.Empty);

        /// <summary>The target's scheduled actions (the module makes none), when they were read.</summary>
        public List<JsonObject> ScheduledActions { get; } = new List<JsonObject>();

        /// <summary>A state from JSON, as the planners see it (tests and tools):
        /// {"Cluster","Service","Target","Policies":[],"Alarms":[],"OtherPolicies":[],"OtherAlarms":[],"ScheduledActions":[]}.</summary>
        public static EcsScalingState FromJson(JsonObject json)
        {
            var state = new EcsScalingState { Cluster = (string?)json["Cluster"] ?? string.Empty, Service = (string?)json["Service"] ?? string.Empty };
            state.Target = json["Target"]?.DeepClone() as JsonObject;
            Fill(state.Policies, json["Policies"]);
            Fill(state.Alarms, json["Alarms"]);
            Fill(state.OtherPolicies, json["OtherPolicies"]);
            Fill(state.OtherAlarms, json["OtherAlarms"]);
            Fill(state.ScheduledActions, json["ScheduledActions"]);
            return state;
        }

        private static void Fill(List<JsonObject> list, JsonNode? items)
        {
            foreach (JsonObject item in (items as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>()) list.Add((JsonObject)item.DeepClone());
        }
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

        /// <summary>Reads the target, this resource's policies and the alarms named like the module's, and sorts them
        /// into the module's own and the rest. withScheduledActions also reads the target's scheduled actions
        /// (DeregisterScalableTarget deletes them too).</summary>
        public async Task<EcsScalingState> ReadAsync(string cluster, string service, IEngineLog log, CancellationToken ct, bool withScheduledActions = false)
        {
            var state = new EcsScalingState { Cluster = cluster, Service = service };
            string resourceId = state.ResourceId;

            JsonNode? targets = await _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.DescribeScalableTargets, new JsonObject
            {
                ["ServiceNamespace"] = ScalingPlan.ServiceNamespace,
                ["ResourceIds"] = new JsonArray(resourceId),
                ["ScalableDimension"] = ScalingPlan.ScalableDimension,
            }, log, ct).ConfigureAwait(false);
            state.Target = (targets?["ScalableTargets"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(t => (string?)t["ResourceId"] == resourceId);

            var scope = new JsonObject { ["ServiceNamespace"] = ScalingPlan.ServiceNamespace, ["ResourceId"] = resourceId, ["ScalableDimension"] = ScalingPlan.ScalableDimension };
            foreach (JsonObject policy in await PagesAsync(AwsOperations.ApplicationAutoScaling.DescribeScalingPolicies, scope, "ScalingPolicies", log, ct).ConfigureAwait(false))
            {
                // Filtered here too: some endpoints ignore filters.
                if ((string?)policy["ResourceId"] != resourceId || ((string?)policy["ScalableDimension"] ?? ScalingPlan.ScalableDimension) != ScalingPlan.ScalableDimension) continue;
                (ScalingNames.IsServiceName((string?)policy["PolicyName"], cluster, service) ? state.Policies : state.OtherPolicies).Add(policy);
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (string prefix in new[] { ScalingNames.ServiceHead(cluster, service), ScalingNames.LegacyServicePrefix(cluster, service) })
            {
                foreach (JsonObject alarm in await PagesAsync(AwsOperations.CloudWatch.DescribeAlarms, new JsonObject { ["AlarmNamePrefix"] = prefix }, "MetricAlarms", log, ct).ConfigureAwait(false))
                {
                    string name = (string?)alarm["AlarmName"] ?? string.Empty;
                    if (!name.StartsWith(prefix, StringComparison.Ordinal) || !seen.Add(name) || !ScalingNames.IsServiceName(name, cluster, service)) continue;
                    (await IsOwnAlarmAsync(alarm, cluster, service, log, ct).ConfigureAwait(false) ? state.Alarms : state.OtherAlarms).Add(alarm);
                }
            }

            if (withScheduledActions && state.Target != null)
                state.ScheduledActions.AddRange((await PagesAsync(AwsOperations.ApplicationAutoScaling.DescribeScheduledActions, scope, "ScheduledActions", log, ct).ConfigureAwait(false))
                    .Where(a => (string?)a["ResourceId"] == resourceId));
            return state;
        }

        /// <summary>Actions first (no call): only an alarm that triggers this service's policy of its own name can be
        /// the module's. New names also need the module's tags naming this cluster and service; the first release
        /// set no tags, so its names count on the actions alone.</summary>
        private async Task<bool> IsOwnAlarmAsync(JsonObject alarm, string cluster, string service, IEngineLog log, CancellationToken ct)
        {
            if (!ScalingNames.ActionsAreServicePolicy(alarm, cluster, service)) return false;
            string name = (string)alarm["AlarmName"]!;
            if (!name.StartsWith(ScalingNames.ServiceHead(cluster, service), StringComparison.Ordinal)) return true;
            string? arn = (string?)alarm["AlarmArn"];
            if (arn == null) return false;
            JsonNode? tags = await _aws.InvokeAsync(AwsOperations.CloudWatch.ListTagsForResource, new JsonObject { ["ResourceARN"] = arn }, log, ct).ConfigureAwait(false);
            return ScalingNames.TagsNameService(tags?["Tags"], cluster, service);
        }

        private async Task<List<JsonObject>> PagesAsync(AwsOperation operation, JsonObject filter, string member, IEngineLog log, CancellationToken ct)
        {
            var items = new List<JsonObject>();
            string? token = null;
            do
            {
                var input = (JsonObject)filter.DeepClone();
                if (token != null) input["NextToken"] = token;
                JsonNode? page = await _aws.InvokeAsync(operation, input, log, ct).ConfigureAwait(false);
                items.AddRange((page?[member] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>());
                token = (string?)page?["NextToken"];
            }
            while (!string.IsNullOrEmpty(token));
            return items;
        }

        /// <summary>The changes that make the service match the spec, in the order they must be made. Only the
        /// module's own resources of this scope are replaced or deleted; an alarm of somebody else's that has the
        /// name the module needs is an error, not overwritten.</summary>
        public List<AwsChange> PlanSet(ScalingPolicySpec spec, EcsScalingState current)
        {
            var changes = new List<AwsChange>();
            var arns = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonObject policy in current.Policies) arns[(string)policy["PolicyName"]!] = (string?)policy["PolicyARN"] ?? string.Empty;

            List<DesiredPolicy> desired = ScalingPlan.Policies(spec);
            HashSet<string> scope = spec.ScopeNames;
            var desiredAlarms = new HashSet<string>(desired.Where(d => d.Alarm != null).Select(d => d.Name), StringComparer.Ordinal);
            foreach (JsonObject taken in current.OtherAlarms.Where(a => desiredAlarms.Contains((string?)a["AlarmName"] ?? string.Empty)))
            {
                throw new ResourceOwnershipException("AlarmNameTaken", "A CloudWatch alarm named '" + (string?)taken["AlarmName"] + "' exists that PrefectScaling did not make for " + spec.ResourceId +
                    " (it lacks the module's tags or its actions are not this service's policy), and the policy needs that name. Nothing was changed; rename or delete that alarm, then run this again.");
            }

            JsonObject target = ScalingPlan.ScalableTarget(spec);
            if (current.Target == null || !Same(target["MinCapacity"], current.Target["MinCapacity"]) || !Same(target["MaxCapacity"], current.Target["MaxCapacity"]))
            {
                changes.Add(new AwsChange(spec.ResourceId, (current.Target == null ? "Register scalable target" : "Update scalable target") +
                    " (min " + spec.MinCapacity + ", max " + spec.MaxCapacity + ")",
                    (log, ct) => _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.RegisterScalableTarget, target, log, ct)));
            }

            // Old resources of this scope go first: a policy cannot change type in place (switching kind), and the
            // first release's names are replaced by the new ones.
            var deleted = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonObject existing in current.Policies.Where(p => scope.Contains((string)p["PolicyName"]!)))
            {
                string name = (string)existing["PolicyName"]!;
                DesiredPolicy? wanted = desired.FirstOrDefault(d => d.Name == name);
                if (wanted != null && wanted.PolicyType == (string?)existing["PolicyType"]) continue;
                changes.Add(DeletePolicy(current, name));
                deleted.Add(name);
                arns.Remove(name);
            }
            // Alarms left without a wanted policy (a deleted policy takes its alarm with it, above).
            foreach (JsonObject alarm in current.Alarms.Where(a => scope.Contains((string)a["AlarmName"]!) && !desiredAlarms.Contains((string)a["AlarmName"]!) && !deleted.Contains((string)a["AlarmName"]!)))
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
                    bool create = alarm == null;
                    changes.Add(new AwsChange(policy.Name, (create ? "Create" : "Update") + " CloudWatch alarm that triggers policy " + policy.Name, (log, ct) =>
                    {
                        if (!arns.TryGetValue(policy.Name, out string? policyArn) || string.IsNullOrEmpty(policyArn))
                            throw new InvalidOperationException("The alarm " + policy.Name + " was not written: its scaling policy was not created.");
                        var input = (JsonObject)policy.Alarm.DeepClone();
                        input["AlarmActions"] = new JsonArray(policyArn);
                        // Tags count only when an alarm is created (PutMetricAlarm ignores them on an update).
                        if (create) input["Tags"] = ScalingNames.AlarmTags(spec.Cluster, spec.Service);
                        return _aws.InvokeAsync(AwsOperations.CloudWatch.PutMetricAlarm, input, log, ct);
                    }));
                }
            }
            return changes;
        }

        /// <summary>The changes that remove what the module made for a service: one scope (its names, new and first
        /// release) or all. Deregistering the target makes AWS delete every policy and scheduled action on it, so it
        /// is refused while the target carries the module's policies of other scopes, or anything the module did not
        /// make (unless deleteUnmanaged).</summary>
        public List<AwsChange> PlanRemove(EcsScalingState current, ICollection<string>? scopeNames, bool deregisterTarget, bool deleteUnmanaged = false)
        {
            var changes = new List<AwsChange>();
            bool InScope(JsonObject o, string key) => scopeNames == null || scopeNames.Contains((string)o[key]!);

            if (deregisterTarget && current.Target != null)
            {
                List<string> otherScopes = current.Policies.Where(p => !InScope(p, "PolicyName")).Select(p => (string)p["PolicyName"]!).ToList();
                if (otherScopes.Count > 0)
                    throw new ResourceOwnershipException("OtherScopesOnTarget", "-DeregisterTarget would make AWS delete the module's policies of other scopes on " + current.ResourceId +
                        " (" + string.Join(", ", otherScopes) + ") and leave their alarms. Nothing was changed; remove without -WorkQueue to remove every scope, or leave out -DeregisterTarget.");
                List<string> unmanaged = Unmanaged(current);
                if (unmanaged.Count > 0 && !deleteUnmanaged)
                    throw new ResourceOwnershipException("UnmanagedScalingOnTarget", "The scalable target " + current.ResourceId + " also carries what PrefectScaling did not make: " +
                        string.Join(", ", unmanaged) + ". Deregistering the target makes AWS delete those too. Nothing was changed; leave out -DeregisterTarget to remove only the module's policies, or add -DeleteUnmanaged to deregister anyway.");
            }

            foreach (JsonObject alarm in current.Alarms.Where(a => InScope(a, "AlarmName")))
                changes.Add(DeleteAlarm((string)alarm["AlarmName"]!));
            foreach (JsonObject policy in current.Policies.Where(p => InScope(p, "PolicyName")))
                changes.Add(DeletePolicy(current, (string)policy["PolicyName"]!, deleteAlarm: false));
            if (deregisterTarget && current.Target != null)
            {
                string resourceId = current.ResourceId;
                List<string> unmanaged = Unmanaged(current);
                changes.Add(new AwsChange(resourceId, "Deregister scalable target" + (unmanaged.Count == 0 ? string.Empty : "; AWS deletes with it what PrefectScaling did not make: " + string.Join(", ", unmanaged)),
                    (log, ct) => _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.DeregisterScalableTarget, new JsonObject
                    {
                        ["ServiceNamespace"] = ScalingPlan.ServiceNamespace,
                        ["ResourceId"] = resourceId,
                        ["ScalableDimension"] = ScalingPlan.ScalableDimension,
                    }, log, ct)));
            }
            return changes;
        }

        private static List<string> Unmanaged(EcsScalingState current) =>
            current.OtherPolicies.Select(p => "policy " + (string?)p["PolicyName"])
                .Concat(current.ScheduledActions.Select(a => "scheduled action " + (string?)a["ScheduledActionName"])).ToList();

        private AwsChange DeletePolicy(EcsScalingState current, string name, bool deleteAlarm = true) =>
            new AwsChange(name, "Delete scaling policy" + (deleteAlarm && current.Alarms.Any(a => (string?)a["AlarmName"] == name) ? " and its alarm" : string.Empty), async (log, ct) =>
            {
                if (deleteAlarm && current.Alarms.Any(a => (string?)a["AlarmName"] == name))
                    await _aws.InvokeAsync(AwsOperations.CloudWatch.DeleteAlarms, new JsonObject { ["AlarmNames"] = new JsonArray(name) }, log, ct).ConfigureAwait(false);
                await _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.DeleteScalingPolicy, new JsonObject
                {
                    ["PolicyName"] = name,
                    ["ServiceNamespace"] = ScalingPlan.ServiceNamespace,
                    ["ResourceId"] = current.ResourceId,
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
