namespace PrefectScaling.Simulation.Tests;

public sealed class SimulationScenariosTests
{
    private static readonly DateTime Start = new(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void Burst_is_20_ad_hoc_runs_at_once()
    {
        IReadOnlyList<SimulatedRun> runs = SimulationScenarios.Get("burst", Start);
        Assert.Equal(20, runs.Count);
        Assert.All(runs, r => Assert.Equal(Start.AddMinutes(5), r.ExpectedStart));
        Assert.All(runs, r => Assert.Equal(r.ExpectedStart, r.Created));
    }

    [Fact]
    public void Trickle_is_one_run_every_3_minutes()
    {
        IReadOnlyList<SimulatedRun> runs = SimulationScenarios.Get(SimulationScenarios.Trickle, Start);
        Assert.Equal(40, runs.Count);
        Assert.All(runs.Zip(runs.Skip(1)), p => Assert.Equal(TimeSpan.FromMinutes(3), p.Second.ExpectedStart - p.First.ExpectedStart));
    }

    [Fact]
    public void DailySchedule_has_an_hourly_deployment_and_a_morning_burst_created_an_hour_ahead()
    {
        IReadOnlyList<SimulatedRun> runs = SimulationScenarios.Get(SimulationScenarios.DailySchedule, Start);
        Assert.Equal(24, runs.Count(r => r.WorkQueue == "hourly"));
        List<SimulatedRun> morning = runs.Where(r => r.WorkQueue == "morning").ToList();
        Assert.Equal(30, morning.Count);
        Assert.All(morning, r => Assert.InRange(r.ExpectedStart, Start.AddHours(8), Start.AddHours(8).AddMinutes(10)));
        Assert.All(runs, r => Assert.Equal(TimeSpan.FromHours(1), r.ExpectedStart - r.Created));
        Assert.True(runs.Zip(runs.Skip(1)).All(p => p.First.ExpectedStart <= p.Second.ExpectedStart));
    }

    [Fact]
    public void The_same_name_and_start_give_the_same_runs()
    {
        foreach (string name in SimulationScenarios.Names)
        {
            string Text(IReadOnlyList<SimulatedRun> runs) => string.Join(";", runs.Select(r => r.ExpectedStart.Ticks + "/" + r.Duration.Ticks + "/" + r.Created.Ticks + "/" + r.WorkQueue));
            Assert.Equal(Text(SimulationScenarios.Get(name, Start)), Text(SimulationScenarios.Get(name, Start)));
        }
    }

    [Fact]
    public void An_unknown_scenario_names_the_known_ones()
    {
        var e = Assert.Throws<ArgumentException>(() => SimulationScenarios.Get("Flood", Start));
        Assert.Contains("Burst, Trickle, DailySchedule", e.Message);
    }
}
