using PrefectScaling.Prefect;
using Xunit;

namespace PrefectScaling.Publisher.Tests;

/// <summary>The publisher's Lambda timeout: what one sample needs, since every invocation takes one sample.</summary>
public sealed class PublisherTimeoutTests
{
    [Fact]
    public void A_sample_gets_only_what_is_left_of_the_functions_timeout()
    {
        var every10 = new PublisherConfiguration { SampleIntervalSeconds = 10 };
        var everyMinute = new PublisherConfiguration();
        Assert.Equal(TimeSpan.FromSeconds(PrefectHttpOptions.DefaultDeadlineSeconds), PublisherCycle.PrefectBudget(everyMinute, TimeSpan.Zero));
        Assert.Equal(PublisherCycle.PrefectBudget(everyMinute, TimeSpan.Zero), PublisherCycle.PrefectBudget(every10, TimeSpan.Zero));
        // A cold start that took 45 s leaves its sample 15 s, then nothing.
        Assert.Equal(TimeSpan.FromSeconds(15), PublisherCycle.PrefectBudget(every10, TimeSpan.FromSeconds(45)));
        Assert.True(PublisherCycle.PrefectBudget(every10, TimeSpan.FromSeconds(61)) <= TimeSpan.Zero);
    }

    [Fact]
    public void The_timeout_is_one_read_and_the_aws_calls_whatever_the_interval()
    {
        int oneSample = PrefectHttpOptions.DefaultDeadlineSeconds + PublisherInstallSpec.AwsAllowanceSeconds;
        foreach (int interval in new[] { 60, 30, 20, 15, 10 })
        {
            // Nothing waits for a later sample inside the invocation any more: no minute is added for sub-minute sampling.
            Assert.Equal(oneSample, PublisherInstallSpec.TimeoutFor(interval));
            var spec = new PublisherInstallSpec();
            spec.Configuration.SampleIntervalSeconds = interval;
            Assert.Equal(oneSample, spec.Timeout);
        }
    }
}
