using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using PrefectScaling;
using PrefectScaling.Aws;
using PrefectScaling.Backlog;
using PrefectScaling.Metrics;
using PrefectScaling.Publisher;
using PrefectScaling.TestSupport;
using PrefectScaling.Testing.PrefectEmulator;

// dotnet PrefectScaling.Publisher.Bench.dll --publisher-dir <published folder> --queues N --late-runs M --warm K [--cloudwatch sink|moto]
//     [--sample-interval S]
// With the default "sink", PutMetricData goes to a local endpoint that only acknowledges it (moto takes seconds
// to store 1,000 data), so the times are the function's own; SSM, SQS and everything else stay on moto.
// Every invocation takes one sample. With S below 60 the scheduled invocations also send the minute's other samples
// to a queue on moto (the chain), and K more warm invocations are SQS events, one chained sample each.
// Prints one JSON line: {"queues":N,"lateRuns":M,"sampleIntervalSeconds":S,"coldMs":…,"warmMsMedian":…,"warmMsMax":…,
// "warmSampleMsMedian":…,"warmSampleMsMax":…,"chainedPerMinute":…,"peakWorkingSetMB":…,"prefectRequestsCold":…,
// "prefectRequestsWarm":…,"published":…}; exits 1 on any failure (message on stderr).
TextWriter stdout = Console.Out;
try
{
    // --push: the push path's handler (PushBench.cs).
    JsonObject result = args.Contains("--push") ? await PushBench.RunAsync(args) : await Bench.RunAsync(BenchOptions.Parse(args));
    stdout.WriteLine(result.ToJsonString());
    return 0;
}
catch (Exception e)
{
    Console.SetOut(stdout);
    Console.Error.WriteLine("bench failed: " + e);
    return 1;
}

internal sealed record BenchOptions(string PublisherDir, int Queues, int LateRuns, int Warm, bool CloudWatchSink, int SampleInterval)
{
    public static BenchOptions Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (int i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
                throw new ArgumentException("Usage: --publisher-dir <folder> --queues N --late-runs M --warm K [--sample-interval S] (near '" + args[i] + "').");
            values[args[i].Substring(2)] = args[i + 1];
        }
        int Number(string name, int fallback, int min)
        {
            if (!values.TryGetValue(name, out string? text)) return fallback;
            int n = int.Parse(text, NumberStyles.Integer, CultureInfo.InvariantCulture);
            return n >= min ? n : throw new ArgumentException("--" + name + " must be at least " + min + ".");
        }
        string dir = values.TryGetValue("publisher-dir", out string? d) ? d : throw new ArgumentException("--publisher-dir is required.");
        string cloudWatch = values.TryGetValue("cloudwatch", out string? c) ? c : "sink";
        if (cloudWatch != "sink" && cloudWatch != "moto") throw new ArgumentException("--cloudwatch is sink or moto.");
        int interval = Number("sample-interval", 60, 10);
        if (60 % interval != 0 || interval > 60) throw new ArgumentException("--sample-interval is 10, 15, 20, 30 or 60.");
        return new BenchOptions(Path.GetFullPath(dir), Number("queues", 10, 1), Number("late-runs", 0, 0), Number("warm", 5, 1), cloudWatch == "sink", interval);
    }
}

