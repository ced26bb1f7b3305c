using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Metrics;
using PrefectScaling.Prefect;
using PrefectScaling.Protection;

namespace PrefectScaling.Publisher
{
    /// <summary>What one publishing cycle did.</summary>
    public sealed class PublisherCycleResult
    {
        public DateTime Timestamp { get; set; }
        public int Queues { get; set; }
        public int Published { get; set; }
        public int PutMetricDataCalls { get; set; }
        public int PrefectRequests { get; set; }
        public double DurationMs { get; set; }
        public IReadOnlyList<BacklogMetricDatum> Data { get; set; } = Array.Empty<BacklogMetricDatum>();

        /// <summary>A publisher of bindings: what each binding did, in the order of their resource ids.</summary>
        public IReadOnlyList<BindingOutcome> Bindings { get; set; } = Array.Empty<BindingOutcome>();

        /// <summary>What each binding's capacity policy did (only bindings that have one).</summary>
        public IReadOnlyList<CapacityOutcome> Capacity { get; set; } = Array.Empty<CapacityOutcome>();

        /// <summary>The bindings that published nothing, each with why.</summary>
        public IEnumerable<BindingOutcome> FailedBindings => Bindings.Where(b => b.Failure != null);
    }

    /// <summary>One binding in one cycle: the data built for it, or why it has none.</summary>
    public sealed class BindingOutcome
    {
        public BindingOutcome(ServiceBinding binding, IReadOnlyList<BacklogMetricDatum> data, Exception? failure)
        {
            Binding = binding;
            Data = data;
            Failure = failure;
        }

        public ServiceBinding Binding { get; }

        /// <summary>Its series' data (the backlog per measure and the desired tasks, and with per-queue series those
        /// of its queues); empty when it failed.</summary>
        public IReadOnlyList<BacklogMetricDatum> Data { get; }

        /// <summary>Why nothing was published for it: a Prefect read, an ECS read, or a missing service.</summary>
        public Exception? Failure { get; }

        /// <summary>With -ProtectBusyTasks: the tasks it protected and released, and the runs left unprotected.</summary>
        public BindingProtection? Protection { get; internal set; }

        public override string ToString() => Binding.ResourceId + (Failure == null ? ": " + Data.Count + " data" : ": " + Failure.Message);
    }

    /// <summary>One cycle of the scheduled publisher. A publisher of bindings reads each binding's total per measure and
    /// its service's desired tasks, and publishes them as the binding's series; a binding that cannot be read publishes
    /// nothing, the others still publish, and the cycle then fails naming it. A publisher of the first release's kind
    /// reads its scopes per queue (with the per-task metrics when a service is configured) and publishes nothing at
    /// all when any part cannot be read. The Lambda function and Test-PrefectBacklogPublisher both run exactly this.</summary>
    public sealed class PublisherCycle
    {
        /// <summary>ECS DescribeServices takes up to 10 services a call (API reference).</summary>
        internal const int ServicesPerDescribe = 10;

        /// <summary>Scopes read from Prefect at once.</summary>
        private const int ScopeConcurrency = 4;

        private readonly PublisherConfiguration _configuration;
        private readonly PrefectConnection _prefect;
        private readonly AwsContext _aws;
        private readonly TaskProtector? _protector;
        private IReadOnlyList<ServiceBinding>? _bindings;
        private CapacityApplier? _capacity;

        public PublisherCycle(PublisherConfiguration configuration, PrefectConnection prefect, AwsContext aws)
            : this(configuration, prefect, aws, null)
        {
        }

        /// <param name="protector">With -ProtectBusyTasks, the protector to use (null: a new one with the default
        /// expiry). One per cycle object: it remembers which tasks it protected, to release only those.</param>
        public PublisherCycle(PublisherConfiguration configuration, PrefectConnection prefect, AwsContext aws, TaskProtector? protector)
        {
            _configuration = configuration;
            _prefect = prefect;
            _aws = aws;
            if (configuration.ProtectBusyTasks) _protector = protector ?? new TaskProtector();
        }

