using PrefectScaling.Aws;

namespace PrefectScaling.Aws.Tests;

/// <summary>One moto_server per test collection (see <see cref="MotoServer"/> in TestSupport).</summary>
public sealed class MotoFixture : IAsyncLifetime
{
    public const string AccountId = MotoServer.AccountId;
    public const string Region = MotoServer.DefaultRegion;

    private MotoServer? _server;

    private MotoServer Server => _server ?? throw new InvalidOperationException("moto_server has not started.");

    public string Url => Server.Url;

    public async Task InitializeAsync() => _server = await MotoServer.StartAsync();

    public Task ResetAsync() => Server.ResetAsync();

    /// <summary>A context on moto: dummy keys, the fixture's region, moto as -EndpointUrl.</summary>
    public AwsContext Context(string? region = null) => Server.Context(region);

    public async Task DisposeAsync()
    {
        if (_server != null) await _server.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class MotoCollection : ICollectionFixture<MotoFixture>
{
    public const string Name = "moto";
}
