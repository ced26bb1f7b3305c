using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using PrefectScaling.Scaling;
using ECS = PrefectScaling.Aws.AwsOperations.Ecs;

namespace PrefectScaling.Aws.Tests;

/// <summary>Against moto: the capacity check reads the service, its container instances and its task definition,
/// and warns when a maximum needs more room than the instances have left (moto's instances have 4096 CPU units and
/// 7482 MiB each).</summary>
[Collection(MotoCollection.Name)]
public sealed class ClusterCapacityCheckTests
{
    private readonly MotoFixture _moto;
    private readonly RecordingLog _log = new();
    private readonly string _p = "k" + Guid.NewGuid().ToString("N")[..6];

    public ClusterCapacityCheckTests(MotoFixture moto) { _moto = moto; }

    /// <summary>EC2 RunInstances, straight to moto: the module speaks no EC2. moto routes by the credential scope
    /// and checks no signature.</summary>
    private async Task<List<string>> RunInstancesAsync(int count)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, _moto.Url + "/")
        {
            Content = new StringContent("Action=RunInstances&Version=2016-11-15&ImageId=ami-12345678&InstanceType=m5.large&MinCount=" + count + "&MaxCount=" + count,
                System.Text.Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20240101/" + MotoFixture.Region + "/ec2/aws4_request, SignedHeaders=host, Signature=0");
        using HttpResponseMessage response = await http.SendAsync(request);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return Regex.Matches(body, "<instanceId>([^<]+)</instanceId>").Select(m => m.Groups[1].Value).ToList();
    }

    private async Task ServiceAsync(AwsContext aws, string cluster, int instances, string launchType = "EC2")
    {
        await aws.InvokeAsync(ECS.CreateCluster, new JsonObject { ["clusterName"] = cluster }, _log, default);
        foreach (string id in await RunInstancesAsync(instances))
            await aws.InvokeAsync(ECS.RegisterContainerInstance, new JsonObject { ["cluster"] = cluster, ["instanceIdentityDocument"] = new JsonObject { ["instanceId"] = id }.ToJsonString() }, _log, default);
        await aws.InvokeAsync(ECS.RegisterTaskDefinition, Json.Obj("""
            {"family":"agent","cpu":"1024","memory":"2048","containerDefinitions":[{"name":"agent","image":"prefecthq/prefect:3-latest","memory":2048}]}
            """), _log, default);
        await aws.InvokeAsync(ECS.CreateService, new JsonObject
        {
            ["cluster"] = cluster, ["serviceName"] = "agent", ["taskDefinition"] = "agent", ["desiredCount"] = 0, ["launchType"] = launchType,
        }, _log, default);
    }

    [Fact]
    public async Task EC2_capacity_warns_that_it_does_not_grow_and_when_the_maximum_needs_more_room_than_is_left()
    {
        using AwsContext aws = _moto.Context();
        await ServiceAsync(aws, _p, instances: 2);

        // 3 tasks of 1024 CPU units and 2048 MiB fit on each instance (7482 / 2048): 6 in all.
        string fits = Assert.Single(await ClusterCapacityCheck.WarningsAsync(aws, _p, "agent", 6, _log, default));
        Assert.Contains("Service agent runs on the EC2 launch type, without a capacity provider: cluster " + _p + " does not grow", fits);
        Assert.Contains("Its 2 container instance(s) have room for 6 more task(s) now", fits);

        IReadOnlyList<string> over = await ClusterCapacityCheck.WarningsAsync(aws, _p, "agent", 7, _log, default);
        Assert.Equal(2, over.Count);
        Assert.Equal("-MaxCapacity 7 may not fit in cluster " + _p + ": it would add up to 7 task(s) to the 0 placed, but the container instances have room for 6 more of agent:1 (1024 CPU units, 2048 MiB each). Add instances or lower -MaxCapacity.", over[1]);
    }

    [Fact]
    public async Task A_cluster_without_instances_can_place_no_task()
    {
        using AwsContext aws = _moto.Context();
        await ServiceAsync(aws, _p, instances: 0);
        Assert.Contains("no active container instance now", Assert.Single(await ClusterCapacityCheck.WarningsAsync(aws, _p, "agent", 2, _log, default)));
    }

    [Fact]
    public async Task Fargate_grows_with_the_service_and_gives_no_warning()
    {
        using AwsContext aws = _moto.Context();
        await ServiceAsync(aws, _p, instances: 0, launchType: "FARGATE");
        Assert.Empty(await ClusterCapacityCheck.WarningsAsync(aws, _p, "agent", 50, _log, default));
    }

    [Fact]
    public async Task What_cannot_be_read_is_one_warning_that_says_why_never_a_failure()
    {
        using AwsContext aws = _moto.Context();
        string warning = Assert.Single(await ClusterCapacityCheck.WarningsAsync(aws, _p + "-none", "agent", 2, _log, default));
        Assert.StartsWith("Could not check whether cluster " + _p + "-none can place the tasks agent may scale out to (", warning, StringComparison.Ordinal);
    }
}
