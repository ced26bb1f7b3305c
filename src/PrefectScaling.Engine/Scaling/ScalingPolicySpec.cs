using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;
using PrefectScaling.Metrics;

namespace PrefectScaling.Scaling
{
    /// <summary>One scale-out step: when the backlog is at least Threshold, change capacity by Adjustment.</summary>
    public sealed class ScaleOutStep
    {
        public ScaleOutStep(double threshold, int adjustment)
        {
            Threshold = threshold;
            Adjustment = adjustment;
        }

        public double Threshold { get; }
        public int Adjustment { get; }
        public override string ToString() => "backlog >= " + Threshold.ToString(CultureInfo.InvariantCulture) + " -> +" + Adjustment;
    }

    /// <summary>Everything Set-PrefectEcsScalingPolicy was asked for. Validate() checks it all before any AWS call.</summary>
    public sealed class ScalingPolicySpec
    {
        /// <summary>Application Auto Scaling: at most 20 step adjustments per step scaling policy (quotas page).</summary>
        public const int MaxSteps = 20;

        public string Cluster { get; set; } = string.Empty;
        public string Service { get; set; } = string.Empty;

        /// <summary>What the service's agents or workers serve: the binding's scope. Its series are named by the
        /// service alone (<see cref="BindingSeries"/>); the scope names the policies and is what a publisher counts.</summary>
        public BindingScope? Scope { get; set; }
        public int MinCapacity { get; set; }
        public int MaxCapacity { get; set; } = 1;
        public ScalingPolicyKind Kind { get; set; } = ScalingPolicyKind.TargetTracking;

        /// <summary>Target tracking: the backlog to hold (TargetTracking) or the backlog per task (BacklogPerTask).</summary>
        public double TargetValue { get; set; } = 1;

        public int ScaleOutCooldown { get; set; } = 60;
        public int ScaleInCooldown { get; set; } = 300;
        public bool DisableScaleIn { get; set; }

        public IReadOnlyList<ScaleOutStep> ScaleOutSteps { get; set; } = new[] { new ScaleOutStep(1, 1), new ScaleOutStep(5, 3) };

        /// <summary>Step scaling: scale in after this many periods with no backlog.</summary>
        public int ScaleInAfterPeriods { get; set; } = 5;

        /// <summary>Step scaling: scale in straight to the minimum instead of one task at a time.</summary>
        public bool ScaleInToMinimum { get; set; }

        /// <summary>The busy guard: on unless AllowBusyScaleIn. Scale-in waits until it cannot stop a running flow
        /// (<see cref="ScalingPolicyDocuments.GuardExpression"/>).</summary>
        public bool AllowBusyScaleIn { get; set; }

        /// <summary>The workers' or agents' --limit: with it, the guard lets the service shrink to the tasks the work
        /// needs (never below ceil((backlog + in flight) / RunsPerTask)); null: only when nothing is in flight. The
        /// capacity policy needs it to count tasks.</summary>
        public int? RunsPerTask { get; set; }

        /// <summary>The largest --limit the guard takes: a worker runs each flow in a process of its own.</summary>
        public const int MaxRunsPerTask = 1000;

        /// <summary>Whether the module's policies scale in behind the guard: on, and scale-in not disabled.</summary>
        public bool Guarded => !AllowBusyScaleIn && !(DisableScaleIn && Kind != ScalingPolicyKind.StepScaling);

        /// <summary>The alarm period; null (not given): 10 s for high-resolution metrics, 60 s otherwise. A given
        /// value is checked as it is, so 0 is an error, never the default.</summary>
        public int? AlarmPeriod { get; set; }

        public BacklogMeasure Measure { get; set; } = BacklogMeasure.Late;

        /// <summary>The metric as the publisher writes it: namespace, name and dimensions come from the same options.</summary>
        public BacklogMetricOptions Metric { get; set; } = new BacklogMetricOptions();

