using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json.Nodes;
using PrefectScaling.Backlog;

namespace PrefectScaling.Prefect
{
    /// <summary>The one place that builds Prefect filter bodies, and that says which runs each measure counts when runs
    /// read in pages are tallied here (<see cref="Counts"/>, beside the filters it mirrors). Every key sent here is one
    /// the target version accepts: an unknown key inside a filter is a 422, and an unknown top-level key is
    /// silently ignored, which would widen a count to the whole server.</summary>
    public static class PrefectFilters
    {
        public const int PageLimit = 200;

        /// <summary>The flow_runs filter for one measure. InFlight and Upcoming look ahead by <paramref name="windows"/>
        /// (null: <see cref="MeasureWindows.Default"/>).</summary>
        public static JsonObject FlowRunsFor(BacklogMeasure measure, DateTimeOffset now, PrefectServerVersion version, MeasureWindows? windows = null)
        {
            windows ??= MeasureWindows.Default;
            switch (measure)
            {
                case BacklogMeasure.Late:
                    return new JsonObject { ["state"] = new JsonObject { ["name"] = AnyOf("Late") } };
                case BacklogMeasure.Due:
                    return Scheduled(version, new JsonObject { ["before_"] = Timestamp(now) });
                case BacklogMeasure.Pending:
                    return new JsonObject { ["state"] = new JsonObject { ["type"] = AnyOf("PENDING") } };
                case BacklogMeasure.Running:
                    return new JsonObject { ["state"] = new JsonObject { ["type"] = AnyOf("RUNNING") } };
                case BacklogMeasure.InFlight:
                    // next_scheduled_start_time is set only while a run is SCHEDULED-type, so the two halves of the
                    // or_ never count a run twice. A run waiting for a concurrency slot is counted too: it only keeps
                    // a task from being stopped, the safe side.
                    return new JsonObject
                    {
                        ["operator"] = "or_",
                        ["state"] = new JsonObject { ["type"] = AnyOf(ActiveTypes) },
                        ["next_scheduled_start_time"] = SoonWindow(now, windows),
                    };
                case BacklogMeasure.Upcoming:
                    return Scheduled(version, new JsonObject
                    {
                        ["after_"] = Timestamp(AfterSent(now + windows.InFlightLookahead)),
                        ["before_"] = Timestamp(now + windows.UpcomingLead),
                    });
                default:
                    throw new ArgumentOutOfRangeException(nameof(measure), measure, "Unknown measure.");
            }
        }

        /// <summary>The state types of runs a task is working on.</summary>
        private static readonly string[] ActiveTypes = { "PENDING", "RUNNING", "CANCELLING" };

        /// <summary>SCHEDULED-type runs a worker would take (in 3.x, not those waiting for a concurrency slot, which
        /// more workers do not help) whose next start falls in <paramref name="when"/>.</summary>
        private static JsonObject Scheduled(PrefectServerVersion version, JsonObject when)
        {
            // One operator per state sub-object: 3.1.9+ silently drops a sub-object that has both.
            var state = new JsonObject { ["type"] = AnyOf("SCHEDULED") };
            state["name"] = version.HasStateNotAny
                ? new JsonObject { ["not_any_"] = Array("AwaitingConcurrencySlot") }
                : AnyOf("Scheduled", "Late", "AwaitingRetry");
            return new JsonObject { ["state"] = state, ["next_scheduled_start_time"] = when };
        }

        /// <summary>After now (as sent) and up to the InFlight look-ahead: due runs are the backlog's, not in flight.</summary>
        private static JsonObject SoonWindow(DateTimeOffset now, MeasureWindows windows) => new JsonObject
        {
            ["after_"] = Timestamp(AfterSent(now)),
            ["before_"] = Timestamp(now + windows.InFlightLookahead),
        };

        /// <summary>The first time the server reads as later than <paramref name="value"/> as sent (after_ is ≥, to
        /// the microsecond).</summary>
        private static DateTimeOffset AfterSent(DateTimeOffset value) => AsSent(value).AddTicks(10);

        /// <summary>A count/filter body for runs of one measure within a scope of queues.</summary>
        public static JsonObject FlowRunQuery(BacklogMeasure measure, DateTimeOffset now, PrefectServerVersion version, RunScope scope, MeasureWindows? windows = null)
        {
            IReadOnlyList<JsonObject> bodies = FlowRunQueries(measure, now, version, scope, windows);
            if (bodies.Count != 1) throw new ArgumentException("Prefect " + version + " counts " + measure + " by queue name in " + bodies.Count + " requests: use FlowRunQueries.", nameof(scope));
            return bodies[0];
        }

