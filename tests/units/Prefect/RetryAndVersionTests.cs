using System.Net.Http.Headers;
using PrefectScaling.Backlog;
using Xunit;

namespace PrefectScaling.Prefect.Tests;

/// <summary>How the client waits between retries, and what a server's version lets it send.</summary>
public sealed class RetryAndVersionTests
{
    [Fact]
    public void RetryAfterIsReadAsSecondsOrAsAnHttpDate()
    {
        DateTimeOffset now = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(7), RetryTiming.ParseRetryAfter(RetryConditionHeaderValue.Parse("7"), null, now));
        Assert.Equal(TimeSpan.FromSeconds(30), RetryTiming.ParseRetryAfter(RetryConditionHeaderValue.Parse(now.AddSeconds(30).ToString("r")), null, now));
        Assert.Equal(TimeSpan.FromSeconds(1.5), RetryTiming.ParseRetryAfter(null, "1.5", now));
        Assert.Null(RetryTiming.ParseRetryAfter(null, "soon", now));
    }

    [Fact]
    public void BackoffDoublesWithJitterAndIsCapped()
    {
        for (int i = 0; i < 50; i++)
        {
            double first = RetryTiming.Backoff(1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)).TotalSeconds;
            double third = RetryTiming.Backoff(3, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)).TotalSeconds;
            double capped = RetryTiming.Backoff(20, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)).TotalSeconds;
            Assert.InRange(first, 0.8, 1.2);
            Assert.InRange(third, 3.2, 4.8);
            Assert.InRange(capped, 8, 12);
        }
    }

    [Theory]
    [InlineData("3.8.3", 3, 8, true, true)]
    [InlineData("2.20.25", 2, 20, true, false)]
    [InlineData("2.7.12", 2, 7, false, false)]
    [InlineData("3.1.0rc1", 3, 1, true, true)]
    public void VersionsDecideWhatMaySent(string text, int major, int minor, bool pools, bool notAny)
    {
        var version = PrefectServerVersion.Parse(text);
        Assert.Equal(major, version.Version.Major);
        Assert.Equal(minor, version.Version.Minor);
        Assert.Equal(pools, version.HasWorkPools);
        Assert.Equal(notAny, version.HasStateNotAny);
    }

    [Fact]
    public void DueOn2xNamesTheStatesInsteadOfExcluding()
    {
        var now = DateTimeOffset.UtcNow;
        string v2 = PrefectFilters.FlowRunsFor(BacklogMeasure.Due, now, PrefectServerVersion.Parse("2.20.25")).ToJsonString();
        string v3 = PrefectFilters.FlowRunsFor(BacklogMeasure.Due, now, PrefectServerVersion.Parse("3.8.3")).ToJsonString();
        Assert.DoesNotContain("not_any_", v2);
        Assert.Contains("AwaitingRetry", v2);
        Assert.Contains("\"not_any_\":[\"AwaitingConcurrencySlot\"]", v3);
    }
}
