using System;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;

namespace PrefectScaling.Formatting
{
    /// <summary>Text for the table views of PrefectScaling.Format.ps1xml, which fit 80 columns. A long value keeps
    /// its start and its end, where names and ARNs usually differ, and loses its middle.</summary>
    public static class ViewText
    {
        private const char Ellipsis = '\u2026';
        private static readonly Regex PolicyHash = new Regex("~[0-9a-f]{16}", RegexOptions.CultureInvariant);

        /// <summary>The text itself when it fits in <paramref name="width"/>, else its start, '…' and its end.</summary>
        public static string Fit(object? value, int width)
        {
            string text = value?.ToString() ?? string.Empty;
            if (width < 1 || text.Length <= width) return text;
            int head = (width - 1) / 2;
            int tail = width - 1 - head;
            return text.Substring(0, head) + Ellipsis + text.Substring(text.Length - tail);
        }

        /// <summary>The waiting backlog of a status line: "Late 3 Due 5", the measures that have data, or "no data".</summary>
        public static string Waiting(double? late, double? due)
        {
            string text = string.Join(" ", new[] { late == null ? null : "Late " + Count(late.Value), due == null ? null : "Due " + Count(due.Value) }.Where(t => t != null));
            return text.Length == 0 ? "no data" : text;
        }

        /// <summary>An age in one unit: 45s, 12m, 3h, 2d; "-" for none.</summary>
        public static string Age(TimeSpan? age)
        {
            if (age == null) return "-";
            TimeSpan a = age.Value < TimeSpan.Zero ? TimeSpan.Zero : age.Value;
            if (a.TotalSeconds < 100) return ((int)a.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s";
            if (a.TotalMinutes < 100) return ((int)a.TotalMinutes).ToString(CultureInfo.InvariantCulture) + "m";
            if (a.TotalHours < 48) return ((int)a.TotalHours).ToString(CultureInfo.InvariantCulture) + "h";
            return ((int)a.TotalDays).ToString(CultureInfo.InvariantCulture) + "d";
        }

        private static string Count(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);

        /// <summary>What tells a service's policies apart: the scope and the role suffix of the name
        /// (<c>PrefectScaling/prod/agent/pool/queue~hash:out</c> shows as <c>pool/queue:out</c>; a first-release
        /// <c>PrefectScaling-prod-agent-pool-queue:out</c> as <c>pool-queue:out</c>). Other names show whole.</summary>
        public static string PolicyScope(string? policyName, string? cluster, string? service)
        {
            if (string.IsNullOrEmpty(policyName)) return string.Empty;
            string name = policyName!;
            foreach (string head in new[] { "PrefectScaling/" + cluster + "/" + service + "/", "PrefectScaling-" + cluster + "-" + service + "-" })
            {
                if (name.StartsWith(head, StringComparison.Ordinal)) { name = name.Substring(head.Length); break; }
            }
            return PolicyHash.Replace(name, string.Empty);
        }
    }
}
