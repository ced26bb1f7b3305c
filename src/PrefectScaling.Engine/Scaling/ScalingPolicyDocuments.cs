using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using PrefectScaling.Bindings;
using PrefectScaling.Metrics;

namespace PrefectScaling.Scaling
{
    /// <summary>A scaling policy as the module wants it: the PutScalingPolicy input, and the alarm (if the module
    /// owns one) whose action is this policy.</summary>
    public sealed class DesiredPolicy
    {
        public DesiredPolicy(string name, JsonObject putInput, JsonObject? alarm)
        {
            Name = name;
            PutInput = putInput;
            Alarm = alarm;
        }

        public string Name { get; }
        public JsonObject PutInput { get; }

        /// <summary>A PutMetricAlarm input without AlarmActions (the policy's ARN is known only once it exists).</summary>
        public JsonObject? Alarm { get; }

        public string PolicyType => (string)PutInput["PolicyType"]!;
    }

    /// <summary>Builds the desired target, policies and alarms for a spec: the one place that knows their shapes.
    /// Every metric they read is a series of the binding (<see cref="BindingSeries"/>): the backlog of the spec's
    /// measure and, for backlog per task, the desired-task count, with metric math over the two.</summary>
    public static class ScalingPolicyDocuments
    {
        public const string ServiceNamespace = "ecs";
        public const string ScalableDimension = "ecs:service:DesiredCount";

        /// <summary>Backlog per desired task, counting no task as one (as a publisher of per-task data did):
        /// target tracking cannot divide by zero tasks, and the wake policy grows the service from zero.</summary>
        public const string PerTaskExpression = "IF(tasks > 0, backlog / tasks, backlog)";

        public const string WakeExpression = "IF(tasks == 0 AND backlog > 0, 1, 0)";

        /// <summary>The guard's label: how Get and the status tell the guarded scale-in alarm from the first release's.</summary>
        public const string GuardLabel = "Tasks the work does not need (busy guard)";

        /// <summary>The busy guard: the tasks that can go without stopping a running flow, 0 (or less) while none can.
        /// ECS picks the task it stops, so any in-flight run no task protection covers (unprotected) blocks scale-in.
        /// Without runsPerTask a task is stoppable only when no run is in flight or waiting at all; with it, the tasks
        /// beyond ceil((backlog + inflight) / runsPerTask) can go. The floor (min) is taken off so that the alarm leaves
        /// ALARM at the minimum. A missing input makes the result missing, and missing data never breaches.</summary>
        public static string GuardExpression(int? runsPerTask, int min)
        {
            string floor = min.ToString(CultureInfo.InvariantCulture);
            if (runsPerTask is not int limit)
                return "IF((unprotected == 0) AND (backlog + inflight == 0), tasks - " + floor + ", 0)";
            string need = "CEIL((backlog + inflight) / " + limit.ToString(CultureInfo.InvariantCulture) + ")";
            string keep = min > 0 ? "IF(" + need + " > " + floor + ", " + need + ", " + floor + ")" : need;
            return "IF(unprotected == 0, tasks - " + keep + ", 0)";
        }

        /// <summary>AlarmDescription is at most 1,024 characters; a scope of many queues is cut to this in it.</summary>
        private const int MaxScopeInDescription = 400;

        public static JsonObject ScalableTarget(ScalingPolicySpec spec) => new JsonObject
        {
            ["ServiceNamespace"] = ServiceNamespace,
            ["ResourceId"] = spec.ResourceId,
            ["ScalableDimension"] = ScalableDimension,
            ["MinCapacity"] = spec.MinCapacity,
            ["MaxCapacity"] = spec.MaxCapacity,
        };