        /// <summary>The Prefect connection settings, with the secret read from the SSM SecureString parameter.</summary>
        public static async Task<PrefectConnectionSettings> ResolvePrefectSettingsAsync(PublisherConfiguration configuration, AwsContext aws, IEngineLog log, CancellationToken cancellationToken)
        {
            string? secret = null;
            if (configuration.SecretKind != PublisherSecretKind.None)
            {
                SsmParameterInfo? parameter = await aws.GetParameterAsync(configuration.SecretParameter!, withDecryption: true, log, cancellationToken).ConfigureAwait(false);
                secret = parameter?.Value ?? throw new AwsApiException(AwsErrorKind.NotFound, "SSM", "GetParameter",
                    "The SSM parameter " + configuration.SecretParameter + " that holds the Prefect secret does not exist.", "ParameterNotFound");
                log.Debug("Prefect secret read from SSM parameter " + configuration.SecretParameter + " (" + configuration.SecretKind + ").");
            }
            return new PrefectConnectionSettings(
                PrefectConnectionSettings.ValidateApiUrl(configuration.ApiUrl),
                configuration.SecretKind == PublisherSecretKind.ApiKey ? secret : null,
                configuration.SecretKind == PublisherSecretKind.AuthString ? secret : null,
                new[] { "PREFECT_API_URL from the publisher's configuration", "secret from SSM parameter " + (configuration.SecretParameter ?? "(none)") });
        }

        /// <summary>What is left of the function's timeout for the Prefect read of a sample that starts now,
        /// keeping room for the AWS calls after it.</summary>
        public static TimeSpan PrefectBudget(PublisherConfiguration configuration, TimeSpan sinceInvocationStarted) =>
            TimeSpan.FromSeconds(PublisherInstallSpec.TimeoutFor(configuration.SampleIntervalSeconds) - PublisherInstallSpec.AwsAllowanceSeconds) - sinceInvocationStarted;

        /// <summary>One cycle, as the function runs it: it throws when anything was not published (a binding that
        /// failed, after the others were published). Every Prefect request of it shares one deadline: the
        /// connection's, or <paramref name="prefectBudget"/> when that is shorter. With <paramref name="publish"/>
        /// false it reads and builds the data but sends nothing (Test-PrefectBacklogPublisher -WhatIf). With
        /// <paramref name="sampleTime"/> the data carry that time (a chained sample's due time, <see cref="SampleChain"/>)
        /// instead of the count's. With <paramref name="onlyBindings"/> (resource ids) only those bindings are read and
        /// published (the push path's immediate cycle); with <paramref name="highResolution"/> the data are stored at
        /// one-second resolution.</summary>
        public async Task<PublisherCycleResult> RunOnceAsync(IEngineLog log, CancellationToken cancellationToken, TimeSpan? prefectBudget = null, bool publish = true, DateTime? sampleTime = null,
            IReadOnlyCollection<string>? onlyBindings = null, bool highResolution = false)
        {
            PublisherCycleResult result = await RunAsync(log, cancellationToken, prefectBudget, publish, sampleTime, onlyBindings, highResolution).ConfigureAwait(false);
            List<BindingOutcome> failed = result.FailedBindings.ToList();
            if (failed.Count > 0) throw BindingsFailed(result, failed);
            CapacityApplier.ThrowIfFailed(result.Capacity);
            return result;
        }

        /// <summary>One cycle that reports a binding's failure in the result instead of throwing (Test-PrefectBacklogPublisher).
        /// A failure of the whole cycle (the bindings cannot be read from SSM, PutMetricData fails, a scope of the
        /// first release's kind cannot be read) still throws.</summary>
        public async Task<PublisherCycleResult> RunAsync(IEngineLog log, CancellationToken cancellationToken, TimeSpan? prefectBudget = null, bool publish = true, DateTime? sampleTime = null,
            IReadOnlyCollection<string>? onlyBindings = null, bool highResolution = false)
        {
            var clock = Stopwatch.StartNew();
            int requestsBefore = _prefect.Client.RequestCount;
            PrefectDeadline deadline = _prefect.Client.StartDeadline(prefectBudget);
            PublisherCycleResult result = _configuration.UsesBindings
                ? await BindingsCycleAsync(deadline, publish, log, cancellationToken, onlyBindings).ConfigureAwait(false)
                : await QueuesCycleAsync(deadline, log, cancellationToken).ConfigureAwait(false);

            // A chained sample is published at its due time, so that samples of one minute never share a timestamp.
            if (sampleTime is DateTime due)
            {
                result.Timestamp = due;
                foreach (BacklogMetricDatum datum in result.Data) datum.Timestamp = due;
            }
            if (highResolution)
                foreach (BacklogMetricDatum datum in result.Data) datum.StorageResolution = 1;
            result.PutMetricDataCalls = result.Data.Count == 0 || !publish ? 0 : await new MetricPublisher(_aws).PublishAsync(result.Data, log, cancellationToken).ConfigureAwait(false);
            result.Published = publish ? result.Data.Count : 0;
            result.PrefectRequests = _prefect.Client.RequestCount - requestsBefore;
            result.DurationMs = clock.Elapsed.TotalMilliseconds;
            return result;
        }

