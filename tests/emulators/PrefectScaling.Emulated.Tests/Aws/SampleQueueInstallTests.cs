using System.IO.Compression;
using System.Text.Json.Nodes;
using PrefectScaling.Publisher;
using PrefectScaling.Scaling;

namespace PrefectScaling.Aws.Tests;

/// <summary>The installer against moto for a sub-minute publisher: the sample queue and its event source mapping are
/// created once, converge, go when the publisher samples once a minute again, and are removed only when the module's.</summary>
[Collection(MotoCollection.Name)]
public sealed class SampleQueueInstallTests : IAsyncLifetime
{
    private readonly MotoFixture _moto;
    private readonly AwsContext _aws;

    public SampleQueueInstallTests(MotoFixture moto)
    {
        _moto = moto;
        _aws = moto.Context();
    }

    public Task InitializeAsync() => _moto.ResetAsync();

    public Task DisposeAsync()
    {
        _aws.Dispose();
        return Task.CompletedTask;
    }

    private static readonly byte[] Package = MakePackage();

    private static byte[] MakePackage()
    {
        using var buffer = new MemoryStream();
        using (var zip = new ZipArchive(buffer, ZipArchiveMode.Create, leaveOpen: true))
        using (var writer = new StreamWriter(zip.CreateEntry("PrefectScaling.Publisher.dll").Open()))
            writer.Write("not really an assembly");
        return buffer.ToArray();
    }

    private static PublisherInstallSpec Spec(string name, int interval)
    {
        var spec = new PublisherInstallSpec { Name = name, Package = Package };
        spec.Configuration.ApiUrl = "https://prefect.example.com/api";
        spec.Configuration.SampleIntervalSeconds = interval;
        spec.Configuration.Metric.StorageResolution = interval < 60 ? 1 : 60;
        spec.Validate();
        return spec;
    }

    private async Task<PublisherState> ReadAsync(string name) =>
        await new PublisherInstaller(_aws).ReadAsync(name, false, NullEngineLog.Instance, default);

    /// <summary>Plans the install from what exists, applies it, and returns the plan.</summary>
    private async Task<List<AwsChange>> InstallAsync(PublisherInstallSpec spec)
    {
        var installer = new PublisherInstaller(_aws);
        List<AwsChange> plan = installer.PlanInstall(spec, await ReadAsync(spec.Name));
        foreach (AwsChange change in plan) await change.Apply(NullEngineLog.Instance, default);
        return plan;
    }

    private async Task<List<AwsChange>> UninstallAsync(string name)
    {
        var installer = new PublisherInstaller(_aws);
        List<AwsChange> plan = installer.PlanUninstall(await ReadAsync(name));
        foreach (AwsChange change in plan) await change.Apply(NullEngineLog.Instance, default);
        return plan;
    }

    private async Task<string?> QueueUrlAsync(string queue)
    {
        try
        {
            return (string?)(await _aws.InvokeAsync(AwsOperations.Sqs.GetQueueUrl, new JsonObject { ["QueueName"] = queue }, NullEngineLog.Instance, default))?["QueueUrl"];
        }
        catch (AwsApiException e) when (e.Kind == AwsErrorKind.NotFound)
        {
            return null;
        }
    }

    private async Task<List<JsonObject>> MappingsAsync(string function) =>
        ((await _aws.InvokeAsync(AwsOperations.Lambda.ListEventSourceMappings, new JsonObject { ["FunctionName"] = function }, NullEngineLog.Instance, default))?["EventSourceMappings"] as JsonArray ?? new JsonArray())
            .OfType<JsonObject>().ToList();

    [Fact]
    public async Task The_queue_and_the_mapping_are_created_once_converge_and_are_removed_with_the_publisher()
    {
        PublisherInstallSpec spec = Spec("chain-pub", 10);
        List<AwsChange> first = await InstallAsync(spec);
        Assert.Equal(2, first.Count(c => c.Target == "chain-pub-samples"));

        string queueUrl = Assert.IsType<string>(await QueueUrlAsync("chain-pub-samples"));
        JsonObject attributes = (JsonObject)(await _aws.InvokeAsync(AwsOperations.Sqs.GetQueueAttributes, new JsonObject { ["QueueUrl"] = queueUrl, ["AttributeNames"] = new JsonArray("All") }, NullEngineLog.Instance, default))!["Attributes"]!;
        Assert.Equal("60", (string?)attributes["MessageRetentionPeriod"]);
        Assert.Equal(spec.Timeout.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)attributes["VisibilityTimeout"]);
        Assert.Equal("0", (string?)attributes["DelaySeconds"]);
        JsonObject tags = (JsonObject)(await _aws.InvokeAsync(AwsOperations.Sqs.ListQueueTags, new JsonObject { ["QueueUrl"] = queueUrl }, NullEngineLog.Instance, default))!["Tags"]!;
        Assert.Equal("PrefectScaling", (string?)tags["ManagedBy"]);
        Assert.Equal("chain-pub", (string?)tags["PrefectScalingPublisher"]);

