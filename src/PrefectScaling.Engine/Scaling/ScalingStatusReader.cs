using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Metrics;

namespace PrefectScaling.Scaling
{
    /// <summary>Reads one binding's status for Get-PrefectScalingStatus: ECS DescribeServices for the tasks, the
    /// module's scaling as Get-PrefectEcsScalingPolicy reads it (plus the alarms AWS made for its target tracking),
    /// and one GetMetricData for the latest data of the binding's backlog series and of whatever each policy and alarm
    /// reads, exactly as they name it. What the policies would do is worked out from those data, the way Application
    /// Auto Scaling does; a policy whose data are missing does nothing and says "no data", never a number.</summary>
    public sealed class ScalingStatusReader
    {
        /// <summary>Target tracking's alarms evaluate one-minute data (AWS makes them; the high one looks at 3 minutes).</summary>
        public const int TrackingPeriod = 60;
        private const int TrackingRecentPeriods = 3;
        private const int MaxPages = 10;
        private static readonly BacklogMeasure[] Measures = { BacklogMeasure.Late, BacklogMeasure.Due, BacklogMeasure.Pending, BacklogMeasure.Running };

        private readonly AwsContext _aws;

        public ScalingStatusReader(AwsContext aws)
        {
            _aws = aws;
        }

        /// <summary>One datum of a GetMetricData result: the start of its period and its value.</summary>
        public readonly struct Datum
        {
            public Datum(DateTime timestamp, double value)
            {
                Timestamp = timestamp;
                Value = value;
            }

            public DateTime Timestamp { get; }
            public double Value { get; }
        }

        /// <param name="at">The moment the status is for (the newest data and the alarms' periods are counted back from
        /// it); null: now.</param>
        public async Task<PrefectScalingStatus> ReadAsync(string cluster, string service, BacklogMetricOptions metric, IEngineLog log, CancellationToken ct, DateTime? at = null)
        {
            ScalingNames.ValidateService(cluster, service);
            DateTime now = at?.ToUniversalTime() ?? DateTime.UtcNow;
            JsonObject found = await DescribeServiceAsync(cluster, service, log, ct).ConfigureAwait(false);
            EcsScalingState scaling = await new EcsScalingPlanner(_aws).ReadAsync(cluster, service, log, ct).ConfigureAwait(false);
            List<JsonObject> trackingAlarms = await TrackingAlarmsAsync(scaling, log, ct).ConfigureAwait(false);

            var batch = new MetricBatch();
            int backlogPeriod = scaling.Alarms.Select(a => AlarmPeriod(a)).Where(p => p > 0).DefaultIfEmpty(TrackingPeriod).Min();
            foreach (BacklogMeasure measure in Measures)
                batch.Add(measure.ToString(), Stat(BindingSeries.Backlog(metric, cluster, service, measure), "Maximum", backlogPeriod, null));
            foreach (JsonObject policy in scaling.Policies)
            {
                string name = (string)policy["PolicyName"]!;
                if (policy["TargetTrackingScalingPolicyConfiguration"]?["CustomizedMetricSpecification"] is JsonObject tracked)
                    batch.Add(name, TrackedQueries(tracked));
                else if (scaling.Alarms.FirstOrDefault(a => (string?)a["AlarmName"] == name) is JsonObject alarm)
                    batch.Add(name, AlarmQueries(alarm));
            }
            batch.Add(InFlightKey, Stat(BindingSeries.InFlight(metric, cluster, service), "Maximum", backlogPeriod, null));
            batch.Add(UnprotectedKey, Stat(BindingSeries.UnprotectedInFlight(metric, cluster, service), "Maximum", backlogPeriod, null));
            AddGuardProbes(batch, scaling);
            if (CapacityPolicy.SettingsOf(scaling) != null)
                foreach (KeyValuePair<string, MetricSeries> part in CapacityPolicy.StatusSeries(metric, cluster, service))
                    batch.Add(part.Key, Stat(part.Value, "Maximum", backlogPeriod, null));
            Dictionary<string, List<Datum>> data = await batch.ReadAsync(_aws, now, log, ct).ConfigureAwait(false);
            return Build(cluster, service, now, found, scaling, trackingAlarms, data);
        }

