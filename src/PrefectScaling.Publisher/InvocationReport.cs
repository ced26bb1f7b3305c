using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using PrefectScaling.Aws;
using PrefectScaling.Prefect;
using PrefectScaling.Protection;

namespace PrefectScaling.Publisher
{
    /// <summary>What one invocation did so far: its trigger, the sample it published, the messages it chained, and
    /// the events it dropped as too late.</summary>
    internal sealed class InvocationOutcome
    {
        public InvocationOutcome(string trigger)
        {
            Trigger = trigger;
        }

        /// <summary>schedule, sample or direct.</summary>
        public string Trigger { get; }

        public List<PublisherCycleResult> Results { get; } = new List<PublisherCycleResult>();

        /// <summary>Delayed samples sent to the queue.</summary>
        public int Chained { get; set; }

        /// <summary>Events that came too late to be their sample, so nothing was published for them.</summary>
        public int Dropped { get; set; }
    }

    /// <summary>What one invocation did: the summary it returns and the one log line it writes. It carries counts
    /// and timestamps only, never a setting or a secret.</summary>
    internal sealed class InvocationReport
    {
        /// <summary>Unprotected runs named per binding in one log line; the count is always exact.</summary>
        private const int MaxUnprotectedListed = 20;

        private readonly bool _cold;
        private readonly InvocationOutcome _outcome;
        private readonly TimeSpan _duration;

        public InvocationReport(bool cold, InvocationOutcome outcome, TimeSpan duration)
        {
            _cold = cold;
            _outcome = outcome;
            _duration = duration;
        }

        /// <summary>{"samples":…,"queues":…,"published":…,"putMetricDataCalls":…,"prefectRequests":…,"durationMs":…,"cold":…,
        /// "trigger":…,"chained":…,"dropped":…,"timestamps":[…]}</summary>
        public byte[] ToSummaryJson() => Write(null);

        /// <summary>{"level":"info","event":"published" (or "dropped" when it published nothing),…the summary…}</summary>
        public string ToLogLine() => Encoding.UTF8.GetString(Write(w =>
        {
            w.WriteString("level", "info");
            w.WriteString("event", _outcome.Results.Count == 0 && _outcome.Dropped > 0 ? "dropped" : "published");
        }));

        private byte[] Write(Action<Utf8JsonWriter>? prefix)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                prefix?.Invoke(w);
                WriteCounts(w, _cold, _outcome, _duration);
                w.WriteStartArray("timestamps");
                foreach (PublisherCycleResult result in _outcome.Results) w.WriteStringValue(result.Timestamp.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteEndArray();
                w.WriteEndObject();
            }
            return buffer.ToArray();
        }

        /// <summary>{"level":"error","event":"failed","error":…,"kind":…,"source":…, and what was done before the failure}</summary>
        public static string FailureLine(InvocationFailure failure, bool cold, InvocationOutcome outcome, TimeSpan duration)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteString("level", "error");
                w.WriteString("event", "failed");
                w.WriteString("error", failure.Message);
                w.WriteString("kind", failure.Kind);
                w.WriteString("source", failure.Source);
                WriteCounts(w, cold, outcome, duration);
                w.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }

        private static void WriteCounts(Utf8JsonWriter w, bool cold, InvocationOutcome outcome, TimeSpan duration)
        {
            IReadOnlyList<PublisherCycleResult> results = outcome.Results;
            w.WriteNumber("samples", results.Count);
            w.WriteNumber("queues", results.Count == 0 ? 0 : results.Max(r => r.Queues));
            w.WriteNumber("published", results.Sum(r => r.Published));
            w.WriteNumber("putMetricDataCalls", results.Sum(r => r.PutMetricDataCalls));
            w.WriteNumber("prefectRequests", results.Sum(r => r.PrefectRequests));
            w.WriteNumber("durationMs", Math.Round(duration.TotalMilliseconds, 1));
            w.WriteBoolean("cold", cold);
            w.WriteString("trigger", outcome.Trigger);
            w.WriteNumber("chained", outcome.Chained);
            w.WriteNumber("dropped", outcome.Dropped);
            WriteProtection(w, results);
        }

        /// <summary>Only what -ProtectBusyTasks did, when it is on: the tasks protected and released, and the runs left
        /// unprotected with why (the first few of each invocation; the count is exact).</summary>
        private static void WriteProtection(Utf8JsonWriter w, IReadOnlyList<PublisherCycleResult> results)
        {
            var protections = results.SelectMany(r => r.Bindings).Select(b => b.Protection).Where(p => p != null).Select(p => p!).ToList();
            if (protections.Count == 0) return;
            // The latest sample's state of each binding.
            var latest = protections.GroupBy(p => p.Binding.ResourceId, StringComparer.Ordinal).Select(g => g.Last()).ToList();
            w.WriteNumber(ProtectionLogLine.ProtectedTasks, latest.Sum(p => p.ProtectedTasks.Count));
            w.WriteNumber(ProtectionLogLine.ReleasedTasks, protections.Sum(p => p.ReleasedTasks.Count));
            w.WriteNumber(ProtectionLogLine.UnprotectedRuns, latest.Sum(p => p.UnprotectedRuns.Count));
            w.WriteStartArray(ProtectionLogLine.Unprotected);
            foreach (var p in latest)
            {
                foreach (var (run, why) in p.UnprotectedRuns.Take(MaxUnprotectedListed))
                {
                    w.WriteStartObject();
                    w.WriteString(ProtectionLogLine.Binding, p.Binding.ResourceId);
                    w.WriteString(ProtectionLogLine.Run, run.Id);
                    w.WriteString(ProtectionLogLine.Why, why);
                    w.WriteEndObject();
                }
                if (p.Failure != null)
                {
                    w.WriteStartObject();
                    w.WriteString(ProtectionLogLine.Binding, p.Binding.ResourceId);
                    w.WriteString(ProtectionLogLine.Why, "protection failed: " + p.Failure.Message);
                    w.WriteEndObject();
                }
            }
            w.WriteEndArray();
        }
    }

    /// <summary>Why an invocation failed, in words fit for a log (scrubbed of the secret).</summary>
    internal sealed class InvocationFailure
    {
        private InvocationFailure(string source, string kind, string message, bool secretMayBeStale)
        {
            Source = source;
            Kind = kind;
            Message = message;
            SecretMayBeStale = secretMayBeStale;
        }

        /// <summary>prefect, aws, configuration or publisher.</summary>
        public string Source { get; }

        /// <summary>The engine's error kind (Unauthorized, NotFound, Unavailable, ...), InvalidConfiguration, or the exception's type.</summary>
        public string Kind { get; }

        public string Message { get; }

        /// <summary>Prefect refused the secret: it may have been rotated in SSM since the cold start.</summary>
        public bool SecretMayBeStale { get; }

        public static InvocationFailure From(Exception exception, Func<string, string> scrub) => exception switch
        {
            PrefectApiException prefect => new InvocationFailure("prefect", prefect.Kind.ToString(), scrub(prefect.Message), prefect.Kind == PrefectErrorKind.Unauthorized),
            AwsApiException aws => new InvocationFailure("aws", aws.Kind.ToString(), scrub(aws.Message), false),
            ArgumentException configuration => new InvocationFailure("configuration", "InvalidConfiguration", scrub(configuration.Message), false),
            OperationCanceledException cancelled => new InvocationFailure("publisher", "Cancelled", scrub(cancelled.Message), false),
            _ => new InvocationFailure("publisher", exception.GetType().Name, scrub(exception.GetType().FullName + ": " + exception.Message), false),
        };
    }
}
