using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace PrefectScaling.Testing.PrefectEmulator;

public sealed partial class PrefectEmulatorServer
{
    private sealed class Call
    {
        public required string Method;
        public required string[] Params;
        public required IHeaderDictionary Headers;
        public string? RawBody;
        public string? ContentType;
    }

    private sealed record Route(string Method, string[] Pattern, Func<Call, Reply> Handler, bool V3Only = false, bool PoolsOnly = false);

    private Route[]? _routes;

    private Route[] Routes => _routes ??= new Route[]
    {
        new("GET", new[] { "health" }, _ => Reply.Json(200, JsonValue.Create(true))),
        new("GET", new[] { "ready" }, _ => Reply.Json(200, new JsonObject { ["message"] = "OK" })),
        new("GET", new[] { "version" }, _ => Reply.Json(200, JsonValue.Create("0.8.4"))),
        new("GET", new[] { "hello" }, _ => Reply.Json(200, JsonValue.Create("\U0001F44B"))),
        new("GET", new[] { "admin", "version" }, _ => Reply.Json(200, JsonValue.Create(Mode switch
        {
            EmulatorMode.V2 => "2.20.25",
            EmulatorMode.V2Legacy => "2.7.12",
            _ => "3.8.3",
        }))),

        new("POST", new[] { "flow_runs", "count" }, FlowRunsCount),
        new("POST", new[] { "flow_runs", "filter" }, FlowRunsFilter),
        new("POST", new[] { "flow_runs", "paginate" }, FlowRunsPaginate, V3Only: true),
        // On 2.x, POST /flow_runs/paginate meets this route: 405.
        new("GET", new[] { "flow_runs", "{id}" }, FlowRunById),

        new("POST", new[] { "work_queues", "filter" }, WorkQueuesFilter),
        new("GET", new[] { "work_queues", "name", "{name}" }, WorkQueueByName),
        new("GET", new[] { "work_queues", "{id}" }, WorkQueueById),
        new("GET", new[] { "work_queues", "{id}", "status" }, WorkQueueStatus),
        new("POST", new[] { "work_queues", "{id}", "get_runs" }, WorkQueueGetRuns),

        new("POST", new[] { "work_pools", "filter" }, WorkPoolsFilter, PoolsOnly: true),
        new("POST", new[] { "work_pools", "count" }, WorkPoolsCount, PoolsOnly: true),
        new("GET", new[] { "work_pools", "{name}" }, WorkPoolByName, PoolsOnly: true),
        new("POST", new[] { "work_pools", "{name}", "queues", "filter" }, WorkPoolQueuesFilter, PoolsOnly: true),
        new("GET", new[] { "work_pools", "{name}", "queues", "{name}" }, WorkPoolQueueByName, PoolsOnly: true),
        new("POST", new[] { "work_pools", "{name}", "get_scheduled_flow_runs" }, WorkPoolGetScheduledFlowRuns, PoolsOnly: true),
    };

    private Reply Dispatch(string method, string rel, IHeaderDictionary headers, string? body, string? contentType, long? contentLength)
    {
        var mode = _options.Mode;
        var auth = headers.Authorization.ToString();

        if (mode == EmulatorMode.Cloud && method is "POST" or "PUT" or "PATCH" && contentLength is null)
            return Reply.Detail(411, "Length Required");

        if (mode == EmulatorMode.V3 && !string.IsNullOrEmpty(_options.AuthString) && rel != "/health" && rel != "/ready")
        {
            if (!CheckBasic(auth)) return Reply.ExceptionMessage(401, "Unauthorized");
        }
        else if (mode != EmulatorMode.V3 && !string.IsNullOrEmpty(_options.ApiKey))
        {
            if (!CheckBearer(auth)) return Reply.Detail(401, "Invalid authentication credentials");
        }

        // Starlette decodes the whole path before matching, so an escaped "/" splits a segment, as on a real server.
        var decoded = Uri.UnescapeDataString(rel);
        var segs = decoded.Split('/');
        if (segs.Length < 2 || segs[0] != "") return Reply.NotFound();
        segs = segs[1..];

        Route? partial = null;
        foreach (var route in Routes)
        {
            if (route.V3Only && !IsV3) continue;
            if (route.PoolsOnly && mode == EmulatorMode.V2Legacy) continue;
            if (!Match(route.Pattern, segs, out var ps)) continue;
            if (route.Method != method)
            {
                partial ??= route;
                continue;
            }
            if (rel != "/health" && headers.TryGetValue("X-PREFECT-API-VERSION", out var verValues) && !string.IsNullOrEmpty(verValues.ToString()))
            {
                var err = CheckApiVersion(verValues.ToString());
                if (err is not null) return Reply.Detail(400, err);
            }
            return route.Handler(new Call { Method = method, Params = ps, Headers = headers, RawBody = body, ContentType = contentType });
        }
        if (partial is not null)
            return Reply.Json(405, new JsonObject { ["detail"] = "Method Not Allowed" }, new Dictionary<string, string> { ["Allow"] = partial.Method });
        return Reply.NotFound();
    }

