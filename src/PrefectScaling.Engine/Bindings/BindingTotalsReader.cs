using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Backlog;
using PrefectScaling.Prefect;

namespace PrefectScaling.Bindings
{
    public sealed class BindingTotalsOptions
    {
        public IReadOnlyList<BacklogMeasure> Measures { get; set; } = new[] { BacklogMeasure.Late };

        /// <summary>How long a scope whose names were all found may be counted again without looking them up (0: look
        /// them up on every read). As with a reused queue listing, a pool or queue removed meanwhile counts as empty until then.</summary>
        public TimeSpan VerifiedScopeMaxAge { get; set; } = TimeSpan.Zero;

        /// <summary>Prefect requests in flight at once (listings and counts).</summary>
        public int RequestConcurrency { get; set; } = 4;

        /// <summary>How far ahead InFlight and Upcoming look.</summary>
        public MeasureWindows Windows { get; set; } = MeasureWindows.Default;
    }

    /// <summary>One scope's totals, or why it has none.</summary>
    public sealed class ScopeTotals
    {
        internal ScopeTotals(BindingScope scope, IReadOnlyList<PrefectBacklogTotal> totals, PrefectApiException? failure)
        {
            Scope = scope;
            Totals = totals;
            Failure = failure;
        }

        public BindingScope Scope { get; }

        /// <summary>One per measure, in the order of the options' measures; empty when <see cref="Failure"/> is set.</summary>
        public IReadOnlyList<PrefectBacklogTotal> Totals { get; }

        /// <summary>Why this scope has no totals: a name that does not exist, a queue name in several pools, or a
        /// request of this scope that failed. The other scopes are not affected.</summary>
        public PrefectApiException? Failure { get; }
    }

    public sealed class BindingTotalsResult
    {
        internal BindingTotalsResult(IReadOnlyList<ScopeTotals> scopes, bool readByPages)
        {
            Scopes = scopes;
            ReadByPages = readByPages;
        }

        /// <summary>One per scope asked for, in the same order.</summary>
        public IReadOnlyList<ScopeTotals> Scopes { get; }

        /// <summary>The totals came from one paged read of the active runs of every bound pool, tallied here, because
        /// that took fewer requests than a count per scope and measure.</summary>
        public bool ReadByPages { get; }
    }

    /// <summary>Totals of whole scopes (a binding's pools and queues), whatever their number of queues and runs. Every
    /// name of a scope is looked up first, in listings shared by all the scopes read (a count of a pool that does not
    /// exist is 0, not an error); then each scope is counted by the server, one <c>/flow_runs/count</c> per measure for
    /// its whole pools and one for its queues by id, or, when there are many scopes, by one paged read of the active
    /// runs of all their pools when that costs fewer requests. A scope that cannot be read has no totals, and only it.</summary>
    public sealed class BindingTotalsReader
    {
        private const string CountPath = "/flow_runs/count";
        private readonly WorkQueueCatalog _catalog;
        private readonly Func<DateTimeOffset> _clock;
        private readonly object _cacheLock = new object();
        private readonly Dictionary<string, (VerifiedScope Scope, DateTimeOffset At)> _verified = new Dictionary<string, (VerifiedScope, DateTimeOffset)>(StringComparer.Ordinal);

        /// <param name="clock">The time a read measures at (Due's "before now", the totals' timestamp) and the age of a
        /// verified scope are both read from it.</param>
        public BindingTotalsReader(WorkQueueCatalog catalog, Func<DateTimeOffset>? clock = null)
        {
            _catalog = catalog;
            _clock = clock ?? (() => DateTimeOffset.UtcNow);
        }

        private PrefectClient Client => _catalog.Client;

