using System;

namespace PrefectScaling.Prefect
{
    /// <summary>How patient a Prefect connection is.</summary>
    public sealed class PrefectHttpOptions
    {
        /// <summary>The default deadline of one read, in seconds. The publisher function's timeout is derived from it.</summary>
        public const int DefaultDeadlineSeconds = 60;

        /// <summary>The largest answer read: a page of 200 flow runs from a real server is about 0.4 MiB, so
        /// anything near this is not a Prefect answer, and it stays far from memory trouble.</summary>
        public const int MaxResponseBytes = 32 * 1024 * 1024;

        /// <summary>Same-origin redirects of a GET followed in a row (FastAPI redirects a trailing slash with 307).</summary>
        public const int MaxRedirects = 3;

        /// <summary>The longest one attempt may take.</summary>
        public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

        /// <summary>The longest one read may take: every request of one cmdlet call or one publisher cycle,
        /// retries and waits included, shares it.</summary>
        public TimeSpan Deadline { get; set; } = TimeSpan.FromSeconds(DefaultDeadlineSeconds);

        /// <summary>Attempts per request, the first included.</summary>
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
