using System;
using System.Collections;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using System.Threading;
using PrefectScaling.Backlog;
using PrefectScaling.Commands;
using PrefectScaling.Prefect;

namespace PrefectScaling.Completion
{
    /// <summary>Tab completion of pool and queue names from the server: the settings come from -PrefectApiUrl
    /// if typed, else the environment or profile; the listing is fetched with a short timeout and kept for a
    /// minute so repeated Tab presses are instant. A completer never throws: no server, no suggestions.</summary>
    public abstract class PrefectNameCompleter : IArgumentCompleter
    {
        private static readonly TimeSpan KeepFor = TimeSpan.FromSeconds(60);
        private static readonly ConcurrentDictionary<string, (IReadOnlyList<PrefectWorkQueue> Queues, Stopwatch Age)> Listings =
            new ConcurrentDictionary<string, (IReadOnlyList<PrefectWorkQueue>, Stopwatch)>(StringComparer.Ordinal);

        public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
        {
            try
            {
                string typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
                string? apiUrl = fakeBoundParameters["PrefectApiUrl"] as string;
                IReadOnlyList<PrefectWorkQueue> queues = Listing(apiUrl);
                return Names(queues, fakeBoundParameters)
                    .Where(n => n.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
                    .Distinct(StringComparer.Ordinal)
                    .OrderBy(n => n, StringComparer.OrdinalIgnoreCase)
                    .Select(n => new CompletionResult(Quote(n), n, CompletionResultType.ParameterValue, n))
                    .ToList();
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
            string key = PrefectConnectionSettings.Printable(settings.ApiUrl);
            if (Listings.TryGetValue(key, out var cached) && cached.Age.Elapsed < KeepFor) return cached.Queues;
            var quick = new PrefectHttpOptions { RequestTimeout = TimeSpan.FromSeconds(3), Deadline = TimeSpan.FromSeconds(4), MaxAttempts = 1 };
            PrefectConnection connection = PrefectConnection.For(settings, quick);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            ScopeResolution all = connection.Catalog.ResolveAsync(Array.Empty<ScopeSelector>(), TimeSpan.Zero, NullEngineLog.Instance, timeout.Token).GetAwaiter().GetResult();
            Listings[key] = (all.Queues, Stopwatch.StartNew());
            return all.Queues;
        }

        private static string Quote(string name) =>
            name.IndexOfAny(new[] { ' ', '\'', '"', '$', '`', '(', ')', '{', '}', ';', ',', '&', '|', '@', '#', '<', '>', '*', '?', '[', ']' }) >= 0
                ? "'" + name.Replace("'", "''") + "'"
                : name;

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
