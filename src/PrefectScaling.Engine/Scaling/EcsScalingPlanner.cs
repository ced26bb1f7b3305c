using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Scaling
{
    /// <summary>Reads, plans and applies the scalable target, scaling policies and alarms of one ECS service.
    /// Plans compare what exists with what is wanted, so running the same Set again changes nothing.</summary>
    public sealed class EcsScalingPlanner
    {
        private readonly AwsContext _aws;

        public EcsScalingPlanner(AwsContext aws)
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
            string resourceId = ScalingNames.ResourceId(cluster, service);
            JsonNode? targets = await _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.DescribeScalableTargets, new JsonObject
            {
                ["ServiceNamespace"] = ScalingPolicyDocuments.ServiceNamespace,
                ["ResourceIds"] = new JsonArray(resourceId),
                ["ScalableDimension"] = ScalingPolicyDocuments.ScalableDimension,
            }, log, ct).ConfigureAwait(false);
            JsonObject? target = (targets?["ScalableTargets"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(t => (string?)t["ResourceId"] == resourceId);

            var scope = new JsonObject { ["ServiceNamespace"] = ScalingPolicyDocuments.ServiceNamespace, ["ResourceId"] = resourceId, ["ScalableDimension"] = ScalingPolicyDocuments.ScalableDimension };
            List<JsonObject> policies = await PagesAsync(AwsOperations.ApplicationAutoScaling.DescribeScalingPolicies, scope, "ScalingPolicies", log, ct).ConfigureAwait(false);

            var alarms = new List<JsonObject>();
            foreach (string prefix in EcsScalingState.AlarmPrefixes(cluster, service))
                alarms.AddRange(await PagesAsync(AwsOperations.CloudWatch.DescribeAlarms, new JsonObject { ["AlarmNamePrefix"] = prefix }, "MetricAlarms", log, ct).ConfigureAwait(false));
            var tags = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
            foreach (JsonObject alarm in alarms.Where(a => EcsScalingState.NeedsTags(a, cluster, service)))
            {
                string arn = (string)alarm["AlarmArn"]!;
                if (tags.ContainsKey(arn)) continue;
                JsonNode? answer = await _aws.InvokeAsync(AwsOperations.CloudWatch.ListTagsForResource, new JsonObject { ["ResourceARN"] = arn }, log, ct).ConfigureAwait(false);
                tags[arn] = answer?["Tags"];
            }

            EcsScalingState state = EcsScalingState.FromAnswers(cluster, service, target, policies, alarms, tags);
            if (withScheduledActions && state.Target != null)
                state.ScheduledActions.AddRange((await PagesAsync(AwsOperations.ApplicationAutoScaling.DescribeScheduledActions, scope, "ScheduledActions", log, ct).ConfigureAwait(false))
                    .Where(a => (string?)a["ResourceId"] == resourceId));
            return state;
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

        /// <summary>The changes that make the service match the spec, in the order they must be made. A service has
        /// one binding: every policy and alarm the module made for it that the spec does not want goes (another
        /// kind, another scope, the names from before bindings). Only the module's own resources are replaced or
        /// deleted; an alarm of somebody else's that has the name the module needs is an error, not overwritten.</summary>
        public List<AwsChange> PlanSet(ScalingPolicySpec spec, EcsScalingState current)
        {
            var changes = new List<AwsChange>();
            var arns = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (JsonObject policy in current.Policies) arns[(string)policy["PolicyName"]!] = (string?)policy["PolicyARN"] ?? string.Empty;

            List<DesiredPolicy> desired = ScalingPolicyDocuments.Policies(spec);
            var desiredAlarms = new HashSet<string>(desired.Where(d => d.Alarm != null).Select(d => d.Name), StringComparer.Ordinal);
            foreach (JsonObject taken in current.OtherAlarms.Where(a => desiredAlarms.Contains((string?)a["AlarmName"] ?? string.Empty)))
            {
                throw new ResourceOwnershipException("AlarmNameTaken", "A CloudWatch alarm named '" + (string?)taken["AlarmName"] + "' exists that PrefectScaling did not make for " + spec.ResourceId +
                    " (it lacks the module's tags or its actions are not this service's policy), and the policy needs that name. Nothing was changed; rename or delete that alarm, then run this again.");
            }

            JsonObject target = spec.Kind == ScalingPolicyKind.Capacity ? CapacityPolicy.ScalableTarget(spec, current.Target) : ScalingPolicyDocuments.ScalableTarget(spec);
            if (current.Target == null || !JsonSubset.Contains(current.Target["MinCapacity"], target["MinCapacity"]) || !JsonSubset.Contains(current.Target["MaxCapacity"], target["MaxCapacity"]))
            {
                changes.Add(new AwsChange(spec.ResourceId, (current.Target == null ? "Register scalable target" : "Update scalable target") +
                    " (min " + spec.MinCapacity + ", max " + spec.MaxCapacity + ")",
                    (log, ct) => _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.RegisterScalableTarget, target, log, ct)));
            }

            // What is not wanted goes first: a policy cannot change type in place (switching kind), and another
            // scope's policies must not keep scaling the service beside the new ones.
            var deleted = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonObject existing in current.Policies)
            {
                string name = (string)existing["PolicyName"]!;
                DesiredPolicy? wanted = desired.FirstOrDefault(d => d.Name == name);
                if (wanted != null && wanted.PolicyType == (string?)existing["PolicyType"]) continue;
                changes.Add(DeletePolicy(current, name));
                deleted.Add(name);
                arns.Remove(name);
            }
            // Alarms left without a wanted policy (a deleted policy takes its alarm with it, above).
            foreach (JsonObject alarm in current.Alarms.Where(a => !desiredAlarms.Contains((string)a["AlarmName"]!) && !deleted.Contains((string)a["AlarmName"]!)))
                changes.Add(DeleteAlarm((string)alarm["AlarmName"]!));

            foreach (DesiredPolicy policy in desired)
            {
                JsonObject? existing = current.Policies.FirstOrDefault(p => (string?)p["PolicyName"] == policy.Name);
                string configurationKey = policy.PolicyType == "StepScaling" ? "StepScalingPolicyConfiguration" : "TargetTrackingScalingPolicyConfiguration";
                bool same = existing != null && (string?)existing["PolicyType"] == policy.PolicyType && JsonSubset.Contains(existing[configurationKey], policy.PutInput[configurationKey]);
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
                bool alarmSame = same && alarm != null && JsonSubset.Contains(alarm, policy.Alarm) && ActionIs(alarm, arns.TryGetValue(policy.Name, out string? arn) ? arn : null);
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

        /// <summary>The scopes of what the module made for the service that are not the spec's binding, each once, as
        /// people read them: what Set replaces. A scope the names cannot give back exactly shows as its name's readable
        /// part (the first release's names in full).</summary>
        public static List<string> ReplacedScopes(ScalingPolicySpec spec, EcsScalingState current)
        {
            string own = spec.BaseName;
            var scopes = new List<string>();
            foreach (string name in current.Policies.Select(p => (string)p["PolicyName"]!).Concat(current.Alarms.Select(a => (string)a["AlarmName"]!)))
            {
                string baseName = ScalingNames.WithoutSuffix(name);
                if (baseName == own) continue;
                string text = ScalingNames.ScopeText(name, spec.Cluster, spec.Service);
                if (!scopes.Contains(text)) scopes.Add(text);
            }
            return scopes;
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
                        " (" + string.Join(", ", otherScopes) + ") and leave their alarms. Nothing was changed; remove without -WorkPool and -WorkQueue to remove every scope, or leave out -DeregisterTarget.");
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
                        ["ServiceNamespace"] = ScalingPolicyDocuments.ServiceNamespace,
                        ["ResourceId"] = resourceId,
                        ["ScalableDimension"] = ScalingPolicyDocuments.ScalableDimension,
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
                    await DeleteAlarmAsync(name, log, ct).ConfigureAwait(false);
                await AlreadyGoneIsDone(_aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.DeleteScalingPolicy, new JsonObject
                {
                    ["PolicyName"] = name,
                    ["ServiceNamespace"] = ScalingPolicyDocuments.ServiceNamespace,
                    ["ResourceId"] = current.ResourceId,
                    ["ScalableDimension"] = ScalingPolicyDocuments.ScalableDimension,
                }, log, ct), name, log).ConfigureAwait(false);
            });

        private AwsChange DeleteAlarm(string name) =>
            new AwsChange(name, "Delete CloudWatch alarm", (log, ct) => DeleteAlarmAsync(name, log, ct));

        private Task DeleteAlarmAsync(string name, IEngineLog log, CancellationToken ct) =>
            AlreadyGoneIsDone(_aws.InvokeAsync(AwsOperations.CloudWatch.DeleteAlarms, new JsonObject { ["AlarmNames"] = new JsonArray(name) }, log, ct), name, log);

        /// <summary>A delete of what is already gone has done its work: another run on the same service may have deleted
        /// it between this run's read and its write, and stopping there would leave that run's half of the change.</summary>
        private static async Task AlreadyGoneIsDone(Task<JsonNode?> delete, string name, IEngineLog log)
        {
            try
            {
                await delete.ConfigureAwait(false);
            }
            catch (AwsApiException e) when (e.Kind == AwsErrorKind.NotFound)
            {
                log.Verbose(name + " was already deleted (" + e.ErrorCode + ").");
            }
        }

        private static bool ActionIs(JsonObject alarm, string? arn) =>
            arn != null && alarm["AlarmActions"] is JsonArray actions && actions.Count == 1 && (string?)actions[0] == arn;
    }
}
