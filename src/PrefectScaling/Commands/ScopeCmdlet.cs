using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Backlog;
using PrefectScaling.Completion;
using PrefectScaling.Prefect;

namespace PrefectScaling.Commands
{
    /// <summary>A Prefect cmdlet that works on a scope of work pools and queues. Scopes from parameters and from
    /// pipeline objects are gathered, then resolved together at the end, once per Prefect API URL, so a
    /// pipeline of a thousand queues still costs a handful of requests.</summary>
    public abstract class ScopeCmdlet : PrefectCmdlet
    {
        private readonly List<(string? ApiUrl, ScopeSelector Selector)> _selectors = new List<(string?, ScopeSelector)>();

        /// <summary>Work queue names or wildcards. Alone: that queue in whichever pool has it.</summary>
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(WorkQueueNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? WorkQueue { get; set; }

        /// <summary>Work pool names or wildcards. Alone: every queue of the pool.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(WorkPoolNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? WorkPool { get; set; }

        protected override void ProcessRecord()
        {
            List<ScopeSelector> selectors = ScopeSelector.Combine(WorkPool, WorkQueue, out var invalid);
            _selectors.AddRange(selectors.Select(selector => (PrefectApiUrl, selector)));
            foreach ((string name, ArgumentException error) in invalid) WriteError(ErrorRecords.From(error, name));
        }

        /// <summary>Runs the engine once per API URL over the selectors gathered for it (null URL: the environment's
        /// or profile's), then writes an error per selector that failed and the objects read. A server whose read
        /// fails reports nothing at all: a partial answer must not pass for a whole one. Every request of the call
        /// shares one deadline, however many servers and pages it takes.</summary>
        protected void ReadEachServer<TResult>(
            Func<PrefectConnection, IReadOnlyList<ScopeSelector>, PrefectDeadline, IEngineLog, CancellationToken, Task<TResult>> read,
            Func<TResult, IEnumerable<ScopeFailure>> failures,
            Func<TResult, IEnumerable<object>> objects)
        {
            PrefectDeadline? deadline = null;
            foreach (var group in _selectors.GroupBy(s => s.ApiUrl, StringComparer.Ordinal))
            {
                IReadOnlyList<ScopeSelector> selectors = group.Select(s => s.Selector).Distinct().ToList();
                TResult result = default!;
                // The URL as given may hold a password: the target is its printable form.
                string target = group.Key == null ? "PREFECT_API_URL" : PrefectConnectionSettings.PrintableText(group.Key);
                bool wasRead = Guard(target, () =>
                {
                    PrefectConnection connection = Connect(group.Key);
                    PrefectDeadline shared = deadline ??= connection.Client.StartDeadline();
                    result = RunEngine((log, ct) => read(connection, selectors, shared, log, ct));
                });
                if (!wasRead) continue;
                foreach (ScopeFailure failure in failures(result)) WriteError(ErrorRecords.From(failure.Error, failure.Selector.ToString()));
                foreach (object item in objects(result)) WriteObject(item);
            }
        }
    }
}
