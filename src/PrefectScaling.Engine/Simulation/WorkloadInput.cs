using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace PrefectScaling.Simulation
{
    /// <summary>What a workload conversion took and what it left out (and why), so a caller can say so.</summary>
    public sealed class WorkloadConversion
    {
        internal WorkloadConversion(IReadOnlyList<SimulatedRun> runs, IReadOnlyList<string> skipped)
        {
            Runs = runs;
            Skipped = skipped;
        }

        /// <summary>Sorted by expected start.</summary>
        public IReadOnlyList<SimulatedRun> Runs { get; }

        /// <summary>One line per input left out, naming it and why.</summary>
        public IReadOnlyList<string> Skipped { get; }
    }

    /// <summary>Turns a workload as people give it into simulated runs: rows of properties (objects, or CSV rows, where
    /// every value is a string, as Import-Csv gives them), or runs read by Get-PrefectFlowRunHistory. A row needs
    /// ExpectedStart and Duration (seconds, or a TimeSpan text such as 00:05:00) and may have Created and WorkQueue;
    /// names are case-insensitive. A row that cannot be read is an error naming the row and the value. A run created
    /// after its expected start (an ad-hoc run: Prefect sets its expected start as it creates it) is taken as created
    /// at its expected start.</summary>
    public static class WorkloadInput
    {
        /// <summary>One row; <paramref name="row"/> names it in errors ("row 3", "object 2").</summary>
        public static SimulatedRun FromRow(IReadOnlyDictionary<string, object?> properties, string row)
        {
            if (properties == null) throw new ArgumentNullException(nameof(properties));
            var byName = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
            foreach (KeyValuePair<string, object?> p in properties) byName[p.Key] = p.Value;
            object? expected = Value(byName, "ExpectedStart");
            object? duration = Value(byName, "Duration");
            if (expected == null) throw new ArgumentException(row + " has no ExpectedStart: a workload run needs ExpectedStart and Duration.");
            if (duration == null) throw new ArgumentException(row + " has no Duration: give seconds (300) or a TimeSpan (00:05:00).");
            DateTime expectedUtc = Time(expected, row, "ExpectedStart");
            TimeSpan length = Length(duration, row);
            DateTime? created = Value(byName, "Created") is object c ? Time(c, row, "Created") : (DateTime?)null;
            string? queue = Value(byName, "WorkQueue") is object q ? q.ToString() : null;
            return Make(expectedUtc, length, created, string.IsNullOrWhiteSpace(queue) ? null : queue, row);
        }

        /// <summary>Rows in order, named "row 1", "row 2"... (or with <paramref name="rowName"/>); sorted by expected start.</summary>
        public static IReadOnlyList<SimulatedRun> FromRows(IEnumerable<IReadOnlyDictionary<string, object?>> rows, Func<int, string>? rowName = null)
        {
            rowName ??= i => "Row " + i;
            return Sorted(rows.Select((r, i) => FromRow(r, rowName(i + 1))));
        }

        /// <summary>A CSV text with a header line (comma-separated, double quotes as RFC 4180). Rows are named by their
        /// line number in errors.</summary>
        public static IReadOnlyList<SimulatedRun> FromCsv(TextReader reader)
        {
            List<List<string>> records = ReadCsv(reader, out List<int> lines);
            if (records.Count == 0) throw new ArgumentException("The CSV is empty: it needs a header line with ExpectedStart and Duration.");
            List<string> header = records[0];
            var rows = new List<SimulatedRun>();
            for (int i = 1; i < records.Count; i++)
            {
                List<string> fields = records[i];
                if (fields.Count == 1 && fields[0].Length == 0) continue; // a blank line
                if (fields.Count != header.Count)
                    throw new ArgumentException("CSV line " + lines[i] + " has " + fields.Count + " field(s) where the header has " + header.Count + ".");
                var row = new Dictionary<string, object?>(StringComparer.OrdinalIgnoreCase);
                for (int f = 0; f < header.Count; f++) row[header[f].Trim()] = fields[f].Length == 0 ? null : fields[f];
                rows.Add(FromRow(row, "CSV line " + lines[i]));
            }
            return Sorted(rows);
        }

        /// <summary>Runs read by Get-PrefectFlowRunHistory. A run that has not ended (Scheduled, Late, Pending, Running)
        /// or never started (cancelled while scheduled) has no duration to replay: it is left out and listed in
        /// <see cref="WorkloadConversion.Skipped"/>, never given a made-up one.</summary>
        public static WorkloadConversion FromFlowRuns(IEnumerable<PrefectFlowRun> runs)
        {
            var taken = new List<SimulatedRun>();
            var skipped = new List<string>();
            foreach (PrefectFlowRun run in runs)
            {
                if (run.Duration is TimeSpan d)
                    taken.Add(Make(Utc(run.ExpectedStart), d, Utc(run.Created), run.WorkQueue, "Flow run " + run.Name + " (" + run.Id + ")"));
                else
                    skipped.Add("Flow run " + run.Name + " (" + run.Id + ", " + (run.StateName.Length > 0 ? run.StateName : run.State) + ") has no duration: it " + (run.Start == null ? "never started" : "has not ended") + ".");
            }
            return new WorkloadConversion(Sorted(taken), skipped);
        }

        private static IReadOnlyList<SimulatedRun> Sorted(IEnumerable<SimulatedRun> runs) => runs.OrderBy(r => r.ExpectedStart).ToList();

        private static SimulatedRun Make(DateTime expected, TimeSpan duration, DateTime? created, string? queue, string row)
        {
            if (duration < TimeSpan.Zero) throw new ArgumentException(row + " has a negative Duration (" + duration + ").");
            if (created is DateTime c && c > expected) created = expected;
            return new SimulatedRun(expected, duration, created, queue);
        }

        private static object? Value(Dictionary<string, object?> byName, string name) =>
            byName.TryGetValue(name, out object? value) && value != null && !(value is string s && s.Trim().Length == 0) ? value : null;

        private static DateTime Utc(DateTime value) =>
            value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : DateTime.SpecifyKind(value, DateTimeKind.Utc);

        /// <summary>A DateTime (local converted, unspecified taken as UTC), a DateTimeOffset, or a text that parses as
        /// one (ISO 8601; without an offset it is UTC).</summary>
        private static DateTime Time(object value, string row, string name)
        {
            switch (value)
            {
                case DateTime dt: return Utc(dt);
                case DateTimeOffset dto: return dto.UtcDateTime;
                case string text when DateTimeOffset.TryParse(text.Trim(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset parsed):
                    return parsed.UtcDateTime;
                default:
                    throw new ArgumentException(row + " has " + name + " '" + value + "', which is not a time: give one such as 2026-01-31T08:00:00Z.");
            }
        }

        /// <summary>Seconds (a number, or a text of one), a TimeSpan, or a TimeSpan text (hh:mm:ss, d.hh:mm:ss).</summary>
        private static TimeSpan Length(object value, string row)
        {
            switch (value)
            {
                case TimeSpan span: return span;
                case double d: return Seconds(d, row);
                case float f: return Seconds(f, row);
                case decimal m: return Seconds((double)m, row);
                case int or long or short or byte or uint or ulong or ushort or sbyte: return Seconds(Convert.ToDouble(value, CultureInfo.InvariantCulture), row);
                case string text:
                    string t = text.Trim();
                    if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds)) return Seconds(seconds, row);
                    if (t.Contains(":") && TimeSpan.TryParse(t, CultureInfo.InvariantCulture, out TimeSpan parsed)) return parsed;
                    break;
            }
            throw new ArgumentException(row + " has Duration '" + value + "', which is neither seconds (300) nor a TimeSpan (00:05:00).");
        }

        private static TimeSpan Seconds(double seconds, string row)
        {
            if (double.IsNaN(seconds) || double.IsInfinity(seconds) || seconds < 0 || seconds > TimeSpan.FromDays(365).TotalSeconds)
                throw new ArgumentException(row + " has Duration " + seconds.ToString(CultureInfo.InvariantCulture) + " seconds: it must be between 0 and a year.");
            return TimeSpan.FromSeconds(seconds);
        }

        /// <summary>RFC 4180 records, with the line each starts on.</summary>
        private static List<List<string>> ReadCsv(TextReader reader, out List<int> lines)
        {
            var records = new List<List<string>>();
            lines = new List<int>();
            var field = new StringBuilder();
            List<string>? record = null;
            bool quoted = false;
            int line = 1;
            int c;
            while ((c = reader.Read()) != -1)
            {
                if (record == null) { record = new List<string>(); lines.Add(line); }
                char ch = (char)c;
                if (quoted)
                {
                    if (ch == '"')
                    {
                        if (reader.Peek() == '"') { reader.Read(); field.Append('"'); }
                        else quoted = false;
                    }
                    else
                    {
                        if (ch == '\n') line++;
                        field.Append(ch);
                    }
                    continue;
                }
                switch (ch)
                {
                    case '"': quoted = true; break;
                    case ',': record.Add(field.ToString()); field.Clear(); break;
                    case '\r': break;
                    case '\n':
                        record.Add(field.ToString()); field.Clear();
                        records.Add(record); record = null; line++;
                        break;
                    default: field.Append(ch); break;
                }
            }
            if (quoted) throw new ArgumentException("The CSV ends inside a quoted field (opened on line " + (lines.Count > 0 ? lines[lines.Count - 1] : line) + ").");
            if (record != null) { record.Add(field.ToString()); records.Add(record); }
            return records;
        }
    }
}
