using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;

namespace PrefectScaling.Completion
{
    /// <summary>What every completer that asks a server shares: a listing is fetched within a few seconds or not at
    /// all, kept for a minute so repeated Tab presses are instant, and a failure gives no suggestions, never an error.</summary>
    internal static class CompletionListings
    {
        private static readonly TimeSpan KeepFor = TimeSpan.FromSeconds(60);
        internal static readonly TimeSpan WaitAtMost = TimeSpan.FromSeconds(4);
        private static readonly ConcurrentDictionary<string, (object Listing, Stopwatch Age)> Cache =
            new ConcurrentDictionary<string, (object, Stopwatch)>(StringComparer.Ordinal);

        /// <summary>The cached listing of <paramref name="key"/>, else a fresh one; empty when the fetch fails or is
        /// still running after <see cref="WaitAtMost"/> (it is cancelled then).</summary>
        internal static IReadOnlyList<T> Get<T>(string key, Func<CancellationToken, Task<IReadOnlyList<T>>> fetch)
        {
            if (Cache.TryGetValue(key, out var cached) && cached.Age.Elapsed < KeepFor && cached.Listing is IReadOnlyList<T> listing) return listing;
            var cancellation = new CancellationTokenSource(WaitAtMost);
            Task<IReadOnlyList<T>> task = Task.Run(() => fetch(cancellation.Token));
            try
            {
                if (!task.Wait(WaitAtMost)) return Array.Empty<T>();
            }
            catch (AggregateException)
            {
                return Array.Empty<T>();
            }
            finally
            {
                cancellation.Cancel();
                // A fetch still running may touch its token: the source goes when the fetch does.
                task.ContinueWith(_ => cancellation.Dispose(), TaskScheduler.Default);
            }
            Cache[key] = (task.Result, Stopwatch.StartNew());
            return task.Result;
        }

        /// <summary>The names that start with what was typed (quotes and case aside), as completion results.</summary>
        internal static IEnumerable<CompletionResult> Matching(IEnumerable<string> names, string? wordToComplete)
        {
            string typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
            return names
                .Where(n => n.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
                .Distinct(StringComparer.Ordinal)
                .OrderBy(n => n, StringComparer.OrdinalIgnoreCase)
                .Select(n => new CompletionResult(Quote(n), n, CompletionResultType.ParameterValue, n))
                .ToList();
        }

        private static string Quote(string name) =>
            name.IndexOfAny(new[] { ' ', '\'', '"', '$', '`', '(', ')', '{', '}', ';', ',', '&', '|', '@', '#', '<', '>', '*', '?', '[', ']' }) >= 0
                ? "'" + name.Replace("'", "''") + "'"
                : name;
    }
}
