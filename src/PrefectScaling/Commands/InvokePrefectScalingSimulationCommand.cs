using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Scaling;
using PrefectScaling.Simulation;

namespace PrefectScaling.Commands
{
    /// <summary>Simulates what a scaling policy does to a workload, with no change anywhere: the live policy of a
    /// service (piped from Get-PrefectEcsScalingPolicy), or a policy given as Set-PrefectEcsScalingPolicy takes it.</summary>
    [Cmdlet(VerbsLifecycle.Invoke, "PrefectScalingSimulation", DefaultParameterSetName = ServiceSet)]
    [OutputType(typeof(PrefectScalingSimulation))]
    public sealed class InvokePrefectScalingSimulationCommand : BacklogMetricCmdlet
    {
        private const string ServiceSet = "Service";
        private const string TargetTrackingSet = "TargetTracking";
        private const string BacklogPerTaskSet = "BacklogPerTask";
        private const string StepScalingSet = "StepScaling";

        private readonly HashSet<string> _simulated = new HashSet<string>(StringComparer.Ordinal);

        /// <summary>The service whose live policy is simulated; with a policy kind, only its name.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ServiceSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = TargetTrackingSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = BacklogPerTaskSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = StepScalingSet, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(Completion.EcsClusterNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Cluster { get; set; } = "simulated";

        [Parameter(Mandatory = true, ParameterSetName = ServiceSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = TargetTrackingSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = BacklogPerTaskSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = StepScalingSet, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(Completion.EcsServiceNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Service { get; set; } = "simulated";

        /// <summary>The workload: objects with ExpectedStart, Duration and optionally Created and WorkQueue.</summary>
        [Parameter(Mandatory = true)]
        [ValidateNotNullOrEmpty]
        public PSObject[] Run { get; set; } = Array.Empty<PSObject>();

        [Parameter(Mandatory = true, ParameterSetName = TargetTrackingSet)]
        public SwitchParameter TargetTracking { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = BacklogPerTaskSet)]
        public SwitchParameter BacklogPerTask { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = StepScalingSet)]
        public SwitchParameter StepScaling { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = TargetTrackingSet)]
        [Parameter(Mandatory = true, ParameterSetName = BacklogPerTaskSet)]
        [Parameter(Mandatory = true, ParameterSetName = StepScalingSet)]
        public int MinCapacity { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = TargetTrackingSet)]
        [Parameter(Mandatory = true, ParameterSetName = BacklogPerTaskSet)]
        [Parameter(Mandatory = true, ParameterSetName = StepScalingSet)]
        public int MaxCapacity { get; set; }

        [Parameter(ParameterSetName = TargetTrackingSet)]
        [Parameter(ParameterSetName = BacklogPerTaskSet)]
        public double TargetValue { get; set; } = 1;

        [Parameter(ParameterSetName = TargetTrackingSet)]
        [Parameter(ParameterSetName = BacklogPerTaskSet)]
        public SwitchParameter DisableScaleIn { get; set; }

        [Parameter(ParameterSetName = TargetTrackingSet)]
        [Parameter(ParameterSetName = BacklogPerTaskSet)]
        [Parameter(ParameterSetName = StepScalingSet)]
        public int ScaleOutCooldown { get; set; } = 60;

        [Parameter(ParameterSetName = TargetTrackingSet)]
        [Parameter(ParameterSetName = BacklogPerTaskSet)]
        [Parameter(ParameterSetName = StepScalingSet)]
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

        /// <summary>What the policy's backlog counts; for a live policy, the measure of a metric not named by default.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public BacklogMeasure Measure { get; set; } = BacklogMeasure.Late;

        [Parameter]
        [ValidateRange(0, 86400)]
        public int TaskStartSeconds { get; set; } = 60;

        [Parameter]
        [ValidateRange(1, 3600)]
        public int WorkerPollSeconds { get; set; } = 10;

        [Parameter]
        [ValidateRange(1, 10000)]
        public int RunsPerTask { get; set; } = 1;

        [Parameter]
        [ValidateSet("10", "15", "20", "30", "60")]
        public int SampleIntervalSeconds { get; set; } = 60;

