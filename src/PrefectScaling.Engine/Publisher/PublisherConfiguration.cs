using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Metrics;

namespace PrefectScaling.Publisher
{
    /// <summary>Which secret the SSM parameter holds.</summary>
    public enum PublisherSecretKind
    {
        /// <summary>No secret: an open self-hosted server.</summary>
        None,

        /// <summary>A Prefect Cloud API key (bearer).</summary>
        ApiKey,

        /// <summary>A self-hosted Prefect 3 basic-auth string (user:password).</summary>
        AuthString,
    }

    /// <summary>The scheduled publisher's configuration: what Install-PrefectBacklogPublisher writes into the
    /// function's environment and what the function reads back — the one place that knows the variable names.
    /// It holds no secret: only the name of the SSM SecureString parameter that does.</summary>
    public sealed class PublisherConfiguration
    {
        public const string ApiUrlVariable = "PREFECT_API_URL";
        public const string SecretParameterVariable = "PREFECTSCALING_SECRET_PARAMETER";
        public const string SecretKindVariable = "PREFECTSCALING_SECRET_KIND";
        public const string ScopesVariable = "PREFECTSCALING_SCOPES";
        public const string MeasuresVariable = "PREFECTSCALING_MEASURES";
        public const string NamespaceVariable = "PREFECTSCALING_NAMESPACE";
        public const string MetricNameVariable = "PREFECTSCALING_METRIC_NAME";
        public const string DimensionsVariable = "PREFECTSCALING_DIMENSIONS";
        public const string StorageResolutionVariable = "PREFECTSCALING_STORAGE_RESOLUTION";
        public const string SampleIntervalVariable = "PREFECTSCALING_SAMPLE_INTERVAL_SECONDS";
        public const string ClusterVariable = "PREFECTSCALING_CLUSTER";
        public const string ServiceVariable = "PREFECTSCALING_SERVICE";
        public const string QueueListingCacheVariable = "PREFECTSCALING_QUEUE_LISTING_CACHE_SECONDS";
        public const string BindingsPathVariable = "PREFECTSCALING_BINDINGS_PATH";
        public const string BindingsStampVariable = "PREFECTSCALING_BINDINGS_STAMP";
        public const string PerQueueSeriesVariable = "PREFECTSCALING_PER_QUEUE_SERIES";
        public const string PushSecretParameterVariable = "PREFECTSCALING_PUSH_SECRET_PARAMETER";
        public const string ProtectBusyTasksVariable = "PREFECTSCALING_PROTECT_BUSY_TASKS";

        private static readonly int[] SampleIntervals = { 10, 15, 20, 30, 60 };

        public string ApiUrl { get; set; } = string.Empty;

        /// <summary>The SSM SecureString parameter holding the Prefect secret (null with SecretKind None).</summary>
        public string? SecretParameter { get; set; }

        public PublisherSecretKind SecretKind { get; set; }

        /// <summary>The services this publisher publishes for, each with its scope: one series per binding and
        /// measure (<see cref="Bindings.BindingSeries"/>). Empty: a publisher of the first release's kind, which
        /// publishes per-queue series of <see cref="Scopes"/> — or one whose bindings are still in SSM, under
        /// <see cref="BindingsPath"/> (the environment holds only their path and stamp).</summary>
        public IReadOnlyList<Bindings.ServiceBinding> Bindings { get; set; } = Array.Empty<Bindings.ServiceBinding>();

        /// <summary>The SSM path of the publisher's binding parameters (<see cref="PublisherBindings"/>); null: a
        /// publisher of the first release's kind.</summary>
        public string? BindingsPath { get; set; }

        /// <summary>The stamp of the bindings Install wrote (<see cref="PublisherBindings.Stamp"/>): the set the function
        /// must find under <see cref="BindingsPath"/>. Computed from <see cref="Bindings"/> when they are given.</summary>
        public string? BindingsStamp { get; set; }

        /// <summary>A publisher of bindings: its series are the bindings' (<see cref="Bindings.BindingSeries"/>).</summary>
        public bool UsesBindings => BindingsPath != null;

        /// <summary>With bindings: also publish a series per queue (off by default; each series costs).</summary>
        public bool PerQueueSeries { get; set; }

        /// <summary>With bindings: each cycle, protect the tasks running in-flight runs from scale-in and release the
        /// ones it protected that went idle (<see cref="Protection.TaskProtector"/>). Off by default.</summary>
        public bool ProtectBusyTasks { get; set; }

        /// <summary>Pool/queue selectors; empty: every queue of every pool.</summary>
        public IReadOnlyList<ScopeSelector> Scopes { get; set; } = Array.Empty<ScopeSelector>();

        public IReadOnlyList<BacklogMeasure> Measures { get; set; } = new[] { BacklogMeasure.Late };

        public BacklogMetricOptions Metric { get; set; } = new BacklogMetricOptions();

