using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;
using PrefectScaling.Scaling;

namespace PrefectScaling.Publisher
{
    /// <summary>Installs, inspects and removes the scheduled publisher: the SSM parameter with the Prefect secret,
    /// the IAM role and its inline least-privilege policy, the log group, the Lambda function, the EventBridge
    /// rule, its target and the invoke permission scoped to the rule. Plans compare what exists with what is
    /// wanted, so installing again with the same arguments changes nothing.</summary>
    public sealed class PublisherInstaller
    {
        private static readonly TimeSpan RolePropagation = TimeSpan.FromSeconds(90);
        private static readonly TimeSpan FunctionReady = TimeSpan.FromMinutes(5);
        private readonly AwsContext _aws;

        public PublisherInstaller(AwsContext aws)
        {
            _aws = aws;
        }

        /// <summary>Reads every part; withSecretHash also reads the stored secret to compare it (never returned).</summary>
        public async Task<PublisherState> ReadAsync(string name, bool withSecretHash, IEngineLog log, CancellationToken ct)
        {
            var state = new PublisherState { Name = name, Region = _aws.Region, Partition = Partition(_aws.Region) };
            state.AccountId = await _aws.GetAccountIdAsync(log, ct).ConfigureAwait(false);
            state.Function = await OrNull(AwsOperations.Lambda.GetFunction, new JsonObject { ["FunctionName"] = name }, log, ct).ConfigureAwait(false) as JsonObject;
            if (state.Function != null)
            {
                // GetFunction returns Tags only to callers allowed lambda:ListTags; ask for them when they are absent.
                JsonNode? tags = state.Function["Tags"];
                if (tags == null && (string?)state.Function["Configuration"]?["FunctionArn"] is string functionArn)
                    tags = (await _aws.InvokeAsync(AwsOperations.Lambda.ListTags, new JsonObject { ["Resource"] = functionArn }, log, ct).ConfigureAwait(false))?["Tags"];
                state.FunctionIsManaged = TagsNamePublisher(tags, name);
            }
            state.Rule = await OrNull(AwsOperations.EventBridge.DescribeRule, new JsonObject { ["Name"] = name }, log, ct).ConfigureAwait(false) as JsonObject;
            if (state.Rule != null)
            {
                JsonNode? ruleTags = await OrNull(AwsOperations.EventBridge.ListTagsForResource, new JsonObject { ["ResourceARN"] = state.RuleArn }, log, ct).ConfigureAwait(false);
                state.RuleIsManaged = TagsNamePublisher(ruleTags?["Tags"], name);
                JsonNode? targets = await _aws.InvokeAsync(AwsOperations.EventBridge.ListTargetsByRule, new JsonObject { ["Rule"] = name }, log, ct).ConfigureAwait(false);
                state.Target = (targets?["Targets"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(t => (string?)t["Id"] == PublisherInstallSpec.TargetId);
            }
            if (state.Function != null)
            {
                JsonNode? policy = await OrNull(AwsOperations.Lambda.GetPolicy, new JsonObject { ["FunctionName"] = name }, log, ct).ConfigureAwait(false);
                if ((string?)policy?["Policy"] is string document)
                {
                    state.Permission = (JsonNode.Parse(document)?["Statement"] as JsonArray)?.OfType<JsonObject>()
                        .FirstOrDefault(s => (string?)s["Sid"] == "prefectscaling-" + name);
                }
            }

            string roleName = PublisherInstallSpec.RoleNameFor(name);
            if (await OrNull(AwsOperations.Iam.GetRole, new JsonObject { ["RoleName"] = roleName }, log, ct).ConfigureAwait(false) is JsonNode role && role["Role"] is JsonObject roleObject)
            {
                state.Role = roleObject;
                // Made by the module: its tags for this publisher, and trusted by Lambda (a role of that name that
                // somebody else made, or trusts another principal, is not the module's to change or delete).
                JsonNode? trust = ParsePolicy((string?)roleObject["AssumeRolePolicyDocument"]);
                state.RoleIsManaged = TagsNamePublisher(roleObject["Tags"], name) && trust != null && EcsScalingManager.Same(TrustPolicy(), trust);
                JsonNode? inline = await OrNull(AwsOperations.Iam.GetRolePolicy, new JsonObject { ["RoleName"] = roleName, ["PolicyName"] = PublisherInstallSpec.InlinePolicyName }, log, ct).ConfigureAwait(false);
                if ((string?)inline?["PolicyDocument"] is string encoded) state.RolePolicy = JsonNode.Parse(WebUtility.UrlDecode(encoded));
            }

            SsmParameterInfo? secret = await _aws.GetParameterAsync(PublisherInstallSpec.SecretParameterNameFor(name), withSecretHash, log, ct).ConfigureAwait(false);
            state.SecretParameterExists = secret != null;
            if (withSecretHash && secret?.Value != null) state.SecretHash = Hash(secret.Value);

            JsonNode? groups = await _aws.InvokeAsync(AwsOperations.Logs.DescribeLogGroups, new JsonObject { ["logGroupNamePrefix"] = "/aws/lambda/" + name }, log, ct).ConfigureAwait(false);
            state.LogGroup = (groups?["logGroups"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(g => (string?)g["logGroupName"] == "/aws/lambda/" + name);
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

        private static JsonNode? ParsePolicy(string? document)
        {
            if (string.IsNullOrEmpty(document)) return null;
            try { return JsonNode.Parse(document!.TrimStart().StartsWith("{", StringComparison.Ordinal) ? document : WebUtility.UrlDecode(document)); }
            catch (System.Text.Json.JsonException) { return null; }
        }

        /// <summary>The changes that make the publisher match the spec, in the order they must be made.</summary>
        public List<AwsChange> PlanInstall(PublisherInstallSpec spec, PublisherState current)
        {
            var changes = new List<AwsChange>();
            string roleArn = spec.RoleArn ?? current.ManagedRoleArn;
            bool roleCreated = false;

            // Never take over a resource of that name that the module did not make.
            var taken = new List<string>();
            if (current.Function != null && !current.FunctionIsManaged) taken.Add("Lambda function " + spec.FunctionName);
            if (current.Rule != null && !current.RuleIsManaged) taken.Add("EventBridge rule " + spec.RuleName);
            if (spec.RoleArn == null && current.Role != null && !current.RoleIsManaged) taken.Add("IAM role " + spec.RoleName + " (pass -RoleArn to run the function with it)");
            if (taken.Count > 0)
                throw new ResourceOwnershipException("PublisherNameTaken", "These exist but PrefectScaling did not make them for the publisher " + spec.Name + ": " + string.Join("; ", taken) +
                    ". Nothing was changed; choose another -Name, or remove them yourself.");

            // 1. The secret, only ever in an SSM SecureString parameter.
            if (spec.Secret != null && current.SecretHash != Hash(spec.Secret))
            {
                changes.Add(new AwsChange(spec.SecretParameterName, (current.SecretParameterExists ? "Update" : "Create") + " SSM SecureString parameter with the Prefect secret",
                    (log, ct) => _aws.PutSecureStringParameterAsync(spec.SecretParameterName, spec.Secret, "Prefect secret of the PrefectScaling publisher " + spec.Name, spec.AllTags(), log, ct)));
            }
            else if (spec.Secret == null && current.SecretParameterExists)
            {
                changes.Add(new AwsChange(spec.SecretParameterName, "Delete SSM parameter (no secret is configured now)",
                    async (log, ct) => await _aws.DeleteParameterAsync(spec.SecretParameterName, log, ct).ConfigureAwait(false)));
            }

            // 2. The role and its inline policy, unless the user brings a role.
            if (spec.RoleArn == null)
            {
                JsonObject trust = TrustPolicy();
                if (current.Role == null)
                {
                    roleCreated = true;
                    changes.Add(new AwsChange(spec.RoleName, "Create IAM role assumed by lambda.amazonaws.com", (log, ct) => _aws.InvokeAsync(AwsOperations.Iam.CreateRole, new JsonObject
                    {
                        ["RoleName"] = spec.RoleName,
                        ["AssumeRolePolicyDocument"] = trust.ToJsonString(),
                        ["Description"] = "Runs the PrefectScaling backlog publisher " + spec.Name,
                        ["Tags"] = new JsonArray(spec.AllTags().Select(t => (JsonNode)new JsonObject { ["Key"] = t.Key, ["Value"] = t.Value }).ToArray()),
                    }, log, ct)));
                }
                else if (!EcsScalingManager.Same(trust, JsonNode.Parse(WebUtility.UrlDecode((string?)current.Role["AssumeRolePolicyDocument"] ?? "{}"))))
                {
                    changes.Add(new AwsChange(spec.RoleName, "Update the IAM role's trust policy", (log, ct) => _aws.InvokeAsync(AwsOperations.Iam.UpdateAssumeRolePolicy,
                        new JsonObject { ["RoleName"] = spec.RoleName, ["PolicyDocument"] = trust.ToJsonString() }, log, ct)));
                }
                JsonObject policy = PublisherPolicy(spec, current);
                if (current.RolePolicy == null || !SamePolicy(policy, current.RolePolicy))
                {
                    changes.Add(new AwsChange(spec.RoleName + "/" + PublisherInstallSpec.InlinePolicyName, (current.RolePolicy == null ? "Attach" : "Update") + " the role's least-privilege inline policy",
                        (log, ct) => _aws.InvokeAsync(AwsOperations.Iam.PutRolePolicy, new JsonObject
                        {
                            ["RoleName"] = spec.RoleName,
                            ["PolicyName"] = PublisherInstallSpec.InlinePolicyName,
                            ["PolicyDocument"] = policy.ToJsonString(),
                        }, log, ct)));
                }
            }

            // 3. The log group, with a retention, so the function's logs do not pile up forever.
            if (current.LogGroup == null)
            {
                changes.Add(new AwsChange(spec.LogGroupName, "Create CloudWatch Logs log group (" + PublisherInstallSpec.LogRetentionDays + "-day retention)", async (log, ct) =>
                {
                    await _aws.InvokeAsync(AwsOperations.Logs.CreateLogGroup, new JsonObject
                    {
                        ["logGroupName"] = spec.LogGroupName,
                        ["tags"] = new JsonObject(spec.AllTags().Select(t => new KeyValuePair<string, JsonNode?>(t.Key, t.Value))),
                    }, log, ct).ConfigureAwait(false);
                    await _aws.InvokeAsync(AwsOperations.Logs.PutRetentionPolicy, new JsonObject { ["logGroupName"] = spec.LogGroupName, ["retentionInDays"] = PublisherInstallSpec.LogRetentionDays }, log, ct).ConfigureAwait(false);
                }));
            }

            // 4. The function: created, or its code and configuration updated where they differ.
            string codeHash = Convert.ToBase64String(Sha256(spec.Package));
            JsonObject configuration = FunctionConfiguration(spec, roleArn);
            JsonNode? existing = current.Function?["Configuration"];
            if (existing == null)
            {
                changes.Add(new AwsChange(spec.FunctionName, "Create Lambda function (" + PublisherInstallSpec.Runtime + ", " + (spec.Package.Length / 1024) + " KiB package)", async (log, ct) =>
                {
                    var input = (JsonObject)configuration.DeepClone();
                    input["Code"] = new JsonObject { ["ZipFile"] = Convert.ToBase64String(spec.Package) };
                    input["Tags"] = new JsonObject(spec.AllTags().Select(t => new KeyValuePair<string, JsonNode?>(t.Key, t.Value)));
                    await CreateFunctionAsync(input, roleCreated, log, ct).ConfigureAwait(false);
                    await WaitUntilReadyAsync(spec.FunctionName, log, ct).ConfigureAwait(false);
                }));
            }
            else
            {
                if ((string?)existing["CodeSha256"] != codeHash)
                {
                    changes.Add(new AwsChange(spec.FunctionName, "Update Lambda function code", async (log, ct) =>
                    {
                        await _aws.InvokeAsync(AwsOperations.Lambda.UpdateFunctionCode, new JsonObject { ["FunctionName"] = spec.FunctionName, ["ZipFile"] = Convert.ToBase64String(spec.Package) }, log, ct).ConfigureAwait(false);
                        await WaitUntilReadyAsync(spec.FunctionName, log, ct).ConfigureAwait(false);
                    }));
                }
                if (!SameFunctionConfiguration(configuration, existing))
                {
                    changes.Add(new AwsChange(spec.FunctionName, "Update Lambda function configuration", async (log, ct) =>
                    {
                        await WaitUntilReadyAsync(spec.FunctionName, log, ct).ConfigureAwait(false);
                        await _aws.InvokeAsync(AwsOperations.Lambda.UpdateFunctionConfiguration, configuration, log, ct).ConfigureAwait(false);
                        await WaitUntilReadyAsync(spec.FunctionName, log, ct).ConfigureAwait(false);
                    }));
                }
            }

            // 5. The schedule, its target and the permission that lets exactly this rule invoke the function.
            if (current.Rule == null || (string?)current.Rule["ScheduleExpression"] != spec.Schedule || (string?)current.Rule["State"] != "ENABLED")
            {
                changes.Add(new AwsChange(spec.RuleName, (current.Rule == null ? "Create" : "Update") + " EventBridge rule " + spec.Schedule, (log, ct) => _aws.InvokeAsync(AwsOperations.EventBridge.PutRule, new JsonObject
                {
                    ["Name"] = spec.RuleName,
                    ["ScheduleExpression"] = spec.Schedule,
                    ["State"] = "ENABLED",
                    ["Description"] = "Runs the PrefectScaling backlog publisher " + spec.Name,
                    ["Tags"] = new JsonArray(spec.AllTags().Select(t => (JsonNode)new JsonObject { ["Key"] = t.Key, ["Value"] = t.Value }).ToArray()),
                }, log, ct)));
            }
            if (current.Target == null || (string?)current.Target["Arn"] != current.FunctionArn)
            {
                changes.Add(new AwsChange(spec.RuleName, "Point the rule at the function", (log, ct) => _aws.InvokeAsync(AwsOperations.EventBridge.PutTargets, new JsonObject
                {
                    ["Rule"] = spec.RuleName,
                    ["Targets"] = new JsonArray(new JsonObject { ["Id"] = PublisherInstallSpec.TargetId, ["Arn"] = current.FunctionArn }),
                }, log, ct)));
            }
            if (current.Permission == null || PermissionSourceArn(current.Permission) != current.RuleArn)
            {
                bool replace = current.Permission != null;
                changes.Add(new AwsChange(spec.FunctionName, "Allow the rule (and only it) to invoke the function", async (log, ct) =>
                {
                    if (replace)
                        await _aws.InvokeAsync(AwsOperations.Lambda.RemovePermission, new JsonObject { ["FunctionName"] = spec.FunctionName, ["StatementId"] = spec.StatementId }, log, ct).ConfigureAwait(false);
                    await _aws.InvokeAsync(AwsOperations.Lambda.AddPermission, new JsonObject
                    {
                        ["FunctionName"] = spec.FunctionName,
                        ["StatementId"] = spec.StatementId,
                        ["Action"] = "lambda:InvokeFunction",
                        ["Principal"] = "events.amazonaws.com",
                        ["SourceArn"] = current.RuleArn,
                    }, log, ct).ConfigureAwait(false);
                }));
            }
            return changes;
        }

        /// <summary>The changes that remove every part Install created, in an order AWS accepts. Only the module's own
        /// parts: a function, rule, role or log group of that name that the module did not make is left alone
        /// (PublisherState.NotOwned says which). The parameter lives under the module's own /prefectscaling/ path.</summary>
        public List<AwsChange> PlanUninstall(PublisherState current)
        {
            string name = current.Name;
            var changes = new List<AwsChange>();
            if (current.Rule != null && current.RuleIsManaged)
            {
                if (current.Target != null)
                    changes.Add(new AwsChange(name, "Remove the EventBridge rule's target", (log, ct) => _aws.InvokeAsync(AwsOperations.EventBridge.RemoveTargets,
                        new JsonObject { ["Rule"] = name, ["Ids"] = new JsonArray(PublisherInstallSpec.TargetId) }, log, ct)));
                changes.Add(new AwsChange(current.RuleArn, "Delete EventBridge rule", (log, ct) => _aws.InvokeAsync(AwsOperations.EventBridge.DeleteRule, new JsonObject { ["Name"] = name }, log, ct)));
            }
            if (current.Function != null && current.FunctionIsManaged)
            {
                if (current.Permission != null)
                    changes.Add(new AwsChange(name, "Remove the invoke permission", (log, ct) => _aws.InvokeAsync(AwsOperations.Lambda.RemovePermission,
                        new JsonObject { ["FunctionName"] = name, ["StatementId"] = "prefectscaling-" + name }, log, ct)));
                changes.Add(new AwsChange(current.FunctionArn, "Delete Lambda function", (log, ct) => _aws.InvokeAsync(AwsOperations.Lambda.DeleteFunction, new JsonObject { ["FunctionName"] = name }, log, ct)));
            }
            if (current.Role != null && current.RoleIsManaged)
            {
                string roleName = PublisherInstallSpec.RoleNameFor(name);
                if (current.RolePolicy != null)
                    changes.Add(new AwsChange(roleName + "/" + PublisherInstallSpec.InlinePolicyName, "Delete the role's inline policy", (log, ct) => _aws.InvokeAsync(AwsOperations.Iam.DeleteRolePolicy,
                        new JsonObject { ["RoleName"] = roleName, ["PolicyName"] = PublisherInstallSpec.InlinePolicyName }, log, ct)));
                changes.Add(new AwsChange(current.ManagedRoleArn, "Delete IAM role", (log, ct) => _aws.InvokeAsync(AwsOperations.Iam.DeleteRole, new JsonObject { ["RoleName"] = roleName }, log, ct)));
            }
            if (current.SecretParameterExists)
            {
                string parameter = PublisherInstallSpec.SecretParameterNameFor(name);
                changes.Add(new AwsChange(parameter, "Delete SSM parameter", async (log, ct) => await _aws.DeleteParameterAsync(parameter, log, ct).ConfigureAwait(false)));
            }
            if (current.LogGroup != null && current.LogGroupIsManaged)
                changes.Add(new AwsChange("/aws/lambda/" + name, "Delete CloudWatch Logs log group", (log, ct) => _aws.InvokeAsync(AwsOperations.Logs.DeleteLogGroup,
                    new JsonObject { ["logGroupName"] = "/aws/lambda/" + name }, log, ct)));
            return changes;
        }

        internal static JsonObject TrustPolicy() => new JsonObject
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
        /// log group, the one ECS service it reads, and network interfaces only in a VPC.</summary>
        internal static JsonObject PublisherPolicy(PublisherInstallSpec spec, PublisherState at)
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
                    ["Resource"] = at.Arn("logs", at.Region, "log-group:" + spec.LogGroupName + ":*"),
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
            return new JsonObject { ["Version"] = "2012-10-17", ["Statement"] = statements };
        }

        private static JsonObject FunctionConfiguration(PublisherInstallSpec spec, string roleArn)
        {
            var variables = new JsonObject(spec.Configuration.ToEnvironment().OrderBy(v => v.Key, StringComparer.Ordinal)
                .Select(v => new KeyValuePair<string, JsonNode?>(v.Key, v.Value)));
            var configuration = new JsonObject
            {
                ["FunctionName"] = spec.FunctionName,
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
                if (!EcsScalingManager.Same(wanted[key], existing[key])) return false;
            JsonObject variables = (JsonObject)wanted["Environment"]!["Variables"]!;
            JsonObject? current = existing["Environment"]?["Variables"] as JsonObject;
            if (current == null || current.Count != variables.Count || !EcsScalingManager.Same(variables, current)) return false;
            JsonArray subnets = (JsonArray)wanted["VpcConfig"]!["SubnetIds"]!;
            JsonArray groups = (JsonArray)wanted["VpcConfig"]!["SecurityGroupIds"]!;
            return SameSet(subnets, existing["VpcConfig"]?["SubnetIds"]) && SameSet(groups, existing["VpcConfig"]?["SecurityGroupIds"]);
        }

        private static bool SameSet(JsonArray wanted, JsonNode? existing)
        {
            var have = (existing as JsonArray)?.Select(n => (string?)n).ToList() ?? new List<string?>();
            return wanted.Count == have.Count && wanted.Select(n => (string?)n).OrderBy(s => s).SequenceEqual(have.OrderBy(s => s));
        }

        private static bool SamePolicy(JsonObject wanted, JsonNode existing) =>
            EcsScalingManager.Same(wanted, existing) && ((existing["Statement"] as JsonArray)?.Count ?? -1) == ((JsonArray)wanted["Statement"]!).Count;

        private static string? PermissionSourceArn(JsonObject statement) =>
            (string?)statement["Condition"]?["ArnLike"]?["AWS:SourceArn"] ?? (string?)statement["Condition"]?["ArnEquals"]?["AWS:SourceArn"];

        /// <summary>A role IAM has only just created cannot be assumed by Lambda for some seconds: retry until it can.</summary>
        private async Task CreateFunctionAsync(JsonObject input, bool roleJustCreated, IEngineLog log, CancellationToken ct)
        {
            DateTime giveUp = DateTime.UtcNow + (roleJustCreated ? RolePropagation : TimeSpan.Zero);
            while (true)
            {
                try
                {
                    await _aws.InvokeAsync(AwsOperations.Lambda.CreateFunction, input, log, ct).ConfigureAwait(false);
                    return;
                }
                catch (AwsApiException e) when (e.ErrorCode == "InvalidParameterValueException" && e.Message.IndexOf("assume", StringComparison.OrdinalIgnoreCase) >= 0 && DateTime.UtcNow < giveUp)
                {
                    log.Verbose("The new IAM role is not usable by Lambda yet; trying again in 5 s.");
                    await Task.Delay(TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
                }
            }
        }

        /// <summary>Waits until the function is Active and no update is in progress.</summary>
        private async Task WaitUntilReadyAsync(string name, IEngineLog log, CancellationToken ct)
        {
            DateTime giveUp = DateTime.UtcNow + FunctionReady;
            while (true)
            {
                JsonNode? configuration = await _aws.InvokeAsync(AwsOperations.Lambda.GetFunctionConfiguration, new JsonObject { ["FunctionName"] = name }, log, ct).ConfigureAwait(false);
                string state = (string?)configuration?["State"] ?? "Active";
                string update = (string?)configuration?["LastUpdateStatus"] ?? "Successful";
                if (state == "Failed" || update == "Failed")
                    throw new AwsApiException(AwsErrorKind.ServiceError, "Lambda", "GetFunctionConfiguration",
                        "The Lambda function " + name + " failed to become ready: " + ((string?)configuration?["StateReason"] ?? (string?)configuration?["LastUpdateStatusReason"] ?? state) + ".");
                if (state == "Active" && update != "InProgress") return;
                if (DateTime.UtcNow > giveUp)
                    throw new AwsApiException(AwsErrorKind.ServiceError, "Lambda", "GetFunctionConfiguration", "The Lambda function " + name + " was not ready after " + FunctionReady.TotalMinutes + " minutes (state " + state + ", update " + update + ").");
                log.Verbose("Waiting for the Lambda function " + name + " (state " + state + ", update " + update + ").");
                await Task.Delay(TimeSpan.FromSeconds(2), ct).ConfigureAwait(false);
            }
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

        internal static string Partition(string region) =>
            region.StartsWith("cn-", StringComparison.Ordinal) ? "aws-cn" : region.StartsWith("us-gov-", StringComparison.Ordinal) ? "aws-us-gov" : "aws";

        private static byte[] Sha256(byte[] data)
        {
            using var sha = SHA256.Create();
            return sha.ComputeHash(data);
        }

        internal static string Hash(string secret) => Convert.ToBase64String(Sha256(Encoding.UTF8.GetBytes(secret)));
    }
}
