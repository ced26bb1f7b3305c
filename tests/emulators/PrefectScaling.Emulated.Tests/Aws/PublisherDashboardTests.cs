using System.Text.Json.Nodes;
using PrefectScaling.Bindings;
using PrefectScaling.Publisher;
using PrefectScaling.Scaling;
using CW = PrefectScaling.Aws.AwsOperations.CloudWatch;
using ECS = PrefectScaling.Aws.AwsOperations.Ecs;

namespace PrefectScaling.Aws.Tests;

/// <summary>Against moto: the publisher's dashboard is read, put, left as it is when nothing changed, and deleted;
/// it shows Container Insights only where the cluster has it on and the alarms of the service's scaling policies; a
/// dashboard of the publisher's name that the module did not make is neither changed nor deleted.</summary>
[Collection(MotoCollection.Name)]
public sealed class PublisherDashboardTests
{
    private readonly MotoFixture _moto;
    private readonly RecordingLog _log = new();
    private readonly string _p = "d" + Guid.NewGuid().ToString("N")[..6];

    public PublisherDashboardTests(MotoFixture moto) { _moto = moto; }

    private PublisherInstallSpec Spec(string name, params ServiceBinding[] bindings)
    {
        var spec = new PublisherInstallSpec { Name = name, Package = new byte[] { 1, 2, 3 } };
        spec.Configuration.ApiUrl = "https://prefect.example.com/api";
        spec.Configuration.Bindings = bindings;
        spec.Validate();
        return spec;
    }

    private async Task CreateServiceAsync(AwsContext aws, string cluster, string service, bool containerInsights)
    {
        var create = new JsonObject { ["clusterName"] = cluster };
        if (containerInsights) create["settings"] = new JsonArray(new JsonObject { ["name"] = "containerInsights", ["value"] = "enabled" });
        await aws.InvokeAsync(ECS.CreateCluster, create, _log, default);
        await aws.InvokeAsync(ECS.RegisterTaskDefinition, Json.Obj("""
            {"family":"worker","containerDefinitions":[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]}
            """), _log, default);
        await aws.InvokeAsync(ECS.CreateService, new JsonObject { ["cluster"] = cluster, ["serviceName"] = service, ["taskDefinition"] = "worker", ["desiredCount"] = 1 }, _log, default);
    }

    private async Task SetAsync(AwsContext aws, ScalingPolicySpec spec)
    {
        var planner = new EcsScalingPlanner(aws);
        foreach (AwsChange change in planner.PlanSet(spec, await planner.ReadAsync(spec.Cluster, spec.Service, _log, default))) await change.Apply(_log, default);
    }

    private static List<AwsChange> DashboardChanges(IEnumerable<AwsChange> changes) => changes.Where(c => c.Action.Contains("CloudWatch dashboard", StringComparison.Ordinal)).ToList();

    private async Task<string?> BodyAsync(AwsContext aws, string name)
    {
        try { return (string?)(await aws.InvokeAsync(CW.GetDashboard, new JsonObject { ["DashboardName"] = name }, _log, default))!["DashboardBody"]; }
        catch (AwsApiException e) when (e.Kind == AwsErrorKind.NotFound) { return null; }
    }

