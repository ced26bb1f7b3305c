using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Scaling;

namespace PrefectScaling.Publisher
{
    /// <summary>The changes that install or remove a publisher, planned from what exists (a PublisherState): a part
    /// that is already as wanted is left as it is, so planning again after applying plans nothing.</summary>
    internal sealed class PublisherPlan
    {
        private readonly AwsContext _aws;
        private readonly LambdaWaiter _lambda;
        private readonly PublisherQueuePlan _sampleQueue;

        public PublisherPlan(AwsContext aws)
        {
            _aws = aws;
            _lambda = new LambdaWaiter(aws);
            _sampleQueue = new PublisherQueuePlan(aws);
        }

        /// <summary>The changes that make the publisher match the spec, in the order they must be made.</summary>
        public List<AwsChange> PlanInstall(PublisherInstallSpec spec, PublisherState current)
        {
            var changes = new List<AwsChange>();
            PublisherNames names = spec.Names;
            string roleArn = spec.RoleArn ?? current.ManagedRoleArn;
            bool roleCreated = false;

            // Never take over a resource of that name that the module did not make.
            var taken = new List<string>();
            if (current.Function != null && !current.FunctionIsManaged) taken.Add("Lambda function " + names.FunctionName);
            if (current.Rule != null && !current.RuleIsManaged) taken.Add("EventBridge rule " + names.RuleName);
            if (spec.RoleArn == null && current.Role != null && !current.RoleIsManaged) taken.Add("IAM role " + names.RoleName + " (pass -RoleArn to run the function with it)");
            taken.AddRange(PublisherQueuePlan.Taken(spec, current));
            var parameters = current.BindingParameters.ToDictionary(p => p.Name, StringComparer.Ordinal);
            foreach (Bindings.ServiceBinding binding in spec.Configuration.Bindings)
            {
                string name = PublisherBindings.ParameterName(names.BindingsPath, binding);
                if (parameters.TryGetValue(name, out BindingParameter? other) && !other.IsManaged) taken.Add("SSM parameter " + name + " (for the binding of " + binding.ResourceId + ")");
            }
            if (current.DashboardBody != null && !current.DashboardIsManaged) taken.Add("CloudWatch dashboard " + PublisherDashboard.NameOf(names));
            if (taken.Count > 0)
                throw new ResourceOwnershipException("PublisherNameTaken", "These exist but PrefectScaling did not make them for the publisher " + spec.Name + ": " + string.Join("; ", taken) +
                    ". Nothing was changed; choose another -Name, or remove them yourself.");

            // 1. The secret, only ever in an SSM SecureString parameter.
            if (spec.Secret != null && current.SecretHash != PublisherState.HashOf(spec.Secret))
            {
                changes.Add(new AwsChange(names.SecretParameterName, (current.SecretParameterExists ? "Update" : "Create") + " SSM SecureString parameter with the Prefect secret",
                    (log, ct) => _aws.PutSecureStringParameterAsync(names.SecretParameterName, spec.Secret, "Prefect secret of the PrefectScaling publisher " + spec.Name, spec.AllTags(), log, ct)));
            }
            else if (spec.Secret == null && current.SecretParameterExists)
            {
                changes.Add(new AwsChange(names.SecretParameterName, "Delete SSM parameter (no secret is configured now)",
                    async (log, ct) => await _aws.DeleteParameterAsync(names.SecretParameterName, log, ct).ConfigureAwait(false)));
            }

            // 1b. The bindings, one parameter each, before the function that reads them: exactly the ones asked for.
            changes.AddRange(PlanBindings(spec, current));

            // 2. The role and its inline policy, unless the user brings a role.
            if (spec.RoleArn == null)
            {
                JsonObject trust = PublisherPolicies.Trust();
                if (current.Role == null)
                {
                    roleCreated = true;
                    changes.Add(new AwsChange(names.RoleName, "Create IAM role assumed by lambda.amazonaws.com", (log, ct) => _aws.InvokeAsync(AwsOperations.Iam.CreateRole, new JsonObject
                    {
                        ["RoleName"] = names.RoleName,
                        ["AssumeRolePolicyDocument"] = trust.ToJsonString(),
                        ["Description"] = "Runs the PrefectScaling backlog publisher " + spec.Name,
                        ["Tags"] = TagList(spec),
                    }, log, ct)));
                }
                else if (!JsonSubset.Contains(JsonNode.Parse(WebUtility.UrlDecode((string?)current.Role["AssumeRolePolicyDocument"] ?? "{}")), trust))
                {
                    changes.Add(new AwsChange(names.RoleName, "Update the IAM role's trust policy", (log, ct) => _aws.InvokeAsync(AwsOperations.Iam.UpdateAssumeRolePolicy,
                        new JsonObject { ["RoleName"] = names.RoleName, ["PolicyDocument"] = trust.ToJsonString() }, log, ct)));
                }
                JsonObject policy = PublisherPolicies.Inline(spec, current);
                if (current.RolePolicy == null || !SamePolicy(policy, current.RolePolicy))
                {
                    string? widened = PublisherPolicies.Widened(policy);
                    changes.Add(new AwsChange(names.RoleName + "/" + PublisherNames.InlinePolicyName, (current.RolePolicy == null ? "Attach" : "Update") + " the role's least-privilege inline policy" +
                        (widened == null ? string.Empty : " (" + widened + ")"),
                        (log, ct) => _aws.InvokeAsync(AwsOperations.Iam.PutRolePolicy, new JsonObject
                        {
                            ["RoleName"] = names.RoleName,
                            ["PolicyName"] = PublisherNames.InlinePolicyName,
                            ["PolicyDocument"] = policy.ToJsonString(),
                        }, log, ct)));
                }
            }

            // 3. The log group, with a retention, so the function's logs do not pile up forever.
            if (current.LogGroup == null)
            {
                changes.Add(new AwsChange(names.LogGroupName, "Create CloudWatch Logs log group (" + PublisherInstallSpec.LogRetentionDays + "-day retention)", async (log, ct) =>
                {
                    await _aws.InvokeAsync(AwsOperations.Logs.CreateLogGroup, new JsonObject
                    {
                        ["logGroupName"] = names.LogGroupName,
                        ["tags"] = TagMap(spec),
                    }, log, ct).ConfigureAwait(false);
                    await _aws.InvokeAsync(AwsOperations.Logs.PutRetentionPolicy, new JsonObject { ["logGroupName"] = names.LogGroupName, ["retentionInDays"] = PublisherInstallSpec.LogRetentionDays }, log, ct).ConfigureAwait(false);
                }));
            }

            // 4. The function: created, or its code and configuration updated where they differ.
            string codeHash = Convert.ToBase64String(Sha256(spec.Package));
            JsonObject configuration = FunctionConfiguration(spec, roleArn);
            JsonNode? existing = current.Function?["Configuration"];
            if (existing == null)
            {
                changes.Add(new AwsChange(names.FunctionName, "Create Lambda function (" + PublisherInstallSpec.Runtime + ", " + (spec.Package.Length / 1024) + " KiB package)", async (log, ct) =>
                {
                    var input = (JsonObject)configuration.DeepClone();
                    input["Code"] = new JsonObject { ["ZipFile"] = Convert.ToBase64String(spec.Package) };
                    input["Tags"] = TagMap(spec);
                    await _lambda.CreateFunctionAsync(input, roleCreated, log, ct).ConfigureAwait(false);
                    await _lambda.WaitUntilReadyAsync(names.FunctionName, log, ct).ConfigureAwait(false);
                }));
            }
            else
            {
                if ((string?)existing["CodeSha256"] != codeHash)
                {
                    changes.Add(new AwsChange(names.FunctionName, "Update Lambda function code", async (log, ct) =>
                    {
                        await _aws.InvokeAsync(AwsOperations.Lambda.UpdateFunctionCode, new JsonObject { ["FunctionName"] = names.FunctionName, ["ZipFile"] = Convert.ToBase64String(spec.Package) }, log, ct).ConfigureAwait(false);
                        await _lambda.WaitUntilReadyAsync(names.FunctionName, log, ct).ConfigureAwait(false);
                    }));
                }
                if (!SameFunctionConfiguration(configuration, existing))
                {
                    changes.Add(new AwsChange(names.FunctionName, "Update Lambda function configuration", async (log, ct) =>
                    {
                        await _lambda.WaitUntilReadyAsync(names.FunctionName, log, ct).ConfigureAwait(false);
                        await _aws.InvokeAsync(AwsOperations.Lambda.UpdateFunctionConfiguration, configuration, log, ct).ConfigureAwait(false);
                        await _lambda.WaitUntilReadyAsync(names.FunctionName, log, ct).ConfigureAwait(false);
                    }));
                }
            }

            // 4b. Sub-minute sampling: the queue of delayed samples and its mapping to the function (or their removal).
            changes.AddRange(_sampleQueue.PlanInstall(spec, current));

            // 5. The schedule, its target and the permission that lets exactly this rule invoke the function.
            if (current.Rule == null || (string?)current.Rule["ScheduleExpression"] != spec.Schedule || (string?)current.Rule["State"] != "ENABLED")
            {
                changes.Add(new AwsChange(names.RuleName, (current.Rule == null ? "Create" : "Update") + " EventBridge rule " + spec.Schedule, (log, ct) => _aws.InvokeAsync(AwsOperations.EventBridge.PutRule, new JsonObject
                {
                    ["Name"] = names.RuleName,
                    ["ScheduleExpression"] = spec.Schedule,
                    ["State"] = "ENABLED",
                    ["Description"] = "Runs the PrefectScaling backlog publisher " + spec.Name,
                    ["Tags"] = TagList(spec),
                }, log, ct)));
            }
            if (current.Target == null || (string?)current.Target["Arn"] != current.FunctionArn)
            {
                changes.Add(new AwsChange(names.RuleName, "Point the rule at the function", (log, ct) => _aws.InvokeAsync(AwsOperations.EventBridge.PutTargets, new JsonObject
                {
                    ["Rule"] = names.RuleName,
                    ["Targets"] = new JsonArray(new JsonObject { ["Id"] = PublisherNames.TargetId, ["Arn"] = current.FunctionArn }),
                }, log, ct)));
            }
            if (current.Permission == null || PermissionSourceArn(current.Permission) != current.RuleArn)
            {
                bool replace = current.Permission != null;
                changes.Add(new AwsChange(names.FunctionName, "Allow the rule (and only it) to invoke the function", async (log, ct) =>
                {
                    if (replace)
                        await _aws.InvokeAsync(AwsOperations.Lambda.RemovePermission, new JsonObject { ["FunctionName"] = names.FunctionName, ["StatementId"] = names.StatementId }, log, ct).ConfigureAwait(false);
                    await _aws.InvokeAsync(AwsOperations.Lambda.AddPermission, new JsonObject
                    {
                        ["FunctionName"] = names.FunctionName,
                        ["StatementId"] = names.StatementId,
                        ["Action"] = "lambda:InvokeFunction",
                        ["Principal"] = "events.amazonaws.com",
                        ["SourceArn"] = current.RuleArn,
                    }, log, ct).ConfigureAwait(false);
                }));
            }

            // 6. The dashboard, last: it shows what the steps above made.
            if (PublisherDashboard.PlanInstall(_aws, spec, current) is AwsChange dashboard) changes.Add(dashboard);
            return changes;
        }

