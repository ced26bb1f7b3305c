using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.TestSupport;
using PrefectScaling.Testing.PrefectEmulator;

namespace PrefectScaling.Publisher.Tests;

/// <summary>Sub-minute sampling as a chain of short invocations, against moto's SQS: the scheduled invocation publishes
/// sample 0 and sends the minute's other samples as delayed messages; an SQS invocation publishes one sample with its
/// due time, and drops one that comes too late.</summary>
[Collection(PublisherCollection.Name)]
public sealed class SampleChainTests : IAsyncLifetime
{
    private const string AuthString = "admin:chain-Ab1";
    private readonly MotoServer _moto;
    private readonly AwsContext _aws;

    public SampleChainTests(MotoFixture moto)
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

    private static Task<PrefectEmulatorServer> StartPrefectAsync() =>
        PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3, AuthString = AuthString }, Scenario.Seed());

    /// <summary>A sub-minute publisher with its queue on moto (as the installer makes it), its calls through the proxy.</summary>
    private async Task<(Setup Setup, string QueueUrl)> ChainedAsync(PrefectEmulatorServer prefect, int interval, RecordingProxy proxy)
    {
        string queue = Scenario.UniqueName("pub") + "-samples";
        JsonNode created = (await _aws.InvokeAsync(AwsOperations.Sqs.CreateQueue, new JsonObject
        {
            ["QueueName"] = queue,
            ["Attributes"] = new JsonObject { ["MessageRetentionPeriod"] = "60", ["VisibilityTimeout"] = "90" },
        }, NullEngineLog.Instance, default))!;
        Setup setup = await new Setup(_moto, prefect.ApiUrl, PublisherSecretKind.AuthString, AuthString, c =>
        {
            c.SampleIntervalSeconds = interval;
            c.Metric.StorageResolution = 1;
        }, endpointUrl: proxy.Url).StoreSecretAsync();
        setup.Environment[SampleChain.QueueVariable] = queue;
        return (setup, (string)created["QueueUrl"]!);
    }

    private static DateTime Stamp(JsonNode? text) =>
        DateTime.Parse((string)text!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    /// <summary>The messages the function sent: each entry's delay and the due time its body carries.</summary>
    private static List<(int Delay, DateTime Due, string Body)> Sent(RecordingProxy proxy) =>
        proxy.Calls("SendMessageBatch").SelectMany(call => JsonNode.Parse(call.Body)!["Entries"]!.AsArray())
            .Select(e => ((int)e!["DelaySeconds"]!, SampleChain.ReadDue((string)e["MessageBody"]!)!.Value, (string)e["MessageBody"]!))
            .ToList();

    [Theory]
    [InlineData(10, 6)]
    [InlineData(15, 4)]
    [InlineData(20, 3)]
    [InlineData(30, 2)]
    public async Task The_scheduled_invocation_publishes_one_sample_and_sends_exactly_the_minutes_other_samples_delayed(int interval, int samplesPerMinute)
    {
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        using var proxy = new RecordingProxy(_moto.Url);
        (Setup setup, string queueUrl) = await ChainedAsync(prefect, interval, proxy);
        Function function = setup.NewFunction();

        JsonObject summary;
        using (var console = new ConsoleCapture())
        {
            summary = Setup.Invoke(function);
            JsonObject line = Assert.Single(console.JsonLines);
            Assert.Equal("published", (string?)line["event"]);
            Assert.Equal("schedule", (string?)line["trigger"]);
        }

        Assert.Equal(1, (int)summary["samples"]!);
        Assert.Equal(2, (int)summary["published"]!);
        Assert.Equal(samplesPerMinute - 1, (int)summary["chained"]!);
        DateTime first = Stamp(Assert.Single(summary["timestamps"]!.AsArray()));

        // One SendMessageBatch with samples 1 .. n-1, each held back k × interval and due k × interval after sample 0.
        Assert.Single(proxy.Calls("SendMessageBatch"));
        List<(int Delay, DateTime Due, string Body)> sent = Sent(proxy);
        Assert.Equal(Enumerable.Range(1, samplesPerMinute - 1).Select(k => k * interval), sent.Select(s => s.Delay));
        Assert.Equal(Enumerable.Range(1, samplesPerMinute - 1).Select(k => first.AddSeconds(k * interval)), sent.Select(s => s.Due));

        // moto holds them, delayed: nothing can be received yet.
        JsonNode attributes = (await _aws.InvokeAsync(AwsOperations.Sqs.GetQueueAttributes, new JsonObject { ["QueueUrl"] = queueUrl, ["AttributeNames"] = new JsonArray("All") }, NullEngineLog.Instance, default))!;
        Assert.Equal((samplesPerMinute - 1).ToString(CultureInfo.InvariantCulture), (string?)attributes["Attributes"]!["ApproximateNumberOfMessagesDelayed"]);
        JsonNode received = (await _aws.InvokeAsync(AwsOperations.Sqs.ReceiveMessage, new JsonObject { ["QueueUrl"] = queueUrl, ["MaxNumberOfMessages"] = 10 }, NullEngineLog.Instance, default))!;
        Assert.Empty(received["Messages"] as JsonArray ?? new JsonArray());

        // Sample 0 went out as one high-resolution PutMetricData, stamped when the minute began.
        string put = Assert.Single(proxy.Calls("PutMetricData")).Body;
        Assert.Contains("StorageResolution=1&", put + "&");
        Point point = Assert.Single(await setup.CloudWatch(_aws).StatisticsAsync(setup.Namespace, "LateFlowRuns", 1, ("WorkPool", Scenario.Pool), ("WorkQueue", "default")));
        Assert.Equal(3, point.Maximum);
        Assert.Equal(first, point.Timestamp);
    }

    [Theory]
    [InlineData(10, 6)]
    [InlineData(15, 4)]
    public async Task Each_sample_of_the_minute_is_published_by_its_own_invocation_as_high_resolution_data_with_distinct_timestamps(int interval, int samples)
    {
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        using var proxy = new RecordingProxy(_moto.Url);
        (Setup setup, _) = await ChainedAsync(prefect, interval, proxy);
        Function function = setup.NewFunction();

        var summaries = new List<JsonObject>();
        using (var console = new ConsoleCapture())
        {
            summaries.Add(Setup.Invoke(function));
            // Each message as SQS would hand it over when due (here at once: a message is never late before its time).
            foreach ((int _, DateTime _, string body) in Sent(proxy)) summaries.Add(SqsEvents.Invoke(function, body));
            Assert.Equal(samples, console.JsonLines.Count);
            Assert.All(console.JsonLines, l => Assert.Equal("published", (string?)l["event"]));
        }

        Assert.Equal(samples, summaries.Count);
        Assert.All(summaries, s => { Assert.Equal(1, (int)s["samples"]!); Assert.Equal(2, (int)s["published"]!); });
        List<DateTime> stamps = summaries.Select(s => Stamp(Assert.Single(s["timestamps"]!.AsArray()))).ToList();
        for (int k = 0; k < samples; k++) Assert.Equal(stamps[0].AddSeconds(k * interval), stamps[k]);

        // Each sample went out on its own, as high-resolution data, and nothing waited for the next one.
        List<ProxiedRequest> puts = proxy.Calls("PutMetricData").ToList();
        Assert.Equal(samples, puts.Count);
        Assert.All(puts, p => Assert.Contains("StorageResolution=1&", p.Body + "&"));
        Assert.Single(proxy.Calls("SendMessageBatch"));

        List<Point> points = await setup.CloudWatch(_aws).StatisticsAsync(setup.Namespace, "LateFlowRuns", 1, ("WorkPool", Scenario.Pool), ("WorkQueue", "default"));
        Assert.Equal(samples, points.Count);
        Assert.All(points, p => { Assert.Equal(3, p.Maximum); Assert.Equal(1, p.SampleCount); });
    }

    [Fact]
    public async Task A_chained_sample_that_fails_fails_its_own_invocation_and_the_earlier_sample_stays_published()
    {
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        using var proxy = new RecordingProxy(_moto.Url);
        (Setup setup, _) = await ChainedAsync(prefect, 30, proxy);
        Function function = setup.NewFunction();
        using (new ConsoleCapture()) Assert.Equal(2, (int)Setup.Invoke(function)["published"]!);
        string body = Assert.Single(Sent(proxy)).Body;

        prefect.AddFault(new FaultRule { Kind = FaultKind.ServiceUnavailable, Count = -1 });
        using var console = new ConsoleCapture();
        PublisherFailedException thrown = Assert.Throws<PublisherFailedException>(() => SqsEvents.Invoke(function, body));
        Assert.Equal("prefect", thrown.Source);
        JsonObject line = Assert.Single(console.JsonLines);
        Assert.Equal("failed", (string?)line["event"]);
        Assert.Equal("sample", (string?)line["trigger"]);
        Assert.Equal(0, (int)line["published"]!);
        Assert.Single(proxy.Calls("PutMetricData"));
        Assert.Equal(2, (await setup.CloudWatch(_aws).ListAsync(setup.Namespace)).Count);
    }

    [Fact]
    public async Task A_delayed_message_that_sqs_releases_publishes_one_sample_with_its_due_timestamp()
    {
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        using var proxy = new RecordingProxy(_moto.Url);
        (Setup setup, string queueUrl) = await ChainedAsync(prefect, 10, proxy);
        Function function = setup.NewFunction();
        using (new ConsoleCapture()) Setup.Invoke(function);
        DateTime firstDue = Sent(proxy).Min(s => s.Due);

        // Wait (long polls) for SQS to release sample 1, ten seconds after it was sent, and hand it over as Lambda does.
        JsonObject? message = null;
        for (int poll = 0; poll < 6 && message == null; poll++)
        {
            JsonNode received = (await _aws.InvokeAsync(AwsOperations.Sqs.ReceiveMessage, new JsonObject
            {
                ["QueueUrl"] = queueUrl, ["MaxNumberOfMessages"] = 1, ["WaitTimeSeconds"] = 20,
            }, NullEngineLog.Instance, default))!;
            message = (received["Messages"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault();
        }
        Assert.NotNull(message);
        DateTime due = SampleChain.ReadDue((string?)message!["Body"])!.Value;
        Assert.Equal(firstDue, due);
        Assert.True(DateTime.UtcNow >= due.AddSeconds(-1), "SQS held the message back until it was due");

        JsonObject summary;
        using (var console = new ConsoleCapture())
        {
            summary = SqsEvents.Invoke(function, (string)message["Body"]!);
            Assert.Equal("sample", (string?)Assert.Single(console.JsonLines)["trigger"]);
        }
        Assert.Equal(1, (int)summary["samples"]!);
        Assert.Equal(2, (int)summary["published"]!);
        Assert.Equal(0, (int)summary["chained"]!);
        Assert.Equal(due, Stamp(Assert.Single(summary["timestamps"]!.AsArray())));
        Assert.Single(proxy.Calls("SendMessageBatch")); // a chained sample chains nothing further

        List<Point> points = await setup.CloudWatch(_aws).StatisticsAsync(setup.Namespace, "LateFlowRuns", 1, ("WorkPool", Scenario.Pool), ("WorkQueue", "default"));
        Assert.Equal(2, points.Count);
        Assert.Equal(due, points[1].Timestamp);
    }

    [Fact]
    public async Task A_message_more_than_one_interval_late_publishes_nothing_and_does_not_fail()
    {
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        using var proxy = new RecordingProxy(_moto.Url);
        (Setup setup, _) = await ChainedAsync(prefect, 10, proxy);
        Function function = setup.NewFunction();
        string late = SampleChain.MessageBody(new ChainedSample(3, DateTime.UtcNow.AddSeconds(-11), 30));

        JsonObject summary;
        using (var console = new ConsoleCapture())
        {
            summary = SqsEvents.Invoke(function, late);
            JsonObject line = Assert.Single(console.JsonLines);
            Assert.Equal("info", (string?)line["level"]);
            Assert.Equal("dropped", (string?)line["event"]);
        }
        Assert.Equal(0, (int)summary["samples"]!);
        Assert.Equal(0, (int)summary["published"]!);
        Assert.Equal(1, (int)summary["dropped"]!);
        Assert.Empty(proxy.Calls("PutMetricData"));
        Assert.Empty(prefect.Requests.Where(r => r.Path.Contains("flow_runs", StringComparison.Ordinal)));
        Assert.Empty(await setup.CloudWatch(_aws).ListAsync(setup.Namespace));

        // One on time in the same batch is published; a message that is not the chain's is dropped too.
        string onTime = SampleChain.MessageBody(new ChainedSample(1, DateTime.UtcNow.AddSeconds(-2), 10));
        using (new ConsoleCapture()) summary = SqsEvents.Invoke(function, late, onTime, "{\"hello\":1}");
        Assert.Equal(1, (int)summary["samples"]!);
        Assert.Equal(2, (int)summary["dropped"]!);
    }

    [Fact]
    public async Task A_scheduled_event_more_than_a_minute_late_is_a_retry_and_publishes_and_chains_nothing()
    {
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        using var proxy = new RecordingProxy(_moto.Url);
        (Setup setup, _) = await ChainedAsync(prefect, 10, proxy);
        Function function = setup.NewFunction();

        JsonObject summary;
        using (new ConsoleCapture()) summary = SqsEvents.InvokeScheduled(function, DateTime.UtcNow.AddSeconds(-75));
        Assert.Equal(0, (int)summary["published"]!);
        Assert.Equal(1, (int)summary["dropped"]!);
        Assert.Empty(proxy.Calls("SendMessageBatch"));
        Assert.Empty(proxy.Calls("PutMetricData"));

        // Seconds late is on time.
        using (new ConsoleCapture()) summary = SqsEvents.InvokeScheduled(function, DateTime.UtcNow.AddSeconds(-20));
        Assert.Equal(5, (int)summary["chained"]!);
    }

    [Fact]
    public async Task A_sixty_second_publisher_sends_no_message_and_needs_no_queue()
    {
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        using var proxy = new RecordingProxy(_moto.Url);
        Setup setup = await new Setup(_moto, prefect.ApiUrl, PublisherSecretKind.AuthString, AuthString, endpointUrl: proxy.Url).StoreSecretAsync();
        Assert.False(setup.Environment.ContainsKey(SampleChain.QueueVariable));
        Function function = setup.NewFunction();

        JsonObject scheduled, direct;
        using (new ConsoleCapture())
        {
            scheduled = Setup.Invoke(function);
            direct = SqsEvents.InvokeRaw(function, "{}");
        }
        Assert.Equal(2, (int)scheduled["published"]!);
        Assert.Equal(0, (int)scheduled["chained"]!);
        Assert.Equal("direct", (string?)direct["trigger"]);
        Assert.Equal(2, (int)direct["published"]!);
        Assert.Empty(proxy.Requests.Where(r => r.Target?.StartsWith("AmazonSQS.", StringComparison.Ordinal) == true));

        // A chained message that outlived a switch to one sample a minute is not a sample any more.
        JsonObject stray;
        using (new ConsoleCapture()) stray = SqsEvents.Invoke(function, SampleChain.MessageBody(new ChainedSample(1, DateTime.UtcNow, 10)));
        Assert.Equal(0, (int)stray["published"]!);
        Assert.Equal(1, (int)stray["dropped"]!);
    }

    [Fact]
    public async Task A_chain_that_cannot_be_sent_fails_the_invocation_after_sample_0_was_published()
    {
        await using PrefectEmulatorServer prefect = await StartPrefectAsync();
        using var proxy = new RecordingProxy(_moto.Url);
        (Setup setup, _) = await ChainedAsync(prefect, 10, proxy);
        setup.Environment[SampleChain.QueueVariable] = "no-such-queue-samples";
        Function function = setup.NewFunction();

        using var console = new ConsoleCapture();
        PublisherFailedException thrown = Assert.Throws<PublisherFailedException>(() => Setup.Invoke(function));
        Assert.Equal("aws", thrown.Source);
        Assert.Equal("NotFound", thrown.Kind);
        JsonObject line = Assert.Single(console.JsonLines);
        Assert.Equal("failed", (string?)line["event"]);
        Assert.Equal(1, (int)line["samples"]!);
        Assert.Equal(2, (int)line["published"]!);
        Assert.Equal(0, (int)line["chained"]!);
        Assert.Single(proxy.Calls("PutMetricData"));
    }
}

/// <summary>The events Lambda hands the function: SQS records and EventBridge's scheduled event.</summary>
internal static class SqsEvents
{
    public static JsonObject Invoke(Function function, params string[] bodies) => InvokeRaw(function, new JsonObject
    {
        ["Records"] = new JsonArray(bodies.Select(body => (JsonNode)new JsonObject
        {
            ["messageId"] = Guid.NewGuid().ToString(),
            ["receiptHandle"] = "handle-" + Guid.NewGuid().ToString("N"),
            ["body"] = body,
            ["attributes"] = new JsonObject { ["ApproximateReceiveCount"] = "1" },
            ["messageAttributes"] = new JsonObject(),
            ["eventSource"] = "aws:sqs",
            ["eventSourceARN"] = "arn:aws:sqs:eu-west-1:123456789012:pub-samples",
            ["awsRegion"] = "eu-west-1",
        }).ToArray()),
    }.ToJsonString());

    public static JsonObject InvokeScheduled(Function function, DateTime time) => InvokeRaw(function, new JsonObject
    {
        ["version"] = "0",
        ["id"] = Guid.NewGuid().ToString(),
        ["detail-type"] = "Scheduled Event",
        ["source"] = "aws.events",
        ["account"] = "123456789012",
        ["time"] = time.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
        ["region"] = "eu-west-1",
        ["resources"] = new JsonArray("arn:aws:events:eu-west-1:123456789012:rule/pub"),
        ["detail"] = new JsonObject(),
    }.ToJsonString());

    public static JsonObject InvokeRaw(Function function, string eventJson)
    {
        using var input = new MemoryStream(Encoding.UTF8.GetBytes(eventJson));
        using Stream output = function.Handle(input);
        using var reader = new StreamReader(output, Encoding.UTF8);
        return JsonNode.Parse(reader.ReadToEnd())!.AsObject();
    }
}
