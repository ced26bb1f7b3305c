using System;

namespace PrefectScaling.Backlog
{
    /// <summary>One measured count: how many runs of one measure one queue had at one moment. Property names
    /// match Publish-PrefectBacklogMetric's parameters so objects bind down a pipeline.</summary>
    public sealed class PrefectBacklogCount
    {
        public string? WorkPool { get; set; }
        public string WorkQueue { get; set; } = string.Empty;
        public string WorkQueueId { get; set; } = string.Empty;
        public BacklogMeasure Measure { get; set; }
        public int Count { get; set; }

        /// <summary>When the count was measured, UTC.</summary>
        public DateTime Timestamp { get; set; }

        public string ApiUrl { get; set; } = string.Empty;

        public override string ToString() => (WorkPool == null ? WorkQueue : WorkPool + "/" + WorkQueue) + " " + Measure + "=" + Count;
    }
}
