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

        /// <summary>Least privilege: metrics only into the configured namespace, the one secret parameter, its own
        /// log group, the one ECS service it reads, and network interfaces only in a VPC. ARNs are in the partition,
        /// region and account of <paramref name="at"/>.</summary>
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
            if (spec.Configuration.Cluster != null && spec.Configuration.Service != null)
            {
                statements.Add(new JsonObject
                {
                    ["Sid"] = "ReadServiceTasks",
                    ["Effect"] = "Allow",
                    ["Action"] = "ecs:DescribeServices",
                    ["Resource"] = at.Arn("ecs", at.Region, ScalingNames.ResourceId(spec.Configuration.Cluster!, spec.Configuration.Service!)),
                });
            }
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
            return new JsonObject { ["Version"] = "2012-10-17", ["Statement"] = statements };
        }
    }
}
