using System;
using System.Collections.Concurrent;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Prefect;

namespace PrefectScaling
{
    /// <summary>A Prefect client with its queue catalog and readers, kept per (URL, credential) for the life of the process,
    /// so that repeated calls reuse the HTTP connection, the server version and any cached queue listing.</summary>
    public sealed class PrefectConnection
    {
        private static readonly ConcurrentDictionary<string, PrefectConnection> Open = new ConcurrentDictionary<string, PrefectConnection>(StringComparer.Ordinal);

        private PrefectConnection(PrefectClient client)
        {
            Client = client;
            Catalog = new WorkQueueCatalog(client);
            Backlog = new BacklogReader(Catalog);
            Totals = new BindingTotalsReader(Catalog);
        }

        public PrefectClient Client { get; }
        public WorkQueueCatalog Catalog { get; }
        public BacklogReader Backlog { get; }

        /// <summary>Totals of whole scopes (bindings), with the scopes it found kept for reuse.</summary>
        public BindingTotalsReader Totals { get; }

        public static PrefectConnection For(PrefectConnectionSettings settings, PrefectHttpOptions? options = null) =>
            Open.GetOrAdd(settings.CacheKey + "|" + Describe(options), _ => new PrefectConnection(new PrefectClient(settings, options)));

        private static string Describe(PrefectHttpOptions? o) => o == null ? string.Empty : o.RequestTimeout.Ticks + "/" + o.Deadline.Ticks + "/" + o.MaxAttempts;
    }
}
