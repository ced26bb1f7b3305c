using System;
using System.Collections.Generic;

namespace PrefectScaling.Backlog
{
    /// <summary>One thing a caller asked for: a pool (or every pool) and a queue (or every queue in it).
    /// -WorkPool a,b -WorkQueue x,y gives four; each pipeline object gives one.</summary>
    public sealed class ScopeSelector : IEquatable<ScopeSelector>
    {
        public ScopeSelector(NamePattern? pool, NamePattern? queue)
        {
            Pool = pool;
            Queue = queue;
        }

        public ScopeSelector(string? pool, string? queue)
            : this(pool == null ? null : new NamePattern(pool), queue == null ? null : new NamePattern(queue))
        {
        }

        /// <summary>Each pool with each queue, as -WorkPool and -WorkQueue combine: a,b with x,y gives four selectors;
        /// no pools means any pool, no queues every queue. A pair with a name that is no valid pattern (blank, or a
        /// wildcard that does not parse) gives no selector: it goes to <paramref name="invalid"/> with that name, and
        /// the other pairs are kept.</summary>
        public static List<ScopeSelector> Combine(IEnumerable<string>? pools, IEnumerable<string>? queues, out List<(string Name, ArgumentException Error)> invalid)
        {
            var selectors = new List<ScopeSelector>();
            invalid = new List<(string, ArgumentException)>();
            IReadOnlyList<string?> queueList = queues == null ? new string?[] { null } : new List<string?>(queues);
            foreach (string? pool in pools ?? new string?[] { null })
            {
                foreach (string? queue in queueList)
                {
                    string? name = pool;
                    try
                    {
                        NamePattern? poolPattern = pool == null ? null : new NamePattern(pool);
                        name = queue;
                        selectors.Add(new ScopeSelector(poolPattern, queue == null ? null : new NamePattern(queue)));
                    }
                    catch (ArgumentException e)
                    {
                        invalid.Add((name!, e));
                    }
                }
            }
            return selectors;
        }

        public NamePattern? Pool { get; }
        public NamePattern? Queue { get; }

        /// <summary>Every queue of every pool.</summary>
        public bool IsEverything => Pool == null && Queue == null;

        /// <summary>Names nothing with a wildcard: a miss is an error, never a zero.</summary>
        public bool IsExplicit => (Pool == null || !Pool.IsWildcard) && (Queue == null || !Queue.IsWildcard);

        public override string ToString() =>
            Pool == null && Queue == null ? "all work queues"
            : Pool == null ? "work queue '" + Queue + "' (any pool)"
            : Queue == null ? "work pool '" + Pool + "'"
            : "work queue '" + Queue + "' in work pool '" + Pool + "'";

        public bool Equals(ScopeSelector? other) => other != null && Equals(Pool, other.Pool) && Equals(Queue, other.Queue);
        public override bool Equals(object? obj) => Equals(obj as ScopeSelector);
        public override int GetHashCode() => ((Pool?.GetHashCode() ?? 0) * 397) ^ (Queue?.GetHashCode() ?? 0);
    }
}
