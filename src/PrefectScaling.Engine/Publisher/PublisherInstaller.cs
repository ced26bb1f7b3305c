using System.Collections.Generic;
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
        private readonly PublisherReader _reader;
        private readonly PublisherPlan _plan;

        public PublisherInstaller(AwsContext aws)
        {
            _reader = new PublisherReader(aws);
            _plan = new PublisherPlan(aws);
        }

        /// <summary>Reads every part; withSecretHash also reads the stored secret to compare it (never returned).
        /// dashboardBindings: the bindings an install plans for (the dashboard shows their alarms and task counts).</summary>
        public Task<PublisherState> ReadAsync(string name, bool withSecretHash, IEngineLog log, CancellationToken ct, IReadOnlyList<Bindings.ServiceBinding>? dashboardBindings = null) =>
            _reader.ReadAsync(name, withSecretHash, log, ct, dashboardBindings);

        /// <summary>The changes that make the publisher match the spec, in the order they must be made.</summary>
        public List<AwsChange> PlanInstall(PublisherInstallSpec spec, PublisherState current) => _plan.PlanInstall(spec, current);

        /// <summary>The changes that remove every part Install created that the module made.</summary>
        public List<AwsChange> PlanUninstall(PublisherState current) => _plan.PlanUninstall(current);
    }
}
