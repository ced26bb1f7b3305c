using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Scaling
{
    /// <summary>The names of the account's ECS clusters and services, for tab completion: a few pages at most, so
    /// a large account answers with its first thousand names instead of making the user wait.</summary>
    public static class EcsServiceNames
    {
        private const int MaxPages = 10;

        /// <summary>ListClusters, as names (the part of each ARN after cluster/).</summary>
        public static Task<IReadOnlyList<string>> ListClustersAsync(AwsContext aws, IEngineLog log, CancellationToken cancellationToken) =>
            ListAsync(aws, AwsOperations.Ecs.ListClusters, new JsonObject(), "clusterArns", log, cancellationToken);

        /// <summary>ListServices of one cluster (null: the default cluster, as ECS takes it), as names.</summary>
        public static Task<IReadOnlyList<string>> ListServicesAsync(AwsContext aws, string? cluster, IEngineLog log, CancellationToken cancellationToken)
        {
            var input = new JsonObject();
            if (!string.IsNullOrEmpty(cluster)) input["cluster"] = cluster;
            return ListAsync(aws, AwsOperations.Ecs.ListServices, input, "serviceArns", log, cancellationToken);
        }

        private static async Task<IReadOnlyList<string>> ListAsync(AwsContext aws, AwsOperation operation, JsonObject input, string arnsMember, IEngineLog log, CancellationToken cancellationToken)
        {
            if (aws == null) throw new ArgumentNullException(nameof(aws));
            var names = new List<string>();
            input["maxResults"] = 100;
            for (int page = 0; page < MaxPages; page++)
            {
                JsonNode? answer = await aws.InvokeAsync(operation, input, log, cancellationToken).ConfigureAwait(false);
                foreach (JsonNode? arn in answer?[arnsMember] as JsonArray ?? new JsonArray())
                {
                    // arn:aws:ecs:<region>:<account>:cluster/<name>, service/<cluster>/<name> or the older service/<name>.
                    string? text = (string?)arn;
                    if (!string.IsNullOrEmpty(text)) names.Add(text!.Substring(text.LastIndexOf('/') + 1));
                }
                string? next = (string?)answer?["nextToken"];
                if (string.IsNullOrEmpty(next)) break;
                input["nextToken"] = next;
            }
            return names.Distinct(StringComparer.Ordinal).ToList();
        }
    }
}
