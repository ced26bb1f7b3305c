using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;
using PrefectScaling.Bindings;
using PrefectScaling.Metrics;
using PrefectScaling.Scaling;

namespace PrefectScaling.Publisher
{
    /// <summary>What the dashboard shows of one binding beyond its own series, read from AWS when Install plans.</summary>
    public sealed class DashboardBindingFacts
    {
        public DashboardBindingFacts(ServiceBinding binding, bool containerInsights, IReadOnlyList<string> alarmArns)
        {
            Binding = binding;
            ContainerInsights = containerInsights;
            AlarmArns = alarmArns;
        }

        public ServiceBinding Binding { get; }

        /// <summary>Container Insights is on for the cluster: ECS/ContainerInsights has the service's running and
        /// desired task counts (AWS/ECS has no task counts).</summary>
        public bool ContainerInsights { get; }

        /// <summary>The alarms of the module's scaling policies on the service: its own step and wake alarms and those
        /// AWS made for its target-tracking policies.</summary>
        public IReadOnlyList<string> AlarmArns { get; }
    }

    /// <summary>The publisher's CloudWatch dashboard: per binding, the backlog by measure, the service's desired and
    /// running tasks and its scaling alarms' states; then the function's errors and duration. Install puts it when
    /// its body differs from what GetDashboard answers, Uninstall deletes it. Dashboards carry no tags in every API, so
    /// ownership is proven by the body: a text widget with the line <see cref="Marker"/> naming this publisher. A
    /// dashboard of the publisher's name without it is somebody else's and is never changed or deleted.</summary>
    public static class PublisherDashboard
    {
        /// <summary>CloudWatch's quotas per dashboard (cloudwatch_limits in the CloudWatch user guide).</summary>
        public const int MaxWidgets = 500;
        public const int MaxMetrics = 2500;
        /// <summary>An alarm widget shows 1 to 100 alarms.</summary>
        public const int MaxAlarmsPerWidget = 100;

        private const int FixedWidgets = 3;
        private const int WidgetsPerBinding = 3;
        private const int RowHeight = 6;
        private const int HeaderHeight = 3;

        /// <summary>The most bindings one dashboard shows within <see cref="MaxWidgets"/>.</summary>
        public const int MaxBindings = (MaxWidgets - FixedWidgets) / WidgetsPerBinding;

        /// <summary>The dashboard's name: the publisher's (the function's and the rule's too).</summary>
        public static string NameOf(PublisherNames names) => names.Name;

        /// <summary>The line that proves the module made the dashboard for this publisher.</summary>
        public static string Marker(string publisher) => "Managed by PrefectScaling: publisher " + publisher;

        /// <summary>The body names this publisher in its marker line: the module made it.</summary>
        public static bool IsOwned(string? body, string publisher)
        {
            if (string.IsNullOrEmpty(body)) return false;
            JsonNode? parsed;
            try { parsed = JsonNode.Parse(body!); }
            catch (JsonException) { return false; }
            string marker = Marker(publisher);
            return (parsed?["widgets"] as JsonArray)?.OfType<JsonObject>().Any(w => (string?)w["type"] == "text" &&
                w["properties"]?["markdown"] is JsonValue text && text.TryGetValue(out string? markdown) &&
                markdown!.Split('\n').Any(line => line.TrimEnd('\r') == marker)) ?? false;
        }

        /// <summary>Reads the dashboard of the publisher's name into the state, and, for the bindings Install was given,
        /// what its body shows beyond their own series (<see cref="DashboardBindingFacts"/>).</summary>
        internal static async Task ReadAsync(AwsContext aws, PublisherState state, IReadOnlyList<ServiceBinding>? bindings, IEngineLog log, CancellationToken ct)
        {
            try
            {
                JsonNode? dashboard = await aws.InvokeAsync(AwsOperations.CloudWatch.GetDashboard, new JsonObject { ["DashboardName"] = NameOf(state.Names) }, log, ct).ConfigureAwait(false);
                state.DashboardBody = (string?)dashboard?["DashboardBody"] ?? string.Empty;
            }
            catch (AwsApiException e) when (e.Kind == AwsErrorKind.NotFound)
            {
                state.DashboardBody = null;
            }
            state.DashboardIsManaged = IsOwned(state.DashboardBody, state.Name);
            if (bindings != null) state.DashboardFacts = await ReadFactsAsync(aws, bindings, log, ct).ConfigureAwait(false);
        }

