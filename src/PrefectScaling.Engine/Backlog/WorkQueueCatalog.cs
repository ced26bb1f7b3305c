using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Prefect;

namespace PrefectScaling.Backlog
{
    /// <summary>A selector that could not be resolved, and why; the others still are.</summary>
    public sealed class ScopeFailure
    {
        public ScopeFailure(ScopeSelector selector, PrefectApiException error)
        {
            Selector = selector;
            Error = error;
        }

        public ScopeSelector Selector { get; }
        public PrefectApiException Error { get; }
    }

    /// <summary>The queues a set of selectors names, and how to narrow a run query to exactly them.</summary>
    public sealed class ScopeResolution
    {
        internal ScopeResolution(IReadOnlyList<PrefectWorkQueue> queues, IReadOnlyList<ScopeFailure> failures, RunScope runScope, PrefectServerVersion version)
        {
            Queues = queues;
            Failures = failures;
            RunScope = runScope;
            Version = version;
        }

        public IReadOnlyList<PrefectWorkQueue> Queues { get; }
        public IReadOnlyList<ScopeFailure> Failures { get; }
        public RunScope RunScope { get; }
        public PrefectServerVersion Version { get; }
    }

    /// <summary>Resolves selectors against the server's pools and queues in as few listing requests as it can
    /// (pages of 200, narrowed by exact names where possible), and may keep a resolution for a short while
    /// so that a caller reading the same scope again soon does not list it again.</summary>
    public sealed class WorkQueueCatalog
    {
        private static readonly Regex LimitCeiling = new Regex(@"less than or equal to (\d+)", RegexOptions.CultureInvariant);
        private readonly PrefectClient _client;
        private readonly object _cacheLock = new object();
        private readonly Dictionary<string, (ScopeResolution Resolution, Stopwatch Age)> _cache = new Dictionary<string, (ScopeResolution, Stopwatch)>();
        private int _pageLimit = PrefectFilters.PageLimit;

        public WorkQueueCatalog(PrefectClient client)
        {
            _client = client;
        }

        public PrefectClient Client => _client;

        /// <summary>The queues the selectors name. Every request draws on <paramref name="deadline"/> (null: a new one
        /// for this call alone).</summary>
        public async Task<ScopeResolution> ResolveAsync(IReadOnlyList<ScopeSelector> selectors, TimeSpan maxAge, IEngineLog log, CancellationToken cancellationToken, PrefectDeadline? deadline = null)
        {
            if (selectors.Count == 0) selectors = new[] { new ScopeSelector((NamePattern?)null, null) };
            string key = string.Join("\n", selectors.Select(s => (s.Pool?.Text ?? "\0") + "\t" + (s.Queue?.Text ?? "\0")).Distinct().OrderBy(s => s, StringComparer.Ordinal));
            if (maxAge > TimeSpan.Zero)
            {
                lock (_cacheLock)
                {
                    if (_cache.TryGetValue(key, out var cached) && cached.Age.Elapsed <= maxAge)
                    {
                        log.Verbose("Reusing the work queue listing from " + cached.Age.Elapsed.TotalSeconds.ToString("0", CultureInfo.InvariantCulture) + " s ago (" + cached.Resolution.Queues.Count + " queues).");
                        return cached.Resolution;
                    }
                }
            }

            ScopeResolution resolution = await ResolveFreshAsync(selectors.Distinct().ToList(), deadline ?? _client.StartDeadline(), log, cancellationToken).ConfigureAwait(false);
            // Only a clean resolution is kept: a failure must be retried next time, not remembered.
            if (maxAge > TimeSpan.Zero && resolution.Failures.Count == 0)
            {
                lock (_cacheLock) _cache[key] = (resolution, Stopwatch.StartNew());
            }
            return resolution;
        }

