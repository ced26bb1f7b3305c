using System;

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