        /// <summary>The changes that remove every part Install created, in an order AWS accepts. Only the module's own
        /// parts: a function, rule, role or log group of that name that the module did not make is left alone
        /// (PublisherState.NotOwned says which). The parameter lives under the module's own /prefectscaling/ path.</summary>
        public List<AwsChange> PlanUninstall(PublisherState current)
        {
            PublisherNames names = current.Names;
            var changes = new List<AwsChange>();
            if (current.Rule != null && current.RuleIsManaged)
            {
                if (current.Target != null)
                    changes.Add(new AwsChange(names.RuleName, "Remove the EventBridge rule's target", (log, ct) => _aws.InvokeAsync(AwsOperations.EventBridge.RemoveTargets,
                        new JsonObject { ["Rule"] = names.RuleName, ["Ids"] = new JsonArray(PublisherNames.TargetId) }, log, ct)));
                changes.Add(new AwsChange(current.RuleArn, "Delete EventBridge rule", (log, ct) => _aws.InvokeAsync(AwsOperations.EventBridge.DeleteRule, new JsonObject { ["Name"] = names.RuleName }, log, ct)));
            }
            if (current.Function != null && current.FunctionIsManaged)
            {
                if (current.Permission != null)
                    changes.Add(new AwsChange(names.FunctionName, "Remove the invoke permission", (log, ct) => _aws.InvokeAsync(AwsOperations.Lambda.RemovePermission,
                        new JsonObject { ["FunctionName"] = names.FunctionName, ["StatementId"] = names.StatementId }, log, ct)));
                changes.Add(new AwsChange(current.FunctionArn, "Delete Lambda function", (log, ct) => _aws.InvokeAsync(AwsOperations.Lambda.DeleteFunction, new JsonObject { ["FunctionName"] = names.FunctionName }, log, ct)));
            }
            if (current.Role != null && current.RoleIsManaged)
            {
                if (current.RolePolicy != null)
                    changes.Add(new AwsChange(names.RoleName + "/" + PublisherNames.InlinePolicyName, "Delete the role's inline policy", (log, ct) => _aws.InvokeAsync(AwsOperations.Iam.DeleteRolePolicy,
                        new JsonObject { ["RoleName"] = names.RoleName, ["PolicyName"] = PublisherNames.InlinePolicyName }, log, ct)));
                changes.Add(new AwsChange(current.ManagedRoleArn, "Delete IAM role", (log, ct) => _aws.InvokeAsync(AwsOperations.Iam.DeleteRole, new JsonObject { ["RoleName"] = names.RoleName }, log, ct)));
            }
            if (current.SecretParameterExists)
                changes.Add(new AwsChange(names.SecretParameterName, "Delete SSM parameter", async (log, ct) => await _aws.DeleteParameterAsync(names.SecretParameterName, log, ct).ConfigureAwait(false)));
            foreach (BindingParameter parameter in current.BindingParameters.Where(p => p.IsManaged))
                changes.Add(DeleteBinding(parameter));
            if (current.LogGroup != null && current.LogGroupIsManaged)
                changes.Add(new AwsChange(names.LogGroupName, "Delete CloudWatch Logs log group", (log, ct) => _aws.InvokeAsync(AwsOperations.Logs.DeleteLogGroup,
                    new JsonObject { ["logGroupName"] = names.LogGroupName }, log, ct)));
            changes.AddRange(_sampleQueue.PlanUninstall(current));
            if (PublisherDashboard.PlanUninstall(_aws, current) is AwsChange dashboard) changes.Add(dashboard);
            return changes;
        }

