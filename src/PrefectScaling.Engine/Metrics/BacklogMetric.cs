using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using PrefectScaling.Backlog;

namespace PrefectScaling.Metrics
{
    /// <summary>How backlog counts become CloudWatch metric data.</summary>
    public sealed class BacklogMetricOptions
    {
        public const string DefaultNamespace = "Prefect";

        public string Namespace { get; set; } = DefaultNamespace;

        /// <summary>One name for every input; null: the measure's default name.</summary>
        public string? MetricName { get; set; }

        public BacklogDimension Dimensions { get; set; } = BacklogDimension.WorkQueue | BacklogDimension.WorkPool;

        /// <summary>1 (high resolution) or 60 seconds.</summary>
        public int StorageResolution { get; set; } = 60;

        /// <summary>The metric name each measure is published under unless -MetricName says otherwise.</summary>
        public static string DefaultMetricName(BacklogMeasure measure) => measure switch
        {
            BacklogMeasure.Late => "LateFlowRuns",
            BacklogMeasure.Due => "DueFlowRuns",
            BacklogMeasure.Pending => "PendingFlowRuns",
            BacklogMeasure.Running => "RunningFlowRuns",
            BacklogMeasure.InFlight => "InFlightFlowRuns",
            BacklogMeasure.Upcoming => "UpcomingFlowRuns",
            _ => throw new ArgumentOutOfRangeException(nameof(measure)),
        };

        /// <summary>The metric a count of this measure is published under.</summary>
        public string MetricNameFor(BacklogMeasure measure) => MetricName ?? DefaultMetricName(measure);

        /// <summary>The dimensions a queue's metric carries, in the order they are sent.</summary>
        public List<KeyValuePair<string, string>> DimensionsFor(string? workPool, string workQueue)
        {
            var dimensions = new List<KeyValuePair<string, string>>();
            if ((Dimensions & BacklogDimension.WorkPool) != 0 && !string.IsNullOrEmpty(workPool))
                dimensions.Add(new KeyValuePair<string, string>("WorkPool", workPool!));
            dimensions.Add(new KeyValuePair<string, string>("WorkQueue", workQueue));
            return dimensions;
        }

        /// <summary>The service's desired task count, published beside the backlog so that metric math can divide
        /// by it and an alarm can tell "no task at all" from "one task".</summary>
        public const string DesiredTasksMetricName = "EcsServiceDesiredTasks";

        public static List<KeyValuePair<string, string>> ServiceDimensions(string cluster, string service) => new List<KeyValuePair<string, string>>
        {
            new KeyValuePair<string, string>("ClusterName", cluster),
            new KeyValuePair<string, string>("ServiceName", service),
        };

        /// <summary>Checks the options on their own, before any input is looked at.</summary>
        public void Validate()
        {
            MetricLimits.CheckNamespace(Namespace);
            if (MetricName != null) MetricLimits.CheckName("metric name", MetricName);
            if (StorageResolution != 1 && StorageResolution != 60)
                throw new ArgumentException("The storage resolution must be 1 (high resolution) or 60 seconds, not " + StorageResolution + ".");
            if ((Dimensions & BacklogDimension.WorkQueue) == 0)
                throw new ArgumentException("The WorkQueue dimension is required: without it every queue would publish into one series.");
        }
    }

    /// <summary>One measured count on its way to CloudWatch.</summary>
    public sealed class BacklogSample
    {
        public string? WorkPool { get; set; }
        public string WorkQueue { get; set; } = string.Empty;
        public BacklogMeasure Measure { get; set; } = BacklogMeasure.Late;
        public double Count { get; set; }
        public DateTime Timestamp { get; set; }
    }

    /// <summary>CloudWatch's limits, checked before sending: a malformed PutMetricData is an opaque 500 on some
    /// endpoints, and one bad datum fails the whole call. Sources: the CloudWatch API reference as in the botocore
    /// 1.43 model (Namespace, MetricName: 1-255; Dimension Value: 1-1024; MetricDatum Value).</summary>
    public static class MetricLimits
    {
        public const int MaxDataPerCall = 1000;
        public const int MaxNameLength = 255;
        public const int MaxDimensionValueLength = 1024;
        public static readonly TimeSpan MaxAge = TimeSpan.FromDays(14);
        public static readonly TimeSpan MaxAhead = TimeSpan.FromHours(2);

