using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;

namespace PrefectScaling.Scaling
{
    /// <summary>Builds the rows Get-PrefectEcsScalingPolicy shows from what was read. The row type lives in the Model,
    /// which has no JSON; an extension keeps the call PrefectEcsScalingPolicy.From(state).</summary>
    public static class PrefectEcsScalingPolicyFactory
    {
        extension(PrefectEcsScalingPolicy)
        {
            /// <summary>The rows, with <paramref name="scaleInGuard"/> (what the guard does now) on the guard's scale-in row.</summary>
            public static List<PrefectEcsScalingPolicy> From(EcsScalingState state, string? scaleInGuard)
            {
                List<PrefectEcsScalingPolicy> rows = PrefectEcsScalingPolicy.From(state);
                var guardAlarms = new HashSet<string>(state.Alarms.Where(ScalingPolicyDocuments.IsGuardAlarm).Select(a => (string)a["AlarmName"]!), StringComparer.Ordinal);
                foreach (PrefectEcsScalingPolicy row in rows.Where(r => r.AlarmName != null && guardAlarms.Contains(r.AlarmName))) row.ScaleInGuard = scaleInGuard;
                return rows;
            }

            /// <summary>One row per managed policy; a row with no policy when only the target is registered.</summary>
            public static List<PrefectEcsScalingPolicy> From(EcsScalingState state)
            {
                var rows = new List<PrefectEcsScalingPolicy>();
                foreach (JsonObject policy in state.Policies.OrderBy(p => (string?)p["PolicyName"], StringComparer.Ordinal))
                {
                    PrefectEcsScalingPolicy row = Row(state);
                    string name = (string)policy["PolicyName"]!;
                    row.PolicyName = name;
                    row.PolicyType = (string?)policy["PolicyType"];
                    row.PolicyArn = (string?)policy["PolicyARN"];
                    row.Scope = ScalingNames.ScopeOf(name, state.Cluster, state.Service)?.ToString();
                    JsonNode? customized = policy["TargetTrackingScalingPolicyConfiguration"]?["CustomizedMetricSpecification"];
                    // Backlog per task: metric math over the binding's series, or (before bindings) a published per-task metric.
                    row.Kind = name.EndsWith(":out", StringComparison.Ordinal) || name.EndsWith(":in", StringComparison.Ordinal) ? "StepScaling"
                             : name.EndsWith(":wake", StringComparison.Ordinal) ? "BacklogPerTask"
                             : name.EndsWith(CapacityPolicy.Suffix, StringComparison.Ordinal) ? "Capacity"
                             : customized?["Metrics"] is JsonArray ? "BacklogPerTask"
                             : (customized?["MetricName"]?.ToString() ?? string.Empty).EndsWith("PerTask", StringComparison.Ordinal) ? "BacklogPerTask"
                             : "TargetTracking";
                    if (policy["TargetTrackingScalingPolicyConfiguration"] is JsonObject tracking)
                    {
                        row.TargetValue = Number(tracking["TargetValue"]);
                        row.ScaleOutCooldown = (int?)Number(tracking["ScaleOutCooldown"]);
                        row.ScaleInCooldown = (int?)Number(tracking["ScaleInCooldown"]);
                        row.DisableScaleIn = tracking["DisableScaleIn"] is JsonValue v && v.TryGetValue(out bool disabled) && disabled;
                        JsonNode? metric = tracking["CustomizedMetricSpecification"];
                        if (metric?["Metrics"] is JsonArray queries)
                        {
                            // Metric math: the first metric's namespace and dimensions, the expression's label.
                            JsonNode? first = queries.Select(q => q?["MetricStat"]?["Metric"]).FirstOrDefault(m => m != null);
                            row.MetricNamespace = (string?)first?["Namespace"];
                            row.MetricName = queries.Where(q => q?["Expression"] != null).Select(q => (string?)q!["Label"]).FirstOrDefault(l => l != null) ?? "(metric math)";
                            row.Dimensions = DimensionText(first?["Dimensions"]);
                        }
                        else
                        {
                            row.MetricNamespace = (string?)metric?["Namespace"];
                            row.MetricName = (string?)metric?["MetricName"];
                            row.Dimensions = DimensionText(metric?["Dimensions"]);
                        }
                    }
                    if (policy["StepScalingPolicyConfiguration"] is JsonObject step)
                    {
                        row.AdjustmentType = (string?)step["AdjustmentType"];
                        row.ScaleOutCooldown = row.ScaleInCooldown = (int?)Number(step["Cooldown"]);
                        row.Steps = string.Join("; ", (step["StepAdjustments"] as JsonArray ?? new JsonArray()).Select(s =>
                            "[" + (Number(s?["MetricIntervalLowerBound"])?.ToString(CultureInfo.InvariantCulture) ?? "-inf") + ", " +
                            (Number(s?["MetricIntervalUpperBound"])?.ToString(CultureInfo.InvariantCulture) ?? "+inf") + ") " + Number(s?["ScalingAdjustment"])?.ToString(CultureInfo.InvariantCulture)));
                    }
                    JsonObject? alarm = state.Alarms.FirstOrDefault(a => (string?)a["AlarmName"] == name);
                    if (alarm != null)
                    {
                        row.AlarmName = name;
                        row.AlarmState = (string?)alarm["StateValue"];
                        JsonNode? firstStat = (alarm["Metrics"] as JsonArray)?.Select(q => q?["MetricStat"]?["Metric"]).FirstOrDefault(m => m != null);
                        row.MetricNamespace ??= (string?)alarm["Namespace"] ?? (string?)firstStat?["Namespace"];
                        row.MetricName ??= (string?)alarm["MetricName"] ?? "(metric math)";
                        row.Dimensions ??= DimensionText(alarm["Dimensions"]) ?? DimensionText(firstStat?["Dimensions"]);
                        row.AlarmCondition = (string?)alarm["ComparisonOperator"] + " " + Text(alarm["Threshold"]) + " for " + Text(alarm["EvaluationPeriods"]) + " x " +
                            (Text(alarm["Period"]) ?? Text((alarm["Metrics"] as JsonArray)?.Select(q => q?["MetricStat"]?["Period"]).FirstOrDefault(p => p != null)) ?? "?") + " s";
                    }
                    rows.Add(row);
                }
                // A guarded target-tracking kind scales in through its ":in" step policy: the binding's kind is the tracking one.
                string? trackingKind = rows.Where(r => r.PolicyType == "TargetTrackingScaling").Select(r => r.Kind).FirstOrDefault();
                string? guard = BusyGuard(state);
                foreach (PrefectEcsScalingPolicy row in rows)
                {
                    if (trackingKind != null) row.Kind = row.PolicyType == "TargetTrackingScaling" || row.PolicyName!.EndsWith(":in", StringComparison.Ordinal) ? trackingKind : row.Kind;
                    row.BusyGuard = guard;
                }
                if (rows.Count == 0 && state.Target != null) rows.Add(Row(state));
                return rows;
            }
        }

