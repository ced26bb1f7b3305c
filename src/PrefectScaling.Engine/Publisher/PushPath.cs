using System;
using System.Collections.Generic;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;
using PrefectScaling.Bindings;
using PrefectScaling.Prefect;
using PrefectScaling.Scaling;

namespace PrefectScaling.Publisher
{
    /// <summary>What exists of one publisher's push path, on both sides. The shared secret is held only to compare and
    /// reuse it; nothing prints it.</summary>
    public sealed class PushState
    {
        public PushState(PublisherNames names)
        {
            Names = names;
        }

        public PublisherNames Names { get; }
        public bool FunctionExists { get; internal set; }
        public JsonObject? UrlConfig { get; internal set; }
        public string? FunctionUrl => (string?)UrlConfig?["FunctionUrl"];
        public JsonObject? UrlPermission { get; internal set; }
        public JsonObject? UrlInvokePermission { get; internal set; }
        public int? ReservedConcurrency { get; internal set; }
        public bool SecretParameterExists { get; internal set; }
        internal string? Secret { get; set; }

        /// <summary>The Prefect side was read (a server to ask was known and answered).</summary>
        public bool PrefectRead { get; internal set; }
        public PrefectWebhookBlock? Block { get; internal set; }

        /// <summary>The block of the module's exact name carries the publisher's marker header.</summary>
        public bool BlockIsManaged { get; internal set; }

        /// <summary>The automations the module made for this publisher (its exact tag and description marker).</summary>
        public IReadOnlyList<JsonObject> Automations { get; internal set; } = Array.Empty<JsonObject>();

        /// <summary>Anything of the push path exists on the AWS side.</summary>
        public bool AnyOnAws => UrlConfig != null || UrlPermission != null || UrlInvokePermission != null || ReservedConcurrency != null || SecretParameterExists;
    }

    /// <summary>The push path: a function URL on the publisher function (auth NONE, with both permissions a public URL
    /// needs), a random shared secret in an SSM SecureString parameter, reserved concurrency that caps what a flood can
    /// run, and on the Prefect server a Webhook block (the URL and the secret as its encrypted header) and one
    /// automation per binding that calls it when a run of the binding's pools or queues turns Late. Read, planned
    /// (install, re-install in place, removal) and tested here.</summary>
    public sealed class PushPath
    {
        public const int DefaultConcurrency = 5;
        public const int DefaultWithinSeconds = 15;

        /// <summary>The header that carries the shared secret (function URLs hand headers over lower-cased).</summary>
        public const string TokenHeader = "X-PrefectScaling-Token";

        /// <summary>Names the publisher in the block's headers: the module's marker on the block it made.</summary>
        public const string PublisherHeader = "X-PrefectScaling-Publisher";

        public const string TestEvent = "prefectscaling.push.test";

        /// <summary>The payload the automation sends: the event, its id and time, the run, its pool and queue. tojson
        /// keeps names with quotes in them valid JSON.</summary>
        public const string Payload = "{\"source\":\"prefect\",\"event\":{{ event.event | tojson }},\"event_id\":{{ event.id | string | tojson }}," +
            "\"occurred\":{{ event.occurred.isoformat() | tojson }},\"flow_run\":{{ event.resource.id | tojson }}," +
            "\"work_pool\":{{ work_pool.name | tojson }},\"work_queue\":{{ work_queue.name | tojson }}}";

        private const int SecretBytes = 32;

        private readonly AwsContext _aws;
        private readonly PrefectPushWriter? _prefect;
        private readonly LambdaWaiter _lambda;

        /// <summary>prefect: the server the automations live on; null reads and plans the AWS side only.</summary>
        public PushPath(AwsContext aws, PrefectClient? prefect)
        {
            _aws = aws;
            _prefect = prefect == null ? null : new PrefectPushWriter(prefect);
            _lambda = new LambdaWaiter(aws);
        }

        public static string PublisherTag(string publisher) => "prefectscaling-publisher:" + publisher;

        public static string DescriptionMarker(string publisher) => "Managed by PrefectScaling for the publisher " + publisher + ".";

