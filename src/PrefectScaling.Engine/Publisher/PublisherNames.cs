namespace PrefectScaling.Publisher
{
    /// <summary>The names of every part of one publisher, derived from the publisher's name here and nowhere else.</summary>
    public sealed class PublisherNames
    {
        /// <summary>The id of the rule's target that runs the function.</summary>
        public const string TargetId = "prefectscaling-publisher";

        /// <summary>The role's inline least-privilege policy.</summary>
        public const string InlinePolicyName = "PrefectScalingPublisher";

        public PublisherNames(string name)
        {
            Name = name;
        }

        public string Name { get; }
        public string FunctionName => Name;
        public string RuleName => Name;
        public string RoleName => Name + "-role";
        public string SecretParameterName => "/prefectscaling/" + Name + "/prefect-secret";

        /// <summary>The SSM path under which the publisher keeps its bindings, one String parameter each.</summary>
        public string BindingsPath => "/prefectscaling/" + Name + "/bindings";

        /// <summary>The function policy statement that lets the rule invoke the function.</summary>
        public string StatementId => "prefectscaling-" + Name;

        /// <summary>Where Lambda writes the function's logs.</summary>
        public string LogGroupName => "/aws/lambda/" + Name;
    }
}
