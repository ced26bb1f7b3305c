using PrefectScaling.Prefect;
using Xunit;

namespace PrefectScaling.Publisher.Tests;

/// <summary>How the publisher's function shares its Lambda timeout between the samples of a minute.</summary>
public sealed class PublisherTimeoutTests
{
    [Fact]
    public void ALateSampleGetsOnlyWhatIsLeftOfTheFunctionsTimeout()
    {
        var every10 = new PublisherConfiguration { SampleIntervalSeconds = 10 };
        var everyMinute = new PublisherConfiguration();
        Assert.Equal(TimeSpan.FromSeconds(60), PublisherCycle.PrefectBudget(everyMinute, TimeSpan.Zero));
        Assert.Equal(TimeSpan.FromSeconds(120), PublisherCycle.PrefectBudget(every10, TimeSpan.Zero));
        // The sixth sample, started 100 s in after slow ones: 20 s, then nothing.
        Assert.Equal(TimeSpan.FromSeconds(20), PublisherCycle.PrefectBudget(every10, TimeSpan.FromSeconds(100)));
        Assert.True(PublisherCycle.PrefectBudget(every10, TimeSpan.FromSeconds(125)) <= TimeSpan.Zero);
    }

    [Fact]
    public void TheFunctionTimeoutIsLongerThanTheReadDeadlineForEverySampleInterval()
    {
        foreach (int interval in new[] { 60, 30, 20, 15, 10 })
        {
            int timeout = PublisherInstallSpec.TimeoutFor(interval);
            // The last sample starts up to a minute in; its read then gets the whole deadline, and AWS its allowance.
            int lastStart = interval < 60 ? 60 : 0;
            Assert.True(timeout >= lastStart + PrefectHttpOptions.DefaultDeadlineSeconds + PublisherInstallSpec.AwsAllowanceSeconds, interval + " s: " + timeout);
            Assert.True(timeout <= 900, "Lambda allows 900 s");
        }
    }
}