        /// <summary>The binding parameters made to match the spec's bindings: created, updated where the stored binding
        /// differs, and the module's that no binding wants any more deleted. Parameters under the path that the module
        /// did not write are left alone (the function ignores what holds no binding; PublisherState.NotOwned says which).</summary>
        private IEnumerable<AwsChange> PlanBindings(PublisherInstallSpec spec, PublisherState current)
        {
            string path = spec.Names.BindingsPath;
            var existing = current.BindingParameters.Where(p => p.IsManaged).ToDictionary(p => p.Name, StringComparer.Ordinal);
            var wanted = new HashSet<string>(StringComparer.Ordinal);
            foreach (Bindings.ServiceBinding binding in spec.Configuration.Bindings.OrderBy(b => b.ResourceId, StringComparer.Ordinal))
            {
                string name = PublisherBindings.ParameterName(path, binding);
                string value = PublisherBindings.ValueOf(binding);
                wanted.Add(name);
                bool exists = existing.TryGetValue(name, out BindingParameter? stored);
                if (exists && stored!.Value == value) continue;
                string action = (exists ? "Update" : "Create") + " SSM parameter with the binding " + binding.ResourceId + " <- " + binding.Scope;
                yield return new AwsChange(name, action, (log, ct) => _aws.PutStringParameterAsync(name, value,
                    "Binding of the PrefectScaling publisher " + spec.Name + ": " + binding.ResourceId, spec.AllTags(), exists, log, ct));
            }
            foreach (BindingParameter parameter in existing.Values.Where(p => !wanted.Contains(p.Name)).OrderBy(p => p.Name, StringComparer.Ordinal))
                yield return DeleteBinding(parameter);
        }