        public static List<DesiredPolicy> Policies(ScalingPolicySpec spec)
        {
            string name = spec.BaseName;
            switch (spec.Kind)
            {
                case ScalingPolicyKind.TargetTracking:
                    MetricSeries backlog = Backlog(spec);
                    var tracking = new List<DesiredPolicy> { TargetTracking(spec, name, new JsonObject
                    {
                        ["MetricName"] = backlog.MetricName,
                        ["Namespace"] = backlog.Namespace,
                        ["Dimensions"] = Dimensions(backlog.Dimensions),
                        ["Statistic"] = "Maximum",
                        ["Unit"] = "Count",
                    }) };
                    if (spec.Guarded) tracking.Add(GuardedIn(spec, name + ":in", graded: true));
                    return tracking;

                case ScalingPolicyKind.BacklogPerTask:
                    var perTask = new List<DesiredPolicy>
                    {
                        TargetTracking(spec, name, new JsonObject
                        {
                            ["Metrics"] = new JsonArray(
                                TrackingQuery("backlog", Backlog(spec)),
                                TrackingQuery("tasks", DesiredTasks(spec)),
                                new JsonObject { ["Id"] = "perTask", ["Expression"] = PerTaskExpression, ["Label"] = spec.Metric.MetricNameFor(spec.Measure) + " per desired task", ["ReturnData"] = true }),
                        }),
                        Wake(spec, name + ":wake"),
                    };
                    if (spec.Guarded) perTask.Add(GuardedIn(spec, name + ":in", graded: true));
                    return perTask;

                case ScalingPolicyKind.Capacity:
                    return new List<DesiredPolicy> { CapacityPolicy.ScaleIn(spec, name + CapacityPolicy.Suffix) };

                default:
                    return new List<DesiredPolicy>
                    {
                        StepOut(spec, name + ":out"),
                        spec.Guarded ? GuardedIn(spec, name + ":in", graded: spec.ScaleInToMinimum) : StepIn(spec, name + ":in"),
                    };
            }
        }

        /// <summary>Every series the policies and their alarms read: target tracking's metric or its metric-math
        /// inputs, each alarm's metric or its metric-math inputs, in order, each once.</summary>
        public static List<MetricSeries> SeriesRead(IEnumerable<DesiredPolicy> policies)
        {
            var found = new List<MetricSeries>();
            void Add(JsonNode? metric)
            {
                if (metric is not JsonObject m || (string?)m["MetricName"] == null) return;
                var series = new MetricSeries((string)m["Namespace"]!, (string)m["MetricName"]!,
                    (m["Dimensions"] as JsonArray ?? new JsonArray()).Select(d => new KeyValuePair<string, string>((string)d!["Name"]!, (string)d["Value"]!)).ToList());
                if (!found.Contains(series)) found.Add(series);
            }
            void AddQueries(JsonNode? queries)
            {
                foreach (JsonNode? query in queries as JsonArray ?? new JsonArray()) Add(query?["MetricStat"]?["Metric"]);
            }
            foreach (DesiredPolicy policy in policies)
            {
                JsonNode? tracked = policy.PutInput["TargetTrackingScalingPolicyConfiguration"]?["CustomizedMetricSpecification"];
                Add(tracked);
                AddQueries(tracked?["Metrics"]);
                Add(policy.Alarm);
                AddQueries(policy.Alarm?["Metrics"]);
            }
            return found;
        }

        private static MetricSeries Backlog(ScalingPolicySpec spec) => BindingSeries.Backlog(spec.Metric, spec.Cluster, spec.Service, spec.Measure);

        internal static MetricSeries DesiredTasks(ScalingPolicySpec spec) => BindingSeries.DesiredTasks(spec.Metric, spec.Cluster, spec.Service);

        private static DesiredPolicy TargetTracking(ScalingPolicySpec spec, string name, JsonObject metric)
        {
            var configuration = new JsonObject
            {
                ["TargetValue"] = spec.TargetValue,
                ["CustomizedMetricSpecification"] = metric,
                ["ScaleOutCooldown"] = spec.ScaleOutCooldown,
                ["ScaleInCooldown"] = spec.ScaleInCooldown,
                // Behind the guard, the module's own step policy scales in (GuardedIn): target tracking would stop busy tasks.
                ["DisableScaleIn"] = spec.DisableScaleIn || spec.Guarded,
            };
            return new DesiredPolicy(name, Policy(spec, name, "TargetTrackingScaling", "TargetTrackingScalingPolicyConfiguration", configuration), alarm: null);
        }