        /// <summary>MetricDatum Value: "CloudWatch rejects values that are either too small or too large", documented
        /// as 8.515920e-109 to 1.174271e+108 (about 2^-359 to 2^359) in magnitude, 0 aside; no NaN or infinity.</summary>
        public const double MinMagnitude = 8.515920e-109;
        public const double MaxMagnitude = 1.174271e+108;
        public const string MinMagnitudeText = "8.515920e-109";
        public const string MaxMagnitudeText = "1.174271e+108";

        public static bool IsInRange(double value)
        {
            if (double.IsNaN(value) || double.IsInfinity(value)) return false;
            double magnitude = Math.Abs(value);
            return magnitude == 0 || (magnitude >= MinMagnitude && magnitude <= MaxMagnitude);
        }

        public static void CheckValue(string what, double value)
        {
            if (double.IsNaN(value) || double.IsInfinity(value))
                throw new ArgumentException("The " + what + " is not a finite number (" + value.ToString(CultureInfo.InvariantCulture) + "); CloudWatch accepts no NaN or infinity.");
            if (!IsInRange(value))
                throw new ArgumentException("The " + what + " (" + value.ToString("R", CultureInfo.InvariantCulture) + ") is outside what CloudWatch accepts: 0, or a magnitude from " + MinMagnitudeText + " to " + MaxMagnitudeText + ".");
        }

        public static void CheckName(string what, string? value) => CheckText(what, value, MaxNameLength);

        public static void CheckDimensionValue(string what, string? value) => CheckText(what, value, MaxDimensionValueLength);

