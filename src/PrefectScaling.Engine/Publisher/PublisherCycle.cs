using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Metrics;
using PrefectScaling.Prefect;

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
    }

    /// <summary>One cycle of the scheduled publisher: read the configured backlog, publish it in one batch (with
    /// the per-task metrics when a service is configured). The Lambda function and Test-PrefectBacklogPublisher
    /// both run exactly this. When any part of the backlog cannot be read it publishes nothing and throws.</summary>
    public sealed class PublisherCycle
    {
        private readonly PublisherConfiguration _configuration;
        private readonly PrefectConnection _prefect;
        private readonly AwsContext _aws;

        public PublisherCycle(PublisherConfiguration configuration, PrefectConnection prefect, AwsContext aws)
        {
            _configuration = configuration;
            _prefect = prefect;
            _aws = aws;
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

        /// <summary>One cycle. Every Prefect request of it shares one deadline: the connection's, or
        /// <paramref name="prefectBudget"/> when that is shorter. With <paramref name="publish"/> false it reads and
        /// builds the data but sends nothing (Test-PrefectBacklogPublisher -WhatIf). With <paramref name="sampleTime"/>
        /// the data carry that time (a chained sample's due time, <see cref="SampleChain"/>) instead of the count's.</summary>
        public async Task<PublisherCycleResult> RunOnceAsync(IEngineLog log, CancellationToken cancellationToken, TimeSpan? prefectBudget = null, bool publish = true, DateTime? sampleTime = null)
        {
            var clock = Stopwatch.StartNew();
            int requestsBefore = _prefect.Client.RequestCount;
            var options = new BacklogReadOptions
            {
                Measures = _configuration.Measures,
                QueueListingMaxAge = TimeSpan.FromSeconds(_configuration.QueueListingCacheSeconds),
            };
            PrefectDeadline deadline = _prefect.Client.StartDeadline(prefectBudget);
            BacklogReadResult backlog = await _prefect.Backlog.ReadAsync(_configuration.Scopes, options, log, cancellationToken, deadline).ConfigureAwait(false);
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
                Timestamp = sampleTime ?? c.Timestamp,
            }, _configuration.Metric, now)));
            if (_configuration.Cluster != null && _configuration.Service != null && data.Count > 0)
            {
                int desired = await PerTaskMetrics.ReadDesiredCountAsync(_aws, _configuration.Cluster, _configuration.Service, log, cancellationToken).ConfigureAwait(false);
                data.AddRange(PerTaskMetrics.Derive(data, _configuration.Metric, _configuration.Cluster, _configuration.Service, desired, now));
            }

            int calls = data.Count == 0 || !publish ? 0 : await new MetricPublisher(_aws).PublishAsync(data, log, cancellationToken).ConfigureAwait(false);
            return new PublisherCycleResult
            {
                Timestamp = sampleTime ?? now,
                Queues = backlog.Counts.Select(c => c.WorkQueueId).Distinct().Count(),
                Published = publish ? data.Count : 0,
                PutMetricDataCalls = calls,
                PrefectRequests = _prefect.Client.RequestCount - requestsBefore,
                DurationMs = clock.Elapsed.TotalMilliseconds,
                Data = data,
            };
        }
    }
}
