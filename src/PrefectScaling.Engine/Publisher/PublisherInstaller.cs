using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Publisher
{
    /// <summary>Installs, inspects and removes the scheduled publisher: the SSM parameter with the Prefect secret,
    /// the IAM role and its inline least-privilege policy (<see cref="PublisherPolicies"/>), the log group, the Lambda
    /// function, the EventBridge rule, its target and the invoke permission scoped to the rule. What exists is read by
    /// <see cref="PublisherReader"/>; the changes are planned by <see cref="PublisherPlan"/>, so installing again with
    /// the same arguments changes nothing.</summary>
    public sealed class PublisherInstaller
    {
        private readonly AwsContext _aws;
        private readonly PublisherReader _reader;
        private readonly PublisherPlan _plan;

        public PublisherInstaller(AwsContext aws)
        {
            _aws = aws;
            _reader = new PublisherReader(aws);
            _plan = new PublisherPlan(aws);
        }

        /// <summary>Reads every part; withSecretHash also reads the stored secret to compare it (never returned).
        /// dashboardBindings: the bindings an install plans for (the dashboard shows their alarms and task counts).</summary>
        public Task<PublisherState> ReadAsync(string name, bool withSecretHash, IEngineLog log, CancellationToken ct, IReadOnlyList<Bindings.ServiceBinding>? dashboardBindings = null) =>
            _reader.ReadAsync(name, withSecretHash, log, ct, dashboardBindings);

        /// <summary>What the dashboard of these bindings shows that Install must read first (Container Insights per
        /// cluster, the alarms of each service's scaling policies).</summary>
        public async Task ReadDashboardFactsAsync(PublisherState state, IReadOnlyList<Bindings.ServiceBinding> bindings, IEngineLog log, CancellationToken ct) =>
            state.DashboardFacts = await PublisherDashboard.ReadFactsAsync(_aws, bindings, log, ct).ConfigureAwait(false);

        /// <summary>The bindings whose ECS service cannot be read now (missing, or DescribeServices failed), each with
        /// why: checked before installing, since such a binding would publish nothing every minute.</summary>
        public async Task<IReadOnlyList<KeyValuePair<Bindings.ServiceBinding, string>>> UnreadableServicesAsync(IReadOnlyList<Bindings.ServiceBinding> bindings, IEngineLog log, CancellationToken ct)
        {
            Dictionary<string, (int? Desired, Exception? Failure)> read = await PublisherCycle.ReadDesiredTasksAsync(_aws, bindings, log, ct).ConfigureAwait(false);
            return bindings.Where(b => read[b.ResourceId].Failure != null)
                .Select(b => new KeyValuePair<Bindings.ServiceBinding, string>(b, read[b.ResourceId].Failure!.Message)).ToList();
        }

        /// <summary>What Get-PrefectBacklogPublisher shows: the publisher's parts, and each binding with when it last
        /// published (a CloudWatch read that fails leaves those unknown, and says so).</summary>
        public async Task<PrefectBacklogPublisher> DescribeAsync(string name, IEngineLog log, CancellationToken ct)
        {
            PublisherState state = await _reader.ReadAsync(name, withSecretHash: false, log, ct).ConfigureAwait(false);
            PrefectBacklogPublisher report = PrefectBacklogPublisher.From(state, out PublisherConfiguration? configuration);
            await DescribePushAsync(report, state, configuration, log, ct).ConfigureAwait(false);
            if (configuration == null || report.Bindings.Count == 0) return report;
            try
            {
                Dictionary<string, DateTime?> last = await _reader.ReadLastPublishedAsync(configuration, state.StoredBindings, log, ct).ConfigureAwait(false);
                foreach (PublisherBinding binding in report.Bindings) binding.LastPublished = last.TryGetValue(binding.ResourceId, out DateTime? at) ? at : null;
            }
            catch (AwsApiException e)
            {
                report.Problems = report.Problems.Concat(new[] { "When the bindings last published could not be read: " + e.Message }).ToList();
                report.Consistent = false;
            }
            if (configuration.ProtectBusyTasks)
            {
                try
                {
                    var (at, unprotected) = await _reader.ReadLastProtectionAsync(state.Names, log, ct).ConfigureAwait(false) ?? (default(DateTime), null!);
                    if (unprotected != null)
                    {
                        report.ProtectionReportedAt = at;
                        foreach (PublisherBinding binding in report.Bindings)
                            binding.UnprotectedRuns = unprotected.Where(u => u.Binding == binding.ResourceId).Select(u => u.Run == null ? u.Why : "run " + u.Run + ": " + u.Why).ToArray();
                    }
                }
                catch (AwsApiException e)
                {
                    report.Problems = report.Problems.Concat(new[] { "The publisher's report of task protection could not be read from its log: " + e.Message }).ToList();
                    report.Consistent = false;
                }
            }
            return report;
        }

        /// <summary>The push path of this publisher. prefect: the server its automations live on (null: the AWS side only).</summary>
        public PushPath Push(Prefect.PrefectClient? prefect) => new PushPath(_aws, prefect);

        /// <summary>The push path's parts for Get: the URL and concurrency, and the automations on the publisher's own
        /// Prefect server (a server that cannot be read is a problem, not a failure).</summary>
        private async Task DescribePushAsync(PrefectBacklogPublisher report, PublisherState state, PublisherConfiguration? configuration, IEngineLog log, CancellationToken ct)
        {
            if (!await Push(null).PresentAsync(state, log, ct).ConfigureAwait(false)) return;
            PushState aws = await Push(null).ReadAsync(state.Names, withSecret: false, log, ct).ConfigureAwait(false);
            bool wanted = configuration?.PushSecretParameter != null;
            report.PushUrl = aws.FunctionUrl;
            report.PushConcurrency = aws.ReservedConcurrency;
            var problems = new List<string>();
            if (wanted && (aws.UrlConfig == null || aws.UrlPermission == null || aws.UrlInvokePermission == null || !aws.SecretParameterExists))
                problems.Add("The push path is on but its function URL, its two permissions or its secret parameter is missing; run Install-PrefectBacklogPublisher -Push again.");
            if (!wanted) problems.Add("Parts of a push path exist but the function does not take pushes; run Install-PrefectBacklogPublisher -Push, or -Push:$false to remove them.");
            try
            {
                Prefect.PrefectClient? prefect = await PushPath.InstalledPrefectAsync(state, _aws, log, ct).ConfigureAwait(false);
                if (prefect != null)
                {
                    PushState both = await Push(prefect).ReadAsync(state.Names, withSecret: false, log, ct).ConfigureAwait(false);
                    report.PushAutomations = both.Automations.Count;
                    int bindings = configuration?.PushSecretParameter != null ? state.StoredBindings.Count : 0;
                    if (wanted && (!both.BlockIsManaged || both.Automations.Count != bindings))
                        problems.Add("The Prefect server holds " + both.Automations.Count + " push automation(s) for " + bindings + " binding(s)" + (both.BlockIsManaged ? string.Empty : " and no Webhook block") + "; run Install-PrefectBacklogPublisher -Push again.");
                }
            }
            catch (Exception e) when (e is Prefect.PrefectApiException || e is AwsApiException)
            {
                problems.Add("The push path's automations could not be read: " + e.Message);
            }
            if (problems.Count > 0)
            {
                report.Problems = report.Problems.Concat(problems).ToList();
                report.Consistent = false;
            }
        }

        /// <summary>The changes that make the publisher match the spec, in the order they must be made.</summary>
        public List<AwsChange> PlanInstall(PublisherInstallSpec spec, PublisherState current) => _plan.PlanInstall(spec, current);

        /// <summary>The changes that remove every part Install created that the module made.</summary>
        public List<AwsChange> PlanUninstall(PublisherState current) => _plan.PlanUninstall(current);
    }
}
