using System;

namespace PrefectScaling.Prefect
{
    /// <summary>How patient a Prefect connection is.</summary>
    public sealed class PrefectHttpOptions
    {
        /// <summary>The longest one attempt may take.</summary>
        public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>The longest one call may take, retries and waits included.</summary>
        public TimeSpan Deadline { get; set; } = TimeSpan.FromSeconds(60);

        /// <summary>Attempts per call, the first included.</summary>
        public int MaxAttempts { get; set; } = 6;

        /// <summary>The first backoff when the server gives no Retry-After; it doubles per attempt.</summary>
        public TimeSpan BaseBackoff { get; set; } = TimeSpan.FromMilliseconds(500);

        public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(10);

        public PrefectHttpOptions Validate()
        {
            if (RequestTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(RequestTimeout), "The request timeout must be positive.");
            if (Deadline <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(Deadline), "The deadline must be positive.");
            if (MaxAttempts < 1) throw new ArgumentOutOfRangeException(nameof(MaxAttempts), "At least one attempt is needed.");
            return this;
        }
    }
}