        private const string InFlightKey = "InFlight";
        private const string UnprotectedKey = "UnprotectedInFlight";
        private const string GuardKey = "guard:";

        /// <summary>The busy guard now, for Get-PrefectEcsScalingPolicy: one GetMetricData of the guard alarm's own
        /// inputs; null when the service has no guard alarm.</summary>
        public async Task<string?> ReadGuardAsync(EcsScalingState scaling, IEngineLog log, CancellationToken ct, DateTime? at = null)
        {
            if (!scaling.Alarms.Any(ScalingPolicyDocuments.IsGuardAlarm)) return null;
            var batch = new MetricBatch();
            AddGuardProbes(batch, scaling);
            Dictionary<string, List<Datum>> data = await batch.ReadAsync(_aws, at?.ToUniversalTime() ?? DateTime.UtcNow, log, ct).ConfigureAwait(false);
            return GuardText(scaling, data, at?.ToUniversalTime() ?? DateTime.UtcNow);
        }

        /// <summary>Each input of the guard alarm on its own (backlog, inflight, unprotected, tasks), as the alarm reads it.</summary>
        private static void AddGuardProbes(MetricBatch batch, EcsScalingState scaling)
        {
            JsonObject? alarm = scaling.Alarms.FirstOrDefault(ScalingPolicyDocuments.IsGuardAlarm);
            if (alarm == null) return;
            foreach (JsonObject query in (alarm["Metrics"] as JsonArray)?.OfType<JsonObject>().Where(q => q["MetricStat"] != null) ?? Enumerable.Empty<JsonObject>())
            {
                var one = (JsonObject)query.DeepClone();
                one["ReturnData"] = true;
                batch.Add(GuardKey + (string?)query["Id"], MathQueries(new JsonArray(one), AlarmPeriod(alarm)));
            }
        }

        /// <summary>Whether the busy guard blocks scale-in now and why, from the latest datum of each of its inputs
        /// (keys "guard:backlog", "guard:inflight", "guard:unprotected", "guard:tasks"). An input with no recent datum
        /// blocks: the alarm treats missing data as not breaching.</summary>
        public static string GuardText(EcsScalingState scaling, IReadOnlyDictionary<string, List<Datum>> data, DateTime now)
        {
            JsonObject? alarm = scaling.Alarms.FirstOrDefault(ScalingPolicyDocuments.IsGuardAlarm);
            if (alarm == null)
                return PrefectEcsScalingPolicyFactory.BusyGuard(scaling) == "off" ? "off: scale-in can stop tasks that run flows (-AllowBusyScaleIn)" : "none";
            int period = Math.Max(AlarmPeriod(alarm), 10);
            // The newest complete period, with a period's room for the publisher's delay.
            DateTime recent = now.AddSeconds(-Math.Max(3 * period, 180));
            var names = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["backlog"] = "backlog", ["inflight"] = "InFlight", ["unprotected"] = "UnprotectedInFlight", ["tasks"] = "desired-task",
            };
            var latest = new Dictionary<string, double>(StringComparer.Ordinal);
            foreach (KeyValuePair<string, string> input in names)
            {
                data.TryGetValue(GuardKey + input.Key, out List<Datum>? points);
                Datum? last = points?.Count > 0 ? points[0] : (Datum?)null;
                if (last == null) return "blocks: no " + input.Value + " datum";
                if (last.Value.Timestamp < recent) return "blocks: no " + input.Value + " datum for " + Age(now - last.Value.Timestamp);
                latest[input.Key] = last.Value.Value;
            }
            double backlog = latest["backlog"], inFlight = latest["inflight"], unprotected = latest["unprotected"], tasks = latest["tasks"];
            string runs = Number(inFlight) + " run(s) in flight";
            if (unprotected > 0) return "blocks: " + runs + ", " + Number(unprotected) + " unprotected";
            int min = Int(scaling.Target?["MinCapacity"]) ?? 0;
            if (ScalingPolicyDocuments.GuardRunsPerTask(alarm) is not int limit)
            {
                if (backlog + inFlight > 0) return "blocks: " + runs + ", backlog " + Number(backlog);
                return tasks > min ? "allows: nothing in flight, " + Number(tasks - min) + " task(s) can go" : "allows: nothing in flight (at the minimum)";
            }
            double need = Math.Max(min, Math.Ceiling((backlog + inFlight) / limit));
            if (tasks <= need) return "blocks: " + runs + " and backlog " + Number(backlog) + " need " + Number(need) + " task(s) at " + limit + " per task";
            return "allows: " + Number(tasks - need) + " task(s) beyond the work (" + runs + ", all protected)";
        }

