using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using PrefectScaling.Backlog;
using PrefectScaling.Completion;

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
            IEnumerable<string?> pools = WorkPool ?? new string?[] { null };
            IEnumerable<string?> queues = WorkQueue ?? new string?[] { null };
            foreach (string? pool in pools)
            {
                foreach (string? queue in queues)
                {
                    ScopeSelector selector;
                    try
                    {
                        selector = new ScopeSelector(pool, queue);
                    }
                    catch (ArgumentException e)
                    {
                        WriteError(ErrorRecords.From(new ArgumentException(e.Message.Split(new[] { Environment.NewLine }, StringSplitOptions.None)[0]), queue ?? pool));
                        continue;
                    }
                    _selectors.Add((PrefectApiUrl, selector));
                }
            }
        }

        /// <summary>The gathered selectors, one group per API URL (null: the URL from the environment or profile).</summary>
        protected IEnumerable<(string? ApiUrl, IReadOnlyList<ScopeSelector> Selectors)> SelectorsByApiUrl() =>
            _selectors.GroupBy(s => s.ApiUrl, StringComparer.Ordinal)
                      .Select(g => (g.Key, (IReadOnlyList<ScopeSelector>)g.Select(s => s.Selector).Distinct().ToList()));

        /// <summary>True when nothing valid was asked for (every input was rejected), so nothing should be called.</summary>
        protected bool NothingToDo => _selectors.Count == 0;

        protected void WriteScopeFailures(IEnumerable<ScopeFailure> failures)
        {
            foreach (ScopeFailure failure in failures) WriteError(ErrorRecords.From(failure.Error, failure.Selector.ToString()));
        }
    }
}