        private BacklogReadOptions ReadOptions => new BacklogReadOptions
        {
            Measures = _configuration.Measures,
            QueueListingMaxAge = TimeSpan.FromSeconds(_configuration.QueueListingCacheSeconds),
        };

        // ---- a publisher of bindings ----

        /// <summary>The publisher's bindings: the configuration's, or read from SSM once per execution environment (a
        /// new stamp in the environment means new environments).</summary>
        public async Task<IReadOnlyList<ServiceBinding>> BindingsAsync(IEngineLog log, CancellationToken cancellationToken) =>
            _configuration.Bindings.Count > 0
                ? _configuration.Bindings
                : _bindings ??= await PublisherBindings.LoadAsync(_aws, _configuration, log, cancellationToken).ConfigureAwait(false);

        private async Task<PublisherCycleResult> BindingsCycleAsync(PrefectDeadline deadline, bool publish, IEngineLog log, CancellationToken cancellationToken, IReadOnlyCollection<string>? onlyBindings)
        {
            IReadOnlyList<ServiceBinding> bindings = await BindingsAsync(log, cancellationToken).ConfigureAwait(false);
            if (onlyBindings != null) bindings = bindings.Where(b => onlyBindings.Contains(b.ResourceId)).ToList();

            List<BindingScope> scopes = bindings.Select(b => b.Scope).Distinct().ToList();
            IReadOnlyList<ScopeTotals> totals = await ReadTotalsAsync(scopes, deadline, log, cancellationToken).ConfigureAwait(false);
            Dictionary<BindingScope, ScopeTotals> totalsOf = scopes.Zip(totals, (scope, read) => (scope, read)).ToDictionary(p => p.scope, p => p.read);
            Dictionary<BindingScope, ScopeCounts> perQueue = _configuration.PerQueueSeries
                ? (await ReadPerQueueAsync(scopes, deadline, log, cancellationToken).ConfigureAwait(false)).ToDictionary(c => c.Scope)
                : new Dictionary<BindingScope, ScopeCounts>();

            // Only the services whose backlog was read are asked for their tasks.
            List<ServiceBinding> readable = bindings.Where(b => totalsOf[b.Scope].Failure == null && (!perQueue.TryGetValue(b.Scope, out ScopeCounts? c) || c.Failure == null)).ToList();
            Dictionary<string, (int? Desired, Exception? Failure)> tasks = await ReadDesiredTasksAsync(_aws, readable, log, cancellationToken).ConfigureAwait(false);
            Dictionary<string, BindingProtection> protection = _protector == null
                ? new Dictionary<string, BindingProtection>(StringComparer.Ordinal)
                : await ProtectAsync(readable.Where(b => tasks[b.ResourceId].Failure == null).ToList(), deadline, publish, log, cancellationToken).ConfigureAwait(false);

            DateTime now = DateTime.UtcNow;
            var outcomes = new List<BindingOutcome>();
            var perQueueData = new Dictionary<(string? Pool, string Queue, BacklogMeasure Measure), BacklogMetricDatum>();
            foreach (ServiceBinding binding in bindings.OrderBy(b => b.ResourceId, StringComparer.Ordinal))
            {
                ScopeTotals read = totalsOf[binding.Scope];
                perQueue.TryGetValue(binding.Scope, out ScopeCounts? queues);
                Exception? failure = read.Failure ?? queues?.Failure;
                (int? desired, Exception? taskFailure) = failure == null ? tasks[binding.ResourceId] : (null, null);
                failure ??= taskFailure;
                if (failure != null)
                {
                    outcomes.Add(new BindingOutcome(binding, Array.Empty<BacklogMetricDatum>(), failure));
                    continue;
                }

                protection.TryGetValue(binding.ResourceId, out BindingProtection? guarded);
                double? unprotectedInFlight = guarded?.UnprotectedInFlight(read.Totals.Where(t => t.Measure == BacklogMeasure.InFlight).Select(t => (double?)t.Count).FirstOrDefault());
                List<BacklogMetricDatum> data = BindingData.Build(binding, read.Totals, desired!.Value, _configuration.Metric, now, unprotectedInFlight is double u ? (int)Math.Ceiling(u) : (int?)null);
                if (queues != null) data.AddRange(PerQueueData(binding, queues.Counts!, desired.Value, now, perQueueData));
                outcomes.Add(new BindingOutcome(binding, data, null) { Protection = guarded });
            }

            List<BacklogMetricDatum> all = outcomes.SelectMany(o => o.Data).ToList();
            foreach (BindingOutcome failed in outcomes.Where(o => o.Failure != null))
                log.Verbose("Nothing published for " + failed.Binding + ": " + failed.Failure!.Message);
            IReadOnlyList<CapacityOutcome> capacity = await (_capacity ??= new CapacityApplier(_aws))
                .CycleAsync(_prefect, outcomes.Where(o => o.Failure == null).Select(o => (o.Binding, totalsOf[o.Binding.Scope].Totals, tasks[o.Binding.ResourceId].Desired!.Value, o.Data)).ToList(),
                    _configuration, now, all, publish, deadline, log, cancellationToken).ConfigureAwait(false);
            return new PublisherCycleResult
            {
                Timestamp = now,
                Queues = perQueue.Values.Where(c => c.Counts != null).SelectMany(c => c.Counts!).Select(c => c.WorkQueueId).Distinct().Count(),
                Data = all,
                Bindings = outcomes,
                Capacity = capacity,
            };
        }