        private AwsChange DeleteBinding(BindingParameter parameter) =>
            new AwsChange(parameter.Name, "Delete SSM parameter with the binding " + (parameter.Binding?.ResourceId ?? "(unreadable)"),
                async (log, ct) => await _aws.DeleteParameterAsync(parameter.Name, log, ct).ConfigureAwait(false));

        /// <summary>CreateFunction's and UpdateFunctionConfiguration's input, without the code.</summary>
        internal static JsonObject FunctionConfiguration(PublisherInstallSpec spec, string roleArn)
        {
            Dictionary<string, string> environment = spec.Configuration.ToEnvironment();
            SampleChain.AddEnvironment(environment, spec.Name, spec.Configuration);
            var variables = new JsonObject(environment.OrderBy(v => v.Key, StringComparer.Ordinal)
                .Select(v => new KeyValuePair<string, JsonNode?>(v.Key, v.Value)));
            var configuration = new JsonObject
            {
                ["FunctionName"] = spec.Names.FunctionName,
                ["Runtime"] = PublisherInstallSpec.Runtime,
                ["Handler"] = PublisherInstallSpec.Handler,
                ["Role"] = roleArn,
                ["Description"] = "Publishes the Prefect backlog to CloudWatch (PrefectScaling)",
                ["Timeout"] = spec.Timeout,
                ["MemorySize"] = spec.MemorySize,
                ["Environment"] = new JsonObject { ["Variables"] = variables },
            };
            configuration["VpcConfig"] = new JsonObject
            {
                ["SubnetIds"] = new JsonArray(spec.SubnetIds.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray()),
                ["SecurityGroupIds"] = new JsonArray(spec.SecurityGroupIds.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray()),
            };
            return configuration;
        }