        /// <summary>The count/filter bodies whose counts add up to one measure within a scope: one, except for an or_
        /// measure (InFlight) by queue name (servers before 2.8), where the queue key inside flow_runs would join the
        /// or_ and widen the count, so each half is counted on its own.</summary>
        public static IReadOnlyList<JsonObject> FlowRunQueries(BacklogMeasure measure, DateTimeOffset now, PrefectServerVersion version, RunScope scope, MeasureWindows? windows = null)
        {
            JsonObject flowRuns = FlowRunsFor(measure, now, version, windows);
            if (scope.Kind != RunScopeKind.QueueNames)
            {
                JsonObject body = Scoped(scope);
                body["flow_runs"] = flowRuns;
                return new[] { body };
            }
            var halves = new List<JsonObject>();
            if (flowRuns["operator"] is JsonNode op && (string?)op == "or_")
            {
                foreach (KeyValuePair<string, JsonNode?> half in flowRuns.ToList())
                    if (half.Key != "operator") halves.Add(new JsonObject { [half.Key] = half.Value!.DeepClone() });
            }
            else halves.Add(flowRuns);
            // Servers before 2.8 know no queue keys at the top level; the run's own column it is.
            return halves.Select(h =>
            {
                h["work_queue_name"] = AnyOf(scope.Values);
                return new JsonObject { ["flow_runs"] = h };
            }).ToList();
        }

        /// <summary>A /flow_runs/filter body for the runs tasks are working on now (PENDING, RUNNING, CANCELLING) in
        /// one part of a scope: the runs task protection ties to tasks.</summary>
        public static JsonObject WorkingRunQuery(RunScope scope)
        {
            var flowRuns = new JsonObject { ["state"] = new JsonObject { ["type"] = AnyOf(ActiveTypes) } };
            if (scope.Kind == RunScopeKind.QueueNames)
            {
                flowRuns["work_queue_name"] = AnyOf(scope.Values);
                return new JsonObject { ["flow_runs"] = flowRuns };
            }
            JsonObject body = Scoped(scope);
            body["flow_runs"] = flowRuns;
            return body;
        }

        /// <summary>The sort of a history read: oldest expected start first, as a replay consumes runs.</summary>
        public const string HistorySort = "EXPECTED_START_TIME_ASC";

        /// <summary>A /flow_runs/filter or /flow_runs/paginate body for the runs of one part of a scope whose expected
        /// start falls in [since, until]: whole pools by name, queues of one pool by name (both keys, so a queue of the
        /// same name in another pool is left out), queues in any pool by name, or (servers before 2.8, which have no
        /// pools) the run's own queue column. Paged with <see cref="Page"/> and <see cref="HistorySort"/>.</summary>
        public static JsonObject HistoryQuery(IReadOnlyCollection<string>? pools, IReadOnlyCollection<string>? queues, DateTimeOffset since, DateTimeOffset until, PrefectServerVersion version)
        {
            if (since > until) throw new ArgumentException("The history's start (" + Timestamp(since) + ") is after its end (" + Timestamp(until) + ").", nameof(since));
            var flowRuns = new JsonObject
            {
                ["expected_start_time"] = new JsonObject { ["after_"] = Timestamp(since), ["before_"] = Timestamp(until) },
            };
            var body = new JsonObject();
            if (!version.HasWorkPools)
            {
                if (pools != null && pools.Count > 0) throw new ArgumentException("Prefect " + version + " has no work pools (they arrived in 2.8): name work queues only.", nameof(pools));
                if (queues != null && queues.Count > 0) flowRuns["work_queue_name"] = AnyOf(queues);
            }
            else
            {
                if (pools != null && pools.Count > 0) body["work_pools"] = new JsonObject { ["name"] = AnyOf(pools) };
                if (queues != null && queues.Count > 0) body["work_pool_queues"] = new JsonObject { ["name"] = AnyOf(queues) };
            }
            body["flow_runs"] = flowRuns;
            return body;
        }

        /// <summary>The top-level keys that narrow a run query to a scope (none for QueueNames: see FlowRunQuery).</summary>
        private static JsonObject Scoped(RunScope scope)
        {
            var body = new JsonObject();
            switch (scope.Kind)
            {
                case RunScopeKind.Pools:
                    body["work_pools"] = new JsonObject { ["name"] = AnyOf(scope.Values) };
                    break;
                case RunScopeKind.QueueIds:
                    body["work_pool_queues"] = new JsonObject { ["id"] = AnyOf(scope.Values) };
                    break;
            }
            return body;
        }

