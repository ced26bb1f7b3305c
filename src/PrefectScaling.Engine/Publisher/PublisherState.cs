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

        /// <summary>DescribeRule's answer.</summary>
        public JsonObject? Rule { get; internal set; }

        /// <summary>The rule's target with the module's id.</summary>
        public JsonObject? Target { get; internal set; }

        /// <summary>The function policy statement that lets the rule invoke it.</summary>
        public JsonObject? Permission { get; internal set; }

        /// <summary>GetRole's Role, when the role is the one the module names.</summary>
        public JsonObject? Role { get; internal set; }

        public bool RoleIsManaged { get; internal set; }

        /// <summary>The inline policy document (decoded JSON), when there is one.</summary>
        public JsonNode? RolePolicy { get; internal set; }

        public bool SecretParameterExists { get; internal set; }

        /// <summary>A hash of the stored secret (never the secret), when it was read for comparison.</summary>
        public string? SecretHash { get; internal set; }

        public JsonObject? LogGroup { get; internal set; }

        public string FunctionArn => (string?)Function?["Configuration"]?["FunctionArn"] ?? Arn("lambda", Region, "function:" + Name);
        public string RuleArn => (string?)Rule?["Arn"] ?? Arn("events", Region, "rule/" + Name);
        public string ManagedRoleArn => "arn:" + Partition + ":iam::" + AccountId + ":role/" + PublisherInstallSpec.RoleNameFor(Name);

        internal string Arn(string service, string region, string resource) => "arn:" + Partition + ":" + service + ":" + region + ":" + AccountId + ":" + resource;
    }
}