        /// <summary>Block names take lower-case letters, digits and dashes: the publisher's name folded into them, with a
        /// short hash of the real name when folding changed it, so that two publishers never share a block.</summary>
        public static string BlockName(string publisher)
        {
            string folded = new string(publisher.ToLowerInvariant().Select(c => (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '-').ToArray());
            if (folded != publisher)
            {
                using var sha = SHA256.Create();
                folded += "-" + BitConverter.ToString(sha.ComputeHash(Encoding.UTF8.GetBytes(publisher)), 0, 4).Replace("-", string.Empty).ToLowerInvariant();
            }
            return "prefectscaling-push-" + folded;
        }

        public static string AutomationName(string publisher, ServiceBinding binding) => "PrefectScaling push " + publisher + ": " + binding.ResourceId;

        /// <summary>A binding's automation: a reactive trigger on prefect.flow-run.Late for runs of its pools and queues,
        /// debounced by within, calling the publisher's Webhook block with the payload. The trigger matches by name
        /// the pools (and queues) the binding names; the function checks the exact pool and queue again.</summary>
        public static JsonObject Automation(string publisher, ServiceBinding binding, string blockId, int withinSeconds)
        {
            List<string> pools = binding.Scope.Pools.Select(p => p.Pool).ToList();
            List<string> queues = binding.Scope.AnyPoolQueues.ToList();
            var roles = new JsonArray();
            if (pools.Count > 0) roles.Add("work-pool");
            if (queues.Count > 0) roles.Add("work-queue");
            var names = new JsonArray(pools.Concat(queues).Distinct(StringComparer.Ordinal).OrderBy(n => n, StringComparer.Ordinal).Select(n => (JsonNode?)JsonValue.Create(n)).ToArray());
            return new JsonObject
            {
                ["name"] = AutomationName(publisher, binding),
                ["description"] = DescriptionMarker(publisher) + " Wakes it when a run of " + binding.Scope + " turns Late, for " + binding.ResourceId + ". Install-PrefectBacklogPublisher rewrites it; Uninstall-PrefectBacklogPublisher removes it.",
                ["enabled"] = true,
                ["tags"] = new JsonArray("prefectscaling", PublisherTag(publisher)),
                ["trigger"] = new JsonObject
                {
                    ["type"] = "event",
                    ["posture"] = "Reactive",
                    ["match"] = new JsonObject { ["prefect.resource.id"] = "prefect.flow-run.*" },
                    ["match_related"] = new JsonObject { ["prefect.resource.role"] = roles, ["prefect.resource.name"] = names },
                    ["after"] = new JsonArray(),
                    ["expect"] = new JsonArray("prefect.flow-run.Late"),
                    ["for_each"] = new JsonArray(),
                    ["threshold"] = 1,
                    ["within"] = withinSeconds,
                },
                ["actions"] = new JsonArray(new JsonObject { ["type"] = "call-webhook", ["block_document_id"] = blockId, ["payload"] = Payload }),
                ["actions_on_trigger"] = new JsonArray(),
                ["actions_on_resolve"] = new JsonArray(),
            };
        }

        /// <summary>The fields of an automation the module writes, in one canonical form, so that one read from the
        /// server and one built here compare equal when nothing needs rewriting.</summary>
        internal static string Fingerprint(JsonObject automation)
        {
            JsonNode? trigger = automation["trigger"];
            JsonObject? action = (automation["actions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault();
            double within = Number(trigger?["within"]) ?? -1;
            var canonical = new JsonObject
            {
                ["name"] = (string?)automation["name"],
                ["description"] = (string?)automation["description"],
                ["enabled"] = automation["enabled"] is JsonValue e && e.TryGetValue(out bool on) && on,
                ["tags"] = Sorted(automation["tags"]),
                ["posture"] = (string?)trigger?["posture"],
                ["match"] = trigger?["match"]?.DeepClone(),
                ["roles"] = Sorted(trigger?["match_related"]?["prefect.resource.role"]),
                ["names"] = Sorted(trigger?["match_related"]?["prefect.resource.name"]),
                ["expect"] = Sorted(trigger?["expect"]),
                ["after"] = Sorted(trigger?["after"]),
                ["for_each"] = Sorted(trigger?["for_each"]),
                ["threshold"] = Number(trigger?["threshold"]),
                ["within"] = within,
                ["actions"] = ((automation["actions"] as JsonArray)?.Count ?? 0) + ":" + (string?)action?["type"] + ":" + (string?)action?["block_document_id"] + ":" + (string?)action?["payload"],
            };
            return canonical.ToJsonString();
        }

        // A number as written (15, or 15.0 as the server answers), whatever the node holds.
        private static double? Number(JsonNode? node) =>
            node is JsonValue && double.TryParse(node.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double d) ? d : (double?)null;

        private static JsonArray Sorted(JsonNode? node) =>
            new JsonArray((node is JsonArray list ? list.Select(n => n is JsonValue ? (string?)n.ToString() : null) : node is JsonValue single ? new[] { single.ToString() } : Array.Empty<string?>())
                .OrderBy(s => s, StringComparer.Ordinal).Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());

        /// <summary>The Webhook block's data: POST to the URL with the secret and the marker as headers.</summary>
        public static JsonObject BlockData(string url, string secret, string publisher, bool allowPrivateUrls) => new JsonObject
        {
            ["method"] = "POST",
            ["url"] = url,
            ["headers"] = new JsonObject
            {
                ["Content-Type"] = "application/json",
                [TokenHeader] = secret,
                [PublisherHeader] = publisher,
            },
            ["allow_private_urls"] = allowPrivateUrls,
            ["verify"] = true,
        };

        /// <summary>A new random secret: 32 bytes, base64url.</summary>
        public static string NewSecret()
        {
            var bytes = new byte[SecretBytes];
            using (var random = RandomNumberGenerator.Create()) random.GetBytes(bytes);
            return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        }

        // ---- reading ----

        /// <summary>Reads both sides. withSecret: also the stored secret (to reuse and compare it, never to show it).
        /// The Prefect side only when this path was given a server.</summary>
        public async Task<PushState> ReadAsync(PublisherNames names, bool withSecret, IEngineLog log, CancellationToken ct)
        {
            var state = new PushState(names);
            state.FunctionExists = await OrNull(AwsOperations.Lambda.GetFunctionConfiguration, new JsonObject { ["FunctionName"] = names.FunctionName }, log, ct).ConfigureAwait(false) != null;
            if (state.FunctionExists)
            {
                state.UrlConfig = await OrNull(AwsOperations.Lambda.GetFunctionUrlConfig, new JsonObject { ["FunctionName"] = names.FunctionName }, log, ct).ConfigureAwait(false) as JsonObject;
                if (await OrNull(AwsOperations.Lambda.GetPolicy, new JsonObject { ["FunctionName"] = names.FunctionName }, log, ct).ConfigureAwait(false) is JsonNode policy
                    && PublisherReader.ParsePolicy((string?)policy["Policy"])?["Statement"] is JsonArray statements)
                {
                    state.UrlPermission = statements.OfType<JsonObject>().FirstOrDefault(s => (string?)s["Sid"] == names.UrlStatementId);
                    state.UrlInvokePermission = statements.OfType<JsonObject>().FirstOrDefault(s => (string?)s["Sid"] == names.UrlInvokeStatementId);
                }
                JsonNode? concurrency = await OrNull(AwsOperations.Lambda.GetFunctionConcurrency, new JsonObject { ["FunctionName"] = names.FunctionName }, log, ct).ConfigureAwait(false);
                state.ReservedConcurrency = concurrency?["ReservedConcurrentExecutions"] is JsonValue n && n.TryGetValue(out int reserved) ? reserved
                    : int.TryParse((string?)(concurrency?["ReservedConcurrentExecutions"] as JsonValue)?.ToString(), out int parsed) ? parsed : (int?)null;
            }
            SsmParameterInfo? secret = await _aws.GetParameterAsync(names.PushSecretParameterName, withSecret, log, ct).ConfigureAwait(false);
            state.SecretParameterExists = secret != null;
            if (withSecret) state.Secret = secret?.Value;

            if (_prefect != null)
            {
                state.Block = await _prefect.ReadWebhookBlockAsync(BlockName(names.Name), log, ct).ConfigureAwait(false);
                state.BlockIsManaged = state.Block != null && (string?)state.Block.Data["headers"]?[PublisherHeader] == names.Name;
                IReadOnlyList<JsonObject> tagged = await _prefect.ReadAutomationsTaggedAsync(PublisherTag(names.Name), log, ct).ConfigureAwait(false);
                state.Automations = tagged.Where(a => ((string?)a["description"])?.StartsWith(DescriptionMarker(names.Name), StringComparison.Ordinal) == true).ToList();
                state.PrefectRead = true;
            }
            return state;
        }

        /// <summary>Whether the publisher has a push path, or the start of one, to read: its function takes pushes
        /// (the environment names the secret's parameter), or the secret's parameter exists (Install makes it first).
        /// Asked before the push path's own reads, so that a publisher without one needs no permission for them.</summary>
        public async Task<bool> PresentAsync(PublisherState current, IEngineLog log, CancellationToken ct)
        {
            if (current.Function?["Configuration"]?["Environment"]?["Variables"]?[PublisherConfiguration.PushSecretParameterVariable] != null) return true;
            return await _aws.GetParameterAsync(current.Names.PushSecretParameterName, false, log, ct).ConfigureAwait(false) != null;
        }

        /// <summary>Fails clearly when the server cannot hold automations (before anything changes).</summary>
        public Task EnsurePrefectSupportsAsync(IEngineLog log, CancellationToken ct) =>
            (_prefect ?? throw new InvalidOperationException("No Prefect server was given.")).EnsureAutomationsAsync(log, ct);

        // ---- planning ----

        /// <summary>The changes that make the push path match the spec, after the publisher's own (the function must
        /// exist first). A part already as wanted is left alone, so planning again after applying plans nothing.</summary>
        public List<AwsChange> PlanInstall(PublisherInstallSpec spec, PushState state)
        {
            if (_prefect == null) throw new InvalidOperationException("The push path is installed on a Prefect server; none was given.");
            if (state.Block != null && !state.BlockIsManaged)
                throw new ResourceOwnershipException("PushBlockTaken", "The Prefect server has a Webhook block named " + state.Block.Name + " that PrefectScaling did not make for the publisher " + spec.Name +
                    ". Nothing was changed; choose another -Name, or remove the block yourself.");
            PublisherNames names = spec.Names;
            var changes = new List<AwsChange>();
            string secret = state.Secret ?? NewSecret();
            var made = new Made { Url = spec.PushUrl?.AbsoluteUri ?? state.FunctionUrl, BlockId = state.BlockIsManaged ? state.Block!.Id : null };

            if (state.Secret == null)
                changes.Add(new AwsChange(names.PushSecretParameterName, (state.SecretParameterExists ? "Replace" : "Create") + " SSM SecureString parameter with a new random push secret",
                    (log, ct) => _aws.PutSecureStringParameterAsync(names.PushSecretParameterName, secret, "Push secret of the PrefectScaling publisher " + spec.Name, spec.AllTags(), log, ct)));

            if (state.UrlConfig == null)
            {
                changes.Add(new AwsChange(names.FunctionName, "Create the function URL (auth NONE: the push secret authenticates)", async (log, ct) =>
                {
                    await _lambda.WaitUntilReadyAsync(names.FunctionName, log, ct).ConfigureAwait(false);
                    JsonNode? created = await _aws.InvokeAsync(AwsOperations.Lambda.CreateFunctionUrlConfig, new JsonObject
                    {
                        ["FunctionName"] = names.FunctionName,
                        ["AuthType"] = "NONE",
                        ["InvokeMode"] = "BUFFERED",
                    }, log, ct).ConfigureAwait(false);
                    if (spec.PushUrl == null) made.Url = (string?)created?["FunctionUrl"];
                }));
            }
            else if ((string?)state.UrlConfig["AuthType"] != "NONE")
            {
                changes.Add(new AwsChange(names.FunctionName, "Set the function URL's auth to NONE (the push secret authenticates)", (log, ct) => _aws.InvokeAsync(AwsOperations.Lambda.UpdateFunctionUrlConfig,
                    new JsonObject { ["FunctionName"] = names.FunctionName, ["AuthType"] = "NONE" }, log, ct)));
            }

            if (!IsUrlPermission(state.UrlPermission))
                changes.Add(Permission(names, names.UrlStatementId, state.UrlPermission != null, "Allow public calls of the function URL (lambda:InvokeFunctionUrl, FunctionUrlAuthType NONE)", new JsonObject
                {
                    ["Action"] = "lambda:InvokeFunctionUrl",
                    ["Principal"] = "*",
                    ["FunctionUrlAuthType"] = "NONE",
                }));
            if (!IsUrlInvokePermission(state.UrlInvokePermission))
                changes.Add(Permission(names, names.UrlInvokeStatementId, state.UrlInvokePermission != null, "Allow the function URL, and only it, to invoke the function (lambda:InvokeFunction, InvokedViaFunctionUrl)", new JsonObject
                {
                    ["Action"] = "lambda:InvokeFunction",
                    ["Principal"] = "*",
                    ["InvokedViaFunctionUrl"] = true,
                }));

            if (state.ReservedConcurrency != spec.PushConcurrency)
                changes.Add(new AwsChange(names.FunctionName, "Reserve " + spec.PushConcurrency + " concurrent executions for the function (caps what a flood of calls can run)",
                    (log, ct) => _aws.InvokeAsync(AwsOperations.Lambda.PutFunctionConcurrency, new JsonObject { ["FunctionName"] = names.FunctionName, ["ReservedConcurrentExecutions"] = spec.PushConcurrency }, log, ct)));

            // The Prefect side: the block, then the automations that name it.
            string blockName = BlockName(spec.Name);
            bool privateUrls = spec.PushUrl != null;
            bool blockCurrent = state.BlockIsManaged && made.Url != null && state.Secret != null
                && JsonNode.DeepEquals(state.Block!.Data, BlockData(made.Url, secret, spec.Name, privateUrls));
            if (!blockCurrent)
            {
                bool exists = state.BlockIsManaged;
                changes.Add(new AwsChange(_prefect.ServerUrl + " block " + blockName, (exists ? "Update" : "Create") + " the Webhook block that calls " + (spec.PushUrl != null ? "the push URL" : "the function URL") + " with the push secret", async (log, ct) =>
                {
                    made.Url ??= (string?)(await _aws.InvokeAsync(AwsOperations.Lambda.GetFunctionUrlConfig, new JsonObject { ["FunctionName"] = names.FunctionName }, log, ct).ConfigureAwait(false))?["FunctionUrl"];
                    if (made.Url == null) throw new InvalidOperationException("The function " + names.FunctionName + " has no URL to point the Webhook block at.");
                    (string typeId, string schemaId) = await _prefect.WebhookSchemaAsync(log, ct).ConfigureAwait(false);
                    JsonObject data = BlockData(made.Url, secret, spec.Name, privateUrls);
                    if (exists) await _prefect.UpdateWebhookBlockAsync(made.BlockId!, schemaId, data, log, ct).ConfigureAwait(false);
                    else made.BlockId = await _prefect.CreateWebhookBlockAsync(blockName, typeId, schemaId, data, log, ct).ConfigureAwait(false);
                }));
            }

            var owned = state.Automations.ToDictionary(a => (string?)a["name"] ?? string.Empty, StringComparer.Ordinal);
            var wanted = new HashSet<string>(StringComparer.Ordinal);
            foreach (ServiceBinding binding in spec.Configuration.Bindings.OrderBy(b => b.ResourceId, StringComparer.Ordinal))
            {
                string name = AutomationName(spec.Name, binding);
                wanted.Add(name);
                owned.TryGetValue(name, out JsonObject? existing);
                if (existing != null && made.BlockId != null && Fingerprint(existing) == Fingerprint(Automation(spec.Name, binding, made.BlockId, spec.PushWithinSeconds))) continue;
                string? id = (string?)existing?["id"];
                changes.Add(new AwsChange(_prefect.ServerUrl + " automation " + name, (id != null ? "Update" : "Create") + " the automation that wakes the publisher when a run of " + binding.Scope + " turns Late (debounced " + spec.PushWithinSeconds + " s)", async (log, ct) =>
                {
                    JsonObject body = Automation(spec.Name, binding, made.BlockId ?? throw new InvalidOperationException("The Webhook block was not made."), spec.PushWithinSeconds);
                    if (id != null) await _prefect.UpdateAutomationAsync(id, body, log, ct).ConfigureAwait(false);
                    else await _prefect.CreateAutomationAsync(body, log, ct).ConfigureAwait(false);
                }));
            }
            foreach (JsonObject stale in state.Automations.Where(a => !wanted.Contains((string?)a["name"] ?? string.Empty)))
                changes.Add(DeleteAutomation(stale));
            return changes;
        }

        /// <summary>The changes that remove every part of the push path the module made, Prefect's side first (so that
        /// nothing calls a URL that is gone). The function's own removal takes its URL too; it is listed all the same.</summary>
        public List<AwsChange> PlanRemoval(PushState state)
        {
            PublisherNames names = state.Names;
            var changes = new List<AwsChange>();
            foreach (JsonObject automation in state.Automations) changes.Add(DeleteAutomation(automation));
            if (state.BlockIsManaged && _prefect != null)
            {
                string id = state.Block!.Id;
                changes.Add(new AwsChange(_prefect.ServerUrl + " block " + state.Block.Name, "Delete the push path's Webhook block", (log, ct) => _prefect.DeleteBlockAsync(id, log, ct)));
            }
            if (state.UrlInvokePermission != null) changes.Add(RemovePermission(names, names.UrlInvokeStatementId, "Remove the function URL's invoke permission"));
            if (state.UrlPermission != null) changes.Add(RemovePermission(names, names.UrlStatementId, "Remove the function URL's public permission"));
            if (state.UrlConfig != null)
                changes.Add(new AwsChange(names.FunctionName, "Delete the function URL", (log, ct) => _aws.InvokeAsync(AwsOperations.Lambda.DeleteFunctionUrlConfig, new JsonObject { ["FunctionName"] = names.FunctionName }, log, ct)));
            if (state.ReservedConcurrency != null)
                changes.Add(new AwsChange(names.FunctionName, "Remove the function's reserved concurrency", (log, ct) => _aws.InvokeAsync(AwsOperations.Lambda.DeleteFunctionConcurrency, new JsonObject { ["FunctionName"] = names.FunctionName }, log, ct)));
            if (state.SecretParameterExists)
                changes.Add(new AwsChange(names.PushSecretParameterName, "Delete SSM parameter with the push secret", async (log, ct) => await _aws.DeleteParameterAsync(names.PushSecretParameterName, log, ct).ConfigureAwait(false)));
            return changes;
        }

        private AwsChange DeleteAutomation(JsonObject automation)
        {
            string id = (string?)automation["id"] ?? string.Empty;
            return new AwsChange(_prefect!.ServerUrl + " automation " + (string?)automation["name"], "Delete the push path's automation", (log, ct) => _prefect.DeleteAutomationAsync(id, log, ct));
        }

        private AwsChange Permission(PublisherNames names, string statementId, bool replace, string action, JsonObject grant) =>
            new AwsChange(names.FunctionName, action, async (log, ct) =>
            {
                if (replace)
                    await _aws.InvokeAsync(AwsOperations.Lambda.RemovePermission, new JsonObject { ["FunctionName"] = names.FunctionName, ["StatementId"] = statementId }, log, ct).ConfigureAwait(false);
                grant["FunctionName"] = names.FunctionName;
                grant["StatementId"] = statementId;
                await _aws.InvokeAsync(AwsOperations.Lambda.AddPermission, grant, log, ct).ConfigureAwait(false);
            });

        private AwsChange RemovePermission(PublisherNames names, string statementId, string action) =>
            new AwsChange(names.FunctionName, action, async (log, ct) =>
            {
                try
                {
                    await _aws.InvokeAsync(AwsOperations.Lambda.RemovePermission, new JsonObject { ["FunctionName"] = names.FunctionName, ["StatementId"] = statementId }, log, ct).ConfigureAwait(false);
                }
                catch (AwsApiException e) when (e.Kind == AwsErrorKind.NotFound)
                {
                    log.Verbose("The permission " + statementId + " was already gone.");
                }
            });

        /// <summary>lambda:InvokeFunctionUrl for everyone with auth NONE: AWS answers the grant as a condition
        /// (lambda:FunctionUrlAuthType), moto keeps the field as it was given.</summary>
        internal static bool IsUrlPermission(JsonObject? statement) =>
            statement != null && (string?)statement["Action"] == "lambda:InvokeFunctionUrl" && IsEveryone(statement["Principal"])
            && ((string?)statement["Condition"]?["StringEquals"]?["lambda:FunctionUrlAuthType"] == "NONE" || (string?)statement["FunctionUrlAuthType"] == "NONE");

        /// <summary>lambda:InvokeFunction for everyone, only through the function URL (lambda:InvokedViaFunctionUrl).</summary>
        internal static bool IsUrlInvokePermission(JsonObject? statement) =>
            statement != null && (string?)statement["Action"] == "lambda:InvokeFunction" && IsEveryone(statement["Principal"])
            && (IsTrue(statement["Condition"]?["Bool"]?["lambda:InvokedViaFunctionUrl"]) || IsTrue(statement["InvokedViaFunctionUrl"]));

        private static bool IsEveryone(JsonNode? principal) => (principal is JsonValue ? (string?)principal : (string?)principal?["AWS"]) == "*";

        private static bool IsTrue(JsonNode? node) => node is JsonValue v && (v.TryGetValue(out bool b) ? b : string.Equals(v.ToString(), "true", StringComparison.OrdinalIgnoreCase));

        // ---- the test event ----

        /// <summary>Test-PrefectBacklogPublisher -Push: one authenticated test event to the function URL (or pushUrl),
        /// with the secret read from SSM here, so that no caller ever holds it.</summary>
        public async Task<(int Status, string Answer, TimeSpan Took)> TestAsync(PublisherNames names, Uri? pushUrl, IEngineLog log, CancellationToken ct)
        {
            PushState state = await ReadAsync(names, withSecret: true, log, ct).ConfigureAwait(false);
            string secret = state.Secret ?? throw new InvalidOperationException("The publisher " + names.Name + " has no push secret (" + names.PushSecretParameterName + "); install the push path with Install-PrefectBacklogPublisher -Push.");
            Uri url = pushUrl ?? (state.FunctionUrl is string functionUrl ? new Uri(functionUrl) : throw new InvalidOperationException("The function " + names.FunctionName + " has no URL; install the push path with Install-PrefectBacklogPublisher -Push."));
            try
            {
                return await SendTestEventAsync(url, secret, names.Name, log, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is HttpRequestException || (e is TaskCanceledException && !ct.IsCancellationRequested))
            {
                throw new InvalidOperationException("The push URL " + url.GetLeftPart(UriPartial.Path) + " did not answer the test event: " + e.Message, e);
            }
        }

        /// <summary>Sends one authenticated test event through the URL path (to the function URL, or pushUrl) and
        /// returns the status and the answer's first 1000 characters (as Prefect records them). The secret goes only
        /// into the header.</summary>
        public static async Task<(int Status, string Answer, TimeSpan Took)> SendTestEventAsync(Uri url, string secret, string publisher, IEngineLog log, CancellationToken ct)
        {
            var body = new JsonObject
            {
                ["source"] = "prefectscaling",
                ["event"] = TestEvent,
                ["event_id"] = Guid.NewGuid().ToString(),
                ["occurred"] = DateTime.UtcNow.ToString("o", System.Globalization.CultureInfo.InvariantCulture),
                ["publisher"] = publisher,
            };
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") };
            request.Headers.TryAddWithoutValidation(TokenHeader, secret);
            request.Headers.TryAddWithoutValidation(PublisherHeader, publisher);
            log.Verbose("POST " + url.GetLeftPart(UriPartial.Path) + " (a push test event)");
            var clock = System.Diagnostics.Stopwatch.StartNew();
            using HttpResponseMessage response = await http.SendAsync(request, ct).ConfigureAwait(false);
            string text = await response.Content.ReadAsStringAsync().ConfigureAwait(false);
            return ((int)response.StatusCode, text.Length > 1000 ? text.Substring(0, 1000) : text, clock.Elapsed);
        }

        /// <summary>The Prefect client an installed publisher uses: its URL from the function's environment, its secret
        /// from SSM. Null when the publisher's configuration cannot be read.</summary>
        public static async Task<PrefectClient?> InstalledPrefectAsync(PublisherState current, AwsContext aws, IEngineLog log, CancellationToken ct)
        {
            if (!current.FunctionIsManaged || !(current.Function?["Configuration"]?["Environment"]?["Variables"] is JsonObject variables)) return null;
            PublisherConfiguration configuration;
            try
            {
                configuration = PublisherConfiguration.FromEnvironment(name => (string?)variables[name]);
            }
            catch (ArgumentException)
            {
                return null;
            }
            PrefectConnectionSettings settings = await PublisherCycle.ResolvePrefectSettingsAsync(configuration, aws, log, ct).ConfigureAwait(false);
            return PrefectConnection.For(settings).Client;
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

        /// <summary>What earlier changes of one plan made, for the later ones.</summary>
        private sealed class Made
        {
            public string? Url { get; set; }
            public string? BlockId { get; set; }
        }
    }
}
