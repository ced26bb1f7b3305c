using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Prefect;
using static PrefectScaling.Backlog.BacklogMeasure;
using ActiveRun = PrefectScaling.Bindings.BindingTotalsReader.ActiveRun;
using VerifiedScope = PrefectScaling.Bindings.BindingTotalsReader.VerifiedScope;

namespace PrefectScaling.Bindings.Tests;

/// <summary>The bodies a scope's totals are read with, and the local mirror of each measure that tallies runs read
/// in pages: it must count exactly what the server's filter for the measure counts.</summary>
public sealed class BindingTotalsTests
{
    private static readonly PrefectServerVersion V3 = PrefectServerVersion.Parse("3.8.3");
    private static readonly PrefectServerVersion V2 = PrefectServerVersion.Parse("2.20.25");
    // Ticks below the microsecond: the server sees this time cut to .123456.
    private static readonly DateTimeOffset Now = new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero).AddTicks(1234567);
    private const string NowText = "2025-03-01T12:00:00.123456+00:00";

    private static void AssertJson(string expected, JsonNode actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), "expected " + expected + "\n  actual " + actual.ToJsonString());

    [Fact]
    public void AWholePoolIsCountedByItsNameAndQueuesByTheirIds()
    {
        AssertJson("""{"work_pools":{"name":{"any_":["a","b"]}},"flow_runs":{"state":{"name":{"any_":["Late"]}}}}""",
            PrefectFilters.FlowRunQuery(Late, Now, V3, RunScope.Pools(new[] { "a", "b" })));
        AssertJson("""{"work_pool_queues":{"id":{"any_":["q1","q2"]}},"flow_runs":{"state":{"type":{"any_":["PENDING"]}}}}""",
            PrefectFilters.FlowRunQuery(Pending, Now, V2, RunScope.QueueIds(new[] { "q1", "q2", "q1" })));
        // Before 2.8 the only scope is the run's own queue name, inside flow_runs.
        AssertJson("""{"flow_runs":{"state":{"type":{"any_":["RUNNING"]}},"work_queue_name":{"any_":["x"]}}}""",
            PrefectFilters.FlowRunQuery(Running, Now, PrefectServerVersion.Parse("2.7.12"), RunScope.QueueNames(new[] { "x" })));
    }

    public static TheoryData<BacklogMeasure[], string> ActiveRunBodies => new()
    {
        { new[] { Late }, """{"state":{"name":{"any_":["Late"]}}}""" },
        { new[] { Pending, Running }, """{"state":{"type":{"any_":["PENDING","RUNNING"]}}}""" },
        { new[] { Late, Running }, """{"state":{"name":{"any_":["Late"]},"operator":"or_","type":{"any_":["RUNNING"]}}}""" },
        { new[] { Due }, """{"state":{"type":{"any_":["SCHEDULED"]},"name":{"not_any_":["AwaitingConcurrencySlot"]}},"next_scheduled_start_time":{"before_":"NOW"}}""" },
        { new[] { Late, Due }, """{"operator":"or_","state":{"name":{"any_":["Late"]}},"next_scheduled_start_time":{"before_":"NOW"}}""" },
        {
            new[] { Late, Due, Pending, Running },
            """{"operator":"or_","state":{"name":{"any_":["Late"]},"operator":"or_","type":{"any_":["PENDING","RUNNING"]}},"next_scheduled_start_time":{"before_":"NOW"}}"""
        },
    };

    [Theory]
    [MemberData(nameof(ActiveRunBodies))]
    public void ThePagedReadAsksForWhatTheMeasuresCountJoinedWithOr(BacklogMeasure[] measures, string expected) =>
        AssertJson(expected.Replace("NOW", NowText), PrefectFilters.ActiveRunsFor(measures, Now, V3));

    [Fact]
    public void ThePagedReadIsScopedByPoolsOrQueueIdsAndRefusesQueueNames()
    {
        AssertJson("""{"work_pools":{"name":{"any_":["a"]}},"flow_runs":{"state":{"name":{"any_":["Late"]}}}}""",
            PrefectFilters.ActiveRunQuery(new[] { Late }, Now, V3, RunScope.Pools(new[] { "a" })));
        AssertJson("""{"work_pool_queues":{"id":{"any_":["q"]}},"flow_runs":{"state":{"type":{"any_":["SCHEDULED"]},"name":{"any_":["Scheduled","Late","AwaitingRetry"]}},"next_scheduled_start_time":{"before_":"NOW"}}}""".Replace("NOW", NowText),
            PrefectFilters.ActiveRunQuery(new[] { Due }, Now, V2, RunScope.QueueIds(new[] { "q" })));
        Assert.Throws<ArgumentException>(() => PrefectFilters.ActiveRunQuery(new[] { Late }, Now, V2, RunScope.QueueNames(new[] { "x" })));
        Assert.Throws<ArgumentException>(() => PrefectFilters.ActiveRunsFor(Array.Empty<BacklogMeasure>(), Now, V3));
    }

    [Fact]
    public void NowIsComparedAsTheServerReadsIt()
    {
        Assert.Equal(NowText, PrefectFilters.Timestamp(Now));
        Assert.Equal(DateTimeOffset.Parse(NowText), PrefectFilters.AsSent(Now));
        DateTimeOffset sent = PrefectFilters.AsSent(Now);
        // before_ is <=: a run due at exactly the time sent is due; a microsecond later it is not.
        Assert.True(PrefectFilters.Counts(Due, "SCHEDULED", "Scheduled", sent, Now, V3));
        Assert.False(PrefectFilters.Counts(Due, "SCHEDULED", "Scheduled", sent.AddTicks(10), Now, V3));
        // Now itself is past the microsecond sent: a run at Now is not yet due for the server.
        Assert.False(PrefectFilters.Counts(Due, "SCHEDULED", "Scheduled", Now, Now, V3));
    }

    /// <summary>Every state a run can be in, as the states table of the Prefect API reference has them, each due and not.</summary>
    public static TheoryData<string, string, bool, bool, bool, bool, bool, bool> States => new()
    {
        // type, name, due: Late, Due on 3.x, Due on 2.x, Pending, Running, and whether the run is past due
        { "SCHEDULED", "Scheduled", true, false, true, true, false, false },
        { "SCHEDULED", "Scheduled", false, false, false, false, false, false },
        { "SCHEDULED", "Late", true, true, true, true, false, false },
        { "SCHEDULED", "Late", false, true, false, false, false, false },
        { "SCHEDULED", "AwaitingRetry", true, false, true, true, false, false },
        { "SCHEDULED", "AwaitingConcurrencySlot", true, false, false, false, false, false },
        // A SCHEDULED state of a name Prefect does not make: 3.x's not_any_ counts it, 2.x's name list does not.
        { "SCHEDULED", "Deferred", true, false, true, false, false, false },
        { "PENDING", "Pending", true, false, false, false, true, false },
        { "PENDING", "Submitting", false, false, false, false, true, false },
        { "PENDING", "InfrastructurePending", false, false, false, false, true, false },
        { "RUNNING", "Running", false, false, false, false, false, true },
        { "RUNNING", "Retrying", false, false, false, false, false, true },
        { "PAUSED", "Suspended", true, false, false, false, false, false },
        { "CANCELLING", "Cancelling", false, false, false, false, false, false },
        { "COMPLETED", "Completed", true, false, false, false, false, false },
        { "CRASHED", "Crashed", false, false, false, false, false, false },
    };

    [Theory]
    [MemberData(nameof(States))]
    public void EachMeasureCountsARunExactlyAsItsFilterDoes(string type, string name, bool pastDue, bool late, bool due3, bool due2, bool pending, bool running)
    {
        DateTimeOffset? next = pastDue ? Now.AddMinutes(-5) : Now.AddHours(1);
        Assert.Equal(late, PrefectFilters.Counts(Late, type, name, next, Now, V3));
        Assert.Equal(late, PrefectFilters.Counts(Late, type, name, next, Now, V2));
        Assert.Equal(due3, PrefectFilters.Counts(Due, type, name, next, Now, V3));
        Assert.Equal(due2, PrefectFilters.Counts(Due, type, name, next, Now, V2));
        Assert.Equal(pending, PrefectFilters.Counts(Pending, type, name, next, Now, V3));
        Assert.Equal(running, PrefectFilters.Counts(Running, type, name, next, Now, V3));
    }

    [Fact]
    public void NullColumnsMatchNothingButWhatTheyDoNotTakePartIn()
    {
        Assert.False(PrefectFilters.Counts(Due, "SCHEDULED", "Scheduled", null, Now, V3));
        Assert.False(PrefectFilters.Counts(Due, "SCHEDULED", null, Now.AddMinutes(-1), Now, V3));
        Assert.False(PrefectFilters.Counts(Late, null, null, null, Now, V3));
        Assert.True(PrefectFilters.Counts(Running, "RUNNING", null, null, Now, V3));
    }

    private static ActiveRun Run(string type, string name, string? queueId, string? pool, double minutes = -5) =>
        new(type, name, Now.AddMinutes(minutes), queueId, pool);

    private static VerifiedScope Scope(string[] wholePools, string[] queueIds, params string[] pools) =>
        new(Array.Empty<RunScope>(), new HashSet<string>(wholePools), new HashSet<string>(queueIds), pools);

    [Fact]
    public void RunsAreTalliedToEveryScopeTheyAreInAndOnceEach()
    {
        var scopes = new[]
        {
            Scope(new[] { "a" }, Array.Empty<string>(), "a"),        // pool a
            Scope(Array.Empty<string>(), new[] { "a1", "b1" }, "a", "b"), // queues a1 of a, b1 of b
            Scope(new[] { "b" }, new[] { "b1" }, "b"),              // pool b, and b1 again (must not count twice)
        };
        var runs = new[]
        {
            Run("SCHEDULED", "Late", "a1", "a"),
            Run("SCHEDULED", "Late", "a2", "a"),
            Run("SCHEDULED", "Scheduled", "a2", "a"),                // due, not Late
            Run("SCHEDULED", "Scheduled", "a1", "a", minutes: 60),   // neither
            Run("SCHEDULED", "Late", "b1", "b"),
            Run("RUNNING", "Running", "b2", "b"),
            Run("SCHEDULED", "Late", "c1", "c"),                    // in no scope
        };
        int[][] tally = BindingTotalsReader.Tally(runs, scopes, new[] { Late, Due, Running }, Now, V3);
        Assert.Equal(new[] { 2, 3, 0 }, tally[0]);
        Assert.Equal(new[] { 2, 2, 0 }, tally[1]);
        Assert.Equal(new[] { 1, 1, 1 }, tally[2]);
    }

    [Fact]
    public void ARunWithoutItsPoolCannotBeGivenToAWholePoolScope()
    {
        var whole = new[] { Scope(new[] { "a" }, Array.Empty<string>(), "a") };
        PrefectApiException e = Assert.Throws<PrefectApiException>(() => BindingTotalsReader.Tally(new[] { Run("SCHEDULED", "Late", "a1", null) }, whole, new[] { Late }, Now, V3));
        Assert.Equal(PrefectErrorKind.UnexpectedResponse, e.Kind);
        // Runs that count for no measure, and queue scopes, do not need it.
        Assert.Equal(0, BindingTotalsReader.Tally(new[] { Run("COMPLETED", "Completed", "a1", null) }, whole, new[] { Late }, Now, V3)[0][0]);
        var queues = new[] { Scope(Array.Empty<string>(), new[] { "a1" }, "a") };
        Assert.Equal(1, BindingTotalsReader.Tally(new[] { Run("SCHEDULED", "Late", "a1", null) }, queues, new[] { Late }, Now, V3)[0][0]);
    }
}
