using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Metrics;

namespace PrefectScaling.Scaling
{
    /// <summary>What a capacity policy's publisher needs to know of it, as its alarm's description carries it (the
    /// scalable target has no place for it, and the alarm is the module's own by its exact name).</summary>
    public sealed class CapacitySettings
    {
        public CapacitySettings(int runsPerTask, int minCapacity)
        {
            RunsPerTask = runsPerTask;
            MinCapacity = minCapacity;
        }

        /// <summary>The most flow runs one task runs at once.</summary>
        public int RunsPerTask { get; }

        /// <summary>The floor Set was given: the publisher never holds the target's MinCapacity below it.</summary>
        public int MinCapacity { get; }
    }

    /// <summary>The capacity kind's one scaling policy and alarm. Scale-out is the publisher's: it raises the scalable
    /// target's MinCapacity to the requirement (Application Auto Scaling moves the desired count into range at once,
    /// and no policy undoes it: every policy is clamped to the range). Scale-in is this step policy: when the desired
    /// count has been above RequiredTasks for ScaleInAfterPeriods periods, it sets ExactCapacity to the floor, which
    /// Application Auto Scaling clamps to the target's current MinCapacity: the requirement, or, while the busy guard
    /// forbids a scale-in, the desired count itself (the publisher never lowers MinCapacity then).</summary>
    public static class CapacityPolicy
    {
        /// <summary>The kind's suffix on the binding's base name (at most as long as ":wake", which the names budget for).</summary>
        public const string Suffix = ":cap";

        /// <summary>Desired tasks above the requirement, from the smallest desired count and the largest requirement in
        /// the period (so a moment of need is never scaled away).</summary>
        public const string ExcessExpression = "tasks - required";

        private static readonly Regex SettingsPattern = new Regex(@"\(RunsPerTask (\d{1,4}), MinCapacity (\d{1,9})\)", RegexOptions.CultureInvariant);

        public static string AlarmName(ServiceBinding binding) => ScalingNames.BaseName(binding) + Suffix;

        /// <summary>The target Set registers: the given range, except that a MinCapacity the publisher holds inside it
        /// is the publisher's to move (Set again would otherwise drop the service below what its runs need).</summary>
        internal static JsonObject ScalableTarget(ScalingPolicySpec spec, JsonObject? current)
        {
            JsonObject target = ScalingPolicyDocuments.ScalableTarget(spec);
            if (current != null && Integer(current["MinCapacity"]) is int held && held >= spec.MinCapacity && held <= spec.MaxCapacity)
                target["MinCapacity"] = held;
            return target;
        }

        /// <summary>A count as AWS answers it (a JSON number) or as a document holds it.</summary>
        internal static int? Integer(JsonNode? node)
        {
            if (node is not JsonValue value) return null;
            if (value.TryGetValue(out int i)) return i;
            if (value.TryGetValue(out long l) && l >= int.MinValue && l <= int.MaxValue) return (int)l;
            if (value.TryGetValue(out double d) && d == Math.Floor(d) && Math.Abs(d) <= int.MaxValue) return (int)d;
            if (value.TryGetValue(out System.Text.Json.JsonElement e) && e.ValueKind == System.Text.Json.JsonValueKind.Number && e.TryGetInt32(out int n)) return n;
            return null;
        }

        internal static DesiredPolicy ScaleIn(ScalingPolicySpec spec, string name)
        {
            var configuration = new JsonObject
            {
                ["AdjustmentType"] = "ExactCapacity",
                ["StepAdjustments"] = new JsonArray(new JsonObject { ["MetricIntervalLowerBound"] = 0, ["ScalingAdjustment"] = spec.MinCapacity }),
                // The alarm's periods are the hysteresis; a cooldown would only hold a scale-in the guard already allows.
                ["Cooldown"] = 0,
                ["MetricAggregationType"] = "Maximum",
            };
            int period = spec.EffectiveAlarmPeriod;
            JsonObject tasks = ScalingPolicyDocuments.MetricQuery("tasks", ScalingPolicyDocuments.DesiredTasks(spec), period);
            tasks["MetricStat"]!["Stat"] = "Minimum";
            var alarm = new JsonObject
            {
                ["AlarmName"] = name,
                ["AlarmDescription"] = "Scale " + spec.ResourceId + " in to the tasks the Prefect runs of " + ScalingPolicyDocuments.Scope(spec) +
                    " need once it has had more for " + spec.ScaleInAfterPeriods + " periods; the publisher raises the target's MinCapacity to them " +
                    Describe(new CapacitySettings(spec.RunsPerTask ?? 1, spec.MinCapacity)) + ". Managed by PrefectScaling.",
                ["Metrics"] = new JsonArray
                {
                    tasks,
                    ScalingPolicyDocuments.MetricQuery("required", BindingSeries.RequiredTasks(spec.Metric, spec.Cluster, spec.Service), period),
                    new JsonObject { ["Id"] = "excess", ["Expression"] = ExcessExpression, ["Label"] = "Desired tasks above the requirement", ["ReturnData"] = true },
                },
                ["ComparisonOperator"] = "GreaterThanThreshold",
                ["Threshold"] = 0,
                ["EvaluationPeriods"] = spec.ScaleInAfterPeriods,
                ["DatapointsToAlarm"] = spec.ScaleInAfterPeriods,
                // No requirement published: never scale in.
                ["TreatMissingData"] = "notBreaching",
            };
            return new DesiredPolicy(name, ScalingPolicyDocuments.Policy(spec, name, "StepScaling", "StepScalingPolicyConfiguration", configuration), alarm);
        }