        /// <summary>The status from what was read (the data by the keys <see cref="ReadAsync"/> gives them: each measure's
        /// name, each policy's name), so that the reasoning can be checked on its own.</summary>
        public static PrefectScalingStatus Build(string cluster, string service, DateTime now, JsonObject serviceAnswer, EcsScalingState scaling,
            IReadOnlyList<JsonObject> trackingAlarms, IReadOnlyDictionary<string, List<Datum>> data)
        {
            var status = new PrefectScalingStatus
            {
                Cluster = cluster,
                Service = service,
                ResourceId = ScalingNames.ResourceId(cluster, service),
                DesiredTasks = Int(serviceAnswer["desiredCount"]) ?? 0,
                RunningTasks = Int(serviceAnswer["runningCount"]) ?? 0,
                PendingTasks = Int(serviceAnswer["pendingCount"]) ?? 0,
                MinCapacity = Int(scaling.Target?["MinCapacity"]),
                MaxCapacity = Int(scaling.Target?["MaxCapacity"]),
                Timestamp = now,
            };

            Datum? Latest(BacklogMeasure m) => data.TryGetValue(m.ToString(), out List<Datum>? points) && points.Count > 0 ? points[0] : (Datum?)null;
            status.LateRuns = Latest(BacklogMeasure.Late)?.Value;
            status.DueRuns = Latest(BacklogMeasure.Due)?.Value;
            status.PendingRuns = Latest(BacklogMeasure.Pending)?.Value;
            status.RunningRuns = Latest(BacklogMeasure.Running)?.Value;
            if (status.PendingRuns != null && status.RunningRuns != null) status.InFlightRuns = status.PendingRuns + status.RunningRuns;
            List<string> backlog = Measures.Where(m => Latest(m) != null).Select(m => m + " " + Number(Latest(m)!.Value.Value)).ToList();
            status.Backlog = backlog.Count == 0 ? "no data" : string.Join(", ", backlog);
            List<Datum> newest = Measures.Select(Latest).Where(d => d != null).Select(d => d!.Value).ToList();
            if (newest.Count > 0)
            {
                status.LastDatum = newest.Max(d => d.Timestamp);
                status.LastDatumAge = now - status.LastDatum.Value;
            }

            var alarms = scaling.Alarms.OrderBy(a => (string?)a["AlarmName"], StringComparer.Ordinal).Select(a => (Role: Role((string)a["AlarmName"]!), State: (string?)a["StateValue"]))
                .Concat(trackingAlarms.OrderBy(a => (string?)a["AlarmName"], StringComparer.Ordinal).Select(a => (Role: TrackingRole((string?)a["AlarmName"]), State: (string?)a["StateValue"])))
                .ToList();
            status.AlarmStates = string.Join(", ", alarms.Select(a => a.Role + " " + (a.State ?? "unknown")));
            status.AlarmCount = alarms.Count;
            status.AlarmsInAlarm = alarms.Count(a => a.State == "ALARM");

            Datum? LatestOf(string key) => data.TryGetValue(key, out List<Datum>? points) && points.Count > 0 ? points[0] : (Datum?)null;
            if (LatestOf(InFlightKey) is Datum inFlight) status.InFlightRuns = inFlight.Value;
            status.UnprotectedInFlightRuns = LatestOf(UnprotectedKey)?.Value;
            status.ScaleInGuard = GuardText(scaling, data, now);

            List<PrefectEcsScalingPolicy> rows = PrefectEcsScalingPolicyFactory.From(scaling).Where(r => r.PolicyName != null).ToList();
            status.PolicyKind = rows.Count == 0 ? null : string.Join(", ", rows.Select(r => r.Kind).Distinct());
            Decide(status, scaling, data, now);
            CapacityPolicy.FillStatus(status, scaling, key => data.TryGetValue(key, out List<Datum>? points) && points.Count > 0 ? points[0].Value : (double?)null);
            return status;
        }

