using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Capacity;
using PrefectScaling.Metrics;
using PrefectScaling.Prefect;
using PrefectScaling.Scaling;

namespace PrefectScaling.Publisher
{
    /// <summary>What the capacity policy of one binding did in one cycle.</summary>
    public sealed class CapacityOutcome
    {
        public CapacityOutcome(ServiceBinding binding) => Binding = binding;

        public ServiceBinding Binding { get; }

        /// <summary>The requirement and its parts; null when it could not be computed.</summary>
        public CapacityRequirement? Requirement { get; internal set; }

        /// <summary>The scalable target's MinCapacity before, and as the publisher set it (equal: nothing to change).</summary>
        public int? MinCapacityBefore { get; internal set; }
        public int? MinCapacityAfter { get; internal set; }

        /// <summary>True when RegisterScalableTarget was called (false with publish off, the -WhatIf of a test).</summary>
        public bool Applied { get; internal set; }

        public Exception? Failure { get; internal set; }

        public override string ToString() => Binding.ResourceId + ": " + (Failure != null ? Failure.Message
            : "MinCapacity " + MinCapacityBefore + (MinCapacityAfter != MinCapacityBefore ? " -> " + MinCapacityAfter : " kept") + " (" + Requirement + ")");
    }

    /// <summary>The publisher's part of the capacity policy (<see cref="AppliesCapacity"/>): each cycle, for each binding whose service has the
    /// module's capacity policy (its alarm by exact name, triggering that service's policy of the same name, tagged by
    /// the module for that service), it computes the requirement from the binding's measured totals and the scope's
    /// concurrency limits, publishes it (RequiredTasks), and holds the scalable target's MinCapacity at it
    /// (RegisterScalableTarget, only when it differs). It never lowers MinCapacity below the desired count while an
    /// in-flight run has no task protection (the busy guard). A binding that cannot be read or computed changes nothing.</summary>
    public sealed class CapacityApplier
    {
        /// <summary>The module's capacity policies are read again after this long (a new Set takes effect by then).</summary>
        public static readonly TimeSpan SettingsMaxAge = TimeSpan.FromMinutes(5);

        /// <summary>DescribeAlarms takes up to 100 names a call; DescribeScalableTargets up to 50 resource ids.</summary>
        private const int AlarmsPerDescribe = 100;
        private const int TargetsPerDescribe = 50;

        /// <summary>The measures the requirement adds up (Late is in Due).</summary>
        public static readonly IReadOnlyList<BacklogMeasure> Measures = new[] { BacklogMeasure.Due, BacklogMeasure.Upcoming, BacklogMeasure.InFlight };

        private readonly AwsContext _aws;
        private readonly Func<DateTime> _clock;
        private Dictionary<string, CapacitySettings>? _settings;
        private DateTime _settingsRead;

        public CapacityApplier(AwsContext aws, Func<DateTime>? clock = null)
        {
            _aws = aws;
            _clock = clock ?? (() => DateTime.UtcNow);
        }

        /// <summary>A publisher of bindings that counts Upcoming (which only the capacity policy reads) applies the
        /// capacity policies of its bindings; any other publisher never looks for them.</summary>
        public static bool AppliesCapacity(PublisherConfiguration configuration) =>
            configuration.UsesBindings && configuration.Measures.Contains(BacklogMeasure.Upcoming);


