using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json.Nodes;
using PrefectScaling.Backlog;

namespace PrefectScaling.Bindings
{
    /// <summary>What the agents or workers of one service serve, by exact names: a pool (all its queues), a pool and
    /// some of its queues, or queues by name in whichever pool has each (Prefect 2 agents, <c>-q a -q b</c>).
    /// Several pools may be named, each whole or with its own queues. The scope's backlog is the sum over it:
    /// a run sits in exactly one queue, so pools never overlap, and a whole pool absorbs its queues.</summary>
    public sealed class BindingScope : IEquatable<BindingScope>
    {
        private BindingScope(IReadOnlyList<PoolPart> pools, IReadOnlyList<string> anyPoolQueues)
        {
            Pools = pools;
            AnyPoolQueues = anyPoolQueues;
        }

        /// <summary>One pool of the scope: every queue of it (Queues empty), or those queues.</summary>
        public sealed class PoolPart
        {
            public PoolPart(string pool, IReadOnlyList<string> queues)
            {
                Pool = pool;
                Queues = queues;
            }

            public string Pool { get; }

            /// <summary>Empty: the whole pool.</summary>
            public IReadOnlyList<string> Queues { get; }

            public bool IsWholePool => Queues.Count == 0;
        }

        /// <summary>Pools, sorted by name, each with its sorted queues.</summary>
        public IReadOnlyList<PoolPart> Pools { get; }

        /// <summary>Queue names that may be in any pool (each must be in exactly one), sorted.</summary>
        public IReadOnlyList<string> AnyPoolQueues { get; }

        /// <summary>-WorkPool and -WorkQueue as the cmdlets take them: pools alone are whole pools; pools with queues
        /// are those queues in each of those pools; queues alone are queues in any pool. Names are exact: a policy
        /// reads one series, so wildcards are refused (` escapes * ? [ as elsewhere).</summary>
        public static BindingScope From(IEnumerable<string>? pools, IEnumerable<string>? queues)
        {
            List<string> poolNames = Exact(pools, "-WorkPool");
            List<string> queueNames = Exact(queues, "-WorkQueue");
            if (poolNames.Count == 0 && queueNames.Count == 0)
                throw new ArgumentException("A binding needs a scope: -WorkPool (a whole pool), -WorkPool with -WorkQueue (some of its queues), or -WorkQueue alone (queues by name in whichever pool has each).");
            if (poolNames.Count == 0) return new BindingScope(Array.Empty<PoolPart>(), queueNames);
            return new BindingScope(poolNames.Select(p => new PoolPart(p, queueNames)).ToList(), Array.Empty<string>());
        }

        /// <summary>A scope made of parts (a binding file, or a JSON record); normalized: a whole pool absorbs the
        /// queues named for it, names are sorted and distinct.</summary>
        public static BindingScope Of(IEnumerable<PoolPart> pools, IEnumerable<string>? anyPoolQueues)
        {
            var byPool = new SortedDictionary<string, SortedSet<string>?>(StringComparer.Ordinal);
            foreach (PoolPart part in pools)
            {
                CheckName("work pool", part.Pool);
                if (part.IsWholePool) { byPool[part.Pool] = null; continue; }
                if (byPool.TryGetValue(part.Pool, out SortedSet<string>? existing) && existing == null) continue;
                if (existing == null) byPool[part.Pool] = existing = new SortedSet<string>(StringComparer.Ordinal);
                foreach (string queue in part.Queues) { CheckName("work queue", queue); existing.Add(queue); }
            }
            var any = new SortedSet<string>(StringComparer.Ordinal);
            foreach (string queue in anyPoolQueues ?? Array.Empty<string>()) { CheckName("work queue", queue); any.Add(queue); }
            if (byPool.Count == 0 && any.Count == 0) throw new ArgumentException("A binding's scope names no pool and no queue.");
            return new BindingScope(byPool.Select(p => new PoolPart(p.Key, p.Value?.ToList() ?? (IReadOnlyList<string>)Array.Empty<string>())).ToList(), any.ToList());
        }