        /// <summary>A namespace: 1-255 ASCII characters, no control characters, not starting with ':' (pattern
        /// [^:].*) and not with AWS/, which CloudWatch reserves for AWS services.</summary>
        public static void CheckNamespace(string? value)
        {
            CheckText("namespace", value, MaxNameLength);
            foreach (char c in value!)
                if (c > 126) throw new ArgumentException("The namespace '" + value + "' has the character '" + c + "'; CloudWatch namespaces are ASCII.");
            if (value.StartsWith(":", StringComparison.Ordinal))
                throw new ArgumentException("The namespace '" + value + "' starts with ':', which CloudWatch does not allow.");
            if (value.StartsWith("AWS/", StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException("The namespace '" + value + "' starts with AWS/, which CloudWatch reserves for AWS services.");
        }

        private static void CheckText(string what, string? value, int maxLength)
        {
            if (string.IsNullOrWhiteSpace(value))
                throw new ArgumentException("The " + what + " cannot be empty.");
            if (value!.Length > maxLength)
                throw new ArgumentException("The " + what + " '" + value.Substring(0, 40) + "…' is " + value.Length + " characters; CloudWatch allows " + maxLength + ".");
            foreach (char c in value)
                if (char.IsControl(c)) throw new ArgumentException("The " + what + " '" + value.Replace(c, '?') + "' has a control character, which CloudWatch does not accept.");
        }
    }

    /// <summary>Turns samples into data: names, dimensions, validation, and adding together samples that the
    /// chosen dimensions cannot tell apart (the same queue name in two pools when only WorkQueue is kept).</summary>
    public static class BacklogMetricBuilder
    {
        public static BacklogMetricDatum Build(BacklogSample sample, BacklogMetricOptions options, DateTime nowUtc)
        {
            DateTime timestamp = CheckCount(sample, "work queue '" + sample.WorkQueue + "'", nowUtc);
            MetricLimits.CheckDimensionValue("work queue name", sample.WorkQueue);
            if (!string.IsNullOrEmpty(sample.WorkPool)) MetricLimits.CheckDimensionValue("work pool name", sample.WorkPool);
            return new BacklogMetricDatum
            {
                Namespace = options.Namespace,
                MetricName = options.MetricNameFor(sample.Measure),
                Dimensions = options.DimensionsFor(sample.WorkPool, sample.WorkQueue),
                Value = sample.Count,
                Timestamp = timestamp,
                StorageResolution = options.StorageResolution,
            };
        }

        /// <summary>Checks a sample's count and moment as CloudWatch takes them (finite, in range, not negative, 14 days
        /// ago to 2 hours ahead); returns the moment in UTC (now when none was given). <paramref name="of"/> says whose.</summary>
        public static DateTime CheckCount(BacklogSample sample, string of, DateTime nowUtc)
        {
            MetricLimits.CheckValue("count for " + of, sample.Count);
            if (sample.Count < 0)
                throw new ArgumentException("The count for " + of + " is negative (" + sample.Count.ToString(CultureInfo.InvariantCulture) + ").");
            DateTime timestamp = Utc(sample.Timestamp == default ? nowUtc : sample.Timestamp);
            if (timestamp < nowUtc - MetricLimits.MaxAge || timestamp > nowUtc + MetricLimits.MaxAhead)
                throw new ArgumentException("The timestamp " + timestamp.ToString("u", CultureInfo.InvariantCulture) + " of " + of + " is outside what CloudWatch accepts (14 days ago to 2 hours ahead).");
            return timestamp;
        }

        /// <summary>Adds together data for the same metric, dimensions and moment. Dimensions are compared as the
        /// set of names and values CloudWatch sees, never as joined text: a name holding ",WorkQueue=" must not
        /// make two series one.</summary>
        public static List<BacklogMetricDatum> Combine(IEnumerable<BacklogMetricDatum> data)
        {
            var combined = new List<BacklogMetricDatum>();
            var byKey = new Dictionary<(string Namespace, string MetricName, DimensionSet Dimensions, long Ticks), BacklogMetricDatum>();
            foreach (BacklogMetricDatum datum in data)
            {
                var key = (datum.Namespace, datum.MetricName, new DimensionSet(datum.Dimensions), datum.Timestamp.Ticks);
                if (byKey.TryGetValue(key, out BacklogMetricDatum? existing)) existing.Value += datum.Value;
                else { byKey[key] = datum; combined.Add(datum); }
            }
            return combined;
        }

        /// <summary>Dimensions as CloudWatch identifies a series by them: names and values, case-sensitive, in any order.</summary>
        private sealed class DimensionSet : IEquatable<DimensionSet>
        {
            private readonly KeyValuePair<string, string>[] _sorted;

            public DimensionSet(IEnumerable<KeyValuePair<string, string>> dimensions)
            {
                _sorted = dimensions.OrderBy(d => d.Key, StringComparer.Ordinal).ThenBy(d => d.Value, StringComparer.Ordinal).ToArray();
            }

            public bool Equals(DimensionSet? other)
            {
                if (other == null || other._sorted.Length != _sorted.Length) return false;
                for (int i = 0; i < _sorted.Length; i++)
                {
                    if (!string.Equals(_sorted[i].Key, other._sorted[i].Key, StringComparison.Ordinal) ||
                        !string.Equals(_sorted[i].Value, other._sorted[i].Value, StringComparison.Ordinal))
                        return false;
                }
                return true;
            }

            public override bool Equals(object? obj) => Equals(obj as DimensionSet);

            public override int GetHashCode()
            {
                int hash = 17;
                foreach (KeyValuePair<string, string> d in _sorted)
                    hash = unchecked((hash * 31 + StringComparer.Ordinal.GetHashCode(d.Key)) * 31 + StringComparer.Ordinal.GetHashCode(d.Value));
                return hash;
            }
        }

        internal static DateTime Utc(DateTime value) => value.Kind switch
        {
            DateTimeKind.Utc => value,
            DateTimeKind.Local => value.ToUniversalTime(),
            _ => DateTime.SpecifyKind(value, DateTimeKind.Utc),
        };
    }
}
