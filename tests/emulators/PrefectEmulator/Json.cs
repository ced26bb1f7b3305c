using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace PrefectScaling.Testing.PrefectEmulator;

internal sealed record Reply(int Status, string Body, string ContentType = "application/json", IReadOnlyDictionary<string, string>? Headers = null)
{
    public static readonly JsonSerializerOptions Out = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Reply Json(int status, JsonNode? node, IReadOnlyDictionary<string, string>? headers = null) =>
        new(status, node is null ? "null" : node.ToJsonString(Out), "application/json", headers);

    public static Reply Detail(int status, string detail) => Json(status, new JsonObject { ["detail"] = detail });
    public static Reply ExceptionMessage(int status, string msg) => Json(status, new JsonObject { ["exception_message"] = msg });
    public static Reply NotFound() => Detail(404, "Not Found");
}

internal static class Shapes
{
    /// <summary>A datetime as the server writes it: 3.x (pydantic 2) ends UTC with Z, 2.x with +00:00, and both
    /// leave out a fraction of zero.</summary>
    public static string Iso(DateTimeOffset t, EmulatorMode mode)
    {
        var utc = t.UtcDateTime;
        var text = utc.ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture);
        var micro = utc.Ticks % TimeSpan.TicksPerSecond / 10;
        if (micro != 0) text += "." + micro.ToString("D6", CultureInfo.InvariantCulture);
        return text + (mode is EmulatorMode.V3 or EmulatorMode.Cloud ? "Z" : "+00:00");
    }

    public static JsonNode? Iso(DateTimeOffset? t, EmulatorMode mode) => t is DateTimeOffset v ? JsonValue.Create(Iso(v, mode)) : null;

    public static bool Polled(DateTimeOffset? lastPolled, DateTimeOffset now) =>
        lastPolled is DateTimeOffset lp && (now - lp).TotalSeconds <= 60;

    public static JsonObject Run(RunEntity r, DateTimeOffset now, EmulatorMode mode)
    {
        JsonNode? Time(DateTimeOffset? t) => Iso(t, mode);
        // V2Legacy keeps the older, smaller shape; V2 and V3 follow what 2.20.25 and 3.8.3 send.
        var current = mode != EmulatorMode.V2Legacy;
        var v3 = mode is EmulatorMode.V3 or EmulatorMode.Cloud;
        double delta = 0;
        if (r.StartTime is DateTimeOffset st && r.ExpectedStartTime is DateTimeOffset e1 && st > e1) delta = (st - e1).TotalSeconds;
        else if (r.StartTime is null && r.ExpectedStartTime is DateTimeOffset e2 && e2 < now && !Store.TerminalTypes.Contains(r.StateType))
            delta = (now - e2).TotalSeconds;
        var running = r.StateType == "RUNNING" && r.StartTime is DateTimeOffset started ? Math.Max(0, (now - started).TotalSeconds) : 0.0;
        var tags = new JsonArray();
        foreach (var t in r.Tags) tags.Add(t);
        var o = new JsonObject
        {
            ["id"] = r.IdText,
            ["created"] = Time(r.Created),
            ["updated"] = Time(r.Updated),
            ["name"] = r.Name,
            ["flow_id"] = r.FlowId.ToString("D"),
            ["state_id"] = r.StateId.ToString("D"),
            ["deployment_id"] = r.DeploymentId?.ToString("D"),
        };
        if (current) o["deployment_version"] = null;
        o["work_queue_id"] = r.Queue?.IdText;
        o["work_queue_name"] = r.WorkQueueName;
        o["flow_version"] = r.FlowVersion;
        o["parameters"] = new JsonObject();
        o["idempotency_key"] = null;
        o["context"] = new JsonObject();
        if (current)
        {
            o["empirical_policy"] = new JsonObject
            {
                ["max_retries"] = 0, ["retry_delay_seconds"] = 0.0, ["retries"] = null, ["retry_delay"] = null,
                ["pause_keys"] = new JsonArray(), ["resuming"] = false, ["retry_type"] = null,
            };
        }
        o["tags"] = tags;
        if (v3)
        {
            var labels = new JsonObject { ["prefect.flow.id"] = r.FlowId.ToString("D") };
            if (r.DeploymentId is Guid d) labels["prefect.deployment.id"] = d.ToString("D");
            o["labels"] = labels;
        }
        o["parent_task_run_id"] = null;
        o["state_type"] = r.StateType;
        o["state_name"] = r.StateName;
        o["run_count"] = current ? (r.StateType == "RUNNING" ? 1 : 0) : (r.StartTime is null ? 0 : 1);
        o["expected_start_time"] = Time(r.ExpectedStartTime);
        o["next_scheduled_start_time"] = Time(r.NextScheduledStartTime);
        o["start_time"] = Time(r.StartTime);
        o["end_time"] = Time(r.EndTime);
        o["total_run_time"] = 0.0;
        o["estimated_run_time"] = current ? Math.Round(running, 6) : 0.0;
        o["estimated_start_time_delta"] = Math.Round(delta, 6);
        o["auto_scheduled"] = false;
        o["infrastructure_document_id"] = null;
        o["infrastructure_pid"] = null;
        o["created_by"] = null;
        if (current)
        {
            o["work_pool_id"] = r.Queue?.Pool.IdText;
            o["work_pool_name"] = r.Queue?.Pool.Name;
        }
        var details = new JsonObject
        {
            ["flow_run_id"] = r.IdText,
            ["task_run_id"] = null,
            ["child_flow_run_id"] = null,
            ["scheduled_time"] = Time(r.StateType == "SCHEDULED" ? r.NextScheduledStartTime : null),
            ["cache_key"] = null,
            ["cache_expiration"] = null,
        };
        if (v3) details["deferred"] = false;
        details["untrackable_result"] = false;
        details["pause_timeout"] = null;
        details["pause_reschedule"] = false;
        details["pause_key"] = null;
        if (current) details["run_input_keyset"] = null;
        details["refresh_cache"] = null;
        if (current)
        {
            details["retriable"] = null;
            details["transition_id"] = null;
            details["task_parameters_id"] = null;
        }
        if (v3)
        {
            details["traceparent"] = null;
            details["deployment_concurrency_lease_id"] = null;
        }
        var state = new JsonObject
        {
            ["id"] = r.StateId.ToString("D"),
            ["type"] = r.StateType,
            ["name"] = r.StateName,
            ["timestamp"] = Time(r.StateTimestamp),
            ["message"] = null,
        };
        if (current) state["data"] = null;
        state["state_details"] = details;
        o["state"] = state;
        if (current) o["job_variables"] = v3 ? new JsonObject() : null;
        return o;
    }

    public static int ActiveSlots(IEnumerable<RunEntity> runs, Func<RunEntity, bool> scope) =>
        runs.Count(r => scope(r) && r.StateType is "PENDING" or "RUNNING" or "CANCELLING");

    public static JsonObject Queue(QueueEntity q, DateTimeOffset now, EmulatorMode mode, Func<QueueEntity, int>? activeSlots)
    {
        var o = new JsonObject
        {
            ["id"] = q.IdText,
            ["created"] = Iso(q.Created, mode),
            ["updated"] = Iso(q.Updated, mode),
            ["name"] = q.Name,
            // What Prefect writes on the queue it creates with a pool.
            ["description"] = mode != EmulatorMode.V2Legacy && q.Pool.DefaultQueue == q ? "The work pool's default queue." : "",
            ["is_paused"] = q.IsPaused,
            ["concurrency_limit"] = q.ConcurrencyLimit,
            ["priority"] = q.Priority,
        };
        if (mode != EmulatorMode.V2Legacy) o["work_pool_id"] = q.Pool.IdText;
        o["filter"] = null;
        o["last_polled"] = Iso(q.LastPolled, mode);
        if (mode != EmulatorMode.V2Legacy)
        {
            o["work_pool_name"] = q.Pool.Name;
            o["status"] = q.IsPaused ? "PAUSED" : Polled(q.LastPolled, now) ? "READY" : "NOT_READY";
        }
        if (mode is EmulatorMode.V3 or EmulatorMode.Cloud)
            o["active_slots"] = q.ConcurrencyLimit is null || activeSlots is null ? null : activeSlots(q);
        return o;
    }

    public static JsonObject Pool(PoolEntity p, DateTimeOffset now, EmulatorMode mode, Func<PoolEntity, int>? activeSlots)
    {
        var o = new JsonObject
        {
            ["id"] = p.IdText,
            ["created"] = Iso(p.Created, mode),
            ["updated"] = Iso(p.Updated, mode),
            ["name"] = p.Name,
            ["description"] = p.Description,
            ["type"] = p.Type,
            // A pool created through the API without a template has an empty one (a server refuses a
            // template with empty job_configuration or variables).
            ["base_job_template"] = new JsonObject(),
            ["is_paused"] = p.IsPaused,
            ["concurrency_limit"] = p.ConcurrencyLimit,
            // default-agent-pool, made on demand by the legacy queue API, never gets a status.
            ["status"] = p.IsPaused ? "PAUSED" : p.Name == Store.DefaultAgentPool ? null : p.Queues.Any(q => Polled(q.LastPolled, now)) ? "READY" : "NOT_READY",
            ["default_queue_id"] = p.DefaultQueue?.IdText,
        };
        if (mode is EmulatorMode.V3 or EmulatorMode.Cloud)
        {
            o["storage_configuration"] = new JsonObject
            {
                ["bundle_upload_step"] = null,
                ["bundle_execution_step"] = null,
                ["default_result_storage_block_id"] = null,
            };
            o["active_slots"] = p.ConcurrencyLimit is null || activeSlots is null ? null : activeSlots(p);
        }
        return o;
    }
}
