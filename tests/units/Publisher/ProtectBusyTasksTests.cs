using System.Text.Json.Nodes;
using PrefectScaling.Bindings;

namespace PrefectScaling.Publisher.Tests;

/// <summary>-ProtectBusyTasks in the publisher's configuration and on its role: stored, read back, only with bindings,
/// and the ECS task permissions only while it is on, limited to the bound clusters.</summary>
public sealed class ProtectBusyTasksTests
{
    private static PublisherInstallSpec Spec(bool? protect, params (string Cluster, string Service)[] services)
    {
        var spec = new PublisherInstallSpec { Name = "pub", Package = new byte[] { 1 }, ProtectBusyTasks = protect };
        spec.Configuration.ApiUrl = "https://prefect.example.com/api";
        spec.Configuration.Bindings = services.Select(s => new ServiceBinding(s.Cluster, s.Service, BindingScope.From(new[] { "pool" }, null))).ToList();
        spec.Validate();
        return spec;
    }

    private static Dictionary<string, JsonObject> Statements(PublisherInstallSpec spec) =>
        PublisherPolicies.Inline(spec, new PublisherState { Name = "pub", Region = "eu-west-1", AccountId = "123456789012" })["Statement"]!.AsArray()
            .Select(s => s!.AsObject()).ToDictionary(s => (string)s["Sid"]!);

    [Fact]
    public void It_is_stored_in_the_environment_and_read_back()
    {
        PublisherConfiguration on = Spec(true, ("prod", "a")).Configuration;
        Dictionary<string, string> variables = on.ToEnvironment();
        Assert.Equal("true", variables[PublisherConfiguration.ProtectBusyTasksVariable]);
        variables[PublisherConfiguration.BindingsStampVariable] = "stamp";
        Assert.True(PublisherConfiguration.FromEnvironment(n => variables.TryGetValue(n, out string? v) ? v : null).ProtectBusyTasks);

        Dictionary<string, string> off = Spec(null, ("prod", "a")).Configuration.ToEnvironment();
        Assert.False(off.ContainsKey(PublisherConfiguration.ProtectBusyTasksVariable));
    }

    [Fact]
    public void It_needs_bindings()
    {
        var spec = new PublisherInstallSpec { Name = "pub", Package = new byte[] { 1 }, ProtectBusyTasks = true };
        spec.Configuration.ApiUrl = "https://prefect.example.com/api";
        Assert.Contains("-ProtectBusyTasks goes with bindings", Assert.Throws<ArgumentException>(spec.Validate).Message, StringComparison.Ordinal);
        var variables = new Dictionary<string, string> { [PublisherConfiguration.ApiUrlVariable] = "https://p.example.com/api", [PublisherConfiguration.ProtectBusyTasksVariable] = "yes" };
        Assert.Throws<ArgumentException>(() => PublisherConfiguration.FromEnvironment(n => variables.TryGetValue(n, out string? v) ? v : null));
    }

    [Fact]
    public void The_role_may_list_and_protect_tasks_of_the_bound_clusters_only_and_only_while_it_is_on()
    {
        Dictionary<string, JsonObject> on = Statements(Spec(true, ("prod", "a"), ("prod", "b"), ("batch", "c")));
        JsonObject list = on["ListBoundClusterTasks"];
        Assert.Equal(new[] { "ecs:ListTasks", "ecs:DescribeTasks" }, list["Action"]!.AsArray().Select(a => (string)a!));
        Assert.Equal(new[] { "arn:aws:ecs:eu-west-1:123456789012:cluster/batch", "arn:aws:ecs:eu-west-1:123456789012:cluster/prod" },
            list["Condition"]!["ArnEquals"]!["ecs:cluster"]!.AsArray().Select(a => (string)a!));
        JsonObject protect = on["ProtectBoundClusterTasks"];
        Assert.Equal(new[] { "ecs:UpdateTaskProtection", "ecs:GetTaskProtection" }, protect["Action"]!.AsArray().Select(a => (string)a!));
        Assert.Equal(new[] { "arn:aws:ecs:eu-west-1:123456789012:task/batch/*", "arn:aws:ecs:eu-west-1:123456789012:task/prod/*" },
            protect["Resource"]!.AsArray().Select(a => (string)a!));

        Dictionary<string, JsonObject> off = Statements(Spec(false, ("prod", "a")));
        Assert.False(off.ContainsKey("ListBoundClusterTasks"));
        Assert.False(off.ContainsKey("ProtectBoundClusterTasks"));
        Assert.DoesNotContain(off.Values, s => s.ToJsonString().Contains("Task", StringComparison.Ordinal) && s.ToJsonString().Contains("ecs:ListTasks", StringComparison.Ordinal));
    }
}
