using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Publisher
{
    /// <summary>Reads what exists of one publisher, and tells the parts the module made from others of the same name.</summary>
    internal sealed class PublisherReader
    {
        private readonly AwsContext _aws;

        public PublisherReader(AwsContext aws)
        {
            _aws = aws;
        }

        /// <summary>Reads every part; withSecretHash also reads the stored secret to compare it (never returned).
        /// dashboardBindings: the bindings Install is given, whose dashboard facts it reads too.</summary>
        public async Task<PublisherState> ReadAsync(string name, bool withSecretHash, IEngineLog log, CancellationToken ct, IReadOnlyList<Bindings.ServiceBinding>? dashboardBindings = null)
        {
            var state = new PublisherState { Name = name, Region = _aws.Region };
            PublisherNames names = state.Names;
            state.AccountId = await _aws.GetAccountIdAsync(log, ct).ConfigureAwait(false);
            state.Function = await OrNull(AwsOperations.Lambda.GetFunction, new JsonObject { ["FunctionName"] = names.FunctionName }, log, ct).ConfigureAwait(false) as JsonObject;
            if (state.Function != null)
            {
                // GetFunction returns Tags only to callers allowed lambda:ListTags; ask for them when they are absent.
                JsonNode? tags = state.Function["Tags"];
                if (tags == null && (string?)state.Function["Configuration"]?["FunctionArn"] is string functionArn)
                    tags = (await _aws.InvokeAsync(AwsOperations.Lambda.ListTags, new JsonObject { ["Resource"] = functionArn }, log, ct).ConfigureAwait(false))?["Tags"];
                state.FunctionIsManaged = TagsNamePublisher(tags, name);
            }
            state.Rule = await OrNull(AwsOperations.EventBridge.DescribeRule, new JsonObject { ["Name"] = names.RuleName }, log, ct).ConfigureAwait(false) as JsonObject;
            if (state.Rule != null)
            {
                JsonNode? ruleTags = await OrNull(AwsOperations.EventBridge.ListTagsForResource, new JsonObject { ["ResourceARN"] = state.RuleArn }, log, ct).ConfigureAwait(false);
                state.RuleIsManaged = TagsNamePublisher(ruleTags?["Tags"], name);
                JsonNode? targets = await _aws.InvokeAsync(AwsOperations.EventBridge.ListTargetsByRule, new JsonObject { ["Rule"] = names.RuleName }, log, ct).ConfigureAwait(false);
                state.Target = (targets?["Targets"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(t => (string?)t["Id"] == PublisherNames.TargetId);
            }
            if (state.Function != null)
            {
                JsonNode? policy = await OrNull(AwsOperations.Lambda.GetPolicy, new JsonObject { ["FunctionName"] = names.FunctionName }, log, ct).ConfigureAwait(false);
                if ((string?)policy?["Policy"] is string document)
                {
                    state.Permission = (ParsePolicy(document)?["Statement"] as JsonArray)?.OfType<JsonObject>()
                        .FirstOrDefault(s => (string?)s["Sid"] == names.StatementId);
                }
            }

            if (await OrNull(AwsOperations.Iam.GetRole, new JsonObject { ["RoleName"] = names.RoleName }, log, ct).ConfigureAwait(false) is JsonNode role && role["Role"] is JsonObject roleObject)
            {
                state.Role = roleObject;
                // Made by the module: its tags for this publisher, and trusted by Lambda (a role of that name that
                // somebody else made, or trusts another principal, is not the module's to change or delete).
                JsonNode? trust = ParsePolicy((string?)roleObject["AssumeRolePolicyDocument"]);
                state.RoleIsManaged = TagsNamePublisher(roleObject["Tags"], name) && trust != null && JsonSubset.Contains(trust, PublisherPolicies.Trust());
                JsonNode? inline = await OrNull(AwsOperations.Iam.GetRolePolicy, new JsonObject { ["RoleName"] = names.RoleName, ["PolicyName"] = PublisherNames.InlinePolicyName }, log, ct).ConfigureAwait(false);
                if ((string?)inline?["PolicyDocument"] is string encoded) state.RolePolicy = ParsePolicy(encoded);
            }

            SsmParameterInfo? secret = await _aws.GetParameterAsync(names.SecretParameterName, withSecretHash, log, ct).ConfigureAwait(false);
            state.SecretParameterExists = secret != null;
            if (withSecretHash && secret?.Value != null) state.SecretHash = PublisherState.HashOf(secret.Value);

            JsonNode? groups = await _aws.InvokeAsync(AwsOperations.Logs.DescribeLogGroups, new JsonObject { ["logGroupNamePrefix"] = names.LogGroupName }, log, ct).ConfigureAwait(false);
            state.LogGroup = (groups?["logGroups"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(g => (string?)g["logGroupName"] == names.LogGroupName);
            if (state.LogGroup != null)
            {
                state.LogGroupIsManaged = state.FunctionIsManaged;
                string? arn = (string?)state.LogGroup["logGroupArn"] ?? ((string?)state.LogGroup["arn"])?.TrimEnd('*').TrimEnd(':');
                if (!state.LogGroupIsManaged && arn != null)
                {
                    JsonNode? tags = await OrNull(AwsOperations.Logs.ListTagsForResource, new JsonObject { ["resourceArn"] = arn }, log, ct).ConfigureAwait(false);
                    state.LogGroupIsManaged = TagsNamePublisher(tags?["tags"], name);
                }
            }
            await PublisherDashboard.ReadAsync(_aws, state, dashboardBindings, log, ct).ConfigureAwait(false);
            return state;
        }

        /// <summary>ManagedBy=PrefectScaling and PrefectScalingPublisher=name, from a tag list ([{Key, Value}]) or a
        /// tag map ({key: value}), as the services answer.</summary>
        internal static bool TagsNamePublisher(JsonNode? tags, string name)
        {
            var map = new Dictionary<string, string?>(StringComparer.Ordinal);
            if (tags is JsonArray list)
            {
                foreach (JsonNode? tag in list)
                    if ((string?)tag?["Key"] is string key) map[key] = (string?)tag!["Value"];
            }
            else if (tags is JsonObject members)
            {
                foreach (KeyValuePair<string, JsonNode?> member in members) map[member.Key] = (string?)member.Value;
            }
            return map.TryGetValue(PublisherInstallSpec.ManagedByTag, out string? by) && by == PublisherInstallSpec.ManagedByValue
                && map.TryGetValue(PublisherInstallSpec.PublisherTag, out string? publisher) && publisher == name;
        }

        /// <summary>A policy document as IAM answers it: JSON, or URL-encoded JSON; null when it is neither.</summary>
        internal static JsonNode? ParsePolicy(string? document)
        {
            if (string.IsNullOrEmpty(document)) return null;
            try { return JsonNode.Parse(document!.TrimStart().StartsWith("{", StringComparison.Ordinal) ? document : WebUtility.UrlDecode(document)); }
            catch (System.Text.Json.JsonException) { return null; }
        }

        private async Task<JsonNode?> OrNull(AwsOperation operation, JsonObject input, IEngineLog log, CancellationToken ct)
        {
            try
            {
                return await _aws.InvokeAsync(operation, input, log, ct).ConfigureAwait(false);
            }
            catch (AwsApiException e) when (e.Kind == AwsErrorKind.NotFound)
            {
                return null;
            }
        }
    }
}
