using PrefectScaling.Aws;
using PrefectScaling.Bindings;
using PrefectScaling.TestSupport;

namespace PrefectScaling.Protection.Tests;

/// <summary>The protector against moto's tasks and the protection stand-in: batches of ten, per-task refusals
/// (DEPLOYMENT_BLOCKED), a protection someone else set left alone, and signatures the stand-in checks.</summary>
public sealed class TaskProtectorTests : IAsyncLifetime
{
    private const string Service = "workers";
    private readonly RecordingLog _log = new();
    private MotoServer? _moto;
    private TaskProtectionStandIn? _standIn;
    private readonly string _cluster = "p" + Guid.NewGuid().ToString("N")[..6];

    public async Task InitializeAsync()
    {
        _moto = await MotoServer.StartAsync();
        _standIn = await TaskProtectionStandIn.StartAsync(_moto);
    }

    public async Task DisposeAsync()
    {
        if (_standIn != null) await _standIn.DisposeAsync();
        if (_moto != null) await _moto.DisposeAsync();
    }

    private ServiceBinding Binding => new(_cluster, Service, BindingScope.From(new[] { "pool" }, null));

    private static InFlightRun OnTask(string id, string arn) => new(id, null, "RUNNING", "ecs-" + EcsServiceTask.IdOf(arn), "1");

    [Fact]
    public async Task Twelve_busy_tasks_are_protected_in_calls_of_ten_and_the_listing_keeps_only_the_service_s_tasks()
    {
        using AwsContext aws = _standIn!.Context();
        var tasks = await _standIn.ServiceWithTasksAsync(aws, _cluster, Service, 12);
        IReadOnlyList<EcsServiceTask> listed = await EcsServiceTasks.ListAsync(aws, _cluster, Service, _log, default);
        // moto ignores ListTasks' serviceName and lists the task of no service too; the group check leaves it out.
        Assert.Equal(tasks.Select(t => t.Arn).Order(StringComparer.Ordinal), listed.Select(t => t.TaskArn).Order(StringComparer.Ordinal));
        Assert.All(listed, t => Assert.Single(t.PrivateIps));

        BindingProtection result = await new TaskProtector().ProtectAsync(aws, Binding, tasks.Select((t, i) => OnTask("r" + i, t.Arn)).ToList(), null, apply: true, _log, default);
        Assert.Null(result.Failure);
        Assert.Equal(12, result.ProtectedTasks.Count);
        Assert.Equal(12, result.ProtectedRuns);
        Assert.Equal(12, (await _standIn.ProtectedAsync()).Count);
        var updates = (await _standIn.CallsAsync()).Where(c => c.Operation == "UpdateTaskProtection").ToList();
        Assert.Equal(new[] { 10, 2 }, updates.Select(u => u.Request["tasks"]!.AsArray().Count));
        Assert.All(updates, u => Assert.Equal(TaskProtector.DefaultExpiresInMinutes, (int)u.Request["expiresInMinutes"]!));
    }

    [Fact]
    public async Task A_task_ECS_refuses_to_protect_leaves_its_runs_unprotected_and_says_why()
    {
        using AwsContext aws = _standIn!.Context();
        var tasks = await _standIn.ServiceWithTasksAsync(aws, _cluster, Service, 2);
        await _standIn.RefuseTasksAsync("UpdateTaskProtection", "DEPLOYMENT_BLOCKED");
        BindingProtection result = await new TaskProtector().ProtectAsync(aws, Binding, new[] { OnTask("r1", tasks[0].Arn) }, null, apply: true, _log, default);
        Assert.Empty(result.ProtectedTasks);
        var (run, why) = Assert.Single(result.UnprotectedRuns);
        Assert.Equal("r1", run.Id);
        Assert.Contains("DEPLOYMENT_BLOCKED", why, StringComparison.Ordinal);
        Assert.Equal(1, result.UnprotectedInFlight(1));
    }

    [Fact]
    public async Task A_protection_this_publisher_did_not_set_is_never_released()
    {
        using AwsContext aws = _standIn!.Context();
        var tasks = await _standIn.ServiceWithTasksAsync(aws, _cluster, Service, 2);
        // The task's own entrypoint protected task 1; the publisher protects task 0 for its run.
        await EcsServiceTasks.UpdateAsync(aws, _cluster, new[] { tasks[1].Arn }, true, 60, _log, default);
        var protector = new TaskProtector();
        await protector.ProtectAsync(aws, Binding, new[] { OnTask("r0", tasks[0].Arn) }, null, apply: true, _log, default);
        Assert.Equal(2, (await _standIn.ProtectedAsync()).Count);

        // No run left: the publisher releases its own task 0 and leaves task 1 to its protector.
        BindingProtection idle = await protector.ProtectAsync(aws, Binding, Array.Empty<InFlightRun>(), null, apply: true, _log, default);
        Assert.Equal(new[] { EcsServiceTask.IdOf(tasks[0].Arn) }, idle.ReleasedTasks);
        Assert.Equal(new[] { tasks[1].Arn }, (await _standIn.ProtectedAsync()).Keys);
        Assert.DoesNotContain((await _standIn.CallsAsync()).Where(c => c.Operation == "UpdateTaskProtection" && !(bool)c.Request["protectionEnabled"]!),
            c => c.Request["tasks"]!.AsArray().Any(t => (string?)t == tasks[1].Arn));
    }

    [Fact]
    public async Task A_dry_run_changes_nothing_but_says_what_it_would_protect()
    {
        using AwsContext aws = _standIn!.Context();
        var tasks = await _standIn.ServiceWithTasksAsync(aws, _cluster, Service, 1);
        BindingProtection result = await new TaskProtector().ProtectAsync(aws, Binding, new[] { OnTask("r0", tasks[0].Arn) }, null, apply: false, _log, default);
        Assert.True(result.DryRun);
        Assert.Equal(new[] { EcsServiceTask.IdOf(tasks[0].Arn) }, result.ProtectedTasks);
        Assert.Empty(await _standIn.CallsAsync());
    }

    [Fact]
    public async Task The_stand_in_checks_signatures_and_answers_the_API_reference_s_errors()
    {
        using AwsContext aws = _standIn!.Context();
        var tasks = await _standIn.ServiceWithTasksAsync(aws, _cluster, Service, 1);
        using AwsContext forged = _standIn.Context(secretKey: "not-the-key");
        AwsApiException signature = await Assert.ThrowsAsync<AwsApiException>(() => EcsServiceTasks.GetAsync(forged, _cluster, new[] { tasks[0].Arn }, _log, default));
        Assert.Equal("InvalidSignatureException", signature.ErrorCode);

        AwsApiException cluster = await Assert.ThrowsAsync<AwsApiException>(() => EcsServiceTasks.UpdateAsync(aws, "nope-" + _cluster, new[] { tasks[0].Arn }, true, 5, _log, default));
        Assert.Equal("ClusterNotFoundException", cluster.ErrorCode);
        TaskProtectionAnswer missing = await EcsServiceTasks.UpdateAsync(aws, _cluster, new[] { "0000000000000000000000000000000a" }, true, 5, _log, default);
        Assert.Equal("MISSING (The specified task was not found.)", missing.Failures["0000000000000000000000000000000a"]);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => EcsServiceTasks.UpdateAsync(aws, _cluster, new[] { tasks[0].Arn }, true, 2881, _log, default));

        TaskProtectionAnswer read = await EcsServiceTasks.GetAsync(aws, _cluster, new[] { tasks[0].Arn }, _log, default);
        Assert.False(Assert.Single(read.Tasks).Enabled);
    }
}