        /// <summary>Reads every measure for every scope. Never throws for what Prefect answers: a failure is the
        /// failure of the scopes it concerns (all of them when the server itself cannot be read). Every request draws
        /// on <paramref name="deadline"/> (null: a new one for this read).</summary>
        public async Task<BindingTotalsResult> ReadAsync(IReadOnlyList<BindingScope> scopes, BindingTotalsOptions options, IEngineLog log, CancellationToken cancellationToken, PrefectDeadline? deadline = null)
        {
            if (scopes == null) throw new ArgumentNullException(nameof(scopes));
            if (options?.Measures == null || options.Measures.Count == 0) throw new ArgumentException("At least one measure is needed.", nameof(options));
            List<BacklogMeasure> measures = options.Measures.Distinct().ToList();
            int requestsBefore = Client.RequestCount;

            // The same scope twice is read once.
            var slots = new Dictionary<string, Slot>(StringComparer.Ordinal);
            var order = new List<Slot>();
            foreach (BindingScope scope in scopes)
            {
                string key = KeyOf(scope);
                if (!slots.TryGetValue(key, out Slot? slot)) slots[key] = slot = new Slot(scope, key, measures.Count);
                order.Add(slot);
            }

            DateTimeOffset now = _clock();
            bool byPages = false;
            if (slots.Count > 0)
            {
                try
                {
                    deadline ??= Client.StartDeadline();
                    PrefectServerVersion version = await Client.GetServerVersionAsync(deadline, log, cancellationToken).ConfigureAwait(false);
                    using var gate = new SemaphoreSlim(Math.Max(1, options.RequestConcurrency));
                    var reading = new Reading(version, measures, now, deadline, gate, log, cancellationToken) { Windows = options.Windows ?? MeasureWindows.Default };
                    await VerifyAsync(slots.Values.ToList(), options.VerifiedScopeMaxAge, reading).ConfigureAwait(false);
                    List<Slot> ready = slots.Values.Where(s => s.Verified != null && s.Failure == null).ToList();
                    int countRequests = ready.Sum(s => s.Verified!.Parts.Count) * measures.Count;
                    // One scope is always counted, so its cost never depends on its backlog: a request per measure.
                    if (version.HasWorkPools && ready.Count > 1 && countRequests > 1)
                        byPages = await TryPagesAsync(ready, countRequests, reading).ConfigureAwait(false);
                    if (!byPages) await CountAsync(ready, reading).ConfigureAwait(false);
                }
                catch (PrefectApiException e)
                {
                    // The server itself (its version, or the time left) could not be read: no scope can be.
                    foreach (Slot slot in slots.Values) slot.Fail(e);
                }
            }

            var results = order.Select(slot => new ScopeTotals(slot.Scope, slot.Failure != null
                ? (IReadOnlyList<PrefectBacklogTotal>)Array.Empty<PrefectBacklogTotal>()
                : measures.Select((measure, i) => new PrefectBacklogTotal
                {
                    Scope = slot.Scope.ToString(),
                    Measure = measure,
                    Count = slot.Counts[i],
                    Timestamp = now.UtcDateTime,
                    ApiUrl = Client.ApiUrl,
                }).ToList(), slot.Failure)).ToList();
            log.Verbose("Totals of " + slots.Count + " scope(s) x " + measures.Count + " measure(s) on " + Client.ApiUrl + (byPages ? ", from one paged read of the active runs" : ", counted by the server") +
                        ": " + slots.Values.Count(s => s.Failure != null) + " failed; " + (Client.RequestCount - requestsBefore) + " Prefect request(s), " + Client.RequestCount + " on this connection so far.");
            return new BindingTotalsResult(results, byPages);
        }

        /// <summary>Only whether each scope's names exist (and a queue named without its pool is in exactly one): null
        /// where it does, else why not. The same listings and the same reuse as <see cref="ReadAsync"/>.</summary>
        public async Task<IReadOnlyList<PrefectApiException?>> VerifyAsync(IReadOnlyList<BindingScope> scopes, TimeSpan maxAge, IEngineLog log, CancellationToken cancellationToken, PrefectDeadline? deadline = null)
        {
            if (scopes == null) throw new ArgumentNullException(nameof(scopes));
            var slots = scopes.Select(s => new Slot(s, KeyOf(s), 0)).ToList();
            if (slots.Count == 0) return Array.Empty<PrefectApiException?>();
            try
            {
                deadline ??= Client.StartDeadline();
                PrefectServerVersion version = await Client.GetServerVersionAsync(deadline, log, cancellationToken).ConfigureAwait(false);
                using var gate = new SemaphoreSlim(4);
                await VerifyAsync(slots, maxAge, new Reading(version, Array.Empty<BacklogMeasure>(), _clock(), deadline, gate, log, cancellationToken)).ConfigureAwait(false);
            }
            catch (PrefectApiException e)
            {
                foreach (Slot slot in slots) slot.Fail(e);
            }
            return slots.Select(s => s.Failure).ToList();
        }