        private static bool SameFunctionConfiguration(JsonObject wanted, JsonNode existing)
        {
            foreach (string key in new[] { "Runtime", "Handler", "Role", "Description", "Timeout", "MemorySize" })
                if (!JsonSubset.Contains(existing[key], wanted[key])) return false;
            JsonObject variables = (JsonObject)wanted["Environment"]!["Variables"]!;
            JsonObject? current = existing["Environment"]?["Variables"] as JsonObject;
            if (current == null || current.Count != variables.Count || !JsonSubset.Contains(current, variables)) return false;
            JsonArray subnets = (JsonArray)wanted["VpcConfig"]!["SubnetIds"]!;
            JsonArray groups = (JsonArray)wanted["VpcConfig"]!["SecurityGroupIds"]!;
            return SameSet(subnets, existing["VpcConfig"]?["SubnetIds"]) && SameSet(groups, existing["VpcConfig"]?["SecurityGroupIds"]);
        }

        private static bool SameSet(JsonArray wanted, JsonNode? existing)
        {
            var have = (existing as JsonArray)?.Select(n => (string?)n).ToList() ?? new List<string?>();
            return wanted.Count == have.Count && wanted.Select(n => (string?)n).OrderBy(s => s).SequenceEqual(have.OrderBy(s => s));
        }

        /// <summary>The same statements, no more: a statement somebody added to the module's policy is taken away.</summary>
        private static bool SamePolicy(JsonObject wanted, JsonNode existing) =>
            JsonSubset.Contains(existing, wanted) && ((existing["Statement"] as JsonArray)?.Count ?? -1) == ((JsonArray)wanted["Statement"]!).Count;

        private static string? PermissionSourceArn(JsonObject statement) =>
            (string?)statement["Condition"]?["ArnLike"]?["AWS:SourceArn"] ?? (string?)statement["Condition"]?["ArnEquals"]?["AWS:SourceArn"];

        private static JsonArray TagList(PublisherInstallSpec spec) =>
            new JsonArray(spec.AllTags().Select(t => (JsonNode)new JsonObject { ["Key"] = t.Key, ["Value"] = t.Value }).ToArray());

        private static JsonObject TagMap(PublisherInstallSpec spec) =>
            new JsonObject(spec.AllTags().Select(t => new KeyValuePair<string, JsonNode?>(t.Key, t.Value)));

        /// <summary>Lambda's CodeSha256: base64 of the package's SHA-256.</summary>
        private static byte[] Sha256(byte[] data)
        {
            using var sha = SHA256.Create();
            return sha.ComputeHash(data);
        }
    }
}