    private bool Match(string[] pattern, string[] segs, out string[] ps)
    {
        ps = Array.Empty<string>();
        if (pattern.Length != segs.Length) return false;
        var list = new List<string>();
        for (var i = 0; i < pattern.Length; i++)
        {
            var p = pattern[i];
            if (p[0] == '{')
            {
                if (segs[i].Length == 0) return false;
                // 3.x declares {id:uuid}: a non-UUID does not match the route at all (404 Not Found).
                if (p == "{id}" && IsV3 && !UuidNode.TryParse(segs[i], out _)) return false;
                list.Add(segs[i]);
            }
            else if (p != segs[i]) return false;
        }
        ps = list.ToArray();
        return true;
    }

    private static string? CheckApiVersion(string v)
    {
        var parts = v.Split('.');
        var nums = new long[3];
        if (parts.Length != 3 || !parts.Select((p, i) => p.Length > 0 && p.All(char.IsAsciiDigit) && long.TryParse(p, out nums[i])).All(x => x))
            return $"Invalid X-PREFECT-API-VERSION header format.Expected header in format 'x.y.z' but received {v}";
        if (nums[0] < 0 || (nums[0] == 0 && (nums[1] < 8)))
            return $"The request specified API version {v} but this server requires version 0.8.0 or higher.";
        return null;
    }

    // ------------------------------------------------------------------ body handling

    private VCtx NewCtx() => new(pydanticV2: IsV3, numbersAsDatetimes: IsV3);

    private static JsonObject Invalid(JsonArray errors, JsonNode? body) => new()
    {
        ["exception_message"] = "Invalid request received.",
        ["exception_detail"] = errors,
        ["request_body"] = body,
    };

    private sealed class Parsed
    {
        public Dictionary<string, object?> Values = new(StringComparer.Ordinal);
        public long Limit;
    }