        private async Task<ScopeResolution> ResolveFreshAsync(List<ScopeSelector> selectors, PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken)
        {
            PrefectServerVersion version = await _client.GetServerVersionAsync(deadline, log, cancellationToken).ConfigureAwait(false);
            var failures = new List<ScopeFailure>();
            var found = new Dictionary<string, PrefectWorkQueue>(StringComparer.Ordinal);
            var wholePools = new HashSet<string>(StringComparer.Ordinal);
            bool everything = selectors.Any(s => s.IsEverything);

            if (!version.HasWorkPools)
            {
                foreach (ScopeSelector selector in selectors.Where(s => s.Pool != null))
                {
                    failures.Add(new ScopeFailure(selector, new PrefectApiException(PrefectErrorKind.Unsupported,
                        version + " has no work pools (they arrived in Prefect 2.8); select work queues by name only.")));
                }
                selectors = selectors.Where(s => s.Pool == null).ToList();
            }

            // Selectors without a pool: one listing across every pool.
            List<ScopeSelector> anyPool = selectors.Where(s => s.Pool == null).ToList();
            if (anyPool.Count > 0)
            {
                IReadOnlyCollection<string>? names = anyPool.All(s => s.Queue != null && !s.Queue.IsWildcard) ? anyPool.Select(s => s.Queue!.Exact!).Distinct().ToList() : null;
                List<PrefectWorkQueue> queues = await ListQueuesAsync("/work_queues/filter", names, deadline, log, cancellationToken).ConfigureAwait(false);
                foreach (ScopeSelector selector in anyPool)
                {
                    List<PrefectWorkQueue> matched = queues.Where(q => selector.Queue == null || selector.Queue.Matches(q.WorkQueue)).ToList();
                    if (matched.Count == 0 && selector.IsExplicit && selector.Queue != null)
                        failures.Add(new ScopeFailure(selector, NotFound("Work queue '" + selector.Queue.Exact + "' was not found in any work pool of " + _client.ApiUrl + ".")));
                    foreach (PrefectWorkQueue queue in matched) found[queue.Id] = queue;
                }
            }

            // Selectors with a pool: expand pool wildcards against the pool list, then list each pool once.
            var byPool = new Dictionary<string, List<ScopeSelector>>(StringComparer.Ordinal);
            // A wildcard never makes an error: a pool it matched that lacks the named queue is just not counted.
            var fromWildcard = new HashSet<ScopeSelector>();
            List<ScopeSelector> poolWildcards = selectors.Where(s => s.Pool != null && s.Pool.IsWildcard).ToList();
            if (poolWildcards.Count > 0)
            {
                List<PrefectWorkPool> pools = await ListPoolsAsync(null, log, cancellationToken, deadline).ConfigureAwait(false);
                foreach (ScopeSelector selector in poolWildcards)
                    foreach (PrefectWorkPool pool in pools.Where(p => selector.Pool!.Matches(p.Name)))
                    {
                        var expanded = new ScopeSelector(new NamePattern(EscapeWildcards(pool.Name)), selector.Queue);
                        fromWildcard.Add(expanded);
                        Add(byPool, pool.Name, expanded);
                    }
            }
            foreach (ScopeSelector selector in selectors.Where(s => s.Pool != null && !s.Pool.IsWildcard))
                Add(byPool, selector.Pool!.Exact!, selector);

            foreach (KeyValuePair<string, List<ScopeSelector>> pool in byPool)
            {
                List<ScopeSelector> poolSelectors = pool.Value;
                bool wholePool = poolSelectors.Any(s => s.Queue == null);
                IReadOnlyCollection<string>? names = !wholePool && poolSelectors.All(s => !s.Queue!.IsWildcard)
                    ? poolSelectors.Select(s => s.Queue!.Exact!).Distinct().ToList()
                    : null;
                List<PrefectWorkQueue> queues;
                try
                {
                    queues = await ListQueuesAsync("/work_pools/" + PrefectFilters.Segment(pool.Key) + "/queues/filter", names, deadline, log, cancellationToken).ConfigureAwait(false);
                }
                catch (PrefectApiException e) when (e.Kind == PrefectErrorKind.NotFound)
                {
                    foreach (ScopeSelector selector in poolSelectors.Where(s => !fromWildcard.Contains(s)))
                        failures.Add(new ScopeFailure(selector, NotFound("Work pool '" + pool.Key + "' was not found on " + _client.ApiUrl + ".")));
                    continue;
                }
                foreach (PrefectWorkQueue queue in queues) queue.WorkPool ??= pool.Key;
                if (wholePool) wholePools.Add(pool.Key);
                foreach (ScopeSelector selector in poolSelectors)
                {
                    List<PrefectWorkQueue> matched = queues.Where(q => selector.Queue == null || selector.Queue.Matches(q.WorkQueue)).ToList();
                    if (matched.Count == 0 && selector.Queue != null && !selector.Queue.IsWildcard && !fromWildcard.Contains(selector))
                        failures.Add(new ScopeFailure(selector, NotFound("Work queue '" + selector.Queue.Exact + "' was not found in work pool '" + pool.Key + "' on " + _client.ApiUrl + ".")));
                    foreach (PrefectWorkQueue queue in matched) found[queue.Id] = queue;
                }
            }

            List<PrefectWorkQueue> ordered = found.Values
                .OrderBy(q => q.WorkPool ?? string.Empty, StringComparer.Ordinal)
                .ThenBy(q => q.WorkQueue, StringComparer.Ordinal)
                .ToList();
            return new ScopeResolution(ordered, failures, ChooseRunScope(ordered, everything, wholePools, version), version);
        }