        /// <summary>The flow_runs filter of one paged read that returns every run that any of <paramref name="measures"/>
        /// counts, and few others: Late by its name, Pending, Running and InFlight by their types, Due, InFlight and
        /// Upcoming by time (SCHEDULED runs due up to the furthest window), joined with or_ where they differ. Each run is
        /// then tallied locally with <see cref="Counts"/>, so the read may be wider than a measure, never narrower. One
        /// operator per state sub-object, as in <see cref="FlowRunsFor"/>.</summary>
        public static JsonObject ActiveRunsFor(IReadOnlyCollection<BacklogMeasure> measures, DateTimeOffset now, PrefectServerVersion version, MeasureWindows? windows = null)
        {
            if (measures == null || measures.Count == 0) throw new ArgumentException("At least one measure is needed.", nameof(measures));
            windows ??= MeasureWindows.Default;
            DateTimeOffset? scheduledUntil = null;
            if (measures.Contains(BacklogMeasure.Due)) scheduledUntil = now;
            if (measures.Contains(BacklogMeasure.InFlight)) scheduledUntil = now + windows.InFlightLookahead;
            if (measures.Contains(BacklogMeasure.Upcoming)) scheduledUntil = now + windows.UpcomingLead;
            var types = new List<string>();
            if (measures.Contains(BacklogMeasure.Pending) || measures.Contains(BacklogMeasure.InFlight)) types.Add("PENDING");
            if (measures.Contains(BacklogMeasure.Running) || measures.Contains(BacklogMeasure.InFlight)) types.Add("RUNNING");
            if (measures.Contains(BacklogMeasure.InFlight)) types.Add("CANCELLING");
            JsonObject? state = null;
            if (measures.Contains(BacklogMeasure.Late))
            {
                state = new JsonObject { ["name"] = AnyOf("Late") };
                if (types.Count > 0)
                {
                    state["operator"] = "or_";
                    state["type"] = AnyOf(types);
                }
            }
            else if (types.Count > 0)
            {
                state = new JsonObject { ["type"] = AnyOf(types) };
            }
            if (scheduledUntil == null) return new JsonObject { ["state"] = state };
            // A wider time window than one measure's: the local tally narrows it.
            var when = new JsonObject { ["before_"] = Timestamp(scheduledUntil.Value) };
            if (state == null) return Scheduled(version, when);
            return new JsonObject
            {
                ["operator"] = "or_",
                ["state"] = state,
                ["next_scheduled_start_time"] = when,
            };
        }

        /// <summary>A /flow_runs/paginate or /flow_runs/filter body for <see cref="ActiveRunsFor"/> within pools or queue
        /// ids (servers before 2.8 are counted instead: their scope lives inside flow_runs, which the or_ would widen).</summary>
        public static JsonObject ActiveRunQuery(IReadOnlyCollection<BacklogMeasure> measures, DateTimeOffset now, PrefectServerVersion version, RunScope scope, MeasureWindows? windows = null)
        {
            if (scope.Kind == RunScopeKind.QueueNames) throw new ArgumentException("A paged read of active runs needs work pools (Prefect 2.8 on).", nameof(scope));
            JsonObject body = Scoped(scope);
            body["flow_runs"] = ActiveRunsFor(measures, now, version, windows);
            return body;
        }

        /// <summary>Whether <see cref="FlowRunsFor"/>(<paramref name="measure"/>) counts a run with this state and
        /// next_scheduled_start_time, as the server's SQL decides it: the local mirror of each measure, for runs read in
        /// pages. <paramref name="now"/> is compared as it is sent (to the microsecond); a null column matches nothing.</summary>
        public static bool Counts(BacklogMeasure measure, string? stateType, string? stateName, DateTimeOffset? nextScheduledStartTime, DateTimeOffset now, PrefectServerVersion version, MeasureWindows? windows = null)
        {
            windows ??= MeasureWindows.Default;
            switch (measure)
            {
                case BacklogMeasure.Late:
                    return stateName == "Late";
                case BacklogMeasure.Due:
                    return Takeable(stateType, stateName, version) && nextScheduledStartTime != null && nextScheduledStartTime.Value <= AsSent(now);
                case BacklogMeasure.Pending:
                    return stateType == "PENDING";
                case BacklogMeasure.Running:
                    return stateType == "RUNNING";
                case BacklogMeasure.InFlight:
                    if (stateType != null && System.Array.IndexOf(ActiveTypes, stateType) >= 0) return true;
                    return nextScheduledStartTime != null && nextScheduledStartTime.Value >= AfterSent(now) && nextScheduledStartTime.Value <= AsSent(now + windows.InFlightLookahead);
                case BacklogMeasure.Upcoming:
                    return Takeable(stateType, stateName, version) && nextScheduledStartTime != null &&
                           nextScheduledStartTime.Value >= AfterSent(now + windows.InFlightLookahead) && nextScheduledStartTime.Value <= AsSent(now + windows.UpcomingLead);
                default:
                    throw new ArgumentOutOfRangeException(nameof(measure), measure, "Unknown measure.");
            }
        }