        /// <summary>A metric-math input of target tracking (TargetTrackingMetricDataQuery; its stat has no period:
        /// target tracking evaluates by the minute).</summary>
        private static JsonObject TrackingQuery(string id, MetricSeries series) => new JsonObject
        {
            ["Id"] = id,
            ["MetricStat"] = new JsonObject
            {
                ["Metric"] = new JsonObject { ["Namespace"] = series.Namespace, ["MetricName"] = series.MetricName, ["Dimensions"] = Dimensions(series.Dimensions) },
                ["Stat"] = "Maximum",
            },
            ["ReturnData"] = false,
        };

        private static DesiredPolicy StepOut(ScalingPolicySpec spec, string name)
        {
            List<ScaleOutStep> steps = spec.ScaleOutSteps.OrderBy(s => s.Threshold).ToList();
            double threshold = steps[0].Threshold;
            var adjustments = new JsonArray();
            for (int i = 0; i < steps.Count; i++)
            {
                // Bounds are relative to the alarm threshold; the last step is open-ended.
                var step = new JsonObject { ["MetricIntervalLowerBound"] = steps[i].Threshold - threshold };
                if (i + 1 < steps.Count) step["MetricIntervalUpperBound"] = steps[i + 1].Threshold - threshold;
                step["ScalingAdjustment"] = steps[i].Adjustment;
                adjustments.Add(step);
            }
            var configuration = new JsonObject
            {
                ["AdjustmentType"] = "ChangeInCapacity",
                ["StepAdjustments"] = adjustments,
                ["Cooldown"] = spec.ScaleOutCooldown,
                ["MetricAggregationType"] = "Maximum",
            };
            JsonObject alarm = BacklogAlarm(spec, name, "GreaterThanOrEqualToThreshold", threshold, periods: 1,
                "Scale " + spec.ResourceId + " out while the Prefect backlog of " + Scope(spec) + " is at least " + Number(threshold) + ".");
            return new DesiredPolicy(name, Policy(spec, name, "StepScaling", "StepScalingPolicyConfiguration", configuration), alarm);
        }

        private static DesiredPolicy StepIn(ScalingPolicySpec spec, string name)
        {
            var configuration = new JsonObject
            {
                ["AdjustmentType"] = spec.ScaleInToMinimum ? "ExactCapacity" : "ChangeInCapacity",
                ["StepAdjustments"] = new JsonArray(new JsonObject { ["MetricIntervalUpperBound"] = 0, ["ScalingAdjustment"] = spec.ScaleInToMinimum ? spec.MinCapacity : -1 }),
                ["Cooldown"] = spec.ScaleInCooldown,
                ["MetricAggregationType"] = "Maximum",
            };
            JsonObject alarm = BacklogAlarm(spec, name, "LessThanOrEqualToThreshold", 0, spec.ScaleInAfterPeriods,
                "Scale " + spec.ResourceId + " in after " + spec.ScaleInAfterPeriods + " periods with no Prefect backlog in " + Scope(spec) + "; missing data never scales in.");
            return new DesiredPolicy(name, Policy(spec, name, "StepScaling", "StepScalingPolicyConfiguration", configuration), alarm);
        }

