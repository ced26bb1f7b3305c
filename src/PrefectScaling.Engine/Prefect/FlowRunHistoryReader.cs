using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Simulation;

namespace PrefectScaling.Prefect
{
    public sealed class FlowRunHistoryOptions
    {
        public const int DefaultMaxRuns = 10000;

        /// <summary>Runs whose expected start is in [Since, Until].</summary>
        public DateTimeOffset Since { get; set; }
        public DateTimeOffset Until { get; set; }

        /// <summary>At most this many runs (the earliest); more is reported in <see cref="FlowRunHistory.Truncated"/>.</summary>
        public int MaxRuns { get; set; } = DefaultMaxRuns;
    }

    public sealed class FlowRunHistory
    {
        internal FlowRunHistory(IReadOnlyList<PrefectFlowRun> runs, bool truncated)
        {
            Runs = runs;
            Truncated = truncated;
        }

        /// <summary>Sorted by expected start (then id), each run once.</summary>
        public IReadOnlyList<PrefectFlowRun> Runs { get; }

        /// <summary>The scope had more runs in the window than MaxRuns: <see cref="Runs"/> are the earliest of them.</summary>
        public bool Truncated { get; }
    }

    /// <summary>Past flow runs of one scope (a binding's pools and queues, by exact names) in a window of expected
    /// starts, for replay in a simulation. Every name is looked up first, as for totals: a pool or queue that does not
    /// exist is an error, not an empty history. Then each part of the scope is read in pages sorted by expected start
    /// (/flow_runs/paginate on 3.x, /flow_runs/filter by offset on 2.x), bounded by MaxRuns, the page guard and the
    /// client's byte cap per response.</summary>
    public sealed class FlowRunHistoryReader
    {
        private readonly WorkQueueCatalog _catalog;
        private readonly BindingTotalsReader _names;

        public FlowRunHistoryReader(WorkQueueCatalog catalog)
        {
            _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
            _names = new BindingTotalsReader(catalog);
        }

        private PrefectClient Client => _catalog.Client;

        public async Task<FlowRunHistory> ReadAsync(BindingScope scope, FlowRunHistoryOptions options, IEngineLog log, CancellationToken cancellationToken, PrefectDeadline? deadline = null)
        {
            if (scope == null) throw new ArgumentNullException(nameof(scope));
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (options.MaxRuns < 1) throw new ArgumentException("MaxRuns must be at least 1.", nameof(options));
            if (options.Since > options.Until) throw new ArgumentException("The history's start (" + options.Since.UtcDateTime.ToString("u") + ") is after its end (" + options.Until.UtcDateTime.ToString("u") + ").", nameof(options));
            deadline ??= Client.StartDeadline();
            PrefectServerVersion version = await Client.GetServerVersionAsync(deadline, log, cancellationToken).ConfigureAwait(false);
            IReadOnlyList<PrefectApiException?> verified = await _names.VerifyAsync(new[] { scope }, TimeSpan.Zero, log, cancellationToken, deadline).ConfigureAwait(false);
            if (verified[0] is PrefectApiException missing)
                throw new PrefectApiException(missing.Kind, missing.Message.Replace("cannot be counted", "has no history").Replace("Nothing is counted for this scope.", "No run is read."), missing.StatusCode);

            var runs = new Dictionary<string, PrefectFlowRun>(StringComparer.Ordinal);
            bool truncated = false;
            foreach ((IReadOnlyCollection<string>? pools, IReadOnlyCollection<string>? queues) in Parts(scope))
            {
                JsonObject query = PrefectFilters.HistoryQuery(pools, queues, options.Since, options.Until, version);
                // One run more than the cap says whether the cap cut the history.
                List<PrefectFlowRun> part = version.HasPaginate
                    ? await PaginateAsync(query, options.MaxRuns + 1, deadline, log, cancellationToken).ConfigureAwait(false)
                    : await FilterPagesAsync(query, options.MaxRuns + 1, deadline, log, cancellationToken).ConfigureAwait(false);
                foreach (PrefectFlowRun run in part) runs[run.Id] = run;
            }
            List<PrefectFlowRun> sorted = runs.Values.OrderBy(r => r.ExpectedStart).ThenBy(r => r.Id, StringComparer.Ordinal).ToList();
            if (sorted.Count > options.MaxRuns)
            {
                truncated = true;
                sorted = sorted.Take(options.MaxRuns).ToList();
            }
            log.Verbose("History of '" + scope + "' on " + Client.ApiUrl + ": " + sorted.Count + " run(s) expected between " + options.Since.UtcDateTime.ToString("u") + " and " + options.Until.UtcDateTime.ToString("u") +
                        (truncated ? ", cut at " + options.MaxRuns : string.Empty) + ".");
            return new FlowRunHistory(sorted, truncated);
        }

