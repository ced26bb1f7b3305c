using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PrefectScaling.Publisher
{
    /// <summary>What started an invocation, told by the event's shape.</summary>
    internal enum InvocationTrigger
    {
        /// <summary>EventBridge's scheduled event ("source":"aws.events", "detail-type":"Scheduled Event"): the minute's first sample.</summary>
        Schedule,

        /// <summary>SQS ("Records" from "aws:sqs"): a chained sample, due at the time its message carries.</summary>
        Sample,

        /// <summary>Anything else (a test invoke from the console or the CLI): one sample, and no chain.</summary>
        Direct,

        /// <summary>A function URL request (payload format 2.0: "version":"2.0" with requestContext.http): the push path.</summary>
        Webhook,

        /// <summary>An event larger than any the publisher takes: nothing is done with it.</summary>
        Oversized,
    }

    /// <summary>The event an invocation was given, as far as the publisher reads it.</summary>
    internal sealed class InvocationEvent
    {
        // The largest event read: a scheduled event or one SQS record is far smaller.
        private const int MaxBytes = 256 * 1024;

        private InvocationEvent(InvocationTrigger trigger, DateTime? scheduledTime, IReadOnlyList<DateTime?> dues, JsonObject? request = null)
        {
            Trigger = trigger;
            ScheduledTime = scheduledTime;
            Dues = dues;
            Request = request;
        }

        /// <summary>Webhook: the function URL request as Lambda hands it over.</summary>
        public JsonObject? Request { get; }

        public InvocationTrigger Trigger { get; }

        /// <summary>Schedule: the time the rule fired (null when the event has none).</summary>
        public DateTime? ScheduledTime { get; }

        /// <summary>Sample: each record's due time (null for a message that is not the chain's).</summary>
        public IReadOnlyList<DateTime?> Dues { get; }

        public string Name => Trigger.ToString().ToLowerInvariant();

        public static InvocationEvent Read(Stream input)
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = input.Read(chunk, 0, chunk.Length)) > 0)
            {
                // Never a sample: a scheduled event or an SQS record is far smaller, so this is somebody's flood.
                if (buffer.Length + read > MaxBytes) return new InvocationEvent(InvocationTrigger.Oversized, null, Array.Empty<DateTime?>());
                buffer.Write(chunk, 0, read);
            }
            return Parse(buffer.ToArray());
        }

        public static InvocationEvent Parse(byte[] body)
        {
            JsonObject? root;
            try
            {
                root = body.Length == 0 ? null : JsonNode.Parse(body) as JsonObject;
            }
            catch (JsonException)
            {
                root = null;
            }
            if (root == null) return Direct();

            if (root["version"] is JsonValue version && version.TryGetValue(out string? v) && v == "2.0" && root["requestContext"] is JsonObject context && context["http"] is JsonObject)
                return new InvocationEvent(InvocationTrigger.Webhook, null, Array.Empty<DateTime?>(), root);

            if (root["Records"] is JsonArray records && records.Count > 0 && records.All(r => (string?)r?["eventSource"] == "aws:sqs"))
                return new InvocationEvent(InvocationTrigger.Sample, null, records.Select(r => SampleChain.ReadDue((string?)r?["body"])).ToList());

            if ((string?)root["source"] == "aws.events" && (string?)root["detail-type"] == "Scheduled Event")
            {
                DateTime? time = DateTime.TryParse((string?)root["time"], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime t) ? t : (DateTime?)null;
                return new InvocationEvent(InvocationTrigger.Schedule, time, Array.Empty<DateTime?>());
            }
            return Direct();
        }

        private static InvocationEvent Direct() => new InvocationEvent(InvocationTrigger.Direct, null, Array.Empty<DateTime?>());
    }
}
