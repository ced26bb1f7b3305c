using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Security;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Completion;
using PrefectScaling.Prefect;
using PrefectScaling.Publisher;

namespace PrefectScaling.Commands
{
    /// <summary>Sets up the scheduled publisher: a Lambda function run every minute by an EventBridge rule that
    /// counts the Prefect backlog and publishes it to CloudWatch, with its secret in SSM and a least-privilege role.
    /// It publishes for bindings (one from -Cluster/-Service with -WorkPool/-WorkQueue, or many from -BindingFile),
    /// each as the service's own series; or, without them, per queue as the first release did.
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

        private const string BindingFileSet = "BindingFile";

        // Not with -BindingFile: the file names every binding's scope.
        [Parameter(ParameterSetName = BacklogSet)]
        [Parameter(ParameterSetName = BindingSet)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(WorkQueueNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? WorkQueue { get; set; }

        [Parameter(ParameterSetName = BacklogSet)]
        [Parameter(ParameterSetName = BindingSet)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(WorkPoolNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? WorkPool { get; set; }

        /// <summary>A PowerShell data file (.psd1) with the publisher's bindings, read as Import-PowerShellDataFile reads
        /// it (no code runs): @{ Bindings = @( @{ Cluster = 'c'; Service = 's'; WorkPool = 'p'; WorkQueue = 'a', 'b' } ) }.</summary>
        [Parameter(Mandatory = true, ParameterSetName = BindingFileSet)]
        [ValidateNotNullOrEmpty]
        public string? BindingFile { get; set; }

        /// <summary>With bindings, also publish a series per queue (as the first release did).</summary>
        [Parameter]
        public SwitchParameter PerQueueSeries { get; set; }

        /// <summary>With bindings, protect the tasks that run in-flight flows from scale-in each cycle, and release the
        /// ones it protected once idle (ECS task scale-in protection; adds the ECS task permissions to the role).</summary>
        [Parameter]
        public SwitchParameter ProtectBusyTasks { get; set; }

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

        /// <summary>The push path: a function URL that a Prefect automation calls when a bound run turns Late, for a
        /// cycle within seconds. Left out: as installed; -Push:$false removes it.</summary>
        [Parameter]
        public SwitchParameter Push { get; set; }

        /// <summary>Where the Webhook block sends instead of the function URL (a proxy in front of it).</summary>
        [Parameter]
        [ValidateNotNull]
        public Uri? PushUrl { get; set; }

        [Parameter]
        [ValidateRange(1, 100)]
        public int PushConcurrency { get; set; } = PushPath.DefaultConcurrency;

        [Parameter]
        [ValidateRange(0, 3600)]
        public int PushWithinSeconds { get; set; } = PushPath.DefaultWithinSeconds;

        protected override void ProcessRecord() => Guard(Name, Install);

        private void Install()
        {
            PrefectConnectionSettings prefect = PrefectCmdlet.ResolvePrefectSettings(this, PrefectApiUrl, PrefectApiKey, PrefectCredential);
            PublisherInstallSpec spec = BuildSpec(prefect);
            spec.Validate();
            WarnIfLambdaCannotReach(prefect.ApiUrl);
            // Before any AWS call: a scope that does not exist would install a publisher that fails every minute.
            if (!spec.KeepInstalledBindings && !ScopesExist(prefect, spec.Configuration)) return;

            var installer = new PublisherInstaller(Aws);
            WriteReadingProgress(spec.Name, "Reading what is installed");
            PublisherState current = RunEngine((log, ct) => installer.ReadAsync(spec.Name, withSecretHash: spec.Secret != null, log, ct));
            foreach (string note in spec.Settle(current)) WriteWarning(note);
            if (spec.KeepInstalledBindings && spec.Configuration.Bindings.Count > 0 && !ScopesExist(prefect, spec.Configuration)) return;
            if (!ServicesExist(installer, spec.Configuration.Bindings)) return;
            // The dashboard shows the bindings as settled: their alarms and Container Insights.
            RunEngine((log, ct) => installer.ReadDashboardFactsAsync(current, spec.Configuration.Bindings, log, ct));

            List<AwsChange> changes = installer.PlanInstall(spec, current);
            changes.AddRange(PlanPush(installer, spec, current, prefect));
            if (changes.Count == 0) WriteVerbose("The publisher " + spec.Name + " is already installed as requested; nothing was changed.");
            ApplyChanges(changes, spec.Name);
            if (PassThru)
                WriteObject(RunEngine((log, ct) => installer.DescribeAsync(spec.Name, log, ct)));
        }

        /// <summary>The push path's changes after the publisher's: installed or updated with -Push (the server must
        /// hold automations: checked before anything changes), removed with -Push:$false or when it is left out of an
        /// install of a publisher that has none.</summary>
        private List<AwsChange> PlanPush(PublisherInstaller installer, PublisherInstallSpec spec, PublisherState current, PrefectConnectionSettings prefect)
        {
            if (spec.Push != true && !RunEngine((log, ct) => installer.Push(null).PresentAsync(current, log, ct))) return new List<AwsChange>();
            PushPath push = installer.Push(PrefectConnection.For(prefect).Client);
            if (spec.Push == true) RunEngine((log, ct) => push.EnsurePrefectSupportsAsync(log, ct));
            WriteReadingProgress(spec.Name, "Reading the push path");
            PushState both = RunEngine((log, ct) => push.ReadAsync(spec.Names, withSecret: spec.Push == true, log, ct));
            return spec.Push == true ? push.PlanInstall(spec, both) : push.PlanRemoval(both);
        }

        private void WarnIfLambdaCannotReach(Uri apiUrl)
        {
            string? warning = LambdaReach.Warning(apiUrl, inVpc: SubnetId != null && SubnetId.Length > 0);
            if (warning != null) WriteWarning(warning);
        }

        /// <summary>Resolves the scope on the Prefect server, as Get-PrefectLateRunCount does: the scopes of a publisher
        /// of the first release, or every binding's (in one listing); writes an error for each pool or queue that does
        /// not exist, naming its binding, or for a server that refuses the secret, and says false. A server this
        /// machine cannot reach only warns: it may be reachable from the function's subnets.</summary>
        private bool ScopesExist(PrefectConnectionSettings prefect, PublisherConfiguration configuration)
        {
            IReadOnlyList<ScopeSelector> selectors = configuration.Bindings.Count > 0
                ? configuration.Bindings.SelectMany(b => b.Scope.Selectors()).Distinct().ToList()
                : configuration.Scopes;
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
            if (configuration.Bindings.Count == 0)
            {
                foreach (ScopeFailure failure in found.Failures) WriteError(ErrorRecords.From(failure.Error, failure.Selector.ToString()));
                if (found.Failures.Count > 0) return false;
                if (found.Queues.Count == 0)
                    WriteWarning("The scope matches no work queue on " + PrefectConnectionSettings.Printable(prefect.ApiUrl) + " now; the publisher publishes nothing until one exists.");
                return true;
            }

            bool ok = true;
            foreach (ServiceBinding binding in configuration.Bindings)
            {
                IReadOnlyList<ScopeSelector> own = binding.Scope.Selectors();
                foreach (ScopeFailure failure in found.Failures.Where(f => own.Contains(f.Selector)))
                {
                    WriteError(ErrorRecords.From(new PrefectApiException(failure.Error.Kind, "The binding of " + binding.ResourceId + ": " + failure.Error.Message,
                        failure.Error.StatusCode, failure.Error.Endpoint, failure.Error), binding.ResourceId));
                    ok = false;
                }
                foreach (string queue in binding.Scope.AnyPoolQueues)
                {
                    List<string> pools = found.Queues.Where(q => q.WorkQueue == queue && q.WorkPool != null).Select(q => q.WorkPool!).Distinct().OrderBy(p => p, StringComparer.Ordinal).ToList();
                    if (pools.Count < 2) continue;
                    WriteError(ErrorRecords.From(new ArgumentException("The binding of " + binding.ResourceId + " names the work queue '" + queue + "' without its pool, but the pools " +
                        string.Join(", ", pools) + " each have one: give its pool (WorkPool with WorkQueue)."), binding.ResourceId));
                    ok = false;
                }
            }
            return ok;
        }

        /// <summary>Every bound ECS service exists (DescribeServices); an error naming each binding whose service does not.</summary>
        private bool ServicesExist(PublisherInstaller installer, IReadOnlyList<ServiceBinding> bindings)
        {
            if (bindings.Count == 0) return true;
            var unreadable = RunEngine((log, ct) => installer.UnreadableServicesAsync(bindings, log, ct));
            foreach (KeyValuePair<ServiceBinding, string> binding in unreadable)
                WriteError(ErrorRecords.From(new ArgumentException("The binding of " + binding.Key.ResourceId + " cannot be published: " + binding.Value + " Nothing was changed."), binding.Key.ResourceId));
            return unreadable.Count == 0;
        }

        private PublisherInstallSpec BuildSpec(PrefectConnectionSettings prefect)
        {
            IReadOnlyList<ServiceBinding> bindings = Bindings();
            bool scopeGiven = WorkPool != null || WorkQueue != null;
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
                KeepInstalledBindings = bindings.Count == 0 && !scopeGiven,
                PerQueueSeries = MyInvocation.BoundParameters.ContainsKey(nameof(PerQueueSeries)) ? PerQueueSeries.IsPresent : (bool?)null,
                Push = MyInvocation.BoundParameters.ContainsKey(nameof(Push)) ? Push.IsPresent : (bool?)null,
                PushUrl = PushUrl,
                PushConcurrency = PushConcurrency,
                PushWithinSeconds = PushWithinSeconds,
                ProtectBusyTasks = MyInvocation.BoundParameters.ContainsKey(nameof(ProtectBusyTasks)) ? ProtectBusyTasks.IsPresent : (bool?)null,
                Configuration = new PublisherConfiguration
                {
                    Bindings = bindings,
                    Scopes = bindings.Count > 0 ? Array.Empty<ScopeSelector>() : Selectors(),
                    Measures = Measure.Distinct().ToList(),
                    Metric = MetricOptions(),
                    SampleIntervalSeconds = SampleIntervalSeconds,
                    QueueListingCacheSeconds = QueueListingCacheSeconds,
                },
            };
            spec.UsePrefectSettings(prefect);
            return spec;
        }

        /// <summary>The bindings asked for: the file's, the one of -Cluster/-Service, or none.</summary>
        private IReadOnlyList<ServiceBinding> Bindings()
        {
            if (BindingFile != null) return PublisherBindings.FromFileData(ReadDataFile(BindingFile), BindingFile);
            if (PublishesPerTask) return new[] { PublisherBindings.Of(Cluster, Service, WorkPool, WorkQueue) };
            return Array.Empty<ServiceBinding>();
        }

        /// <summary>The file as Import-PowerShellDataFile reads it: parsed, never run; only literals are allowed.</summary>
        private object? ReadDataFile(string file)
        {
            string path = GetUnresolvedProviderPathFromPSPath(file);
            if (!File.Exists(path)) throw new FileNotFoundException("The binding file " + file + " does not exist.", path);
            try
            {
                Collection<PSObject> read = InvokeCommand.InvokeScript(
                    "param($path) Microsoft.PowerShell.Utility\\Import-PowerShellDataFile -LiteralPath $path -SkipLimitCheck -ErrorAction Stop",
                    false, PipelineResultTypes.None, null, path);
                return read.Count == 1 ? Plain(read[0]) : null;
            }
            catch (RuntimeException e)
            {
                throw new ArgumentException("The binding file " + file + " is not a PowerShell data file: " + e.Message, e);
            }
        }

        /// <summary>The data without PowerShell's wrappers, as the engine takes it.</summary>
        private static object? Plain(object? value)
        {
            if (value is PSObject wrapped) value = wrapped.BaseObject;
            if (value is IDictionary dictionary)
            {
                var copy = new Hashtable(StringComparer.OrdinalIgnoreCase);
                foreach (DictionaryEntry entry in dictionary) copy[entry.Key?.ToString() ?? string.Empty] = Plain(entry.Value);
                return copy;
            }
            if (value is IEnumerable list && !(value is string)) return list.Cast<object?>().Select(Plain).ToArray();
            return value;
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