        private static void Decide(PrefectScalingStatus status, EcsScalingState scaling, IReadOnlyDictionary<string, List<Datum>> data, DateTime now)
        {
            if (scaling.Target == null || scaling.Policies.Count == 0)
            {
                status.Decision = "no policy";
                status.PolicyDetail = scaling.Target == null ? "The service is not a scalable target." : "The scalable target has no PrefectScaling policy.";
                return;
            }
            int current = status.DesiredTasks;
            int min = status.MinCapacity ?? 0, max = status.MaxCapacity ?? int.MaxValue;
            var outcomes = new List<Outcome>();
            foreach (JsonObject policy in scaling.Policies.OrderBy(p => (string?)p["PolicyName"], StringComparer.Ordinal))
            {
                string name = (string)policy["PolicyName"]!;
                data.TryGetValue(name, out List<Datum>? points);
                if (policy["TargetTrackingScalingPolicyConfiguration"] is JsonObject tracking)
                    outcomes.Add(Track(Role(name, "tracking"), tracking, points, current, min, max, now));
                else if (policy["StepScalingPolicyConfiguration"] is JsonObject step)
                {
                    JsonObject? alarm = scaling.Alarms.FirstOrDefault(a => (string?)a["AlarmName"] == name);
                    outcomes.Add(alarm == null ? new Outcome(Role(name) + ": no alarm of PrefectScaling's triggers it", null, false) : Step(Role(name), step, alarm, points, current, min, max, now));
                }
            }
            status.PolicyDetail = string.Join("; ", outcomes.Select(o => o.Text));
            List<Outcome> acting = outcomes.Where(o => o.HasData).ToList();
            if (acting.Count == 0)
            {
                status.Decision = "no data";
                return;
            }
            List<int> outs = acting.Where(o => o.Desired > current).Select(o => o.Desired!.Value).ToList();
            List<int> ins = acting.Where(o => o.Desired < current).Select(o => o.Desired!.Value).ToList();
            // Application Auto Scaling: the largest scale-out wins; a scale-in only when nothing scales out.
            if (outs.Count > 0) Set(status, "scale out to ", outs.Max());
            else if (ins.Count > 0) Set(status, "scale in to ", ins.Max());
            else Set(status, "hold at ", current);
        }

        private static void Set(PrefectScalingStatus status, string what, int desired)
        {
            status.Decision = what + desired.ToString(CultureInfo.InvariantCulture);
            status.DecisionDesiredTasks = desired;
        }

        /// <summary>What one policy would do: the desired count (null: nothing), and whether it had data to act on.</summary>
        private sealed class Outcome
        {
            public Outcome(string text, int? desired, bool hasData)
            {
                Text = text;
                Desired = desired;
                HasData = hasData;
            }

            public string Text { get; }
            public int? Desired { get; }
            public bool HasData { get; }
        }

        /// <summary>Target tracking: ceil(current × metric ÷ target), within the bounds; it cannot leave zero (capacity ×
        /// ratio stays 0) and does not scale in with scale-in disabled. Data older than its high alarm's three minutes
        /// leave it with nothing to act on.</summary>
        private static Outcome Track(string role, JsonObject tracking, List<Datum>? points, int current, int min, int max, DateTime now)
        {
            double? target = Double(tracking["TargetValue"]);
            Datum? latest = points?.Where(p => p.Timestamp >= now.AddSeconds(-TrackingPeriod * (TrackingRecentPeriods + 1))).Select(p => (Datum?)p).FirstOrDefault();
            if (latest == null || target == null || !(target > 0))
                return new Outcome(role + ": no data" + Since(points, now), null, false);
            double value = latest.Value.Value;
            int implied = (int)Math.Min(int.MaxValue, Math.Ceiling(current * value / target.Value - 1e-9));
            int desired = Clamp(implied, min, max);
            bool scaleInDisabled = tracking["DisableScaleIn"] is JsonValue v && v.TryGetValue(out bool disabled) && disabled;
            if (desired < current && scaleInDisabled) desired = current;
            string text = role + ": " + Number(value) + " against target " + Number(target.Value) + " at " + current + " task(s) -> " + desired;
            if (current == 0 && value > 0) text += " (target tracking cannot leave zero tasks)";
            return new Outcome(text, desired, true);
        }

