using System;
using System.Collections.Generic;
using System.Management.Automation;
using PrefectScaling.Aws;
using PrefectScaling.Prefect;
using PrefectScaling.Publisher;

namespace PrefectScaling.Commands
{
    /// <summary>The result of Test-PrefectBacklogPublisher.</summary>
    public sealed class PrefectBacklogPublisherTest
    {
        public string Name { get; set; } = string.Empty;
        public bool Healthy { get; set; }
        public IReadOnlyList<string> Problems { get; set; } = Array.Empty<string>();
        public int Queues { get; set; }
        public int Published { get; set; }
        public int PrefectRequests { get; set; }
        public double DurationMs { get; set; }
    }

    /// <summary>Checks an installed publisher and runs one cycle with its configuration from this machine.</summary>
    [Cmdlet(VerbsDiagnostic.Test, "PrefectBacklogPublisher")]
    [OutputType(typeof(PrefectBacklogPublisherTest))]
    public sealed class TestPrefectBacklogPublisherCommand : PublisherCmdlet
    {
        protected override void ProcessRecord()
        {
            var result = new PrefectBacklogPublisherTest { Name = Name };
            var problems = new List<string>();
            try
            {
                AwsContext aws = ConnectAws();
                var installer = new PublisherInstaller(aws);
                PrefectBacklogPublisher installed = PrefectBacklogPublisher.From(RunEngine((log, ct) => installer.ReadAsync(Name, withSecretHash: false, log, ct)));
                problems.AddRange(installed.Problems);
                if (installed.Configuration != null)
                {
                    PublisherConfiguration configuration = installed.Configuration;
                    PublisherCycleResult cycle = RunEngine(async (log, ct) =>
                    {
                        PrefectConnectionSettings settings = await PublisherCycle.ResolvePrefectSettingsAsync(configuration, aws, log, ct).ConfigureAwait(false);
                        return await new PublisherCycle(configuration, PrefectConnection.For(settings), aws).RunOnceAsync(log, ct).ConfigureAwait(false);
                    });
                    result.Queues = cycle.Queues;
                    result.Published = cycle.Published;
                    result.PrefectRequests = cycle.PrefectRequests;
                    result.DurationMs = Math.Round(cycle.DurationMs, 1);
                }
            }
            catch (Exception e) when (e is AwsApiException || e is PrefectApiException || e is ArgumentException)
            {
                problems.Add(e.Message);
            }
            result.Problems = problems;
            result.Healthy = problems.Count == 0;
            WriteObject(result);
        }
    }
}
