using System.Text;
using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Prefect;
using PrefectScaling.TestSupport;
using PrefectScaling.Testing.PrefectEmulator;

namespace PrefectScaling.Publisher.Tests;

/// <summary>The handler in process: what lands in CloudWatch, what it logs and returns, how it fails.</summary>
[Collection(PublisherCollection.Name)]
public sealed class HandlerTests : IAsyncLifetime
{
    private const string AuthString = "admin:pass-Ab1";
    private readonly MotoServer _moto;
    private readonly AwsContext _aws;

    public HandlerTests(MotoFixture moto)
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

    private static Task<PrefectEmulatorServer> StartPrefectAsync(EmulatorMode mode = EmulatorMode.V3, string? authString = AuthString, string? apiKey = null) =>
        PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = mode, AuthString = authString, ApiKey = apiKey }, Scenario.Seed());

    private static (string Pool, string Queue)[] Queues => new[] { (Scenario.Pool, "default"), (Scenario.Pool, "etl") };

    [Fact]
    public async Task Publishes_the_late_backlog_of_each_queue_with_its_dimensions_and_logs_one_line()
    {
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        Setup setup = await new Setup(_moto, prefect.ApiUrl, PublisherSecretKind.AuthString, AuthString).StoreSecretAsync();
        Function function = setup.NewFunction();

        JsonObject summary;
        using (var console = new ConsoleCapture())
        {
            summary = Setup.Invoke(function);
            JsonObject line = Assert.Single(console.JsonLines);
            Assert.Equal("info", (string?)line["level"]);
            Assert.Equal("published", (string?)line["event"]);
            Assert.Equal(2, (int)line["published"]!);
            Assert.True((bool)line["cold"]!);
        }

        Assert.Equal(1, (int)summary["samples"]!);
        Assert.Equal(2, (int)summary["queues"]!);
        Assert.Equal(2, (int)summary["published"]!);
        Assert.Equal(1, (int)summary["putMetricDataCalls"]!);
        Assert.True((int)summary["prefectRequests"]! > 0);
        Assert.True((double)summary["durationMs"]! > 0);

        var cloudWatch = setup.CloudWatch(_aws);
        Assert.Equal(3, await cloudWatch.SingleValueAsync(setup.Namespace, "LateFlowRuns", ("WorkPool", Scenario.Pool), ("WorkQueue", "default")));
        Assert.Equal(1, await cloudWatch.SingleValueAsync(setup.Namespace, "LateFlowRuns", ("WorkPool", Scenario.Pool), ("WorkQueue", "etl")));
        var metrics = await cloudWatch.ListAsync(setup.Namespace);
        Assert.Equal(2, metrics.Count);
        Assert.All(metrics, m =>
        {
            Assert.Equal("LateFlowRuns", m.Name);
            Assert.Equal(new[] { "WorkPool", "WorkQueue" }, m.Dimensions.Keys.OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal(Scenario.Pool, m.Dimensions["WorkPool"]);
        });
    }

    [Fact]
    public async Task Warm_invocations_reuse_the_secret_the_connection_and_the_queue_listing()
    {
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        using var proxy = new RecordingProxy(_moto.Url);
        Setup setup = await new Setup(_moto, prefect.ApiUrl, PublisherSecretKind.AuthString, AuthString, endpointUrl: proxy.Url).StoreSecretAsync();
        Function function = setup.NewFunction();

        JsonObject first, second, third;
        using (var console = new ConsoleCapture())
        {
            first = Setup.Invoke(function);
            second = Setup.Invoke(function);
            third = Setup.Invoke(function);
            Assert.Equal(new[] { true, false, false }, console.JsonLines.Select(l => (bool)l["cold"]!));
        }

        Assert.All(new[] { first, second, third }, s => Assert.Equal(2, (int)s["published"]!));
        Assert.Single(proxy.Calls("GetParameter"));
        Assert.Equal(3, proxy.Calls("PutMetricData").Count());
        IReadOnlyList<RecordedRequest> requests = prefect.Requests;
        Assert.Single(requests, r => r.Path.EndsWith("/admin/version", StringComparison.Ordinal));
        Assert.Single(requests, r => r.Path.Contains("/queues/filter", StringComparison.Ordinal) || r.Path.EndsWith("/work_queues/filter", StringComparison.Ordinal));
        Assert.True((int)second["prefectRequests"]! < (int)first["prefectRequests"]!, "a warm invocation asks Prefect less than the cold one");
        Assert.Equal((int)second["prefectRequests"]!, (int)third["prefectRequests"]!);
    }

    public enum PrefectFailure { Stopped, WrongKey, MissingPool }

    [Theory]
    [InlineData(PrefectFailure.Stopped, "ConnectionFailed")]
    [InlineData(PrefectFailure.WrongKey, "Unauthorized")]
    [InlineData(PrefectFailure.MissingPool, "NotFound")]
    public async Task When_the_backlog_cannot_be_read_the_invocation_fails_logs_one_error_line_and_publishes_nothing(PrefectFailure failure, string kind)
    {
        const string realKey = "pnu_real0000000000000000000000000000";
        string wrongKey = "pnu_" + Guid.NewGuid().ToString("N");
        PrefectEmulatorServer prefect = await StartPrefectAsync(EmulatorMode.Cloud, authString: null, apiKey: realKey);
        Uri apiUrl = prefect.ApiUrl;
        if (failure == PrefectFailure.Stopped) await prefect.DisposeAsync();
        try
        {
            Setup setup = await new Setup(_moto, apiUrl, PublisherSecretKind.ApiKey, failure == PrefectFailure.WrongKey ? wrongKey : realKey,
                c => { if (failure == PrefectFailure.MissingPool) c.Scopes = new[] { new ScopeSelector(Scenario.Pool, null), new ScopeSelector("no-such-pool", null) }; }).StoreSecretAsync();
            Function function = setup.NewFunction();

            using var console = new ConsoleCapture();
            PublisherFailedException thrown = Assert.Throws<PublisherFailedException>(() => Setup.Invoke(function));
            JsonObject line = Assert.Single(console.JsonLines);
            Assert.Equal("error", (string?)line["level"]);
            Assert.Equal("failed", (string?)line["event"]);
            Assert.Equal("prefect", (string?)line["source"]);
            Assert.Equal(kind, (string?)line["kind"]);
            Assert.Equal(thrown.Message, (string?)line["error"]);
            Assert.Equal(kind, thrown.Kind);
            Assert.Equal(0, (int)line["published"]!);
            Assert.False(string.IsNullOrWhiteSpace(thrown.Message));
            Assert.DoesNotContain(wrongKey, console.Text + thrown);
            Assert.DoesNotContain(realKey, console.Text + thrown);

            Assert.Empty(await setup.CloudWatch(_aws).ListAsync(setup.Namespace));
        }
        finally
        {
            if (failure != PrefectFailure.Stopped) await prefect.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_rejected_secret_is_read_again_from_SSM_on_the_next_invocation()
    {
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        Setup setup = await new Setup(_moto, prefect.ApiUrl, PublisherSecretKind.AuthString, "admin:old-password").StoreSecretAsync();
        Function function = setup.NewFunction();
        using (new ConsoleCapture())
        {
            Assert.Equal("Unauthorized", Assert.Throws<PublisherFailedException>(() => Setup.Invoke(function)).Kind);
            // The secret is rotated in SSM; the warm function picks it up without a new cold start of the runtime.
            await _aws.PutSecureStringParameterAsync(setup.Configuration.SecretParameter!, AuthString, "rotated", null, NullEngineLog.Instance, default);
            Assert.Equal(2, (int)Setup.Invoke(function)["published"]!);
        }
    }

    [Fact]
    public async Task The_api_key_appears_nowhere_the_function_writes()
    {
        string canary = "pnu_CANARY" + Guid.NewGuid().ToString("N");
        await using PrefectEmulatorServer prefect = await StartPrefectAsync(EmulatorMode.Cloud, authString: null, apiKey: canary);
        Setup setup = await new Setup(_moto, prefect.ApiUrl, PublisherSecretKind.ApiKey, canary).StoreSecretAsync();
        Assert.DoesNotContain(setup.Environment, v => v.Value.Contains("CANARY", StringComparison.Ordinal) || v.Key.Contains("CANARY", StringComparison.Ordinal));
        Function function = setup.NewFunction();

        var written = new StringBuilder();
        using (var console = new ConsoleCapture())
        {
            written.Append(Setup.Invoke(function).ToJsonString());
            written.Append(Setup.Invoke(function).ToJsonString());
            // And when it fails: Prefect answers 500 from now on.
            prefect.AddFault(new FaultRule { Kind = FaultKind.InternalError, Count = -1 });
            PublisherFailedException thrown = Assert.Throws<PublisherFailedException>(() => Setup.Invoke(function));
            written.Append(thrown.ToString()).Append(thrown.Message);
            written.Append(console.Text);
            Assert.Equal(3, console.Lines.Count);
        }

        Assert.All(prefect.Requests, r => Assert.Equal("Bearer", r.AuthScheme));
        Assert.DoesNotContain("CANARY", written.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_engine_redaction_removes_the_secret_in_every_form()
    {
        const string key = "pnu_CANARYscrub";
        Func<string, string> bearer = new PrefectConnectionSettings(new Uri("https://api.prefect.cloud/api/accounts/00000000-0000-0000-0000-000000000000/workspaces/00000000-0000-0000-0000-000000000000"), key, null).Redact;
        Assert.DoesNotContain("CANARY", bearer("header Bearer " + key + " echoed"), StringComparison.Ordinal);

        const string auth = "admin:CANARYpass";
        string encoded = Convert.ToBase64String(Encoding.UTF8.GetBytes(auth));
        Func<string, string> basic = new PrefectConnectionSettings(new Uri("http://prefect.internal:4200/api"), null, auth).Redact;
        string scrubbed = basic("raw " + auth + " and Basic " + encoded);
        Assert.DoesNotContain("CANARY", scrubbed, StringComparison.Ordinal);
        Assert.DoesNotContain(encoded, scrubbed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Per_task_metrics_are_published_for_a_configured_ecs_service()
    {
        const string cluster = "prefect", service = "prefect-worker";
        await _aws.InvokeAsync(AwsOperations.Ecs.CreateCluster, new JsonObject { ["clusterName"] = cluster }, NullEngineLog.Instance, default);
        await _aws.InvokeAsync(AwsOperations.Ecs.RegisterTaskDefinition, JsonNode.Parse("""
            {"family":"worker","containerDefinitions":[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]}
            """)!.AsObject(), NullEngineLog.Instance, default);
        await _aws.InvokeAsync(AwsOperations.Ecs.CreateService, new JsonObject
        {
            ["cluster"] = cluster, ["serviceName"] = service, ["taskDefinition"] = "worker", ["desiredCount"] = 2,
        }, NullEngineLog.Instance, default);

        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        Setup setup = await new Setup(_moto, prefect.ApiUrl, PublisherSecretKind.AuthString, AuthString, c =>
        {
            c.Cluster = cluster;
            c.Service = service;
        }).StoreSecretAsync();
        JsonObject summary;
        using (new ConsoleCapture()) summary = Setup.Invoke(setup.NewFunction());

        Assert.Equal(5, (int)summary["published"]!); // 2 queues, 2 per-task, 1 desired count
        var cloudWatch = setup.CloudWatch(_aws);
        Assert.Equal(1.5, await cloudWatch.SingleValueAsync(setup.Namespace, "LateFlowRunsPerTask",
            ("ClusterName", cluster), ("ServiceName", service), ("WorkPool", Scenario.Pool), ("WorkQueue", "default")));
        Assert.Equal(0.5, await cloudWatch.SingleValueAsync(setup.Namespace, "LateFlowRunsPerTask",
            ("ClusterName", cluster), ("ServiceName", service), ("WorkPool", Scenario.Pool), ("WorkQueue", "etl")));
        Assert.Equal(2, await cloudWatch.SingleValueAsync(setup.Namespace, "EcsServiceDesiredTasks", ("ClusterName", cluster), ("ServiceName", service)));
        Assert.Equal(3, await cloudWatch.SingleValueAsync(setup.Namespace, "LateFlowRuns", ("WorkPool", Scenario.Pool), ("WorkQueue", "default")));
    }

    [Fact]
    public async Task A_missing_secret_parameter_or_a_broken_configuration_fails_with_one_error_line()
    {
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        Setup setup = new(_moto, prefect.ApiUrl, PublisherSecretKind.AuthString, AuthString); // secret never stored

        using var console = new ConsoleCapture();
        PublisherFailedException missing = Assert.Throws<PublisherFailedException>(() => Setup.Invoke(setup.NewFunction()));
        Assert.Equal("aws", missing.Source);
        Assert.Equal("NotFound", missing.Kind);
        Assert.Contains(setup.Configuration.SecretParameter!, missing.Message);

        setup.Environment[PublisherConfiguration.SampleIntervalVariable] = "7";
        PublisherFailedException invalid = Assert.Throws<PublisherFailedException>(() => Setup.Invoke(setup.NewFunction()));
        Assert.Equal("configuration", invalid.Source);
        Assert.Equal("InvalidConfiguration", invalid.Kind);

        Assert.Equal(new[] { "failed", "failed" }, console.JsonLines.Select(l => (string?)l["event"]));
        Assert.Empty(prefect.Requests);
    }
}