        /// <summary>With -ProtectBusyTasks: each binding's in-flight runs (one read per scope), tied to its service's tasks,
        /// the busy ones protected and this publisher's idle ones released (<see cref="TaskProtector"/>). A failure is
        /// that binding's protection's, never the cycle's: its runs then all count as unprotected.</summary>
        private async Task<Dictionary<string, BindingProtection>> ProtectAsync(IReadOnlyList<ServiceBinding> bindings, PrefectDeadline deadline, bool apply, IEngineLog log, CancellationToken cancellationToken)
        {
            var result = new Dictionary<string, BindingProtection>(StringComparer.Ordinal);
            if (bindings.Count == 0) return result;
            List<BindingScope> scopes = bindings.Select(b => b.Scope).Distinct().ToList();
            var reader = new InFlightRunReader(_prefect);
            var runs = await reader.ReadAsync(scopes, TimeSpan.FromSeconds(_configuration.QueueListingCacheSeconds), log, cancellationToken, deadline).ConfigureAwait(false);
            var runsOf = scopes.Zip(runs, (scope, read) => (scope, read)).ToDictionary(p => p.scope, p => p.read);
            // A few bindings at a time: each is a ListTasks, a DescribeTasks and at most a protect and a release call.
            using var gate = new SemaphoreSlim(ScopeConcurrency);
            BindingProtection[] done = await Task.WhenAll(bindings.Select(async binding =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    var read = runsOf[binding.Scope];
                    return await _protector!.ProtectAsync(_aws, binding, read.Runs, read.Failure, apply, log, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false);
            foreach (BindingProtection protection in done) result[protection.Binding.ResourceId] = protection;
            return result;
        }

        /// <summary>A scope's counts per queue and measure, or why they cannot be read.</summary>
        private sealed class ScopeCounts
        {
            public ScopeCounts(BindingScope scope, IReadOnlyList<PrefectBacklogCount>? counts, PrefectApiException? failure)
            {
                Scope = scope;
                Counts = counts;
                Failure = failure;
            }

            public BindingScope Scope { get; }
            public IReadOnlyList<PrefectBacklogCount>? Counts { get; }
            public PrefectApiException? Failure { get; }
        }

        /// <summary>The one Prefect read of every binding's totals: per scope, its total per measure (one count per
        /// scope and measure, or one paged read of the bound pools' active runs when that is cheaper), or the failure
        /// that leaves that scope, and only it, unread.</summary>
        private async Task<IReadOnlyList<ScopeTotals>> ReadTotalsAsync(IReadOnlyList<BindingScope> scopes, PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken)
        {
            var options = new BindingTotalsOptions
            {
                Measures = GuardedMeasures(_configuration.Measures),
                VerifiedScopeMaxAge = TimeSpan.FromSeconds(_configuration.QueueListingCacheSeconds),
                // A SCHEDULED run due before the next sample is about to be claimed: in flight already; Upcoming reaches a task's
                // start beyond it.
                Windows = MeasureWindows.ForCycle(TimeSpan.FromSeconds(_configuration.SampleIntervalSeconds)),
            };
            BindingTotalsResult read = await _prefect.Totals.ReadAsync(scopes, options, log, cancellationToken, deadline).ConfigureAwait(false);
            return read.Scopes;
        }

        /// <summary>The measures a binding is counted in: the configured ones and always InFlight, the busy guard's input
        /// (a scope whose InFlight cannot be read publishes nothing, as for its backlog).</summary>
        internal static List<BacklogMeasure> GuardedMeasures(IEnumerable<BacklogMeasure> configured) =>
            configured.Concat(new[] { BacklogMeasure.InFlight }).Distinct().ToList();

        /// <summary>Each scope's counts per queue and measure, read on its own so that one scope's failure is its own.</summary>
        private async Task<IReadOnlyList<ScopeCounts>> ReadPerQueueAsync(IReadOnlyList<BindingScope> scopes, PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken)
        {
            BacklogReadOptions options = ReadOptions;
            using var gate = new SemaphoreSlim(ScopeConcurrency);
            return await Task.WhenAll(scopes.Select(async scope =>
            {
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    BacklogReadResult read = await _prefect.Backlog.ReadAsync(scope.Selectors(), options, log, cancellationToken, deadline).ConfigureAwait(false);
                    if (read.Failures.Count > 0)
                    {
                        ScopeFailure first = read.Failures[0];
                        return new ScopeCounts(scope, null, new PrefectApiException(first.Error.Kind, string.Join(" ", read.Failures.Select(f => f.Error.Message)), first.Error.StatusCode, first.Error.Endpoint, first.Error));
                    }
                    // A queue named without its pool must be in one pool only: its series would otherwise add up runs
                    // of queues that merely share a name.
                    foreach (string queue in scope.AnyPoolQueues)
                    {
                        List<string> pools = read.Counts.Where(c => c.WorkQueue == queue && c.WorkPool != null).Select(c => c.WorkPool!).Distinct().OrderBy(p => p, StringComparer.Ordinal).ToList();
                        if (pools.Count > 1)
                            return new ScopeCounts(scope, null, new PrefectApiException(PrefectErrorKind.InvalidRequest,
                                "The work queue '" + queue + "' is in the pools " + string.Join(", ", pools) + " of " + _prefect.Client.ApiUrl + "; bind it with its pool."));
                    }
                    // A queue that two parts of the scope name is counted once.
                    List<PrefectBacklogCount> distinct = read.Counts.GroupBy(c => (c.WorkQueueId, c.WorkPool, c.WorkQueue, c.Measure)).Select(g => g.First()).ToList();
                    return new ScopeCounts(scope, distinct, null);
                }
                catch (PrefectApiException e)
                {
                    return new ScopeCounts(scope, null, e);
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false);
        }

        /// <summary>Each service's desired task count (ECS DescribeServices, up to ten services of a cluster a call), by
        /// resource id; a missing service or a failed call is that service's failure.</summary>
        internal static async Task<Dictionary<string, (int? Desired, Exception? Failure)>> ReadDesiredTasksAsync(AwsContext aws, IReadOnlyList<ServiceBinding> bindings, IEngineLog log, CancellationToken cancellationToken)
        {
            var result = new Dictionary<string, (int?, Exception?)>(StringComparer.Ordinal);
            foreach (IGrouping<string, ServiceBinding> cluster in bindings.GroupBy(b => b.Cluster, StringComparer.Ordinal))
            {
                List<ServiceBinding> services = cluster.ToList();
                for (int start = 0; start < services.Count; start += ServicesPerDescribe)
                {
                    List<ServiceBinding> batch = services.Skip(start).Take(ServicesPerDescribe).ToList();
                    var input = new JsonObject { ["cluster"] = cluster.Key, ["services"] = new JsonArray(batch.Select(b => (JsonNode?)JsonValue.Create(b.Service)).ToArray()) };
                    try
                    {
                        JsonNode? answer = await aws.InvokeAsync(AwsOperations.Ecs.DescribeServices, input, log, cancellationToken).ConfigureAwait(false);
                        var found = (answer?["services"] as JsonArray ?? new JsonArray()).OfType<JsonObject>()
                            .Where(s => (string?)s["status"] != "INACTIVE")
                            .GroupBy(s => (string?)s["serviceName"] ?? string.Empty, StringComparer.Ordinal)
                            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
                        foreach (ServiceBinding binding in batch)
                        {
                            result[binding.ResourceId] = found.TryGetValue(binding.Service, out JsonObject? service)
                                ? ((int?)service["desiredCount"] ?? 0, null)
                                : (null, new AwsApiException(AwsErrorKind.NotFound, "ECS", "DescribeServices",
                                    "ECS service '" + binding.Service + "' was not found in cluster '" + binding.Cluster + "' (region " + aws.Region + ").", "ServiceNotFoundException"));
                        }
                    }
                    catch (AwsApiException e)
                    {
                        foreach (ServiceBinding binding in batch) result[binding.ResourceId] = (null, e);
                    }
                }
            }
            return result;
        }

        /// <summary>With -PerQueueSeries: each queue's backlog as the first release published it, once for a queue two
        /// bindings share, and its backlog per desired task of the binding's service.</summary>
        private List<BacklogMetricDatum> PerQueueData(ServiceBinding binding, IReadOnlyList<PrefectBacklogCount> counts, int desired, DateTime now,
            Dictionary<(string? Pool, string Queue, BacklogMeasure Measure), BacklogMetricDatum> published)
        {
            var data = new List<BacklogMetricDatum>();
            var queueData = new List<BacklogMetricDatum>();
            foreach (PrefectBacklogCount count in counts)
            {
                BacklogMetricDatum datum = BacklogMetricBuilder.Build(new BacklogSample
                {
                    WorkPool = count.WorkPool,
                    WorkQueue = count.WorkQueue,
                    Measure = count.Measure,
                    Count = count.Count,
                    Timestamp = count.Timestamp,
                }, _configuration.Metric, now);
                queueData.Add(datum);
                var key = (count.WorkPool, count.WorkQueue, count.Measure);
                if (published.ContainsKey(key)) continue;
                published[key] = datum;
                data.Add(datum);
            }
            // The desired-task datum is the binding's own series, published once above.
            data.AddRange(PerTaskMetrics.Derive(queueData, _configuration.Metric, binding.Cluster, binding.Service, desired, now)
                .Where(d => d.MetricName != BindingSeries.DesiredTasksMetricName));
            return data;
        }

        /// <summary>The failure of a cycle in which some bindings published nothing, as the error of the first one's kind,
        /// naming each and why.</summary>
        private static Exception BindingsFailed(PublisherCycleResult result, IReadOnlyList<BindingOutcome> failed)
        {
            string message = "Published " + (result.Bindings.Count - failed.Count) + " of " + result.Bindings.Count + " bindings; nothing was published for " +
                string.Join("; ", failed.Select(f => f.Binding.ResourceId + " (" + f.Failure!.Message + ")"));
            return failed[0].Failure switch
            {
                PrefectApiException prefect => new PrefectApiException(prefect.Kind, message, prefect.StatusCode, prefect.Endpoint, prefect),
                AwsApiException aws => new AwsApiException(aws.Kind, aws.Service, aws.Operation, message, aws.ErrorCode, aws.RequestId, aws.StatusCode, aws),
                Exception other => new InvalidOperationException(message, other),
                null => new InvalidOperationException(message),
            };
        }

        // ---- a publisher of the first release's kind ----

        private async Task<PublisherCycleResult> QueuesCycleAsync(PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken)
        {
            BacklogReadResult backlog = await _prefect.Backlog.ReadAsync(_configuration.Scopes, ReadOptions, log, cancellationToken, deadline).ConfigureAwait(false);
            if (backlog.Failures.Count > 0)
            {
                // A scope that cannot be read must not be published as a smaller backlog.
                ScopeFailure first = backlog.Failures[0];
                throw new PrefectApiException(first.Error.Kind,
                    "Nothing was published: " + string.Join(" ", backlog.Failures.Select(f => f.Error.Message)), first.Error.StatusCode, first.Error.Endpoint, first.Error);
            }

            DateTime now = DateTime.UtcNow;
            List<BacklogMetricDatum> data = BacklogMetricBuilder.Combine(backlog.Counts.Select(c => BacklogMetricBuilder.Build(new BacklogSample
            {
                WorkPool = c.WorkPool,
                WorkQueue = c.WorkQueue,
                Measure = c.Measure,
                Count = c.Count,
                Timestamp = c.Timestamp,
            }, _configuration.Metric, now)));
            if (_configuration.Cluster != null && _configuration.Service != null && data.Count > 0)
            {
                int desired = await PerTaskMetrics.ReadDesiredCountAsync(_aws, _configuration.Cluster, _configuration.Service, log, cancellationToken).ConfigureAwait(false);
                data.AddRange(PerTaskMetrics.Derive(data, _configuration.Metric, _configuration.Cluster, _configuration.Service, desired, now));
            }
            return new PublisherCycleResult
            {
                Timestamp = now,
                Queues = backlog.Counts.Select(c => c.WorkQueueId).Distinct().Count(),
                Data = data,
            };
        }
    }
}
