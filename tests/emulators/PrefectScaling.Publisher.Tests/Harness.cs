using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Prefect;
using PrefectScaling.TestSupport;
using PrefectScaling.Testing.PrefectEmulator;

// The tests share one moto, capture Console.Out and set process environment variables: run them one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace PrefectScaling.Publisher.Tests;

/// <summary>One moto_server for the whole run.</summary>
public sealed class MotoFixture : IAsyncLifetime
{
    private MotoServer? _server;

    public MotoServer Server => _server ?? throw new InvalidOperationException("moto_server has not started.");

    public async Task InitializeAsync() => _server = await MotoServer.StartAsync();

    public async Task DisposeAsync()
    {
        if (_server != null) await _server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class PublisherCollection : ICollectionFixture<MotoFixture>
{
    public const string Name = "publisher";
}

internal static class Scenario
{
    public const string Pool = "workers";

    /// <summary>Pool "workers": default has 3 late runs, etl 1 late run (plus runs that are not late), and pool "other" 5.</summary>
    public static EmulatorSeed Seed() => new()
    {
        Pools =
        {
            new SeedPool { Name = Pool, Type = "ecs", Queues = { new SeedQueue { Name = "default" }, new SeedQueue { Name = "etl" } } },
            new SeedPool { Name = "other", Type = "process", Queues = { new SeedQueue { Name = "default" } } },
        },
        Runs =
        {
            Run(Pool, "default", "Late", -600, 3),
            Run(Pool, "etl", "Late", -120, 1),
            Run(Pool, "etl", "Scheduled", 3600, 2),
            Run(Pool, "etl", "Running", -60, 1, "RUNNING"),
            Run("other", "default", "Late", -300, 5),
        },
    };

    private static SeedRun Run(string pool, string queue, string stateName, double offset, int count = 1, string? stateType = null) =>
        new() { Pool = pool, Queue = queue, StateName = stateName, StateType = stateType, ScheduledOffsetSeconds = offset, Count = count };

    public static PrefectHttpOptions Quick => new()
    {
        RequestTimeout = TimeSpan.FromSeconds(5),
        Deadline = TimeSpan.FromSeconds(10),
        MaxAttempts = 3,
        BaseBackoff = TimeSpan.FromMilliseconds(20),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
    };

    public static string UniqueName(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N").Substring(0, 10);
}

/// <summary>One published metric as CloudWatch (moto) gives it back.</summary>
internal sealed record Point(DateTime Timestamp, double Maximum, double SampleCount);

/// <summary>Reads back what landed in CloudWatch on moto.</summary>
internal sealed class CloudWatchReader
{
    private readonly AwsContext _aws;

    public CloudWatchReader(AwsContext aws) { _aws = aws; }

    public async Task<List<(string Name, Dictionary<string, string> Dimensions)>> ListAsync(string ns)
    {
        JsonNode answer = (await _aws.InvokeAsync(AwsOperations.CloudWatch.ListMetrics, new JsonObject { ["Namespace"] = ns }, NullEngineLog.Instance, default))!;
        return (answer["Metrics"] as JsonArray ?? new JsonArray()).Select(m => (
            (string)m!["MetricName"]!,
            (m["Dimensions"] as JsonArray ?? new JsonArray()).ToDictionary(d => (string)d!["Name"]!, d => (string)d!["Value"]!))).ToList();
    }

    public async Task<List<Point>> StatisticsAsync(string ns, string metric, int period, params (string Name, string Value)[] dimensions)
    {
        DateTime now = DateTime.UtcNow;
        var input = new JsonObject
        {
            ["Namespace"] = ns,
            ["MetricName"] = metric,
            ["Dimensions"] = new JsonArray(dimensions.Select(d => (JsonNode)new JsonObject { ["Name"] = d.Name, ["Value"] = d.Value }).ToArray()),
            ["StartTime"] = Iso(now.AddMinutes(-10)),
            ["EndTime"] = Iso(now.AddMinutes(10)),
            ["Period"] = period,
            ["Statistics"] = new JsonArray("Maximum", "SampleCount"),
        };
        JsonNode answer = (await _aws.InvokeAsync(AwsOperations.CloudWatch.GetMetricStatistics, input, NullEngineLog.Instance, default))!;
        return (answer["Datapoints"] as JsonArray ?? new JsonArray())
            .Select(p => new Point(
                DateTime.Parse((string)p!["Timestamp"]!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal),
                Number(p["Maximum"]), Number(p["SampleCount"])))
            .OrderBy(p => p.Timestamp).ToList();
    }

    /// <summary>The value of the one datapoint of a metric (period 60).</summary>
    public async Task<double> SingleValueAsync(string ns, string metric, params (string Name, string Value)[] dimensions)
    {
        List<Point> points = await StatisticsAsync(ns, metric, 60, dimensions);
        return Assert.Single(points).Maximum;
    }

    private static double Number(JsonNode? node) => node is JsonValue v && v.TryGetValue(out double d) ? d : double.Parse((string)node!, CultureInfo.InvariantCulture);

    private static string Iso(DateTime time) => time.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}

/// <summary>Captures Console.Out (where the function logs) until disposed.</summary>
internal sealed class ConsoleCapture : IDisposable
{
    private readonly TextWriter _original = Console.Out;
    private readonly StringWriter _captured = new();

    public ConsoleCapture() => Console.SetOut(_captured);

    public string Text => _captured.ToString();

    public IReadOnlyList<string> Lines => Text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public IReadOnlyList<JsonObject> JsonLines => Lines.Select(l => JsonNode.Parse(l)!.AsObject()).ToList();

    public void Dispose() => Console.SetOut(_original);
}

/// <summary>A publisher set up against an emulator and moto: the secret in SSM, the function's environment.</summary>
internal sealed class Setup
{
    public Setup(MotoServer moto, Uri apiUrl, PublisherSecretKind kind, string? secret, Action<PublisherConfiguration>? configure = null, string? endpointUrl = null)
    {
        Moto = moto;
        Namespace = Scenario.UniqueName("PublisherTest");
        Configuration = new PublisherConfiguration
        {
            ApiUrl = apiUrl.AbsoluteUri,
            SecretKind = kind,
            SecretParameter = kind == PublisherSecretKind.None ? null : "/prefectscaling/" + Scenario.UniqueName("secret"),
            Scopes = new[] { new ScopeSelector(Scenario.Pool, null) },
            Metric = new Metrics.BacklogMetricOptions { Namespace = Namespace },
        };
        configure?.Invoke(Configuration);
        Secret = secret;
        Environment = Configuration.ToEnvironment();
        foreach (var variable in moto.LambdaEnvironment(endpointUrl)) Environment[variable.Key] = variable.Value;
    }

    public MotoServer Moto { get; }
    public string Namespace { get; }
    public PublisherConfiguration Configuration { get; }
    public string? Secret { get; }
    public Dictionary<string, string> Environment { get; }

    /// <summary>Puts the secret into moto's SSM as a SecureString (as Install-PrefectBacklogPublisher does).</summary>
    public async Task<Setup> StoreSecretAsync()
    {
        if (Configuration.SecretParameter != null && Secret != null)
        {
            using AwsContext aws = Moto.Context();
            await aws.PutSecureStringParameterAsync(Configuration.SecretParameter, Secret, "test", null, NullEngineLog.Instance, default);
        }
        return this;
    }

    public Function NewFunction()
    {
        Dictionary<string, string> environment = Environment;
        return new Function(name => environment.TryGetValue(name, out string? value) ? value : null) { PrefectHttpOptions = Scenario.Quick };
    }

    public CloudWatchReader CloudWatch(AwsContext aws) => new(aws);

    /// <summary>Calls the handler with a scheduled event; the summary it returns, parsed.</summary>
    public static JsonObject Invoke(Function function)
    {
        using MemoryStream input = PublishedFunction.ScheduledEvent();
        using Stream output = function.Handle(input);
        using var reader = new StreamReader(output, Encoding.UTF8);
        return JsonNode.Parse(reader.ReadToEnd())!.AsObject();
    }
}
