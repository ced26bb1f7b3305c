using PrefectScaling.Bindings;
using PrefectScaling.Metrics;

namespace PrefectScaling.Scaling.Tests;

/// <summary>The documented AWS limits, checked by the engine before any call.</summary>
public sealed class ScalingValidationTests
{
    private static ScalingPolicySpec Spec(Action<ScalingPolicySpec>? change = null)
    {
        var spec = new ScalingPolicySpec { Cluster = "prod", Service = "agent", Scope = BindingScope.From(new[] { "pool" }, new[] { "default" }), MinCapacity = 0, MaxCapacity = 4 };
        change?.Invoke(spec);
        return spec;
    }

    public static TheoryData<string, Action<ScalingPolicySpec>, string> Invalid => new()
    {
        { "NaN target", s => s.TargetValue = double.NaN, "-TargetValue" },
        { "infinite target", s => s.TargetValue = double.PositiveInfinity, "-TargetValue" },
        { "target above 2^359", s => s.TargetValue = 1.2e108, "1.174271e+108" },
        { "target below 2^-359", s => s.TargetValue = 1e-110, "8.515920e-109" },
        { "negative scale-out cooldown", s => s.ScaleOutCooldown = -1, "-ScaleOutCooldown" },
        { "negative scale-in cooldown", s => s.ScaleInCooldown = -5, "-ScaleInCooldown" },
        { "alarm period 0", s => { s.Kind = ScalingPolicyKind.StepScaling; s.AlarmPeriod = 0; }, "not 0" },
        { "negative alarm period", s => { s.Kind = ScalingPolicyKind.StepScaling; s.AlarmPeriod = -60; }, "not -60" },
        { "alarm period 45", s => { s.Kind = ScalingPolicyKind.StepScaling; s.AlarmPeriod = 45; }, "10, 20, 30 or a multiple of 60" },
        { "alarm period 10 on standard metrics", s => { s.Kind = ScalingPolicyKind.StepScaling; s.AlarmPeriod = 10; }, "high-resolution" },
        { "more than a day at one-minute periods", s => { s.Kind = ScalingPolicyKind.StepScaling; s.ScaleInAfterPeriods = 1441; }, "86,400" },
        { "more than seven days at hourly periods", s => { s.Kind = ScalingPolicyKind.StepScaling; s.AlarmPeriod = 3600; s.ScaleInAfterPeriods = 169; }, "604,800" },
        { "no evaluation period", s => { s.Kind = ScalingPolicyKind.StepScaling; s.ScaleInAfterPeriods = 0; }, "-ScaleInAfterPeriods" },
        { "21 steps", s => { s.Kind = ScalingPolicyKind.StepScaling; s.ScaleOutSteps = Enumerable.Range(1, 21).Select(i => new ScaleOutStep(i, i)).ToList(); }, "At most 20" },
        { "a step threshold past the metric range", s => { s.Kind = ScalingPolicyKind.StepScaling; s.ScaleOutSteps = new[] { new ScaleOutStep(1e109, 1) }; }, "1.174271e+108" },
        { "an AWS/ namespace", s => s.Metric.Namespace = "AWS/ECS", "AWS/" },
        { "a namespace starting with a colon", s => s.Metric.Namespace = ":Prefect", "':'" },
        { "a non-ASCII namespace", s => s.Metric.Namespace = "Préfect", "ASCII" },
        { "a 256-character namespace", s => s.Metric.Namespace = new string('n', 256), "255" },
        { "a 256-character metric name", s => s.Metric.MetricName = new string('m', 256), "255" },
        { "a control character in a metric name", s => s.Metric.MetricName = "Late\nRuns", "control character" },
        { "no scope", s => s.Scope = null, "needs a scope" },
        { "a cluster ARN", s => s.Cluster = "arn:aws:ecs:eu-west-1:123456789012:cluster/prod", "not an ARN" },
        { "a service name with a space", s => s.Service = "my agent", "letters, digits" },
        { "a 256-character cluster name", s => s.Cluster = new string('c', 256), "1 to 255" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Spec_is_refused(string what, Action<ScalingPolicySpec> change, string message)
    {
        var error = Assert.Throws<ArgumentException>(() => Spec(change).Validate());
        Assert.True(error.Message.Contains(message, StringComparison.Ordinal), what + ": " + error.Message);
    }

    [Fact]
    public void The_documented_edges_are_accepted()
    {
        Spec(s => s.TargetValue = 1.174271e+108).Validate();
        Spec(s => s.TargetValue = 8.515920e-109).Validate();
        Spec(s => { s.ScaleOutCooldown = 0; s.ScaleInCooldown = 0; }).Validate();
        Spec(s => { s.Kind = ScalingPolicyKind.StepScaling; s.Metric.StorageResolution = 1; s.AlarmPeriod = 20; }).Validate();
        Spec(s => { s.Kind = ScalingPolicyKind.StepScaling; s.ScaleInAfterPeriods = 1440; }).Validate();
        Spec(s => { s.Kind = ScalingPolicyKind.StepScaling; s.AlarmPeriod = 3600; s.ScaleInAfterPeriods = 168; }).Validate();
        Spec(s => { s.Kind = ScalingPolicyKind.StepScaling; s.ScaleOutSteps = Enumerable.Range(1, 20).Select(i => new ScaleOutStep(i, i)).ToList(); }).Validate();
        Spec(s => { s.Cluster = new string('c', 255); s.Service = "a_b-C9"; s.Scope = BindingScope.From(null, new[] { new string('q', 1024) }); s.Metric.Namespace = "Prefect/Team #1: a.b_c-d"; }).Validate();
    }

    [Theory]
    [InlineData("default", "default")]
    [InlineData("etl`?", "etl?")]
    [InlineData("a`*b", "a*b")]
    public void Exact_names_are_unescaped(string typed, string exact) => Assert.Equal(new[] { exact }, BindingScope.From(null, new[] { typed }).AnyPoolQueues);

    [Theory]
    [InlineData("etl-*")]
    [InlineData("q?")]
    [InlineData("[ab]c")]
    public void Wildcards_are_refused_for_a_binding(string typed)
    {
        Assert.Contains("names its scope exactly", Assert.Throws<ArgumentException>(() => BindingScope.From(null, new[] { typed })).Message);
        Assert.Contains("-WorkPool", Assert.Throws<ArgumentException>(() => BindingScope.From(new[] { typed }, null)).Message);
    }

    [Theory]
    [InlineData("a queue name over 1024 characters", null, "1025", "1024")]
    [InlineData("a blank queue", null, "  ", "cannot be empty")]
    [InlineData("a blank pool", "  ", null, "cannot be empty")]
    public void Bad_scope_names_are_refused(string what, string? pool, string? queue, string message)
    {
        string? Expand(string? name) => name == "1025" ? new string('q', 1025) : name;
        var error = Assert.ThrowsAny<ArgumentException>(() => new ScalingPolicySpec
        {
            Cluster = "prod", Service = "agent", MinCapacity = 0, MaxCapacity = 4,
            Scope = BindingScope.Of(pool == null ? Array.Empty<BindingScope.PoolPart>() : new[] { new BindingScope.PoolPart(Expand(pool)!, Array.Empty<string>()) }, queue == null ? null : new[] { Expand(queue)! }),
        }.Validate());
        Assert.True(error.Message.Contains(message, StringComparison.Ordinal), what + ": " + error.Message);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.NegativeInfinity)]
    [InlineData(2e108)]
    [InlineData(4e-109)]
    public void Metric_values_outside_CloudWatch_s_range_are_refused(double value)
    {
        Assert.Throws<ArgumentException>(() => BacklogMetricBuilder.Build(new BacklogSample { WorkQueue = "q", Count = value }, new BacklogMetricOptions(), DateTime.UtcNow));
        Assert.ThrowsAsync<ArgumentException>(() => new MetricPublisher(null!).PublishAsync(new[] { new BacklogMetricDatum { Namespace = "Prefect", MetricName = "M", Value = value } }, new RecordingLog(), default)).GetAwaiter().GetResult();
    }

    [Fact]
    public void Zero_and_the_range_edges_are_published()
    {
        foreach (double value in new[] { 0, 8.515920e-109, 1.174271e+108, 3 })
            Assert.Equal(value, BacklogMetricBuilder.Build(new BacklogSample { WorkQueue = "q", Count = value }, new BacklogMetricOptions(), DateTime.UtcNow).Value);
    }
}