        /// <summary>The scope as queries: whole pools together, each pool's named queues, queues in any pool.</summary>
        private static IEnumerable<(IReadOnlyCollection<string>? Pools, IReadOnlyCollection<string>? Queues)> Parts(BindingScope scope)
        {
            List<string> whole = scope.Pools.Where(p => p.IsWholePool).Select(p => p.Pool).ToList();
            if (whole.Count > 0) yield return (whole, null);
            foreach (BindingScope.PoolPart part in scope.Pools.Where(p => !p.IsWholePool)) yield return (new[] { part.Pool }, part.Queues.ToList());
            if (scope.AnyPoolQueues.Count > 0) yield return (null, scope.AnyPoolQueues.ToList());
        }

        private async Task<List<PrefectFlowRun>> PaginateAsync(JsonObject query, int wanted, PrefectDeadline deadline, IEngineLog log, CancellationToken ct)
        {
            const string path = "/flow_runs/paginate";
            int limit = PrefectFilters.PageLimit;
            var guard = new PageGuard("POST " + path, Client.ApiUrl);
            var runs = new List<PrefectFlowRun>();
            for (int page = 1, pages = 1; page <= pages && runs.Count < wanted; page++)
            {
                guard.BeforePage();
                JsonElement answer = await Client.PostAsync(path, PrefectFilters.Page(query, "page", page, limit, PrefectFilters.HistorySort), deadline, log, ct).ConfigureAwait(false);
                if (page == 1)
                {
                    pages = PrefectJson.RequiredCount(answer, "pages", path);
                    guard.Expect(Math.Min(pages, (wanted + limit - 1) / limit));
                }
                JsonElement results = answer.ValueKind == JsonValueKind.Object && answer.TryGetProperty("results", out JsonElement r) && r.ValueKind == JsonValueKind.Array
                    ? r
                    : throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " without a results list.", endpoint: path);
                Collect(results, guard, runs, path);
                guard.AfterPage("page");
            }
            return runs;
        }

        private async Task<List<PrefectFlowRun>> FilterPagesAsync(JsonObject query, int wanted, PrefectDeadline deadline, IEngineLog log, CancellationToken ct)
        {
            const string path = "/flow_runs/filter";
            int limit = PrefectFilters.PageLimit;
            var guard = new PageGuard("POST " + path, Client.ApiUrl);
            var runs = new List<PrefectFlowRun>();
            for (int offset = 0; runs.Count < wanted;)
            {
                guard.BeforePage();
                JsonElement page = await Client.PostAsync(path, PrefectFilters.Page(query, "offset", offset, limit, PrefectFilters.HistorySort), deadline, log, ct).ConfigureAwait(false);
                if (page.ValueKind != JsonValueKind.Array)
                    throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " with something other than a list.", endpoint: path);
                int rows = Collect(page, guard, runs, path);
                guard.AfterPage("offset");
                if (rows < limit) break;
                offset += rows;
            }
            return runs;
        }

        private int Collect(JsonElement page, PageGuard guard, List<PrefectFlowRun> runs, string path)
        {
            int rows = 0;
            foreach (JsonElement item in page.EnumerateArray())
            {
                rows++;
                PrefectFlowRun run = Parse(item, Client.ApiUrl, path);
                if (guard.Add(run.Id)) runs.Add(run);
            }
            return rows;
        }

        /// <summary>One run of a 2.x or 3.x answer (the same keys in both). A run without an expected start cannot be
        /// replayed and is not in a window of expected starts: it is an unexpected answer.</summary>
        internal static PrefectFlowRun Parse(JsonElement item, string apiUrl, string path)
        {
            if (item.ValueKind != JsonValueKind.Object)
                throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " with a flow run that is not an object.", endpoint: path);
            string id = WorkQueueCatalog.String(item, "id")
                        ?? throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " with a flow run that has no id.", endpoint: path);
            DateTime expected = Time(item, "expected_start_time")
                                ?? throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " with flow run " + id + " without an expected start time.", endpoint: path);
            DateTime? start = Time(item, "start_time");
            DateTime? end = Time(item, "end_time");
            return new PrefectFlowRun
            {
                Id = id,
                Name = WorkQueueCatalog.String(item, "name") ?? string.Empty,
                ExpectedStart = expected,
                Start = start,
                End = end,
                Duration = start is DateTime s && end is DateTime e && e >= s ? e - s : (TimeSpan?)null,
                Created = Time(item, "created") ?? expected,
                State = WorkQueueCatalog.String(item, "state_type") ?? string.Empty,
                StateName = WorkQueueCatalog.String(item, "state_name") ?? string.Empty,
                WorkQueue = WorkQueueCatalog.String(item, "work_queue_name"),
                WorkPool = WorkQueueCatalog.String(item, "work_pool_name"),
                ApiUrl = apiUrl,
            };
        }

        private static DateTime? Time(JsonElement item, string name) =>
            WorkQueueCatalog.String(item, name) is string text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset time)
                ? time.UtcDateTime
                : (DateTime?)null;
    }
}
