using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Text;
using System.Linq;
using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Bindings;

namespace PrefectScaling.Publisher
{
    /// <summary>An SSM parameter under a publisher's bindings path, as it is now.</summary>
    public sealed class BindingParameter
    {
        public BindingParameter(string name, string? value, ServiceBinding? binding, bool isManaged)
        {
            Name = name;
            Value = value;
            Binding = binding;
            IsManaged = isManaged;
        }

        public string Name { get; }
        public string? Value { get; }

        /// <summary>The binding it holds; null when it holds something else.</summary>
        public ServiceBinding? Binding { get; }

        /// <summary>It carries the module's tags for this publisher: the module wrote it.</summary>
        public bool IsManaged { get; }
    }

    /// <summary>What exists now of one publisher, each part null when it does not.</summary>
    public sealed class PublisherState
    {
        public string Name { get; internal set; } = string.Empty;
        public string Region { get; internal set; } = string.Empty;
        public string AccountId { get; internal set; } = string.Empty;

        /// <summary>The region's partition (aws, aws-cn, aws-us-gov, ...), as the endpoints use it.</summary>
        public string Partition => AwsPartition.NameOf(Region);

        public PublisherNames Names => new PublisherNames(Name);

        /// <summary>GetFunction's answer: Configuration, Code, Tags.</summary>
        public JsonObject? Function { get; internal set; }

        /// <summary>The function carries the module's tags for this publisher (ManagedBy=PrefectScaling,
        /// PrefectScalingPublisher=name): the module made it.</summary>
        public bool FunctionIsManaged { get; internal set; }

        /// <summary>DescribeRule's answer.</summary>
        public JsonObject? Rule { get; internal set; }

        /// <summary>The rule carries the module's tags for this publisher.</summary>
        public bool RuleIsManaged { get; internal set; }

        /// <summary>The rule's target with the module's id.</summary>
        public JsonObject? Target { get; internal set; }

        /// <summary>The function policy statement that lets the rule invoke it.</summary>
        public JsonObject? Permission { get; internal set; }

        /// <summary>GetRole's Role, when the role is the one the module names.</summary>
        public JsonObject? Role { get; internal set; }

        /// <summary>The role carries the module's tags for this publisher and Lambda's trust policy: the module
        /// made it. A role of that name without them is somebody else's.</summary>
        public bool RoleIsManaged { get; internal set; }

        /// <summary>The inline policy document (decoded JSON), when there is one.</summary>
        public JsonNode? RolePolicy { get; internal set; }

        public bool SecretParameterExists { get; internal set; }

        /// <summary>A hash of the stored secret (never the secret), when it was read for comparison.</summary>
        public string? SecretHash { get; internal set; }

        /// <summary>What <see cref="SecretHash"/> holds for a secret.</summary>
        internal static string HashOf(string secret)
        {
            using var sha = SHA256.Create();
            return Convert.ToBase64String(sha.ComputeHash(Encoding.UTF8.GetBytes(secret)));
        }

        /// <summary>Every parameter under the publisher's bindings path, the module's and any other.</summary>
        public IReadOnlyList<BindingParameter> BindingParameters { get; internal set; } = Array.Empty<BindingParameter>();

        /// <summary>The bindings the module stored for this publisher, by resource id.</summary>
        public IReadOnlyList<ServiceBinding> StoredBindings =>
            BindingParameters.Where(p => p.IsManaged && p.Binding != null).Select(p => p.Binding!).OrderBy(b => b.ResourceId, StringComparer.Ordinal).ToList();

        public JsonObject? LogGroup { get; internal set; }

        /// <summary>The log group carries the module's tags, or belongs to the module's function (it holds only
        /// that function's logs; the first release created it without tags).</summary>
        public bool LogGroupIsManaged { get; internal set; }

        /// <summary>The sample queue of sub-minute sampling and its event source mapping.</summary>
        public SampleQueueState SampleQueue { get; internal set; } = new SampleQueueState();
        /// <summary>GetDashboard's DashboardBody, when a dashboard of the publisher's name exists (PublisherDashboard).</summary>
        public string? DashboardBody { get; internal set; }

