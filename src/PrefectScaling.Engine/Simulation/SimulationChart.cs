using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using OxyPlot;
using OxyPlot.Axes;
using OxyPlot.Legends;
using OxyPlot.Series;

namespace PrefectScaling.Simulation
{
    /// <summary>The simulation report: backlog, runs in flight, desired and running tasks over time, drawn from timeline
    /// rows as an SVG with OxyPlot (its SvgExporter is pure managed: no native graphics library), and a one-line
    /// sparkline of a series for the default view.</summary>
    public static class SimulationChart
    {
        public const double DefaultWidth = 900;
        public const double HeightPerPolicy = 260;

        private static readonly (string Name, Func<PrefectScalingSimulationStep, double> Value, OxyColor Color)[] Measures =
        {
            ("Backlog", s => s.Backlog, OxyColor.FromRgb(0xd6, 0x27, 0x28)),
            ("In flight", s => s.InFlight, OxyColor.FromRgb(0x1f, 0x77, 0xb4)),
            ("Desired tasks", s => s.DesiredTasks, OxyColor.FromRgb(0xff, 0x7f, 0x0e)),
            ("Running tasks", s => s.RunningTasks, OxyColor.FromRgb(0x2c, 0xa0, 0x2c)),
        };

        /// <summary>One SVG document for one or several results (one panel per policy, on the same time axis), from
        /// each result's <see cref="PrefectScalingSimulation.Timeline"/>.</summary>
        public static string Svg(IEnumerable<PrefectScalingSimulation> results)
        {
            if (results == null) throw new ArgumentNullException(nameof(results));
            List<PrefectScalingSimulation> list = results.ToList();
            if (list.Count == 0) throw new ArgumentException("There is nothing to draw: no simulation result.", nameof(results));
            PrefectScalingSimulation? empty = list.FirstOrDefault(r => r.Timeline == null || r.Timeline.Count == 0);
            if (empty != null) throw new ArgumentException("The result of '" + empty.Policy + "' has no timeline to draw.", nameof(results));

            DateTime origin = list.Min(r => r.Timeline[0].Time);
            double span = Math.Max(1, list.Max(r => (r.Timeline[r.Timeline.Count - 1].Time - origin).TotalMinutes));
            var panels = list.Select(r => Panel(r, origin, span)).ToList();
            double width = DefaultWidth;
            var svg = new StringBuilder();
            svg.Append("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n");
            svg.AppendFormat(CultureInfo.InvariantCulture, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\">\n", width, HeightPerPolicy * panels.Count);
            for (int i = 0; i < panels.Count; i++)
            {
                // Each panel is an SVG fragment of its own, stacked by a translation.
                // OxyPlot writes an XML declaration even for a fragment: only the document's own may stay.
                // Each panel names its clip paths alike: they are made unique per panel, as ids in one document must be.
                string fragment = Regex.Replace(SvgExporter.ExportToString(panels[i], width, HeightPerPolicy, false), @"<\?xml[^>]*\?>", string.Empty);
                fragment = Regex.Replace(fragment, @"\bclipPath(\d+)\b", "panel" + i.ToString(CultureInfo.InvariantCulture) + "clip$1");
                svg.AppendFormat(CultureInfo.InvariantCulture, "<g transform=\"translate(0,{0})\">\n", HeightPerPolicy * i);
                svg.Append(fragment);
                svg.Append("\n</g>\n");
            }
            svg.Append("</svg>\n");
            return svg.ToString();
        }

        private static PlotModel Panel(PrefectScalingSimulation result, DateTime origin, double spanMinutes)
        {
            var model = new PlotModel
            {
                Title = result.Policy.Length > 0 ? result.Policy : result.Kind,
                Subtitle = Summary(result),
                TitleFontSize = 13,
                SubtitleFontSize = 10,
                Background = OxyColors.White,
                DefaultFont = "sans-serif",
            };
            model.Legends.Add(new Legend { LegendPosition = LegendPosition.TopRight, LegendPlacement = LegendPlacement.Inside, LegendBackground = OxyColor.FromAColor(220, OxyColors.White) });
            model.Axes.Add(new LinearAxis { Position = AxisPosition.Bottom, Title = "minutes from " + origin.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC", Minimum = 0, Maximum = spanMinutes });
            double top = result.Timeline.Max(s => Math.Max(Math.Max(s.Backlog, s.InFlight), Math.Max(s.DesiredTasks, s.RunningTasks)));
            model.Axes.Add(new LinearAxis { Position = AxisPosition.Left, Title = "runs / tasks", Minimum = 0, Maximum = Math.Max(1, top) * 1.1, MajorGridlineStyle = LineStyle.Dot, MinorTickSize = 0 });
            foreach (var (name, value, color) in Measures)
            {
                // Counts hold between steps: a stair, not a slope.
                var series = new StairStepSeries { Title = name, Color = color, StrokeThickness = 1.5, VerticalStrokeThickness = 1.5 };
                foreach (PrefectScalingSimulationStep step in result.Timeline)
                    series.Points.Add(new DataPoint((step.Time - origin).TotalMinutes, value(step)));
                model.Series.Add(series);
            }
            return model;
        }

        /// <summary>The result's figures under its title; only the workload's name for a result that has none (a
        /// timeline built by hand has no measured figures to show).</summary>
        private static string Summary(PrefectScalingSimulation r) => r.Runs == 0 ? r.Workload : string.Format(CultureInfo.InvariantCulture,
            "{0}: start delay p95 {1:0}s, first scale-out {2}, {3:0} task-minutes, {4} scale events",
            r.Workload.Length > 0 ? r.Workload : "workload", r.StartDelayP95, r.FirstScaleOutSeconds is double f ? f.ToString("0", CultureInfo.InvariantCulture) + "s" : "none", r.TaskMinutes, r.ScaleEvents);

        private const string Blocks = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588";

        /// <summary>A series as one line of at most <paramref name="width"/> block characters, from ▁ (zero) to █ (the
        /// series' maximum); when there are more values than characters, each character shows the largest value of its
        /// share, so a short peak is never lost. Empty for no values.</summary>
        public static string Sparkline(IEnumerable<double> values, int width = 40)
        {
            if (values == null) throw new ArgumentNullException(nameof(values));
            if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, "A sparkline needs at least one character.");
            List<double> all = values.Select(v => double.IsNaN(v) || v < 0 ? 0 : v).ToList();
            if (all.Count == 0) return string.Empty;
            int cells = Math.Min(width, all.Count);
            var buckets = new double[cells];
            for (int c = 0; c < cells; c++)
            {
                int from = (int)((long)c * all.Count / cells);
                int to = (int)((long)(c + 1) * all.Count / cells);
                double max = 0;
                for (int i = from; i < to; i++) max = Math.Max(max, all[i]);
                buckets[c] = max;
            }
            double peak = buckets.Max();
            var line = new StringBuilder(cells);
            foreach (double b in buckets)
                line.Append(peak <= 0 ? Blocks[0] : Blocks[(int)Math.Round(b / peak * (Blocks.Length - 1))]);
            return line.ToString();
        }

        /// <summary>The desired task count of a timeline as a sparkline (the result's default view).</summary>
        public static string DesiredTasksSparkline(IEnumerable<PrefectScalingSimulationStep> timeline, int width = 40) =>
            Sparkline(timeline.Select(s => (double)s.DesiredTasks), width);
    }
}