        /// <summary>What each scope is read by (its whole pools by name, its other queues by id; queue names before
        /// 2.8), with the server's version, or why it cannot be read. The same listings and the same reuse as
        /// <see cref="ReadAsync"/>, so a cycle that just read the totals lists nothing again.</summary>
        public async Task<IReadOnlyList<(IReadOnlyList<RunScope>? Parts, PrefectServerVersion? Version, PrefectApiException? Failure)>> ResolvePartsAsync(
            IReadOnlyList<BindingScope> scopes, TimeSpan maxAge, IEngineLog log, CancellationToken cancellationToken, PrefectDeadline? deadline = null)
        {
            if (scopes == null) throw new ArgumentNullException(nameof(scopes));
            var slots = scopes.Select(s => new Slot(s, KeyOf(s), 0)).ToList();
            PrefectServerVersion? version = null;
            if (slots.Count > 0)
            {
                try
                {
                    deadline ??= Client.StartDeadline();
                    version = await Client.GetServerVersionAsync(deadline, log, cancellationToken).ConfigureAwait(false);
                    using var gate = new SemaphoreSlim(4);
                    await VerifyAsync(slots, maxAge, new Reading(version, Array.Empty<BacklogMeasure>(), _clock(), deadline, gate, log, cancellationToken)).ConfigureAwait(false);
                }
                catch (PrefectApiException e)
                {
                    foreach (Slot slot in slots) slot.Fail(e);
                }
            }
            return slots.Select(s => (s.Failure == null ? s.Verified?.Parts : null, s.Failure == null ? version : null, s.Failure)).ToList();
        }

        // ------------------------------------------------------------------ existence

        /// <summary>Looks up every name of the slots not verified within <paramref name="maxAge"/>: one pool listing
        /// (narrowed by name) for the whole pools, one queue listing per pool that has named queues (which also proves
        /// the pool), and one listing across pools for queues named without a pool.</summary>
        private async Task VerifyAsync(List<Slot> slots, TimeSpan maxAge, Reading r)
        {
            var pending = new List<Slot>();
            lock (_cacheLock)
            {
                foreach (Slot slot in slots)
                {
                    if (maxAge > TimeSpan.Zero && _verified.TryGetValue(slot.Key, out var cached) && r.Now >= cached.At && r.Now - cached.At <= maxAge)
                        slot.Verified = cached.Scope;
                    else
                        pending.Add(slot);
                }
            }
            if (slots.Count > pending.Count)
                r.Log.Verbose("Reusing the names of " + (slots.Count - pending.Count) + " scope(s) found within the last " + Seconds(maxAge) + ".");
            if (pending.Count == 0) return;

            if (!r.Version.HasWorkPools)
            {
                foreach (Slot slot in pending.Where(s => s.Scope.Pools.Count > 0))
                    slot.Fail(new PrefectApiException(PrefectErrorKind.Unsupported,
                        "The scope '" + slot.Scope + "' names work pools, but " + r.Version + " at " + Client.ApiUrl + " has none (they arrived in Prefect 2.8): name work queues only."));
                pending = pending.Where(s => s.Failure == null).ToList();
            }

            var wholePools = new SortedSet<string>(StringComparer.Ordinal);
            var queuesByPool = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
            var anyPool = new SortedSet<string>(StringComparer.Ordinal);
            foreach (Slot slot in pending)
            {
                foreach (BindingScope.PoolPart part in slot.Scope.Pools)
                {
                    if (part.IsWholePool) { wholePools.Add(part.Pool); continue; }
                    if (!queuesByPool.TryGetValue(part.Pool, out SortedSet<string>? names)) queuesByPool[part.Pool] = names = new SortedSet<string>(StringComparer.Ordinal);
                    names.UnionWith(part.Queues);
                }
                anyPool.UnionWith(slot.Scope.AnyPoolQueues);
            }

            List<string> poolsToList = wholePools.Where(p => !queuesByPool.ContainsKey(p)).ToList();
            Task<Listed<HashSet<string>>> pools = poolsToList.Count == 0
                ? Task.FromResult(new Listed<HashSet<string>>(new HashSet<string>(StringComparer.Ordinal)))
                : r.Gated(async () => new HashSet<string>((await _catalog.ListPoolsAsync(poolsToList, r.Log, r.CancellationToken, r.Deadline).ConfigureAwait(false)).Select(p => p.Name), StringComparer.Ordinal));
            Dictionary<string, Task<Listed<List<PrefectWorkQueue>>>> poolQueues = queuesByPool.ToDictionary(
                p => p.Key,
                p => r.Gated(() => _catalog.ListQueuesAsync(p.Key, p.Value.ToList(), r.Log, r.CancellationToken, r.Deadline)),
                StringComparer.Ordinal);
            Task<Listed<List<PrefectWorkQueue>>> anyPoolQueues = anyPool.Count == 0
                ? Task.FromResult(new Listed<List<PrefectWorkQueue>>(new List<PrefectWorkQueue>()))
                : r.Gated(() => _catalog.ListQueuesAsync(null, anyPool.ToList(), r.Log, r.CancellationToken, r.Deadline));
            await Task.WhenAll(poolQueues.Values.Cast<Task>().Append(pools).Append(anyPoolQueues)).ConfigureAwait(false);

            var found = new Found(pools.Result, poolQueues.ToDictionary(p => p.Key, p => p.Value.Result, StringComparer.Ordinal), anyPoolQueues.Result);
            foreach (Slot slot in pending)
            {
                Judge(slot, found, r);
                if (slot.Verified == null || maxAge <= TimeSpan.Zero) continue;
                lock (_cacheLock) _verified[slot.Key] = (slot.Verified, r.Now);
            }
        }

