using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Backlog;
using PrefectScaling.Prefect;

namespace PrefectScaling.Bindings
{
    /// <summary>Whether a binding's scope names what the Prefect server has: every pool and queue exists, and a queue
    /// named without its pool is in exactly one pool (else its backlog would be several pools' queues of that name).</summary>
    public static class BindingScopeCheck
    {
        /// <summary>What is wrong with the scope on the server, one sentence each; empty when nothing is. A server
        /// that cannot be read throws (PrefectApiException): its answer says nothing about the names.</summary>
        public static async Task<IReadOnlyList<string>> ProblemsAsync(PrefectConnection connection, BindingScope scope, IEngineLog log, CancellationToken cancellationToken)
        {
            if (connection == null) throw new ArgumentNullException(nameof(connection));
            ScopeResolution found = await connection.Catalog.ResolveAsync(scope.Selectors(), TimeSpan.Zero, log, cancellationToken).ConfigureAwait(false);
            PrefectApiException? broken = found.Failures.Select(f => f.Error).FirstOrDefault(e => e.Kind != PrefectErrorKind.NotFound && e.Kind != PrefectErrorKind.Unsupported);
            if (broken != null) throw broken;

            var problems = found.Failures.Select(f => f.Error.Message).ToList();
            foreach (string queue in scope.AnyPoolQueues)
            {
                List<string> pools = found.Queues.Where(q => q.WorkQueue == queue).Select(q => q.WorkPool ?? "(no pool)").Distinct().OrderBy(p => p, StringComparer.Ordinal).ToList();
                if (pools.Count > 1)
                {
                    problems.Add("Work queue '" + queue + "' is in " + pools.Count + " work pools (" + string.Join(", ", pools.Select(p => "'" + p + "'")) + "), so a scope of the queue alone is ambiguous on " +
                        connection.Client.ApiUrl + "; name its pool with -WorkPool.");
                }
            }
            return problems;
        }
    }
}