internal static class Bench
{
    public static async Task<JsonObject> RunAsync(BenchOptions options)
    {
        // 1 pool "bench-1": N-1 generated queues plus its default queue, M late runs spread over the generated ones.
        var seed = new EmulatorSeed { Generate = new SeedGenerate { Pools = 1, QueuesPerPool = options.Queues - 1, LateRuns = options.LateRuns } };
        string authString = "bench:" + Guid.NewGuid().ToString("N");
        await using PrefectEmulatorServer prefect = await PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3, AuthString = authString }, seed);
        await using MotoServer moto = await MotoServer.StartAsync();

        var configuration = new PublisherConfiguration
        {
            ApiUrl = prefect.ApiUrl.AbsoluteUri,
            SecretKind = PublisherSecretKind.AuthString,
            SecretParameter = "/prefectscaling/bench/prefect-secret",
            Scopes = new[] { new ScopeSelector("bench-1", null) },
            Metric = new BacklogMetricOptions { Namespace = "PrefectScalingBench", StorageResolution = options.SampleInterval < 60 ? 1 : 60 },
            SampleIntervalSeconds = options.SampleInterval,
        };
        bool chained = SampleChain.IsChained(options.SampleInterval);
        using (AwsContext aws = moto.Context())
            await aws.PutSecureStringParameterAsync(configuration.SecretParameter, authString, "bench", null, NullEngineLog.Instance, default);
        Dictionary<string, string> environment = configuration.ToEnvironment();
        foreach (var variable in moto.LambdaEnvironment()) environment[variable.Key] = variable.Value;
        if (chained)
        {
            // The queue as the installer makes it.
            using AwsContext aws = moto.Context();
            await aws.InvokeAsync(AwsOperations.Sqs.CreateQueue, new JsonObject
            {
                ["QueueName"] = "bench-samples",
                ["Attributes"] = new JsonObject { ["MessageRetentionPeriod"] = SampleChain.RetentionSeconds.ToString(CultureInfo.InvariantCulture), ["VisibilityTimeout"] = "90" },
            }, NullEngineLog.Instance, default);
            environment[SampleChain.QueueVariable] = "bench-samples";
        }
        // A local CloudWatch that only acknowledges PutMetricData (and counts the calls).
        const string acknowledged = "<PutMetricDataResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\"><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></PutMetricDataResponse>";
        using CaptureServer? sink = options.CloudWatchSink ? new CaptureServer((_, _) => new CannedResponse(200, acknowledged, "text/xml")) : null;
        if (sink != null) environment["AWS_ENDPOINT_URL_CLOUDWATCH"] = sink.Url;

        int expected = options.Queues * configuration.Measures.Count;
        int chainedPerMinute = SampleChain.Follow(DateTime.UtcNow, options.SampleInterval).Count;
        var log = new StringWriter();
        TextWriter stdout = Console.Out;
        var warm = new List<double>();
        var warmRequests = new List<int>();
        var warmSamples = new List<double>();
        double coldMs;
        int coldRequests;
        using (ProcessEnvironment.Set(environment))
        {
            Console.SetOut(log); // the function's log lines; the bench prints only its own result
            try
            {
                prefect.ResetRequests();
                var clock = Stopwatch.StartNew();
                using PublishedFunction function = PublishedFunction.Load(options.PublisherDir);
                Check(function.InvokeWithScheduledEvent(), expected, "cold", chainedPerMinute);
                coldMs = clock.Elapsed.TotalMilliseconds;
                coldRequests = prefect.Requests.Count;

                for (int i = 0; i < options.Warm; i++)
                {
                    prefect.ResetRequests();
                    clock.Restart();
                    Check(function.InvokeWithScheduledEvent(), expected, "warm " + (i + 1), chainedPerMinute);
                    warm.Add(clock.Elapsed.TotalMilliseconds);
                    warmRequests.Add(prefect.Requests.Count);
                }

                // The chained samples: SQS events, each due now.
                for (int i = 0; chained && i < options.Warm; i++)
                {
                    string sqsEvent = new JsonObject
                    {
                        ["Records"] = new JsonArray(new JsonObject
                        {
                            ["messageId"] = Guid.NewGuid().ToString(),
                            ["body"] = SampleChain.MessageBody(new ChainedSample(1, DateTime.UtcNow, options.SampleInterval)),
                            ["eventSource"] = "aws:sqs",
                            ["eventSourceARN"] = "arn:aws:sqs:" + MotoServer.DefaultRegion + ":" + MotoServer.AccountId + ":bench-samples",
                        }),
                    }.ToJsonString();
                    clock.Restart();
                    using var input = new MemoryStream(System.Text.Encoding.UTF8.GetBytes(sqsEvent));
                    using Stream output = function.Invoke(input);
                    using var reader = new StreamReader(output);
                    Check(reader.ReadToEnd(), expected, "chained sample " + (i + 1), 0);
                    warmSamples.Add(clock.Elapsed.TotalMilliseconds);
                }
            }
            finally
            {
                Console.SetOut(stdout);
            }
        }

        string[] lines = log.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int invocations = options.Warm + 1 + (chained ? options.Warm : 0);
        if (lines.Length != invocations || lines.Any(l => (string?)JsonNode.Parse(l)?["event"] != "published"))
            throw new InvalidOperationException("Expected " + invocations + " 'published' log lines, got:\n" + log);

        using var self = Process.GetCurrentProcess();
        self.Refresh();
        return new JsonObject
        {
            ["queues"] = options.Queues,
            ["lateRuns"] = options.LateRuns,
            ["sampleIntervalSeconds"] = options.SampleInterval,
            ["coldMs"] = Math.Round(coldMs, 1),
            ["warmMsMedian"] = Math.Round(Median(warm), 1),
            ["warmMsMax"] = Math.Round(warm.Max(), 1),
            ["warmSampleMsMedian"] = chained ? Math.Round(Median(warmSamples), 1) : null,
            ["warmSampleMsMax"] = chained ? Math.Round(warmSamples.Max(), 1) : null,
            ["chainedPerMinute"] = chainedPerMinute,
            ["peakWorkingSetMB"] = Math.Round(self.PeakWorkingSet64 / 1048576.0, 1),
            ["prefectRequestsCold"] = coldRequests,
            ["prefectRequestsWarm"] = (int)Median(warmRequests.Select(r => (double)r).ToList()),
            ["published"] = expected,
            ["cloudWatch"] = sink != null ? "sink" : "moto",
            ["putMetricDataCalls"] = sink?.Count("PutMetricData"),
        };
    }

    private static void Check(string summaryJson, int expected, string which, int chained)
    {
        JsonNode summary = JsonNode.Parse(summaryJson) ?? throw new InvalidOperationException("The " + which + " invocation returned no JSON.");
        int published = (int?)summary["published"] ?? -1;
        if (published != expected)
            throw new InvalidOperationException("The " + which + " invocation published " + published + " data, not " + expected + ": " + summaryJson);
        if ((int?)summary["chained"] != chained)
            throw new InvalidOperationException("The " + which + " invocation chained " + (int?)summary["chained"] + " samples, not " + chained + ": " + summaryJson);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.OrderBy(v => v).ToList();
        int mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