        /// <summary>What the listings say of one scope: verified, or failed with every name that is missing or ambiguous.</summary>
        private void Judge(Slot slot, Found found, Reading r)
        {
            var missing = new List<string>();
            var ambiguous = new List<string>();
            PrefectApiException? broken = null;
            var whole = new HashSet<string>(StringComparer.Ordinal);
            var ids = new HashSet<string>(StringComparer.Ordinal);
            var pools = new SortedSet<string>(StringComparer.Ordinal);

            foreach (BindingScope.PoolPart part in slot.Scope.Pools)
            {
                if (part.IsWholePool && !found.PoolQueues.ContainsKey(part.Pool))
                {
                    if (found.Pools.Error != null) broken ??= found.Pools.Error;
                    else if (!found.Pools.Value!.Contains(part.Pool)) missing.Add("work pool '" + part.Pool + "'");
                    whole.Add(part.Pool);
                    pools.Add(part.Pool);
                    continue;
                }
                Listed<List<PrefectWorkQueue>> listed = found.PoolQueues[part.Pool];
                if (listed.Error != null)
                {
                    if (listed.Error.Kind == PrefectErrorKind.NotFound) missing.Add("work pool '" + part.Pool + "'");
                    else broken ??= listed.Error;
                    continue;
                }
                pools.Add(part.Pool);
                if (part.IsWholePool) { whole.Add(part.Pool); continue; }
                foreach (string queue in part.Queues)
                {
                    PrefectWorkQueue? match = listed.Value!.FirstOrDefault(q => q.WorkQueue == queue);
                    if (match == null) missing.Add("work queue '" + queue + "' in work pool '" + part.Pool + "'");
                    else ids.Add(match.Id);
                }
            }

            foreach (string queue in slot.Scope.AnyPoolQueues)
            {
                if (found.AnyPoolQueues.Error != null) { broken ??= found.AnyPoolQueues.Error; continue; }
                List<PrefectWorkQueue> matches = found.AnyPoolQueues.Value!.Where(q => q.WorkQueue == queue).ToList();
                if (matches.Count == 0) { missing.Add("work queue '" + queue + "' (in no work pool)"); continue; }
                if (matches.Count > 1)
                {
                    List<string> holders = matches.Select(q => q.WorkPool ?? "(none)").Distinct().OrderBy(p => p, StringComparer.Ordinal).ToList();
                    ambiguous.Add("work queue '" + queue + "' is in " + holders.Count + " work pools (" + string.Join(", ", holders) + ")");
                    continue;
                }
                PrefectWorkQueue only = matches[0];
                // In a pool the scope takes whole: already counted with it.
                if (only.WorkPool != null && whole.Contains(only.WorkPool)) continue;
                ids.Add(only.Id);
                if (only.WorkPool != null) pools.Add(only.WorkPool);
            }

            if (broken != null) { slot.Fail(broken); return; }
            if (missing.Count > 0 || ambiguous.Count > 0)
            {
                string text = "The scope '" + slot.Scope + "' cannot be counted on " + Client.ApiUrl + ": ";
                if (missing.Count > 0) text += "not found: " + string.Join("; ", missing) + "." + (ambiguous.Count > 0 ? " And " : string.Empty);
                if (ambiguous.Count > 0) text += string.Join("; ", ambiguous) + ", and a queue named without its pool must be in exactly one: name the pool as well.";
                text += " Nothing is counted for this scope.";
                slot.Fail(missing.Count > 0
                    ? new PrefectApiException(PrefectErrorKind.NotFound, text, 404)
                    : new PrefectApiException(PrefectErrorKind.InvalidSettings, text));
                return;
            }

            var parts = new List<RunScope>();
            if (!r.Version.HasWorkPools) parts.Add(RunScope.QueueNames(slot.Scope.AnyPoolQueues));
            else
            {
                if (whole.Count > 0) parts.Add(RunScope.Pools(whole.OrderBy(p => p, StringComparer.Ordinal)));
                if (ids.Count > 0) parts.Add(RunScope.QueueIds(ids.OrderBy(i => i, StringComparer.Ordinal)));
            }
            slot.Verified = new VerifiedScope(parts, whole, ids, pools.ToList());
        }

