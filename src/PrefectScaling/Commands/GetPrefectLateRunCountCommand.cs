using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Prefect;

namespace PrefectScaling.Commands
{
    /// <summary>Counts the Prefect backlog per work queue: Late runs by default, or other measures. With -Total, one
    /// total per measure for the whole scope instead, counted by the server.</summary>
    [Cmdlet(VerbsCommon.Get, "PrefectLateRunCount")]
    [OutputType(typeof(PrefectBacklogCount), typeof(PrefectBacklogTotal))]
    public sealed class GetPrefectLateRunCountCommand : ScopeCmdlet
    {
        private readonly List<(string? ApiUrl, BindingScope Scope)> _scopes = new List<(string?, BindingScope)>();

        /// <summary>What to count: Late (default), Due, Pending, Running; several at once cost one query each.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public BacklogMeasure[] Measure { get; set; } = { BacklogMeasure.Late };

        /// <summary>Reuse this connection's queue listing for the same scope for up to this many seconds.</summary>
        [Parameter]
        [ValidateRange(0, 3600)]
        public int QueueListingCacheSeconds { get; set; }

        /// <summary>One total per measure for the whole scope (-WorkPool and -WorkQueue by exact names), not one count
        /// per queue; each input object is a scope of its own.</summary>
        [Parameter]
        public SwitchParameter Total { get; set; }

        protected override void ProcessRecord()
        {
            if (!Total)
            {
                base.ProcessRecord();
                return;
            }
            try
            {
                _scopes.Add((PrefectApiUrl, BindingScope.From(WorkPool, WorkQueue)));
            }
            catch (ArgumentException e)
            {
                WriteError(ErrorRecords.From(e, string.Join(", ", (WorkPool ?? Array.Empty<string>()).Concat(WorkQueue ?? Array.Empty<string>()))));
            }
        }

        protected override void EndProcessing()
        {
            if (Total)
            {
                ReadTotals();
                return;
            }
            var options = new BacklogReadOptions
            {
                Measures = Measure.Distinct().ToList(),
                QueueListingMaxAge = TimeSpan.FromSeconds(QueueListingCacheSeconds),
            };
            ReadEachServer((connection, selectors, deadline, log, ct) => connection.Backlog.ReadAsync(selectors, options, log, ct, deadline),
                result => result.Failures, result => result.Counts);
        }

        /// <summary>Each server's scopes in one read; a scope that cannot be read is an error of its own, and the
        /// others still have their totals.</summary>
        private void ReadTotals()
        {
            var options = new BindingTotalsOptions
            {
                Measures = Measure.Distinct().ToList(),
                VerifiedScopeMaxAge = TimeSpan.FromSeconds(QueueListingCacheSeconds),
            };
            PrefectDeadline? deadline = null;
            foreach (var group in _scopes.GroupBy(s => s.ApiUrl, StringComparer.Ordinal))
            {
                IReadOnlyList<BindingScope> scopes = group.Select(s => s.Scope).Distinct().ToList();
                BindingTotalsResult result = null!;
                string target = group.Key == null ? "PREFECT_API_URL" : PrefectConnectionSettings.PrintableText(group.Key);
                bool wasRead = Guard(target, () =>
                {
                    PrefectConnection connection = Connect(group.Key);
                    PrefectDeadline shared = deadline ??= connection.Client.StartDeadline();
                    result = RunEngine((log, ct) => connection.Totals.ReadAsync(scopes, options, log, ct, shared));
                });
                if (!wasRead) continue;
                foreach (ScopeTotals scope in result.Scopes)
                {
                    if (scope.Failure != null) WriteError(ErrorRecords.From(scope.Failure, scope.Scope.ToString()));
                    foreach (PrefectBacklogTotal total in scope.Totals) WriteObject(total);
                }
            }
        }
    }
}
