using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Metrics
{
    /// <summary>Sends metric data to CloudWatch in as few PutMetricData calls as its limits allow (one namespace
    /// and at most 1,000 data per call).</summary>
    public sealed class MetricPublisher
    {
        private readonly AwsContext _aws;

        public MetricPublisher(AwsContext aws)
        {
            _aws = aws;
        }

        /// <summary>The calls PublishAsync would make, each a list of data.</summary>
        public static IEnumerable<IReadOnlyList<BacklogMetricDatum>> Batches(IEnumerable<BacklogMetricDatum> data) =>
            data.GroupBy(d => d.Namespace, StringComparer.Ordinal)
                .SelectMany(group => group.Select((datum, index) => (datum, index))
                                          .GroupBy(x => x.index / MetricLimits.MaxDataPerCall)
                                          .Select(batch => (IReadOnlyList<BacklogMetricDatum>)batch.Select(x => x.datum).ToList()));

        /// <summary>Publishes every datum; returns the number of PutMetricData calls. A failed call stops the rest
        /// and its error says how much had been published.</summary>
        public async Task<int> PublishAsync(IReadOnlyList<BacklogMetricDatum> data, IEngineLog log, CancellationToken cancellationToken)
        {
            // Every datum before the first call: one out-of-range value would fail its call after others went out.
            foreach (BacklogMetricDatum datum in data) MetricLimits.CheckValue("value of " + datum.MetricName + " {" + datum.DimensionText + "}", datum.Value);
            int calls = 0, published = 0;
            foreach (IReadOnlyList<BacklogMetricDatum> batch in Batches(data))
            {
                try
                {
                    await _aws.InvokeAsync(AwsOperations.CloudWatch.PutMetricData, ToPutMetricData(batch), log, cancellationToken).ConfigureAwait(false);
                }
                catch (AwsApiException e) when (published > 0)
                {
                    throw new AwsApiException(e.Kind, e.Service, e.Operation,
                        e.Message + " " + published + " of " + data.Count + " data had been published before this call; the rest were not.",
                        e.ErrorCode, e.RequestId, e.StatusCode, e);
                }
                calls++;
                published += batch.Count;
                log.Verbose("Published " + batch.Count + " datum(s) to " + batch[0].Namespace + " (" + published + " of " + data.Count + ").");
            }
            return calls;
        }

        /// <summary>ListMetrics pages read at most (500 series each) before the answer is taken as "not listed".</summary>
        public const int MaxListPages = 10;

        /// <summary>Whether CloudWatch lists the metric with exactly these dimensions, which it does only once data
        /// has been published to it (a new metric can take up to 15 minutes to be listed). ListMetrics also answers
        /// series that carry more dimensions than asked (a per-queue series {ClusterName, ServiceName, WorkPool,
        /// WorkQueue} for {ClusterName, ServiceName}), so the answer's dimension sets are compared exactly.</summary>
        public async Task<bool> IsPublishedAsync(string @namespace, string metricName, IReadOnlyList<KeyValuePair<string, string>> dimensions, IEngineLog log, CancellationToken cancellationToken)
        {
            var input = new JsonObject
            {
                ["Namespace"] = @namespace,
                ["MetricName"] = metricName,
                ["Dimensions"] = new JsonArray(dimensions.Select(d => (JsonNode)new JsonObject { ["Name"] = d.Key, ["Value"] = d.Value }).ToArray()),
            };
            for (int page = 0; page < MaxListPages; page++)
            {
                JsonNode? found = await _aws.InvokeAsync(AwsOperations.CloudWatch.ListMetrics, input, log, cancellationToken).ConfigureAwait(false);
                foreach (JsonNode? metric in found?["Metrics"] as JsonArray ?? new JsonArray())
                {
                    if ((string?)metric?["Namespace"] == @namespace && (string?)metric?["MetricName"] == metricName && SameDimensions(metric?["Dimensions"], dimensions))
                        return true;
                }
                string? next = (string?)found?["NextToken"];
                if (string.IsNullOrEmpty(next)) return false;
                input["NextToken"] = next;
            }
            log.Verbose("ListMetrics for " + @namespace + "/" + metricName + " had more than " + MaxListPages + " pages; the exact series was not among them.");
            return false;
        }

        /// <summary>The same set of names and values (CloudWatch tells series apart by it, in any order).</summary>
        private static bool SameDimensions(JsonNode? listed, IReadOnlyList<KeyValuePair<string, string>> wanted)
        {
            List<(string?, string?)> have = (listed as JsonArray ?? new JsonArray()).Select(d => ((string?)d?["Name"], (string?)d?["Value"])).OrderBy(d => d.Item1, StringComparer.Ordinal).ToList();
            List<(string?, string?)> want = wanted.Select(d => ((string?)d.Key, (string?)d.Value)).OrderBy(d => d.Item1, StringComparer.Ordinal).ToList();
            return have.SequenceEqual(want);
        }

        internal static JsonObject ToPutMetricData(IReadOnlyList<BacklogMetricDatum> batch)
        {
            var items = new JsonArray();
            foreach (BacklogMetricDatum datum in batch)
            {
                var dimensions = new JsonArray();
                foreach (KeyValuePair<string, string> d in datum.Dimensions)
                    dimensions.Add(new JsonObject { ["Name"] = d.Key, ["Value"] = d.Value });
                items.Add(new JsonObject
                {
                    ["MetricName"] = datum.MetricName,
                    ["Dimensions"] = dimensions,
                    ["Timestamp"] = datum.Timestamp.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                    ["Value"] = datum.Value,
                    ["Unit"] = datum.Unit,
                    ["StorageResolution"] = datum.StorageResolution,
                });
            }
            return new JsonObject { ["Namespace"] = batch[0].Namespace, ["MetricData"] = items };
        }
    }
}