        // ------------------------------------------------------------------ counts

        /// <summary>A count per scope, part and measure, a few at a time; a failed count fails its scope, whose other
        /// counts are then not sent.</summary>
        private async Task CountAsync(List<Slot> ready, Reading r)
        {
            var counts = new List<Task>();
            foreach (Slot slot in ready)
                foreach (RunScope part in slot.Verified!.Parts)
                    for (int i = 0; i < r.Measures.Count; i++)
                        counts.Add(CountOneAsync(slot, part, i, r));
            await Task.WhenAll(counts).ConfigureAwait(false);
        }

        private async Task CountOneAsync(Slot slot, RunScope part, int measure, Reading r)
        {
            await r.Gate.WaitAsync(r.CancellationToken).ConfigureAwait(false);
            try
            {
                if (slot.Failure != null) return;
                // Summed locally, then added: a failed half leaves no part of the count behind.
                int count = 0;
                foreach (JsonObject body in PrefectFilters.FlowRunQueries(r.Measures[measure], r.Now, r.Version, part, r.Windows))
                {
                    JsonElement answer = await Client.PostAsync(CountPath, body, r.Deadline, r.Log, r.CancellationToken).ConfigureAwait(false);
                    count += PrefectJson.Count(answer, "a count", CountPath);
                }
                Interlocked.Add(ref slot.Counts[measure], count);
            }
            catch (PrefectApiException e)
            {
                slot.Fail(e);
            }
            finally
            {
                r.Gate.Release();
            }
        }

        // ------------------------------------------------------------------ pages