        /// <summary>The narrowest run filter that still returns every run of the chosen queues, with the smallest body.</summary>
        private static RunScope ChooseRunScope(List<PrefectWorkQueue> queues, bool everything, HashSet<string> wholePools, PrefectServerVersion version)
        {
            if (!version.HasWorkPools) return everything ? RunScope.Everything : RunScope.QueueNames(queues.Select(q => q.WorkQueue));
            if (everything) return RunScope.Everything;
            if (queues.Count > 1 && queues.All(q => q.WorkPool != null && wholePools.Contains(q.WorkPool)))
                return RunScope.Pools(queues.Select(q => q.WorkPool!));
            return RunScope.QueueIds(queues.Select(q => q.Id));
        }

        /// <summary>Pools by name (all of them when names is null), with their type and paused state.</summary>
        public async Task<List<PrefectWorkPool>> ListPoolsAsync(IReadOnlyCollection<string>? names, IEngineLog log, CancellationToken cancellationToken, PrefectDeadline? deadline = null)
        {
            const string path = "/work_pools/filter";
            var pools = new List<PrefectWorkPool>();
            foreach (JsonElement item in await ListPagedAsync(path, offset => PrefectFilters.PoolListing(names, offset), deadline ?? _client.StartDeadline(), log, cancellationToken).ConfigureAwait(false))
            {
                pools.Add(new PrefectWorkPool
                {
                    Name = String(item, "name") ?? string.Empty,
                    Id = String(item, "id") ?? string.Empty,
                    Type = String(item, "type"),
                    IsPaused = Bool(item, "is_paused"),
                    ConcurrencyLimit = PrefectJson.OptionalCount(item, "concurrency_limit", path),
                    ActiveSlots = PrefectJson.OptionalCount(item, "active_slots", path),
                    Status = String(item, "status"),
                });
            }
            return pools;
        }

        /// <summary>Fills in each resolved queue's pool type and paused state from one listing of just those pools
        /// (a server before 2.8 has no pools: nothing to add).</summary>
        public async Task AddPoolDetailsAsync(ScopeResolution resolution, IEngineLog log, CancellationToken cancellationToken, PrefectDeadline? deadline = null)
        {
            List<string> names = resolution.Queues.Where(q => q.WorkPool != null).Select(q => q.WorkPool!).Distinct().ToList();
            if (!resolution.Version.HasWorkPools || names.Count == 0) return;
            Dictionary<string, PrefectWorkPool> pools = (await ListPoolsAsync(names, log, cancellationToken, deadline).ConfigureAwait(false)).ToDictionary(p => p.Name, StringComparer.Ordinal);
            foreach (PrefectWorkQueue queue in resolution.Queues)
            {
                if (queue.WorkPool != null && pools.TryGetValue(queue.WorkPool, out PrefectWorkPool? pool))
                {
                    queue.WorkPoolType = pool.Type;
                    queue.WorkPoolIsPaused = pool.IsPaused;
                }
            }
        }