    [Fact]
    public async Task Install_puts_the_dashboard_once_with_each_service_s_alarms_and_uninstall_deletes_it()
    {
        using AwsContext aws = _moto.Context();
        string insightsCluster = _p + "-ci", plainCluster = _p + "-plain";
        await CreateServiceAsync(aws, insightsCluster, "agent", containerInsights: true);
        await CreateServiceAsync(aws, plainCluster, "agent", containerInsights: false);
        await SetAsync(aws, new ScalingPolicySpec { Cluster = insightsCluster, Service = "agent", Scope = BindingScope.From(null, new[] { "etl" }), MinCapacity = 0, MaxCapacity = 4, Kind = ScalingPolicyKind.StepScaling });
        await SetAsync(aws, new ScalingPolicySpec { Cluster = plainCluster, Service = "agent", Scope = BindingScope.From(null, new[] { "etl" }), MinCapacity = 1, MaxCapacity = 4, Kind = ScalingPolicyKind.TargetTracking });
        var step = new ServiceBinding(insightsCluster, "agent", BindingScope.From(new[] { "k8s" }, null));
        var tracking = new ServiceBinding(plainCluster, "agent", BindingScope.From(new[] { "eu" }, new[] { "etl" }));
        PublisherInstallSpec spec = Spec(_p, step, tracking);
        var installer = new PublisherInstaller(aws);

        PublisherState before = await installer.ReadAsync(_p, false, _log, default, spec.Configuration.Bindings);
        Assert.Null(before.DashboardBody);
        DashboardBindingFacts stepFacts = before.DashboardFacts!.Single(f => f.Binding.Equals(step));
        DashboardBindingFacts trackingFacts = before.DashboardFacts!.Single(f => f.Binding.Equals(tracking));
        Assert.True(stepFacts.ContainerInsights);
        Assert.False(trackingFacts.ContainerInsights);

        // Step scaling: the module's own two alarms. Target tracking: the alarms AWS made for the policy.
        JsonArray ownAlarms = (await aws.InvokeAsync(CW.DescribeAlarms, new JsonObject { ["AlarmNamePrefix"] = ScalingNames.ServiceHead(insightsCluster, "agent") }, _log, default))!["MetricAlarms"]!.AsArray();
        Assert.Equal(2, ownAlarms.Count);
        Assert.Equal(ownAlarms.Select(a => (string)a!["AlarmArn"]!).Order(StringComparer.Ordinal), stepFacts.AlarmArns.Order(StringComparer.Ordinal));
        JsonArray trackingAlarms = (await aws.InvokeAsync(CW.DescribeAlarms, new JsonObject { ["AlarmNamePrefix"] = "TargetTracking-service/" + plainCluster + "/agent-" }, _log, default))!["MetricAlarms"]!.AsArray();
        Assert.NotEmpty(trackingAlarms);
        // And the busy guard's scale-in alarm, the module's own.
        JsonArray guardAlarms = (await aws.InvokeAsync(CW.DescribeAlarms, new JsonObject { ["AlarmNamePrefix"] = ScalingNames.ServiceHead(plainCluster, "agent") }, _log, default))!["MetricAlarms"]!.AsArray();
        Assert.Single(guardAlarms);
        Assert.Equal(trackingAlarms.Concat(guardAlarms).Select(a => (string)a!["AlarmArn"]!).Order(StringComparer.Ordinal), trackingFacts.AlarmArns.Order(StringComparer.Ordinal));

        AwsChange put = Assert.Single(DashboardChanges(installer.PlanInstall(spec, before)));
        Assert.Equal("Create CloudWatch dashboard (2 binding(s)): " + _p, put.ToString());
        await put.Apply(_log, default);

        string body = (await BodyAsync(aws, _p))!;
        Assert.True(PublisherDashboard.IsOwned(body, _p));
        JsonArray widgets = JsonNode.Parse(body)!["widgets"]!.AsArray();
        List<string> Shown(string cluster) => widgets.Single(w => (string)w!["type"]! == "alarm" && (string?)w["properties"]!["title"] == cluster + "/agent scaling alarms")!
            ["properties"]!["alarms"]!.AsArray().Select(a => (string)a!).ToList();
        Assert.Equal(stepFacts.AlarmArns, Shown(insightsCluster));
        Assert.Equal(trackingFacts.AlarmArns, Shown(plainCluster));
        Assert.Contains(widgets, w => (string?)w!["properties"]!["title"] == plainCluster + "/agent tasks (running: turn on Container Insights)");
        Assert.Contains(widgets, w => (string?)w!["properties"]!["title"] == insightsCluster + "/agent tasks");

        // Run again: nothing to put. A policy of another kind since (new alarms): the dashboard follows.
        PublisherState again = await installer.ReadAsync(_p, false, _log, default, spec.Configuration.Bindings);
        Assert.True(again.DashboardIsManaged);
        Assert.Empty(DashboardChanges(installer.PlanInstall(spec, again)));
        await SetAsync(aws, new ScalingPolicySpec { Cluster = plainCluster, Service = "agent", Scope = BindingScope.From(null, new[] { "etl" }), MinCapacity = 0, MaxCapacity = 4, Kind = ScalingPolicyKind.StepScaling });
        PublisherState switched = await installer.ReadAsync(_p, false, _log, default, spec.Configuration.Bindings);
        AwsChange update = Assert.Single(DashboardChanges(installer.PlanInstall(spec, switched)));
        Assert.StartsWith("Update CloudWatch dashboard", update.Action, StringComparison.Ordinal);

        PublisherState installed = await installer.ReadAsync(_p, false, _log, default);
        Assert.Contains("CloudWatch dashboard " + _p, installed.Found());
        AwsChange delete = Assert.Single(DashboardChanges(installer.PlanUninstall(installed)));
        Assert.Equal("Delete CloudWatch dashboard: " + _p, delete.ToString());
        await delete.Apply(_log, default);
        Assert.Null(await BodyAsync(aws, _p));
        Assert.Empty(DashboardChanges(installer.PlanUninstall(await installer.ReadAsync(_p, false, _log, default))));
    }

    [Fact]
    public async Task A_dashboard_of_the_publisher_s_name_that_the_module_did_not_make_is_left_alone()
    {
        using AwsContext aws = _moto.Context();
        const string theirs = """{"widgets":[{"type":"text","x":0,"y":0,"width":6,"height":2,"properties":{"markdown":"Our team's own board"}}]}""";
        await aws.InvokeAsync(CW.PutDashboard, new JsonObject { ["DashboardName"] = _p, ["DashboardBody"] = theirs }, _log, default);
        var installer = new PublisherInstaller(aws);

        PublisherState state = await installer.ReadAsync(_p, false, _log, default, Array.Empty<ServiceBinding>());
        Assert.Equal(theirs, state.DashboardBody);
        Assert.False(state.DashboardIsManaged);
        var refused = Assert.Throws<ResourceOwnershipException>(() => installer.PlanInstall(Spec(_p), state));
        Assert.Contains("CloudWatch dashboard " + _p, refused.Message);
        Assert.Empty(DashboardChanges(installer.PlanUninstall(state)));
        Assert.Single(state.NotOwned(), o => o.Contains("dashboard", StringComparison.Ordinal));
        Assert.Equal(theirs, await BodyAsync(aws, _p));
    }
}
