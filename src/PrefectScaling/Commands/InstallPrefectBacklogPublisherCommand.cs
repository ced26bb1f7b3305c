using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Security;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Completion;
using PrefectScaling.Prefect;
using PrefectScaling.Publisher;

namespace PrefectScaling.Commands
{
    /// <summary>Sets up the scheduled publisher: a Lambda function run every minute by an EventBridge rule that
    /// counts the Prefect backlog and publishes it to CloudWatch, with its secret in SSM and a least-privilege role.
    /// Nothing is bound from the pipeline: every input would install the same publisher again, and a piped
    /// publisher (its Name, its ApiUrl) would be reinstalled with default settings.</summary>
    [Cmdlet(VerbsLifecycle.Install, "PrefectBacklogPublisher", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = BacklogSet)]
    [OutputType(typeof(PrefectBacklogPublisher))]
    public sealed class InstallPrefectBacklogPublisherCommand : BacklogPublishingCmdlet
    {
        [Parameter(Position = 0)]
        [ArgumentCompleter(typeof(PublisherNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Name { get; set; } = PublisherInstallSpec.DefaultName;

        // The Prefect connection as PrefectCmdlet declares it (tests/pester/module/ParameterConsistency keeps them alike),
        // except pipeline binding: this cmdlet takes no pipeline input.
        [Parameter]
        [Alias("ApiUrl")]
        [ValidateNotNullOrEmpty]
        public string? PrefectApiUrl { get; set; }

        [Parameter]
        public SecureString? PrefectApiKey { get; set; }

        [Parameter]
        [Credential]
        public PSCredential? PrefectCredential { get; set; }

        [Parameter]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(WorkQueueNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? WorkQueue { get; set; }

        [Parameter]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(WorkPoolNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? WorkPool { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public BacklogMeasure[] Measure { get; set; } = { BacklogMeasure.Late };

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string Schedule { get; set; } = "rate(1 minute)";

        [Parameter]
        [ValidateSet("10", "15", "20", "30", "60")]
        public int SampleIntervalSeconds { get; set; } = 60;

        [Parameter]
        [ValidateRange(0, 3600)]
        public int QueueListingCacheSeconds { get; set; } = 300;

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? RoleArn { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? SubnetId { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? SecurityGroupId { get; set; }

        [Parameter]
        public Hashtable? Tag { get; set; }

        [Parameter]
        [ValidateRange(128, 10240)]
        public int MemorySize { get; set; } = 512;

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord() => Guard(Name, Install);

        private void Install()
        {
            PrefectConnectionSettings prefect = PrefectCmdlet.ResolvePrefectSettings(this, PrefectApiUrl, PrefectApiKey, PrefectCredential);
            PublisherInstallSpec spec = BuildSpec(prefect);
            spec.Validate();
            WarnIfLambdaCannotReach(prefect.ApiUrl);
            // Before any AWS call: a scope that does not exist would install a publisher that fails every minute.
            if (!ScopeExists(prefect, spec.Configuration.Scopes)) return;

            var installer = new PublisherInstaller(Aws);
            WriteReadingProgress(spec.Name, "Reading what is installed");
            PublisherState current = RunEngine((log, ct) => installer.ReadAsync(spec.Name, withSecretHash: spec.Secret != null, log, ct, spec.Configuration.Bindings));
            List<AwsChange> changes = installer.PlanInstall(spec, current);
            if (changes.Count == 0) WriteVerbose("The publisher " + spec.Name + " is already installed as requested; nothing was changed.");
            ApplyChanges(changes, spec.Name);
            if (PassThru)
                WriteObject(PrefectBacklogPublisher.From(RunEngine((log, ct) => installer.ReadAsync(spec.Name, withSecretHash: false, log, ct))));
        }

        private void WarnIfLambdaCannotReach(Uri apiUrl)
        {
            string? warning = LambdaReach.Warning(apiUrl, inVpc: SubnetId != null && SubnetId.Length > 0);
            if (warning != null) WriteWarning(warning);
        }

        /// <summary>Resolves the scope on the Prefect server, as Get-PrefectLateRunCount does; writes an error for
        /// each pool or queue that does not exist (or a server that refuses the secret) and says false. A server
        /// this machine cannot reach only warns: it may be reachable from the function's subnets.</summary>
        private bool ScopeExists(PrefectConnectionSettings prefect, IReadOnlyList<ScopeSelector> selectors)
        {
            ScopeResolution? found = null;
            bool read = Guard(PrefectConnectionSettings.Printable(prefect.ApiUrl), () =>
            {
                try
                {
                    PrefectConnection connection = PrefectConnection.For(prefect);
                    found = RunEngine((log, ct) => connection.Catalog.ResolveAsync(selectors, TimeSpan.Zero, log, ct));
                }
                catch (PrefectApiException e) when (e.Kind == PrefectErrorKind.ConnectionFailed || e.Kind == PrefectErrorKind.Timeout || e.Kind == PrefectErrorKind.Unavailable)
                {
                    WriteWarning("The scope could not be checked from this machine: " + e.Message + " The publisher is installed unchecked; run Test-PrefectBacklogPublisher from a machine that reaches the server.");
                }
            });
            if (!read) return false;
            if (found == null) return true;
            foreach (ScopeFailure failure in found.Failures) WriteError(ErrorRecords.From(failure.Error, failure.Selector.ToString()));
            if (found.Failures.Count > 0) return false;
            if (found.Queues.Count == 0)
                WriteWarning("The scope matches no work queue on " + PrefectConnectionSettings.Printable(prefect.ApiUrl) + " now; the publisher publishes nothing until one exists.");
            return true;
        }

        private PublisherInstallSpec BuildSpec(PrefectConnectionSettings prefect)
        {
            var spec = new PublisherInstallSpec
            {
                Name = Name,
                Schedule = Schedule.Trim(),
                RoleArn = RoleArn,
                SubnetIds = SubnetId ?? Array.Empty<string>(),
                SecurityGroupIds = SecurityGroupId ?? Array.Empty<string>(),
                Tags = Tag?.Cast<DictionaryEntry>().ToDictionary(e => e.Key?.ToString() ?? string.Empty, e => e.Value?.ToString() ?? string.Empty, StringComparer.Ordinal)
                       ?? new Dictionary<string, string>(),
                MemorySize = MemorySize,
                Package = File.ReadAllBytes(PackagePath()),
                Configuration = new PublisherConfiguration
                {
                    Scopes = Selectors(),
                    Measures = Measure.Distinct().ToList(),
                    Metric = MetricOptions(),
                    SampleIntervalSeconds = SampleIntervalSeconds,
                    Cluster = Cluster,
                    Service = Service,
                    QueueListingCacheSeconds = QueueListingCacheSeconds,
                },
            };
            spec.UsePrefectSettings(prefect);
            return spec;
        }

        private List<ScopeSelector> Selectors()
        {
            List<ScopeSelector> selectors = ScopeSelector.Combine(WorkPool, WorkQueue, out var invalid);
            if (invalid.Count > 0) throw invalid[0].Error;
            return selectors.Where(s => !s.IsEverything).ToList();
        }

        /// <summary>The deployment zip the build lays out beside the module.</summary>
        private static string PackagePath()
        {
            string path = Path.Combine(Path.GetDirectoryName(typeof(InstallPrefectBacklogPublisherCommand).Assembly.Location)!, "publisher", "PrefectScaling.Publisher.zip");
            if (!File.Exists(path)) throw new IOException("The publisher's deployment package is missing from the module (" + path + "); rebuild the module with build.ps1.");
            return path;
        }
    }
}
