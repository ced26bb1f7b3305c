using System.Text.Json.Nodes;
using PrefectScaling.Backlog;
using PrefectScaling.Bindings;

namespace PrefectScaling.Publisher.Tests;

/// <summary>The publisher role's capacity statements: only for a publisher that counts Upcoming, registering ECS
/// service targets only, and updating only the bound services.</summary>
public sealed class CapacityRoleTests
{
    private static PublisherInstallSpec Spec(params BacklogMeasure[] measures)
    {
        var spec = new PublisherInstallSpec { Name = "pub", Package = new byte[] { 1 } };
        spec.Configuration.ApiUrl = "https://prefect.example.com/api";
        spec.Configuration.Bindings = new[] { new ServiceBinding("prod", "a", BindingScope.From(new[] { "p" }, null)), new ServiceBinding("prod", "b", BindingScope.From(new[] { "q" }, null)) };
        spec.Configuration.Measures = measures;
        spec.Validate();
        return spec;
    }

    private static Dictionary<string, JsonObject> Statements(PublisherInstallSpec spec) =>
        PublisherPolicies.Inline(spec, new PublisherState { Name = "pub", Region = "eu-west-1", AccountId = "123456789012" })["Statement"]!.AsArray()
            .OfType<JsonObject>().ToDictionary(s => (string)s["Sid"]!);

    [Fact]
    public void A_publisher_that_counts_upcoming_runs_may_hold_the_minimum_of_ecs_service_targets_and_nothing_more()
    {
        Dictionary<string, JsonObject> all = Statements(Spec(BacklogMeasure.Due, BacklogMeasure.Upcoming, BacklogMeasure.InFlight));
        JsonObject register = all["HoldCapacityMinimum"];
        Assert.Equal("application-autoscaling:RegisterScalableTarget", (string?)register["Action"]);
        Assert.Equal("arn:aws:application-autoscaling:eu-west-1:123456789012:scalable-target/*", (string?)register["Resource"]);
        Assert.Equal("ecs", (string?)register["Condition"]!["StringEquals"]!["application-autoscaling:service-namespace"]);
        Assert.Equal("ecs:service:DesiredCount", (string?)register["Condition"]!["StringEquals"]!["application-autoscaling:scalable-dimension"]);
        Assert.Equal("arn:aws:cloudwatch:eu-west-1:123456789012:alarm:PrefectScaling/*", (string?)all["FindCapacityPolicies"]["Resource"]);
        Assert.Equal(new[] { "arn:aws:ecs:eu-west-1:123456789012:service/prod/a", "arn:aws:ecs:eu-west-1:123456789012:service/prod/b" },
            all[CapacityApplier.UpdateServicesSid]["Resource"]!.AsArray().Select(r => (string?)r));
        Assert.Equal("ecs:UpdateService", (string?)all[CapacityApplier.UpdateServicesSid]["Action"]);
    }

    [Fact]
    public void Any_other_publisher_gets_no_capacity_statement()
    {
        Dictionary<string, JsonObject> all = Statements(Spec(BacklogMeasure.Late, BacklogMeasure.Due, BacklogMeasure.InFlight));
        Assert.DoesNotContain("HoldCapacityMinimum", all.Keys);
        Assert.DoesNotContain("FindCapacityPolicies", all.Keys);
        Assert.DoesNotContain("ReadScalableTargets", all.Keys);
        Assert.DoesNotContain(CapacityApplier.UpdateServicesSid, all.Keys);
    }
}
