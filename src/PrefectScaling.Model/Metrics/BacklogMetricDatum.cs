using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace PrefectScaling.Metrics
{
    /// <summary>A metric datum as published (what -WhatIf shows and -PassThru returns).</summary>
    public sealed class BacklogMetricDatum
    {
        public string Namespace { get; set; } = string.Empty;
        public string MetricName { get; set; } = string.Empty;

        /// <summary>Name → value, in the order they are sent.</summary>
        public IReadOnlyList<KeyValuePair<string, string>> Dimensions { get; set; } = Array.Empty<KeyValuePair<string, string>>();

        public double Value { get; set; }
        public DateTime Timestamp { get; set; }
        public int StorageResolution { get; set; }
        public string Unit { get; set; } = "Count";

        /// <summary>WorkPool=k8s,WorkQueue=default</summary>
        public string DimensionText => string.Join(",", Dimensions.Select(d => d.Key + "=" + d.Value));

        public override string ToString() =>
            Namespace + "/" + MetricName + " {" + DimensionText + "} = " + Value.ToString(CultureInfo.InvariantCulture) + " at " + Timestamp.ToString("u", CultureInfo.InvariantCulture);
    }
}
