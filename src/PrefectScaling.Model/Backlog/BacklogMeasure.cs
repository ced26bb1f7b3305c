namespace PrefectScaling.Backlog
{
    /// <summary>What is counted per queue.</summary>
    // Int64-backed so that ConvertTo-Json writes "Measure": "Late". PowerShell writes an Int32 enum as its number and
    // ignores JSON converter attributes (which would also tie the Model to a JSON library), but writes an Int64 enum by
    // name, as a JavaScript number cannot hold every Int64; only the experimental PSSerializeJSONLongEnumAsNumber, off
    // by default, turns that off. The values and names are unchanged; ModelTypes.Tests.ps1 pins the JSON.
    public enum BacklogMeasure : long
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

        /// <summary>The work a task may be running or about to take: PENDING, RUNNING and CANCELLING runs, plus
        /// SCHEDULED runs due after now and within the look-ahead (about one cycle: a worker claims them before the
        /// next count). What the busy guard weighs before it lets a service scale in.</summary>
        InFlight,

        /// <summary>SCHEDULED runs due after the InFlight look-ahead and within the lead time: the runs the schedule
        /// announces, which need a task by the time they are due. Starts where InFlight's look-ahead ends, so the
        /// measures add up without counting a run twice.</summary>
        Upcoming,
    }
}
