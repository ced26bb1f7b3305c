using System.Text.Json.Nodes;
using PrefectScaling.Protection;

namespace PrefectScaling.Protection.Tests;

/// <summary>Tying in-flight runs to a service's tasks: the worker's name first, then infrastructure_pid's host against
/// the tasks' private addresses, and a reason for every run that stays unplaced.</summary>
public sealed class RunTaskMapTests
{
    private const string Id0 = "0f1e2d3c4b5a69788796a5b4c3d2e1f0", Id1 = "a8378554feab4fd7b82e5530dddd6bf1";

    private static readonly EcsServiceTask Task0 = new("arn:aws:ecs:eu-west-1:123456789012:task/prod/" + Id0, "RUNNING",
        new[] { "10.0.4.168" }, new[] { "ip-10-0-4-168.eu-west-1.compute.internal" }, new[] { "3f4e5d6c7b8a9f8e7d6c5b4a3f2e1d0c" + "00000000000000000000000000000000" });
    private static readonly EcsServiceTask Task1 = new("arn:aws:ecs:eu-west-1:123456789012:task/prod/" + Id1, "RUNNING",
        new[] { "10.0.2.100" }, Array.Empty<string>(), Array.Empty<string>());
    private static readonly IReadOnlyList<EcsServiceTask> Tasks = new[] { Task0, Task1 };

    private static RunMapping Map(string? worker, string? pid, string state = "RUNNING") => RunTaskMap.MapOne(new InFlightRun("run-1", "happy-otter", state, worker, pid), Tasks);

    [Theory]
    [InlineData("ecs-" + Id0)]
    [InlineData(Id0)]
    [InlineData("prod_" + Id0)]
    public void A_worker_named_after_its_task_ties_the_run_to_it_whatever_the_pid(string worker)
    {
        RunMapping mapping = Map(worker, "4242");
        Assert.Same(Task0, mapping.Task);
        Assert.Equal(RunTaskLink.WorkerName, mapping.Link);
        Assert.Null(mapping.Why);
    }

    [Fact]
    public void A_worker_name_that_only_contains_a_task_id_inside_a_word_names_no_task()
    {
        Assert.Null(Map("x" + Id0, null).Task);
        Assert.Null(Map("ProcessWorker 1c2d3e4f-aaaa-bbbb-cccc-0123456789ab", null).Task);
    }

    [Theory]
    [InlineData("ip-10-0-4-168.eu-west-1.compute.internal:777")]     // Amazon's name in most regions
    [InlineData("ip-10-0-4-168.ec2.internal:777")]                   // us-east-1's suffix: only the IP counts
    [InlineData("ip-10-0-4-168:777")]                                // the short hostname
    [InlineData("10.0.4.168:777")]
    [InlineData("IP-10-0-4-168.EU-WEST-1.COMPUTE.INTERNAL:777")]
    [InlineData("3f4e5d6c7b8a:777")]                                 // bridge mode: the container id's prefix
    public void The_host_of_infrastructure_pid_ties_the_run_to_the_task_with_that_address(string pid)
    {
        RunMapping mapping = Map(null, pid);
        Assert.Same(Task0, mapping.Task);
        Assert.Equal(RunTaskLink.Hostname, mapping.Link);
    }

    [Fact]
    public void A_fargate_random_hostname_that_starts_with_the_task_id_ties_the_run_to_that_task()
    {
        Assert.Same(Task1, Map(null, Id1 + "-2515387555:12").Task);
    }

    [Fact]
    public void The_worker_name_wins_over_the_host()
    {
        RunMapping mapping = Map("ecs-" + Id1, "ip-10-0-4-168:777");
        Assert.Same(Task1, mapping.Task);
        Assert.Equal(RunTaskLink.WorkerName, mapping.Link);
    }

    [Fact]
    public void A_worker_name_of_no_task_falls_back_to_the_host()
    {
        RunMapping mapping = Map("ProcessWorker 1c2d", "ip-10-0-2-100:9");
        Assert.Same(Task1, mapping.Task);
        Assert.Equal(RunTaskLink.Hostname, mapping.Link);
    }

    [Fact]
    public void Every_unplaced_run_says_why()
    {
        Assert.Contains("PENDING and has no infrastructure_pid", Map(null, null, "PENDING").Why, StringComparison.Ordinal);
        Assert.Contains("no host", Map(null, "4242").Why, StringComparison.Ordinal);
        Assert.Contains("--name ecs-<task id>", Map(null, "4242").Why, StringComparison.Ordinal);
        Assert.Contains("host 'ip-10-9-9-9'", Map(null, "ip-10-9-9-9:1").Why, StringComparison.Ordinal);
        string both = Map("ProcessWorker 1c2d", "4242").Why!;
        Assert.Contains("worker 'ProcessWorker 1c2d' names no running task", both, StringComparison.Ordinal);
        Assert.Contains("no host", both, StringComparison.Ordinal);
    }

