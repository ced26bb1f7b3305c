using PrefectScaling.Backlog;
using Xunit;

namespace PrefectScaling.Backlog.Tests;

/// <summary>Names as PowerShell patterns, and the pool × queue selectors the cmdlets make of them.</summary>
public sealed class ScopeSelectorTests
{
    [Theory]
    [InlineData("etl-*", "ETL-nightly", true)]
    [InlineData("etl-*", "report", false)]
    [InlineData("q?", "q1", true)]
    [InlineData("q[0-4]", "q5", false)]
    [InlineData("q[0-4]", "q3", true)]
    [InlineData("a`*b", "a*b", true)]
    [InlineData("a`*b", "axb", false)]
    public void WildcardsMatchLikePowerShell(string pattern, string name, bool expected) =>
        Assert.Equal(expected, new NamePattern(pattern).Matches(name));

    [Fact]
    public void ExactNamesAreCaseSensitiveAndUnescaped()
    {
        var pattern = new NamePattern("Team `[A`]");
        Assert.False(pattern.IsWildcard);
        Assert.Equal("Team [A]", pattern.Exact);
        Assert.True(pattern.Matches("Team [A]"));
        Assert.False(pattern.Matches("team [a]"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void BlankNamesAreRejected(string name) => Assert.Throws<ArgumentException>(() => new NamePattern(name));

    [Fact]
    public void PoolsAndQueuesCombineIntoEveryPairAndABadNameLosesOnlyItsPairs()
    {
        List<ScopeSelector> selectors = ScopeSelector.Combine(new[] { "a", "b" }, new[] { "x", " ", "y*" }, out var invalid);
        Assert.Equal(new[] { "a/x", "a/y*", "b/x", "b/y*" }, selectors.Select(s => s.Pool + "/" + s.Queue));
        Assert.Equal(new[] { " ", " " }, invalid.Select(i => i.Name));
        Assert.All(invalid, i => Assert.IsAssignableFrom<ArgumentException>(i.Error));

        ScopeSelector.Combine(new[] { " " }, new[] { "x", "y" }, out invalid);
        Assert.Equal(new[] { " ", " " }, invalid.Select(i => i.Name));
    }

    [Fact]
    public void NoPoolsMeansAnyPoolAndNoQueuesEveryQueue()
    {
        Assert.True(Assert.Single(ScopeSelector.Combine(null, null, out var none)).IsEverything);
        Assert.Empty(none);
        ScopeSelector pool = Assert.Single(ScopeSelector.Combine(new[] { "k8s" }, null, out _));
        Assert.Equal("k8s", pool.Pool!.Exact);
        Assert.Null(pool.Queue);
        ScopeSelector queue = Assert.Single(ScopeSelector.Combine(null, new[] { "default" }, out _));
        Assert.Null(queue.Pool);
        Assert.Equal("default", queue.Queue!.Exact);
    }
}
