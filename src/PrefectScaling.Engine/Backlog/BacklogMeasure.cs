namespace PrefectScaling.Backlog
{
    /// <summary>What is counted per queue.</summary>
    public enum BacklogMeasure
    {
        /// <summary>Runs whose state name is Late: overdue and not picked up (what the Prefect UI shows).</summary>
        Late,

        /// <summary>SCHEDULED-type runs whose next scheduled start is now or earlier: Late, not yet Late, and due
        /// retries; runs waiting for a concurrency slot are left out where the server can express it (3.x).</summary>
        Due,

        /// <summary>Runs claimed by a worker whose infrastructure is starting (PENDING type).</summary>
        Pending,

        /// <summary>Runs in flight (RUNNING type).</summary>
        Running,
    }
}
