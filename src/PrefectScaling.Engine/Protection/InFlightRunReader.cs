using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Prefect;

namespace PrefectScaling.Protection
{
    /// <summary>Reads the runs tasks are working on in a binding's scope (PENDING, RUNNING, CANCELLING), with the two
    /// fields that tie a run to a task: labels (prefect.worker.name) and infrastructure_pid. POST /flow_runs/filter
    /// by offset, in pages of 200, at most <see cref="MaxPages"/> of them.</summary>
    public sealed class InFlightRunReader
    {
        private const string FilterPath = "/flow_runs/filter";

        /// <summary>5,000 runs in flight in one scope is far beyond what a task protection cycle is for; past it the
        /// read fails, and the scope's runs all count as unprotected.</summary>
        public const int MaxPages = 25;

        public const string WorkerNameLabel = "prefect.worker.name";

        private readonly PrefectConnection _prefect;

        public InFlightRunReader(PrefectConnection prefect)
        {
            _prefect = prefect ?? throw new ArgumentNullException(nameof(prefect));
        }

        /// <summary>Each scope's in-flight runs, or why they cannot be read (that scope only).</summary>
        public async Task<IReadOnlyList<(IReadOnlyList<InFlightRun>? Runs, PrefectApiException? Failure)>> ReadAsync(IReadOnlyList<BindingScope> scopes, TimeSpan verifiedScopeMaxAge,
            IEngineLog log, CancellationToken cancellationToken, PrefectDeadline? deadline = null)
        {
            deadline ??= _prefect.Client.StartDeadline();
            var resolved = await _prefect.Totals.ResolvePartsAsync(scopes, verifiedScopeMaxAge, log, cancellationToken, deadline).ConfigureAwait(false);
            var results = new List<(IReadOnlyList<InFlightRun>?, PrefectApiException?)>();
            foreach (var scope in resolved)
            {
                if (scope.Failure != null || scope.Parts == null)
                {
                    results.Add((null, scope.Failure ?? new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The scope could not be resolved.")));
                    continue;
                }
                try
                {
                    var runs = new Dictionary<string, InFlightRun>(StringComparer.Ordinal);
                    foreach (RunScope part in scope.Parts)
                        foreach (InFlightRun run in await ReadPartAsync(part, deadline, log, cancellationToken).ConfigureAwait(false))
                            runs[run.Id] = run;
                    results.Add((runs.Values.OrderBy(r => r.Id, StringComparer.Ordinal).ToList(), null));
                }
                catch (PrefectApiException e)
                {
                    results.Add((null, e));
                }
            }
            return results;
        }

        private async Task<List<InFlightRun>> ReadPartAsync(RunScope part, PrefectDeadline deadline, IEngineLog log, CancellationToken cancellationToken)
        {
            var query = PrefectFilters.WorkingRunQuery(part);
            var guard = new PageGuard("POST " + FilterPath, _prefect.Client.ApiUrl);
            var runs = new List<InFlightRun>();
            for (int offset = 0, page = 0; ; page++)
            {
                if (page >= MaxPages)
                    throw new PrefectApiException(PrefectErrorKind.TooLarge, "More than " + (MaxPages * PrefectFilters.PageLimit) + " runs are in flight in one part of the scope on " + _prefect.Client.ApiUrl +
                        "; task protection reads no further, and counts them all as unprotected.", endpoint: FilterPath);
                guard.BeforePage();
                JsonElement answer = await _prefect.Client.PostAsync(FilterPath, PrefectFilters.Page(query, "offset", offset), deadline, log, cancellationToken).ConfigureAwait(false);
                if (answer.ValueKind != JsonValueKind.Array)
                    throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + FilterPath + " with something other than a list.", endpoint: FilterPath);
                int rows = 0;
                foreach (JsonElement item in answer.EnumerateArray())
                {
                    rows++;
                    InFlightRun? run = Parse(item);
                    if (run == null)
                        throw new PrefectApiException(PrefectErrorKind.UnexpectedResponse, "The Prefect API answered " + FilterPath + " with a flow run that has no id.", endpoint: FilterPath);
                    if (guard.Add(run.Id)) runs.Add(run);
                }
                guard.AfterPage("offset");
                if (rows < PrefectFilters.PageLimit) return runs;
                offset += rows;
            }
        }

        /// <summary>A run of a /flow_runs/filter answer; null without an id.</summary>
        public static InFlightRun? Parse(JsonElement item)
        {
            if (item.ValueKind != JsonValueKind.Object || WorkQueueCatalog.String(item, "id") is not string id) return null;
            string? stateType = WorkQueueCatalog.String(item, "state_type");
            if (stateType == null && item.TryGetProperty("state", out JsonElement state) && state.ValueKind == JsonValueKind.Object) stateType = WorkQueueCatalog.String(state, "type");
            string? worker = item.TryGetProperty("labels", out JsonElement labels) && labels.ValueKind == JsonValueKind.Object ? WorkQueueCatalog.String(labels, WorkerNameLabel) : null;
            return new InFlightRun(id, WorkQueueCatalog.String(item, "name"), stateType, worker, WorkQueueCatalog.String(item, "infrastructure_pid"));
        }
    }
}