        /// <summary>Scale-in behind the busy guard: the alarm breaches while the guard's surplus (<see cref="GuardExpression"/>)
        /// is at least 1 for ScaleInAfterPeriods periods. Graded: one step per surplus, removing that many tasks (the
        /// last step removes <see cref="ScalingPolicySpec.MaxSteps"/> at most); otherwise one task at a time. Application
        /// Auto Scaling keeps the result within min and max.</summary>
        private static DesiredPolicy GuardedIn(ScalingPolicySpec spec, string name, bool graded)
        {
            var adjustments = new JsonArray();
            if (graded)
            {
                for (int removed = 1; removed <= ScalingPolicySpec.MaxSteps; removed++)
                {
                    // Bounds are relative to the threshold 1: the surplus minus 1.
                    var step = new JsonObject { ["MetricIntervalLowerBound"] = removed - 1 };
                    if (removed < ScalingPolicySpec.MaxSteps) step["MetricIntervalUpperBound"] = removed;
                    step["ScalingAdjustment"] = -removed;
                    adjustments.Add(step);
                }
            }
            else adjustments.Add(new JsonObject { ["MetricIntervalLowerBound"] = 0, ["ScalingAdjustment"] = -1 });
            var configuration = new JsonObject
            {
                ["AdjustmentType"] = "ChangeInCapacity",
                ["StepAdjustments"] = adjustments,
                ["Cooldown"] = spec.ScaleInCooldown,
                ["MetricAggregationType"] = "Maximum",
            };
            int period = spec.EffectiveAlarmPeriod;
            var metrics = new JsonArray
            {
                MetricQuery("backlog", Backlog(spec), period),
                MetricQuery("inflight", BindingSeries.InFlight(spec.Metric, spec.Cluster, spec.Service), period),
                MetricQuery("unprotected", BindingSeries.UnprotectedInFlight(spec.Metric, spec.Cluster, spec.Service), period),
                // The fewest tasks of the period: the surplus is never counted from a count that is already gone.
                MetricQuery("tasks", DesiredTasks(spec), period, "Minimum"),
                new JsonObject { ["Id"] = "surplus", ["Expression"] = GuardExpression(spec.RunsPerTask, spec.MinCapacity), ["Label"] = GuardLabel, ["ReturnData"] = true },
            };
            string rule = spec.RunsPerTask is int limit
                ? "to the tasks its backlog and in-flight runs need at " + limit + " run(s) per task, while every in-flight run is on a protected task"
                : "only while no run is in flight or waiting";
            var alarm = new JsonObject
            {
                ["AlarmName"] = name,
                ["AlarmDescription"] = "Scale " + spec.ResourceId + " in " + rule + " (busy guard for " + Scope(spec) + "); missing data never scales in. Managed by PrefectScaling.",
                ["Metrics"] = metrics,
                ["ComparisonOperator"] = "GreaterThanOrEqualToThreshold",
                ["Threshold"] = 1,
                ["EvaluationPeriods"] = spec.ScaleInAfterPeriods,
                ["DatapointsToAlarm"] = spec.ScaleInAfterPeriods,
                ["TreatMissingData"] = "notBreaching",
            };
            return new DesiredPolicy(name, Policy(spec, name, "StepScaling", "StepScalingPolicyConfiguration", configuration), alarm);
        }

        /// <summary>Whether an alarm is the busy guard's (its expression carries <see cref="GuardLabel"/>).</summary>
        public static bool IsGuardAlarm(JsonObject? alarm) =>
            (alarm?["Metrics"] as JsonArray)?.OfType<JsonObject>().Any(q => (string?)q["Label"] == GuardLabel) == true;

        /// <summary>The guard's runs per task, read back from its expression; null: none (only when nothing is in flight).</summary>
        public static int? GuardRunsPerTask(JsonObject alarm)
        {
            string? expression = (alarm["Metrics"] as JsonArray)?.OfType<JsonObject>().Where(q => (string?)q["Label"] == GuardLabel).Select(q => (string?)q["Expression"]).FirstOrDefault();
            System.Text.RegularExpressions.Match m = System.Text.RegularExpressions.Regex.Match(expression ?? string.Empty, @"CEIL\(\(backlog \+ inflight\) / ([0-9]+)\)");
            return m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : (int?)null;
        }

