using System.Xml.Linq;

namespace PrefectScaling.Simulation.Tests;

public sealed class SimulationChartTests
{
    private static readonly DateTime Start = new(2026, 3, 1, 8, 0, 0, DateTimeKind.Utc);

    private static PrefectScalingSimulation Result(string policy, params int[] desired) => new()
    {
        Policy = policy,
        Kind = "StepScaling",
        Workload = "Burst",
        Timeline = desired.Select((d, i) => new PrefectScalingSimulationStep
        {
            Policy = policy,
            Time = Start.AddSeconds(10 * i),
            Backlog = Math.Max(0, 20 - 4 * i),
            InFlight = Math.Min(20, 4 * i),
            DesiredTasks = d,
            RunningTasks = i == 0 ? 0 : desired[i - 1],
        }).ToList(),
    };

    [Fact]
    public void The_SVG_parses_as_XML_and_has_each_series_of_each_policy()
    {
        string svg = SimulationChart.Svg(new[] { Result("step 0..5", 0, 1, 3, 5, 5), Result("target 1/task", 0, 0, 2, 4, 5) });

        XDocument document = XDocument.Parse(svg);
        XNamespace ns = "http://www.w3.org/2000/svg";
        Assert.Equal(ns + "svg", document.Root!.Name);
        string[] texts = document.Descendants(ns + "text").Select(t => t.Value).ToArray();
        foreach (string title in new[] { "step 0..5", "target 1/task", "Backlog", "In flight", "Desired tasks", "Running tasks" })
            Assert.Contains(title, texts);
        Assert.Equal(2, texts.Count(t => t == "Desired tasks"));
        // Ids are unique across the panels.
        string[] ids = document.Descendants().Select(e => (string?)e.Attribute("id")).OfType<string>().ToArray();
        Assert.NotEmpty(ids);
        Assert.Equal(ids.Length, ids.Distinct().Count());
        // Four stair lines per panel.
        Assert.True(document.Descendants(ns + "polyline").Count() >= 8);
    }

    [Fact]
    public void A_result_without_a_timeline_is_refused_by_name()
    {
        var e = Assert.Throws<ArgumentException>(() => SimulationChart.Svg(new[] { new PrefectScalingSimulation { Policy = "p" } }));
        Assert.Contains("'p' has no timeline", e.Message);
    }

    [Fact]
    public void The_sparkline_runs_from_the_lowest_block_at_zero_to_the_full_block_at_the_peak()
    {
        Assert.Equal("▁▃▅█▅▁", SimulationChart.Sparkline(new double[] { 0, 2, 4, 7, 4, 0 }));
        Assert.Equal("▁▁▁", SimulationChart.Sparkline(new double[] { 0, 0, 0 }));
        Assert.Equal(string.Empty, SimulationChart.Sparkline(Array.Empty<double>()));
    }

    [Fact]
    public void A_long_series_keeps_its_width_and_a_short_peak()
    {
        double[] values = new double[1000];
        values[501] = 9;
        string line = SimulationChart.Sparkline(values, 40);
        Assert.Equal(40, line.Length);
        Assert.Equal(1, line.Count(c => c == '█'));
        Assert.Equal(20, line.IndexOf('█'));
    }
}
