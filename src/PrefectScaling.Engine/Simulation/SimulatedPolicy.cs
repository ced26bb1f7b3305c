using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Metrics;
using PrefectScaling.Scaling;

namespace PrefectScaling.Simulation
{
    /// <summary>Numbers from documents built in memory (int, double) or parsed from AWS's answers (JsonElement).</summary>
    internal static class Json
    {
        public static double? Number(JsonNode? node)
        {
            if (node is not JsonValue value) return null;
            if (value.TryGetValue(out double d)) return d;
            if (value.TryGetValue(out int i)) return i;
            if (value.TryGetValue(out long l)) return l;
            if (value.TryGetValue(out decimal m)) return (double)m;
            if (value.TryGetValue(out float f)) return f;
            if (value.TryGetValue(out System.Text.Json.JsonElement e) && e.ValueKind == System.Text.Json.JsonValueKind.Number) return e.GetDouble();
            // The query protocol's answers (CloudWatch) carry every value as text.
            string? text = value.TryGetValue(out string? t) ? t : value.TryGetValue(out System.Text.Json.JsonElement te) && te.ValueKind == System.Text.Json.JsonValueKind.String ? te.GetString() : null;
            if (text != null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed)) return parsed;
            throw new ArgumentException("'" + node.ToJsonString() + "' is not a number.");
        }

        public static bool? Boolean(JsonNode? node)
        {
            if (node is not JsonValue value) return null;
            if (value.TryGetValue(out bool b)) return b;
            if (value.TryGetValue(out System.Text.Json.JsonElement e) && (e.ValueKind == System.Text.Json.JsonValueKind.True || e.ValueKind == System.Text.Json.JsonValueKind.False)) return e.GetBoolean();
            string? text = value.TryGetValue(out string? t) ? t : value.TryGetValue(out System.Text.Json.JsonElement te) && te.ValueKind == System.Text.Json.JsonValueKind.String ? te.GetString() : null;
            return text != null && bool.TryParse(text, out bool parsed) ? parsed : throw new ArgumentException("'" + node.ToJsonString() + "' is not true or false.");
        }