        JsonObject mapping = Assert.Single(await MappingsAsync("chain-pub"));
        Assert.Equal((string?)attributes["QueueArn"], (string?)mapping["EventSourceArn"]);
        Assert.Equal(1, (int?)mapping["BatchSize"]);
        Assert.Equal("Enabled", (string?)mapping["State"]);

        PublisherState installed = await ReadAsync("chain-pub");
        Assert.Equal("chain-pub-samples", (string?)installed.Function!["Configuration"]!["Environment"]!["Variables"]![SampleChain.QueueVariable]);
        Assert.Equal(spec.Timeout, (int?)installed.Function!["Configuration"]!["Timeout"]);
        Assert.Contains(installed.RolePolicy!["Statement"]!.AsArray(), s => (string?)s!["Sid"] == "ReceiveChainedSamples" && (string?)s["Resource"] == (string?)attributes["QueueArn"]);
        PrefectBacklogPublisher report = PrefectBacklogPublisher.From(installed);
        Assert.Empty(report.Problems.Where(p => p.Contains("queue", StringComparison.OrdinalIgnoreCase) || p.Contains("mapping", StringComparison.OrdinalIgnoreCase)));

        // Again: nothing to do, and still one queue and one mapping.
        Assert.Empty(await InstallAsync(spec));
        Assert.Single(await MappingsAsync("chain-pub"));
        // Another sub-minute interval changes the function's configuration, not the queue or the mapping.
        Assert.DoesNotContain(await InstallAsync(Spec("chain-pub", 15)), c => c.Target == "chain-pub-samples");
        Assert.Single(await MappingsAsync("chain-pub"));

        // Once a minute: the queue and the mapping go; sub-minute again: they come back.
        List<AwsChange> minute = await InstallAsync(Spec("chain-pub", 60));
        Assert.Equal(2, minute.Count(c => c.Action.StartsWith("Delete", StringComparison.Ordinal)));
        Assert.Null(await QueueUrlAsync("chain-pub-samples"));
        Assert.Empty(await MappingsAsync("chain-pub"));
        Assert.Empty(await InstallAsync(Spec("chain-pub", 60)));
        await InstallAsync(spec);
        Assert.NotNull(await QueueUrlAsync("chain-pub-samples"));
        Assert.Single(await MappingsAsync("chain-pub"));

        List<AwsChange> removed = await UninstallAsync("chain-pub");
        Assert.Contains(removed, c => c.Action == "Delete SQS queue");
        Assert.Contains(removed, c => c.Action.StartsWith("Delete the event source mapping", StringComparison.Ordinal));
        Assert.Null(await QueueUrlAsync("chain-pub-samples"));
        Assert.Empty(await MappingsAsync("chain-pub"));
        Assert.Empty((await ReadAsync("chain-pub")).Found());
    }

    [Fact]
    public async Task A_queue_of_the_name_the_module_did_not_make_stops_a_sub_minute_install_and_outlives_the_uninstall()
    {
        await _aws.InvokeAsync(AwsOperations.Sqs.CreateQueue, new JsonObject { ["QueueName"] = "theirs-samples", ["tags"] = new JsonObject { ["ManagedBy"] = "PrefectScaling", ["PrefectScalingPublisher"] = "someone-else" } }, NullEngineLog.Instance, default);

        var taken = await Assert.ThrowsAsync<ResourceOwnershipException>(() => InstallAsync(Spec("theirs", 10)));
        Assert.Equal("PublisherNameTaken", taken.ErrorId);
        Assert.Contains("SQS queue theirs-samples", taken.Message, StringComparison.Ordinal);
        Assert.Null((await ReadAsync("theirs")).Function);

        // Once a minute needs no queue: it installs, and leaves the queue alone both ways.
        Assert.DoesNotContain(await InstallAsync(Spec("theirs", 60)), c => c.Target.Contains("theirs-samples", StringComparison.Ordinal));
        PublisherState state = await ReadAsync("theirs");
        Assert.Contains(state.NotOwned(), o => o.Contains("SQS queue theirs-samples", StringComparison.Ordinal));
        Assert.DoesNotContain(await UninstallAsync("theirs"), c => c.Target.Contains("theirs-samples", StringComparison.Ordinal));
        Assert.NotNull(await QueueUrlAsync("theirs-samples"));
    }
}
