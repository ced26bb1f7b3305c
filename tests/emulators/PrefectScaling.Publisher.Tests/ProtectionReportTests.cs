using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Bindings;
using PrefectScaling.Protection;
using PrefectScaling.TestSupport;
using PrefectScaling.Testing.PrefectEmulator;

namespace PrefectScaling.Publisher.Tests;

/// <summary>-ProtectBusyTasks in the handler: its log line names each in-flight run it could not tie to a protected
/// task, and Get-PrefectBacklogPublisher's reader finds that line in the function's log group and reads it back.</summary>
[Collection(PublisherCollection.Name)]
public sealed class ProtectionReportTests : IAsyncLifetime
{
    private const string Cluster = "prod", Service = "workers";
    private readonly MotoServer _moto;
    private readonly AwsContext _aws;

    public ProtectionReportTests(MotoFixture moto)
    {
        _moto = moto.Server;
        _aws = _moto.Context();
    }

    public Task InitializeAsync() => _moto.ResetAsync();

    public Task DisposeAsync()
    {
        _aws.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_log_line_names_the_unprotected_runs_and_the_reader_reads_them_back_from_the_log_group()
    {
        await _aws.InvokeAsync(AwsOperations.Ecs.CreateCluster, new JsonObject { ["clusterName"] = Cluster }, NullEngineLog.Instance, default);
        await _aws.InvokeAsync(AwsOperations.Ecs.RegisterTaskDefinition, JsonNode.Parse("""
            {"family":"worker","containerDefinitions":[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]}
            """)!.AsObject(), NullEngineLog.Instance, default);
        await _aws.InvokeAsync(AwsOperations.Ecs.CreateService, new JsonObject { ["cluster"] = Cluster, ["serviceName"] = Service, ["taskDefinition"] = "worker", ["desiredCount"] = 1 }, NullEngineLog.Instance, default);
        await using PrefectEmulatorServer prefect = await PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3 }, Scenario.Seed());

        var spec = new PublisherInstallSpec { Name = Scenario.UniqueName("pub"), Package = new byte[] { 1 }, ProtectBusyTasks = true };
        spec.Configuration.ApiUrl = prefect.ApiUrl.AbsoluteUri;
        spec.Configuration.Bindings = new[] { new ServiceBinding(Cluster, Service, BindingScope.From(new[] { Scenario.Pool }, null)) };
        spec.Configuration.Metric = new Metrics.BacklogMetricOptions { Namespace = Scenario.UniqueName("Protect") };
        spec.Validate();
        var installer = new PublisherInstaller(_aws);
        PublisherState current = await installer.ReadAsync(spec.Name, false, NullEngineLog.Instance, default, spec.Configuration.Bindings);
        foreach (AwsChange change in installer.PlanInstall(spec, current).Where(c => c.Target.StartsWith(spec.Names.BindingsPath + "/", StringComparison.Ordinal)))
            await change.Apply(NullEngineLog.Instance, default);
        Dictionary<string, string> environment = spec.Configuration.ToEnvironment();
        foreach (var variable in _moto.LambdaEnvironment()) environment[variable.Key] = variable.Value;
        var function = new Function(name => environment.TryGetValue(name, out string? value) ? value : null) { PrefectHttpOptions = Scenario.Quick };

        JsonObject line;
        using (var console = new ConsoleCapture())
        {
            Setup.Invoke(function);
            line = Assert.Single(console.JsonLines);
        }
        // The seed's one RUNNING run of the pool: no worker label, no infrastructure_pid, and a service with no task.
        Assert.Equal(1, (int)line["unprotectedRuns"]!);
        Assert.Equal(0, (int)line["protectedTasks"]!);
        JsonObject named = Assert.Single(line["unprotected"]!.AsArray())!.AsObject();
        Assert.Equal("service/prod/workers", (string?)named["binding"]);
        Assert.Contains("has no infrastructure_pid", (string?)named["why"]);

        // As Lambda ships it: the line in a stream of the function's log group.
        string group = spec.Names.LogGroupName;
        await _aws.InvokeAsync(AwsOperations.Logs.CreateLogGroup, new JsonObject { ["logGroupName"] = group }, NullEngineLog.Instance, default);
        await _aws.InvokeAsync(AwsOperations.Logs.CreateLogStream, new JsonObject { ["logGroupName"] = group, ["logStreamName"] = "2026/12/01/[$LATEST]abc" }, NullEngineLog.Instance, default);
        await _aws.InvokeAsync(AwsOperations.Logs.PutLogEvents, new JsonObject
        {
            ["logGroupName"] = group, ["logStreamName"] = "2026/12/01/[$LATEST]abc",
            ["logEvents"] = new JsonArray(new JsonObject { ["timestamp"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), ["message"] = line.ToJsonString() }),
        }, NullEngineLog.Instance, default);
        var read = await new PublisherReader(_aws).ReadLastProtectionAsync(spec.Names, NullEngineLog.Instance, default);
        Assert.NotNull(read);
        var (binding, run, why) = Assert.Single(read!.Value.Unprotected);
        Assert.Equal(("service/prod/workers", (string?)named["run"], (string?)named["why"]), (binding, run, why));
        Assert.NotNull(run);
    }
}