        /// <summary>Target tracking cannot grow a service from zero tasks (capacity × ratio stays 0); this policy
        /// sets the service to at least one task when work waits and none is desired.</summary>
        private static DesiredPolicy Wake(ScalingPolicySpec spec, string name)
        {
            var configuration = new JsonObject
            {
                ["AdjustmentType"] = "ExactCapacity",
                ["StepAdjustments"] = new JsonArray(new JsonObject { ["MetricIntervalLowerBound"] = 0, ["ScalingAdjustment"] = Math.Max(1, spec.MinCapacity) }),
                ["Cooldown"] = spec.ScaleOutCooldown,
                ["MetricAggregationType"] = "Maximum",
            };
            int period = spec.EffectiveAlarmPeriod;
            var metrics = new JsonArray
            {
                MetricQuery("backlog", Backlog(spec), period),
                MetricQuery("tasks", DesiredTasks(spec), period),
                new JsonObject { ["Id"] = "wake", ["Expression"] = WakeExpression, ["Label"] = "Backlog waiting with no task", ["ReturnData"] = true },
            };
            var alarm = new JsonObject
            {
                ["AlarmName"] = name,
                ["AlarmDescription"] = "Wake " + spec.ResourceId + " from zero tasks when the Prefect backlog of " + Scope(spec) + " waits. Managed by PrefectScaling.",
                ["Metrics"] = metrics,
                ["ComparisonOperator"] = "GreaterThanOrEqualToThreshold",
                ["Threshold"] = 1,
                ["EvaluationPeriods"] = 1,
                ["DatapointsToAlarm"] = 1,
                ["TreatMissingData"] = "notBreaching",
            };
            return new DesiredPolicy(name, Policy(spec, name, "StepScaling", "StepScalingPolicyConfiguration", configuration), alarm);
        }

        internal static JsonObject MetricQuery(string id, MetricSeries series, int period, string stat = "Maximum") => new JsonObject
        {
            ["Id"] = id,
            ["MetricStat"] = new JsonObject
            {
                ["Metric"] = new JsonObject { ["Namespace"] = series.Namespace, ["MetricName"] = series.MetricName, ["Dimensions"] = Dimensions(series.Dimensions) },
                ["Period"] = period,
                ["Stat"] = stat,
            },
            ["ReturnData"] = false,
        };

        /// <summary>An alarm on the binding's backlog; missing data is "not breaching", so it never scales.</summary>
        private static JsonObject BacklogAlarm(ScalingPolicySpec spec, string name, string comparison, double threshold, int periods, string description) => new JsonObject
        {
            ["AlarmName"] = name,
            ["AlarmDescription"] = description + " Managed by PrefectScaling.",
            ["Namespace"] = Backlog(spec).Namespace,
            ["MetricName"] = Backlog(spec).MetricName,
            ["Dimensions"] = Dimensions(Backlog(spec).Dimensions),
            ["Statistic"] = "Maximum",
            ["Period"] = spec.EffectiveAlarmPeriod,
            ["EvaluationPeriods"] = periods,
            ["DatapointsToAlarm"] = periods,
            ["Threshold"] = threshold,
            ["ComparisonOperator"] = comparison,
            ["TreatMissingData"] = "notBreaching",
        };

        internal static JsonObject Policy(ScalingPolicySpec spec, string name, string type, string configurationKey, JsonObject configuration) => new JsonObject
        {
            ["PolicyName"] = name,
            ["ServiceNamespace"] = ServiceNamespace,
            ["ResourceId"] = spec.ResourceId,
            ["ScalableDimension"] = ScalableDimension,
            ["PolicyType"] = type,
            [configurationKey] = configuration,
        };

        private static JsonArray Dimensions(IEnumerable<KeyValuePair<string, string>> dimensions) =>
            new JsonArray(dimensions.Select(d => (JsonNode)new JsonObject { ["Name"] = d.Key, ["Value"] = d.Value }).ToArray());

        internal static string Scope(ScalingPolicySpec spec)
        {
            string scope = spec.Binding.Scope.ToString();
            return scope.Length <= MaxScopeInDescription ? scope : scope.Substring(0, MaxScopeInDescription) + "…";
        }

        private static string Number(double value) => value.ToString(CultureInfo.InvariantCulture);
    }
}