        /// <summary>The dashboard's body carries the module's marker for this publisher: the module made it.</summary>
        public bool DashboardIsManaged { get; internal set; }

        /// <summary>What the dashboard shows of each binding Install was given; null when read without bindings.</summary>
        public IReadOnlyList<DashboardBindingFacts>? DashboardFacts { get; internal set; }

        /// <summary>Parts of the module's that exist, as "kind name": what a half-finished install left.</summary>
        public List<string> Found()
        {
            var found = new List<string>();
            if (Function != null && FunctionIsManaged) found.Add("Lambda function " + Names.FunctionName);
            if (Rule != null && RuleIsManaged) found.Add("EventBridge rule " + Names.RuleName);
            if (Role != null && RoleIsManaged) found.Add("IAM role " + Names.RoleName);
            if (SecretParameterExists) found.Add("SSM parameter " + Names.SecretParameterName);
            int bindings = BindingParameters.Count(p => p.IsManaged);
            if (bindings > 0) found.Add(bindings + " SSM binding parameter" + (bindings == 1 ? string.Empty : "s") + " under " + Names.BindingsPath);
            if (LogGroup != null && LogGroupIsManaged) found.Add("log group " + Names.LogGroupName);
            if (SampleQueue.QueueUrl != null && SampleQueue.QueueIsManaged) found.Add("SQS queue " + SampleQueue.QueueName);
            if (DashboardBody != null && DashboardIsManaged) found.Add("CloudWatch dashboard " + PublisherDashboard.NameOf(Names));
            return found;
        }

        /// <summary>Resources with the publisher's names that the module did not make: never changed or deleted.</summary>
        public List<string> NotOwned()
        {
            var others = new List<string>();
            if (Function != null && !FunctionIsManaged) others.Add("the Lambda function " + Names.FunctionName + " (no ManagedBy=PrefectScaling, PrefectScalingPublisher=" + Name + " tags)");
            if (Rule != null && !RuleIsManaged) others.Add("the EventBridge rule " + Names.RuleName + " (no ManagedBy=PrefectScaling, PrefectScalingPublisher=" + Name + " tags)");
            if (Role != null && !RoleIsManaged) others.Add("the IAM role " + Names.RoleName + " (not tagged by PrefectScaling for this publisher, or not trusted by lambda.amazonaws.com alone)");
            if (LogGroup != null && !LogGroupIsManaged) others.Add("the log group " + Names.LogGroupName + " (no PrefectScaling tags and no function of the module's)");
            if (SampleQueue.QueueUrl != null && !SampleQueue.QueueIsManaged) others.Add("the SQS queue " + SampleQueue.QueueName + " (no ManagedBy=PrefectScaling, PrefectScalingPublisher=" + Name + " tags)");
            foreach (BindingParameter parameter in BindingParameters.Where(p => !p.IsManaged))
                others.Add("the SSM parameter " + parameter.Name + " under the publisher's bindings path (no ManagedBy=PrefectScaling, PrefectScalingPublisher=" + Name + " tags)");
            if (DashboardBody != null && !DashboardIsManaged) others.Add("the CloudWatch dashboard " + PublisherDashboard.NameOf(Names) + " (its body has no line '" + PublisherDashboard.Marker(Name) + "')");
            return others;
        }

        public string FunctionArn => (string?)Function?["Configuration"]?["FunctionArn"] ?? Arn("lambda", Region, "function:" + Names.FunctionName);
        public string RuleArn => (string?)Rule?["Arn"] ?? Arn("events", Region, "rule/" + Names.RuleName);
        public string ManagedRoleArn => "arn:" + Partition + ":iam::" + AccountId + ":role/" + Names.RoleName;

        internal string Arn(string service, string region, string resource) => "arn:" + Partition + ":" + service + ":" + region + ":" + AccountId + ":" + resource;
    }
}