    [Fact]
    public void A_host_shared_by_two_tasks_ties_the_run_to_neither()
    {
        var twin = new EcsServiceTask("arn:aws:ecs:eu-west-1:123456789012:task/prod/ffff", "RUNNING", new[] { "10.0.4.168" }, Array.Empty<string>(), Array.Empty<string>());
        Assert.Null(RunTaskMap.MapOne(new InFlightRun("r", null, "RUNNING", null, "ip-10-0-4-168:1"), new[] { Task0, twin }).Task);
    }

    [Fact]
    public void A_host_mode_hostname_of_the_instance_matches_no_task()
    {
        Assert.Null(Map(null, "ip-172-31-0-5.eu-west-1.compute.internal:1").Task);
    }

    [Fact]
    public void DescribeTasks_answers_give_the_eni_addresses_and_container_ids()
    {
        var task = JsonNode.Parse("""
            {"taskArn":"arn:aws:ecs:eu-west-1:1:task/prod/abc","lastStatus":"RUNNING","group":"service:w",
             "attachments":[{"type":"ElasticNetworkInterface","details":[{"name":"subnetId","value":"subnet-1"},
               {"name":"privateDnsName","value":"ip-10-0-0-9.eu-west-1.compute.internal"},{"name":"privateIPv4Address","value":"10.0.0.9"}]}],
             "containers":[{"runtimeId":"deadbeefcafe0123","networkInterfaces":[{"privateIpv4Address":"10.0.0.9"}]}]}
            """)!.AsObject();
        EcsServiceTask parsed = EcsServiceTasks.Parse("arn:aws:ecs:eu-west-1:1:task/prod/abc", task);
        Assert.Equal("abc", parsed.TaskId);
        Assert.Equal(new[] { "10.0.0.9" }, parsed.PrivateIps);
        Assert.Equal(new[] { "ip-10-0-0-9.eu-west-1.compute.internal" }, parsed.PrivateDnsNames);
        Assert.Equal(new[] { "deadbeefcafe0123" }, parsed.RuntimeIds);
    }

    [Fact]
    public void Flow_run_answers_give_the_worker_label_and_the_pid()
    {
        using var doc = System.Text.Json.JsonDocument.Parse("""
            {"id":"r1","name":"n","state_type":"RUNNING","infrastructure_pid":"h:1","labels":{"prefect.worker.name":"ecs-x","prefect.worker.type":"process"}}
            """);
        InFlightRun run = InFlightRunReader.Parse(doc.RootElement)!;
        Assert.Equal(("r1", "RUNNING", "ecs-x", "h:1"), (run.Id, run.StateType, run.WorkerName, run.InfrastructurePid));
        using var old = System.Text.Json.JsonDocument.Parse("""{"id":"r2","state":{"type":"PENDING"},"infrastructure_pid":null}""");
        InFlightRun two = InFlightRunReader.Parse(old.RootElement)!;
        Assert.Equal(("PENDING", (string?)null, (string?)null), (two.StateType, two.WorkerName, two.InfrastructurePid));
    }

    [Theory]
    [InlineData(null)]    // and with no total, nothing is published (the guard's own default)
    [InlineData(5.0)]
    public void A_failed_protection_leaves_the_guard_the_whole_InFlight_total(double? total)
    {
        var protection = new BindingProtection(new Bindings.ServiceBinding("prod", "w", Bindings.BindingScope.From(new[] { "p" }, null))) { Failure = new InvalidOperationException("x") };
        Assert.Equal(total, protection.UnprotectedInFlight(total));
    }

    [Fact]
    public void UnprotectedInFlight_never_drops_below_the_runs_read_unprotected_nor_the_total_less_the_protected()
    {
        var protection = new BindingProtection(new Bindings.ServiceBinding("prod", "w", Bindings.BindingScope.From(new[] { "p" }, null)))
        {
            ProtectedRuns = 2,
            UnprotectedRuns = new[] { (new InFlightRun("r", null, "PENDING", null, null), "why") },
        };
        Assert.Equal(3, protection.UnprotectedInFlight(5));   // 2 soon-due runs on no task yet, and the unplaced one
        Assert.Equal(1, protection.UnprotectedInFlight(2));   // a run came between the count and the listing
        Assert.Equal(1, protection.UnprotectedInFlight(null));
    }
}
