using System.Collections.Generic;
using System.Text.Json.Nodes;

namespace PrefectScaling.Publisher
{
    /// <summary>What exists now of one publisher, each part null when it does not.</summary>
    public sealed class PublisherState
    {
        public string Name { get; internal set; } = string.Empty;
        public string Region { get; internal set; } = string.Empty;
        public string AccountId { get; internal set; } = string.Empty;
        public string Partition { get; internal set; } = "aws";

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

        public JsonObject? LogGroup { get; internal set; }

        /// <summary>The log group carries the module's tags, or belongs to the module's function (it holds only
        /// that function's logs; the first release created it without tags).</summary>
        public bool LogGroupIsManaged { get; internal set; }

        /// <summary>Parts of the module's that exist, as "kind name": what a half-finished install left.</summary>
        public List<string> Found()
        {
            var found = new List<string>();
            if (Function != null && FunctionIsManaged) found.Add("Lambda function " + Name);
            if (Rule != null && RuleIsManaged) found.Add("EventBridge rule " + Name);
            if (Role != null && RoleIsManaged) found.Add("IAM role " + PublisherInstallSpec.RoleNameFor(Name));
            if (SecretParameterExists) found.Add("SSM parameter " + PublisherInstallSpec.SecretParameterNameFor(Name));
            if (LogGroup != null && LogGroupIsManaged) found.Add("log group /aws/lambda/" + Name);
            return found;
        }

        /// <summary>Resources with the publisher's names that the module did not make: never changed or deleted.</summary>
        public List<string> NotOwned()
        {
            var others = new List<string>();
            if (Function != null && !FunctionIsManaged) others.Add("the Lambda function " + Name + " (no ManagedBy=PrefectScaling, PrefectScalingPublisher=" + Name + " tags)");
            if (Rule != null && !RuleIsManaged) others.Add("the EventBridge rule " + Name + " (no ManagedBy=PrefectScaling, PrefectScalingPublisher=" + Name + " tags)");
            if (Role != null && !RoleIsManaged) others.Add("the IAM role " + PublisherInstallSpec.RoleNameFor(Name) + " (not tagged by PrefectScaling for this publisher, or not trusted by lambda.amazonaws.com alone)");
            if (LogGroup != null && !LogGroupIsManaged) others.Add("the log group /aws/lambda/" + Name + " (no PrefectScaling tags and no function of the module's)");
            return others;
        }

        public string FunctionArn => (string?)Function?["Configuration"]?["FunctionArn"] ?? Arn("lambda", Region, "function:" + Name);
        public string RuleArn => (string?)Rule?["Arn"] ?? Arn("events", Region, "rule/" + Name);
        public string ManagedRoleArn => "arn:" + Partition + ":iam::" + AccountId + ":role/" + PublisherInstallSpec.RoleNameFor(Name);

        internal string Arn(string service, string region, string resource) => "arn:" + Partition + ":" + service + ":" + region + ":" + AccountId + ":" + resource;
    }
}