        /// <summary>The scope as selectors, for the listing that checks every name exists.</summary>
        public IReadOnlyList<ScopeSelector> Selectors()
        {
            var selectors = new List<ScopeSelector>();
            foreach (PoolPart part in Pools)
            {
                if (part.IsWholePool) selectors.Add(new ScopeSelector(NamePattern.ForExact(part.Pool), null));
                else selectors.AddRange(part.Queues.Select(q => new ScopeSelector(NamePattern.ForExact(part.Pool), NamePattern.ForExact(q))));
            }
            selectors.AddRange(AnyPoolQueues.Select(q => new ScopeSelector(null, NamePattern.ForExact(q))));
            return selectors;
        }

        /// <summary>For people: "pool k8s", "pool k8s queues a, b", "queues a, b (any pool)", joined by "; ".</summary>
        public override string ToString()
        {
            var parts = Pools.Select(p => p.IsWholePool ? "pool " + p.Pool : "pool " + p.Pool + (p.Queues.Count == 1 ? " queue " : " queues ") + string.Join(", ", p.Queues)).ToList();
            if (AnyPoolQueues.Count > 0) parts.Add((AnyPoolQueues.Count == 1 ? "queue " : "queues ") + string.Join(", ", AnyPoolQueues) + " (any pool)");
            return string.Join("; ", parts);
        }

        /// <summary>{"pools":[{"pool":"k8s","queues":[]}],"queues":["a"]}: how a binding is stored.</summary>
        public JsonObject ToJson() => new JsonObject
        {
            ["pools"] = new JsonArray(Pools.Select(p => (JsonNode)new JsonObject
            {
                ["pool"] = p.Pool,
                ["queues"] = new JsonArray(p.Queues.Select(q => (JsonNode?)JsonValue.Create(q)).ToArray()),
            }).ToArray()),
            ["queues"] = new JsonArray(AnyPoolQueues.Select(q => (JsonNode?)JsonValue.Create(q)).ToArray()),
        };

        public static BindingScope FromJson(JsonNode? json)
        {
            if (json is not JsonObject o) throw new ArgumentException("A binding scope must be a JSON object with pools and queues.");
            var pools = (o["pools"] as JsonArray ?? new JsonArray()).Select(p => new PoolPart(
                (string?)p?["pool"] ?? throw new ArgumentException("A pool of a binding scope has no name."),
                (p?["queues"] as JsonArray ?? new JsonArray()).Select(q => (string?)q ?? string.Empty).ToList()));
            return Of(pools, (o["queues"] as JsonArray ?? new JsonArray()).Select(q => (string?)q ?? string.Empty));
        }

        public bool Equals(BindingScope? other) => other != null && JsonNode.DeepEquals(ToJson(), other.ToJson());
        public override bool Equals(object? obj) => Equals(obj as BindingScope);
        public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(ToJson().ToJsonString());

        private static List<string> Exact(IEnumerable<string>? typed, string parameter)
        {
            var names = new List<string>();
            foreach (string text in typed ?? Array.Empty<string>())
            {
                NamePattern pattern;
                try
                {
                    pattern = new NamePattern(text);
                }
                catch (ArgumentException)
                {
                    throw new ArgumentException(parameter + " cannot be empty or blank.");
                }
                if (pattern.IsWildcard)
                    throw new ArgumentException(parameter + " '" + text + "' has wildcard characters, but a binding names its scope exactly (it is read as one total); escape * ? [ with ` to mean the character itself.");
                if (!names.Contains(pattern.Exact!, StringComparer.Ordinal)) names.Add(pattern.Exact!);
            }
            return names;
        }

        private static void CheckName(string what, string? name)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A " + what + " name of a binding cannot be empty.");
            Metrics.MetricLimits.CheckDimensionValue(what + " name", name);
        }
    }
}
