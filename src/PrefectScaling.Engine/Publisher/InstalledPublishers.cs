using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Publisher
{
    /// <summary>The names of the publishers installed in a region, for tab completion: the Lambda functions that run
    /// the publisher's handler. A few pages at most.</summary>
    public static class InstalledPublishers
    {
        private const int MaxPages = 10;

        public static async Task<IReadOnlyList<string>> ListNamesAsync(AwsContext aws, IEngineLog log, CancellationToken cancellationToken)
        {
            if (aws == null) throw new ArgumentNullException(nameof(aws));
            var names = new List<string>();
            var input = new JsonObject { ["MaxItems"] = 50 };
            for (int page = 0; page < MaxPages; page++)
            {
                JsonNode? answer = await aws.InvokeAsync(AwsOperations.Lambda.ListFunctions, input, log, cancellationToken).ConfigureAwait(false);
                foreach (JsonNode? function in answer?["Functions"] as JsonArray ?? new JsonArray())
                {
                    if ((string?)function?["Handler"] == PublisherInstallSpec.Handler && (string?)function?["FunctionName"] is string name)
                        names.Add(name);
                }
                string? next = (string?)answer?["NextMarker"];
                if (string.IsNullOrEmpty(next)) break;
                input["Marker"] = next;
            }
            return names.Distinct(StringComparer.Ordinal).ToList();
        }
    }
}