        /// <summary>Queues by exact name: of one pool (its own listing; a pool that does not exist is NotFound), or of
        /// every pool when <paramref name="pool"/> is null. Each queue says its pool.</summary>
        public async Task<List<PrefectWorkQueue>> ListQueuesAsync(string? pool, IReadOnlyCollection<string> names, IEngineLog log, CancellationToken cancellationToken, PrefectDeadline? deadline = null)
        {
            string path = pool == null ? "/work_queues/filter" : "/work_pools/" + PrefectFilters.Segment(pool) + "/queues/filter";
            List<PrefectWorkQueue> queues = await ListQueuesAsync(path, names, deadline ?? _client.StartDeadline(), log, cancellationToken).ConfigureAwait(false);
            if (pool != null) foreach (PrefectWorkQueue queue in queues) queue.WorkPool ??= pool;
            return queues;
        }

        private async Task<List<PrefectWorkQueue>> ListQueuesAsync(string path, IReadOnlyCollection<string>? names, PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken)
        {
            var queues = new List<PrefectWorkQueue>();
            foreach (JsonElement item in await ListPagedAsync(path, offset => PrefectFilters.QueueListing(names, offset), deadline, log, cancellationToken).ConfigureAwait(false))
            {
                queues.Add(new PrefectWorkQueue
                {
                    Id = String(item, "id")!,
                    WorkQueue = String(item, "name") ?? string.Empty,
                    WorkPool = String(item, "work_pool_name"),
                    IsPaused = Bool(item, "is_paused"),
                    ConcurrencyLimit = PrefectJson.OptionalCount(item, "concurrency_limit", path),
                    Priority = PrefectJson.OptionalCount(item, "priority", path),
                    Status = String(item, "status"),
                    LastPolled = Time(item, "last_polled"),
                    Description = String(item, "description"),
                    ApiUrl = _client.ApiUrl,
                });
            }
            return queues;
        }

        /// <summary>Pages through a listing endpoint, each item once (by id). If the server's limit was lowered below
        /// 200 it says so in a 422, and the listing goes on with the server's limit.</summary>
        private async Task<List<JsonElement>> ListPagedAsync(string path, Func<int, JsonObject> bodyForOffset, PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken)
        {
            var items = new List<JsonElement>();
            var guard = new PageGuard("POST " + path, _client.ApiUrl);
            for (int offset = 0; ;)
            {
                JsonObject body = bodyForOffset(offset);
                int limit = Volatile.Read(ref _pageLimit);
                body["limit"] = limit;
                JsonElement page;
                guard.BeforePage();
                try
                {
                    page = await _client.PostAsync(path, body, deadline, log, cancellationToken).ConfigureAwait(false);
                }
                catch (PrefectApiException e) when (e.StatusCode == 422 && LimitCeiling.Match(e.Message) is Match m && m.Success
                                                     && int.TryParse(m.Groups[1].Value, out int ceiling) && ceiling > 0 && ceiling < limit)
                {
                    Volatile.Write(ref _pageLimit, ceiling);
                    guard.NotAnswered();
                    continue;
                }
                if (page.ValueKind != JsonValueKind.Array)
                    throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " with something other than a list.", endpoint: path);
                int count = 0;
                foreach (JsonElement item in page.EnumerateArray())
                {
                    count++;
                    string id = (item.ValueKind == JsonValueKind.Object ? String(item, "id") : null)
                                ?? throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + path + " with an item that has no id.", endpoint: path);
                    if (guard.Add(id)) items.Add(item); // else it moved between pages
                }
                guard.AfterPage("offset");
                if (count < limit) return items;
                offset += count;
            }
        }

        internal int PageLimit => Volatile.Read(ref _pageLimit);

        private static void Add(Dictionary<string, List<ScopeSelector>> map, string key, ScopeSelector selector)
        {
            if (!map.TryGetValue(key, out List<ScopeSelector>? list)) map[key] = list = new List<ScopeSelector>();
            list.Add(selector);
        }

        private static string EscapeWildcards(string name) =>
            Regex.Replace(name, @"[\*\?\[\]`]", m => "`" + m.Value);

        private static PrefectApiException NotFound(string message) => new PrefectApiException(PrefectErrorKind.NotFound, message, 404);

        internal static string? String(JsonElement item, string name) =>
            item.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

        private static bool Bool(JsonElement item, string name) =>
            item.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.True;

        private static DateTime? Time(JsonElement item, string name) =>
            String(item, name) is string text && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset time)
                ? time.UtcDateTime
                : (DateTime?)null;
    }
}