        /// <summary>60: one sample per invocation; 10, 15, 20 or 30: that many seconds apart within the minute.</summary>
        public int SampleIntervalSeconds { get; set; } = 60;

        /// <summary>With Service: also publish backlog per desired task of this ECS service.</summary>
        public string? Cluster { get; set; }

        public string? Service { get; set; }

        public int QueueListingCacheSeconds { get; set; } = 300;

        /// <summary>The push path is on: the SSM SecureString parameter with the shared secret that a function URL
        /// request must carry (the secret itself is never in the environment). Null: the function URL path is off.</summary>
        public string? PushSecretParameter { get; set; }

        /// <summary>Samples per invocation (EventBridge schedules stop at one minute).</summary>
        public int SamplesPerInvocation => 60 / SampleIntervalSeconds;

        public void Validate()
        {
            Prefect.PrefectConnectionSettings.ValidateApiUrl(ApiUrl);
            if (SecretKind != PublisherSecretKind.None && string.IsNullOrWhiteSpace(SecretParameter))
                throw new ArgumentException("A secret kind was given without the SSM parameter that holds it.");
            if (Measures.Count == 0) throw new ArgumentException("At least one measure is needed.");
            if (!SampleIntervals.Contains(SampleIntervalSeconds))
                throw new ArgumentException("The sample interval must be 60, 30, 20, 15 or 10 seconds, not " + SampleIntervalSeconds + ".");
            if (SampleIntervalSeconds < 60 && Metric.StorageResolution != 1)
                throw new ArgumentException("Sampling every " + SampleIntervalSeconds + " seconds needs high-resolution metrics (-StorageResolution 1).");
            if ((Cluster == null) != (Service == null))
                throw new ArgumentException("-Cluster and -Service go together.");
            if (QueueListingCacheSeconds < 0 || QueueListingCacheSeconds > 3600)
                throw new ArgumentException("The queue listing cache must be 0 to 3600 seconds.");
            Metric.Validate();
            if (Bindings.Count > 0 && BindingsPath == null)
                throw new ArgumentException("Bindings need the SSM path they are stored under.");
            if (PushSecretParameter != null && !UsesBindings)
                throw new ArgumentException("The push path wakes bindings: -Push needs the publisher's bindings (-Cluster and -Service, or -BindingFile).");
            if (UsesBindings) ValidateBindings();
            else if (PerQueueSeries)
                throw new ArgumentException("-PerQueueSeries goes with bindings: a publisher without them publishes per-queue series anyway.");
            if (ProtectBusyTasks && !UsesBindings)
                throw new ArgumentException("-ProtectBusyTasks goes with bindings (-Cluster and -Service, or -BindingFile): it protects the tasks of the bound services.");
        }

        private void ValidateBindings()
        {
            if (!BindingsPath!.StartsWith("/", StringComparison.Ordinal) || BindingsPath.EndsWith("/", StringComparison.Ordinal))
                throw new ArgumentException("The bindings path '" + BindingsPath + "' must start with '/' and not end with it.");
            if (Scopes.Count > 0) throw new ArgumentException("A publisher of bindings takes its scopes from them, not from a list of queues.");
            if (Cluster != null || Service != null) throw new ArgumentException("A publisher of bindings takes its services from them.");
            if (Metric.MetricName != null && Measures.Distinct().Count() > 1)
                throw new ArgumentException("One -MetricName for several measures would publish them into one series of each binding; publish one measure, or leave -MetricName out.");
            if (Bindings.Count > PublisherBindings.MaxBindings)
                throw new ArgumentException("A publisher takes at most " + PublisherBindings.MaxBindings + " bindings, not " + Bindings.Count + ".");
            var twice = Bindings.GroupBy(b => b.ResourceId, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
            if (twice.Count > 0)
                throw new ArgumentException("A service has one binding, but " + string.Join(", ", twice) + " has several: give each service one scope with every pool and queue it serves.");
            if (Bindings.Count == 0 && string.IsNullOrEmpty(BindingsStamp))
                throw new ArgumentException("A publisher of bindings has neither its bindings nor their stamp.");
        }

        /// <summary>The function's environment variables.</summary>
        public Dictionary<string, string> ToEnvironment()
        {
            var scopes = new JsonArray(Scopes.Select(s => (JsonNode)new JsonObject { ["pool"] = s.Pool?.Text, ["queue"] = s.Queue?.Text }).ToArray());
            var variables = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [ApiUrlVariable] = ApiUrl,
                [SecretKindVariable] = SecretKind.ToString(),
                [MeasuresVariable] = string.Join(",", Measures),
                [NamespaceVariable] = Metric.Namespace,
                [DimensionsVariable] = Metric.Dimensions.ToString().Replace(" ", string.Empty),
                [StorageResolutionVariable] = Metric.StorageResolution.ToString(CultureInfo.InvariantCulture),
                [SampleIntervalVariable] = SampleIntervalSeconds.ToString(CultureInfo.InvariantCulture),
                [QueueListingCacheVariable] = QueueListingCacheSeconds.ToString(CultureInfo.InvariantCulture),
            };
            if (UsesBindings)
            {
                variables[BindingsPathVariable] = BindingsPath!;
                variables[BindingsStampVariable] = Bindings.Count > 0 ? PublisherBindings.Stamp(Bindings) : BindingsStamp!;
                if (PerQueueSeries) variables[PerQueueSeriesVariable] = "true";
                if (ProtectBusyTasks) variables[ProtectBusyTasksVariable] = "true";
            }
            else
            {
                variables[ScopesVariable] = scopes.ToJsonString();
            }
            if (SecretParameter != null) variables[SecretParameterVariable] = SecretParameter;
            if (PushSecretParameter != null) variables[PushSecretParameterVariable] = PushSecretParameter;
            if (Metric.MetricName != null) variables[MetricNameVariable] = Metric.MetricName;
            if (Cluster != null) variables[ClusterVariable] = Cluster;
            if (Service != null) variables[ServiceVariable] = Service;
            return variables;
        }