        /// <summary>The settings of each binding that has the module's capacity policy, by resource id (read at most
        /// every <see cref="SettingsMaxAge"/>).</summary>
        public async Task<IReadOnlyDictionary<string, CapacitySettings>> SettingsAsync(IReadOnlyList<ServiceBinding> bindings, IEngineLog log, CancellationToken ct)
        {
            if (_settings != null && _clock() - _settingsRead < SettingsMaxAge && bindings.All(b => _readFor.Contains(b.ResourceId))) return _settings;
            var found = new Dictionary<string, CapacitySettings>(StringComparer.Ordinal);
            Dictionary<string, ServiceBinding> byAlarm = bindings.GroupBy(b => CapacityPolicy.AlarmName(b), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
            List<string> names = byAlarm.Keys.OrderBy(n => n, StringComparer.Ordinal).ToList();
            for (int start = 0; start < names.Count; start += AlarmsPerDescribe)
            {
                var input = new JsonObject
                {
                    ["AlarmNames"] = new JsonArray(names.Skip(start).Take(AlarmsPerDescribe).Select(n => (JsonNode?)JsonValue.Create(n)).ToArray()),
                    ["MaxRecords"] = AlarmsPerDescribe,
                };
                JsonNode? answer = await _aws.InvokeAsync(AwsOperations.CloudWatch.DescribeAlarms, input, log, ct).ConfigureAwait(false);
                foreach (JsonObject alarm in (answer?["MetricAlarms"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                {
                    string name = (string?)alarm["AlarmName"] ?? string.Empty;
                    if (!byAlarm.TryGetValue(name, out ServiceBinding? binding)) continue;
                    CapacitySettings? settings = CapacityPolicy.Parse((string?)alarm["AlarmDescription"]);
                    string? arn = (string?)alarm["AlarmArn"];
                    if (settings == null || arn == null || !ScalingNames.ActionsAreServicePolicy(alarm, binding.Cluster, binding.Service)) continue;
                    JsonNode? tags = (await _aws.InvokeAsync(AwsOperations.CloudWatch.ListTagsForResource, new JsonObject { ["ResourceARN"] = arn }, log, ct).ConfigureAwait(false))?["Tags"];
                    if (!ScalingNames.TagsNameService(tags, binding.Cluster, binding.Service)) continue;
                    found[binding.ResourceId] = settings;
                }
            }
            _settings = found;
            _readFor = new HashSet<string>(bindings.Select(b => b.ResourceId), StringComparer.Ordinal);
            _settingsRead = _clock();
            log.Verbose("Capacity policies: " + (found.Count == 0 ? "none" : string.Join(", ", found.Keys.OrderBy(k => k, StringComparer.Ordinal))) + ".");
            return found;
        }

        /// <summary>The bindings the cached settings were read for.</summary>
        private HashSet<string> _readFor = new HashSet<string>(StringComparer.Ordinal);

        /// <summary>One binding's inputs for a cycle: its measured totals, its desired tasks, the datum of its in-flight
        /// runs without task protection (when one was published this cycle) and its concurrency limits by scope part.</summary>
        public sealed class Input
        {
            public Input(ServiceBinding binding, IReadOnlyList<PrefectBacklogTotal> totals, int desiredTasks, double? unprotectedInFlight, IReadOnlyList<IReadOnlyList<ConcurrencyCap>>? caps, Exception? capsFailure = null)
            {
                Binding = binding;
                Totals = totals;
                DesiredTasks = desiredTasks;
                UnprotectedInFlight = unprotectedInFlight;
                Caps = caps;
                CapsFailure = capsFailure;
            }

            public ServiceBinding Binding { get; }
            public IReadOnlyList<PrefectBacklogTotal> Totals { get; }
            public int DesiredTasks { get; }
            public double? UnprotectedInFlight { get; }
            public IReadOnlyList<IReadOnlyList<ConcurrencyCap>>? Caps { get; }
            public Exception? CapsFailure { get; }
        }

        /// <summary>The capacity part of one publisher cycle over the bindings that were read: which have a capacity
        /// policy, their scopes' limits (one pool listing and the catalog's queues), then <see cref="ApplyAsync"/>.
        /// A failure to learn which bindings have one fails every binding's capacity and changes nothing.</summary>
        public async Task<IReadOnlyList<CapacityOutcome>> CycleAsync(PrefectConnection prefect, IReadOnlyList<(ServiceBinding Binding, IReadOnlyList<PrefectBacklogTotal> Totals, int Desired, IReadOnlyList<BacklogMetricDatum> Data)> read,
            PublisherConfiguration configuration, DateTime nowUtc, List<BacklogMetricDatum> data, bool apply, PrefectDeadline deadline, IEngineLog log, CancellationToken ct)
        {
            if (read.Count == 0 || !AppliesCapacity(configuration)) return Array.Empty<CapacityOutcome>();
            IReadOnlyDictionary<string, CapacitySettings> settings;
            try
            {
                settings = await SettingsAsync(read.Select(r => r.Binding).ToList(), log, ct).ConfigureAwait(false);
            }
            catch (AwsApiException e)
            {
                _settings = null;
                log.Verbose("Could not read which bindings have a capacity policy: " + e.Message);
                return read.Select(r => new CapacityOutcome(r.Binding) { Failure = e }).ToList();
            }
            var inputs = new List<Input>();
            foreach (var r in read.Where(r => settings.ContainsKey(r.Binding.ResourceId)))
            {
                IReadOnlyList<IReadOnlyList<ConcurrencyCap>>? caps = null;
                Exception? failure = null;
                try
                {
                    caps = await ReadCapsAsync(prefect, r.Binding.Scope, TimeSpan.FromSeconds(configuration.QueueListingCacheSeconds), deadline, log, ct).ConfigureAwait(false);
                }
                catch (PrefectApiException e)
                {
                    failure = e;
                }
                MetricSeries unprotected = BindingSeries.UnprotectedInFlight(configuration.Metric, r.Binding.Cluster, r.Binding.Service);
                BacklogMetricDatum? guard = r.Data.FirstOrDefault(d => d.MetricName == unprotected.MetricName && d.Namespace == unprotected.Namespace && d.Dimensions.SequenceEqual(unprotected.Dimensions));
                inputs.Add(new Input(r.Binding, r.Totals, r.Desired, guard?.Value, caps, failure));
            }
            return await ApplyAsync(inputs, settings, configuration.Metric, nowUtc, data, apply, log, ct).ConfigureAwait(false);
        }

        /// <summary>A scope's concurrency limits: its pools' (one listing) and its queues' (the catalog's resolution).</summary>
        private static async Task<IReadOnlyList<IReadOnlyList<ConcurrencyCap>>> ReadCapsAsync(PrefectConnection prefect, BindingScope scope, TimeSpan maxAge, PrefectDeadline deadline, IEngineLog log, CancellationToken ct)
        {
            ScopeResolution resolution = await prefect.Catalog.ResolveAsync(scope.Selectors(), maxAge, log, ct, deadline).ConfigureAwait(false);
            if (resolution.Failures.Count > 0) throw resolution.Failures[0].Error;
            List<string> poolNames = scope.Pools.Select(p => p.Pool).Concat(resolution.Queues.Where(q => q.WorkPool != null).Select(q => q.WorkPool!)).Distinct(StringComparer.Ordinal).ToList();
            List<PrefectWorkPool> pools = resolution.Version.HasWorkPools && poolNames.Count > 0
                ? await prefect.Catalog.ListPoolsAsync(poolNames, log, ct, deadline).ConfigureAwait(false)
                : new List<PrefectWorkPool>();
            return CapsOf(scope, pools, resolution.Queues);
        }

        /// <summary>The Sid of the statement on the bound services that registering their targets needs.</summary>
        public const string UpdateServicesSid = "RegisterCapacityTargets";

        /// <summary>The role's statements for the capacity policies: update the bound services (filled in with the
        /// ecs:DescribeServices list), find the module's capacity alarms (by name, under the module's prefix) and their
        /// tags, read the scalable targets, and register ECS service targets only (AAS's condition keys; a target's
        /// ARN is an opaque id, so the service cannot be named there). AAS's Describe actions take no resource.</summary>
        internal static IEnumerable<JsonObject> Statements(PublisherState at)
        {
            // Application Auto Scaling checks that whoever registers an ECS target may update the service (the ECS
            // guide's auto scaling permissions); the bound services, as ecs:DescribeServices lists them.
            yield return new JsonObject
            {
                ["Sid"] = UpdateServicesSid,
                ["Effect"] = "Allow",
                ["Action"] = "ecs:UpdateService",
                ["Resource"] = new JsonArray(),
            };
            yield return new JsonObject
            {
                ["Sid"] = "FindCapacityPolicies",
                ["Effect"] = "Allow",
                ["Action"] = new JsonArray("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"),
                ["Resource"] = at.Arn("cloudwatch", at.Region, "alarm:" + ScalingNames.Prefix + "*"),
            };
            yield return new JsonObject
            {
                ["Sid"] = "ReadScalableTargets",
                ["Effect"] = "Allow",
                ["Action"] = "application-autoscaling:DescribeScalableTargets",
                ["Resource"] = "*",
            };
            yield return new JsonObject
            {
                ["Sid"] = "HoldCapacityMinimum",
                ["Effect"] = "Allow",
                ["Action"] = "application-autoscaling:RegisterScalableTarget",
                ["Resource"] = at.Arn("application-autoscaling", at.Region, "scalable-target/*"),
                ["Condition"] = new JsonObject
                {
                    ["StringEquals"] = new JsonObject
                    {
                        ["application-autoscaling:service-namespace"] = ScalingPolicyDocuments.ServiceNamespace,
                        ["application-autoscaling:scalable-dimension"] = ScalingPolicyDocuments.ScalableDimension,
                    },
                },
            };
        }

        /// <summary>After the data are published: a binding whose capacity could not be applied fails the cycle,
        /// naming each.</summary>
        public static void ThrowIfFailed(IReadOnlyList<CapacityOutcome> outcomes)
        {
            List<CapacityOutcome> failed = outcomes.Where(o => o.Failure != null).ToList();
            if (failed.Count == 0) return;
            string message = "The capacity of " + string.Join("; ", failed.Select(f => f.Binding.ResourceId + " (" + f.Failure!.Message + ")")) + " was left as it was.";
            throw failed[0].Failure switch
            {
                PrefectApiException prefect => new PrefectApiException(prefect.Kind, message, prefect.StatusCode, prefect.Endpoint, prefect),
                AwsApiException aws => new AwsApiException(aws.Kind, aws.Service, aws.Operation, message, aws.ErrorCode, aws.RequestId, aws.StatusCode, aws),
                Exception other => new InvalidOperationException(message, other),
            };
        }

        /// <summary>The concurrency limits of each part of a scope: a whole pool's limit; a pool's limit and, when
        /// every named queue has one, their sum; queues in any pool, the sum of their limits when each has one.</summary>
        public static IReadOnlyList<IReadOnlyList<ConcurrencyCap>> CapsOf(BindingScope scope, IReadOnlyList<PrefectWorkPool> pools, IReadOnlyList<PrefectWorkQueue> queues)
        {
            var parts = new List<IReadOnlyList<ConcurrencyCap>>();
            ConcurrencyCap? QueueSum(IReadOnlyList<PrefectWorkQueue> of, string what) =>
                of.Count > 0 && of.All(q => q.ConcurrencyLimit != null) ? new ConcurrencyCap(what, of.Sum(q => q.ConcurrencyLimit!.Value)) : null;
            foreach (BindingScope.PoolPart part in scope.Pools)
            {
                var caps = new List<ConcurrencyCap>();
                PrefectWorkPool? pool = pools.FirstOrDefault(p => p.Name == part.Pool);
                if (pool?.ConcurrencyLimit is int limit) caps.Add(new ConcurrencyCap("pool " + part.Pool, limit, pool.ActiveSlots));
                if (!part.IsWholePool)
                {
                    ConcurrencyCap? sum = QueueSum(queues.Where(q => q.WorkPool == part.Pool && part.Queues.Contains(q.WorkQueue)).ToList(), "queues " + string.Join(", ", part.Queues) + " of pool " + part.Pool);
                    if (sum != null) caps.Add(sum);
                }
                parts.Add(caps);
            }
            if (scope.AnyPoolQueues.Count > 0)
            {
                ConcurrencyCap? sum = QueueSum(queues.Where(q => scope.AnyPoolQueues.Contains(q.WorkQueue)).ToList(), "queues " + string.Join(", ", scope.AnyPoolQueues));
                parts.Add(sum == null ? Array.Empty<ConcurrencyCap>() : new[] { sum });
            }
            return parts;
        }

        /// <summary>Applies each capacity binding's requirement. With <paramref name="apply"/> false nothing is
        /// changed (each outcome says what would be). The RequiredTasks data of the bindings with a requirement are
        /// added to <paramref name="data"/>.</summary>
        public async Task<List<CapacityOutcome>> ApplyAsync(IReadOnlyList<Input> inputs, IReadOnlyDictionary<string, CapacitySettings> settings, BacklogMetricOptions metric,
            DateTime nowUtc, List<BacklogMetricDatum> data, bool apply, IEngineLog log, CancellationToken ct)
        {
            var outcomes = new List<CapacityOutcome>();
            List<Input> bound = inputs.Where(i => settings.ContainsKey(i.Binding.ResourceId)).OrderBy(i => i.Binding.ResourceId, StringComparer.Ordinal).ToList();
            if (bound.Count == 0) return outcomes;
            Dictionary<string, JsonObject> targets;
            try
            {
                targets = await TargetsAsync(bound.Select(i => i.Binding.ResourceId).ToList(), log, ct).ConfigureAwait(false);
            }
            catch (AwsApiException e)
            {
                return bound.Select(i => new CapacityOutcome(i.Binding) { Failure = e }).ToList();
            }
            foreach (Input input in bound)
            {
                var outcome = new CapacityOutcome(input.Binding);
                outcomes.Add(outcome);
                try
                {
                    CapacitySettings setting = settings[input.Binding.ResourceId];
                    if (!targets.TryGetValue(input.Binding.ResourceId, out JsonObject? target))
                        throw new InvalidOperationException(input.Binding.ResourceId + " has a capacity policy but is not a scalable target: run Set-PrefectEcsScalingPolicy -Capacity again.");
                    int min = CapacityPolicy.Integer(target["MinCapacity"]) ?? 0, max = CapacityPolicy.Integer(target["MaxCapacity"]) ?? 0;
                    if (input.CapsFailure != null) throw input.CapsFailure;
                    double Total(BacklogMeasure m) => input.Totals.FirstOrDefault(t => t.Measure == m)?.Count
                        ?? throw new InvalidOperationException("The publisher does not count " + m + " for " + input.Binding.ResourceId + ", which its capacity policy needs: install it with -Measure " + string.Join(",", Measures) + " (and any others).");
                    double due = Total(BacklogMeasure.Due), upcoming = Total(BacklogMeasure.Upcoming), inFlight = Total(BacklogMeasure.InFlight);
                    CapacityRequirement requirement = CapacityRequirement.Compute(due, upcoming, inFlight, setting.RunsPerTask, Math.Min(setting.MinCapacity, max), max, input.Caps);
                    outcome.Requirement = requirement;
                    data.Add(BindingSeries.Datum(BindingSeries.RequiredTasks(metric, input.Binding.Cluster, input.Binding.Service), requirement.RequiredTasks, nowUtc, metric.StorageResolution));
                    // Without a datum of its own, every in-flight run counts as unprotected.
                    int floor = requirement.FloorWithGuard(input.DesiredTasks, input.UnprotectedInFlight ?? inFlight);
                    outcome.MinCapacityBefore = min;
                    outcome.MinCapacityAfter = floor;
                    if (floor == min) continue;
                    if (!apply)
                    {
                        log.Verbose("Would set the MinCapacity of " + input.Binding.ResourceId + " from " + min + " to " + floor + ": " + requirement.Reason + ".");
                        continue;
                    }
                    log.Verbose("Setting the MinCapacity of " + input.Binding.ResourceId + " from " + min + " to " + floor + ": " + requirement.Reason + ".");
                    // Only MinCapacity: an update leaves what it does not name as it is.
                    await _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.RegisterScalableTarget, new JsonObject
                    {
                        ["ServiceNamespace"] = ScalingPolicyDocuments.ServiceNamespace,
                        ["ResourceId"] = input.Binding.ResourceId,
                        ["ScalableDimension"] = ScalingPolicyDocuments.ScalableDimension,
                        ["MinCapacity"] = floor,
                    }, log, ct).ConfigureAwait(false);
                    outcome.Applied = true;
                }
                catch (Exception e) when (e is AwsApiException || e is PrefectApiException || e is InvalidOperationException || e is ArgumentException)
                {
                    outcome.Failure = e;
                    log.Verbose("Capacity of " + input.Binding.ResourceId + " left as it is: " + e.Message);
                }
            }
            return outcomes;
        }

        private async Task<Dictionary<string, JsonObject>> TargetsAsync(IReadOnlyList<string> resourceIds, IEngineLog log, CancellationToken ct)
        {
            var found = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
            for (int start = 0; start < resourceIds.Count; start += TargetsPerDescribe)
            {
                List<string> batch = resourceIds.Skip(start).Take(TargetsPerDescribe).ToList();
                JsonNode? answer = await _aws.InvokeAsync(AwsOperations.ApplicationAutoScaling.DescribeScalableTargets, new JsonObject
                {
                    ["ServiceNamespace"] = ScalingPolicyDocuments.ServiceNamespace,
                    ["ResourceIds"] = new JsonArray(batch.Select(id => (JsonNode?)JsonValue.Create(id)).ToArray()),
                    ["ScalableDimension"] = ScalingPolicyDocuments.ScalableDimension,
                    ["MaxResults"] = TargetsPerDescribe,
                }, log, ct).ConfigureAwait(false);
                foreach (JsonObject target in (answer?["ScalableTargets"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                {
                    string? id = (string?)target["ResourceId"];
                    if (id != null && batch.Contains(id) && (string?)target["ScalableDimension"] == ScalingPolicyDocuments.ScalableDimension) found[id] = target;
                }
            }
            return found;
        }
    }
}
