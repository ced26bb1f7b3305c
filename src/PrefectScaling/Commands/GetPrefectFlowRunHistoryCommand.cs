using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using PrefectScaling.Bindings;
using PrefectScaling.Completion;
using PrefectScaling.Prefect;
using PrefectScaling.Simulation;

namespace PrefectScaling.Commands
{
    /// <summary>Reads the past flow runs of a scope (expected start, start, end, state, queue, pool, created) for
    /// replay in Invoke-PrefectScalingSimulation -Run. Names are exact, as for a binding's scope.</summary>
    [Cmdlet(VerbsCommon.Get, "PrefectFlowRunHistory")]
    [OutputType(typeof(PrefectFlowRun))]
    public sealed class GetPrefectFlowRunHistoryCommand : PrefectCmdlet
    {
        /// <summary>Work queue names (exact). Alone: that queue in whichever pool has it.</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(WorkQueueNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? WorkQueue { get; set; }

        /// <summary>Work pool names (exact). Alone: every queue of the pool.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(WorkPoolNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? WorkPool { get; set; }

        /// <summary>Runs expected to start at or after this time; default 24 hours before -Until.</summary>
        [Parameter]
        public DateTime Since { get; set; }

        /// <summary>Runs expected to start at or before this time; default now.</summary>
        [Parameter]
        public DateTime Until { get; set; }

        /// <summary>At most this many runs (the earliest), with a warning when the scope had more.</summary>
        [Parameter]
        [ValidateRange(1, 200000)]
        public int MaxRuns { get; set; } = FlowRunHistoryOptions.DefaultMaxRuns;

        protected override void ProcessRecord()
        {
            BindingScope scope;
            try
            {
                scope = BindingScope.From(WorkPool, WorkQueue);
            }
            catch (ArgumentException e)
            {
                WriteError(ErrorRecords.From(e, string.Join(", ", (WorkPool ?? Array.Empty<string>()).Concat(WorkQueue ?? Array.Empty<string>()))));
                return;
            }
            DateTimeOffset until = MyInvocation.BoundParameters.ContainsKey(nameof(Until)) ? new DateTimeOffset(Until.ToUniversalTime()) : DateTimeOffset.UtcNow;
            DateTimeOffset since = MyInvocation.BoundParameters.ContainsKey(nameof(Since)) ? new DateTimeOffset(Since.ToUniversalTime()) : until.AddHours(-24);
            if (since > until)
            {
                WriteError(ErrorRecords.From(new ArgumentException("-Since (" + since.UtcDateTime.ToString("u") + ") is after -Until (" + until.UtcDateTime.ToString("u") + ")."), "Since"));
                return;
            }
            var options = new FlowRunHistoryOptions { Since = since, Until = until, MaxRuns = MaxRuns };
            string target = PrefectApiUrl == null ? "PREFECT_API_URL" : PrefectConnectionSettings.PrintableText(PrefectApiUrl);
            FlowRunHistory history = null!;
            bool wasRead = Guard(target, () =>
            {
                PrefectConnection connection = Connect(PrefectApiUrl);
                history = RunEngine((log, ct) => new FlowRunHistoryReader(connection.Catalog).ReadAsync(scope, options, log, ct));
            });
            if (!wasRead) return;
            foreach (PrefectFlowRun run in history.Runs) WriteObject(run);
            if (history.Truncated)
                WriteWarning("The scope '" + scope + "' has more than " + MaxRuns + " runs expected between " + since.UtcDateTime.ToString("u") + " and " + until.UtcDateTime.ToString("u") +
                             ": these are the earliest " + MaxRuns + ". Raise -MaxRuns or narrow -Since/-Until for the rest.");
        }
    }
}
