using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Prefect;

namespace PrefectScaling.Backlog
{
    public sealed class BacklogReadOptions
    {
        public IReadOnlyList<BacklogMeasure> Measures { get; set; } = new[] { BacklogMeasure.Late };

        /// <summary>How long a queue listing may be reused for the same scope (0: list every time).</summary>
        public TimeSpan QueueListingMaxAge { get; set; } = TimeSpan.Zero;

        /// <summary>Per-queue count requests in flight at once, when counting per queue is the cheaper way.</summary>
        public int CountConcurrency { get; set; } = 4;

        /// <summary>How far ahead InFlight and Upcoming look.</summary>
        public MeasureWindows Windows { get; set; } = MeasureWindows.Default;
    }

    public sealed class BacklogReadResult
    {
        internal BacklogReadResult(IReadOnlyList<PrefectBacklogCount> counts, IReadOnlyList<ScopeFailure> failures)
        {
            Counts = counts;
            Failures = failures;
        }

        /// <summary>One count per (queue, measure) that was measured.</summary>
        public IReadOnlyList<PrefectBacklogCount> Counts { get; }

        /// <summary>Selectors that named something that does not exist, or that this server cannot express.</summary>
        public IReadOnlyList<ScopeFailure> Failures { get; }
    }

    /// <summary>Counts the backlog per queue and measure. Requests do not grow with the number of queues: the
    /// scope is listed once (pages of 200), the matching runs are fetched in as few pages as the backlog needs
    /// and grouped here, and per-queue counts are used only where they are cheaper. Never calls the poll
    /// endpoints (they mark queues as polled).</summary>
    public sealed class BacklogReader
    {
        private readonly WorkQueueCatalog _catalog;
        private readonly Func<DateTimeOffset> _clock;

        public BacklogReader(WorkQueueCatalog catalog, Func<DateTimeOffset>? clock = null)
        {
            _catalog = catalog;
            _clock = clock ?? (() => DateTimeOffset.UtcNow);
        }

        private PrefectClient Client => _catalog.Client;

        /// <summary>Reads every measure for every selected queue. Any failed Prefect call fails the whole read:
        /// a partial set of counts is never returned as if complete. Every request draws on <paramref name="deadline"/>
        /// (null: a new one for this read).</summary>
        public async Task<BacklogReadResult> ReadAsync(IReadOnlyList<ScopeSelector> selectors, BacklogReadOptions options, IEngineLog log, CancellationToken cancellationToken, PrefectDeadline? deadline = null)
        {
            if (options.Measures == null || options.Measures.Count == 0) throw new ArgumentException("At least one measure is needed.", nameof(options));
            deadline ??= Client.StartDeadline();
            ScopeResolution scope = await _catalog.ResolveAsync(selectors, options.QueueListingMaxAge, log, cancellationToken, deadline).ConfigureAwait(false);
            var counts = new List<PrefectBacklogCount>();
            if (scope.Queues.Count > 0)
            {
                foreach (BacklogMeasure measure in options.Measures.Distinct())
                {
                    DateTimeOffset now = _clock();
                    Dictionary<string, int> perQueue = await CountAsync(scope, measure, now, options, deadline, log, cancellationToken).ConfigureAwait(false);
                    foreach (PrefectWorkQueue queue in scope.Queues)
                    {
                        counts.Add(new PrefectBacklogCount
                        {
                            WorkPool = queue.WorkPool,
                            WorkQueue = queue.WorkQueue,
                            WorkQueueId = queue.Id,
                            Measure = measure,
                            Count = perQueue.TryGetValue(KeyOf(queue, scope.Version), out int n) ? n : 0,
                            Timestamp = now.UtcDateTime,
                            ApiUrl = Client.ApiUrl,
                        });
                    }
                }
            }
            log.Verbose("Counted " + scope.Queues.Count + " queue(s) x " + options.Measures.Distinct().Count() + " measure(s) on " + Client.ApiUrl + "; " + Client.RequestCount + " Prefect request(s) on this connection so far.");
            return new BacklogReadResult(counts, scope.Failures);
        }

        private async Task<Dictionary<string, int>> CountAsync(ScopeResolution scope, BacklogMeasure measure, DateTimeOffset now, BacklogReadOptions options, PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken)
        {
            if (scope.Queues.Count == 1) return await CountPerQueueAsync(scope, measure, now, options, deadline, log, cancellationToken).ConfigureAwait(false);
            try
            {
                return await CountByPagesAsync(scope, measure, now, options, deadline, log, cancellationToken).ConfigureAwait(false);
            }
            catch (PrefectApiException e) when (e.Kind == PrefectErrorKind.TooLarge)
            {
                // Runs with large parameters can make a page too big to read; a count per queue is a few bytes.
                log.Verbose(e.Message + " Counting per queue instead.");
                return await CountPerQueueAsync(scope, measure, now, options, deadline, log, cancellationToken).ConfigureAwait(false);
            }
        }

