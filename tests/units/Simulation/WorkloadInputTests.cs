namespace PrefectScaling.Simulation.Tests;

/// <summary>A workload as people give it (objects, CSV rows of strings, runs read from Prefect) becomes simulated runs,
/// and a row that cannot be read is an error naming it.</summary>
public sealed class WorkloadInputTests
{
    private static Dictionary<string, object?> Row(params (string Key, object? Value)[] values) => values.ToDictionary(v => v.Key, v => v.Value);

    [Fact]
    public void Strings_as_Import_Csv_gives_them_read_as_UTC_times_and_seconds_or_TimeSpan_text()
    {
        SimulatedRun seconds = WorkloadInput.FromRow(Row(("expectedstart", "2026-03-01T08:00:00Z"), ("Duration", "90.5"), ("WorkQueue", "etl")), "Row 1");
        SimulatedRun span = WorkloadInput.FromRow(Row(("ExpectedStart", "2026-03-01 08:00:00"), ("Duration", "00:05:00"), ("Created", "2026-03-01T07:00:00+00:00")), "Row 2");

        Assert.Equal(new DateTime(2026, 3, 1, 8, 0, 0, DateTimeKind.Utc), seconds.ExpectedStart);
        Assert.Equal(DateTimeKind.Utc, span.ExpectedStart.Kind);
        Assert.Equal(new DateTime(2026, 3, 1, 8, 0, 0, DateTimeKind.Utc), span.ExpectedStart);
        Assert.Equal(TimeSpan.FromSeconds(90.5), seconds.Duration);
        Assert.Equal(TimeSpan.FromMinutes(5), span.Duration);
        Assert.Equal("etl", seconds.WorkQueue);
        Assert.Equal(seconds.ExpectedStart, seconds.Created); // ad hoc: it appears at its start
        Assert.Equal(new DateTime(2026, 3, 1, 7, 0, 0, DateTimeKind.Utc), span.Created);
    }

    [Fact]
    public void Typed_values_are_taken_as_they_are()
    {
        var at = new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.FromHours(2));
        SimulatedRun run = WorkloadInput.FromRow(Row(("ExpectedStart", at), ("Duration", 120)), "Object 1");
        Assert.Equal(new DateTime(2026, 3, 1, 8, 0, 0, DateTimeKind.Utc), run.ExpectedStart);
        Assert.Equal(TimeSpan.FromMinutes(2), run.Duration);
        Assert.Equal(TimeSpan.FromHours(1), WorkloadInput.FromRow(Row(("ExpectedStart", at.UtcDateTime), ("Duration", TimeSpan.FromHours(1))), "Object 2").Duration);
    }

    [Theory]
    [InlineData("2026-03-01T08:00:00Z", null, "Row 4 has no Duration")]
    [InlineData(null, "60", "Row 4 has no ExpectedStart")]
    [InlineData("yesterday", "60", "Row 4 has ExpectedStart 'yesterday', which is not a time")]
    [InlineData("2026-03-01T08:00:00Z", "five minutes", "Row 4 has Duration 'five minutes'")]
    [InlineData("2026-03-01T08:00:00Z", "-5", "Row 4 has Duration -5 seconds")]
    public void A_row_that_cannot_be_read_is_an_error_naming_the_row_and_the_value(string? expected, string? duration, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => WorkloadInput.FromRow(Row(("ExpectedStart", expected), ("Duration", duration)), "Row 4"));
        Assert.StartsWith(message, e.Message);
    }

    [Fact]
    public void A_CSV_is_read_with_its_header_and_quotes_and_sorted_by_expected_start_and_a_bad_line_is_named()
    {
        const string csv = "\"ExpectedStart\",\"Duration\",\"WorkQueue\"\r\n\"2026-03-01T08:05:00Z\",\"60\",\"a, b\"\r\n2026-03-01T08:00:00Z,00:02:00,\r\n";
        IReadOnlyList<SimulatedRun> runs = WorkloadInput.FromCsv(new StringReader(csv));
        Assert.Equal(new[] { 8 * 60 + 0, 8 * 60 + 5 }, runs.Select(r => (int)r.ExpectedStart.TimeOfDay.TotalMinutes));
        Assert.Equal(new string?[] { null, "a, b" }, runs.Select(r => r.WorkQueue));

        var e = Assert.Throws<ArgumentException>(() => WorkloadInput.FromCsv(new StringReader("ExpectedStart,Duration\n2026-03-01T08:00:00Z,60\n2026-03-01T08:00:00Z,soon\n")));
        Assert.StartsWith("CSV line 3 has Duration 'soon'", e.Message);
    }

    [Fact]
    public void Flow_runs_without_a_duration_are_left_out_and_listed_and_a_late_created_run_appears_at_its_start()
    {
        var expected = new DateTime(2026, 3, 1, 8, 0, 0, DateTimeKind.Utc);
        var done = new PrefectFlowRun { Id = "1", Name = "done", ExpectedStart = expected, Start = expected.AddSeconds(20), End = expected.AddMinutes(3), Duration = TimeSpan.FromSeconds(160), Created = expected.AddMilliseconds(3), WorkQueue = "default", State = "COMPLETED", StateName = "Completed" };
        var running = new PrefectFlowRun { Id = "2", Name = "running", ExpectedStart = expected, Start = expected, Created = expected, State = "RUNNING", StateName = "Running" };
        var late = new PrefectFlowRun { Id = "3", Name = "late", ExpectedStart = expected, Created = expected.AddHours(-1), State = "SCHEDULED", StateName = "Late" };

        WorkloadConversion conversion = WorkloadInput.FromFlowRuns(new[] { done, running, late });

        SimulatedRun only = Assert.Single(conversion.Runs);
        Assert.Equal(TimeSpan.FromSeconds(160), only.Duration);
        Assert.Equal(expected, only.Created);
        Assert.Equal("default", only.WorkQueue);
        Assert.Equal(new[] { "Flow run running (2, Running) has no duration: it has not ended.", "Flow run late (3, Late) has no duration: it never started." }, conversion.Skipped);
    }
}
