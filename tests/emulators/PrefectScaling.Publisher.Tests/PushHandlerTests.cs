using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Bindings;
using PrefectScaling.TestSupport;
using PrefectScaling.Testing.PrefectEmulator;

namespace PrefectScaling.Publisher.Tests;

/// <summary>The push path's handler in process: a function URL request (payload format 2.0) with the right secret and a
/// fresh Late event runs one cycle of the bindings it concerns; a wrong or missing secret, an oversized body, a replay,
/// a stale event and a flood do nothing (no Prefect read, no publish, no cycle).</summary>
[Collection(PublisherCollection.Name)]
public sealed class PushHandlerTests : IAsyncLifetime
{
    private const string Cluster = "prod", Service = "workers-svc", Secret = "push-secret-Xy7-not-a-real-one";
    private readonly MotoServer _moto;
    private readonly AwsContext _aws;

    public PushHandlerTests(MotoFixture moto)
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

    private sealed record Answer(int Status, JsonObject Body);

    private sealed class Bed : IAsyncDisposable
    {
        public required PrefectEmulatorServer Prefect { get; init; }
        public required Function Function { get; init; }
        public required string Namespace { get; init; }
        public ValueTask DisposeAsync() => Prefect.DisposeAsync();
    }

    /// <summary>A publisher with one binding (pool "workers", whose queues hold 4 late runs) and the push path on.</summary>
    private async Task<Bed> BedAsync(bool push = true)
    {
        PrefectEmulatorServer prefect = await PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3 }, Scenario.Seed());
        await _aws.InvokeAsync(AwsOperations.Ecs.CreateCluster, new JsonObject { ["clusterName"] = Cluster }, NullEngineLog.Instance, default);
        await _aws.InvokeAsync(AwsOperations.Ecs.RegisterTaskDefinition, JsonNode.Parse("""
            {"family":"worker","containerDefinitions":[{"name":"worker","image":"prefecthq/prefect:3-latest","memory":512}]}
            """)!.AsObject(), NullEngineLog.Instance, default);
        await _aws.InvokeAsync(AwsOperations.Ecs.CreateService, new JsonObject { ["cluster"] = Cluster, ["serviceName"] = Service, ["taskDefinition"] = "worker", ["desiredCount"] = 2 }, NullEngineLog.Instance, default);
        string ns = Scenario.UniqueName("PushTest");
        string name = Scenario.UniqueName("pub");
        var configuration = new PublisherConfiguration
        {
            ApiUrl = prefect.ApiUrl.AbsoluteUri,
            Bindings = new[] { new ServiceBinding(Cluster, Service, BindingScope.From(new[] { Scenario.Pool }, null)) },
            BindingsPath = "/prefectscaling/" + name + "/bindings",
            Metric = new Metrics.BacklogMetricOptions { Namespace = ns },
            PushSecretParameter = push ? "/prefectscaling/" + name + "/push-secret" : null,
        };
        configuration.Validate();
        // The bindings in SSM, as Install stores them (the environment holds only their path and stamp).
        foreach (ServiceBinding binding in configuration.Bindings)
            await _aws.PutStringParameterAsync(PublisherBindings.ParameterName(configuration.BindingsPath, binding), PublisherBindings.ValueOf(binding), "test", new Dictionary<string, string>(), false, NullEngineLog.Instance, default);
        if (push) await _aws.PutSecureStringParameterAsync(configuration.PushSecretParameter!, Secret, "test", null, NullEngineLog.Instance, default);
        Dictionary<string, string> environment = configuration.ToEnvironment();
        foreach (var variable in _moto.LambdaEnvironment()) environment[variable.Key] = variable.Value;
        var function = new Function(n => environment.TryGetValue(n, out string? value) ? value : null) { PrefectHttpOptions = Scenario.Quick };
        return new Bed { Prefect = prefect, Function = function, Namespace = ns };
    }

    private static string Late(string? eventId = null, DateTime? occurred = null, string pool = Scenario.Pool, string queue = "default", string eventName = "prefect.flow-run.Late") => new JsonObject
    {
        ["source"] = "prefect",
        ["event"] = eventName,
        ["event_id"] = eventId ?? Guid.NewGuid().ToString(),
        ["occurred"] = (occurred ?? DateTime.UtcNow).ToString("o", CultureInfo.InvariantCulture),
        ["flow_run"] = "prefect.flow-run." + Guid.NewGuid(),
        ["work_pool"] = pool,
        ["work_queue"] = queue,
    }.ToJsonString();

    private static Answer Post(Function function, string? token, string body, string method = "POST") => Send(function, method, token, Encoding.UTF8.GetBytes(body));

    private static Answer Send(Function function, string method, string? token, byte[] body)
    {
        var headers = new Dictionary<string, string> { ["Content-Type"] = "application/json" };
        if (token != null) headers[PushPath.TokenHeader] = token;
        JsonObject lambdaEvent = FunctionUrlStandIn.Event(method, "/", headers, body);
        using var input = new MemoryStream(Encoding.UTF8.GetBytes(lambdaEvent.ToJsonString()));
        using Stream output = function.Handle(input);
        JsonObject response = JsonNode.Parse(output)!.AsObject();
        return new Answer((int)response["statusCode"]!, JsonNode.Parse((string)response["body"]!)!.AsObject());
    }

    /// <summary>Nothing was read from Prefect and nothing landed in CloudWatch.</summary>
    private async Task AssertNothingDoneAsync(Bed bed)
    {
        Assert.Empty(bed.Prefect.Requests);
        Assert.Empty(await new CloudWatchReader(_aws).ListAsync(bed.Namespace));
    }

    [Fact]
    public async Task A_fresh_late_event_with_the_secret_runs_one_cycle_of_its_binding_and_publishes_it()
    {
        await using Bed bed = await BedAsync();
        Answer answer = Post(bed.Function, Secret, Late());
        Assert.Equal(200, answer.Status);
        Assert.Equal("published", (string?)answer.Body["outcome"]);
        Assert.Equal(1, (int)answer.Body["cycles"]!);
        Assert.Equal("service/" + Cluster + "/" + Service, (string?)answer.Body["bindings"]!.AsArray().Single());
        Assert.NotEmpty(bed.Prefect.Requests);
        Assert.Equal(4, await new CloudWatchReader(_aws).SingleValueAsync(bed.Namespace, "LateFlowRuns", ("ClusterName", Cluster), ("ServiceName", Service)));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("push-secret-Xy7-not-a-real-onf")]
    [InlineData("push-secret-Xy7-not-a-real-one-and-more")]
    public async Task A_missing_or_wrong_secret_is_rejected_logged_without_it_and_does_nothing(string? token)
    {
        await using Bed bed = await BedAsync();
        Answer answer;
        string log;
        using (var console = new ConsoleCapture())
        {
            answer = Post(bed.Function, token, Late());
            log = console.Text;
        }
        Assert.Equal(401, answer.Status);
        Assert.Equal("rejected", (string?)answer.Body["outcome"]);
        Assert.Equal(0, (int)answer.Body["cycles"]!);
        JsonObject line = JsonNode.Parse(log.Trim())!.AsObject();
        Assert.Equal("warn", (string?)line["level"]);
        Assert.DoesNotContain(Secret, log, StringComparison.Ordinal);
        if (!string.IsNullOrEmpty(token)) Assert.DoesNotContain(token, log, StringComparison.Ordinal);
        await AssertNothingDoneAsync(bed);
    }

    [Fact]
    public async Task An_oversized_body_or_event_is_rejected_before_anything_else()
    {
        await using Bed bed = await BedAsync();
        string padded = Late()[..^1] + ",\"pad\":\"" + new string('x', PushRequest.MaxBodyBytes) + "\"}";
        Answer body = Post(bed.Function, Secret, padded);
        Assert.Equal(413, body.Status);

        // An event over what the publisher reads at all: never a sample, never a cycle.
        string huge = Late()[..^1] + ",\"pad\":\"" + new string('x', 300 * 1024) + "\"}";
        Answer whole = Post(bed.Function, Secret, huge);
        Assert.Equal(413, whole.Status);
        await AssertNothingDoneAsync(bed);
    }

    [Fact]
    public async Task A_replayed_event_id_is_acted_on_once()
    {
        await using Bed bed = await BedAsync();
        // A pool no binding serves: the first is ignored, the second is known as a replay before any binding is asked.
        string id = Guid.NewGuid().ToString();
        Answer first = Post(bed.Function, Secret, Late(id, pool: "other"));
        Answer second = Post(bed.Function, Secret, Late(id, pool: "other"));
        Assert.Equal("ignored", (string?)first.Body["outcome"]);
        Assert.Equal("duplicate", (string?)second.Body["outcome"]);
        await AssertNothingDoneAsync(bed);

        // And of the binding's pool: one cycle for two deliveries of one event.
        string late = Late();
        Answer once = Post(bed.Function, Secret, late);
        Answer again = Post(bed.Function, Secret, late);
        Assert.Equal(1, (int)once.Body["cycles"]!);
        Assert.Equal("duplicate", (string?)again.Body["outcome"]);
        Assert.Equal(0, (int)again.Body["cycles"]!);
    }

    [Theory]
    [InlineData(-11 * 60)]
    [InlineData(5 * 60)]
    public async Task A_stale_or_future_event_is_rejected(int offsetSeconds)
    {
        await using Bed bed = await BedAsync();
        Answer answer = Post(bed.Function, Secret, Late(occurred: DateTime.UtcNow.AddSeconds(offsetSeconds)));
        Assert.Equal(409, answer.Status);
        await AssertNothingDoneAsync(bed);
    }

    [Fact]
    public async Task A_flood_of_fresh_events_makes_one_cycle_per_binding()
    {
        await using Bed bed = await BedAsync();
        Answer[] answers = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => Task.Run(() => Post(bed.Function, Secret, Late()))));
        Assert.Equal(1, answers.Sum(a => (int)a.Body["cycles"]!));
        Assert.Equal(23, answers.Count(a => (string?)a.Body["outcome"] == "debounced"));
        List<Point> points = await new CloudWatchReader(_aws).StatisticsAsync(bed.Namespace, "LateFlowRuns", 60, ("ClusterName", Cluster), ("ServiceName", Service));
        Assert.Equal(1, Assert.Single(points).SampleCount);
    }

    [Fact]
    public async Task Anything_but_a_post_of_a_late_event_does_nothing()
    {
        await using Bed bed = await BedAsync();
        Assert.Equal(405, Post(bed.Function, Secret, Late(), method: "GET").Status);
        Assert.Equal(400, Post(bed.Function, Secret, "not json").Status);
        Assert.Equal(400, Post(bed.Function, Secret, Late(eventName: "prefect.flow-run.Completed")).Status);
        Assert.Equal(400, Post(bed.Function, Secret, "{\"event\":\"prefect.flow-run.Late\"}").Status);
        await AssertNothingDoneAsync(bed);
    }

    [Fact]
    public async Task The_test_event_is_answered_without_a_cycle()
    {
        await using Bed bed = await BedAsync();
        Answer answer = Post(bed.Function, Secret, Late(eventName: PushPath.TestEvent));
        Assert.Equal(200, answer.Status);
        Assert.Equal("test", (string?)answer.Body["outcome"]);
        Assert.Equal(0, (int)answer.Body["cycles"]!);
        await AssertNothingDoneAsync(bed);
    }

    [Fact]
    public async Task A_publisher_without_the_push_path_answers_404_and_does_nothing()
    {
        await using Bed bed = await BedAsync(push: false);
        Answer answer = Post(bed.Function, Secret, Late());
        Assert.Equal(404, answer.Status);
        await AssertNothingDoneAsync(bed);
    }

    [Fact]
    public async Task A_scheduled_invocation_of_a_push_publisher_still_publishes_every_binding()
    {
        await using Bed bed = await BedAsync();
        using MemoryStream input = PublishedFunction.ScheduledEvent();
        using Stream output = bed.Function.Handle(input);
        JsonObject summary = JsonNode.Parse(output)!.AsObject();
        Assert.Equal(1, (int)summary["samples"]!);
        Assert.Equal(4, await new CloudWatchReader(_aws).SingleValueAsync(bed.Namespace, "LateFlowRuns", ("ClusterName", Cluster), ("ServiceName", Service)));
    }
}
