using System;

namespace PrefectScaling.Backlog
{
    /// <summary>The backlog of one measure over a whole scope (a binding's pools and queues), counted by the server in
    /// one request. Count, Measure and Timestamp bind to Publish-PrefectBacklogMetric down a pipeline.</summary>
    public sealed class PrefectBacklogTotal
    {
        /// <summary>The scope as people read it: "pool k8s", "pool k8s queues a, b", "queues a, b (any pool)".</summary>
        public string Scope { get; set; } = string.Empty;

        /// <summary>The ECS service the scope is bound to, when read for a binding ("service/cluster/service").</summary>
        public string? ResourceId { get; set; }

        public BacklogMeasure Measure { get; set; }
        public int Count { get; set; }

        /// <summary>When the count was measured, UTC.</summary>
        public DateTime Timestamp { get; set; }

        public string ApiUrl { get; set; } = string.Empty;

        public override string ToString() => Scope + " " + Measure + "=" + Count;
    }
}
