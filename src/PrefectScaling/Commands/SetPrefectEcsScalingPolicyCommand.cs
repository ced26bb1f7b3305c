using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Security;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Completion;
using PrefectScaling.Metrics;
using PrefectScaling.Prefect;
using PrefectScaling.Scaling;

namespace PrefectScaling.Commands
{
    /// <summary>Registers an ECS service as a scalable target and scales it on its binding's series (the backlog of the
    /// scope it serves, published per service): target tracking, backlog per task, or step scaling with alarms the
    /// module owns. A service has one binding: another scope replaces what the module made for the old one.</summary>
    [Cmdlet(VerbsCommon.Set, "PrefectEcsScalingPolicy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = TargetTrackingSet)]
    [OutputType(typeof(PrefectEcsScalingPolicy))]
    public sealed class SetPrefectEcsScalingPolicyCommand : BacklogMetricCmdlet
    {
        private const string TargetTrackingSet = "TargetTracking";
        private const string BacklogPerTaskSet = "BacklogPerTask";
        private const string StepScalingSet = "StepScaling";
        private const string CapacitySet = "Capacity";

        /// <summary>The ECS cluster's name.</summary>
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(EcsClusterNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Cluster { get; set; } = string.Empty;

        /// <summary>The ECS service's name.</summary>
        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(EcsServiceNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Service { get; set; } = string.Empty;

        /// <summary>The binding's queues by exact name: of each -WorkPool, or alone in whichever pool has each.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(WorkQueueNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? WorkQueue { get; set; }

        /// <summary>The binding's pools by exact name: alone, every queue of each.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(WorkPoolNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string[]? WorkPool { get; set; }

        // The Prefect connection as PrefectCmdlet declares it (tests/pester/module/ParameterConsistency keeps them
        // alike): Set reads Prefect to resolve -WorkQueue alone, and to check the names whenever one is given.
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [Alias("ApiUrl")]
        [ValidateNotNullOrEmpty]
        public string? PrefectApiUrl { get; set; }

        [Parameter]
        public SecureString? PrefectApiKey { get; set; }

        [Parameter]
        [Credential]
        public PSCredential? PrefectCredential { get; set; }

        [Parameter(Mandatory = true)]
        public int MinCapacity { get; set; }

        [Parameter(Mandatory = true)]
        public int MaxCapacity { get; set; }

        [Parameter(ParameterSetName = TargetTrackingSet)]
        public SwitchParameter TargetTracking { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = BacklogPerTaskSet)]
        public SwitchParameter BacklogPerTask { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = StepScalingSet)]
        public SwitchParameter StepScaling { get; set; }

        /// <summary>Capacity before the runs are due: the publisher holds the service at the tasks its due, upcoming
        /// and in-flight runs need.</summary>
        [Parameter(Mandatory = true, ParameterSetName = CapacitySet)]
        public SwitchParameter Capacity { get; set; }

        [Parameter(ParameterSetName = TargetTrackingSet)]
        [Parameter(ParameterSetName = BacklogPerTaskSet)]
        public double TargetValue { get; set; } = 1;

        [Parameter(ParameterSetName = TargetTrackingSet)]
        [Parameter(ParameterSetName = BacklogPerTaskSet)]
        public SwitchParameter DisableScaleIn { get; set; }

        [Parameter]
        public int ScaleOutCooldown { get; set; } = 60;

        [Parameter]
        public int ScaleInCooldown { get; set; } = 300;

        [Parameter(ParameterSetName = StepScalingSet)]
        [ValidateNotNullOrEmpty]
        public Hashtable? ScaleOutStep { get; set; }

        /// <summary>Step scaling's scale-in alarm, and the busy guard's scale-in alarm of every kind: periods in a row.</summary>
        [Parameter]
        public int ScaleInAfterPeriods { get; set; } = 5;

        [Parameter(ParameterSetName = StepScalingSet)]
        public SwitchParameter ScaleInToMinimum { get; set; }

        [Parameter]
        public int AlarmPeriod { get; set; }

        /// <summary>The most flow runs one task runs at once: the workers' or agents' --limit. The busy guard then lets
        /// the service shrink to the tasks its work needs; the capacity policy needs it to count tasks.</summary>
        // Named per set: beside a set of its own, an unnamed [Parameter] would no longer mean every set.
        [Parameter(ParameterSetName = TargetTrackingSet)]
        [Parameter(ParameterSetName = BacklogPerTaskSet)]
        [Parameter(ParameterSetName = StepScalingSet)]
        [Parameter(Mandatory = true, ParameterSetName = CapacitySet)]
        [ValidateRange(1, ScalingPolicySpec.MaxRunsPerTask)]
        public int RunsPerTask { get; set; }

        /// <summary>Turns the busy guard off: scale-in as before it, which can stop tasks that are running flows.</summary>
        [Parameter]
        public SwitchParameter AllowBusyScaleIn { get; set; }

        /// <summary>What the count measures; picks the default metric name.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public BacklogMeasure Measure { get; set; } = BacklogMeasure.Late;

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord() => Guard(ScalingNames.ResourceId(Cluster, Service), () =>
        {
            ScalingPolicySpec spec = BuildSpec();
            spec.Validate();
            if (spec.AllowBusyScaleIn)
                WriteWarning("-AllowBusyScaleIn: " + spec.ResourceId + " scales in without the busy guard, so ECS can stop a task that is running a flow, and that flow crashes.");
            CheckScopeOnPrefect(spec.Scope!);
            var manager = new EcsScalingPlanner(Aws);
            var run = new EcsScalingRun(manager, spec);
            WriteReadingProgress(spec.ResourceId, "Reading the scaling of the service");
            RunEngine((log, ct) => manager.EnsureServiceExistsAsync(spec.Cluster, spec.Service, log, ct));
            while (true)
            {
                List<AwsChange> changes = RunEngine(run.NextAsync);
                if (run.Round == 1)
                {
                    WarnIfSeriesMissing(Aws, spec);
                    // More agents need somewhere to run: advice only, never a failure.
                    AwsContext aws = Aws;
                    foreach (string warning in RunEngine((log, ct) => ClusterCapacityCheck.WarningsAsync(aws, spec.Cluster, spec.Service, spec.MaxCapacity, log, ct)))
                        WriteWarning(warning);
                    List<string> replaced = EcsScalingPlanner.ReplacedScopes(spec, run.Current!);
                    if (replaced.Count > 0)
                    {
                        WriteWarning("A service has one binding: " + spec.ResourceId + " is now scaled on " + spec.Binding.Scope + ", which replaces every policy and alarm PrefectScaling made for it for " +
                            string.Join("; ", replaced) + ".");
                    }
                }
                if (changes.Count == 0)
                {
                    if (run.Round == 1) WriteVerbose("The scaling of " + spec.ResourceId + " for " + spec.Binding.Scope + " is already as requested; nothing was changed.");
                    break;
                }
                // A later round runs after this command's own writes: what it finds, something else did meanwhile.
                if (run.Round > 1) WriteWarning(run.Interference(changes));
                // -WhatIf, or "no" at -Confirm: reading again would only plan the same changes.
                if (ApplyChanges(changes, spec.ResourceId).Count < changes.Count) break;
            }
            if (PassThru)
            {
                EcsScalingState after = RunEngine((log, ct) => manager.ReadAsync(spec.Cluster, spec.Service, log, ct));
                HashSet<string> scope = spec.ScopeNames;
                foreach (PrefectEcsScalingPolicy row in PrefectEcsScalingPolicy.From(after).Where(r => r.PolicyName == null || scope.Contains(r.PolicyName)))
                    WriteObject(row);
            }
        });

        /// <summary>Before any AWS call: a queue named without its pool must be in exactly one pool, which only Prefect
        /// can say; with a connection given, every name is checked. Any problem is an error that changes nothing.</summary>
        private void CheckScopeOnPrefect(BindingScope scope)
        {
            bool connectionGiven = PrefectApiUrl != null || PrefectApiKey != null || PrefectCredential != null;
            if (scope.AnyPoolQueues.Count == 0 && !connectionGiven) return;
            PrefectConnection connection = PrefectConnection.For(PrefectCmdlet.ResolvePrefectSettings(this, PrefectApiUrl, PrefectApiKey, PrefectCredential));
            // The publisher's own check: what Set accepts is what the publisher can count.
            PrefectApiException? problem = RunEngine((log, ct) => connection.Totals.VerifyAsync(new[] { scope }, TimeSpan.Zero, log, ct))[0];
            if (problem == null) return;
            if (problem.Kind != PrefectErrorKind.NotFound && problem.Kind != PrefectErrorKind.InvalidSettings) throw problem;
            throw new ArgumentException(problem.Message + " Nothing was changed.");
        }

        private ScalingPolicySpec BuildSpec() => new ScalingPolicySpec
        {
            Cluster = Cluster,
            Service = Service,
            Scope = BindingScope.From(WorkPool, WorkQueue),
            MinCapacity = MinCapacity,
            MaxCapacity = MaxCapacity,
            Kind = ParameterSetName switch
            {
                BacklogPerTaskSet => ScalingPolicyKind.BacklogPerTask,
                StepScalingSet => ScalingPolicyKind.StepScaling,
                CapacitySet => ScalingPolicyKind.Capacity,
                _ => ScalingPolicyKind.TargetTracking,
            },
            TargetValue = TargetValue,
            DisableScaleIn = DisableScaleIn,
            ScaleOutCooldown = ScaleOutCooldown,
            ScaleInCooldown = ScaleInCooldown,
            ScaleOutSteps = ScaleOutStep == null ? new ScalingPolicySpec().ScaleOutSteps : Steps(ScaleOutStep),
            // The capacity policy scales in only what no run needs (the requirement counts every one in flight): one period.
            ScaleInAfterPeriods = ParameterSetName == CapacitySet && !MyInvocation.BoundParameters.ContainsKey(nameof(ScaleInAfterPeriods)) ? 1 : ScaleInAfterPeriods,
            ScaleInToMinimum = ScaleInToMinimum,
            // Only a period the user gave is checked as given: 0 is an error, never "the default".
            AlarmPeriod = MyInvocation.BoundParameters.ContainsKey(nameof(AlarmPeriod)) ? AlarmPeriod : (int?)null,
            Measure = Measure,
            Metric = MetricOptions(),
            AllowBusyScaleIn = AllowBusyScaleIn,
            RunsPerTask = MyInvocation.BoundParameters.ContainsKey(nameof(RunsPerTask)) ? RunsPerTask : (int?)null,
        };

        /// <summary>@{ 1 = 1; 5 = 3 }: from a backlog of 1 add one task, from 5 add three.</summary>
        internal static List<ScaleOutStep> Steps(Hashtable table)
        {
            var steps = new List<ScaleOutStep>();
            foreach (DictionaryEntry entry in table)
            {
                try
                {
                    steps.Add(new ScaleOutStep(LanguagePrimitives.ConvertTo<double>(entry.Key), LanguagePrimitives.ConvertTo<int>(entry.Value)));
                }
                catch (PSInvalidCastException)
                {
                    throw new ArgumentException("-ScaleOutStep maps backlog thresholds to tasks to add, such as @{ 1 = 1; 5 = 3 }; '" + entry.Key + " = " + entry.Value + "' is not numbers.");
                }
            }
            return steps;
        }

        /// <summary>A policy on a series nobody publishes never scales: say so for each series the policies and alarms
        /// read that CloudWatch does not list with exactly its dimensions (a new series may take minutes to list).</summary>
        private void WarnIfSeriesMissing(AwsContext aws, ScalingPolicySpec spec)
        {
            var publisher = new MetricPublisher(aws);
            foreach (MetricSeries series in ScalingPolicyDocuments.SeriesRead(ScalingPolicyDocuments.Policies(spec)))
            {
                if (RunEngine((log, ct) => publisher.IsPublishedAsync(series.Namespace, series.MetricName, series.Dimensions, log, ct))) continue;
                WriteWarning("No data has been published yet to " + series + ": the policy reads that series. Publish the binding's series with Publish-PrefectBacklogMetric -Cluster " +
                    spec.Cluster + " -Service " + spec.Service + " or Install-PrefectBacklogPublisher with the same -Cluster, -Service and metric options (a new series can take up to 15 minutes to be listed).");
            }
        }
    }
}