        /// <summary>The service and its scope; Validate first (a spec without a scope has no binding).</summary>
        public ServiceBinding Binding => new ServiceBinding(Cluster, Service, Scope ?? throw new ArgumentException(NoScope));

        public string ResourceId => ScalingNames.ResourceId(Cluster, Service);

        public int EffectiveAlarmPeriod => AlarmPeriod ?? (Metric.StorageResolution == 1 ? 10 : 60);

        /// <summary>The name every resource of this binding starts with; the kind is not part of it, so switching kind
        /// finds and replaces the old resources.</summary>
        public string BaseName => ScalingNames.BaseName(Binding);

        /// <summary>Every name of this binding, and of its one queue from before bindings: what Remove with a scope removes.</summary>
        public HashSet<string> ScopeNames => ScalingNames.ScopeNames(Binding);

        private const string NoScope = "A binding needs a scope: -WorkPool (a whole pool), -WorkPool with -WorkQueue (some of its queues), or -WorkQueue alone (queues by name in whichever pool has each).";

        public void Validate()
        {
            ScalingNames.ValidateService(Cluster, Service);
            if (Scope == null) throw new ArgumentException(NoScope);
            if (MinCapacity < 0) throw new ArgumentException("-MinCapacity must be 0 or more, not " + MinCapacity + ".");
            if (MaxCapacity < 0) throw new ArgumentException("-MaxCapacity must be 0 or more, not " + MaxCapacity + ".");
            if (MinCapacity > MaxCapacity) throw new ArgumentException("-MinCapacity (" + MinCapacity + ") is more than -MaxCapacity (" + MaxCapacity + ").");
            // Cooldowns are integer seconds; the API reference gives no maximum, and a negative one is meaningless.
            if (ScaleOutCooldown < 0) throw new ArgumentException("-ScaleOutCooldown must be 0 seconds or more, not " + ScaleOutCooldown + ".");
            if (ScaleInCooldown < 0) throw new ArgumentException("-ScaleInCooldown must be 0 seconds or more, not " + ScaleInCooldown + ".");
            Metric.Validate();
            if (RunsPerTask is int limit && (limit < 1 || limit > MaxRunsPerTask))
                throw new ArgumentException("-RunsPerTask must be between 1 and " + MaxRunsPerTask + " (the workers' --limit), not " + limit + ".");
            if (RunsPerTask != null && AllowBusyScaleIn)
                throw new ArgumentException("-RunsPerTask sets the busy guard, which -AllowBusyScaleIn turns off; give one of them.");
            int period = EffectiveAlarmPeriod;
            ValidateAlarmPeriod(period, Metric.StorageResolution);

            switch (Kind)
            {
                case ScalingPolicyKind.TargetTracking:
                case ScalingPolicyKind.BacklogPerTask:
                    // TargetValue: "Values must be in the range of -2^360 to 2^360" (TargetTrackingScalingPolicyConfiguration);
                    // a backlog target must also be above 0.
                    if (!(TargetValue > 0) || !MetricLimits.IsInRange(TargetValue))
                        throw new ArgumentException("-TargetValue must be a number greater than 0 and at most " + MetricLimits.MaxMagnitudeText + " (and not below " + MetricLimits.MinMagnitudeText + "), not " + TargetValue.ToString(CultureInfo.InvariantCulture) + ".");
                    if (Guarded)
                    {
                        if (ScaleInAfterPeriods < 1) throw new ArgumentException("-ScaleInAfterPeriods must be 1 or more, not " + ScaleInAfterPeriods + ".");
                        ValidateEvaluation(period, ScaleInAfterPeriods);
                    }
                    break;
                case ScalingPolicyKind.Capacity:
                    if (RunsPerTask == null) throw new ArgumentException("A capacity policy needs -RunsPerTask: the most flow runs one task runs at once (the workers' or agents' --limit).");
                    Capacity.CapacityRequirement.ValidateRunsPerTask(RunsPerTask.Value);
                    if (ScaleInAfterPeriods < 1) throw new ArgumentException("-ScaleInAfterPeriods must be 1 or more, not " + ScaleInAfterPeriods + ".");
                    ValidateEvaluation(period, ScaleInAfterPeriods);
                    break;
                case ScalingPolicyKind.StepScaling:
                    ValidateSteps(ScaleOutSteps);
                    if (ScaleInAfterPeriods < 1) throw new ArgumentException("-ScaleInAfterPeriods must be 1 or more, not " + ScaleInAfterPeriods + ".");
                    ValidateEvaluation(period, ScaleInAfterPeriods);
                    break;
            }
        }

