using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;
using PrefectScaling.Prefect;

namespace PrefectScaling.Publisher
{
    /// <summary>The Lambda handler (PrefectScaling.Publisher::PrefectScaling.Publisher.Function::Handle). The runtime
    /// creates one instance per execution environment and calls Handle once per scheduled event; the configuration,
    /// the AWS context, the Prefect secret and connection are set up on the first call and reused while warm.</summary>
    public sealed class Function
    {
        private readonly Func<string, string?> _environment;
        private readonly SemaphoreSlim _coldStartGate = new SemaphoreSlim(1, 1);
        private Ready? _ready;
        private AwsContext? _aws;

        // The last secret read, so that a failure after a stale-secret reset is still scrubbed of it.
        private Func<string, string>? _lastScrub;

        /// <summary>Reads the function's real process environment (what the Lambda runtime uses).</summary>
        public Function()
            : this(Environment.GetEnvironmentVariable)
        {
        }

        /// <summary>Reads the configuration and AWS settings through <paramref name="environment"/>.</summary>
        public Function(Func<string, string?> environment)
        {
            _environment = environment ?? throw new ArgumentNullException(nameof(environment));
        }

        /// <summary>Tests: how patient the Prefect connection is (null: the engine's defaults).</summary>
        internal PrefectHttpOptions? PrefectHttpOptions { get; set; }

        /// <summary>Tests: the time between samples (null: the configured sample interval).</summary>
        internal TimeSpan? SampleSpacing { get; set; }

        /// <summary>Tests: how the handler waits for the next sample.</summary>
        internal Func<TimeSpan, CancellationToken, Task> Delay { get; set; } = Task.Delay;

        /// <summary>Publishes the backlog (one or several samples) and returns a small JSON summary. The event body is
        /// not read: EventBridge's scheduled event carries nothing the publisher needs. Throws when any sample
        /// could not be read or published, so that the invocation counts as failed.</summary>
        public Stream Handle(Stream input)
        {
            // No synchronization context here under the Lambda runtime; Task.Run keeps it so under a test host too.
            byte[] summary = Task.Run(() => InvokeAsync(CancellationToken.None)).GetAwaiter().GetResult();
            return new MemoryStream(summary, writable: false);
        }

        private async Task<byte[]> InvokeAsync(CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            var results = new List<PublisherCycleResult>();
            bool cold = _ready == null;
            Ready? ready = null;
            try
            {
                ready = await ColdStartAsync(cancellationToken).ConfigureAwait(false);
                TimeSpan spacing = SampleSpacing ?? TimeSpan.FromSeconds(ready.Configuration.SampleIntervalSeconds);
                for (int sample = 0; sample < ready.Configuration.SamplesPerInvocation; sample++)
                {
                    // Sample k is due at start + k × interval; a slow sample makes the next one start at once.
                    TimeSpan wait = TimeSpan.FromTicks(spacing.Ticks * sample) - clock.Elapsed;
                    if (wait > TimeSpan.Zero) await Delay(wait, cancellationToken).ConfigureAwait(false);
                    // A sample that starts late gets only what is left of the function's timeout, so it fails cleanly instead of being cut off.
                    TimeSpan budget = PublisherCycle.PrefectBudget(ready.Configuration, clock.Elapsed);
                    results.Add(await ready.Cycle.RunOnceAsync(NullEngineLog.Instance, cancellationToken, budget).ConfigureAwait(false));
                }
            }
            catch (Exception exception)
            {
                Func<string, string> scrub = ready?.Scrub ?? _lastScrub ?? (text => text);
                InvocationFailure failure = InvocationFailure.From(exception, scrub);
                // A rejected secret may have been rotated: the next invocation reads it from SSM again.
                if (failure.SecretMayBeStale) _ready = null;
                WriteLog(scrub(InvocationReport.FailureLine(failure, cold, results, clock.Elapsed)));
                throw new PublisherFailedException(failure.Source, failure.Kind, failure.Message);
            }

            var report = new InvocationReport(cold, results, clock.Elapsed);
            WriteLog(ready.Scrub(report.ToLogLine()));
            return report.ToSummaryJson();
        }

        private async Task<Ready> ColdStartAsync(CancellationToken cancellationToken)
        {
            Ready? ready = _ready;
            if (ready != null) return ready;
            await _coldStartGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_ready != null) return _ready;
                PublisherConfiguration configuration = PublisherConfiguration.FromEnvironment(_environment);
                // Credentials and region come from the execution role's variables (AWS_ACCESS_KEY_ID, ..., AWS_REGION).
                AwsContext aws = _aws ??= AwsContext.Create(new AwsSettingsInput(), _environment, _environment("HOME"));
                PrefectConnectionSettings settings = await PublisherCycle.ResolvePrefectSettingsAsync(configuration, aws, NullEngineLog.Instance, cancellationToken).ConfigureAwait(false);
                Func<string, string> scrub = settings.Redact;
                _lastScrub = scrub;
                PrefectConnection prefect = PrefectConnection.For(settings, PrefectHttpOptions);
                _ready = new Ready(configuration, new PublisherCycle(configuration, prefect, aws), scrub);
                return _ready;
            }
            finally
            {
                _coldStartGate.Release();
            }
        }

        // Lambda ships stdout to CloudWatch Logs, one event per line.
        private static void WriteLog(string line)
        {
            Console.Out.WriteLine(line);
            Console.Out.Flush();
        }

        private sealed class Ready
        {
            public Ready(PublisherConfiguration configuration, PublisherCycle cycle, Func<string, string> scrub)
            {
                Configuration = configuration;
                Cycle = cycle;
                Scrub = scrub;
            }

            public PublisherConfiguration Configuration { get; }
            public PublisherCycle Cycle { get; }
            public Func<string, string> Scrub { get; }
        }
    }
}
