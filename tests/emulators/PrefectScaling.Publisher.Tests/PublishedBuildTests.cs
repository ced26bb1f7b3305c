using System.Text.Json.Nodes;
using PrefectScaling.Aws;
using PrefectScaling.TestSupport;
using PrefectScaling.Testing.PrefectEmulator;

namespace PrefectScaling.Publisher.Tests;

/// <summary>The handler as the Lambda runtime meets it: loaded from the `dotnet publish` folder
/// (PREFECTSCALING_PUBLISHER_DIR, or published here when unset) into its own load context, configured through real
/// process environment variables.</summary>
[Collection(PublisherCollection.Name)]
public sealed class PublishedBuildTests
{
    private readonly MotoServer _moto;

    public PublishedBuildTests(MotoFixture moto) { _moto = moto.Server; }

    [Fact]
    public async Task The_published_handler_loads_like_the_lambda_runtime_loads_it_and_publishes()
    {
        string folder = PublisherBuild.PublishedFolder;
        foreach (string file in new[] { "PrefectScaling.Publisher.dll", "PrefectScaling.Publisher.deps.json", "PrefectScaling.Publisher.runtimeconfig.json", "PrefectScaling.Engine.dll", "PrefectScaling.Model.dll", "AWSSDK.Core.dll" })
            Assert.True(File.Exists(Path.Combine(folder, file)), file + " is missing from the published folder.");
        JsonNode runtimeConfig = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "PrefectScaling.Publisher.runtimeconfig.json")))!;
        Assert.Equal("net10.0", (string?)runtimeConfig["runtimeOptions"]!["tfm"]);

        await _moto.ResetAsync();
        const string authString = "admin:pub-Ab1";
        await using PrefectEmulatorServer prefect = await PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3, AuthString = authString }, Scenario.Seed());
        Setup setup = await new Setup(_moto, prefect.ApiUrl, PublisherSecretKind.AuthString, authString).StoreSecretAsync();

        string first, second;
        using (ProcessEnvironment.Set(setup.Environment))
        using (var console = new ConsoleCapture())
        using (PublishedFunction function = PublishedFunction.Load(folder))
        {
            // Its own copies of the handler, the engine and the AWS SDK, not the ones this test host loaded.
            Assert.Equal(Path.Combine(folder, "PrefectScaling.Publisher.dll"), function.Assembly.Location);
            Assert.NotSame(typeof(Function).Assembly, function.Assembly);
            first = function.InvokeWithScheduledEvent();
            second = function.InvokeWithScheduledEvent();
            Assert.Contains(function.LoadedAssemblies, a => a.GetName().Name == "PrefectScaling.Engine" && a.Location == Path.Combine(folder, "PrefectScaling.Engine.dll"));
            Assert.Contains(function.LoadedAssemblies, a => a.GetName().Name == "AWSSDK.Core" && a.Location == Path.Combine(folder, "AWSSDK.Core.dll"));
            Assert.Contains(function.LoadedAssemblies, a => a.GetName().Name == "PrefectScaling.Model" && a.Location == Path.Combine(folder, "PrefectScaling.Model.dll"));
            Assert.Equal(new[] { "published", "published" }, console.JsonLines.Select(l => (string?)l["event"]));
        }

        Assert.Equal(2, (int)JsonNode.Parse(first)!["published"]!);
        Assert.True((bool)JsonNode.Parse(first)!["cold"]!);
        Assert.False((bool)JsonNode.Parse(second)!["cold"]!);
        using AwsContext aws = _moto.Context();
        List<Point> points = await new CloudWatchReader(aws).StatisticsAsync(setup.Namespace, "LateFlowRuns", 60, ("WorkPool", Scenario.Pool), ("WorkQueue", "default"));
        Assert.Equal(3, Assert.Single(points).Maximum);
        Assert.Equal(2, Assert.Single(points).SampleCount);
        Assert.Single(prefect.Requests, r => r.Path.EndsWith("/admin/version", StringComparison.Ordinal));
        foreach (var variable in setup.Environment) Assert.NotEqual(variable.Value, Environment.GetEnvironmentVariable(variable.Key));
    }

    [Fact]
    public async Task The_published_handler_fails_the_invocation_when_prefect_rejects_it()
    {
        string folder = PublisherBuild.PublishedFolder;
        await _moto.ResetAsync();
        // The server wants basic auth; the publisher is configured without a secret: 401, which is not retried.
        PrefectEmulatorServer prefect = await PrefectEmulatorServer.StartAsync(new EmulatorOptions { Mode = EmulatorMode.V3, AuthString = "admin:x" }, Scenario.Seed());
        Uri apiUrl = prefect.ApiUrl;
        Setup setup = new(_moto, apiUrl, PublisherSecretKind.None, null);
        try
        {
            using (ProcessEnvironment.Set(setup.Environment))
            using (var console = new ConsoleCapture())
            using (PublishedFunction function = PublishedFunction.Load(folder))
            {
                Exception thrown = Assert.ThrowsAny<Exception>(() => function.InvokeWithScheduledEvent());
                Assert.Equal("PrefectScaling.Publisher.PublisherFailedException", thrown.GetType().FullName);
                JsonObject line = Assert.Single(console.JsonLines);
                Assert.Equal("error", (string?)line["level"]);
                Assert.Equal(thrown.Message, (string?)line["error"]);
                Assert.Equal("Unauthorized", (string?)line["kind"]);
            }
        }
        finally
        {
            await prefect.DisposeAsync();
        }
        using AwsContext aws = _moto.Context();
        Assert.Empty(await new CloudWatchReader(aws).ListAsync(setup.Namespace));
    }
}
