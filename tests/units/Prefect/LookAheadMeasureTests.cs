using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using static PrefectScaling.Backlog.BacklogMeasure;

namespace PrefectScaling.Prefect.Tests;

/// <summary>InFlight and Upcoming look into the schedule: their bodies, their windows, and the local mirror that
/// tallies runs read in pages, which must count exactly what the server's filter counts.</summary>
public sealed class LookAheadMeasureTests
{
    private static readonly PrefectServerVersion V3 = PrefectServerVersion.Parse("3.8.3");
    private static readonly PrefectServerVersion V2 = PrefectServerVersion.Parse("2.20.25");
    private static readonly PrefectServerVersion Old = PrefectServerVersion.Parse("2.7.12");
    private static readonly DateTimeOffset Now = new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1234567);
    private static readonly MeasureWindows Windows = new(TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(120));

    private static void AssertJson(string expected, JsonNode actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), "expected " + expected + "\n  actual " + actual.ToJsonString());

    [Fact]
    public void InFlightIsTheActiveTypesOrRunsDueAfterNowWithinTheLookAhead()
    {
        AssertJson("""
            {"work_pools":{"name":{"any_":["p"]}},"flow_runs":{"operator":"or_",
             "state":{"type":{"any_":["PENDING","RUNNING","CANCELLING"]}},
             "next_scheduled_start_time":{"after_":"2025-03-01T12:00:00.123457+00:00","before_":"2025-03-01T12:00:30.123456+00:00"}}}
            """, PrefectFilters.FlowRunQuery(InFlight, Now, V3, RunScope.Pools(new[] { "p" }), Windows));
    }

    [Fact]
    public void UpcomingStartsWhereTheLookAheadEndsAndLeavesOutRunsWaitingForASlot()
    {
        AssertJson("""
            {"work_pool_queues":{"id":{"any_":["q"]}},"flow_runs":{
             "state":{"type":{"any_":["SCHEDULED"]},"name":{"not_any_":["AwaitingConcurrencySlot"]}},
             "next_scheduled_start_time":{"after_":"2025-03-01T12:00:30.123457+00:00","before_":"2025-03-01T12:02:00.123456+00:00"}}}
            """, PrefectFilters.FlowRunQuery(Upcoming, Now, V3, RunScope.QueueIds(new[] { "q" }), Windows));
        AssertJson("""
            {"state":{"type":{"any_":["SCHEDULED"]},"name":{"any_":["Scheduled","Late","AwaitingRetry"]}},
             "next_scheduled_start_time":{"after_":"2025-03-01T12:00:30.123457+00:00","before_":"2025-03-01T12:02:00.123456+00:00"}}
            """, PrefectFilters.FlowRunsFor(Upcoming, Now, V2, Windows));
    }

    [Fact]
    public void ByQueueNameInFlightIsCountedInTwoHalvesSoTheQueueKeyDoesNotJoinTheOr()
    {
        IReadOnlyList<JsonObject> halves = PrefectFilters.FlowRunQueries(InFlight, Now, Old, RunScope.QueueNames(new[] { "x" }), Windows);
        Assert.Equal(2, halves.Count);
        AssertJson("""{"flow_runs":{"state":{"type":{"any_":["PENDING","RUNNING","CANCELLING"]}},"work_queue_name":{"any_":["x"]}}}""", halves[0]);
        AssertJson("""{"flow_runs":{"next_scheduled_start_time":{"after_":"2025-03-01T12:00:00.123457+00:00","before_":"2025-03-01T12:00:30.123456+00:00"},"work_queue_name":{"any_":["x"]}}}""", halves[1]);
        Assert.Throws<ArgumentException>(() => PrefectFilters.FlowRunQuery(InFlight, Now, Old, RunScope.QueueNames(new[] { "x" }), Windows));
        Assert.Single(PrefectFilters.FlowRunQueries(Upcoming, Now, Old, RunScope.QueueNames(new[] { "x" }), Windows));
    }

    public static TheoryData<string, string, double?, bool, bool, bool> Runs => new()
    {
        // type, name, next start (seconds from now), due, in flight, upcoming
        { "SCHEDULED", "Late", -60, true, false, false },
        { "SCHEDULED", "Scheduled", 0, true, false, false },
        { "SCHEDULED", "Scheduled", 1, false, true, false },
        { "SCHEDULED", "Scheduled", 30, false, true, false },
        { "SCHEDULED", "Scheduled", 31, false, false, true },
        { "SCHEDULED", "AwaitingRetry", 90, false, false, true },
        { "SCHEDULED", "Scheduled", 120, false, false, true },
        { "SCHEDULED", "Scheduled", 121, false, false, false },
        { "PENDING", "Pending", null, false, true, false },
        { "RUNNING", "Running", null, false, true, false },
        { "CANCELLING", "Cancelling", null, false, true, false },
        { "PAUSED", "Paused", null, false, false, false },
        { "COMPLETED", "Completed", null, false, false, false },
    };

    [Theory]
    [MemberData(nameof(Runs))]
    public void TheMeasuresPartitionTheScheduleAndTheMirrorAgrees(string type, string name, double? seconds, bool due, bool inFlight, bool upcoming)
    {
        DateTimeOffset? next = seconds == null ? null : PrefectFilters.AsSent(Now).AddSeconds(seconds.Value);
        Assert.Equal(due, PrefectFilters.Counts(Due, type, name, next, Now, V3, Windows));
        Assert.Equal(inFlight, PrefectFilters.Counts(InFlight, type, name, next, Now, V3, Windows));
        Assert.Equal(upcoming, PrefectFilters.Counts(Upcoming, type, name, next, Now, V3, Windows));
        Assert.Equal(upcoming, PrefectFilters.Counts(Upcoming, type, name, next, Now, V2, Windows));
    }

    [Fact]
    public void ARunWaitingForAConcurrencySlotIsInFlightButNotUpcomingOn3x()
    {
        DateTimeOffset soon = Now.AddSeconds(10), later = Now.AddSeconds(60);
        Assert.True(PrefectFilters.Counts(InFlight, "SCHEDULED", "AwaitingConcurrencySlot", soon, Now, V3, Windows));
        Assert.False(PrefectFilters.Counts(Upcoming, "SCHEDULED", "AwaitingConcurrencySlot", later, Now, V3, Windows));
    }

    [Fact]
    public void ThePagedReadReachesTheFurthestWindowAndTakesTheActiveTypes()
    {
        AssertJson("""
            {"operator":"or_","state":{"name":{"any_":["Late"]},"operator":"or_","type":{"any_":["PENDING","RUNNING","CANCELLING"]}},
             "next_scheduled_start_time":{"before_":"2025-03-01T12:02:00.123456+00:00"}}
            """, PrefectFilters.ActiveRunsFor(new[] { Late, InFlight, Upcoming }, Now, V3, Windows));
        AssertJson("""
            {"state":{"type":{"any_":["SCHEDULED"]},"name":{"not_any_":["AwaitingConcurrencySlot"]}},
             "next_scheduled_start_time":{"before_":"2025-03-01T12:02:00.123456+00:00"}}
            """, PrefectFilters.ActiveRunsFor(new[] { Upcoming }, Now, V3, Windows));
    }

    [Fact]
    public void WindowsAreCheckedAndFollowTheCycle()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new MeasureWindows(TimeSpan.FromSeconds(-1), TimeSpan.FromSeconds(60)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MeasureWindows(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(30)));
        MeasureWindows tenSeconds = MeasureWindows.ForCycle(TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(10), tenSeconds.InFlightLookahead);
        Assert.Equal(TimeSpan.FromSeconds(100), tenSeconds.UpcomingLead);
        // A minute's cycle is the default: the publisher and Publish-PrefectBacklogMetric look as far ahead.
        Assert.Equal(MeasureWindows.DefaultUpcomingLead, MeasureWindows.ForCycle(TimeSpan.FromMinutes(1)).UpcomingLead);
        Assert.Equal(TimeSpan.FromSeconds(390), MeasureWindows.ForCycle(TimeSpan.FromMinutes(5)).UpcomingLead);
        Assert.Equal("InFlightFlowRuns", Metrics.BacklogMetricOptions.DefaultMetricName(InFlight));
        Assert.Equal("UpcomingFlowRuns", Metrics.BacklogMetricOptions.DefaultMetricName(Upcoming));
    }
}
