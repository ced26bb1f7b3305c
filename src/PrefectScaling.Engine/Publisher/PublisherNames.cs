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

        /// <summary>The push path's shared secret (an SSM SecureString parameter beside the Prefect secret's).</summary>
        public string PushSecretParameterName => "/prefectscaling/" + Name + "/push-secret";

        /// <summary>The function policy statement that opens the function URL (lambda:InvokeFunctionUrl, auth NONE).</summary>
        public string UrlStatementId => "prefectscaling-" + Name + "-url";

        /// <summary>The function policy statement that lets the URL, and only it, invoke the function (lambda:InvokeFunction).</summary>
        public string UrlInvokeStatementId => "prefectscaling-" + Name + "-url-invoke";

        /// <summary>Where Lambda writes the function's logs.</summary>
        public string LogGroupName => "/aws/lambda/" + Name;
    }
}