        /// <summary>Reads the configuration back from an environment (the function's, or one read with GetFunction).</summary>
        public static PublisherConfiguration FromEnvironment(Func<string, string?> environment)
        {
            string Required(string name) => environment(name) is string v && v.Length > 0 ? v : throw new ArgumentException("The publisher's environment has no " + name + ".");
            int Number(string name, int fallback)
            {
                string? text = environment(name);
                if (string.IsNullOrEmpty(text)) return fallback;
                return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) ? n : throw new ArgumentException(name + " is not a whole number: '" + text + "'.");
            }

            var configuration = new PublisherConfiguration
            {
                ApiUrl = Required(ApiUrlVariable),
                SecretParameter = environment(SecretParameterVariable),
                SecretKind = Parse<PublisherSecretKind>(environment(SecretKindVariable) ?? "None", SecretKindVariable),
                Scopes = ParseScopes(environment(ScopesVariable)),
                Measures = (environment(MeasuresVariable) ?? "Late").Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries).Select(m => Parse<BacklogMeasure>(m.Trim(), MeasuresVariable)).ToList(),
                Metric = new BacklogMetricOptions
                {
                    Namespace = environment(NamespaceVariable) is string ns && ns.Length > 0 ? ns : BacklogMetricOptions.DefaultNamespace,
                    MetricName = environment(MetricNameVariable) is string mn && mn.Length > 0 ? mn : null,
                    Dimensions = Parse<BacklogDimension>(environment(DimensionsVariable) ?? "WorkQueue,WorkPool", DimensionsVariable),
                    StorageResolution = Number(StorageResolutionVariable, 60),
                },
                SampleIntervalSeconds = Number(SampleIntervalVariable, 60),
                Cluster = environment(ClusterVariable) is string c && c.Length > 0 ? c : null,
                Service = environment(ServiceVariable) is string s && s.Length > 0 ? s : null,
                QueueListingCacheSeconds = Number(QueueListingCacheVariable, 300),
                BindingsPath = environment(BindingsPathVariable) is string path && path.Length > 0 ? path : null,
                BindingsStamp = environment(BindingsStampVariable) is string stamp && stamp.Length > 0 ? stamp : null,
                PushSecretParameter = environment(PushSecretParameterVariable) is string push && push.Length > 0 ? push : null,
                PerQueueSeries = environment(PerQueueSeriesVariable) is string perQueue && perQueue.Length > 0
                    && (bool.TryParse(perQueue, out bool on) ? on : throw new ArgumentException(PerQueueSeriesVariable + " is not true or false: '" + perQueue + "'.")),
                ProtectBusyTasks = environment(ProtectBusyTasksVariable) is string protect && protect.Length > 0
                    && (bool.TryParse(protect, out bool protectOn) ? protectOn : throw new ArgumentException(ProtectBusyTasksVariable + " is not true or false: '" + protect + "'.")),
            };
            configuration.Validate();
            return configuration;
        }

        private static IReadOnlyList<ScopeSelector> ParseScopes(string? json)
        {
            if (string.IsNullOrWhiteSpace(json)) return Array.Empty<ScopeSelector>();
            try
            {
                return JsonNode.Parse(json!)!.AsArray().Select(n => new ScopeSelector((string?)n?["pool"], (string?)n?["queue"])).ToList();
            }
            catch (Exception e) when (e is JsonException || e is InvalidOperationException || e is ArgumentException)
            {
                throw new ArgumentException(ScopesVariable + " is not a JSON list of {\"pool\":…,\"queue\":…} selectors: " + e.Message);
            }
        }

        private static T Parse<T>(string text, string variable) where T : struct =>
            Enum.TryParse(text, ignoreCase: true, out T value) && Enum.IsDefined(typeof(T), value) || typeof(T).IsDefined(typeof(FlagsAttribute), false) && Enum.TryParse(text, true, out value)
                ? value
                : throw new ArgumentException(variable + " has an unknown value '" + text + "'.");
    }
}