        /// <summary>Reads the active runs of every bound pool in pages and tallies them per scope, unless the pages turn
        /// out to cost as much as the counts would (then false, and the caller counts). A failure that says the server
        /// cannot be read now fails every scope; any other failure of the pages falls back to counts.</summary>
        private async Task<bool> TryPagesAsync(List<Slot> ready, int countRequests, Reading r)
        {
            RunScope scope = ready.All(s => s.Verified!.WholePools.Count == 0)
                ? RunScope.QueueIds(ready.SelectMany(s => s.Verified!.QueueIds).OrderBy(i => i, StringComparer.Ordinal))
                : RunScope.Pools(ready.SelectMany(s => s.Verified!.Pools).OrderBy(p => p, StringComparer.Ordinal));
            JsonObject query = PrefectFilters.ActiveRunQuery(r.Measures, r.Now, r.Version, scope, r.Windows);
            try
            {
                List<ActiveRun>? runs = r.Version.HasPaginate
                    ? await PaginateAsync(query, countRequests, r).ConfigureAwait(false)
                    : await FilterPagesAsync(query, countRequests, r).ConfigureAwait(false);
                if (runs == null) return false;
                int[][] tally = Tally(runs, ready.Select(s => s.Verified!).ToList(), r.Measures, r.Now, r.Version, r.Windows);
                for (int i = 0; i < ready.Count; i++) Array.Copy(tally[i], ready[i].Counts, r.Measures.Count);
                return true;
            }
            catch (PrefectApiException e) when (!IsServerWide(e.Kind))
            {
                r.Log.Verbose(e.Message + " Counting each scope instead.");
                return false;
            }
            catch (PrefectApiException e)
            {
                foreach (Slot slot in ready) slot.Fail(e);
                return true;
            }
        }

        /// <summary>3.x: the first page says how many there are; null when the rest would cost as much as counting.</summary>
        private async Task<List<ActiveRun>?> PaginateAsync(JsonObject query, int countRequests, Reading r)
        {
            const string path = "/flow_runs/paginate";
            int limit = _catalog.PageLimit;
            var guard = new PageGuard("POST " + path, Client.ApiUrl);
            var runs = new List<ActiveRun>();
            guard.BeforePage();
            JsonElement first = await Client.PostAsync(path, PrefectFilters.Page(query, "page", 1, limit), r.Deadline, r.Log, r.CancellationToken).ConfigureAwait(false);
            int pages = PrefectJson.RequiredCount(first, "pages", path);
            if (pages - 1 >= countRequests)
            {
                r.Log.Verbose("The active runs fill " + pages + " pages: " + countRequests + " counts cost less.");
                return null;
            }
            guard.Expect(pages);
            Collect(Results(first, path), guard, runs, path);
            guard.AfterPage("page");
            for (int page = 2; page <= pages; page++)
            {
                guard.BeforePage();
                JsonElement next = await Client.PostAsync(path, PrefectFilters.Page(query, "page", page, limit), r.Deadline, r.Log, r.CancellationToken).ConfigureAwait(false);
                Collect(Results(next, path), guard, runs, path);
                guard.AfterPage("page");
            }
            return runs;
        }

        /// <summary>2.x: pages by offset until a short one. A full first page is followed by one count of the same
        /// query, to know what the rest would cost; null when it is as much as counting.</summary>
        private async Task<List<ActiveRun>?> FilterPagesAsync(JsonObject query, int countRequests, Reading r)
        {
            const string path = "/flow_runs/filter";
            int limit = _catalog.PageLimit;
            var guard = new PageGuard("POST " + path, Client.ApiUrl);
            var runs = new List<ActiveRun>();
            for (int offset = 0; ;)
            {
                guard.BeforePage();
                JsonElement page = await Client.PostAsync(path, PrefectFilters.Page(query, "offset", offset, limit), r.Deadline, r.Log, r.CancellationToken).ConfigureAwait(false);
                if (page.ValueKind != JsonValueKind.Array)
                    throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " with something other than a list.", endpoint: path);
                int rows = Collect(page, guard, runs, path);
                guard.AfterPage("offset");
                if (rows < limit) return runs;
                if (offset == 0)
                {
                    int total = PrefectJson.Count(await Client.PostAsync(CountPath, query, r.Deadline, r.Log, r.CancellationToken).ConfigureAwait(false), "a count", CountPath);
                    int rest = (total - rows) / limit + 1; // pages still to read, the short last one included
                    if (rest >= countRequests)
                    {
                        r.Log.Verbose(total + " active runs take " + (rest + 1) + " pages: " + countRequests + " counts cost less.");
                        return null;
                    }
                }
                offset += rows;
            }
        }

