using System;
using System.Diagnostics;
using System.Globalization;

namespace PrefectScaling.Prefect
{
    /// <summary>One time limit for a whole read: every request of one cmdlet call or one publisher cycle draws on
    /// it, retries and waits included, so that many requests cannot each take the full time. Safe to share
    /// between concurrent requests.</summary>
    public sealed class PrefectDeadline
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        private PrefectDeadline(TimeSpan budget)
        {
            Budget = budget;
        }

        /// <summary>The whole time the read may take.</summary>
        public TimeSpan Budget { get; }

        /// <summary>What is left of it (zero or less once it has passed).</summary>
        public TimeSpan Remaining => Budget - _clock.Elapsed;

        public static PrefectDeadline Start(TimeSpan budget)
        {
            if (budget <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(budget), "A deadline must be in the future.");
            return new PrefectDeadline(budget);
        }

        public override string ToString() => Seconds(Budget) + " deadline";

        internal static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s";
    }
}
