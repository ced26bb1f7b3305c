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
    public static string Iso(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff", CultureInfo.InvariantCulture) + "+00:00";

    public static JsonNode? Iso(DateTimeOffset? t) => t is DateTimeOffset v ? JsonValue.Create(Iso(v)) : null;

    public static bool Polled(DateTimeOffset? lastPolled, DateTimeOffset now) =>
        lastPolled is DateTimeOffset lp && (now - lp).TotalSeconds <= 60;

    public static JsonObject Run(RunEntity r, DateTimeOffset now, EmulatorMode mode)
    {
        double delta = 0;
        if (r.StartTime is DateTimeOffset st && r.ExpectedStartTime is DateTimeOffset e1 && st > e1) delta = (st - e1).TotalSeconds;
        else if (r.StartTime is null && r.ExpectedStartTime is DateTimeOffset e2 && e2 < now && !Store.TerminalTypes.Contains(r.StateType))
            delta = (now - e2).TotalSeconds;
        var tags = new JsonArray();
        foreach (var t in r.Tags) tags.Add(t);
        var o = new JsonObject
        {
            ["id"] = r.IdText,
            ["created"] = Iso(r.Created),
            ["updated"] = Iso(r.Updated),
            ["name"] = r.Name,
            ["flow_id"] = r.FlowId.ToString("D"),
            ["state_id"] = r.StateId.ToString("D"),
            ["deployment_id"] = r.DeploymentId?.ToString("D"),
            ["work_queue_id"] = r.Queue?.IdText,
            ["work_queue_name"] = r.WorkQueueName,
            ["flow_version"] = r.FlowVersion,
            ["parameters"] = new JsonObject(),
            ["idempotency_key"] = null,
            ["context"] = new JsonObject(),
            ["tags"] = tags,
            ["parent_task_run_id"] = null,
            ["state_type"] = r.StateType,
            ["state_name"] = r.StateName,
            ["run_count"] = r.StartTime is null ? 0 : 1,
            ["expected_start_time"] = Iso(r.ExpectedStartTime),
            ["next_scheduled_start_time"] = Iso(r.NextScheduledStartTime),
            ["start_time"] = Iso(r.StartTime),
            ["end_time"] = Iso(r.EndTime),
            ["total_run_time"] = 0.0,
            ["estimated_run_time"] = 0.0,
            ["estimated_start_time_delta"] = Math.Round(delta, 6),
            ["auto_scheduled"] = false,
            ["infrastructure_document_id"] = null,
            ["infrastructure_pid"] = null,
            ["created_by"] = null,
        };
        if (mode != EmulatorMode.V2Legacy)
        {
            o["work_pool_id"] = r.Queue?.Pool.IdText;
            o["work_pool_name"] = r.Queue?.Pool.Name;
        }
        o["state"] = new JsonObject
        {
            ["id"] = r.StateId.ToString("D"),
            ["type"] = r.StateType,
            ["name"] = r.StateName,
            ["timestamp"] = Iso(r.StateTimestamp),
            ["message"] = null,
            ["state_details"] = new JsonObject
            {
                ["flow_run_id"] = r.IdText,
                ["task_run_id"] = null,
                ["child_flow_run_id"] = null,
                ["scheduled_time"] = Iso(r.StateType == "SCHEDULED" ? r.NextScheduledStartTime : null),
                ["cache_key"] = null,
                ["cache_expiration"] = null,
                ["untrackable_result"] = false,
                ["pause_timeout"] = null,
                ["pause_reschedule"] = false,
                ["pause_key"] = null,
                ["refresh_cache"] = null,
            },
        };
        return o;
    }

    public static int ActiveSlots(IEnumerable<RunEntity> runs, Func<RunEntity, bool> scope) =>
        runs.Count(r => scope(r) && r.StateType is "PENDING" or "RUNNING" or "CANCELLING");

    public static JsonObject Queue(QueueEntity q, DateTimeOffset now, EmulatorMode mode, Func<QueueEntity, int>? activeSlots)
    {
        var o = new JsonObject
        {
            ["id"] = q.IdText,
            ["created"] = Iso(q.Created),
            ["updated"] = Iso(q.Updated),
            ["name"] = q.Name,
            ["description"] = "",
            ["is_paused"] = q.IsPaused,
            ["concurrency_limit"] = q.ConcurrencyLimit,
            ["priority"] = q.Priority,
        };
        if (mode != EmulatorMode.V2Legacy) o["work_pool_id"] = q.Pool.IdText;
        o["filter"] = null;
        o["last_polled"] = Iso(q.LastPolled);
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
            ["created"] = Iso(p.Created),
            ["updated"] = Iso(p.Updated),
            ["name"] = p.Name,
            ["description"] = p.Description,
            ["type"] = p.Type,
            ["base_job_template"] = new JsonObject
            {
                ["job_configuration"] = new JsonObject(),
                ["variables"] = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() },
            },
            ["is_paused"] = p.IsPaused,
            ["concurrency_limit"] = p.ConcurrencyLimit,
            ["status"] = p.IsPaused ? "PAUSED" : p.Queues.Any(q => Polled(q.LastPolled, now)) ? "READY" : "NOT_READY",
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
