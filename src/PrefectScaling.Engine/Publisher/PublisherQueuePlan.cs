using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Publisher
{
    /// <summary>What exists of a publisher's sample queue (<see cref="SampleChain"/>) and of the event source mapping
    /// that lets it invoke the function.</summary>
    public sealed class SampleQueueState
    {
        public string QueueName { get; internal set; } = string.Empty;

        /// <summary>The queue's ARN: as SQS answers it, else as the module would name it.</summary>
        public string QueueArn { get; internal set; } = string.Empty;

        /// <summary>Null when there is no queue of that name.</summary>
        public string? QueueUrl { get; internal set; }

        /// <summary>GetQueueAttributes' Attributes.</summary>
        public JsonObject? Attributes { get; internal set; }

        /// <summary>The queue carries the module's tags for this publisher.</summary>
        public bool QueueIsManaged { get; internal set; }

        /// <summary>The mapping from the queue of that name to the function of the publisher's name.</summary>
        public JsonObject? Mapping { get; internal set; }

        /// <summary>The mapping joins the module's function to the module's queue (or to a queue of its name that is gone).</summary>
        public bool MappingIsManaged { get; internal set; }
    }

    /// <summary>Reads, installs and removes a sub-minute publisher's sample queue and its event source mapping, and
    /// gives the role the few SQS actions they need. A queue is the module's when it has the exact name and carries the
    /// module's tags for the publisher; a mapping when it joins that queue to the module's function.</summary>
    internal sealed class PublisherQueuePlan
    {
        private static readonly TimeSpan RolePropagation = TimeSpan.FromSeconds(90);
        private static readonly HashSet<string> RunningMappingStates = new HashSet<string>(StringComparer.Ordinal) { "Creating", "Enabling", "Enabled", "Updating" };
        private readonly AwsContext _aws;

        public PublisherQueuePlan(AwsContext aws)
        {
            _aws = aws;
        }

        public static async Task<SampleQueueState> ReadAsync(AwsContext aws, PublisherState state, IEngineLog log, CancellationToken ct)
        {
            string name = SampleChain.QueueName(state.Name);
            var queue = new SampleQueueState { QueueName = name, QueueArn = state.Arn("sqs", state.Region, name) };
            try
            {
                queue.QueueUrl = (string?)(await aws.InvokeAsync(AwsOperations.Sqs.GetQueueUrl, new JsonObject { ["QueueName"] = name }, log, ct).ConfigureAwait(false))?["QueueUrl"];
            }
            catch (AwsApiException e) when (e.Kind == AwsErrorKind.NotFound)
            {
                queue.QueueUrl = null;
            }
            if (queue.QueueUrl != null)
            {
                JsonNode? attributes = await aws.InvokeAsync(AwsOperations.Sqs.GetQueueAttributes, new JsonObject { ["QueueUrl"] = queue.QueueUrl, ["AttributeNames"] = new JsonArray("All") }, log, ct).ConfigureAwait(false);
                queue.Attributes = attributes?["Attributes"] as JsonObject ?? new JsonObject();
                if ((string?)queue.Attributes["QueueArn"] is string arn && arn.Length > 0) queue.QueueArn = arn;
                JsonNode? tags = await aws.InvokeAsync(AwsOperations.Sqs.ListQueueTags, new JsonObject { ["QueueUrl"] = queue.QueueUrl }, log, ct).ConfigureAwait(false);
                queue.QueueIsManaged = PublisherReader.TagsNamePublisher(tags?["Tags"], state.Name);
            }
            if (state.Function != null)
            {
                // Both filters: at most a mapping or two, one page.
                JsonNode? mappings = await aws.InvokeAsync(AwsOperations.Lambda.ListEventSourceMappings, new JsonObject
                {
                    ["FunctionName"] = state.Names.FunctionName,
                    ["EventSourceArn"] = queue.QueueArn,
                    ["MaxItems"] = 100,
                }, log, ct).ConfigureAwait(false);
                queue.Mapping = (mappings?["EventSourceMappings"] as JsonArray)?.OfType<JsonObject>()
                    .FirstOrDefault(m => (string?)m["EventSourceArn"] == queue.QueueArn && (string?)m["FunctionArn"] == state.FunctionArn);
                queue.MappingIsManaged = queue.Mapping != null && state.FunctionIsManaged && (queue.QueueUrl == null || queue.QueueIsManaged);
            }
            return queue;
        }

        /// <summary>A queue of the name that the module did not make, when the spec needs the queue.</summary>
        public static IEnumerable<string> Taken(PublisherInstallSpec spec, PublisherState current)
        {
            SampleQueueState queue = current.SampleQueue;
            if (SampleChain.IsChained(spec.Configuration) && queue.QueueUrl != null && !queue.QueueIsManaged)
                yield return "SQS queue " + queue.QueueName;
        }

        /// <summary>The queue's attributes: a message lives a minute (its delay included), is hidden for the function's
        /// timeout once received (Lambda wants at least that), and is delayed per message, not by the queue.</summary>
        public static Dictionary<string, string> WantedAttributes(PublisherInstallSpec spec) => new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DelaySeconds"] = "0",
            ["MessageRetentionPeriod"] = SampleChain.RetentionSeconds.ToString(CultureInfo.InvariantCulture),
            ["VisibilityTimeout"] = spec.Timeout.ToString(CultureInfo.InvariantCulture),
        };

        /// <summary>After the function: the queue and the mapping a sub-minute publisher needs, or the removal of the
        /// module's own when it samples once a minute now.</summary>
        public List<AwsChange> PlanInstall(PublisherInstallSpec spec, PublisherState current)
        {
            var changes = new List<AwsChange>();
            SampleQueueState queue = current.SampleQueue;
            if (!SampleChain.IsChained(spec.Configuration))
            {
                changes.AddRange(PlanUninstall(current));
                return changes;
            }

            Dictionary<string, string> wanted = WantedAttributes(spec);
            if (queue.QueueUrl == null)
            {
                changes.Add(new AwsChange(queue.QueueName, "Create SQS queue for the delayed samples (" + SampleChain.RetentionSeconds + " s retention)", (log, ct) =>
                    _aws.InvokeAsync(AwsOperations.Sqs.CreateQueue, new JsonObject
                    {
                        ["QueueName"] = queue.QueueName,
                        ["Attributes"] = Map(wanted),
                        ["tags"] = Map(spec.AllTags()),
                    }, log, ct)));
            }
            else if (wanted.Any(a => (string?)queue.Attributes?[a.Key] != a.Value))
            {
                string url = queue.QueueUrl;
                changes.Add(new AwsChange(queue.QueueName, "Update the SQS queue's retention and visibility timeout", (log, ct) =>
                    _aws.InvokeAsync(AwsOperations.Sqs.SetQueueAttributes, new JsonObject { ["QueueUrl"] = url, ["Attributes"] = Map(wanted) }, log, ct)));
            }

            JsonObject? mapping = queue.Mapping;
            if (mapping == null)
            {
                changes.Add(new AwsChange(queue.QueueName, "Let the queue invoke the function, one sample at a time (Lambda event source mapping)", (log, ct) =>
                    CreateMappingAsync(spec.Names.FunctionName, queue.QueueArn, spec.RoleArn == null, log, ct)));
            }
            else if ((int?)mapping["BatchSize"] != 1 || !RunningMappingStates.Contains((string?)mapping["State"] ?? string.Empty))
            {
                string uuid = (string?)mapping["UUID"] ?? string.Empty;
                changes.Add(new AwsChange(queue.QueueName, "Update the event source mapping (enabled, one sample at a time)", (log, ct) =>
                    _aws.InvokeAsync(AwsOperations.Lambda.UpdateEventSourceMapping, new JsonObject { ["UUID"] = uuid, ["Enabled"] = true, ["BatchSize"] = 1 }, log, ct)));
            }
            return changes;
        }

        /// <summary>Removes the module's mapping, then its queue; anything else of those names is left alone.</summary>
        public List<AwsChange> PlanUninstall(PublisherState current)
        {
            var changes = new List<AwsChange>();
            SampleQueueState queue = current.SampleQueue;
            if (queue.Mapping != null && queue.MappingIsManaged)
            {
                string uuid = (string?)queue.Mapping["UUID"] ?? string.Empty;
                changes.Add(new AwsChange(queue.QueueName, "Delete the event source mapping from the sample queue to the function", (log, ct) =>
                    _aws.InvokeAsync(AwsOperations.Lambda.DeleteEventSourceMapping, new JsonObject { ["UUID"] = uuid }, log, ct)));
            }
            if (queue.QueueUrl != null && queue.QueueIsManaged)
            {
                string url = queue.QueueUrl;
                changes.Add(new AwsChange(queue.QueueArn, "Delete SQS queue", (log, ct) =>
                    _aws.InvokeAsync(AwsOperations.Sqs.DeleteQueue, new JsonObject { ["QueueUrl"] = url }, log, ct)));
            }
            return changes;
        }

        /// <summary>Send to its own queue (GetQueueUrl once per warm function), and what the event source mapping
        /// does with the function's role: receive, delete and read the attributes of that queue only.</summary>
        public static IEnumerable<JsonObject> Statements(PublisherInstallSpec spec, PublisherState at)
        {
            if (!SampleChain.IsChained(spec.Configuration)) yield break;
            string queueArn = at.Arn("sqs", at.Region, SampleChain.QueueName(spec.Name));
            yield return new JsonObject
            {
                ["Sid"] = "ChainSamples",
                ["Effect"] = "Allow",
                ["Action"] = new JsonArray("sqs:GetQueueUrl", "sqs:SendMessage"),
                ["Resource"] = queueArn,
            };
            yield return new JsonObject
            {
                ["Sid"] = "ReceiveChainedSamples",
                ["Effect"] = "Allow",
                ["Action"] = new JsonArray("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
                ["Resource"] = queueArn,
            };
        }

        /// <summary>What keeps the chain from running, for Get-PrefectBacklogPublisher.</summary>
        public static IEnumerable<string> Problems(PublisherState state, PublisherConfiguration? configuration)
        {
            SampleQueueState queue = state.SampleQueue;
            if (configuration == null || !state.FunctionIsManaged) yield break;
            string only = ": only the first sample of each minute is published.";
            if (!SampleChain.IsChained(configuration))
            {
                if (queue.QueueUrl != null && queue.QueueIsManaged) yield return "The SQS queue " + queue.QueueName + " is left from sub-minute sampling; Install-PrefectBacklogPublisher again removes it.";
                yield break;
            }
            string? variable = (string?)state.Function?["Configuration"]?["Environment"]?["Variables"]?[SampleChain.QueueVariable];
            if (variable != queue.QueueName) yield return "The function does not name its sample queue " + queue.QueueName + " (" + SampleChain.QueueVariable + ")" + only;
            if (queue.QueueUrl == null) yield return "The SQS queue " + queue.QueueName + " is missing" + only;
            else if (!queue.QueueIsManaged) yield break; // listed among the parts that are not the module's
            else if (queue.Mapping == null) yield return "The SQS queue " + queue.QueueName + " does not invoke the function (no event source mapping)" + only;
            else if (!RunningMappingStates.Contains((string?)queue.Mapping["State"] ?? string.Empty)) yield return "The event source mapping from " + queue.QueueName + " is " + (string?)queue.Mapping["State"] + only;
        }

        // Lambda checks that the function's role may receive from the queue before it creates the mapping, and the
        // statements the installer has just put on its own role can take IAM some seconds to show.
        private async Task<JsonNode?> CreateMappingAsync(string functionName, string queueArn, bool roleIsTheModules, IEngineLog log, CancellationToken ct)
        {
            DateTime giveUp = DateTime.UtcNow + (roleIsTheModules ? RolePropagation : TimeSpan.Zero);
            while (true)
            {
                try
                {
                    return await _aws.InvokeAsync(AwsOperations.Lambda.CreateEventSourceMapping, new JsonObject
                    {
                        ["FunctionName"] = functionName,
                        ["EventSourceArn"] = queueArn,
                        ["BatchSize"] = 1,
                        ["Enabled"] = true,
                    }, log, ct).ConfigureAwait(false);
                }
                catch (AwsApiException e) when (e.Kind == AwsErrorKind.Validation && e.Message.IndexOf("permission", StringComparison.OrdinalIgnoreCase) >= 0 && DateTime.UtcNow < giveUp)
                {
                    log.Verbose("Lambda does not see the role's SQS permissions yet; trying again in 5 s.");
                    await Task.Delay(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
                }
            }
        }

        private static JsonObject Map(IReadOnlyDictionary<string, string> values) =>
            new JsonObject(values.Select(v => new KeyValuePair<string, JsonNode?>(v.Key, v.Value)));
    }
}
