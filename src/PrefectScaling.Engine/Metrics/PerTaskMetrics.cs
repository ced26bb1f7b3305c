using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Metrics
{
    /// <summary>The service's desired task count, which a binding publishes beside its backlog
    /// (<see cref="Bindings.BindingData"/>): backlog per task is metric math over the two. <see cref="Derive"/> is the
    /// per-queue per-task data a publisher of the first kind still writes.</summary>
    public static class PerTaskMetrics
    {
        /// <summary>ECS DescribeServices: the service's desired task count.</summary>
        public static async Task<int> ReadDesiredCountAsync(AwsContext aws, string cluster, string service, IEngineLog log, CancellationToken cancellationToken)
        {
            var input = new JsonObject { ["cluster"] = cluster, ["services"] = new JsonArray(service) };
            JsonNode? answer = await aws.InvokeAsync(AwsOperations.Ecs.DescribeServices, input, log, cancellationToken).ConfigureAwait(false);
            JsonNode? found = (answer?["services"] as JsonArray)?.FirstOrDefault(s => (string?)s?["status"] != "INACTIVE");
            if (found == null)
            {
                throw new AwsApiException(AwsErrorKind.NotFound, "ECS", "DescribeServices",
                    "ECS service '" + service + "' was not found in cluster '" + cluster + "' (region " + aws.Region + ").", "ServiceNotFoundException");
            }
            return (int?)found["desiredCount"] ?? 0;
        }

        /// <summary>The per-task data for the given backlog data, plus the desired-task datum.</summary>
        public static List<BacklogMetricDatum> Derive(IReadOnlyList<BacklogMetricDatum> backlog, BacklogMetricOptions options, string cluster, string service, int desiredTasks, DateTime nowUtc)
        {
            var derived = new List<BacklogMetricDatum>();
            foreach (BacklogMetricDatum datum in backlog)
            {
                var dimensions = BacklogMetricOptions.ServiceDimensions(cluster, service);
                dimensions.AddRange(datum.Dimensions);
                derived.Add(new BacklogMetricDatum
                {
                    Namespace = datum.Namespace,
                    MetricName = datum.MetricName + "PerTask",
                    Dimensions = dimensions,
                    Value = desiredTasks > 0 ? datum.Value / desiredTasks : datum.Value,
                    Timestamp = datum.Timestamp,
                    StorageResolution = datum.StorageResolution,
                });
            }
            derived.Add(new BacklogMetricDatum
            {
                Namespace = options.Namespace,
                MetricName = BacklogMetricOptions.DesiredTasksMetricName,
                Dimensions = BacklogMetricOptions.ServiceDimensions(cluster, service),
                Value = desiredTasks,
                Timestamp = nowUtc,
                StorageResolution = options.StorageResolution,
            });
            return derived;
        }
    }
}
