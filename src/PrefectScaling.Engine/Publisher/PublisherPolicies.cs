using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using PrefectScaling.Scaling;

namespace PrefectScaling.Publisher
{
    /// <summary>The IAM policy documents of the publisher's role: who may assume it, and what it may do.</summary>
    internal static class PublisherPolicies
    {
        /// <summary>Only Lambda may assume the role.</summary>
        public static JsonObject Trust() => new JsonObject
        {
            ["Version"] = "2012-10-17",
            ["Statement"] = new JsonArray(new JsonObject
            {
                ["Effect"] = "Allow",
                ["Principal"] = new JsonObject { ["Service"] = "lambda.amazonaws.com" },
                ["Action"] = "sts:AssumeRole",
            }),
        };

        /// <summary>IAM's limit on the size of a role's inline policies together, in characters without whitespace.</summary>
        public const int MaxInlinePolicyLength = 10240;

        /// <summary>Least privilege: metrics only into the configured namespace, the one secret parameter, its own
        /// log group, the ECS services it reads (the one of the first release, or the bound ones), its bindings' SSM
        /// path, and network interfaces only in a VPC. ARNs are in the partition, region and account of <paramref name="at"/>.</summary>
        public static JsonObject Inline(PublisherInstallSpec spec, PublisherState at)
        {
            var statements = new JsonArray
            {
                new JsonObject
                {
                    ["Sid"] = "PublishBacklogMetrics",
                    ["Effect"] = "Allow",
                    ["Action"] = "cloudwatch:PutMetricData",
                    ["Resource"] = "*",
                    ["Condition"] = new JsonObject { ["StringEquals"] = new JsonObject { ["cloudwatch:namespace"] = spec.Configuration.Metric.Namespace } },
                },
                new JsonObject
                {
                    ["Sid"] = "WriteOwnLogs",
                    ["Effect"] = "Allow",
                    ["Action"] = new JsonArray("logs:CreateLogStream", "logs:PutLogEvents"),
                    ["Resource"] = at.Arn("logs", at.Region, "log-group:" + spec.Names.LogGroupName + ":*"),
                },
            };
            if (spec.Configuration.SecretParameter != null)
            {
                statements.Add(new JsonObject
                {
                    ["Sid"] = "ReadPrefectSecret",
                    ["Effect"] = "Allow",
                    ["Action"] = "ssm:GetParameter",
                    ["Resource"] = at.Arn("ssm", at.Region, "parameter" + spec.Configuration.SecretParameter),
                });
            }
            if (spec.Configuration.PushSecretParameter != null)
            {
                statements.Add(new JsonObject
                {
                    ["Sid"] = "ReadPushSecret",
                    ["Effect"] = "Allow",
                    ["Action"] = "ssm:GetParameter",
                    ["Resource"] = at.Arn("ssm", at.Region, "parameter" + spec.Configuration.PushSecretParameter),
                });
            }
            if (spec.Configuration.UsesBindings)
            {
                string path = at.Arn("ssm", at.Region, "parameter" + spec.Configuration.BindingsPath);
                statements.Add(new JsonObject
                {
                    ["Sid"] = "ReadBindings",
                    ["Effect"] = "Allow",
                    ["Action"] = "ssm:GetParametersByPath",
                    ["Resource"] = new JsonArray(path, path + "/*"),
                });
                statements.Add(new JsonObject
                {
                    ["Sid"] = "ReadServiceTasks",
                    ["Effect"] = "Allow",
                    ["Action"] = "ecs:DescribeServices",
                    ["Resource"] = new JsonArray(),
                });
            }
            else if (spec.Configuration.Cluster != null && spec.Configuration.Service != null)
            {
                statements.Add(new JsonObject
                {
                    ["Sid"] = "ReadServiceTasks",
                    ["Effect"] = "Allow",
                    ["Action"] = "ecs:DescribeServices",
                    ["Resource"] = at.Arn("ecs", at.Region, ScalingNames.ResourceId(spec.Configuration.Cluster!, spec.Configuration.Service!)),
                });
            }
            if (spec.Configuration.UsesBindings && spec.Configuration.ProtectBusyTasks)
                foreach (JsonObject statement in TaskProtection(spec, at)) statements.Add(statement);
            if (CapacityApplier.AppliesCapacity(spec.Configuration))
                foreach (JsonObject statement in CapacityApplier.Statements(at)) statements.Add(statement);
            if (spec.InVpc)
            {
                statements.Add(new JsonObject
                {
                    ["Sid"] = "VpcNetworkInterfaces",
                    ["Effect"] = "Allow",
                    ["Action"] = new JsonArray("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
                                               "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"),
                    ["Resource"] = "*",
                });
            }
            foreach (JsonObject statement in PublisherQueuePlan.Statements(spec, at)) statements.Add(statement);
            var document = new JsonObject { ["Version"] = "2012-10-17", ["Statement"] = statements };
            // Last: it sizes the service list against what the other statements leave of IAM's limit.
            if (spec.Configuration.UsesBindings) FillServices(document, spec, at);
            return document;
        }

