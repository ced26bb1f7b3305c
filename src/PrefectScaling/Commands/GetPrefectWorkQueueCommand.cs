using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using PrefectScaling.Backlog;
using PrefectScaling.Prefect;

namespace PrefectScaling.Commands
{
    /// <summary>Lists Prefect work queues with their pool, paused state, limits, priority, status and last poll.</summary>
    [Cmdlet(VerbsCommon.Get, "PrefectWorkQueue")]
    [OutputType("PrefectScaling.Prefect.PrefectWorkQueue")]
    public sealed class GetPrefectWorkQueueCommand : ScopeCmdlet
    {
        protected override void EndProcessing()
        {
            ReadEachServer(async (connection, selectors, deadline, log, ct) =>
            {
                ScopeResolution found = await connection.Catalog.ResolveAsync(selectors, TimeSpan.Zero, log, ct, deadline).ConfigureAwait(false);
                await AddPoolDetailsAsync(connection.Catalog, found, deadline, log, ct).ConfigureAwait(false);
                return found;
            }, found => found.Failures, found => found.Queues);
        }

        private static async System.Threading.Tasks.Task AddPoolDetailsAsync(WorkQueueCatalog catalog, ScopeResolution resolution, PrefectDeadline deadline, IEngineLog log, System.Threading.CancellationToken ct)
        {
            List<string> names = resolution.Queues.Where(q => q.WorkPool != null).Select(q => q.WorkPool!).Distinct().ToList();
            if (!resolution.Version.HasWorkPools || names.Count == 0) return;
            Dictionary<string, PrefectWorkPool> pools = (await catalog.ListPoolsAsync(names, log, ct, deadline).ConfigureAwait(false)).ToDictionary(p => p.Name, StringComparer.Ordinal);
            foreach (PrefectWorkQueue queue in resolution.Queues)
            {
                if (queue.WorkPool != null && pools.TryGetValue(queue.WorkPool, out PrefectWorkPool? pool))
                {
                    queue.WorkPoolType = pool.Type;
                    queue.WorkPoolIsPaused = pool.IsPaused;
                }
            }
        }
    }
}
