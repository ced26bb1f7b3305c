using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using PrefectScaling.Aws;

namespace PrefectScaling.Scaling
{
    /// <summary>One Set-PrefectEcsScalingPolicy: plan, apply, then read again until what AWS holds is what was
    /// asked. Two runs on one service can interleave (one writing step scaling while the other writes target
    /// tracking); each read after this run's own writes finds what the other put meanwhile, and the next plan
    /// removes the module's resources of another kind or scope and puts back its own. A run ends only on a read
    /// that needs no change, so when both runs end the service holds one kind. The number of rounds is bounded.</summary>
    public sealed class EcsScalingRun
    {
        public const int DefaultMaxRounds = 4;
        private static readonly Random Jitter = new Random();
        private readonly EcsScalingPlanner _planner;
        private readonly ScalingPolicySpec _spec;
        private readonly int _maxRounds;

        public EcsScalingRun(EcsScalingPlanner planner, ScalingPolicySpec spec, int maxRounds = DefaultMaxRounds)
        {
            _planner = planner;
            _spec = spec;
            _maxRounds = maxRounds;
        }

        /// <summary>Plans made so far: 1 after the first, which is the command's own plan.</summary>
        public int Round { get; private set; }

        /// <summary>The last read.</summary>
        public EcsScalingState? Current { get; private set; }

        /// <summary>How long to wait before a read that follows a conflict (so two runs do not keep meeting in step);
        /// null: a random 0.3 to 1.5 seconds.</summary>
        public TimeSpan? SettleDelay { get; set; }

        /// <summary>Reads and plans the next round; empty when AWS already holds what was asked. Call it again after
        /// applying what it returned. Throws ResourceOwnershipException when changes are still needed after the
        /// last round.</summary>
        public async Task<List<AwsChange>> NextAsync(IEngineLog log, CancellationToken ct)
        {
            if (Round >= 2)
            {
                TimeSpan delay = SettleDelay ?? TimeSpan.FromMilliseconds(300 + Next(1200));
                if (delay > TimeSpan.Zero) await Task.Delay(delay, ct).ConfigureAwait(false);
            }
            Round++;
            Current = await _planner.ReadAsync(_spec.Cluster, _spec.Service, log, ct).ConfigureAwait(false);
            List<AwsChange> changes = _planner.PlanSet(_spec, Current);
            if (changes.Count > 0 && Round > _maxRounds)
            {
                throw new ResourceOwnershipException("ScalingDidNotSettle", "The scaling of " + _spec.ResourceId + " did not settle after " + _maxRounds +
                    " rounds: something else (another Set-PrefectEcsScalingPolicy?) keeps changing it. Still to do: " + Describe(changes) +
                    ". Run this command again once the other one has finished.");
            }
            return changes;
        }

        /// <summary>What a later round found, as a warning: something else changed the service while this run wrote it.</summary>
        public string Interference(IReadOnlyList<AwsChange> changes) =>
            "While this command ran, something else (another Set-PrefectEcsScalingPolicy?) changed the scaling of " + _spec.ResourceId +
            "; making it match this command again (round " + Round + " of at most " + _maxRounds + "): " + Describe(changes) + ".";

        private static string Describe(IEnumerable<AwsChange> changes) => string.Join("; ", changes.Select(c => c.ToString()));

        private static int Next(int max)
        {
            lock (Jitter) return Jitter.Next(max);
        }
    }
}
