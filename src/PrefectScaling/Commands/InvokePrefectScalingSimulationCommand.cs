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
        private const string CapacitySet = "Capacity";

        private readonly HashSet<string> _simulated = new HashSet<string>(StringComparer.Ordinal);

        /// <summary>The service whose live policy is simulated; with a policy kind, only its name.</summary>
        [Parameter(Mandatory = true, ParameterSetName = ServiceSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = TargetTrackingSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = BacklogPerTaskSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = StepScalingSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = CapacitySet, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(Completion.EcsClusterNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Cluster { get; set; } = "simulated";

        [Parameter(Mandatory = true, ParameterSetName = ServiceSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = TargetTrackingSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = BacklogPerTaskSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = StepScalingSet, ValueFromPipelineByPropertyName = true)]
        [Parameter(ParameterSetName = CapacitySet, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(Completion.EcsServiceNameCompleter))]
        [ValidateNotNullOrEmpty]
        public string Service { get; set; } = "simulated";

        /// <summary>The workload: Get-PrefectFlowRunHistory's runs, or objects (Import-Csv rows too) with ExpectedStart,
        /// Duration (seconds or a TimeSpan) and optionally Created and WorkQueue. With a policy kind it binds from the
        /// pipeline; with a piped service's policy it is a parameter.</summary>
        [Parameter(ParameterSetName = ServiceSet)]
        [Parameter(ParameterSetName = TargetTrackingSet, ValueFromPipeline = true)]
        [Parameter(ParameterSetName = BacklogPerTaskSet, ValueFromPipeline = true)]
        [Parameter(ParameterSetName = StepScalingSet, ValueFromPipeline = true)]
        [Parameter(ParameterSetName = CapacitySet, ValueFromPipeline = true)]
        [ValidateNotNullOrEmpty]
        public PSObject[]? Run { get; set; }

        /// <summary>A named synthetic workload instead of -Run.</summary>
        [Parameter]
        [ValidateSet(SimulationScenarios.Burst, SimulationScenarios.Trickle, SimulationScenarios.DailySchedule, SimulationScenarios.LongRuns, SimulationScenarios.ScheduledBurst, SimulationScenarios.RandomArrivals)]
        public string? Scenario { get; set; }

        /// <summary>Draws backlog, runs in flight, desired and running tasks over time, one panel per policy, as SVG.</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? OutFile { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = TargetTrackingSet)]
        public SwitchParameter TargetTracking { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = BacklogPerTaskSet)]
        public SwitchParameter BacklogPerTask { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = StepScalingSet)]
        public SwitchParameter StepScaling { get; set; }

        /// <summary>The capacity policy: its publisher holds the service at the tasks the runs need (-RunsPerTask
        /// runs a task).</summary>
        [Parameter(Mandatory = true, ParameterSetName = CapacitySet)]
        public SwitchParameter Capacity { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = TargetTrackingSet)]
        [Parameter(Mandatory = true, ParameterSetName = BacklogPerTaskSet)]
        [Parameter(Mandatory = true, ParameterSetName = StepScalingSet)]
        [Parameter(Mandatory = true, ParameterSetName = CapacitySet)]
        public int MinCapacity { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = TargetTrackingSet)]
        [Parameter(Mandatory = true, ParameterSetName = BacklogPerTaskSet)]
        [Parameter(Mandatory = true, ParameterSetName = StepScalingSet)]
        [Parameter(Mandatory = true, ParameterSetName = CapacitySet)]
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

        [Parameter(ParameterSetName = TargetTrackingSet)]
        [Parameter(ParameterSetName = BacklogPerTaskSet)]
        [Parameter(ParameterSetName = StepScalingSet)]
        [Parameter(ParameterSetName = CapacitySet)]
        public int ScaleInAfterPeriods { get; set; } = 5;

        [Parameter(ParameterSetName = StepScalingSet)]
        public SwitchParameter ScaleInToMinimum { get; set; }

        [Parameter(ParameterSetName = TargetTrackingSet)]
        [Parameter(ParameterSetName = StepScalingSet)]
        [Parameter(ParameterSetName = CapacitySet)]
        [Parameter(ParameterSetName = BacklogPerTaskSet)]
        public int AlarmPeriod { get; set; }

        /// <summary>The policy without the busy guard, as Set-PrefectEcsScalingPolicy -AllowBusyScaleIn writes it.</summary>
        [Parameter(ParameterSetName = TargetTrackingSet)]
        [Parameter(ParameterSetName = BacklogPerTaskSet)]
        [Parameter(ParameterSetName = StepScalingSet)]
        public SwitchParameter AllowBusyScaleIn { get; set; }

        /// <summary>Busy tasks protect themselves from scale-in (the worker entrypoint's task protection).</summary>
        [Parameter]
        public SwitchParameter TasksProtectThemselves { get; set; }

        /// <summary>What the policy's backlog counts; for a live policy, the measure of a metric not named by default.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        public BacklogMeasure Measure { get; set; } = BacklogMeasure.Late;

        [Parameter]
        [ValidateRange(0, 86400)]
        public int TaskStartSeconds { get; set; } = 60;

        [Parameter]
        [ValidateRange(1, 3600)]
        public int WorkerPollSeconds { get; set; } = 10;

        /// <summary>The workers' --limit; with a policy kind, the busy guard's -RunsPerTask too.</summary>
        [Parameter]
        [ValidateRange(1, ScalingPolicySpec.MaxRunsPerTask)]
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

        private readonly List<PSObject> _runs = new List<PSObject>();
        private readonly List<PrefectScalingSimulation> _results = new List<PrefectScalingSimulation>();
        private IReadOnlyList<SimulatedRun>? _workload;
        private string _workloadName = "runs";

        /// <summary>A scenario's runs start at a fixed moment, so the same scenario gives the same result on any day.</summary>
        private static readonly DateTime ScenarioStart = new DateTime(2026, 1, 5, 0, 0, 0, DateTimeKind.Utc);

        private bool PolicyFromService => ParameterSetName == ServiceSet;

        protected override void ProcessRecord()
        {
            // With a policy kind, the pipeline carries the workload: gather it and simulate once at the end.
            if (!PolicyFromService)
            {
                if (Run != null) _runs.AddRange(Run);
                return;
            }
            // The workload is the same for every piped service: one that cannot be read stops the command.
            if (_workload == null) Guard(_workloadName, () => _workload = Workload(Run ?? Array.Empty<PSObject>()), terminating: true);
            Guard(ScalingNames.ResourceId(Cluster, Service), () =>
            {
                ScalingNames.ValidateService(Cluster, Service);
                // Get-PrefectEcsScalingPolicy writes a row per policy and alarm: one simulation per service.
                if (!_simulated.Add(ScalingNames.ResourceId(Cluster, Service))) return;
                var planner = new EcsScalingPlanner(Aws);
                EcsScalingState state = RunEngine((log, ct) => planner.ReadAsync(Cluster, Service, log, ct));
                Simulate(SimulatedPolicy.FromState(state, Measure), _workload!);
            });
        }

        protected override void EndProcessing()
        {
            if (!PolicyFromService)
                Guard(ScalingNames.ResourceId(Cluster, Service), () => Simulate(SimulatedPolicy.FromSpec(BuildSpec()), Workload(_runs)), terminating: true);
            if (OutFile != null && _results.Count > 0)
            {
                string path = GetUnresolvedProviderPathFromPSPath(OutFile);
                Guard(path, () => System.IO.File.WriteAllText(path, SimulationChart.Svg(_results)), terminating: true);
                WriteVerbose("Drew " + _results.Count + " simulation(s) to " + path + ".");
            }
        }

        private void Simulate(SimulatedPolicy policy, IReadOnlyList<SimulatedRun> workload)
        {
            var environment = new SimulationEnvironment
            {
                TaskStartSeconds = TaskStartSeconds,
                WorkerPollSeconds = WorkerPollSeconds,
                RunsPerTask = RunsPerTask,
                SampleIntervalSeconds = SampleIntervalSeconds,
                InitialTasks = MyInvocation.BoundParameters.ContainsKey(nameof(InitialTasks)) ? InitialTasks : (int?)null,
                TasksProtectThemselves = TasksProtectThemselves,
            };
            WriteVerbose("Simulating " + policy.Description + " on " + workload.Count + " run(s) of " + _workloadName + ".");
            PrefectScalingSimulation result = ScalingSimulator.Simulate(policy, environment, workload, _workloadName, Timeline || OutFile != null);
            _results.Add(result);
            WriteObject(result);
        }

        /// <summary>The workload from -Scenario or the run objects: flow runs without a duration are left out, with a
        /// warning each, never given a made-up one.</summary>
        private IReadOnlyList<SimulatedRun> Workload(IReadOnlyList<PSObject> items)
        {
            if (Scenario != null && items.Count > 0) throw new ArgumentException("Give the workload once: -Scenario or runs (-Run or the pipeline), not both.");
            if (Scenario != null)
            {
                _workloadName = Scenario;
                return SimulationScenarios.Get(Scenario, ScenarioStart);
            }
            if (items.Count == 0) throw new ArgumentException("No workload: pipe runs (Get-PrefectFlowRunHistory, Import-Csv), give -Run, or name a -Scenario (" + string.Join(", ", SimulationScenarios.Names) + ").");
            var flowRuns = new List<PrefectFlowRun>();
            var runs = new List<SimulatedRun>();
            for (int i = 0; i < items.Count; i++)
            {
                if (items[i].BaseObject is PrefectFlowRun flowRun) { flowRuns.Add(flowRun); continue; }
                var properties = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
                foreach (PSPropertyInfo property in items[i].Properties)
                {
                    object? value;
                    try { value = property.Value; }
                    catch (GetValueException) { continue; }
                    properties[property.Name] = value is PSObject wrapped ? wrapped.BaseObject : value;
                }
                runs.Add(WorkloadInput.FromRow(properties, "Run " + (i + 1)));
            }
            WorkloadConversion history = WorkloadInput.FromFlowRuns(flowRuns);
            foreach (string skipped in history.Skipped) WriteWarning(skipped + " It is left out of the simulation.");
            runs.AddRange(history.Runs);
            if (runs.Count == 0) throw new ArgumentException("None of the " + items.Count + " run(s) can be replayed: a run needs a duration (one that has ended).");
            _workloadName = flowRuns.Count > 0 ? "flow run history" : "runs";
            return runs.OrderBy(r => r.ExpectedStart).ToList();
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
                CapacitySet => ScalingPolicyKind.Capacity,
                _ => ScalingPolicyKind.TargetTracking,
            },
            TargetValue = TargetValue,
            DisableScaleIn = DisableScaleIn,
            ScaleOutCooldown = ScaleOutCooldown,
            ScaleInCooldown = ScaleInCooldown,
            ScaleOutSteps = ScaleOutStep == null ? new ScalingPolicySpec().ScaleOutSteps : SetPrefectEcsScalingPolicyCommand.Steps(ScaleOutStep),
            // As Set: the capacity policy scales in after one period unless told otherwise.
            ScaleInAfterPeriods = ParameterSetName == CapacitySet && !MyInvocation.BoundParameters.ContainsKey(nameof(ScaleInAfterPeriods)) ? 1 : ScaleInAfterPeriods,
            ScaleInToMinimum = ScaleInToMinimum,
            AlarmPeriod = MyInvocation.BoundParameters.ContainsKey(nameof(AlarmPeriod)) ? AlarmPeriod : (int?)null,
            Measure = Measure,
            Metric = MetricOptions(),
            AllowBusyScaleIn = AllowBusyScaleIn,
            // The capacity policy counts tasks by it; the guard takes it when given.
            RunsPerTask = ParameterSetName == CapacitySet || (MyInvocation.BoundParameters.ContainsKey(nameof(RunsPerTask)) && !AllowBusyScaleIn) ? RunsPerTask : (int?)null,
        };
    }
}