        private static JsonElement Results(JsonElement page, string path) =>
            page.ValueKind == JsonValueKind.Object && page.TryGetProperty("results", out JsonElement results) && results.ValueKind == JsonValueKind.Array
                ? results
                : throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " without a results list.", endpoint: path);

        /// <summary>Adds each run of a page once; returns the rows on the page.</summary>
        private static int Collect(JsonElement page, PageGuard guard, List<ActiveRun> runs, string path)
        {
            int rows = 0;
            foreach (JsonElement run in page.EnumerateArray())
            {
                rows++;
                string id = (run.ValueKind == JsonValueKind.Object ? WorkQueueCatalog.String(run, "id") : null)
                            ?? throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " with a flow run that has no id.", endpoint: path);
                if (!guard.Add(id)) continue; // it moved between pages
                runs.Add(new ActiveRun(
                    WorkQueueCatalog.String(run, "state_type"),
                    WorkQueueCatalog.String(run, "state_name"),
                    WorkQueueCatalog.String(run, "next_scheduled_start_time") is string time && DateTimeOffset.TryParse(time, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset at) ? at : (DateTimeOffset?)null,
                    WorkQueueCatalog.String(run, "work_queue_id"),
                    WorkQueueCatalog.String(run, "work_pool_name")));
            }
            return rows;
        }

        /// <summary>Each scope's count per measure from the runs of a paged read: a run is in a scope when its pool is
        /// one the scope takes whole, or its queue is one the scope names (never twice); it counts for a measure exactly
        /// when the server's filter for that measure would count it (<see cref="PrefectFilters.Counts"/>).</summary>
        internal static int[][] Tally(IEnumerable<ActiveRun> runs, IReadOnlyList<VerifiedScope> scopes, IReadOnlyList<BacklogMeasure> measures, DateTimeOffset now, PrefectServerVersion version, MeasureWindows? windows = null)
        {
            var byPool = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            var byQueue = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            for (int s = 0; s < scopes.Count; s++)
            {
                foreach (string pool in scopes[s].WholePools) Add(byPool, pool, s);
                foreach (string id in scopes[s].QueueIds) Add(byQueue, id, s);
            }
            int[][] tally = scopes.Select(_ => new int[measures.Count]).ToArray();
            var hits = new bool[measures.Count];
            var seen = new HashSet<int>();
            foreach (ActiveRun run in runs)
            {
                bool any = false;
                for (int m = 0; m < measures.Count; m++) any |= hits[m] = PrefectFilters.Counts(measures[m], run.StateType, run.StateName, run.NextScheduledStartTime, now, version, windows);
                if (!any) continue;
                if (run.WorkPoolName == null && byPool.Count > 0 && (run.WorkQueueId == null || !byQueue.ContainsKey(run.WorkQueueId)))
                    throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "A flow run of the paged read does not say its work pool, so it cannot be given to a scope.");
                seen.Clear();
                if (run.WorkPoolName != null && byPool.TryGetValue(run.WorkPoolName, out List<int>? poolScopes)) seen.UnionWith(poolScopes);
                if (run.WorkQueueId != null && byQueue.TryGetValue(run.WorkQueueId, out List<int>? queueScopes)) seen.UnionWith(queueScopes);
                foreach (int s in seen)
                    for (int m = 0; m < measures.Count; m++)
                        if (hits[m]) tally[s][m]++;
            }
            return tally;
        }

        private static void Add(Dictionary<string, List<int>> map, string key, int value)
        {
            if (!map.TryGetValue(key, out List<int>? list)) map[key] = list = new List<int>();
            list.Add(value);
        }

        /// <summary>Failures that counting could not get round either: every scope fails with them.</summary>
        private static bool IsServerWide(PrefectErrorKind kind) =>
            kind == PrefectErrorKind.Unauthorized || kind == PrefectErrorKind.RateLimited || kind == PrefectErrorKind.Timeout
            || kind == PrefectErrorKind.Unavailable || kind == PrefectErrorKind.ConnectionFailed;

        private static string KeyOf(BindingScope scope) => scope.ToJson().ToJsonString();

        private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s";

        // ------------------------------------------------------------------ the parts of a read

        /// <summary>A scope whose names were found: what to count it by, and which runs of a paged read are its own.</summary>
        internal sealed class VerifiedScope
        {
            internal VerifiedScope(IReadOnlyList<RunScope> parts, HashSet<string> wholePools, HashSet<string> queueIds, IReadOnlyList<string> pools)
            {
                Parts = parts;
                WholePools = wholePools;
                QueueIds = queueIds;
                Pools = pools;
            }

            /// <summary>One count each per measure: its whole pools by name, its other queues by id.</summary>
            internal IReadOnlyList<RunScope> Parts { get; }
            internal HashSet<string> WholePools { get; }
            internal HashSet<string> QueueIds { get; }

            /// <summary>Every pool it has runs in.</summary>
            internal IReadOnlyList<string> Pools { get; }
        }

        /// <summary>What a paged read needs of a flow run.</summary>
        internal readonly struct ActiveRun
        {
            internal ActiveRun(string? stateType, string? stateName, DateTimeOffset? nextScheduledStartTime, string? workQueueId, string? workPoolName)
            {
                StateType = stateType;
                StateName = stateName;
                NextScheduledStartTime = nextScheduledStartTime;
                WorkQueueId = workQueueId;
                WorkPoolName = workPoolName;
            }

            internal string? StateType { get; }
            internal string? StateName { get; }
            internal DateTimeOffset? NextScheduledStartTime { get; }
            internal string? WorkQueueId { get; }
            internal string? WorkPoolName { get; }
        }

        private sealed class Slot
        {
            private PrefectApiException? _failure;

            internal Slot(BindingScope scope, string key, int measures)
            {
                Scope = scope;
                Key = key;
                Counts = new int[measures];
            }

            internal BindingScope Scope { get; }
            internal string Key { get; }
            internal VerifiedScope? Verified { get; set; }
            internal int[] Counts { get; }
            internal PrefectApiException? Failure => Volatile.Read(ref _failure);

            /// <summary>The first failure is the one reported.</summary>
            internal void Fail(PrefectApiException e) => Interlocked.CompareExchange(ref _failure, e, null);
        }

        /// <summary>A listing's answer, or why there is none.</summary>
        private readonly struct Listed<T> where T : class
        {
            internal Listed(T value) { Value = value; Error = null; }
            internal Listed(PrefectApiException error) { Value = null; Error = error; }
            internal T? Value { get; }
            internal PrefectApiException? Error { get; }
        }

        private sealed class Found
        {
            internal Found(Listed<HashSet<string>> pools, Dictionary<string, Listed<List<PrefectWorkQueue>>> poolQueues, Listed<List<PrefectWorkQueue>> anyPoolQueues)
            {
                Pools = pools;
                PoolQueues = poolQueues;
                AnyPoolQueues = anyPoolQueues;
            }

            internal Listed<HashSet<string>> Pools { get; }
            internal Dictionary<string, Listed<List<PrefectWorkQueue>>> PoolQueues { get; }
            internal Listed<List<PrefectWorkQueue>> AnyPoolQueues { get; }
        }

        /// <summary>What every request of one read shares.</summary>
        private sealed class Reading
        {
            internal Reading(PrefectServerVersion version, IReadOnlyList<BacklogMeasure> measures, DateTimeOffset now, PrefectDeadline deadline, SemaphoreSlim gate, IEngineLog log, CancellationToken cancellationToken)
            {
                Version = version;
                Measures = measures;
                Now = now;
                Deadline = deadline;
                Gate = gate;
                Log = log;
                CancellationToken = cancellationToken;
            }

            internal PrefectServerVersion Version { get; }
            internal IReadOnlyList<BacklogMeasure> Measures { get; }
            internal DateTimeOffset Now { get; }
            internal MeasureWindows Windows { get; set; } = MeasureWindows.Default;
            internal PrefectDeadline Deadline { get; }
            internal SemaphoreSlim Gate { get; }
            internal IEngineLog Log { get; }
            internal CancellationToken CancellationToken { get; }

            /// <summary>A listing under the gate; a Prefect failure is its answer, not an exception.</summary>
            internal async Task<Listed<T>> Gated<T>(Func<Task<T>> work) where T : class
            {
                await Gate.WaitAsync(CancellationToken).ConfigureAwait(false);
                try
                {
                    return new Listed<T>(await work().ConfigureAwait(false));
                }
                catch (PrefectApiException e)
                {
                    return new Listed<T>(e);
                }
                finally
                {
                    Gate.Release();
                }
            }
        }
    }
}
