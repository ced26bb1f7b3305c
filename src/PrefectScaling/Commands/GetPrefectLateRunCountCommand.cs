using System;
using System.Linq;
using System.Management.Automation;
using PrefectScaling.Backlog;

namespace PrefectScaling.Commands
{
    /// <summary>Counts the Prefect backlog per work queue: Late runs by default, or other measures.</summary>
    [Cmdlet(VerbsCommon.Get, "PrefectLateRunCount")]
    [OutputType("PrefectScaling.Backlog.PrefectBacklogCount")]
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
            try
            {
                if (NothingToDo) return;
                var options = new BacklogReadOptions
                {
                    Measures = Measure.Distinct().ToList(),
                    QueueListingMaxAge = TimeSpan.FromSeconds(QueueListingCacheSeconds),
                };
                foreach (var (apiUrl, selectors) in SelectorsByApiUrl())
                {
                    BacklogReadResult result;
                    try
                    {
                        PrefectConnection connection = Connect(apiUrl);
                        result = RunEngine((log, ct) => connection.Backlog.ReadAsync(selectors, options, log, ct));
                    }
                    catch (Exception e) when (e is Prefect.PrefectApiException || e is ArgumentException)
                    {
                        // Nothing of this server is reported: a partial backlog must not pass for a whole one.
                        WriteError(ErrorRecords.From(e, apiUrl ?? (object)"PREFECT_API_URL"));
                        continue;
                    }
                    WriteScopeFailures(result.Failures);
                    foreach (PrefectBacklogCount count in result.Counts) WriteObject(count);
                }
            }
            finally
            {
                base.EndProcessing();
            }
        }
    }
}