    /// <summary>FastAPI-style body parsing: every top-level key optional and nullable, unknown top-level keys ignored.
    /// <paramref name="keys"/> are validated; "limit" goes through Prefect's LimitBody dependency first.
    /// <paramref name="declaredOrder"/>: the route's body parameters as it declares them (default: limit, then keys).</summary>
    private Reply? ParseBody(Call c, (string Key, SNode? Node)[] keys, bool limit, out Parsed parsed, string[]? declaredOrder = null)
    {
        parsed = new Parsed { Limit = _options.DefaultLimit };
        var ctx = NewCtx();
        Dictionary<string, JsonElement> props;
        JsonNode? echo = null;
        if (string.IsNullOrEmpty(c.RawBody))
        {
            props = new Dictionary<string, JsonElement>();
        }
        else
        {
            if (!IsJsonContentType(c.ContentType))
            {
                // FastAPI >= 0.132 does not parse a body without a JSON content type; the embedded body params then fail.
                ctx.Error(new List<object> { "body" }, JsonDocument.Parse(JsonSerializer.Serialize(c.RawBody)).RootElement,
                    "type_error.dict", "value is not a valid dict",
                    "model_attributes_type", "Input should be a valid dictionary or object to extract fields from");
                return Reply.Json(422, Invalid(ctx.Errors, JsonValue.Create(c.RawBody)));
            }
            JsonDocument doc;
            try
            {
                doc = JsonDocument.Parse(c.RawBody, new JsonDocumentOptions { MaxDepth = 256 });
            }
            catch (JsonException e)
            {
                // The server's words are Python's json module's: its message and character position.
                var why = PythonJson.Check(c.RawBody) ?? new PythonJson.Failure("Expecting value", (int)Math.Min(int.MaxValue, e.BytePositionInLine ?? 0));
                var pos = why.Position;
                var (line, column) = PythonJson.LineAndColumn(c.RawBody, pos);
                var errItem = IsV3
                    ? new JsonObject
                    {
                        ["type"] = "json_invalid",
                        ["loc"] = new JsonArray("body", pos),
                        ["msg"] = "JSON decode error",
                        ["input"] = new JsonObject(),
                        ["ctx"] = new JsonObject { ["error"] = why.Message },
                    }
                    : new JsonObject
                    {
                        ["loc"] = new JsonArray("body", pos),
                        ["msg"] = why.Message + ": line " + line + " column " + column + " (char " + pos + ")",
                        ["type"] = "value_error.jsondecode",
                        ["ctx"] = new JsonObject
                        {
                            ["msg"] = why.Message, ["doc"] = c.RawBody, ["pos"] = pos, ["lineno"] = line, ["colno"] = column,
                        },
                    };
                return Reply.Json(422, Invalid(new JsonArray(errItem), JsonValue.Create(c.RawBody)));
            }
            using (doc)
            {
                var root = doc.RootElement.Clone();
                echo = JsonNode.Parse(c.RawBody);
                if (root.ValueKind != JsonValueKind.Object)
                {
                    // FastAPI finds none of the embedded body parameters in a body that is not an object, and
                    // reports each as missing, in the order the route declares them.
                    var declared = declaredOrder ?? (limit ? new[] { "limit" } : Array.Empty<string>()).Concat(keys.Select(k => k.Key)).ToArray();
                    foreach (var key in declared)
                        ctx.Error(new List<object> { "body", key }, null, "value_error.missing", "field required", "missing", "Field required");
                    return Reply.Json(422, Invalid(ctx.Errors, echo));
                }
                props = ObjNode.LastWins(root);
            }
        }

        if (limit && props.TryGetValue("limit", out var lim) && lim.ValueKind != JsonValueKind.Null)
        {
            var v = IntNode.ParseInt(lim, new List<object> { "body", "limit" }, ctx);
            if (v is long l)
            {
                if (l < 0) return Reply.Detail(422, "Invalid limit: must be greater than or equal to 0.");
                if (l > _options.DefaultLimit) return Reply.Detail(422, $"Invalid limit: must be less than or equal to {_options.DefaultLimit}.");
                parsed.Limit = l;
            }
        }

        foreach (var (key, node) in keys)
        {
            if (!props.TryGetValue(key, out var v) || v.ValueKind == JsonValueKind.Null) continue;
            var loc = new List<object> { "body", key };
            if (node is null)
            {
                // flows / task_runs / deployments: real schemas the emulator does not evaluate.
                if (v.ValueKind != JsonValueKind.Object)
                {
                    var cls = key switch { "flows" => "FlowFilter", "task_runs" => "TaskRunFilter", _ => "DeploymentFilter" };
                    ctx.Error(loc, v, "type_error.dict", "value is not a valid dict", "model_type",
                        $"Input should be a valid dictionary or instance of {cls}", null, new JsonObject { ["class_name"] = cls });
                }
                else if (v.EnumerateObject().Any())
                {
                    ctx.Unimplemented.Add(key);
                }
                continue;
            }
            parsed.Values[key] = node.Validate(v, loc, ctx);
        }

        if (ctx.Errors.Count > 0) return Reply.Json(422, Invalid(ctx.Errors, echo));
        if (ctx.Unimplemented.Count > 0)
            return Reply.Json(500, new JsonObject { ["exception_message"] = "emulator: filter not implemented" },
                new Dictionary<string, string> { ["X-Emulator-Unimplemented"] = string.Join(",", ctx.Unimplemented) });
        return null;
    }

