using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using PrefectScaling.Backlog;
using PrefectScaling.Metrics;

namespace PrefectScaling.Scaling
{
    public enum ScalingPolicyKind
    {
        /// <summary>Target tracking on the published backlog metric.</summary>
        TargetTracking,

        /// <summary>Target tracking on backlog ÷ desired tasks, with a step policy that wakes a service at zero.</summary>
        BacklogPerTask,

        /// <summary>Step scaling with CloudWatch alarms the module owns.</summary>
        StepScaling,
    }

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
        public const string NamePrefix = "PrefectScaling-";

        public string Cluster { get; set; } = string.Empty;
        public string Service { get; set; } = string.Empty;
        public string WorkQueue { get; set; } = string.Empty;
        public string? WorkPool { get; set; }
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

        /// <summary>The alarm period; null: 10 s for high-resolution metrics, 60 s otherwise.</summary>
        public int? AlarmPeriod { get; set; }

        public BacklogMeasure Measure { get; set; } = BacklogMeasure.Late;

        /// <summary>The metric as the publisher writes it: namespace, name and dimensions come from the same options.</summary>
        public BacklogMetricOptions Metric { get; set; } = new BacklogMetricOptions();

        public string ResourceId => "service/" + Cluster + "/" + Service;

        public int EffectiveAlarmPeriod => AlarmPeriod ?? (Metric.StorageResolution == 1 ? 10 : 60);

        /// <summary>The name every resource of this service and scope starts with; the kind is not part of it, so
        /// switching kind finds and replaces the old resources.</summary>
        public string BaseName => BaseNameFor(Cluster, Service, WorkPool, WorkQueue);

        public static string BaseNameFor(string cluster, string service, string? workPool, string workQueue)
        {
            string name = NamePrefix + cluster + "-" + service + "-" + (string.IsNullOrEmpty(workPool) ? string.Empty : workPool + "-") + workQueue;
            if (name.Length <= 200) return name;
            // Long names keep a readable head and a hash of the whole, so they stay unique and deterministic.
            using var sha = SHA256.Create();
            string hash = string.Concat(sha.ComputeHash(Encoding.UTF8.GetBytes(name)).Take(6).Select(b => b.ToString("x2")));
            return name.Substring(0, 187) + "-" + hash;
        }

        /// <summary>The prefix of every resource the module manages for a service, whatever the scope.</summary>
        public static string ServicePrefix(string cluster, string service) => NamePrefix + cluster + "-" + service + "-";

        public void Validate()
        {
            Require(Cluster, "cluster");
            Require(Service, "service");
            Require(WorkQueue, "work queue");
            if (MinCapacity < 0) throw new ArgumentException("-MinCapacity must be 0 or more, not " + MinCapacity + ".");
            if (MaxCapacity < 0) throw new ArgumentException("-MaxCapacity must be 0 or more, not " + MaxCapacity + ".");
            if (MinCapacity > MaxCapacity) throw new ArgumentException("-MinCapacity (" + MinCapacity + ") is more than -MaxCapacity (" + MaxCapacity + ").");
            if (ScaleOutCooldown < 0 || ScaleInCooldown < 0) throw new ArgumentException("Cooldowns must be 0 seconds or more.");
            Metric.Validate();
            int period = EffectiveAlarmPeriod;
            if (period != 10 && period != 30 && (period < 60 || period % 60 != 0))
                throw new ArgumentException("The alarm period must be 10, 30 or a multiple of 60 seconds, not " + period + ".");
            if (period < 60 && Metric.StorageResolution != 1)
                throw new ArgumentException("A " + period + "-second alarm period needs a high-resolution metric (-StorageResolution 1).");

            switch (Kind)
            {
                case ScalingPolicyKind.TargetTracking:
                case ScalingPolicyKind.BacklogPerTask:
                    if (!(TargetValue > 0) || double.IsInfinity(TargetValue))
                        throw new ArgumentException("-TargetValue must be a number greater than 0, not " + TargetValue.ToString(CultureInfo.InvariantCulture) + ".");
                    break;
                case ScalingPolicyKind.StepScaling:
                    ValidateSteps(ScaleOutSteps);
                    if (ScaleInAfterPeriods < 1) throw new ArgumentException("-ScaleInAfterPeriods must be 1 or more.");
                    if (ScaleInAfterPeriods * period > 86400) throw new ArgumentException("-ScaleInAfterPeriods × the alarm period may not exceed one day.");
                    break;
            }
        }

        /// <summary>Steps are contiguous by construction (each runs up to the next threshold); they must not overlap
        /// (two with one threshold), start below zero or change nothing.</summary>
        public static void ValidateSteps(IReadOnlyList<ScaleOutStep> steps)
        {
            if (steps == null || steps.Count == 0) throw new ArgumentException("At least one scale-out step is needed, such as @{ 1 = 1; 5 = 3 }.");
            foreach (ScaleOutStep step in steps)
            {
                if (double.IsNaN(step.Threshold) || double.IsInfinity(step.Threshold) || step.Threshold <= 0)
                    throw new ArgumentException("Scale-out step thresholds must be backlogs greater than 0; " + step + " is not.");
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

        private static void Require(string value, string what)
        {
            if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException("The " + what + " name cannot be empty.");
            if (value.IndexOf('/') >= 0 && what != "work queue") throw new ArgumentException("The " + what + " name '" + value + "' cannot contain '/': pass the name, not an ARN.");
        }
    }
}