        /// <summary>PutMetricAlarm Period: 10, 20, 30 or a multiple of 60 seconds; the sub-minute ones only for metrics
        /// published with StorageResolution 1 (botocore 1.43 model, PutMetricAlarm Period).</summary>
        public static void ValidateAlarmPeriod(int period, int storageResolution)
        {
            if (period <= 0 || (period != 10 && period != 20 && period != 30 && period % 60 != 0))
                throw new ArgumentException("The alarm period must be 10, 20, 30 or a multiple of 60 seconds, not " + period + ".");
            if (period < 60 && storageResolution != 1)
                throw new ArgumentException("A " + period + "-second alarm period needs a high-resolution metric (-StorageResolution 1).");
            ValidateEvaluation(period, 1);
        }

        /// <summary>Period × EvaluationPeriods may not exceed 7 days (604,800 s), nor one day (86,400 s) when the period is
        /// under an hour (PutMetricAlarm Period).</summary>
        public static void ValidateEvaluation(int period, int evaluationPeriods)
        {
            long total = (long)period * evaluationPeriods;
            long limit = period < 3600 ? 86400 : 604800;
            if (total > limit)
                throw new ArgumentException("An alarm over " + evaluationPeriods + " period(s) of " + period + " s looks back " + total + " s; CloudWatch allows at most " +
                    (limit == 86400 ? "one day (86,400 s) with periods under an hour" : "seven days (604,800 s)") + " (lower -ScaleInAfterPeriods or -AlarmPeriod).");
        }

        /// <summary>Steps are contiguous by construction (each runs up to the next threshold); they must not overlap
        /// (two with one threshold), start below zero or change nothing.</summary>
        public static void ValidateSteps(IReadOnlyList<ScaleOutStep> steps)
        {
            if (steps == null || steps.Count == 0) throw new ArgumentException("At least one scale-out step is needed, such as @{ 1 = 1; 5 = 3 }.");
            if (steps.Count > MaxSteps) throw new ArgumentException("At most " + MaxSteps + " scale-out steps are allowed (Application Auto Scaling's limit per policy), not " + steps.Count + ".");
            foreach (ScaleOutStep step in steps)
            {
                if (!(step.Threshold > 0) || !MetricLimits.IsInRange(step.Threshold))
                    throw new ArgumentException("Scale-out step thresholds must be backlogs greater than 0 and at most " + MetricLimits.MaxMagnitudeText + "; " + step + " is not.");
                if (step.Adjustment < 1) throw new ArgumentException("Scale-out steps must add at least one task; " + step + " does not.");
            }
            var duplicate = steps.GroupBy(s => s.Threshold).FirstOrDefault(g => g.Count() > 1);
            if (duplicate != null) throw new ArgumentException("Two scale-out steps start at a backlog of " + duplicate.Key.ToString(CultureInfo.InvariantCulture) + "; steps may not overlap.");
            List<ScaleOutStep> ordered = steps.OrderBy(s => s.Threshold).ToList();
            for (int i = 1; i < ordered.Count; i++)
            {
                if (ordered[i].Adjustment < ordered[i - 1].Adjustment)
                    throw new ArgumentException("A larger backlog must not add fewer tasks: " + ordered[i] + " after " + ordered[i - 1] + ".");
            }
        }
    }
}
