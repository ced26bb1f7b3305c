using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Scaling
{
    /// <summary>Whether the cluster can place the tasks a scaling policy would add: more agents need somewhere to
    /// run. Fargate (and capacity providers with managed scaling) grow with the service; EC2 capacity without such a
    /// provider does not, and then the room left on the registered container instances is all there is.</summary>
    public static class ClusterCapacityCheck
    {
        private const int PageSize = 100;

        /// <summary>Warnings for Set-PrefectEcsScalingPolicy (empty when the cluster can grow or hold the maximum). Reads
        /// ECS DescribeServices, and as needed DescribeClusters, DescribeCapacityProviders, ListContainerInstances,
        /// DescribeContainerInstances and DescribeTaskDefinition. Advice, never a failure: when these cannot be read
        /// the one warning says so and why.</summary>
        public static async Task<IReadOnlyList<string>> WarningsAsync(AwsContext aws, string cluster, string service, int maxCapacity, IEngineLog log, CancellationToken ct)
        {
            try
            {
                JsonNode? services = await aws.InvokeAsync(AwsOperations.Ecs.DescribeServices,
                    new JsonObject { ["cluster"] = cluster, ["services"] = new JsonArray(service) }, log, ct).ConfigureAwait(false);
                JsonObject? found = (services?["services"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(s => (string?)s["status"] != "INACTIVE");
                if (found == null) return Array.Empty<string>();

                JsonObject? clusterAnswer = null;
                if (Strategy(found).Count == 0 && string.IsNullOrEmpty((string?)found["launchType"]))
                {
                    JsonNode? clusters = await aws.InvokeAsync(AwsOperations.Ecs.DescribeClusters, new JsonObject { ["clusters"] = new JsonArray(cluster) }, log, ct).ConfigureAwait(false);
                    clusterAnswer = (clusters?["clusters"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault();
                }
                List<string> providerNames = ProvidersOf(found, clusterAnswer).Where(p => !IsFargate(p)).ToList();
                var providers = new List<JsonObject>();
                if (providerNames.Count > 0)
                {
                    JsonNode? described = await aws.InvokeAsync(AwsOperations.Ecs.DescribeCapacityProviders,
                        new JsonObject { ["capacityProviders"] = new JsonArray(providerNames.Select(p => (JsonNode?)JsonValue.Create(p)).ToArray()) }, log, ct).ConfigureAwait(false);
                    providers.AddRange((described?["capacityProviders"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>());
                }

                Placement placement = PlacementOf(found, clusterAnswer, providers);
                if (!placement.FixedCapacity) return Array.Empty<string>();

                var instances = new List<JsonObject>();
                foreach (List<string> page in await ContainerInstancePagesAsync(aws, cluster, log, ct).ConfigureAwait(false))
                {
                    JsonNode? described = await aws.InvokeAsync(AwsOperations.Ecs.DescribeContainerInstances, new JsonObject
                    {
                        ["cluster"] = cluster,
                        ["containerInstances"] = new JsonArray(page.Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()),
                    }, log, ct).ConfigureAwait(false);
                    instances.AddRange((described?["containerInstances"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>());
                }
                JsonObject? taskDefinition = null;
                if ((string?)found["taskDefinition"] is string definition)
                {
                    JsonNode? answer = await aws.InvokeAsync(AwsOperations.Ecs.DescribeTaskDefinition, new JsonObject { ["taskDefinition"] = definition }, log, ct).ConfigureAwait(false);
                    taskDefinition = answer?["taskDefinition"] as JsonObject;
                }
                return Evaluate(cluster, service, maxCapacity, found, placement, instances, taskDefinition);
            }
            catch (AwsApiException e)
            {
                return new[] { "Could not check whether cluster " + cluster + " can place the tasks " + service + " may scale out to (" + e.Message + ")." };
            }
        }

        /// <summary>How the service's tasks are placed: on capacity that grows with it, or on fixed EC2 (or external)
        /// capacity, with the reason.</summary>
        public sealed class Placement
        {
            public Placement(bool fixedCapacity, string reason)
            {
                FixedCapacity = fixedCapacity;
                Reason = reason;
            }

            public bool FixedCapacity { get; }
            public string Reason { get; }
        }

        /// <summary>The service's capacity provider strategy, else its launch type, else the cluster's default strategy,
        /// else EC2 (ECS's default launch type). Fargate grows by itself, a provider only with managed scaling on.</summary>
        public static Placement PlacementOf(JsonObject service, JsonObject? cluster, IReadOnlyList<JsonObject> providers)
        {
            List<string> names = ProvidersOf(service, cluster);
            string? launchType = (string?)service["launchType"];
            if (names.Count == 0)
            {
                if (launchType == "FARGATE") return new Placement(false, "Fargate");
                return new Placement(true, launchType == "EXTERNAL" ? "external instances (ECS Anywhere)" : "the EC2 launch type, without a capacity provider");
            }
            var fixedProviders = new List<string>();
            foreach (string name in names.Where(n => !IsFargate(n)))
            {
                JsonObject? provider = providers.FirstOrDefault(p => (string?)p["name"] == name || (string?)p["capacityProviderArn"] == name);
                string? scaling = (string?)provider?["autoScalingGroupProvider"]?["managedScaling"]?["status"];
                if (scaling != "ENABLED") fixedProviders.Add(name);
            }
            return fixedProviders.Count == 0
                ? new Placement(false, "capacity providers that scale")
                : new Placement(true, (fixedProviders.Count == 1 ? "the capacity provider " : "the capacity providers ") + string.Join(", ", fixedProviders) + " without managed scaling");
        }

        /// <summary>The warnings for fixed capacity: that it does not grow, and, when the maximum needs more than the
        /// registered container instances have left, how many tasks fit.</summary>
        public static IReadOnlyList<string> Evaluate(string cluster, string service, int maxCapacity, JsonObject serviceAnswer, Placement placement,
            IReadOnlyList<JsonObject> containerInstances, JsonObject? taskDefinition)
        {
            if (!placement.FixedCapacity) return Array.Empty<string>();
            var warnings = new List<string>();
            int placed = Number(serviceAnswer["runningCount"]) + Number(serviceAnswer["pendingCount"]);
            int toAdd = Math.Max(0, maxCapacity - placed);
            List<JsonObject> active = containerInstances.Where(i => ((string?)i["status"] ?? "ACTIVE") == "ACTIVE").ToList();
            string grow = "Service " + service + " runs on " + placement.Reason + ": cluster " + cluster + " does not grow when the service scales out, " +
                          "so tasks beyond what its container instances hold stay PENDING. Use a capacity provider with managed scaling, or Fargate.";
            if (active.Count == 0)
            {
                warnings.Add(grow + " It has no active container instance now: no task can be placed.");
                return warnings;
            }
            (int cpu, int memory) = Reservation(taskDefinition);
            if (cpu == 0 && memory == 0)
            {
                warnings.Add(grow + " The task definition reserves no CPU or memory, so how many tasks fit is not known.");
                return warnings;
            }
            int room = active.Sum(i => Fits(Remaining(i, "CPU"), cpu, Remaining(i, "MEMORY"), memory));
            warnings.Add(grow + " Its " + active.Count + " container instance(s) have room for " + room + " more task(s) now, shared with every other service on the cluster.");
            if (toAdd > room)
            {
                warnings.Add("-MaxCapacity " + maxCapacity + " may not fit in cluster " + cluster + ": it would add up to " + toAdd + " task(s) to the " + placed + " placed, " +
                             "but the container instances have room for " + room + " more of " + Describe(taskDefinition, cpu, memory) + ". Add instances or lower -MaxCapacity.");
            }
            return warnings;
        }

        /// <summary>What one task reserves on an instance: the task-level cpu and memory when set, else the sum of its
        /// containers' cpu and memoryReservation (or memory).</summary>
        public static (int Cpu, int Memory) Reservation(JsonObject? taskDefinition)
        {
            if (taskDefinition == null) return (0, 0);
            JsonArray containers = taskDefinition["containerDefinitions"] as JsonArray ?? new JsonArray();
            int cpu = Number(taskDefinition["cpu"]);
            if (cpu == 0) cpu = containers.Sum(c => Number(c?["cpu"]));
            int memory = Number(taskDefinition["memory"]);
            if (memory == 0) memory = containers.Sum(c => Number(c?["memoryReservation"]) is int reservation && reservation > 0 ? reservation : Number(c?["memory"]));
            return (cpu, memory);
        }

        private static int Fits(int remainingCpu, int cpu, int remainingMemory, int memory)
        {
            int byCpu = cpu > 0 ? remainingCpu / cpu : int.MaxValue;
            int byMemory = memory > 0 ? remainingMemory / memory : int.MaxValue;
            return Math.Max(0, Math.Min(byCpu, byMemory));
        }

        private static int Remaining(JsonObject instance, string resource) =>
            Number((instance["remainingResources"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(r => (string?)r["name"] == resource)?["integerValue"]);

        private static string Describe(JsonObject? taskDefinition, int cpu, int memory)
        {
            string name = (string?)taskDefinition?["family"] is string family ? family + ":" + Number(taskDefinition!["revision"]).ToString(CultureInfo.InvariantCulture) : "the task definition";
            var parts = new List<string>();
            if (cpu > 0) parts.Add(cpu.ToString(CultureInfo.InvariantCulture) + " CPU units");
            if (memory > 0) parts.Add(memory.ToString(CultureInfo.InvariantCulture) + " MiB");
            return name + " (" + string.Join(", ", parts) + " each)";
        }

        private static List<string> Strategy(JsonObject? holder) =>
            ((holder?["capacityProviderStrategy"] ?? holder?["defaultCapacityProviderStrategy"]) as JsonArray)?.OfType<JsonObject>()
                .Select(s => (string?)s["capacityProvider"]).Where(p => !string.IsNullOrEmpty(p)).Select(p => p!).ToList() ?? new List<string>();

        private static List<string> ProvidersOf(JsonObject service, JsonObject? cluster)
        {
            List<string> own = Strategy(service);
            if (own.Count > 0 || !string.IsNullOrEmpty((string?)service["launchType"])) return own;
            return Strategy(cluster);
        }

        private static bool IsFargate(string provider) => provider == "FARGATE" || provider == "FARGATE_SPOT";

        private static async Task<List<List<string>>> ContainerInstancePagesAsync(AwsContext aws, string cluster, IEngineLog log, CancellationToken ct)
        {
            var pages = new List<List<string>>();
            string? token = null;
            do
            {
                var input = new JsonObject { ["cluster"] = cluster, ["status"] = "ACTIVE", ["maxResults"] = PageSize };
                if (token != null) input["nextToken"] = token;
                JsonNode? page = await aws.InvokeAsync(AwsOperations.Ecs.ListContainerInstances, input, log, ct).ConfigureAwait(false);
                List<string> arns = (page?["containerInstanceArns"] as JsonArray)?.Select(a => (string?)a).Where(a => a != null).Select(a => a!).ToList() ?? new List<string>();
                if (arns.Count > 0) pages.Add(arns);
                token = (string?)page?["nextToken"];
            }
            while (!string.IsNullOrEmpty(token) && pages.Count < 100);
            return pages;
        }

        private static int Number(JsonNode? node) =>
            node is JsonValue value && (value.TryGetValue(out int i) || (value.TryGetValue(out string? s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out i))) ? i : 0;
    }
}
