using System;
using System.Collections.Generic;
using System.Linq;
using PrefectScaling.Backlog;
using PrefectScaling.Metrics;

namespace PrefectScaling.Bindings
{
    /// <summary>What a binding publishes, the one place that builds it: its backlog per measure and its desired task
    /// count, on the binding's series (<see cref="BindingSeries"/>). Publish-PrefectBacklogMetric -Cluster -Service and
    /// the scheduled publisher both build their data here, so what they write is what the policies read.</summary>
    public static class BindingData
    {
        /// <summary>The data of one reading of a binding: each total (one per measure, from one count over the whole
        /// scope) on its backlog series, and the desired task count measured at <paramref name="nowUtc"/>. With an
        /// InFlight total, also the busy guard's UnprotectedInFlight: <paramref name="unprotectedInFlight"/> when task
        /// protection knows better (the in-flight runs it could not put on a protected task), else the InFlight total.</summary>
        public static List<BacklogMetricDatum> Build(ServiceBinding binding, IEnumerable<PrefectBacklogTotal> totals, int desiredTasks, BacklogMetricOptions options, DateTime nowUtc, int? unprotectedInFlight = null)
        {
            if (binding == null) throw new ArgumentNullException(nameof(binding));
            return Build(binding.Cluster, binding.Service,
                totals.Select(t => new BacklogSample { Measure = t.Measure, Count = t.Count, Timestamp = t.Timestamp }), desiredTasks, options, nowUtc, "the total of " + binding, unprotectedInFlight);
        }

        /// <summary>The data of a service's binding from counts that make up its backlog (a queue's count each, or a
        /// total each): the counts of one measure and one moment are added into that measure's datum, and the desired
        /// task count is measured at <paramref name="nowUtc"/>. A count that CloudWatch would refuse is an error for
        /// the whole binding: a total without it would be a number nobody measured.</summary>
        public static List<BacklogMetricDatum> Build(string cluster, string service, IEnumerable<BacklogSample> counts, int desiredTasks, BacklogMetricOptions options, DateTime nowUtc) =>
            Build(cluster, service, counts, desiredTasks, options, nowUtc, null, null);

        private static List<BacklogMetricDatum> Build(string cluster, string service, IEnumerable<BacklogSample> counts, int desiredTasks, BacklogMetricOptions options, DateTime nowUtc, string? of, int? unprotectedInFlight)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (desiredTasks < 0) throw new ArgumentException("The desired task count cannot be negative (" + desiredTasks + ").", nameof(desiredTasks));
            if (unprotectedInFlight < 0) throw new ArgumentException("The unprotected in-flight count cannot be negative (" + unprotectedInFlight + ").", nameof(unprotectedInFlight));
            nowUtc = nowUtc.Kind == DateTimeKind.Utc ? nowUtc : nowUtc.ToUniversalTime();
            var sums = new List<(BacklogMeasure Measure, DateTime Timestamp, double Count)>();
            foreach (BacklogSample sample in counts)
            {
                DateTime timestamp = BacklogMetricBuilder.CheckCount(sample, of ?? Describe(sample), nowUtc);
                int at = sums.FindIndex(s => s.Measure == sample.Measure && s.Timestamp == timestamp);
                if (at < 0) sums.Add((sample.Measure, timestamp, sample.Count));
                else sums[at] = (sample.Measure, timestamp, sums[at].Count + sample.Count);
            }

            var data = new List<BacklogMetricDatum>();
            foreach ((BacklogMeasure measure, DateTime timestamp, double count) in sums)
            {
                // A sum of counts CloudWatch takes one by one can still leave its range.
                MetricLimits.CheckValue("total " + measure + " backlog of service " + service, count);
                if (measure != BacklogMeasure.InFlight)
                {
                    data.Add(BindingSeries.Datum(BindingSeries.Backlog(options, cluster, service, measure), count, timestamp, options.StorageResolution));
                    continue;
                }
                // The busy guard's inputs, side by side at the count's moment; InFlight under -MetricName too when it is
                // the only measure (a policy's own measure, which the name then belongs to).
                MetricSeries inFlight = BindingSeries.InFlight(options, cluster, service), asBacklog = BindingSeries.Backlog(options, cluster, service, measure);
                if (!asBacklog.Equals(inFlight) && sums.All(s => s.Measure == BacklogMeasure.InFlight))
                    data.Add(BindingSeries.Datum(asBacklog, count, timestamp, options.StorageResolution));
                data.Add(BindingSeries.Datum(inFlight, count, timestamp, options.StorageResolution));
                data.Add(BindingSeries.Datum(BindingSeries.UnprotectedInFlight(options, cluster, service), unprotectedInFlight ?? count, timestamp, options.StorageResolution));
            }
            data.Add(BindingSeries.Datum(BindingSeries.DesiredTasks(options, cluster, service), desiredTasks, nowUtc, options.StorageResolution));
            return data;
        }

        private static string Describe(BacklogSample sample) =>
            string.IsNullOrEmpty(sample.WorkQueue) ? "the " + sample.Measure + " total" : "work queue '" + (sample.WorkPool == null ? sample.WorkQueue : sample.WorkPool + "/" + sample.WorkQueue) + "'";
    }
}