    private static bool IsJsonContentType(string? ct)
    {
        if (string.IsNullOrWhiteSpace(ct)) return false;
        var media = ct.Split(';')[0].Trim();
        if (media.Equals("application/json", StringComparison.OrdinalIgnoreCase)) return true;
        var slash = media.IndexOf('/');
        return slash > 0 && media.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    private (string, SNode?)[] FlowRunKeys(params (string, SNode?)[] extra)
    {
        var keys = new List<(string, SNode?)>
        {
            ("flows", null), ("flow_runs", _schemas.FlowRunFilter), ("task_runs", null), ("deployments", null),
        };
        if (Mode != EmulatorMode.V2Legacy)
        {
            keys.Add(("work_pools", _schemas.WorkPoolFilter));
            keys.Add(("work_pool_queues", _schemas.WorkQueueFilter));
        }
        keys.AddRange(extra);
        return keys.ToArray();
    }

    private static Dictionary<string, object?>? D(Parsed p, string key) =>
        p.Values.TryGetValue(key, out var v) ? v as Dictionary<string, object?> : null;

    /// <summary>Runs matching flow_runs AND work_pools AND work_pool_queues. Call under the lock.</summary>
    private List<RunEntity> MatchRuns(Parsed p)
    {
        var runPred = D(p, "flow_runs") is { } fr ? Filters.FlowRun(fr, IsV3) : null;
        HashSet<QueueEntity>? allowedQueues = null;
        if (D(p, "work_pools") is { } wp)
        {
            var pred = Filters.WorkPool(wp);
            allowedQueues = new HashSet<QueueEntity>(_store.Pools.Where(pred).SelectMany(x => x.Queues));
        }
        if (D(p, "work_pool_queues") is { } wq)
        {
            var pred = Filters.WorkQueue(wq);
            var set = new HashSet<QueueEntity>(_store.AllQueues.Where(pred));
            if (allowedQueues is null) allowedQueues = set;
            else allowedQueues.IntersectWith(set);
        }
        var result = new List<RunEntity>();
        foreach (var r in _store.Runs)
        {
            if (allowedQueues is not null && (r.Queue is null || !allowedQueues.Contains(r.Queue))) continue;
            if (runPred is not null && !runPred(r)) continue;
            result.Add(r);
        }
        return result;
    }

    private int ActiveSlots(QueueEntity q) => Shapes.ActiveSlots(_store.Runs, r => r.Queue == q);
    private int ActiveSlots(PoolEntity p) => Shapes.ActiveSlots(_store.Runs, r => r.Queue?.Pool == p);

    private JsonObject QueueJson(QueueEntity q, DateTimeOffset now) => Shapes.Queue(q, now, Mode, ActiveSlots);
    private JsonObject PoolJson(PoolEntity p, DateTimeOffset now) => Shapes.Pool(p, now, Mode, ActiveSlots);

    // ------------------------------------------------------------------ flow runs

    private Reply FlowRunsCount(Call c)
    {
        var err = ParseBody(c, FlowRunKeys(), limit: false, out var p);
        if (err is not null) return err;
        lock (_lock) return Reply.Json(200, JsonValue.Create(MatchRuns(p).Count));
    }

    private Reply FlowRunsFilter(Call c)
    {
        var err = ParseBody(c, FlowRunKeys(("sort", _schemas.Sort), ("offset", new IntNode(0))), limit: true, out var p,
            new[] { "limit", "sort", "offset" }.Concat(FlowRunKeys().Select(k => k.Item1)).ToArray());
        if (err is not null) return err;
        var sort = p.Values.GetValueOrDefault("sort") as string ?? "ID_DESC";
        var offset = p.Values.GetValueOrDefault("offset") as long? ?? 0;
        var now = DateTimeOffset.UtcNow;
        lock (_lock)
        {
            var arr = new JsonArray();
            foreach (var r in Filters.Sort(MatchRuns(p), sort).Skip((int)Math.Min(offset, int.MaxValue)).Take((int)p.Limit))
                arr.Add(Shapes.Run(r, now, Mode));
            return Reply.Json(200, arr);
        }
    }

    private Reply FlowRunById(Call c)
    {
        var err = PathId(c, out var id);
        if (err is not null) return err;
        lock (_lock)
        {
            var run = _store.Runs.FirstOrDefault(r => r.Id == id);
            return run is null ? Reply.Detail(404, "Flow run not found") : Reply.Json(200, Shapes.Run(run, DateTimeOffset.UtcNow, Mode));
        }
    }

    private Reply FlowRunsPaginate(Call c)
    {
        var err = ParseBody(c, FlowRunKeys(("sort", _schemas.Sort), ("page", new IntNode(1))), limit: true, out var p,
            new[] { "limit", "sort", "page" }.Concat(FlowRunKeys().Select(k => k.Item1)).ToArray());
        if (err is not null) return err;
        var sort = p.Values.GetValueOrDefault("sort") as string ?? "ID_DESC";
        var page = p.Values.GetValueOrDefault("page") as long? ?? 1;
        if (p.Limit == 0) return Reply.ExceptionMessage(500, "Internal Server Error"); // (count + 0 - 1) // 0 on the real server
        var now = DateTimeOffset.UtcNow;
        lock (_lock)
        {
            var runs = MatchRuns(p);
            var offset = (page - 1) * p.Limit;
            var arr = new JsonArray();
            foreach (var r in Filters.Sort(runs, sort).Skip((int)Math.Min(offset, int.MaxValue)).Take((int)p.Limit))
                arr.Add(Shapes.Run(r, now, Mode));
            var count = runs.Count;
            return Reply.Json(200, new JsonObject
            {
                ["results"] = arr,
                ["count"] = count,
                ["limit"] = p.Limit,
                ["pages"] = (count + p.Limit - 1) / p.Limit,
                ["page"] = page,
            });
        }
    }

    // ------------------------------------------------------------------ work queues

    private Reply? PathId(Call c, out Guid id)
    {
        if (UuidNode.TryParse(c.Params[0], out id)) return null;
        var ctx = NewCtx();
        ctx.Error(new List<object> { "path", "id" }, JsonDocument.Parse(JsonSerializer.Serialize(c.Params[0])).RootElement,
            "type_error.uuid", "value is not a valid uuid", "uuid_parsing", "Input should be a valid UUID, invalid character or length");
        return Reply.Json(422, Invalid(ctx.Errors, null));
    }

    private Reply WorkQueuesFilter(Call c)
    {
        var err = ParseBody(c, new (string, SNode?)[] { ("work_queues", _schemas.WorkQueueFilter), ("offset", new IntNode(0)) }, limit: true, out var p,
            new[] { "limit", "offset", "work_queues" });
        if (err is not null) return err;
        var offset = p.Values.GetValueOrDefault("offset") as long? ?? 0;
        var now = DateTimeOffset.UtcNow;
        lock (_lock)
        {
            var pred = D(p, "work_queues") is { } f ? Filters.WorkQueue(f) : (_ => true);
            var arr = new JsonArray();
            foreach (var q in _store.AllQueues.Where(pred)
                         .OrderBy(q => q.Name, StringComparer.Ordinal).ThenBy(q => q.IdText, StringComparer.Ordinal)
                         .Skip((int)Math.Min(offset, int.MaxValue)).Take((int)p.Limit))
                arr.Add(QueueJson(q, now));
            return Reply.Json(200, arr);
        }
    }

    private Reply WorkQueueById(Call c)
    {
        var err = PathId(c, out var id);
        if (err is not null) return err;
        lock (_lock)
        {
            return _store.QueuesById.TryGetValue(id, out var q)
                ? Reply.Json(200, QueueJson(q, DateTimeOffset.UtcNow))
                : Reply.Detail(404, "work queue not found");
        }
    }

    private Reply WorkQueueByName(Call c)
    {
        var name = c.Params[0];
        lock (_lock)
        {
            QueueEntity? q;
            if (Mode == EmulatorMode.V2Legacy)
                q = _store.AllQueues.FirstOrDefault(x => x.Name == name);
            else
                q = _store.PoolsByName.TryGetValue(Store.DefaultAgentPool, out var pool) ? pool.Queues.FirstOrDefault(x => x.Name == name) : null;
            return q is null ? Reply.Detail(404, "work queue not found") : Reply.Json(200, QueueJson(q, DateTimeOffset.UtcNow));
        }
    }

    private Reply WorkQueueStatus(Call c)
    {
        var err = PathId(c, out var id);
        if (err is not null) return err;
        var now = DateTimeOffset.UtcNow;
        lock (_lock)
        {
            if (!_store.QueuesById.TryGetValue(id, out var q))
                return Reply.ExceptionMessage(404, $"Work queue with id {id:D} not found");
            var late = _store.Runs.Count(r => r.Queue == q && r.StateName == "Late");
            var healthy = late <= 0 && Shapes.Polled(q.LastPolled, now);
            return Reply.Json(200, new JsonObject
            {
                ["healthy"] = healthy,
                ["late_runs_count"] = late,
                ["last_polled"] = Shapes.Iso(q.LastPolled, Mode),
                ["health_check_policy"] = new JsonObject { ["maximum_late_runs"] = 0, ["maximum_seconds_since_last_polled"] = 60 },
            });
        }
    }

    /// <summary>The agent poll. Side effect: sets last_polled unless x-prefect-ui: true.</summary>
    private Reply WorkQueueGetRuns(Call c)
    {
        var err = PathId(c, out var id);
        if (err is not null) return err;
        err = ParseBody(c, new (string, SNode?)[] { ("scheduled_before", DateTimeNode.I), ("agent_id", UuidNode.I) }, limit: true, out var p);
        if (err is not null) return err;
        var now = Store.Micro(DateTimeOffset.UtcNow);
        var before = p.Values.GetValueOrDefault("scheduled_before") as DateTimeOffset? ?? now;
        var ui = c.Headers.TryGetValue("x-prefect-ui", out var uiv) && string.Equals(uiv.ToString(), "true", StringComparison.OrdinalIgnoreCase);
        lock (_lock)
        {
            if (!_store.QueuesById.TryGetValue(id, out var q))
                return Reply.ExceptionMessage(404, $"Work queue {id:D} not found.");
            if (!ui) q.LastPolled = now;
            var arr = new JsonArray();
            if (!q.IsPaused)
            {
                foreach (var r in _store.Runs.Where(r => r.Queue == q && r.StateType == "SCHEDULED" && r.NextScheduledStartTime <= before)
                             .OrderBy(r => r.NextScheduledStartTime).Take((int)p.Limit))
                    arr.Add(Shapes.Run(r, now, Mode));
            }
            return Reply.Json(200, arr);
        }
    }

    // ------------------------------------------------------------------ work pools

    private Reply PoolNotFound(string name) => Reply.Detail(404, $"Work pool \"{name}\" not found.");

    private Reply WorkPoolsFilter(Call c)
    {
        var err = ParseBody(c, new (string, SNode?)[] { ("work_pools", _schemas.WorkPoolFilter), ("offset", new IntNode(0)) }, limit: true, out var p,
            new[] { "limit", "work_pools", "offset" });
        if (err is not null) return err;
        var offset = p.Values.GetValueOrDefault("offset") as long? ?? 0;
        var now = DateTimeOffset.UtcNow;
        lock (_lock)
        {
            var pred = D(p, "work_pools") is { } f ? Filters.WorkPool(f) : (_ => true);
            var arr = new JsonArray();
            foreach (var pool in _store.Pools.Where(pred).OrderBy(x => x.Name, StringComparer.Ordinal)
                         .Skip((int)Math.Min(offset, int.MaxValue)).Take((int)p.Limit))
                arr.Add(PoolJson(pool, now));
            return Reply.Json(200, arr);
        }
    }

    private Reply WorkPoolsCount(Call c)
    {
        var err = ParseBody(c, new (string, SNode?)[] { ("work_pools", _schemas.WorkPoolFilter) }, limit: false, out var p);
        if (err is not null) return err;
        lock (_lock)
        {
            var pred = D(p, "work_pools") is { } f ? Filters.WorkPool(f) : (_ => true);
            return Reply.Json(200, JsonValue.Create(_store.Pools.Count(pred)));
        }
    }

    private Reply WorkPoolByName(Call c)
    {
        lock (_lock)
        {
            return _store.PoolsByName.TryGetValue(c.Params[0], out var pool)
                ? Reply.Json(200, PoolJson(pool, DateTimeOffset.UtcNow))
                : PoolNotFound(c.Params[0]);
        }
    }

    private Reply WorkPoolQueuesFilter(Call c)
    {
        var err = ParseBody(c, new (string, SNode?)[] { ("work_queues", _schemas.WorkQueueFilter), ("offset", new IntNode(0)) }, limit: true, out var p,
            new[] { "limit", "work_queues", "offset" });
        if (err is not null) return err;
        var offset = p.Values.GetValueOrDefault("offset") as long? ?? 0;
        var now = DateTimeOffset.UtcNow;
        lock (_lock)
        {
            if (!_store.PoolsByName.TryGetValue(c.Params[0], out var pool)) return PoolNotFound(c.Params[0]);
            var pred = D(p, "work_queues") is { } f ? Filters.WorkQueue(f) : (_ => true);
            var arr = new JsonArray();
            foreach (var q in pool.Queues.Where(pred).OrderBy(q => q.Priority).ThenBy(q => q.Name, StringComparer.Ordinal)
                         .Skip((int)Math.Min(offset, int.MaxValue)).Take((int)p.Limit))
                arr.Add(QueueJson(q, now));
            return Reply.Json(200, arr);
        }
    }

    private Reply WorkPoolQueueByName(Call c)
    {
        lock (_lock)
        {
            if (!_store.PoolsByName.TryGetValue(c.Params[0], out var pool)) return PoolNotFound(c.Params[0]);
            var q = pool.Queues.FirstOrDefault(x => x.Name == c.Params[1]);
            return q is null
                ? Reply.Detail(404, $"Work pool queue '{c.Params[0]}/{c.Params[1]}' not found.")
                : Reply.Json(200, QueueJson(q, DateTimeOffset.UtcNow));
        }
    }

    /// <summary>The worker poll. Side effect: sets last_polled on the polled queues.</summary>
    private Reply WorkPoolGetScheduledFlowRuns(Call c)
    {
        var err = ParseBody(c, new (string, SNode?)[]
        {
            ("work_queue_names", new ListNode(StrNode.I)), ("scheduled_before", DateTimeNode.I), ("scheduled_after", DateTimeNode.I),
        }, limit: true, out var p);
        if (err is not null) return err;
        var now = Store.Micro(DateTimeOffset.UtcNow);
        var before = p.Values.GetValueOrDefault("scheduled_before") as DateTimeOffset?;
        var after = p.Values.GetValueOrDefault("scheduled_after") as DateTimeOffset?;
        lock (_lock)
        {
            if (!_store.PoolsByName.TryGetValue(c.Params[0], out var pool)) return PoolNotFound(c.Params[0]);
            List<QueueEntity> queues;
            if (p.Values.GetValueOrDefault("work_queue_names") is List<object?> names)
            {
                queues = new List<QueueEntity>();
                foreach (var n in names.Cast<string>())
                {
                    var q = pool.Queues.FirstOrDefault(x => x.Name == n);
                    if (q is null) return Reply.Detail(404, $"Work pool queue '{pool.Name}/{n}' not found.");
                    queues.Add(q);
                }
            }
            else
            {
                queues = pool.Queues.ToList();
            }
            foreach (var q in queues) q.LastPolled = now;
            var arr = new JsonArray();
            if (!pool.IsPaused)
            {
                var set = new HashSet<QueueEntity>(queues.Where(q => !q.IsPaused));
                foreach (var r in _store.Runs
                             .Where(r => r.Queue is not null && set.Contains(r.Queue) && r.StateType == "SCHEDULED"
                                         && (before is null || r.NextScheduledStartTime <= before)
                                         && (after is null || r.NextScheduledStartTime >= after))
                             .OrderBy(r => r.Queue!.Priority).ThenBy(r => r.NextScheduledStartTime).Take((int)p.Limit))
                {
                    arr.Add(new JsonObject
                    {
                        ["work_pool_id"] = pool.IdText,
                        ["work_queue_id"] = r.Queue!.IdText,
                        ["flow_run"] = Shapes.Run(r, now, Mode),
                    });
                }
            }
            return Reply.Json(200, arr);
        }
    }
}
