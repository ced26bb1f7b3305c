using System;
using System.Globalization;
using System.Net.Http.Headers;

namespace PrefectScaling.Prefect
{
    /// <summary>When to try again: the server's Retry-After if it sent one, else jittered exponential backoff.</summary>
    internal static class RetryTiming
    {
        [ThreadStatic] private static Random? _random;

        /// <summary>Retry-After as delta-seconds or an HTTP date, as RFC 9110 defines it; null when absent or unreadable.</summary>
        internal static TimeSpan? ParseRetryAfter(RetryConditionHeaderValue? header, string? rawValue, DateTimeOffset now)
        {
            if (header?.Delta is TimeSpan delta) return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
            if (header?.Date is DateTimeOffset date) return date <= now ? TimeSpan.Zero : date - now;
            if (string.IsNullOrWhiteSpace(rawValue)) return null;
            string text = rawValue!.Trim();
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && seconds >= 0 && !double.IsInfinity(seconds))
                return TimeSpan.FromSeconds(seconds);
            if (DateTimeOffset.TryParseExact(text, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset when))
                return when <= now ? TimeSpan.Zero : when - now;
            return null;
        }

        /// <summary>Backoff for the given retry (1 = first retry): base × 2^(n-1), capped, ±20% jitter.</summary>
        internal static TimeSpan Backoff(int retry, TimeSpan baseDelay, TimeSpan maxDelay)
        {
            double exponential = baseDelay.TotalMilliseconds * Math.Pow(2, Math.Max(0, retry - 1));
            double capped = Math.Min(exponential, maxDelay.TotalMilliseconds);
            return TimeSpan.FromMilliseconds(Jitter(capped));
        }

        /// <summary>The server's Retry-After plus up to 20%: never sooner than asked, not all at once.</summary>
        internal static TimeSpan NoSoonerThan(TimeSpan serverWait) =>
            TimeSpan.FromMilliseconds(serverWait.TotalMilliseconds + Jitter(serverWait.TotalMilliseconds * 0.1));

        /// <summary>Spreads a wait by ±20% so that many clients told the same Retry-After do not return together.</summary>
        internal static double Jitter(double milliseconds)
        {
            _random ??= new Random(Guid.NewGuid().GetHashCode());
            return milliseconds * (0.8 + 0.4 * _random.NextDouble());
        }
    }
}