        /// <summary>Fetches the matching runs page by page and groups them by queue, or counts per queue when
        /// that takes fewer requests.</summary>
        private async Task<Dictionary<string, int>> CountByPagesAsync(ScopeResolution scope, BacklogMeasure measure, DateTimeOffset now, BacklogReadOptions options, PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken)
        {
            PrefectServerVersion version = scope.Version;

            IReadOnlyList<JsonObject> queries = PrefectFilters.FlowRunQueries(measure, now, version, scope.RunScope, options.Windows);
            // A measure counted in halves (InFlight by queue name) cannot be grouped from one paged read.
            if (queries.Count != 1) return await CountPerQueueAsync(scope, measure, now, options, deadline, log, cancellationToken).ConfigureAwait(false);
            JsonObject query = queries[0];
            var grouped = new Dictionary<string, int>(StringComparer.Ordinal);
            int limit = _catalog.PageLimit;

            if (version.HasPaginate)
            {
                const string paginate = "/flow_runs/paginate";
                var guard = new PageGuard("POST " + paginate, Client.ApiUrl);
                guard.BeforePage();
                JsonElement first = await Client.PostAsync(paginate, PrefectFilters.Page(query, "page", 1, limit), deadline, log, cancellationToken).ConfigureAwait(false);
                int pages = PrefectJson.RequiredCount(first, "pages", paginate);
                // Paging costs a request per 200 runs, counting one per queue: take the cheaper.
                if (pages - 1 > scope.Queues.Count)
                    return await CountPerQueueAsync(scope, measure, now, options, deadline, log, cancellationToken).ConfigureAwait(false);
                guard.Expect(pages);
                Group(Results(first, paginate), version, grouped, guard, paginate);
                guard.AfterPage("page");
                for (int page = 2; page <= pages; page++)
                {
                    guard.BeforePage();
                    JsonElement next = await Client.PostAsync(paginate, PrefectFilters.Page(query, "page", page, limit), deadline, log, cancellationToken).ConfigureAwait(false);
                    Group(Results(next, paginate), version, grouped, guard, paginate);
                    guard.AfterPage("page");
                }
                return grouped;
            }

            // 2.x: no total comes with a page, so page until a short one, and stop paging once it has cost
            // as much as counting per queue would.
            const string filter = "/flow_runs/filter";
            var pager = new PageGuard("POST " + filter, Client.ApiUrl);
            for (int offset = 0; ;)
            {
                if (pager.Pages >= scope.Queues.Count)
                    return await CountPerQueueAsync(scope, measure, now, options, deadline, log, cancellationToken).ConfigureAwait(false);
                pager.BeforePage();
                JsonElement page = await Client.PostAsync(filter, PrefectFilters.Page(query, "offset", offset, limit), deadline, log, cancellationToken).ConfigureAwait(false);
                if (page.ValueKind != JsonValueKind.Array)
                    throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + filter + " with something other than a list.", endpoint: filter);
                int rows = Group(page, version, grouped, pager, filter);
                pager.AfterPage("offset");
                if (rows < limit) return grouped;
                offset += rows;
            }
        }

        /// <summary>One /flow_runs/count per queue, a few at a time.</summary>
        private async Task<Dictionary<string, int>> CountPerQueueAsync(ScopeResolution scope, BacklogMeasure measure, DateTimeOffset now, BacklogReadOptions options, PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken)
        {
            var result = new Dictionary<string, int>(StringComparer.Ordinal);
            using var gate = new SemaphoreSlim(Math.Max(1, options.CountConcurrency));
            var tasks = scope.Queues.Select(async queue =>
            {
                RunScope one = scope.Version.HasWorkPools ? RunScope.QueueIds(new[] { queue.Id }) : RunScope.QueueNames(new[] { queue.WorkQueue });
                IReadOnlyList<JsonObject> bodies = PrefectFilters.FlowRunQueries(measure, now, scope.Version, one, options.Windows);
                await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    int count = 0;
                    foreach (JsonObject body in bodies)
                    {
                        JsonElement answer = await Client.PostAsync("/flow_runs/count", body, deadline, log, cancellationToken).ConfigureAwait(false);
                        count += PrefectJson.Count(answer, "a count", "/flow_runs/count");
                    }
                    return (Key: KeyOf(queue, scope.Version), Count: count);
                }
                finally
                {
                    gate.Release();
                }
            }).ToList();
            foreach (var (key, count) in await Task.WhenAll(tasks).ConfigureAwait(false)) result[key] = count;
            return result;
        }

        private static JsonElement Results(JsonElement page, string path) =>
            page.ValueKind == JsonValueKind.Object && page.TryGetProperty("results", out JsonElement results) && results.ValueKind == JsonValueKind.Array
                ? results
                : throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " without a results list.", endpoint: path);

        /// <summary>Adds each run once to its queue's count; returns the rows on the page.</summary>
        private static int Group(JsonElement runs, PrefectServerVersion version, Dictionary<string, int> grouped, PageGuard guard, string path)
        {
            int rows = 0;
            foreach (JsonElement run in runs.EnumerateArray())
            {
                rows++;
                string id = (run.ValueKind == JsonValueKind.Object ? WorkQueueCatalog.String(run, "id") : null)
                            ?? throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " with a flow run that has no id; nothing was counted.", endpoint: path);
                // Seen before: it moved between pages. A run with no queue is never counted, but it is still a row.
                if (!guard.Add(id)) continue;
                string? key = WorkQueueCatalog.String(run, version.HasWorkPools ? "work_queue_id" : "work_queue_name");
                if (key != null) grouped[key] = grouped.TryGetValue(key, out int n) ? n + 1 : 1;
            }
            return rows;
        }

        private static string KeyOf(PrefectWorkQueue queue, PrefectServerVersion version) => version.HasWorkPools ? queue.Id : queue.WorkQueue;
    }
}