        /// <summary>The local mirror of <see cref="Scheduled"/>'s state part.</summary>
        private static bool Takeable(string? stateType, string? stateName, PrefectServerVersion version) =>
            stateType == "SCHEDULED" && stateName != null &&
            (version.HasStateNotAny
                ? stateName != "AwaitingConcurrencySlot"
                : stateName == "Scheduled" || stateName == "Late" || stateName == "AwaitingRetry");

        /// <summary>A time as the server reads it from <see cref="Timestamp"/>: cut to the microsecond.</summary>
        public static DateTimeOffset AsSent(DateTimeOffset value) =>
            DateTimeOffset.ParseExact(Timestamp(value), "yyyy-MM-dd'T'HH:mm:ss.ffffffzzz", CultureInfo.InvariantCulture);

        /// <summary>A page of a run query: by "offset" for /flow_runs/filter, by "page" (from 1) for /flow_runs/paginate.</summary>
        public static JsonObject Page(JsonObject query, string positionKey, int position, int limit = PageLimit, string sort = "ID_DESC")
        {
            var body = (JsonObject)query.DeepClone();
            body["sort"] = sort;
            body[positionKey] = position;
            body["limit"] = limit;
            return body;
        }

        /// <summary>A /work_queues/filter or /work_pools/{name}/queues/filter body (the key is work_queues there,
        /// though the flow-run endpoints call the same filter work_pool_queues).</summary>
        public static JsonObject QueueListing(IReadOnlyCollection<string>? exactNames, int offset)
        {
            var body = new JsonObject { ["offset"] = offset, ["limit"] = PageLimit };
            if (exactNames != null) body["work_queues"] = new JsonObject { ["name"] = AnyOf(exactNames) };
            return body;
        }

        /// <summary>A /work_pools/filter body.</summary>
        public static JsonObject PoolListing(IReadOnlyCollection<string>? exactNames, int offset)
        {
            var body = new JsonObject { ["offset"] = offset, ["limit"] = PageLimit };
            if (exactNames != null) body["work_pools"] = new JsonObject { ["name"] = AnyOf(exactNames) };
            return body;
        }

        /// <summary>RFC 3339 with an explicit offset: what 2.x (pendulum, strings only) and 3.x both parse.</summary>
        public static string Timestamp(DateTimeOffset value) =>
            value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'+00:00'", CultureInfo.InvariantCulture);

        /// <summary>A path segment for a pool or queue name.</summary>
        public static string Segment(string name) => Uri.EscapeDataString(name);

        private static JsonObject AnyOf(params string[] values) => AnyOf((IEnumerable<string>)values);

        private static JsonObject AnyOf(IEnumerable<string> values) => new JsonObject { ["any_"] = Array(values) };

        private static JsonArray Array(params string[] values) => Array((IEnumerable<string>)values);

        private static JsonArray Array(IEnumerable<string> values) => new JsonArray(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());
    }

    public enum RunScopeKind { Everything, Pools, QueueIds, QueueNames }

    /// <summary>How a run query is narrowed to the queues in scope.</summary>
    public sealed class RunScope
    {
        private RunScope(RunScopeKind kind, IReadOnlyList<string> values)
        {
            Kind = kind;
            Values = values;
        }

        public RunScopeKind Kind { get; }
        public IReadOnlyList<string> Values { get; }

        public static readonly RunScope Everything = new RunScope(RunScopeKind.Everything, System.Array.Empty<string>());
        public static RunScope Pools(IEnumerable<string> names) => new RunScope(RunScopeKind.Pools, names.Distinct(StringComparer.Ordinal).ToList());
        public static RunScope QueueIds(IEnumerable<string> ids) => new RunScope(RunScopeKind.QueueIds, ids.Distinct(StringComparer.Ordinal).ToList());
        public static RunScope QueueNames(IEnumerable<string> names) => new RunScope(RunScopeKind.QueueNames, names.Distinct(StringComparer.Ordinal).ToList());
    }
}