        /// <summary>Step scaling: whether the alarm would be in ALARM on the latest periods (M of N, missing data as the
        /// alarm treats it), and then which step the latest value falls in.</summary>
        private static Outcome Step(string role, JsonObject step, JsonObject alarm, List<Datum>? points, int current, int min, int max, DateTime now)
        {
            string comparison = (string?)alarm["ComparisonOperator"] ?? string.Empty;
            double? threshold = Double(alarm["Threshold"]);
            int period = AlarmPeriod(alarm);
            int periods = Int(alarm["EvaluationPeriods"]) ?? 1;
            int needed = Int(alarm["DatapointsToAlarm"]) ?? periods;
            bool above = comparison.StartsWith("GreaterThan", StringComparison.Ordinal);
            if (threshold == null || period <= 0 || (!above && !comparison.StartsWith("LessThan", StringComparison.Ordinal)))
                return new Outcome(role + ": its alarm (" + comparison + ") cannot be evaluated here", null, false);

            List<Datum> recent = (points ?? new List<Datum>()).Where(p => p.Timestamp >= now.AddSeconds(-(double)period * (periods + 1))).Take(periods).ToList();
            if (recent.Count == 0) return new Outcome(role + ": no data" + Since(points, now), null, false);
            bool Breaches(double v) => comparison switch
            {
                "GreaterThanOrEqualToThreshold" => v >= threshold.Value,
                "GreaterThanThreshold" => v > threshold.Value,
                "LessThanThreshold" => v < threshold.Value,
                _ => v <= threshold.Value,
            };
            int breaching = recent.Count(p => Breaches(p.Value));
            if ((string?)alarm["TreatMissingData"] == "breaching") breaching += periods - recent.Count;
            double latest = recent[0].Value;
            string condition = Number(latest) + " " + Symbol(comparison) + " " + Number(threshold.Value);
            if (breaching < needed)
                return new Outcome(role + ": " + breaching + " of " + needed + " period(s) breaching (latest " + Number(latest) + "), no action", current, true);

            double difference = latest - threshold.Value;
            JsonObject? applies = (step["StepAdjustments"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(s =>
            {
                double lower = Double(s["MetricIntervalLowerBound"]) ?? double.NegativeInfinity;
                double upper = Double(s["MetricIntervalUpperBound"]) ?? double.PositiveInfinity;
                // Above the threshold the lower bound is inclusive; below it the upper bound is.
                return above ? difference >= lower && difference < upper : difference > lower && difference <= upper;
            });
            if (applies == null) return new Outcome(role + ": " + condition + " but no step covers it, no action", current, true);
            int adjustment = Int(applies["ScalingAdjustment"]) ?? 0;
            int desired = Clamp(Adjusted((string?)step["AdjustmentType"], current, adjustment, Int(step["MinAdjustmentMagnitude"])), min, max);
            return new Outcome(role + ": " + condition + " -> " + Adjustment((string?)step["AdjustmentType"], adjustment) + " -> " + desired, desired, true);
        }

        /// <summary>Application Auto Scaling's adjustment types, with its rounding of percentages.</summary>
        private static int Adjusted(string? type, int current, int adjustment, int? minMagnitude)
        {
            switch (type)
            {
                case "ExactCapacity":
                    return adjustment;
                case "PercentChangeInCapacity":
                    double change = current * adjustment / 100.0;
                    int rounded = change > 1 ? (int)Math.Floor(change) : change >= 0 ? (change > 0 ? 1 : 0) : change >= -1 ? -1 : (int)Math.Ceiling(change);
                    if (minMagnitude is int least && Math.Abs(rounded) < least && rounded != 0) rounded = Math.Sign(rounded) * least;
                    return current + rounded;
                default:
                    return current + adjustment;
            }
        }

        private static string Adjustment(string? type, int adjustment) => type switch
        {
            "ExactCapacity" => "set " + adjustment,
            "PercentChangeInCapacity" => (adjustment >= 0 ? "+" : string.Empty) + adjustment + "%",
            _ => (adjustment >= 0 ? "+" : string.Empty) + adjustment,
        };

        private static string Symbol(string comparison) => comparison switch
        {
            "GreaterThanOrEqualToThreshold" => ">=",
            "GreaterThanThreshold" => ">",
            "LessThanThreshold" => "<",
            _ => "<=",
        };

        private static string Since(List<Datum>? points, DateTime now) =>
            points != null && points.Count > 0 ? " (the last datum is " + Age(now - points[0].Timestamp) + " old)" : string.Empty;

        private static string Age(TimeSpan age) =>
            age.TotalMinutes < 2 ? (int)age.TotalSeconds + " s" : age.TotalHours < 2 ? (int)age.TotalMinutes + " min" : (int)age.TotalHours + " h";

        private static int Clamp(int value, int min, int max) => Math.Max(min, Math.Min(max, value));

        /// <summary>A policy's or alarm's role from its name: the module's suffix (out, in, wake), else the fallback.</summary>
        private static string Role(string name, string fallback = "alarm")
        {
            int colon = name.LastIndexOf(':');
            return colon >= 0 && colon < name.Length - 1 ? name.Substring(colon + 1) : fallback;
        }

        private static string TrackingRole(string? name) =>
            name == null ? "tracking" : name.Contains("-AlarmHigh-") ? "high" : name.Contains("-AlarmLow-") ? "low" : "tracking";

        private static int AlarmPeriod(JsonObject alarm) =>
            Int(alarm["Period"]) ?? (alarm["Metrics"] as JsonArray)?.OfType<JsonObject>().Select(m => Int(m["MetricStat"]?["Period"]) ?? Int(m["Period"]) ?? 0).Where(p => p > 0).DefaultIfEmpty(0).Min() ?? 0;

        private async Task<JsonObject> DescribeServiceAsync(string cluster, string service, IEngineLog log, CancellationToken ct)
        {
            JsonNode? answer;
            try
            {
                answer = await _aws.InvokeAsync(AwsOperations.Ecs.DescribeServices,
                    new JsonObject { ["cluster"] = cluster, ["services"] = new JsonArray(service) }, log, ct).ConfigureAwait(false);
            }
            catch (AwsApiException e) when (e.Kind == AwsErrorKind.NotFound)
            {
                answer = null;
            }
            return (answer?["services"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(s => (string?)s["status"] == "ACTIVE" || (string?)s["status"] == "DRAINING")
                ?? throw new AwsApiException(AwsErrorKind.NotFound, "ECS", "DescribeServices",
                    "ECS service '" + service + "' was not found (or is not active) in cluster '" + cluster + "' in " + _aws.Region + ". Check -Cluster, -Service and -Region.", "ServiceNotFoundException");
        }

        /// <summary>The alarms AWS made for the module's target-tracking policies, by the names DescribeScalingPolicies gives.</summary>
        private async Task<List<JsonObject>> TrackingAlarmsAsync(EcsScalingState scaling, IEngineLog log, CancellationToken ct)
        {
            var own = new HashSet<string>(scaling.Alarms.Select(a => (string?)a["AlarmName"] ?? string.Empty), StringComparer.Ordinal);
            List<string> names = scaling.Policies.Where(p => (string?)p["PolicyType"] == "TargetTrackingScaling")
                .SelectMany(p => (p["Alarms"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                .Select(a => (string?)a["AlarmName"]).Where(n => n != null && !own.Contains(n)).Select(n => n!).Distinct(StringComparer.Ordinal).ToList();
            var alarms = new List<JsonObject>();
            for (int i = 0; i < names.Count; i += 100)
            {
                JsonNode? answer = await _aws.InvokeAsync(AwsOperations.CloudWatch.DescribeAlarms, new JsonObject
                {
                    ["AlarmNames"] = new JsonArray(names.Skip(i).Take(100).Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
                    ["MaxRecords"] = 100,
                }, log, ct).ConfigureAwait(false);
                alarms.AddRange((answer?["MetricAlarms"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>());
            }
            return alarms;
        }

        /// <summary>A GetMetricData query over one metric.</summary>
        private static JsonObject Stat(MetricSeries series, string stat, int period, string? unit)
        {
            var metricStat = new JsonObject
            {
                ["Metric"] = new JsonObject
                {
                    ["Namespace"] = series.Namespace,
                    ["MetricName"] = series.MetricName,
                    ["Dimensions"] = new JsonArray(series.Dimensions.Select(d => (JsonNode)new JsonObject { ["Name"] = d.Key, ["Value"] = d.Value }).ToArray()),
                },
                ["Period"] = period,
                ["Stat"] = stat,
            };
            if (!string.IsNullOrEmpty(unit)) metricStat["Unit"] = unit;
            return new JsonObject { ["Id"] = "m", ["MetricStat"] = metricStat, ["ReturnData"] = true };
        }

        private static MetricSeries SeriesOf(JsonNode? metric) => new MetricSeries(
            (string?)metric?["Namespace"] ?? string.Empty, (string?)metric?["MetricName"] ?? string.Empty,
            ((metric?["Dimensions"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                .Select(d => new KeyValuePair<string, string>((string?)d["Name"] ?? string.Empty, (string?)d["Value"] ?? string.Empty)).ToList());

        /// <summary>A target-tracking policy's metric: one metric, or metric math (Metrics), as the policy names it.</summary>
        private static List<JsonObject> TrackedQueries(JsonObject specification)
        {
            if (specification["Metrics"] is JsonArray math)
                return MathQueries(math, TrackingPeriod);
            return new List<JsonObject> { Stat(SeriesOf(specification), (string?)specification["Statistic"] ?? "Average", TrackingPeriod, (string?)specification["Unit"]) };
        }

        /// <summary>An alarm's metric: one metric with its statistic and period, or its metric math.</summary>
        private static List<JsonObject> AlarmQueries(JsonObject alarm)
        {
            if (alarm["Metrics"] is JsonArray math && math.Count > 0)
                return MathQueries(math, AlarmPeriod(alarm));
            return new List<JsonObject> { Stat(SeriesOf(alarm), (string?)alarm["Statistic"] ?? (string?)alarm["ExtendedStatistic"] ?? "Average", AlarmPeriod(alarm), (string?)alarm["Unit"]) };
        }

        /// <summary>Metric math as GetMetricData takes it: each query with its id, expression or metric (with a period
        /// where the policy's form has none), and ReturnData as given.</summary>
        private static List<JsonObject> MathQueries(JsonArray queries, int period)
        {
            var result = new List<JsonObject>();
            foreach (JsonObject query in queries.OfType<JsonObject>())
            {
                var copy = new JsonObject { ["Id"] = (string?)query["Id"], ["ReturnData"] = Bool(query["ReturnData"]) ?? true };
                if ((string?)query["Expression"] is string expression) copy["Expression"] = expression;
                if (query["MetricStat"] is JsonObject stat)
                {
                    copy["MetricStat"] = Stat(SeriesOf(stat["Metric"]), (string?)stat["Stat"] ?? "Average", Int(stat["Period"]) ?? period, (string?)stat["Unit"])["MetricStat"]!.DeepClone();
                }
                if (copy["Expression"] == null && copy["MetricStat"] == null) continue;
                result.Add(copy);
            }
            return result;
        }

        /// <summary>Every probe's queries in one GetMetricData: ids made unique per probe (and renamed in the
        /// expressions that use them), one returned result per probe.</summary>
        internal sealed class MetricBatch
        {
            private static readonly Regex Identifier = new Regex("[A-Za-z_][A-Za-z0-9_]*", RegexOptions.CultureInvariant);
            private readonly List<JsonObject> _queries = new List<JsonObject>();
            private readonly Dictionary<string, string> _resultIds = new Dictionary<string, string>(StringComparer.Ordinal);
            private readonly List<int> _periods = new List<int>();

            public IReadOnlyList<JsonObject> Queries => _queries;

            public void Add(string key, JsonObject query) => Add(key, new List<JsonObject> { query });

            public void Add(string key, List<JsonObject> queries)
            {
                if (queries.Count == 0 || _resultIds.ContainsKey(key)) return;
                string prefix = "q" + _resultIds.Count.ToString(CultureInfo.InvariantCulture) + "_";
                var ids = new HashSet<string>(queries.Select(q => (string?)q["Id"] ?? string.Empty), StringComparer.Ordinal);
                string? returned = null;
                foreach (JsonObject query in queries)
                {
                    var copy = (JsonObject)query.DeepClone();
                    string id = prefix + ((string?)query["Id"] ?? "m");
                    copy["Id"] = id;
                    if ((string?)copy["Expression"] is string expression)
                        copy["Expression"] = Identifier.Replace(expression, m => ids.Contains(m.Value) ? prefix + m.Value : m.Value);
                    // One result per probe: the first query that returns data.
                    if ((Bool(copy["ReturnData"]) ?? true) && returned == null) returned = id;
                    copy["ReturnData"] = returned == id;
                    if (Int(copy["MetricStat"]?["Period"]) is int period) _periods.Add(period);
                    _queries.Add(copy);
                }
                _resultIds[key] = returned ?? (string)_queries[_queries.Count - 1]["Id"]!;
            }

            /// <summary>Sub-minute data are kept 3 hours; one-minute data are read over a day.</summary>
            public TimeSpan Window => _periods.Count > 0 && _periods.Min() < 60 ? TimeSpan.FromHours(3) : TimeSpan.FromHours(24);

            public async Task<Dictionary<string, List<Datum>>> ReadAsync(AwsContext aws, DateTime now, IEngineLog log, CancellationToken ct)
            {
                var byId = new Dictionary<string, List<Datum>>(StringComparer.Ordinal);
                if (_queries.Count > 0)
                {
                    DateTime end = Floor(now, 60).AddMinutes(1);
                    DateTime start = Floor(now - Window, 60);
                    string? token = null;
                    int pages = 0;
                    do
                    {
                        var input = new JsonObject
                        {
                            ["MetricDataQueries"] = new JsonArray(_queries.Select(q => (JsonNode)q.DeepClone()).ToArray()),
                            ["StartTime"] = start.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                            ["EndTime"] = end.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                            ["ScanBy"] = "TimestampDescending",
                        };
                        if (token != null) input["NextToken"] = token;
                        JsonNode? answer = await aws.InvokeAsync(AwsOperations.CloudWatch.GetMetricData, input, log, ct).ConfigureAwait(false);
                        foreach (JsonObject result in (answer?["MetricDataResults"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                        {
                            string id = (string?)result["Id"] ?? string.Empty;
                            if (!byId.TryGetValue(id, out List<Datum>? points)) byId[id] = points = new List<Datum>();
                            points.AddRange(Points(result));
                        }
                        token = (string?)answer?["NextToken"];
                    }
                    while (!string.IsNullOrEmpty(token) && ++pages < MaxPages);
                }
                var data = new Dictionary<string, List<Datum>>(StringComparer.Ordinal);
                foreach (KeyValuePair<string, string> probe in _resultIds)
                    data[probe.Key] = byId.TryGetValue(probe.Value, out List<Datum>? points) ? points.OrderByDescending(p => p.Timestamp).ToList() : new List<Datum>();
                return data;
            }

            private static IEnumerable<Datum> Points(JsonObject result)
            {
                List<JsonNode?> timestamps = (result["Timestamps"] as JsonArray)?.ToList() ?? new List<JsonNode?>();
                List<JsonNode?> values = (result["Values"] as JsonArray)?.ToList() ?? new List<JsonNode?>();
                for (int i = 0; i < Math.Min(timestamps.Count, values.Count); i++)
                {
                    if ((string?)timestamps[i] is string text && DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime at)
                        && Double(values[i]) is double value && !double.IsNaN(value))
                        yield return new Datum(DateTime.SpecifyKind(at, DateTimeKind.Utc), value);
                }
            }

            private static DateTime Floor(DateTime time, int seconds) => new DateTime(time.Ticks - time.Ticks % TimeSpan.FromSeconds(seconds).Ticks, DateTimeKind.Utc);
        }

        private static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);

        private static bool? Bool(JsonNode? node) =>
            node is JsonValue value && (value.TryGetValue(out bool b) || (value.TryGetValue(out string? s) && bool.TryParse(s, out b))) ? b : (bool?)null;

        private static double? Double(JsonNode? node) =>
            node is JsonValue value && (value.TryGetValue(out double d) || (value.TryGetValue(out string? s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out d))) ? d : (double?)null;

        private static int? Int(JsonNode? node) => Double(node) is double d ? (int)d : (int?)null;
    }
}
