using System;
using System.Collections.Generic;
using System.Linq;
using System.Net;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using System.Globalization;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;

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

            state.BindingParameters = await ReadBindingParametersAsync(names, log, ct).ConfigureAwait(false);

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
            state.SampleQueue = await PublisherQueuePlan.ReadAsync(_aws, state, log, ct).ConfigureAwait(false);
            await PublisherDashboard.ReadAsync(_aws, state, dashboardBindings, log, ct).ConfigureAwait(false);
            return state;
        }

        /// <summary>The latest log line of the function that reported task protection within the last few minutes (one
        /// FilterLogEvents on its log group, a few pages at most), with when it was written; null when there is none.</summary>
        public async Task<(DateTime At, IReadOnlyList<(string Binding, string? Run, string Why)> Unprotected)?> ReadLastProtectionAsync(PublisherNames names, IEngineLog log, CancellationToken ct)
        {
            const int maxPages = 5;
            long since = DateTimeOffset.UtcNow.AddMinutes(-PrefectBacklogPublisher.ProtectionReportWindowMinutes).ToUnixTimeMilliseconds();
            var input = new JsonObject
            {
                ["logGroupName"] = names.LogGroupName,
                ["startTime"] = since,
                ["filterPattern"] = "\"" + Protection.ProtectionLogLine.UnprotectedRuns + "\"",
                ["limit"] = 100,
            };
            (long At, string Message)? latest = null;
            for (int page = 0; page < maxPages; page++)
            {
                JsonNode? answer;
                try
                {
                    answer = await _aws.InvokeAsync(AwsOperations.Logs.FilterLogEvents, input, log, ct).ConfigureAwait(false);
                }
                catch (AwsApiException e) when (e.Kind == AwsErrorKind.NotFound)
                {
                    return null; // no log group yet: the function never ran
                }
                foreach (JsonObject e in (answer?["events"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                {
                    long at = (long?)e["timestamp"] ?? 0;
                    if ((string?)e["message"] is string message && (latest == null || at >= latest.Value.At)) latest = (at, message);
                }
                string? next = (string?)answer?["nextToken"];
                if (string.IsNullOrEmpty(next)) break;
                input["nextToken"] = next;
            }
            if (latest == null) return null;
            IReadOnlyList<(string, string?, string)>? runs = Protection.ProtectionLogLine.Read(latest.Value.Message.Trim());
            return runs == null ? null : (DateTimeOffset.FromUnixTimeMilliseconds(latest.Value.At).UtcDateTime, runs);
        }

        /// <summary>When each binding's first measure last had a datum, by resource id: one GetMetricData call for up to
        /// 500 bindings (its limit of queries), over the last few hours, a few pages at most.</summary>
        public async Task<Dictionary<string, DateTime?>> ReadLastPublishedAsync(PublisherConfiguration configuration, IReadOnlyList<ServiceBinding> bindings, IEngineLog log, CancellationToken ct)
        {
            const int queriesPerCall = 500, maxPages = 5;
            var last = bindings.ToDictionary(b => b.ResourceId, b => (DateTime?)null, StringComparer.Ordinal);
            BacklogMeasure measure = configuration.Measures[0];
            DateTime now = DateTime.UtcNow;
            for (int start = 0; start < bindings.Count; start += queriesPerCall)
            {
                List<ServiceBinding> batch = bindings.Skip(start).Take(queriesPerCall).ToList();
                var queries = new JsonArray();
                for (int i = 0; i < batch.Count; i++)
                {
                    MetricSeries series = BindingSeries.Backlog(configuration.Metric, batch[i], measure);
                    queries.Add(new JsonObject
                    {
                        ["Id"] = "b" + i.ToString(CultureInfo.InvariantCulture),
                        ["MetricStat"] = new JsonObject
                        {
                            ["Metric"] = new JsonObject
                            {
                                ["Namespace"] = series.Namespace,
                                ["MetricName"] = series.MetricName,
                                ["Dimensions"] = new JsonArray(series.Dimensions.Select(d => (JsonNode)new JsonObject { ["Name"] = d.Key, ["Value"] = d.Value }).ToArray()),
                            },
                            ["Period"] = 60,
                            ["Stat"] = "SampleCount",
                        },
                        ["ReturnData"] = true,
                    });
                }
                var input = new JsonObject
                {
                    ["MetricDataQueries"] = queries,
                    ["StartTime"] = Iso(now.AddHours(-PublisherBinding.LastPublishedWindowHours)),
                    ["EndTime"] = Iso(now.AddMinutes(5)),
                    ["ScanBy"] = "TimestampDescending",
                };
                for (int page = 0; page < maxPages; page++)
                {
                    JsonNode? answer = await _aws.InvokeAsync(AwsOperations.CloudWatch.GetMetricData, input, log, ct).ConfigureAwait(false);
                    foreach (JsonObject result in (answer?["MetricDataResults"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                    {
                        if (!((string?)result["Id"] is string id) || !int.TryParse(id.Substring(1), NumberStyles.None, CultureInfo.InvariantCulture, out int index) || index >= batch.Count) continue;
                        foreach (JsonNode? stamp in result["Timestamps"] as JsonArray ?? new JsonArray())
                        {
                            if (!DateTime.TryParse((string?)stamp, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime at)) continue;
                            string key = batch[index].ResourceId;
                            if (last[key] == null || at > last[key]) last[key] = at;
                        }
                    }
                    string? next = (string?)answer?["NextToken"];
                    if (string.IsNullOrEmpty(next)) break;
                    input["NextToken"] = next;
                }
            }
            return last;
        }

        private static string Iso(DateTime time) => time.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

        /// <summary>Every parameter under the bindings path with the binding it holds and whether the module wrote it (its
        /// tags, read a few parameters at a time).</summary>
        private async Task<IReadOnlyList<BindingParameter>> ReadBindingParametersAsync(PublisherNames names, IEngineLog log, CancellationToken ct)
        {
            IReadOnlyList<SsmParameterInfo> parameters = await _aws.GetParametersByPathAsync(names.BindingsPath, PublisherBindings.MaxBindings, log, ct).ConfigureAwait(false);
            using var gate = new SemaphoreSlim(4);
            BindingParameter[] read = await Task.WhenAll(parameters.Select(async parameter =>
            {
                await gate.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    IReadOnlyDictionary<string, string>? tags = await _aws.ListParameterTagsAsync(parameter.Name, log, ct).ConfigureAwait(false);
                    bool managed = tags != null && TagsNamePublisher(new JsonObject(tags.Select(t => new KeyValuePair<string, JsonNode?>(t.Key, t.Value))), names.Name);
                    return new BindingParameter(parameter.Name, parameter.Value, PublisherBindings.Parse(names.BindingsPath, parameter.Name, parameter.Value), managed);
                }
                finally
                {
                    gate.Release();
                }
            })).ConfigureAwait(false);
            return read.OrderBy(p => p.Name, StringComparer.Ordinal).ToList();
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
