using System;
using System.Management.Automation;
using PrefectScaling.Backlog;
using PrefectScaling.Prefect;

namespace PrefectScaling.Commands
{
    /// <summary>Lists Prefect work queues with their pool, paused state, limits, priority, status and last poll.</summary>
    [Cmdlet(VerbsCommon.Get, "PrefectWorkQueue")]
    [OutputType(typeof(PrefectWorkQueue))]
    public sealed class GetPrefectWorkQueueCommand : ScopeCmdlet
    {
        protected override void EndProcessing()
        {
            ReadEachServer(async (connection, selectors, deadline, log, ct) =>
            {
                ScopeResolution found = await connection.Catalog.ResolveAsync(selectors, TimeSpan.Zero, log, ct, deadline).ConfigureAwait(false);
                await connection.Catalog.AddPoolDetailsAsync(found, log, ct, deadline).ConfigureAwait(false);
                return found;
            }, found => found.Failures, found => found.Queues);
        }
    }
}
