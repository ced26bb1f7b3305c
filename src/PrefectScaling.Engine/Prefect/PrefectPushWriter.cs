using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;

namespace PrefectScaling.Prefect
{
    /// <summary>A Webhook block document as the server holds it, with its secrets (read with include_secrets).</summary>
    public sealed class PrefectWebhookBlock
    {
        public PrefectWebhookBlock(string id, string name, string? schemaId, JsonObject data)
        {
            Id = id;
            Name = name;
            SchemaId = schemaId;
            Data = data;
        }

        public string Id { get; }
        public string Name { get; }
        public string? SchemaId { get; }

        /// <summary>method, url, headers, allow_private_urls, verify: the url and the headers' values are secrets.</summary>
        public JsonObject Data { get; }
    }

    /// <summary>The push path's writes on a Prefect server, through its REST API: the Webhook block that holds the
    /// function's URL and the shared secret, and the automations that call it when a run turns Late. Every read is
    /// bounded (the client's deadline, a few pages of automations).</summary>
    public sealed class PrefectPushWriter
    {
        public const string WebhookSlug = "webhook";
        private const int AutomationPage = 200, MaxAutomationPages = 5;

        private readonly PrefectClient _client;

        public PrefectPushWriter(PrefectClient client)
        {
            _client = client;
        }

        /// <summary>The server, as messages and -WhatIf name it.</summary>
        public string ServerUrl => _client.ApiUrl;

        /// <summary>Fails with a clear error when the server has no automations API (Prefect 2 before 2.17, or 2.17+
        /// without the experimental events setting): the push path cannot be installed there.</summary>
        public async Task EnsureAutomationsAsync(IEngineLog log, CancellationToken ct)
        {
            try
            {
                await _client.PostAsync("/automations/filter", new JsonObject { ["limit"] = 1, ["offset"] = 0 }, log, ct).ConfigureAwait(false);
            }
            catch (PrefectApiException e) when (e.Kind == PrefectErrorKind.NotFound)
            {
                throw new PrefectApiException(PrefectErrorKind.Unsupported,
                    "The Prefect server at " + _client.ApiUrl + " has no automations, which the push path needs (it answered POST /automations/filter with HTTP 404). " +
                    "Prefect 3 has them; a Prefect 2 server has them from 2.17 when started with PREFECT_EXPERIMENTAL_EVENTS=true and PREFECT_API_SERVICES_TRIGGERS_ENABLED=true. " +
                    "Enable them, or leave out -Push: the scheduled publisher polls without it.", e.StatusCode, "/automations/filter", e);
            }
        }

        /// <summary>The Webhook block type's id and its newest schema's id (the server installs both at start).</summary>
        public async Task<(string TypeId, string SchemaId)> WebhookSchemaAsync(IEngineLog log, CancellationToken ct)
        {
            JsonElement type = await _client.GetAsync("/block_types/slug/" + WebhookSlug, log, ct).ConfigureAwait(false);
            string typeId = type.GetProperty("id").GetString() ?? throw Unexpected("/block_types/slug/webhook", "has no id");
            JsonElement schemas = await _client.PostAsync("/block_schemas/filter", new JsonObject
            {
                ["block_schemas"] = new JsonObject { ["block_type_id"] = new JsonObject { ["any_"] = new JsonArray(typeId) } },
                ["limit"] = 50,
            }, log, ct).ConfigureAwait(false);
            string? schemaId = schemas.ValueKind != JsonValueKind.Array ? null : schemas.EnumerateArray()
                .Where(s => s.TryGetProperty("fields", out JsonElement fields) && fields.TryGetProperty("properties", out JsonElement p) && p.TryGetProperty("url", out _) && p.TryGetProperty("headers", out _))
                .OrderByDescending(s => s.TryGetProperty("created", out JsonElement c) ? c.GetString() : null, StringComparer.Ordinal)
                .Select(s => s.GetProperty("id").GetString()).FirstOrDefault();
            return (typeId, schemaId ?? throw Unexpected("/block_schemas/filter", "has no Webhook schema with a url and headers"));
        }