        /// <summary>ECS DescribeClusters (100 clusters a call) for Container Insights, and each service's scaling as
        /// Get-PrefectEcsScalingPolicy reads it for the alarms.</summary>
        public static async Task<List<DashboardBindingFacts>> ReadFactsAsync(AwsContext aws, IReadOnlyList<ServiceBinding> bindings, IEngineLog log, CancellationToken ct)
        {
            var insights = new HashSet<string>(StringComparer.Ordinal);
            List<string> clusters = bindings.Select(b => b.Cluster).Distinct(StringComparer.Ordinal).ToList();
            for (int i = 0; i < clusters.Count; i += 100)
            {
                JsonNode? answer = await aws.InvokeAsync(AwsOperations.Ecs.DescribeClusters, new JsonObject
                {
                    ["clusters"] = new JsonArray(clusters.Skip(i).Take(100).Select(c => (JsonNode?)JsonValue.Create(c)).ToArray()),
                    ["include"] = new JsonArray("SETTINGS"),
                }, log, ct).ConfigureAwait(false);
                foreach (JsonObject cluster in (answer?["clusters"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                {
                    if (ContainerInsightsOn(cluster) && (string?)cluster["clusterName"] is string name) insights.Add(name);
                }
            }

            var planner = new EcsScalingPlanner(aws);
            var facts = new List<DashboardBindingFacts>();
            foreach (ServiceBinding binding in bindings)
            {
                EcsScalingState scaling = await planner.ReadAsync(binding.Cluster, binding.Service, log, ct).ConfigureAwait(false);
                facts.Add(new DashboardBindingFacts(binding, insights.Contains(binding.Cluster), AlarmArns(scaling)));
            }
            return facts;
        }

        /// <summary>containerInsights is "enabled", or "enhanced" (which also publishes the service counts).</summary>
        internal static bool ContainerInsightsOn(JsonObject cluster) =>
            (cluster["settings"] as JsonArray)?.OfType<JsonObject>().Any(s => (string?)s["name"] == "containerInsights" &&
                ((string?)s["value"] == "enabled" || (string?)s["value"] == "enhanced")) ?? false;

        /// <summary>The module's own alarms, then those DescribeScalingPolicies lists for the module's policies (AWS's
        /// target-tracking alarms), each once, in a stable order.</summary>
        internal static List<string> AlarmArns(EcsScalingState scaling)
        {
            var arns = new List<string>();
            foreach (JsonObject alarm in scaling.Alarms.OrderBy(a => (string?)a["AlarmName"], StringComparer.Ordinal))
                if ((string?)alarm["AlarmArn"] is string arn && !arns.Contains(arn)) arns.Add(arn);
            foreach (JsonObject policy in scaling.Policies.OrderBy(p => (string?)p["PolicyName"], StringComparer.Ordinal))
            {
                foreach (JsonObject alarm in ((policy["Alarms"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>()).OrderBy(a => (string?)a["AlarmName"], StringComparer.Ordinal))
                    if ((string?)alarm["AlarmARN"] is string arn && !arns.Contains(arn)) arns.Add(arn);
            }
            return arns;
        }

        /// <summary>The dashboard body for the spec, in the region, with the facts read for its bindings.</summary>
        public static JsonObject Body(PublisherInstallSpec spec, string region, IReadOnlyList<DashboardBindingFacts> facts)
        {
            PublisherConfiguration configuration = spec.Configuration;
            // In the order of the services, however the bindings were given: the same bindings give the same body.
            IReadOnlyList<ServiceBinding> bindings = configuration.Bindings.OrderBy(b => b.ResourceId, StringComparer.Ordinal).ToList();
            int shown = Math.Min(bindings.Count, MaxBindings);
            int period = Period(configuration);
            string function = spec.Names.FunctionName;

            var header = new List<string>
            {
                "## Prefect backlog publisher " + spec.Name,
                bindings.Count == 0
                    ? "The publisher's errors and duration. It publishes per-queue series and has no service bindings."
                    : "Per service: its Prefect backlog by measure, its tasks and its scaling alarms; then the publisher's errors and duration.",
            };
            if (shown < bindings.Count)
                header.Add("**" + (bindings.Count - shown) + " of " + bindings.Count + " bindings are not shown**: a dashboard holds at most " + MaxWidgets + " widgets.");
            header.Add("Install-PrefectBacklogPublisher replaces changes made here; Uninstall-PrefectBacklogPublisher deletes it.");
            header.Add(string.Empty);
            header.Add(Marker(spec.Name));

            var widgets = new JsonArray
            {
                Widget("text", 0, 0, 24, HeaderHeight, new JsonObject { ["markdown"] = string.Join("\n", header) }),
                Widget("metric", 0, HeaderHeight, 12, RowHeight, MetricProperties("Publisher errors", region, "Sum", 60,
                    Row(new MetricSeries("AWS/Lambda", "Errors", Dimension("FunctionName", function)), "Errors"))),
                Widget("metric", 12, HeaderHeight, 12, RowHeight, MetricProperties("Publisher duration (ms)", region, "Average", 60,
                    Row(new MetricSeries("AWS/Lambda", "Duration", Dimension("FunctionName", function)), "Average"),
                    Row(new MetricSeries("AWS/Lambda", "Duration", Dimension("FunctionName", function)), "Maximum", "Maximum"))),
            };

            for (int i = 0; i < shown; i++)
            {
                ServiceBinding binding = bindings[i];
                DashboardBindingFacts fact = facts.FirstOrDefault(f => f.Binding.ResourceId == binding.ResourceId)
                    ?? throw new InvalidOperationException("The dashboard of " + spec.Name + " needs what AWS holds for " + binding.ResourceId + "; read the publisher with its bindings first.");
                int y = HeaderHeight + RowHeight * (i + 1);
                string service = binding.Cluster + "/" + binding.Service;

                var backlog = configuration.Measures.Select(m => Row(BindingSeries.Backlog(configuration.Metric, binding, m), m.ToString())).ToArray();
                widgets.Add(Widget("metric", 0, y, 8, RowHeight, MetricProperties(Title(service + " backlog: " + binding.Scope), region, "Maximum", period, backlog)));

                var tasks = new List<JsonArray> { Row(BindingSeries.DesiredTasks(configuration.Metric, binding), "Desired (published)") };
                if (fact.ContainerInsights)
                {
                    var dimensions = BindingSeries.Dimensions(binding.Cluster, binding.Service);
                    tasks.Add(Row(new MetricSeries("ECS/ContainerInsights", "RunningTaskCount", dimensions), "Running"));
                    tasks.Add(Row(new MetricSeries("ECS/ContainerInsights", "DesiredTaskCount", dimensions), "Desired (ECS)"));
                }
                string tasksTitle = service + " tasks" + (fact.ContainerInsights ? string.Empty : " (running: turn on Container Insights)");
                widgets.Add(Widget("metric", 8, y, 8, RowHeight, MetricProperties(Title(tasksTitle), region, "Maximum", period, tasks.ToArray())));

                if (fact.AlarmArns.Count == 0)
                {
                    widgets.Add(Widget("text", 16, y, 8, RowHeight, new JsonObject
                    {
                        ["markdown"] = "### " + service + " scaling alarms\nNo scaling policy of PrefectScaling's with alarms on this service yet. " +
                                       "Run Set-PrefectEcsScalingPolicy, then Install-PrefectBacklogPublisher again to show them here.",
                    }));
                }
                else
                {
                    widgets.Add(Widget("alarm", 16, y, 8, RowHeight, new JsonObject
                    {
                        ["title"] = Title(service + " scaling alarms"),
                        ["alarms"] = new JsonArray(fact.AlarmArns.Take(MaxAlarmsPerWidget).Select(a => (JsonNode?)JsonValue.Create(a)).ToArray()),
                        ["sortBy"] = "stateUpdatedTimestamp",
                    }));
                }
            }

            return new JsonObject
            {
                ["start"] = "-PT6H",
                ["periodOverride"] = "inherit",
                ["widgets"] = widgets,
            };
        }

        /// <summary>The metrics a body uses (each row of each metric widget), for the quota check.</summary>
        public static int MetricCount(JsonObject body) =>
            ((JsonArray)body["widgets"]!).OfType<JsonObject>().Sum(w => (w["properties"]?["metrics"] as JsonArray)?.Count ?? 0);

        /// <summary>The change that makes the dashboard match the spec, or none when GetDashboard's body already is it.
        /// A dashboard of that name that the module did not make is never planned over (PlanInstall refuses first).</summary>
        internal static AwsChange? PlanInstall(AwsContext aws, PublisherInstallSpec spec, PublisherState current)
        {
            if (current.DashboardBody != null && !current.DashboardIsManaged) return null;
            IReadOnlyList<DashboardBindingFacts> facts = current.DashboardFacts ?? (spec.Configuration.Bindings.Count == 0
                ? Array.Empty<DashboardBindingFacts>()
                : throw new InvalidOperationException("The dashboard of " + spec.Name + " needs what AWS holds for its bindings; read the publisher with its bindings first."));
            JsonObject body = Body(spec, current.Region, facts);
            if (MetricCount(body) > MaxMetrics)
                throw new ArgumentException("The dashboard of " + spec.Name + " would show " + MetricCount(body) + " metrics; CloudWatch allows " + MaxMetrics + " per dashboard. Publish fewer measures or split the bindings over several publishers.");
            string text = body.ToJsonString();
            if (current.DashboardBody != null && SameBody(current.DashboardBody, text)) return null;
            string name = NameOf(spec.Names);
            int hidden = spec.Configuration.Bindings.Count - Math.Min(spec.Configuration.Bindings.Count, MaxBindings);
            string action = (current.DashboardBody == null ? "Create" : "Update") + " CloudWatch dashboard (" + spec.Configuration.Bindings.Count + " binding(s)" +
                (hidden > 0 ? ", " + hidden + " not shown: at most " + MaxBindings + " fit" : string.Empty) + ")";
            return new AwsChange(name, action, async (log, ct) =>
            {
                JsonNode? answer = await aws.InvokeAsync(AwsOperations.CloudWatch.PutDashboard, new JsonObject { ["DashboardName"] = name, ["DashboardBody"] = text }, log, ct).ConfigureAwait(false);
                foreach (JsonNode? message in (answer?["DashboardValidationMessages"] as JsonArray) ?? new JsonArray())
                    log.Verbose("CloudWatch PutDashboard noted of " + name + ": " + (string?)message?["Message"] + " (" + (string?)message?["DataPath"] + ")");
            });
        }

        /// <summary>The change that deletes the module's dashboard, or none.</summary>
        internal static AwsChange? PlanUninstall(AwsContext aws, PublisherState current)
        {
            if (current.DashboardBody == null || !current.DashboardIsManaged) return null;
            string name = NameOf(current.Names);
            return new AwsChange(name, "Delete CloudWatch dashboard", (log, ct) => aws.InvokeAsync(AwsOperations.CloudWatch.DeleteDashboards,
                new JsonObject { ["DashboardNames"] = new JsonArray(name) }, log, ct));
        }

        /// <summary>The same JSON, whatever the spacing CloudWatch hands back.</summary>
        internal static bool SameBody(string existing, string wanted)
        {
            try { return JsonNode.DeepEquals(JsonNode.Parse(existing), JsonNode.Parse(wanted)); }
            catch (JsonException) { return false; }
        }

        /// <summary>The graphs' period: what the publisher samples, within the periods a dashboard offers (10, 30, 60 s).</summary>
        private static int Period(PublisherConfiguration configuration) =>
            configuration.Metric.StorageResolution != 1 || configuration.SampleIntervalSeconds >= 60 ? 60
            : configuration.SampleIntervalSeconds <= 10 ? 10 : 30;

        private static JsonObject Widget(string type, int x, int y, int width, int height, JsonObject properties) => new JsonObject
        {
            ["type"] = type,
            ["x"] = x,
            ["y"] = y,
            ["width"] = width,
            ["height"] = height,
            ["properties"] = properties,
        };

        private static JsonObject MetricProperties(string title, string region, string stat, int period, params JsonArray[] rows) => new JsonObject
        {
            ["title"] = title,
            ["region"] = region,
            ["view"] = "timeSeries",
            ["stat"] = stat,
            ["period"] = period,
            ["metrics"] = new JsonArray(rows.Select(r => (JsonNode?)r).ToArray()),
        };

        /// <summary>A metrics row: [Namespace, MetricName, name, value, ..., {label[, stat]}], dimensions in the series' order.</summary>
        private static JsonArray Row(MetricSeries series, string label, string? stat = null)
        {
            var row = new JsonArray(series.Namespace, series.MetricName);
            foreach (KeyValuePair<string, string> dimension in series.Dimensions)
            {
                row.Add(dimension.Key);
                row.Add(dimension.Value);
            }
            var options = new JsonObject { ["label"] = label };
            if (stat != null) options["stat"] = stat;
            row.Add(options);
            return row;
        }

        private static IReadOnlyList<KeyValuePair<string, string>> Dimension(string name, string value) => new[] { new KeyValuePair<string, string>(name, value) };

        private static string Title(string text) => text.Length <= 120 ? text : text.Substring(0, 119) + "…";
    }
}
