using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Completion;
using PrefectScaling.Metrics;
using PrefectScaling.Scaling;

namespace PrefectScaling.Commands
{
    /// <summary>Registers an ECS service as a scalable target and puts one scaling policy on the published
    /// Prefect backlog metric: target tracking, backlog per task, or step scaling with alarms the module owns.</summary>
    [Cmdlet(VerbsCommon.Set, "PrefectEcsScalingPolicy", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium, DefaultParameterSetName = TargetTrackingSet)]
    [OutputType(typeof(PrefectEcsScalingPolicy))]
    public sealed class SetPrefectEcsScalingPolicyCommand : BacklogMetricCmdlet
    {
        private const string TargetTrackingSet = "TargetTracking";
        private const string BacklogPerTaskSet = "BacklogPerTask";
        private const string StepScalingSet = "StepScaling";

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

        [Parameter(Mandatory = true, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(WorkQueueNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string WorkQueue { get; set; } = string.Empty;

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(WorkPoolNameCompleter))]
        public string? WorkPool { get; set; }

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

        [Parameter(ParameterSetName = StepScalingSet)]
        public int ScaleInAfterPeriods { get; set; } = 5;

        [Parameter(ParameterSetName = StepScalingSet)]
        public SwitchParameter ScaleInToMinimum { get; set; }

        [Parameter(ParameterSetName = StepScalingSet)]
        [Parameter(ParameterSetName = BacklogPerTaskSet)]
        public int AlarmPeriod { get; set; }

        /// <summary>What the count measures; picks the default metric name.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public BacklogMeasure Measure { get; set; } = BacklogMeasure.Late;

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord() => Guard(ScalingNames.ResourceId(Cluster, Service), () =>
        {
            ScalingPolicySpec spec = BuildSpec();
            spec.Validate();
            var manager = new EcsScalingPlanner(Aws);
            var run = new EcsScalingRun(manager, spec);
            WriteReadingProgress(spec.ResourceId, "Reading the scaling of the service");
            RunEngine((log, ct) => manager.EnsureServiceExistsAsync(spec.Cluster, spec.Service, log, ct));
            while (true)
            {
                List<AwsChange> changes = RunEngine(run.NextAsync);
                if (run.Round == 1) WarnIfMetricMissing(Aws, spec);
                if (changes.Count == 0)
                {
                    if (run.Round == 1) WriteVerbose("The scaling of " + spec.ResourceId + " for " + spec.BaseName + " is already as requested; nothing was changed.");
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

        private ScalingPolicySpec BuildSpec() => new ScalingPolicySpec
        {
            Cluster = Cluster,
            Service = Service,
            WorkQueue = ScalingPolicySpec.ExactName(WorkQueue, "-WorkQueue"),
            WorkPool = string.IsNullOrEmpty(WorkPool) ? null : ScalingPolicySpec.ExactName(WorkPool!, "-WorkPool"),
            MinCapacity = MinCapacity,
            MaxCapacity = MaxCapacity,
            Kind = ParameterSetName switch
            {
                BacklogPerTaskSet => ScalingPolicyKind.BacklogPerTask,
                StepScalingSet => ScalingPolicyKind.StepScaling,
                _ => ScalingPolicyKind.TargetTracking,
            },
            TargetValue = TargetValue,
            DisableScaleIn = DisableScaleIn,
            ScaleOutCooldown = ScaleOutCooldown,
            ScaleInCooldown = ScaleInCooldown,
            ScaleOutSteps = ScaleOutStep == null ? new ScalingPolicySpec().ScaleOutSteps : Steps(ScaleOutStep),
            ScaleInAfterPeriods = ScaleInAfterPeriods,
            ScaleInToMinimum = ScaleInToMinimum,
            // Only a period the user gave is checked as given: 0 is an error, never "the default".
            AlarmPeriod = MyInvocation.BoundParameters.ContainsKey(nameof(AlarmPeriod)) ? AlarmPeriod : (int?)null,
            Measure = Measure,
            Metric = MetricOptions(),
        };

        /// <summary>@{ 1 = 1; 5 = 3 }: from a backlog of 1 add one task, from 5 add three.</summary>
        private static List<ScaleOutStep> Steps(Hashtable table)
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

        /// <summary>A policy on a metric nobody publishes never scales: say so (a new metric may take minutes to list).</summary>
        private void WarnIfMetricMissing(AwsContext aws, ScalingPolicySpec spec)
        {
            string metricName = spec.ScaledMetricName;
            List<KeyValuePair<string, string>> dimensions = spec.ScaledMetricDimensions();
            if (!RunEngine((log, ct) => new MetricPublisher(aws).IsPublishedAsync(spec.Metric.Namespace, metricName, dimensions, log, ct)))
            {
                WriteWarning("No data has been published yet to " + spec.Metric.Namespace + "/" + metricName + " {" + string.Join(",", dimensions.Select(d => d.Key + "=" + d.Value)) +
                    "}: the policy reads that metric. Publish it with Publish-PrefectBacklogMetric" + (spec.Kind == ScalingPolicyKind.BacklogPerTask ? " -Cluster " + spec.Cluster + " -Service " + spec.Service : string.Empty) +
                    " or Install-PrefectBacklogPublisher (a new metric can take up to 15 minutes to be listed).");
            }
        }
    }
}