        /// <summary>"on" (with its runs per task) when the module's scale-in alarm is the guard's; "off" when a policy of
        /// the module scales in without it; null when none scales in.</summary>
        public static string? BusyGuard(EcsScalingState state)
        {
            JsonObject? guard = state.Alarms.FirstOrDefault(ScalingPolicyDocuments.IsGuardAlarm);
            if (guard != null)
                return ScalingPolicyDocuments.GuardRunsPerTask(guard) is int limit ? "on, " + limit.ToString(CultureInfo.InvariantCulture) + " runs per task" : "on";
            bool tracksIn = state.Policies.Any(p => p["TargetTrackingScalingPolicyConfiguration"] is JsonObject t && !(t["DisableScaleIn"] is JsonValue v && v.TryGetValue(out bool off) && off));
            bool stepsIn = state.Policies.Any(p => ((string?)p["PolicyName"])?.EndsWith(":in", StringComparison.Ordinal) == true);
            return tracksIn || stepsIn ? "off" : null;
        }

        private static PrefectEcsScalingPolicy Row(EcsScalingState state) => new PrefectEcsScalingPolicy
        {
            Cluster = state.Cluster,
            Service = state.Service,
            ResourceId = ScalingNames.ResourceId(state.Cluster, state.Service),
            TargetRegistered = state.Target != null,
            MinCapacity = (int?)Number(state.Target?["MinCapacity"]),
            MaxCapacity = (int?)Number(state.Target?["MaxCapacity"]),
        };

        private static double? Number(JsonNode? node) =>
            node is JsonValue value && (value.TryGetValue(out double d) || (value.TryGetValue(out string? s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out d))) ? d : (double?)null;

        /// <summary>A number as AWS's query answers give it (text) or as a document holds it.</summary>
        private static string? Text(JsonNode? node) =>
            node is JsonValue value && value.TryGetValue(out string? text) ? text : Number(node)?.ToString(CultureInfo.InvariantCulture);

        private static string? DimensionText(JsonNode? dimensions) =>
            dimensions is JsonArray list ? string.Join(",", list.Select(d => (string?)d?["Name"] + "=" + (string?)d?["Value"])) : null;
    }
}
