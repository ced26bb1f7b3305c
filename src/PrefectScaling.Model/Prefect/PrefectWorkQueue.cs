using System;

namespace PrefectScaling.Prefect
{
    /// <summary>A work queue as Get-PrefectWorkQueue shows it. WorkPool and WorkQueue bind by property name
    /// to Get-PrefectLateRunCount, ApiUrl to -PrefectApiUrl.</summary>
    public sealed class PrefectWorkQueue
    {
        public string? WorkPool { get; set; }
        public string WorkQueue { get; set; } = string.Empty;
        public string Id { get; set; } = string.Empty;
        public bool IsPaused { get; set; }
        public int? ConcurrencyLimit { get; set; }
        public int? Priority { get; set; }
        public string? Status { get; set; }
        public DateTime? LastPolled { get; set; }
        public string? WorkPoolType { get; set; }
        public bool? WorkPoolIsPaused { get; set; }
        public string? Description { get; set; }
        public string ApiUrl { get; set; } = string.Empty;

        public override string ToString() => WorkPool == null ? WorkQueue : WorkPool + "/" + WorkQueue;
    }
}
