using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;
using PrefectScaling.Prefect;

namespace PrefectScaling.Publisher
{
    /// <summary>The Lambda handler (PrefectScaling.Publisher::PrefectScaling.Publisher.Function::Handle). The runtime
    /// creates one instance per execution environment and calls Handle once per event; the configuration, the AWS
    /// context, the Prefect secret and connection are set up on the first call and reused while warm. Every
    /// invocation takes at most one sample: nothing waits inside Lambda. A sub-minute publisher's scheduled invocation
    /// sends the minute's other samples to its queue as delayed messages, and SQS invokes it with each one when it is
    /// due (<see cref="SampleChain"/>).</summary>
    public sealed partial class Function
    {
        // Lambda retries a failed scheduled invocation a minute or more later; by then the next minute's has run.
        private const int ScheduleLateSeconds = 60;

        private readonly Func<string, string?> _environment;
        private readonly SemaphoreSlim _coldStartGate = new SemaphoreSlim(1, 1);
        private readonly PushGuard _pushGuard = new PushGuard();
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

        /// <summary>Tests and the bench: what each push request did, in order (the log line's fields).</summary>
        internal Action<PushAnswer>? PushObserver { get; set; }

        /// <summary>Publishes one sample (or none, for an event that comes too late to be its sample) and returns a
        /// small JSON summary. The event's shape says what started it: EventBridge's schedule, a chained sample from
        /// SQS, or anything else (one sample, no chain). Throws when the sample could not be read or published, or
        /// the chain could not be sent, so that the invocation counts as failed.</summary>
        public Stream Handle(Stream input)
        {
            InvocationEvent invocation = InvocationEvent.Read(input);
            // No synchronization context here under the Lambda runtime; Task.Run keeps it so under a test host too.
            byte[] summary = invocation.Trigger == InvocationTrigger.Webhook || invocation.Trigger == InvocationTrigger.Oversized
                ? Task.Run(() => PushAsync(invocation, CancellationToken.None)).GetAwaiter().GetResult()
                : Task.Run(() => InvokeAsync(invocation, CancellationToken.None)).GetAwaiter().GetResult();
            return new MemoryStream(summary, writable: false);
        }

        private async Task<byte[]> InvokeAsync(InvocationEvent invocation, CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            DateTime started = DateTime.UtcNow;
            var outcome = new InvocationOutcome(invocation.Name);
            bool cold = _ready == null;
            Ready? ready = null;
            try
            {
                ready = await ColdStartAsync(cancellationToken).ConfigureAwait(false);
                PublisherConfiguration configuration = ready.Configuration;
                switch (invocation.Trigger)
                {
                    case InvocationTrigger.Schedule:
                        if (invocation.ScheduledTime is DateTime fired && SampleChain.IsLate(fired, started, ScheduleLateSeconds))
                        {
                            outcome.Dropped++;
                            break;
                        }
                        Exception? chainFailure = null;
                        DateTime? sampleTime = null;
                        if (SampleChain.IsChained(configuration))
                        {
                            // The chain goes first, so that a failing sample 0 still leaves the minute's others to try.
                            sampleTime = started;
                            try
                            {
                                outcome.Chained = await SendChainAsync(ready, started, cancellationToken).ConfigureAwait(false);
                            }
                            catch (Exception e) when (e is AwsApiException || e is ArgumentException)
                            {
                                chainFailure = e;
                            }
                        }
                        outcome.Results.Add(await SampleAsync(ready, clock, sampleTime, cancellationToken).ConfigureAwait(false));
                        if (chainFailure != null) throw chainFailure;
                        break;

                    case InvocationTrigger.Sample:
                        // One record per invocation (batch size 1); a second one on time would be the same sample again.
                        List<DateTime> onTime = invocation.Dues
                            .Where(due => due.HasValue && SampleChain.IsChained(configuration) && !SampleChain.IsLate(due.Value, started, configuration.SampleIntervalSeconds))
                            .Select(due => due!.Value).ToList();
                        outcome.Dropped = invocation.Dues.Count - Math.Min(onTime.Count, 1);
                        if (onTime.Count > 0)
                            outcome.Results.Add(await SampleAsync(ready, clock, onTime.Max(), cancellationToken).ConfigureAwait(false));
                        break;

                    default:
                        outcome.Results.Add(await SampleAsync(ready, clock, null, cancellationToken).ConfigureAwait(false));
                        break;
                }
            }
            catch (Exception exception)
            {
                Func<string, string> scrub = ready?.Scrub ?? _lastScrub ?? (text => text);
                InvocationFailure failure = InvocationFailure.From(exception, scrub);
                // A rejected secret may have been rotated: the next invocation reads it from SSM again.
                if (failure.SecretMayBeStale) _ready = null;
                WriteLog(scrub(InvocationReport.FailureLine(failure, cold, outcome, clock.Elapsed)));
                throw new PublisherFailedException(failure.Source, failure.Kind, failure.Message);
            }

            var report = new InvocationReport(cold, outcome, clock.Elapsed);
            WriteLog(ready.Scrub(report.ToLogLine()));
            return report.ToSummaryJson();
        }

        // A sample gets only what is left of the function's timeout, so it fails cleanly instead of being cut off.
        private static Task<PublisherCycleResult> SampleAsync(Ready ready, Stopwatch clock, DateTime? sampleTime, CancellationToken cancellationToken) =>
            ready.Cycle.RunOnceAsync(NullEngineLog.Instance, cancellationToken, PublisherCycle.PrefectBudget(ready.Configuration, clock.Elapsed), publish: true, sampleTime: sampleTime);

        private async Task<int> SendChainAsync(Ready ready, DateTime start, CancellationToken cancellationToken)
        {
            if (ready.QueueUrl == null)
            {
                string queue = _environment(SampleChain.QueueVariable) is string name && name.Length > 0
                    ? name
                    : throw new ArgumentException("The publisher samples every " + ready.Configuration.SampleIntervalSeconds + " s but its environment names no sample queue (" + SampleChain.QueueVariable + "); run Install-PrefectBacklogPublisher again.");
                ready.QueueUrl = await SampleChain.QueueUrlAsync(ready.Aws, queue, NullEngineLog.Instance, cancellationToken).ConfigureAwait(false);
            }
            return await SampleChain.SendAsync(ready.Aws, ready.QueueUrl, SampleChain.Follow(start, ready.Configuration.SampleIntervalSeconds), NullEngineLog.Instance, cancellationToken).ConfigureAwait(false);
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
                _ready = new Ready(configuration, new PublisherCycle(configuration, prefect, aws), aws, scrub);
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
            public Ready(PublisherConfiguration configuration, PublisherCycle cycle, AwsContext aws, Func<string, string> scrub)
            {
                Configuration = configuration;
                Cycle = cycle;
                Aws = aws;
                Scrub = scrub;
            }

            public PublisherConfiguration Configuration { get; }
            public PublisherCycle Cycle { get; }
            public AwsContext Aws { get; }
            public Func<string, string> Scrub { get; }

            /// <summary>The sample queue's URL, asked once while warm.</summary>
            public string? QueueUrl { get; set; }

            /// <summary>The push secret's SHA-256 (the secret itself is not kept), and when it was read from SSM.</summary>
            public byte[]? PushSecretHash { get; set; }
            public DateTime PushSecretReadAt { get; set; }
        }
    }
}
