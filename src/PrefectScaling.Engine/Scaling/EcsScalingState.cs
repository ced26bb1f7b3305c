using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;

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

        /// <summary>Sorts what AWS answered into the module's own and the rest. <paramref name="policies"/>: what
        /// DescribeScalingPolicies answered for the resource id; <paramref name="alarms"/>: what DescribeAlarms
        /// answered for the <see cref="AlarmPrefixes"/>; <paramref name="alarmTags"/>: ListTagsForResource's Tags by
        /// alarm ARN, for the alarms <see cref="NeedsTags"/> names.</summary>
        public static EcsScalingState FromAnswers(string cluster, string service, JsonObject? target, IEnumerable<JsonObject> policies,
            IEnumerable<JsonObject> alarms, IReadOnlyDictionary<string, JsonNode?> alarmTags)
        {
            var state = new EcsScalingState { Cluster = cluster, Service = service, Target = target };
            string resourceId = state.ResourceId;
            foreach (JsonObject policy in policies)
            {
                // Filtered here too: some endpoints ignore filters.
                if ((string?)policy["ResourceId"] != resourceId || ((string?)policy["ScalableDimension"] ?? ScalingPolicyDocuments.ScalableDimension) != ScalingPolicyDocuments.ScalableDimension) continue;
                (ScalingNames.IsServiceName((string?)policy["PolicyName"], cluster, service) ? state.Policies : state.OtherPolicies).Add(policy);
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonObject alarm in alarms)
            {
                string name = (string?)alarm["AlarmName"] ?? string.Empty;
                if (!IsNamedForService(name, cluster, service) || !seen.Add(name)) continue;
                (IsOwnAlarm(alarm, cluster, service, alarmTags) ? state.Alarms : state.OtherAlarms).Add(alarm);
            }
            return state;
        }

        /// <summary>What DescribeAlarms is asked for (AlarmNamePrefix): the new names' head and the first release's prefix.</summary>
        public static IReadOnlyList<string> AlarmPrefixes(string cluster, string service) =>
            new[] { ScalingNames.ServiceHead(cluster, service), ScalingNames.LegacyServicePrefix(cluster, service) };

        /// <summary>The alarms whose ownership rests on their tags: new-style names whose actions are this service's
        /// policy. Only these need a ListTagsForResource.</summary>
        public static bool NeedsTags(JsonObject alarm, string cluster, string service)
        {
            string name = (string?)alarm["AlarmName"] ?? string.Empty;
            return IsNamedForService(name, cluster, service) && ScalingNames.ActionsAreServicePolicy(alarm, cluster, service)
                && name.StartsWith(ScalingNames.ServiceHead(cluster, service), StringComparison.Ordinal) && (string?)alarm["AlarmArn"] != null;
        }

        private static bool IsNamedForService(string name, string cluster, string service) =>
            AlarmPrefixes(cluster, service).Any(prefix => name.StartsWith(prefix, StringComparison.Ordinal)) && ScalingNames.IsServiceName(name, cluster, service);

        /// <summary>Actions first: only an alarm that triggers this service's policy of its own name can be the
        /// module's. New names also need the module's tags naming this cluster and service; the first release set no
        /// tags, so its names count on the actions alone.</summary>
        private static bool IsOwnAlarm(JsonObject alarm, string cluster, string service, IReadOnlyDictionary<string, JsonNode?> alarmTags)
        {
            if (!ScalingNames.ActionsAreServicePolicy(alarm, cluster, service)) return false;
            string name = (string)alarm["AlarmName"]!;
            if (!name.StartsWith(ScalingNames.ServiceHead(cluster, service), StringComparison.Ordinal)) return true;
            string? arn = (string?)alarm["AlarmArn"];
            return arn != null && alarmTags.TryGetValue(arn, out JsonNode? tags) && ScalingNames.TagsNameService(tags, cluster, service);
        }

        private static void Fill(List<JsonObject> list, JsonNode? items)
        {
            foreach (JsonObject item in (items as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>()) list.Add((JsonObject)item.DeepClone());
        }
    }
}