        /// <summary>-ProtectBusyTasks: list and describe tasks only in the bound clusters (ListTasks and DescribeTasks
        /// take the cluster as a condition key), and protect or read the protection of those clusters' tasks only.</summary>
        private static IEnumerable<JsonObject> TaskProtection(PublisherInstallSpec spec, PublisherState at)
        {
            List<string> clusters = spec.Configuration.Bindings.Select(b => b.Cluster).Distinct(StringComparer.Ordinal).OrderBy(c => c, StringComparer.Ordinal).ToList();
            yield return new JsonObject
            {
                ["Sid"] = "ListBoundClusterTasks",
                ["Effect"] = "Allow",
                ["Action"] = new JsonArray("ecs:ListTasks", "ecs:DescribeTasks"),
                ["Resource"] = "*",
                ["Condition"] = new JsonObject
                {
                    ["ArnEquals"] = new JsonObject { ["ecs:cluster"] = new JsonArray(clusters.Select(c => (JsonNode?)JsonValue.Create(at.Arn("ecs", at.Region, "cluster/" + c))).ToArray()) },
                },
            };
            yield return new JsonObject
            {
                ["Sid"] = "ProtectBoundClusterTasks",
                ["Effect"] = "Allow",
                ["Action"] = new JsonArray("ecs:UpdateTaskProtection", "ecs:GetTaskProtection"),
                ["Resource"] = new JsonArray(clusters.Select(c => (JsonNode?)JsonValue.Create(at.Arn("ecs", at.Region, "task/" + c + "/*"))).ToArray()),
            };
        }

        /// <summary>The bound services, each by its ARN, as long as the document stays within IAM's limit; past it, the
        /// clusters with the most bound services are granted as service/&lt;cluster&gt;/* instead, one at a time.</summary>
        private static void FillServices(JsonObject document, PublisherInstallSpec spec, PublisherState at)
        {
            JsonArray resources = (JsonArray)((JsonArray)document["Statement"]!).OfType<JsonObject>().Single(s => (string?)s["Sid"] == "ReadServiceTasks")["Resource"]!;
            // The capacity policies' statement on the same services takes the same list (CapacityApplier.Statements).
            List<JsonObject> sameServices = ((JsonArray)document["Statement"]!).OfType<JsonObject>().Where(s => (string?)s["Sid"] == CapacityApplier.UpdateServicesSid).ToList();
            void Share()
            {
                foreach (JsonObject statement in sameServices) statement["Resource"] = resources.DeepClone();
            }
            var byCluster = spec.Configuration.Bindings.GroupBy(b => b.Cluster, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.Select(b => b.Service).Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
            var widened = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                resources.Clear();
                foreach (KeyValuePair<string, List<string>> cluster in byCluster.OrderBy(c => c.Key, StringComparer.Ordinal))
                {
                    if (widened.Contains(cluster.Key)) resources.Add(at.Arn("ecs", at.Region, "service/" + cluster.Key + "/*"));
                    else foreach (string service in cluster.Value) resources.Add(at.Arn("ecs", at.Region, ScalingNames.ResourceId(cluster.Key, service)));
                }
                Share();
                if (Length(document) <= MaxInlinePolicyLength) return;
                string? next = byCluster.Where(c => !widened.Contains(c.Key) && c.Value.Count > 1).OrderByDescending(c => c.Value.Count).ThenBy(c => c.Key, StringComparer.Ordinal).Select(c => c.Key).FirstOrDefault();
                if (next == null)
                {
                    // One service in each of very many clusters: only the account's services as a whole fit.
                    resources.Clear();
                    resources.Add(at.Arn("ecs", at.Region, "service/*"));
                    Share();
                    return;
                }
                widened.Add(next);
            }
        }

        /// <summary>Which bound services a policy grants by wildcard because their exact list is over IAM's limit, for
        /// people; null when it names each.</summary>
        public static string? Widened(JsonObject policy)
        {
            var wild = ((policy["Statement"] as JsonArray) ?? new JsonArray()).OfType<JsonObject>().Where(s => (string?)s["Sid"] == "ReadServiceTasks")
                .SelectMany(s => s["Resource"] as JsonArray ?? new JsonArray()).Select(r => (string?)r).Where(r => r != null && r.EndsWith("*", StringComparison.Ordinal)).ToList();
            if (wild.Count == 0) return null;
            return "ecs:DescribeServices on " + string.Join(", ", wild.Select(r => r!.Substring(r.IndexOf(":service/", StringComparison.Ordinal) + 1))) +
                ": the exact list of bound services is over IAM's " + MaxInlinePolicyLength + "-character limit for a role's inline policies";
        }

        /// <summary>A policy's size as IAM counts it: the JSON without whitespace.</summary>
        public static int Length(JsonObject document) => document.ToJsonString().Length;
    }
}