        public static int? Integer(JsonNode? node) => Number(node) is double d ? (int)Math.Round(d) : (int?)null;
    }

    /// <summary>What a simulated publisher writes: one measure's backlog, the desired-task count, or the busy guard's
    /// unprotected in-flight runs.</summary>
    public readonly struct SimulatedSeries : IEquatable<SimulatedSeries>
    {
        private enum Kind { Backlog, DesiredTasks, UnprotectedInFlight, RequiredTasks }

        private readonly Kind _kind;

        private SimulatedSeries(BacklogMeasure? measure, Kind kind)
        {
            Measure = measure;
            _kind = kind;
        }

        public BacklogMeasure? Measure { get; }
        public bool IsUnprotectedInFlight => _kind == Kind.UnprotectedInFlight;
        public bool IsDesiredTasks => _kind == Kind.DesiredTasks;

        /// <summary>The capacity policy's requirement (RequiredTasks), which its publisher writes.</summary>
        public bool IsRequiredTasks => _kind == Kind.RequiredTasks;
        public static SimulatedSeries Backlog(BacklogMeasure measure) => new SimulatedSeries(measure, Kind.Backlog);
        public static SimulatedSeries DesiredTasks => new SimulatedSeries(null, Kind.DesiredTasks);
        public static SimulatedSeries UnprotectedInFlight => new SimulatedSeries(null, Kind.UnprotectedInFlight);
        public static SimulatedSeries RequiredTasks => new SimulatedSeries(null, Kind.RequiredTasks);
        public bool Equals(SimulatedSeries other) => Measure == other.Measure && _kind == other._kind;
        public override bool Equals(object? obj) => obj is SimulatedSeries s && Equals(s);
        public override int GetHashCode() => _kind == Kind.Backlog ? Measure!.Value.GetHashCode() : -1 - (int)_kind;
    }

    /// <summary>A metric as an alarm or target tracking reads it: one series with a statistic, or metric math over
    /// queries (the one with ReturnData true is the value).</summary>
    public sealed class SimulatedMetric
    {
        public SimulatedMetric(IReadOnlyList<(string Id, SimulatedSeries Series, string Statistic)> queries, string? expression)
        {
            Queries = queries;
            Expression = expression;
        }

        public IReadOnlyList<(string Id, SimulatedSeries Series, string Statistic)> Queries { get; }

        /// <summary>Null: the value is the single query's.</summary>
        public string? Expression { get; }

        /// <summary>From a PutMetricAlarm input, a DescribeAlarms alarm or a CustomizedMetricSpecification.</summary>
        public static SimulatedMetric From(JsonObject json, Func<string, SimulatedSeries> seriesOf)
        {
            if (json["Metrics"] is JsonArray metrics && metrics.Count > 0)
            {
                var queries = new List<(string, SimulatedSeries, string)>();
                string? expression = null;
                foreach (JsonObject query in metrics.OfType<JsonObject>())
                {
                    string id = (string?)query["Id"] ?? throw new ArgumentException("A metric query has no Id.");
                    if (query["MetricStat"] is JsonObject stat)
                        queries.Add((id, seriesOf((string?)stat["Metric"]?["MetricName"] ?? string.Empty), (string?)stat["Stat"] ?? "Average"));
                    if (Json.Boolean(query["ReturnData"]) != false && (string?)query["Expression"] is string text) expression = text;
                }
                if (expression == null && queries.Count != 1) throw new ArgumentException("A metric math policy or alarm returns no expression.");
                return new SimulatedMetric(queries, expression);
            }
            string name = (string?)json["MetricName"] ?? throw new ArgumentException("A policy or alarm reads no metric.");
            return new SimulatedMetric(new[] { ("m", seriesOf(name), (string?)json["Statistic"] ?? "Average") }, null);
        }
    }

    /// <summary>A CloudWatch alarm as the simulation evaluates it.</summary>
    public sealed class SimulatedAlarm
    {
        public string Name { get; set; } = string.Empty;
        public SimulatedMetric Metric { get; set; } = null!;
        public int Period { get; set; } = 60;
        public int EvaluationPeriods { get; set; } = 1;
        public int DatapointsToAlarm { get; set; } = 1;
        public double Threshold { get; set; }
        public string ComparisonOperator { get; set; } = "GreaterThanThreshold";
        public string TreatMissingData { get; set; } = "missing";

        public bool Breaches(double value) => ComparisonOperator switch
        {
            "GreaterThanOrEqualToThreshold" => value >= Threshold,
            "GreaterThanThreshold" => value > Threshold,
            "LessThanThreshold" => value < Threshold,
            "LessThanOrEqualToThreshold" => value <= Threshold,
            _ => throw new ArgumentException("The alarm " + Name + " compares with " + ComparisonOperator + ", which the simulation does not model."),
        };

        public bool IsAbove => ComparisonOperator.StartsWith("Greater", StringComparison.Ordinal);

        public static SimulatedAlarm From(JsonObject json, Func<string, SimulatedSeries> seriesOf)
        {
            int period = Json.Integer(json["Period"]) ?? Json.Integer((json["Metrics"] as JsonArray)?.OfType<JsonObject>().Select(q => q["MetricStat"]?["Period"]).FirstOrDefault(p => p != null)) ?? 60;
            int evaluation = Json.Integer(json["EvaluationPeriods"]) ?? 1;
            return new SimulatedAlarm
            {
                Name = (string?)json["AlarmName"] ?? string.Empty,
                Metric = SimulatedMetric.From(json, seriesOf),
                Period = period,
                EvaluationPeriods = evaluation,
                DatapointsToAlarm = Json.Integer(json["DatapointsToAlarm"]) ?? evaluation,
                Threshold = Json.Number(json["Threshold"]) ?? 0,
                ComparisonOperator = (string?)json["ComparisonOperator"] ?? "GreaterThanThreshold",
                TreatMissingData = (string?)json["TreatMissingData"] ?? "missing",
            };
        }
    }

    /// <summary>A capacity policy as the simulated publisher applies it (Capacity/CapacityRequirement).</summary>
    public sealed class SimulatedCapacity
    {
        public int RunsPerTask { get; set; } = 1;

        /// <summary>How the requirement reaches the service: the publisher raising the scalable target's MinCapacity
        /// (what the module does), or a RequiredTasks alarm with ExactCapacity steps (the candidate it was measured
        /// against).</summary>
        public CapacityMechanism Mechanism { get; set; } = CapacityMechanism.RaiseMinimum;

        /// <summary>The Upcoming lead time; null: the task start time plus one sample interval.</summary>
        public int? LeadSeconds { get; set; }
    }

    public enum CapacityMechanism
    {
        RaiseMinimum,
        ExactCapacityAlarm,
    }

    public sealed class SimulatedStep
    {
        public double? LowerBound { get; set; }
        public double? UpperBound { get; set; }
        public int Adjustment { get; set; }
    }

    /// <summary>One scaling policy: step scaling with its alarm, or target tracking (whose alarms AAS makes).</summary>
    public sealed class SimulatedScalingPolicy
    {
        public string Name { get; set; } = string.Empty;
        public bool IsTargetTracking { get; set; }

        // Step scaling.
        public SimulatedAlarm? Alarm { get; set; }
        public string AdjustmentType { get; set; } = "ChangeInCapacity";
        public int? MinAdjustmentMagnitude { get; set; }
        public List<SimulatedStep> Steps { get; } = new List<SimulatedStep>();
        public int Cooldown { get; set; }

        // Target tracking.
        public SimulatedMetric? TrackedMetric { get; set; }
        public double TargetValue { get; set; }
        public int ScaleOutCooldown { get; set; } = 300;
        public int ScaleInCooldown { get; set; } = 300;
        public bool DisableScaleIn { get; set; }
    }

    /// <summary>A scalable target and its policies, read from exactly the documents Set-PrefectEcsScalingPolicy writes
    /// (<see cref="ScalingPolicyDocuments"/>) or from what AWS holds for a service (<see cref="EcsScalingState"/>).</summary>
    public sealed class SimulatedPolicy
    {
        public string Description { get; set; } = string.Empty;
        public string Kind { get; set; } = string.Empty;
        public int MinCapacity { get; set; }
        public int MaxCapacity { get; set; }
        public List<SimulatedScalingPolicy> Policies { get; } = new List<SimulatedScalingPolicy>();

        /// <summary>A capacity policy: the publisher computes the requirement each sample and applies it; null for
        /// the reactive kinds.</summary>
        public SimulatedCapacity? Capacity { get; set; }

        /// <summary>The metrics a publisher writes for this spec: its measure's backlog (under -MetricName too) and the
        /// desired-task count.</summary>
        /// <summary>Whether a policy scales in behind the busy guard (as Set writes it unless -AllowBusyScaleIn).</summary>
        public bool Guarded { get; set; }

        public static SimulatedPolicy FromSpec(ScalingPolicySpec spec)
        {
            spec.Validate();
            List<DesiredPolicy> policies = ScalingPolicyDocuments.Policies(spec);
            JsonObject target = ScalingPolicyDocuments.ScalableTarget(spec);
            var policy = Build(target, policies.Select(p => p.PutInput), policies.Where(p => p.Alarm != null).Select(p => p.Alarm!),
                SeriesResolver(spec.Metric.MetricNameFor(spec.Measure), spec.Measure));
            policy.Kind = spec.Kind.ToString();
            policy.Guarded = policies.Any(p => ScalingPolicyDocuments.IsGuardAlarm(p.Alarm));
            policy.Description = Describe(spec);
            if (spec.Kind == ScalingPolicyKind.Capacity) policy.Capacity = new SimulatedCapacity { RunsPerTask = spec.RunsPerTask ?? 1 };
            return policy;
        }

        /// <summary>The live policy of a service; a metric name that is not a default one is the backlog of
        /// <paramref name="measure"/>.</summary>
        public static SimulatedPolicy FromState(EcsScalingState state, BacklogMeasure measure = BacklogMeasure.Late)
        {
            if (state.Target == null) throw new ArgumentException("The service " + state.ResourceId + " is not a scalable target: there is no policy to simulate.");
            if (state.Policies.Count == 0) throw new ArgumentException("The service " + state.ResourceId + " has no scaling policy made by PrefectScaling to simulate.");
            var policy = Build(state.Target, state.Policies, state.Alarms, SeriesResolver(null, measure));
            CapacitySettings? capacity = CapacityPolicy.SettingsOf(state);
            if (capacity != null)
            {
                policy.Kind = ScalingPolicyKind.Capacity.ToString();
                policy.Capacity = new SimulatedCapacity { RunsPerTask = capacity.RunsPerTask };
                policy.MinCapacity = capacity.MinCapacity;
                policy.Description = state.ResourceId + " Capacity " + policy.MinCapacity + ".." + policy.MaxCapacity + " " + capacity.RunsPerTask + "/task";
                return policy;
            }
            // The kind as Get-PrefectEcsScalingPolicy reads it (a guarded target-tracking kind has a step ":in" too).
            policy.Kind = PrefectEcsScalingPolicy.From(state).Select(r => r.Kind).FirstOrDefault(k => k != null) ?? ScalingPolicyKind.StepScaling.ToString();
            policy.Guarded = state.Alarms.Any(ScalingPolicyDocuments.IsGuardAlarm);
            policy.Description = state.ResourceId + " " + policy.Kind + " " + policy.MinCapacity + ".." + policy.MaxCapacity;
            return policy;
        }

        private static Func<string, SimulatedSeries> SeriesResolver(string? backlogName, BacklogMeasure measure) => name =>
        {
            if (name == BacklogMetricOptions.DesiredTasksMetricName) return SimulatedSeries.DesiredTasks;
            if (name == BindingSeries.UnprotectedInFlightMetricName) return SimulatedSeries.UnprotectedInFlight;
            if (name == BindingSeries.RequiredTasksMetricName) return SimulatedSeries.RequiredTasks;
            if (name == backlogName) return SimulatedSeries.Backlog(measure);
            foreach (BacklogMeasure m in Enum.GetValues(typeof(BacklogMeasure)))
                if (BacklogMetricOptions.DefaultMetricName(m) == name) return SimulatedSeries.Backlog(m);
            return SimulatedSeries.Backlog(measure);
        };

        private static SimulatedPolicy Build(JsonObject target, IEnumerable<JsonObject> putInputs, IEnumerable<JsonObject> alarms, Func<string, SimulatedSeries> seriesOf)
        {
            var result = new SimulatedPolicy { MinCapacity = Json.Integer(target["MinCapacity"]) ?? 0, MaxCapacity = Json.Integer(target["MaxCapacity"]) ?? 0 };
            List<JsonObject> alarmList = alarms.ToList();
            foreach (JsonObject input in putInputs)
            {
                string name = (string?)input["PolicyName"] ?? string.Empty;
                if (input["TargetTrackingScalingPolicyConfiguration"] is JsonObject tracking)
                {
                    JsonObject metric = tracking["CustomizedMetricSpecification"] as JsonObject
                        ?? throw new ArgumentException("The policy " + name + " tracks a predefined metric, which the simulation does not model.");
                    result.Policies.Add(new SimulatedScalingPolicy
                    {
                        Name = name,
                        IsTargetTracking = true,
                        TrackedMetric = SimulatedMetric.From(metric, seriesOf),
                        TargetValue = Json.Number(tracking["TargetValue"]) ?? throw new ArgumentException("The policy " + name + " has no TargetValue."),
                        // "Define cooldown periods": 300 s for ECS services when not given.
                        ScaleOutCooldown = Json.Integer(tracking["ScaleOutCooldown"]) ?? 300,
                        ScaleInCooldown = Json.Integer(tracking["ScaleInCooldown"]) ?? 300,
                        DisableScaleIn = Json.Boolean(tracking["DisableScaleIn"]) ?? false,
                    });
                }
                else if (input["StepScalingPolicyConfiguration"] is JsonObject step)
                {
                    string? arn = (string?)input["PolicyARN"];
                    JsonObject? alarm = alarmList.FirstOrDefault(a => (a["AlarmActions"] as JsonArray)?.Any(x => (string?)x == arn && arn != null) == true)
                        ?? alarmList.FirstOrDefault(a => (string?)a["AlarmName"] == name);
                    var policy = new SimulatedScalingPolicy
                    {
                        Name = name,
                        Alarm = alarm == null ? null : SimulatedAlarm.From(alarm, seriesOf),
                        AdjustmentType = (string?)step["AdjustmentType"] ?? "ChangeInCapacity",
                        MinAdjustmentMagnitude = Json.Integer(step["MinAdjustmentMagnitude"]),
                        // StepScalingPolicyConfiguration Cooldown: 300 s for ECS services when not given.
                        Cooldown = Json.Integer(step["Cooldown"]) ?? 300,
                    };
                    foreach (JsonObject s in (step["StepAdjustments"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                        policy.Steps.Add(new SimulatedStep { LowerBound = Json.Number(s["MetricIntervalLowerBound"]), UpperBound = Json.Number(s["MetricIntervalUpperBound"]), Adjustment = Json.Integer(s["ScalingAdjustment"]) ?? 0 });
                    result.Policies.Add(policy);
                }
            }
            return result;
        }

        private static string Describe(ScalingPolicySpec spec)
        {
            string range = spec.MinCapacity + ".." + spec.MaxCapacity + (spec.Guarded ? " guard" + (spec.RunsPerTask is int limit ? "/" + limit : string.Empty) : string.Empty);
            string n(double v) => v.ToString(CultureInfo.InvariantCulture);
            return spec.Kind switch
            {
                ScalingPolicyKind.Capacity => "Capacity " + range + " " + (spec.RunsPerTask ?? 1) + "/task in " + spec.ScaleInAfterPeriods + "x" + spec.EffectiveAlarmPeriod + "s",
                ScalingPolicyKind.StepScaling => "StepScaling " + range + " @{" + string.Join("; ", spec.ScaleOutSteps.OrderBy(s => s.Threshold).Select(s => n(s.Threshold) + "=" + s.Adjustment)) + "} in " + spec.ScaleInAfterPeriods + "x" + spec.EffectiveAlarmPeriod + "s",
                _ => spec.Kind + " " + range + " " + spec.Measure + " " + n(spec.TargetValue) + " cd " + spec.ScaleOutCooldown + "/" + spec.ScaleInCooldown,
            };
        }
    }
}