        public static string Describe(CapacitySettings settings) =>
            "(RunsPerTask " + settings.RunsPerTask.ToString(CultureInfo.InvariantCulture) + ", MinCapacity " + settings.MinCapacity.ToString(CultureInfo.InvariantCulture) + ")";

        /// <summary>What Get-PrefectScalingStatus reads for a capacity policy, by key: the requirement and its parts.</summary>
        internal static IEnumerable<KeyValuePair<string, MetricSeries>> StatusSeries(BacklogMetricOptions metric, string cluster, string service)
        {
            yield return new KeyValuePair<string, MetricSeries>(RequiredKey, BindingSeries.RequiredTasks(metric, cluster, service));
            foreach (BacklogMeasure measure in PartMeasures)
                yield return new KeyValuePair<string, MetricSeries>(PartKey(measure), BindingSeries.Backlog(metric, cluster, service, measure));
        }

        /// <summary>The status's requirement and why, from the latest data (<paramref name="latest"/> by the keys of
        /// <see cref="StatusSeries"/>): the parts as the publisher added them, and whether the concurrency limits held
        /// the published requirement lower than the parts ask. A part without a datum is said so, never taken as 0.</summary>
        internal static void FillStatus(PrefectScalingStatus status, EcsScalingState scaling, Func<string, double?> latest)
        {
            CapacitySettings? settings = SettingsOf(scaling);
            if (settings == null) return;
            double? required = latest(RequiredKey);
            status.RequiredTasks = required;
            string n(double v) => v.ToString(CultureInfo.InvariantCulture);
            var missing = PartMeasures.Where(m => latest(PartKey(m)) == null).ToList();
            string requiredText = required is double r ? n(r) : "no datum";
            if (missing.Count > 0)
            {
                status.Requirement = requiredText + " (no datum of " + string.Join(", ", missing) + ")";
                return;
            }
            int max = Integer(scaling.Target?["MaxCapacity"]) ?? int.MaxValue;
            Capacity.CapacityRequirement parts = Capacity.CapacityRequirement.Compute(latest(PartKey(BacklogMeasure.Due))!.Value, latest(PartKey(BacklogMeasure.Upcoming))!.Value,
                latest(PartKey(BacklogMeasure.InFlight))!.Value, settings.RunsPerTask, Math.Min(settings.MinCapacity, max), max);
            status.Requirement = parts.Reason + (required is double published && published < parts.RequiredTasks ? "; concurrency limits hold it at " + n(published) : string.Empty);
        }

        private const string RequiredKey = "capacity:required";
        private static readonly BacklogMeasure[] PartMeasures = { BacklogMeasure.Due, BacklogMeasure.Upcoming, BacklogMeasure.InFlight };
        private static string PartKey(BacklogMeasure measure) => "capacity:" + measure;

        /// <summary>The settings an alarm of the kind carries; null when its description holds none.</summary>
        public static CapacitySettings? Parse(string? alarmDescription)
        {
            if (alarmDescription == null) return null;
            Match m = SettingsPattern.Match(alarmDescription);
            if (!m.Success) return null;
            int runs = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), min = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            return runs >= 1 && runs <= 1000 ? new CapacitySettings(runs, min) : null;
        }

        /// <summary>The settings of the service's capacity policy as the module made it (its policy and its alarm, by
        /// exact name); null when it has none.</summary>
        public static CapacitySettings? SettingsOf(EcsScalingState state)
        {
            JsonObject? policy = state.Policies.FirstOrDefault(p => ((string?)p["PolicyName"])?.EndsWith(Suffix, StringComparison.Ordinal) == true);
            if (policy == null) return null;
            string name = (string)policy["PolicyName"]!;
            string? arn = (string?)policy["PolicyARN"];
            JsonObject? alarm = state.Alarms.FirstOrDefault(a => arn != null && (a["AlarmActions"] as JsonArray)?.Any(x => (string?)x == arn) == true)
                ?? state.Alarms.FirstOrDefault(a => (string?)a["AlarmName"] == name);
            return Parse((string?)alarm?["AlarmDescription"]);
        }
    }
}
