using PrefectScaling.Bindings;
using PrefectScaling.Simulation;
using PrefectScaling.Testing.PrefectEmulator;
using Xunit;
using static PrefectScaling.Prefect.Tests.EmulatorScenario;

namespace PrefectScaling.Prefect.Tests;

/// <summary>Get-PrefectFlowRunHistory's reader on both API shapes: paged by expected start, bounded by MaxRuns (and
/// saying so), narrowed to the scope and the window, and a missing pool an error.</summary>
public sealed class FlowRunHistoryTests
{
    // 450 completed runs an hour to a minute ago (three pages), 5 in another pool, 3 scheduled tomorrow.
    private static EmulatorSeed Seed() => new()
    {
        Runs =
        {
            new SeedRun { Pool = "k8s", Queue = "etl", StateType = "COMPLETED", StateName = "Completed", ScheduledOffsetSeconds = -3600, Count = 150 },
            new SeedRun { Pool = "k8s", Queue = "etl", StateType = "FAILED", StateName = "Failed", ScheduledOffsetSeconds = -1800, Count = 150 },
            new SeedRun { Pool = "k8s", Queue = "default", StateType = "COMPLETED", StateName = "Completed", ScheduledOffsetSeconds = -60, Count = 150 },
            new SeedRun { Pool = "other", Queue = "etl", StateType = "COMPLETED", StateName = "Completed", ScheduledOffsetSeconds = -600, Count = 5 },
            new SeedRun { Pool = "k8s", Queue = "etl", StateName = "Scheduled", ScheduledOffsetSeconds = 86400, Count = 3 },
        },
    };

    private static FlowRunHistoryOptions LastDay(int maxRuns = FlowRunHistoryOptions.DefaultMaxRuns) =>
        new() { Since = DateTimeOffset.UtcNow.AddDays(-1), Until = DateTimeOffset.UtcNow, MaxRuns = maxRuns };

    [Theory]
    [InlineData(EmulatorMode.V3, "/flow_runs/paginate")]
    [InlineData(EmulatorMode.V2, "/flow_runs/filter")]
    public async Task A_pools_runs_of_the_window_come_in_pages_sorted_by_expected_start(EmulatorMode mode, string path)
    {
        await using var server = await StartAsync(mode, Seed());
        var (_, _, catalog) = Connect(server);
        var log = new RecordingLog();

        FlowRunHistory history = await new FlowRunHistoryReader(catalog).ReadAsync(BindingScope.From(new[] { "k8s" }, null), LastDay(), log, default);

        Assert.False(history.Truncated);
        Assert.Equal(450, history.Runs.Count);
        Assert.Equal(450, history.Runs.Select(r => r.Id).Distinct().Count());
        Assert.True(history.Runs.Zip(history.Runs.Skip(1)).All(p => p.First.ExpectedStart <= p.Second.ExpectedStart));
        Assert.All(history.Runs, r => Assert.Equal("k8s", r.WorkPool));
        Assert.Equal(new[] { "default", "etl" }, history.Runs.Select(r => r.WorkQueue).Distinct().OrderBy(q => q, StringComparer.Ordinal));
        Assert.Equal(new[] { "COMPLETED", "FAILED" }, history.Runs.Select(r => r.State).Distinct().OrderBy(s => s, StringComparer.Ordinal));
        Assert.All(history.Runs, r => Assert.True(r.Created >= r.ExpectedStart)); // seeded now, for times in the past
        // Pages of 200: three.
        Assert.Equal(3, log.Lines.Count(l => l.StartsWith("VERBOSE POST ", StringComparison.Ordinal) && l.Contains(path, StringComparison.Ordinal)));
        if (mode == EmulatorMode.V3)
        {
            // 3.x records a run created in a terminal state with start = end; 2.x with neither.
            Assert.All(history.Runs, r => Assert.Equal(TimeSpan.Zero, r.Duration));
        }
        else
        {
            Assert.All(history.Runs, r => { Assert.Null(r.Start); Assert.Null(r.Duration); });
        }
    }

    [Theory]
    [InlineData(EmulatorMode.V3)]
    [InlineData(EmulatorMode.V2)]
    public async Task The_cap_keeps_the_earliest_runs_and_says_it_cut_the_history(EmulatorMode mode)
    {
        await using var server = await StartAsync(mode, Seed());
        var (_, _, catalog) = Connect(server);

        FlowRunHistory cut = await new FlowRunHistoryReader(catalog).ReadAsync(BindingScope.From(new[] { "k8s" }, null), LastDay(250), new RecordingLog(), default);
        FlowRunHistory exact = await new FlowRunHistoryReader(catalog).ReadAsync(BindingScope.From(new[] { "k8s" }, null), LastDay(450), new RecordingLog(), default);

        Assert.True(cut.Truncated);
        Assert.Equal(250, cut.Runs.Count);
        Assert.Equal(150, cut.Runs.Count(r => r.StateName == "Completed")); // the hour-old ones first, then 100 of the Failed
        Assert.False(exact.Truncated);
        Assert.Equal(450, exact.Runs.Count);
    }

    [Theory]
    [InlineData(EmulatorMode.V3)]
    [InlineData(EmulatorMode.V2)]
    public async Task A_queue_of_a_pool_and_a_window_narrow_the_history(EmulatorMode mode)
    {
        await using var server = await StartAsync(mode, Seed());
        var (_, _, catalog) = Connect(server);
        var options = new FlowRunHistoryOptions { Since = DateTimeOffset.UtcNow.AddMinutes(-45), Until = DateTimeOffset.UtcNow.AddDays(2) };

        FlowRunHistory history = await new FlowRunHistoryReader(catalog).ReadAsync(BindingScope.From(new[] { "k8s" }, new[] { "etl" }), options, new RecordingLog(), default);

        Assert.Equal(153, history.Runs.Count); // the Failed half hour ago and the 3 tomorrow; not the hour-old, not pool other
        Assert.All(history.Runs, r => Assert.Equal(("k8s", "etl"), (r.WorkPool, r.WorkQueue)));
        Assert.Equal(3, history.Runs.Count(r => r.StateName == "Scheduled" && r.Duration == null));
    }

    [Theory]
    [InlineData(EmulatorMode.V3)]
    [InlineData(EmulatorMode.V2)]
    public async Task A_missing_pool_is_an_error_not_an_empty_history(EmulatorMode mode)
    {
        await using var server = await StartAsync(mode, Seed());
        var (_, _, catalog) = Connect(server);

        var e = await Assert.ThrowsAsync<PrefectApiException>(() => new FlowRunHistoryReader(catalog).ReadAsync(BindingScope.From(new[] { "k8s", "gone" }, null), LastDay(), new RecordingLog(), default));

        Assert.Equal(PrefectErrorKind.NotFound, e.Kind);
        Assert.Contains("gone", e.Message);
        Assert.Contains("has no history", e.Message);
    }
}
