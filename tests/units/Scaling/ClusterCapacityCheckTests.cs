using System.Text.Json.Nodes;

namespace PrefectScaling.Scaling.Tests;

/// <summary>Where a service's tasks go and how many more fit, from answers shaped as ECS gives them (no AWS call).
/// Capacity providers are read here because moto ignores a service's capacityProviderStrategy.</summary>
public sealed class ClusterCapacityCheckTests
{
    private static JsonObject O(string json) => JsonNode.Parse(json)!.AsObject();

    private static JsonObject Provider(string name, string? managedScaling)
    {
        JsonObject provider = O("""{"status":"ACTIVE"}""");
        provider["name"] = name;
        if (managedScaling != null) provider["autoScalingGroupProvider"] = new JsonObject { ["autoScalingGroupArn"] = "arn:asg", ["managedScaling"] = new JsonObject { ["status"] = managedScaling } };
        return provider;
    }

    private static JsonObject Instance(int cpu, int memory, string status = "ACTIVE") => O($$"""
        {"status":"{{status}}","remainingResources":[{"name":"CPU","type":"INTEGER","integerValue":{{cpu}}},{"name":"MEMORY","type":"INTEGER","integerValue":{{memory}}},
         {"name":"PORTS","type":"STRINGSET","stringSetValue":["22"]}]}
        """);

    [Theory]
    [InlineData("""{"launchType":"FARGATE"}""", false, "Fargate")]
    [InlineData("""{"capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1},{"capacityProvider":"FARGATE","base":1}]}""", false, "capacity providers that scale")]
    [InlineData("""{"capacityProviderStrategy":[{"capacityProvider":"asg-scaling","weight":1}]}""", false, "capacity providers that scale")]
    [InlineData("""{"capacityProviderStrategy":[{"capacityProvider":"asg-fixed","weight":1},{"capacityProvider":"asg-scaling","weight":1}]}""", true, "the capacity provider asg-fixed without managed scaling")]
    [InlineData("""{"capacityProviderStrategy":[{"capacityProvider":"asg-unknown","weight":1}]}""", true, "the capacity provider asg-unknown without managed scaling")]
    [InlineData("""{"launchType":"EC2"}""", true, "the EC2 launch type, without a capacity provider")]
    [InlineData("""{"launchType":"EXTERNAL"}""", true, "external instances (ECS Anywhere)")]
    [InlineData("""{}""", true, "the EC2 launch type, without a capacity provider")]
    public void Tasks_go_to_capacity_that_grows_or_to_fixed_capacity(string service, bool fixedCapacity, string reason)
    {
        var providers = new[] { Provider("asg-scaling", "ENABLED"), Provider("asg-fixed", "DISABLED") };
        ClusterCapacityCheck.Placement placement = ClusterCapacityCheck.PlacementOf(O(service), null, providers);
        Assert.Equal((fixedCapacity, reason), (placement.FixedCapacity, placement.Reason));
    }

    [Fact]
    public void A_service_with_neither_launch_type_nor_strategy_takes_the_cluster_s_default_strategy()
    {
        JsonObject cluster = O("""{"clusterName":"c","defaultCapacityProviderStrategy":[{"capacityProvider":"asg-scaling","weight":1}]}""");
        Assert.False(ClusterCapacityCheck.PlacementOf(O("{}"), cluster, new[] { Provider("asg-scaling", "ENABLED") }).FixedCapacity);
        // The service's own launch type wins over the cluster's default.
        Assert.True(ClusterCapacityCheck.PlacementOf(O("""{"launchType":"EC2"}"""), cluster, new[] { Provider("asg-scaling", "ENABLED") }).FixedCapacity);
    }

    [Theory]
    [InlineData("""{"cpu":"1024","memory":"2048","containerDefinitions":[{"cpu":10,"memory":10}]}""", 1024, 2048)]
    [InlineData("""{"containerDefinitions":[{"cpu":256,"memory":512},{"cpu":128,"memoryReservation":256,"memory":1024}]}""", 384, 768)]
    [InlineData("""{"containerDefinitions":[{"name":"x"}]}""", 0, 0)]
    public void A_task_reserves_its_task_level_size_else_its_containers(string definition, int cpu, int memory) =>
        Assert.Equal((cpu, memory), ClusterCapacityCheck.Reservation(O(definition)));

    private static readonly ClusterCapacityCheck.Placement Ec2 = new(true, "the EC2 launch type, without a capacity provider");
    private static readonly JsonObject Task = O("""{"family":"agent","revision":3,"cpu":"1024","memory":"2048"}""");

    [Fact]
    public void A_maximum_above_what_the_instances_have_left_is_a_second_warning_with_the_room()
    {
        // 4096/1024 = 4 by CPU, 7482/2048 = 3 by memory: 3 on the first; 1 on the second; none on a draining one.
        var instances = new[] { Instance(4096, 7482), Instance(1024, 4096), Instance(4096, 8192, status: "DRAINING") };
        JsonObject service = O("""{"runningCount":2,"pendingCount":1}""");

        IReadOnlyList<string> fits = ClusterCapacityCheck.Evaluate("prod", "agent", 7, service, Ec2, instances, Task);
        string only = Assert.Single(fits);
        Assert.Contains("does not grow when the service scales out", only);
        Assert.Contains("Its 2 container instance(s) have room for 4 more task(s) now", only);

        IReadOnlyList<string> over = ClusterCapacityCheck.Evaluate("prod", "agent", 8, service, Ec2, instances, Task);
        Assert.Equal(2, over.Count);
        Assert.Equal("-MaxCapacity 8 may not fit in cluster prod: it would add up to 5 task(s) to the 3 placed, but the container instances have room for 4 more of agent:3 (1024 CPU units, 2048 MiB each). Add instances or lower -MaxCapacity.", over[1]);
    }

    [Fact]
    public void No_instance_or_no_reservation_says_so_rather_than_a_count()
    {
        JsonObject service = O("""{"runningCount":0,"pendingCount":0}""");
        Assert.Contains("no active container instance now", Assert.Single(ClusterCapacityCheck.Evaluate("prod", "agent", 3, service, Ec2, Array.Empty<JsonObject>(), Task)));
        Assert.Contains("how many tasks fit is not known", Assert.Single(ClusterCapacityCheck.Evaluate("prod", "agent", 3, service, Ec2, new[] { Instance(4096, 7482) }, O("""{"containerDefinitions":[{"name":"x"}]}"""))));
    }

    [Fact]
    public void Capacity_that_grows_gives_no_warning()
    {
        var grows = new ClusterCapacityCheck.Placement(false, "Fargate");
        Assert.Empty(ClusterCapacityCheck.Evaluate("prod", "agent", 1000, O("{}"), grows, Array.Empty<JsonObject>(), Task));
    }
}