        /// <summary>Tasks running at the start; the minimum capacity when not given.</summary>
        [Parameter]
        [ValidateRange(0, int.MaxValue)]
        public int InitialTasks { get; set; }

        [Parameter]
        public SwitchParameter Timeline { get; set; }

        protected override void ProcessRecord() => Guard(ScalingNames.ResourceId(Cluster, Service), () =>
        {
            List<SimulatedRun> runs = Run.Select(ToRun).ToList();
            SimulatedPolicy policy;
            if (ParameterSetName == ServiceSet)
            {
                ScalingNames.ValidateService(Cluster, Service);
                // Get-PrefectEcsScalingPolicy writes a row per policy and alarm: one simulation per service.
                if (!_simulated.Add(ScalingNames.ResourceId(Cluster, Service))) return;
                var planner = new EcsScalingPlanner(Aws);
                EcsScalingState state = RunEngine((log, ct) => planner.ReadAsync(Cluster, Service, log, ct));
                policy = SimulatedPolicy.FromState(state, Measure);
            }
            else policy = SimulatedPolicy.FromSpec(BuildSpec());

            var environment = new SimulationEnvironment
            {
                TaskStartSeconds = TaskStartSeconds,
                WorkerPollSeconds = WorkerPollSeconds,
                RunsPerTask = RunsPerTask,
                SampleIntervalSeconds = SampleIntervalSeconds,
                InitialTasks = MyInvocation.BoundParameters.ContainsKey(nameof(InitialTasks)) ? InitialTasks : (int?)null,
            };
            WriteVerbose("Simulating " + policy.Description + " on " + runs.Count + " run(s).");
            WriteObject(ScalingSimulator.Simulate(policy, environment, runs, "runs", Timeline));
        });

        /// <summary>An object with ExpectedStart, Duration (a TimeSpan, or seconds) and optionally Created and WorkQueue.
        /// (Stands in for the workload readers of CSV and Get-PrefectFlowRunHistory until they are merged.)</summary>
        private static SimulatedRun ToRun(PSObject run, int index)
        {
            object? Value(string name) => run.Properties[name]?.Value is object v ? (v is PSObject p ? p.BaseObject : v) : null;
            try
            {
                DateTime expected = LanguagePrimitives.ConvertTo<DateTime>(Value("ExpectedStart") ?? throw new ArgumentException("has no ExpectedStart")).ToUniversalTime();
                object duration = Value("Duration") ?? throw new ArgumentException("has no Duration");
                TimeSpan length = duration is TimeSpan span ? span
                    : duration is string text && text.Contains(":") ? LanguagePrimitives.ConvertTo<TimeSpan>(text)
                    : TimeSpan.FromSeconds(LanguagePrimitives.ConvertTo<double>(duration));
                object? created = Value("Created");
                return new SimulatedRun(expected, length, created == null ? (DateTime?)null : LanguagePrimitives.ConvertTo<DateTime>(created).ToUniversalTime(), Value("WorkQueue") as string);
            }
            catch (Exception e) when (e is PSInvalidCastException || e is ArgumentException || e is InvalidCastException)
            {
                throw new ArgumentException("-Run item " + (index + 1) + " " + e.Message.TrimEnd('.') + ": each run needs ExpectedStart (a time), Duration (a TimeSpan or seconds) and optionally Created and WorkQueue.");
            }
        }

        private ScalingPolicySpec BuildSpec() => new ScalingPolicySpec
        {
            Cluster = Cluster,
            Service = Service,
            // The simulation counts the workload it is given; the scope only names the policy's resources.
            Scope = BindingScope.From(new[] { "simulated" }, null),
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
            ScaleOutSteps = ScaleOutStep == null ? new ScalingPolicySpec().ScaleOutSteps : SetPrefectEcsScalingPolicyCommand.Steps(ScaleOutStep),
            ScaleInAfterPeriods = ScaleInAfterPeriods,
            ScaleInToMinimum = ScaleInToMinimum,
            AlarmPeriod = MyInvocation.BoundParameters.ContainsKey(nameof(AlarmPeriod)) ? AlarmPeriod : (int?)null,
            Measure = Measure,
            Metric = MetricOptions(),
        };
    }
}