        /// <summary>The Webhook block of that exact name, with its secrets, or null.</summary>
        public async Task<PrefectWebhookBlock?> ReadWebhookBlockAsync(string name, IEngineLog log, CancellationToken ct)
        {
            JsonElement block;
            try
            {
                block = await _client.GetAsync("/block_types/slug/" + WebhookSlug + "/block_documents/name/" + Uri.EscapeDataString(name) + "?include_secrets=true", log, ct).ConfigureAwait(false);
            }
            catch (PrefectApiException e) when (e.Kind == PrefectErrorKind.NotFound)
            {
                return null;
            }
            JsonObject data = JsonNode.Parse(block.TryGetProperty("data", out JsonElement d) ? d.GetRawText() : "{}") as JsonObject ?? new JsonObject();
            return new PrefectWebhookBlock(block.GetProperty("id").GetString()!, name, block.TryGetProperty("block_schema_id", out JsonElement s) ? s.GetString() : null, data);
        }

        public async Task<string> CreateWebhookBlockAsync(string name, string typeId, string schemaId, JsonObject data, IEngineLog log, CancellationToken ct)
        {
            JsonElement created = await _client.PostAsync("/block_documents/", new JsonObject
            {
                ["name"] = name,
                ["block_type_id"] = typeId,
                ["block_schema_id"] = schemaId,
                ["is_anonymous"] = false,
                ["data"] = data.DeepClone(),
            }, log, ct).ConfigureAwait(false);
            return created.GetProperty("id").GetString()!;
        }

        public Task UpdateWebhookBlockAsync(string id, string schemaId, JsonObject data, IEngineLog log, CancellationToken ct) =>
            _client.PatchAsync("/block_documents/" + id, new JsonObject
            {
                ["block_schema_id"] = schemaId,
                ["data"] = data.DeepClone(),
                ["merge_existing_data"] = false,
            }, log, ct);

        public Task DeleteBlockAsync(string id, IEngineLog log, CancellationToken ct) => DeleteGoneOkAsync("/block_documents/" + id, log, ct);

        /// <summary>Every automation that carries the tag (an exact tag, not a prefix), a few pages at most.</summary>
        public async Task<IReadOnlyList<JsonObject>> ReadAutomationsTaggedAsync(string tag, IEngineLog log, CancellationToken ct)
        {
            var found = new List<JsonObject>();
            for (int page = 0; page < MaxAutomationPages; page++)
            {
                JsonElement answer = await _client.PostAsync("/automations/filter", new JsonObject
                {
                    ["automations"] = new JsonObject { ["tags"] = new JsonObject { ["all_"] = new JsonArray(tag) } },
                    ["limit"] = AutomationPage,
                    ["offset"] = page * AutomationPage,
                }, log, ct).ConfigureAwait(false);
                if (answer.ValueKind != JsonValueKind.Array) throw Unexpected("/automations/filter", "is not a list");
                List<JsonObject> read = answer.EnumerateArray().Select(a => JsonNode.Parse(a.GetRawText()) as JsonObject).Where(a => a != null).Select(a => a!).ToList();
                // The server filters by tag; the exact tag is checked again here, so that ownership never rests on its filter.
                found.AddRange(read.Where(a => (a["tags"] as JsonArray)?.Any(t => (string?)t == tag) == true));
                if (read.Count < AutomationPage) return found;
            }
            throw new PrefectApiException(PrefectErrorKind.TooLarge, "The Prefect server at " + _client.ApiUrl + " has more than " + (AutomationPage * MaxAutomationPages) + " automations tagged " + tag + "; nothing was changed.", endpoint: "/automations/filter");
        }

        public async Task<string> CreateAutomationAsync(JsonObject automation, IEngineLog log, CancellationToken ct)
        {
            JsonElement created = await _client.PostAsync("/automations/", automation, log, ct).ConfigureAwait(false);
            return created.GetProperty("id").GetString()!;
        }

        public Task UpdateAutomationAsync(string id, JsonObject automation, IEngineLog log, CancellationToken ct) =>
            _client.PutAsync("/automations/" + id, automation, log, ct);

        public Task DeleteAutomationAsync(string id, IEngineLog log, CancellationToken ct) => DeleteGoneOkAsync("/automations/" + id, log, ct);

        // A delete of something already gone has done its work.
        private async Task DeleteGoneOkAsync(string path, IEngineLog log, CancellationToken ct)
        {
            try
            {
                await _client.DeleteAsync(path, log, ct).ConfigureAwait(false);
            }
            catch (PrefectApiException e) when (e.Kind == PrefectErrorKind.NotFound)
            {
                log.Verbose(path + " was already gone.");
            }
        }

        private PrefectApiException Unexpected(string endpoint, string what) =>
            new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect server at " + _client.ApiUrl + " answered " + endpoint + " with something that " + what + ".", endpoint: endpoint);
    }
}
