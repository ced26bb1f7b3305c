using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Publisher
{
    /// <summary>One sample of a minute after its first: when it is due and how long SQS holds it back.</summary>
    public sealed class ChainedSample
    {
        public ChainedSample(int index, DateTime due, int delaySeconds)
        {
            Index = index;
            Due = due;
            DelaySeconds = delaySeconds;
        }

        /// <summary>1 to samples-per-minute − 1 (sample 0 is the scheduled invocation's own).</summary>
        public int Index { get; }

        /// <summary>UTC: the timestamp the sample is published with.</summary>
        public DateTime Due { get; }

        public int DelaySeconds { get; }
    }

    /// <summary>How a sub-minute publisher takes the samples of a minute without waiting inside Lambda: the
    /// 1-minute schedule's invocation publishes sample 0 and sends the minute's other samples to the publisher's own
    /// SQS queue as delayed messages (one SendMessageBatch); SQS invokes the function with each one when it is due,
    /// and that invocation publishes one sample. A message that comes more than one interval late is dropped, not
    /// published with a stale timestamp; a lost message costs that sample only, and the next minute starts afresh.
    /// This is the one place for the queue's name, the messages and the rules of lateness.</summary>
    public static class SampleChain
    {
        /// <summary>The function's environment variable naming its sample queue (only for sub-minute sampling).</summary>
        public const string QueueVariable = "PREFECTSCALING_SAMPLE_QUEUE";

        /// <summary>SQS's shortest retention. A message expires a minute after it was sent (the delay counts), so
        /// one that failed is gone before its visibility timeout lets it come back: nothing is ever retried.</summary>
        public const int RetentionSeconds = 60;

        /// <summary>SQS's longest per-message delay.</summary>
        public const int MaxDelaySeconds = 900;

        private const string Marker = "prefectscaling-sample";

        /// <summary>Sampling more often than the 1-minute schedule needs the chain (and its queue).</summary>
        public static bool IsChained(int sampleIntervalSeconds) => sampleIntervalSeconds < 60;

        public static bool IsChained(PublisherConfiguration configuration) => IsChained(configuration.SampleIntervalSeconds);

        /// <summary>The publisher's sample queue: its name and a suffix, so it never names another publisher's.</summary>
        public static string QueueName(string publisherName) => publisherName + "-samples";

        public static int SamplesPerMinute(int sampleIntervalSeconds) => 60 / sampleIntervalSeconds;

        /// <summary>The variables the function needs beyond the configuration's: the queue, when it chains.</summary>
        public static void AddEnvironment(IDictionary<string, string> variables, string publisherName, PublisherConfiguration configuration)
        {
            if (IsChained(configuration)) variables[QueueVariable] = QueueName(publisherName);
        }

        /// <summary>The samples of the minute that starts at <paramref name="start"/> after sample 0: k = 1, 2, …,
        /// due at start + k × interval, held back k × interval seconds.</summary>
        public static IReadOnlyList<ChainedSample> Follow(DateTime start, int sampleIntervalSeconds)
        {
            if (!IsChained(sampleIntervalSeconds)) return Array.Empty<ChainedSample>();
            DateTime utc = start.ToUniversalTime();
            return Enumerable.Range(1, SamplesPerMinute(sampleIntervalSeconds) - 1)
                .Select(k => new ChainedSample(k, utc.AddSeconds(k * sampleIntervalSeconds), k * sampleIntervalSeconds))
                .ToList();
        }

        /// <summary>More than one interval after it was due, the next sample is due already: too late to be this one.</summary>
        public static bool IsLate(DateTime due, DateTime now, int sampleIntervalSeconds) =>
            now.ToUniversalTime() - due.ToUniversalTime() > TimeSpan.FromSeconds(sampleIntervalSeconds);

        /// <summary>{"kind":"prefectscaling-sample","sample":k,"due":"…Z"}</summary>
        public static string MessageBody(ChainedSample sample) => new JsonObject
        {
            ["kind"] = Marker,
            ["sample"] = sample.Index,
            ["due"] = sample.Due.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
        }.ToJsonString();

        /// <summary>The due time a message carries; null when the body is not one of the chain's messages.</summary>
        public static DateTime? ReadDue(string? body)
        {
            if (string.IsNullOrEmpty(body)) return null;
            try
            {
                if (JsonNode.Parse(body!) is not JsonObject message || (string?)message["kind"] != Marker) return null;
                return DateTime.TryParse((string?)message["due"], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime due)
                    ? due
                    : (DateTime?)null;
            }
            catch (Exception e) when (e is JsonException || e is InvalidOperationException || e is FormatException)
            {
                return null;
            }
        }

        /// <summary>The queue's URL (SQS GetQueueUrl): asked once per warm function.</summary>
        public static async Task<string> QueueUrlAsync(AwsContext aws, string queueName, IEngineLog log, CancellationToken cancellationToken)
        {
            JsonNode? answer = await aws.InvokeAsync(AwsOperations.Sqs.GetQueueUrl, new JsonObject { ["QueueName"] = queueName }, log, cancellationToken).ConfigureAwait(false);
            return (string?)answer?["QueueUrl"] is string url && url.Length > 0
                ? url
                : throw new AwsApiException(AwsErrorKind.ServiceError, AwsService.Sqs.Name, "GetQueueUrl", "SQS GetQueueUrl answered no URL for the queue " + queueName + ".");
        }

        /// <summary>Sends the samples as delayed messages in one SendMessageBatch (a minute holds at most 5, SQS
        /// takes 10). Throws AwsApiException when the call fails or SQS refused any of them.</summary>
        public static async Task<int> SendAsync(AwsContext aws, string queueUrl, IReadOnlyList<ChainedSample> samples, IEngineLog log, CancellationToken cancellationToken)
        {
            if (samples.Count == 0) return 0;
            if (samples.Count > 10) throw new ArgumentException("SQS takes at most 10 messages in one batch.", nameof(samples));
            var entries = new JsonArray(samples.Select(s => (JsonNode)new JsonObject
            {
                ["Id"] = "sample-" + s.Index.ToString(CultureInfo.InvariantCulture),
                ["MessageBody"] = MessageBody(s),
                ["DelaySeconds"] = Math.Min(s.DelaySeconds, MaxDelaySeconds),
            }).ToArray());
            JsonNode? answer = await aws.InvokeAsync(AwsOperations.Sqs.SendMessageBatch, new JsonObject { ["QueueUrl"] = queueUrl, ["Entries"] = entries }, log, cancellationToken).ConfigureAwait(false);
            List<JsonObject> failed = (answer?["Failed"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
            int sent = (answer?["Successful"] as JsonArray)?.Count ?? 0;
            if (failed.Count > 0 || sent != samples.Count)
                throw new AwsApiException(AwsErrorKind.ServiceError, AwsService.Sqs.Name, "SendMessageBatch",
                    "SQS SendMessageBatch took " + sent + " of " + samples.Count + " samples" +
                    (failed.Count > 0 ? ": " + string.Join("; ", failed.Select(f => (string?)f["Id"] + " " + (string?)f["Code"] + " " + (string?)f["Message"])) : "") + ".",
                    (string?)failed.FirstOrDefault()?["Code"]);
            return sent;
        }
    }
}
