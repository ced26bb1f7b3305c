using System.Globalization;
using System.IO.Compression;
using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Bindings;
using PrefectScaling.Prefect;
using PrefectScaling.Publisher;
using PrefectScaling.TestSupport;
using Xunit.Abstractions;

namespace PrefectScaling.RealServer.Tests;

/// <summary>The push path end to end on a real 3.8.3 server: the install Install-PrefectBacklogPublisher -Push runs
/// (the publisher and its push path, planned and applied against moto and the server), a local stand-in for the
/// function URL that runs the real handler in-process (the Webhook block points at it), a run that turns Late, the
/// automation that fires, and the datum the handler publishes to moto.</summary>
[Collection(Prefect3Collection.Name)]
public sealed class Prefect3PushTests : RealServerTests, IAsyncLifetime
{
    private const string Cluster = "push", Service = "workers";
    private MotoServer? _moto;

    public Prefect3PushTests(Prefect3Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    public async Task InitializeAsync() => _moto = await MotoServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_moto != null) await _moto.DisposeAsync();
    }

    [Fact]
    public async Task A_run_that_turns_late_fires_the_automation_and_the_handler_publishes_its_binding_at_once()
    {
        string tag = Guid.NewGuid().ToString("N")[..10];
        string pool = "push-e2e-" + tag, ns = "PushE2E" + tag;
        using PrefectHttp http = Fixture.Http();
        using AwsContext aws = _moto!.Context();
        var log = new TestLog();
        await http.CreateAsync("/work_pools/", new JsonObject { ["name"] = pool, ["type"] = "process" });
        await CreateServiceAsync(aws);

        Function? function = null;
        using var standIn = new FunctionUrlStandIn(input => function!.Handle(input));
        var settings = new PrefectConnectionSettings(Fixture.Server.ApiUrl, null, Fixture.Server.AuthString);
        PrefectClient prefect = PrefectConnection.For(settings).Client;
        PublisherInstallSpec spec = Spec(pool, ns, standIn.Url, settings);
        var installer = new PublisherInstaller(aws);
        string? runId = null;
        try
        {
            List<AwsChange> made = await InstallAsync(installer, prefect, spec, log);
            foreach (AwsChange change in made) Output.WriteLine("installed: " + change);
            Assert.Contains(made, c => c.Action.StartsWith("Create the function URL", StringComparison.Ordinal));
            Assert.Contains(made, c => c.Action.StartsWith("Create the Webhook block", StringComparison.Ordinal));
            Assert.Single(made, c => c.Action.StartsWith("Create the automation", StringComparison.Ordinal));

            // What AWS and Prefect hold now: the URL with auth NONE, both permissions, the concurrency, one automation.
            PushState state = await installer.Push(prefect).ReadAsync(spec.Names, withSecret: false, log, default);
            Assert.Equal("NONE", (string?)state.UrlConfig?["AuthType"]);
            Assert.NotNull(state.UrlPermission);
            Assert.NotNull(state.UrlInvokePermission);
            Assert.Equal(PushPath.DefaultConcurrency, state.ReservedConcurrency);
            Assert.True(state.BlockIsManaged);
            JsonObject automation = Assert.Single(state.Automations);
            Assert.Equal(pool, (string?)automation["trigger"]!["match_related"]!["prefect.resource.name"]!.AsArray().Single());

            // Installing again changes nothing of the push path.
            PushState again = await installer.Push(prefect).ReadAsync(spec.Names, withSecret: true, log, default);
            Assert.Empty(installer.Push(prefect).PlanInstall(spec, again));

            // The handler gets the environment Install wrote (which holds no secret) and moto's credentials.
            JsonObject variables = (await aws.InvokeAsync(AwsOperations.Lambda.GetFunction, new JsonObject { ["FunctionName"] = spec.Names.FunctionName }, log, default))!["Configuration"]!["Environment"]!["Variables"]!.AsObject();
            SsmParameterInfo secret = (await aws.GetParameterAsync(spec.Names.PushSecretParameterName, true, log, default))!;
            Assert.DoesNotContain(variables, v => ((string?)v.Value ?? "").Contains(secret.Value!, StringComparison.Ordinal));
            var environment = variables.ToDictionary(v => v.Key, v => (string?)v.Value);
            foreach (var variable in _moto.LambdaEnvironment()) environment[variable.Key] = variable.Value;
            function = new Function(name => environment.TryGetValue(name, out string? value) ? value : null);

            // Test-PrefectBacklogPublisher -Push: one authenticated test event through the URL path, answered without a cycle.
            (int testStatus, string testAnswer, _) = await installer.Push(null).TestAsync(spec.Names, standIn.Url, log, default);
            Output.WriteLine("test event: " + testStatus + " " + testAnswer);
            Assert.Equal(200, testStatus);
            Assert.Contains("\"outcome\":\"test\"", testAnswer, StringComparison.Ordinal);
            Assert.Contains("\"cycles\":0", testAnswer, StringComparison.Ordinal);

            var published = new TaskCompletionSource<DateTime>(TaskCreationOptions.RunContinuationsAsynchronously);
            standIn.Answered += (status, body) =>
            {
                if (status == 200 && body.Contains("\"outcome\":\"published\"", StringComparison.Ordinal)) published.TrySetResult(DateTime.UtcNow);
            };

            // A run scheduled in the past: the server's late-runs service marks it Late.
            JsonNode flow = (await http.CreateAsync("/flows/", new JsonObject { ["name"] = "push-e2e-" + tag }))!;
            JsonNode run = (await http.CreateAsync("/flow_runs/", new JsonObject
            {
                ["flow_id"] = (string)flow["id"]!,
                ["work_pool_name"] = pool,
                ["state"] = new JsonObject
                {
                    ["type"] = "SCHEDULED",
                    ["name"] = "Scheduled",
                    ["state_details"] = new JsonObject { ["scheduled_time"] = DateTime.UtcNow.AddSeconds(-30).ToString("o", CultureInfo.InvariantCulture) },
                },
            }))!;
            runId = (string)run["id"]!;

            DateTime? late = null;
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (late == null && waited.Elapsed < TimeSpan.FromMinutes(2))
            {
                JsonNode? state2 = (await http.GetAsync("/flow_runs/" + runId)).Json?["state"];
                if ((string?)state2?["name"] == "Late")
                    late = DateTime.Parse((string)state2!["timestamp"]!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
                else await Task.Delay(200);
            }
            Assert.True(late != null, "The run never turned Late: is the server's late-runs service running?");
            Task finished = await Task.WhenAny(published.Task, Task.Delay(TimeSpan.FromMinutes(2)));
            Assert.True(finished == published.Task, "The automation never called the stand-in with a publishing answer: " + string.Join(" | ", standIn.Answers.Select(a => a.Status + " " + a.Body)));
            DateTime publishedAt = await published.Task;
            Output.WriteLine("Late at " + late.Value.ToString("o", CultureInfo.InvariantCulture) + ", published at " + publishedAt.ToString("o", CultureInfo.InvariantCulture)
                + ": Late -> published " + (publishedAt - late.Value).TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture) + " ms");
            foreach (var answer in standIn.Answers) Output.WriteLine("answer: " + answer.Status + " " + answer.Body);

            // What moto holds: the binding's Late series, at least the one Late run, stored at high resolution.
            DateTime now = DateTime.UtcNow;
            JsonNode stats = (await aws.InvokeAsync(AwsOperations.CloudWatch.GetMetricStatistics, new JsonObject
            {
                ["Namespace"] = ns,
                ["MetricName"] = "LateFlowRuns",
                ["Dimensions"] = new JsonArray(new JsonObject { ["Name"] = "ClusterName", ["Value"] = Cluster }, new JsonObject { ["Name"] = "ServiceName", ["Value"] = Service }),
                ["StartTime"] = now.AddMinutes(-10).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["EndTime"] = now.AddMinutes(10).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
                ["Period"] = 60,
                ["Statistics"] = new JsonArray("Maximum"),
            }, log, default))!;
            double value = double.Parse((string)stats["Datapoints"]!.AsArray().Single()!["Maximum"]!, CultureInfo.InvariantCulture);
            Assert.Equal(1, value);
        }
        finally
        {
            if (runId != null) await http.SendAsync(HttpMethod.Delete, "/flow_runs/" + runId, null);
            // Uninstall: the push path on both sides, then the publisher.
            PublisherState current = await installer.ReadAsync(spec.Name, false, log, default);
            PushPath push = installer.Push(prefect);
            var removal = push.PlanRemoval(await push.ReadAsync(spec.Names, false, log, default));
            removal.AddRange(installer.PlanUninstall(current));
            foreach (AwsChange change in removal) await change.Apply(log, default);
            await http.SendAsync(HttpMethod.Delete, "/work_pools/" + pool, null);
        }
        PushState gone = await installer.Push(prefect).ReadAsync(spec.Names, false, log, default);
        Assert.Null(gone.Block);
        Assert.Empty(gone.Automations);
        Assert.False(gone.AnyOnAws);
    }

    private static async Task CreateServiceAsync(AwsContext aws)
    {
        await aws.InvokeAsync(AwsOperations.Ecs.CreateCluster, new JsonObject { ["clusterName"] = Cluster }, NullEngineLog.Instance, default);
        await aws.InvokeAsync(AwsOperations.Ecs.RegisterTaskDefinition, JsonNode.Parse("""
            {"family":"worker","containerDefinitions":[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]}
            """)!.AsObject(), NullEngineLog.Instance, default);
        await aws.InvokeAsync(AwsOperations.Ecs.CreateService, new JsonObject { ["cluster"] = Cluster, ["serviceName"] = Service, ["taskDefinition"] = "worker", ["desiredCount"] = 1 }, NullEngineLog.Instance, default);
    }

    /// <summary>The spec Install-PrefectBacklogPublisher -Push -PushUrl builds for one pool binding.</summary>
    private static PublisherInstallSpec Spec(string pool, string ns, Uri pushUrl, PrefectConnectionSettings settings)
    {
        var spec = new PublisherInstallSpec
        {
            Name = "push-" + Guid.NewGuid().ToString("N")[..8],
            Package = TinyZip(),
            Push = true,
            PushUrl = pushUrl,
        };
        spec.Configuration.Bindings = new[] { new ServiceBinding(Cluster, Service, BindingScope.From(new[] { pool }, null)) };
        spec.Configuration.Metric = new Metrics.BacklogMetricOptions { Namespace = ns };
        spec.UsePrefectSettings(settings);
        spec.Validate();
        return spec;
    }

    /// <summary>What the cmdlet does: read, settle, plan the publisher and then its push path, apply in order.</summary>
    internal static async Task<List<AwsChange>> InstallAsync(PublisherInstaller installer, PrefectClient prefect, PublisherInstallSpec spec, IEngineLog log)
    {
        PublisherState current = await installer.ReadAsync(spec.Name, spec.Secret != null, log, default, spec.Configuration.Bindings);
        spec.Settle(current);
        await installer.ReadDashboardFactsAsync(current, spec.Configuration.Bindings, log, default);
        List<AwsChange> changes = installer.PlanInstall(spec, current);
        PushPath push = installer.Push(prefect);
        await push.EnsurePrefectSupportsAsync(log, default);
        changes.AddRange(push.PlanInstall(spec, await push.ReadAsync(spec.Names, withSecret: true, log, default)));
        foreach (AwsChange change in changes) await change.Apply(log, default);
        return changes;
    }

    /// <summary>A deployment package moto accepts (it never runs it: the handler runs in-process).</summary>
    private static byte[] TinyZip()
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        using (var writer = new StreamWriter(zip.CreateEntry("PrefectScaling.Publisher.runtimeconfig.json").Open()))
            writer.Write("{}");
        return buffer.ToArray();
    }
}

/// <summary>A Prefect 2 server without the experimental events setting has no automations: the push path says what to
/// enable before anything changes.</summary>
[Collection(Prefect2Collection.Name)]
public sealed class Prefect2PushTests : RealServerTests
{
    public Prefect2PushTests(Prefect2Fixture fixture, ITestOutputHelper output) : base(fixture, output) { }

    [Fact]
    public async Task A_server_without_automations_gets_an_error_that_says_what_to_enable()
    {
        await using MotoServer moto = await MotoServer.StartAsync();
        using AwsContext aws = moto.Context();
        var push = new PushPath(aws, Connect());
        var error = await Assert.ThrowsAsync<PrefectApiException>(() => push.EnsurePrefectSupportsAsync(NullEngineLog.Instance, default));
        Output.WriteLine(error.Message);
        Assert.Equal(PrefectErrorKind.Unsupported, error.Kind);
        Assert.Contains("PREFECT_EXPERIMENTAL_EVENTS", error.Message, StringComparison.Ordinal);
        Assert.Contains("leave out -Push", error.Message, StringComparison.Ordinal);
    }
}
