using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using PrefectScaling.Backlog;
using PrefectScaling.Commands;
using PrefectScaling.Prefect;

namespace PrefectScaling.Completion
{
    /// <summary>Tab completion of pool and queue names from the server: the settings come from -PrefectApiUrl
    /// if typed, else the environment or profile; the listing is fetched with a short timeout and kept for a
    /// minute (CompletionListings). A completer never throws: no server, no suggestions.</summary>
    public abstract class PrefectNameCompleter : IArgumentCompleter
    {
        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try
            {
                string? apiUrl = fakeBoundParameters["PrefectApiUrl"] as string;
                return CompletionListings.Matching(Names(Listing(apiUrl), fakeBoundParameters), wordToComplete);
            }
            catch (Exception)
            {
                return Array.Empty<CompletionResult>();
            }
        }

        protected abstract IEnumerable<string> Names(IReadOnlyList<PrefectWorkQueue> queues, IDictionary fakeBoundParameters);

        private static IReadOnlyList<PrefectWorkQueue> Listing(string? apiUrl)
        {
            PrefectConnectionSettings settings = PrefectSettingsResolver.Resolve(new PrefectSettingsInput { ApiUrl = apiUrl }, Environment.GetEnvironmentVariable, PrefectCmdlet.HomeDirectory());
            return CompletionListings.Get("prefect|" + PrefectConnectionSettings.Printable(settings.ApiUrl), async cancellationToken =>
            {
                var quick = new PrefectHttpOptions { RequestTimeout = TimeSpan.FromSeconds(3), Deadline = TimeSpan.FromSeconds(4), MaxAttempts = 1 };
                PrefectConnection connection = PrefectConnection.For(settings, quick);
                ScopeResolution all = await connection.Catalog.ResolveAsync(Array.Empty<ScopeSelector>(), TimeSpan.Zero, NullEngineLog.Instance, cancellationToken).ConfigureAwait(false);
                return all.Queues;
            });
        }

        internal static IEnumerable<string> Values(IDictionary bound, string name) =>
            bound[name] switch
            {
                string single => new[] { single },
                string[] many => many,
                object[] many => many.OfType<string>(),
                _ => Array.Empty<string>(),
            };
    }

    /// <summary>Completes -WorkQueue, narrowed to the pools already given in -WorkPool.</summary>
    public sealed class WorkQueueNameCompleter : PrefectNameCompleter
    {
        protected override IEnumerable<string> Names(IReadOnlyList<PrefectWorkQueue> queues, IDictionary bound)
        {
            List<NamePattern> pools = Values(bound, "WorkPool").Select(p => new NamePattern(p)).ToList();
            return queues.Where(q => pools.Count == 0 || (q.WorkPool != null && pools.Any(p => p.Matches(q.WorkPool)))).Select(q => q.WorkQueue);
        }
    }

    /// <summary>Completes -WorkPool.</summary>
    public sealed class WorkPoolNameCompleter : PrefectNameCompleter
    {
        protected override IEnumerable<string> Names(IReadOnlyList<PrefectWorkQueue> queues, IDictionary bound) =>
            queues.Where(q => q.WorkPool != null).Select(q => q.WorkPool!);
    }
}
