using System;
using System.Linq;
using System.Management.Automation;
using PrefectScaling.Backlog;

namespace PrefectScaling.Commands
{
    /// <summary>Counts the Prefect backlog per work queue: Late runs by default, or other measures.</summary>
    [Cmdlet(VerbsCommon.Get, "PrefectLateRunCount")]
    [OutputType(typeof(PrefectBacklogCount))]
    public sealed class GetPrefectLateRunCountCommand : ScopeCmdlet
    {
        /// <summary>What to count: Late (default), Due, Pending, Running; several at once cost one query each.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public BacklogMeasure[] Measure { get; set; } = { BacklogMeasure.Late };

        /// <summary>Reuse this connection's queue listing for the same scope for up to this many seconds.</summary>
        [Parameter]
        [ValidateRange(0, 3600)]
        public int QueueListingCacheSeconds { get; set; }

        protected override void EndProcessing()
        {
            var options = new BacklogReadOptions
            {
                Measures = Measure.Distinct().ToList(),
                QueueListingMaxAge = TimeSpan.FromSeconds(QueueListingCacheSeconds),
            };
            ReadEachServer((connection, selectors, deadline, log, ct) => connection.Backlog.ReadAsync(selectors, options, log, ct, deadline),
                result => result.Failures, result => result.Counts);
        }
    }
}
