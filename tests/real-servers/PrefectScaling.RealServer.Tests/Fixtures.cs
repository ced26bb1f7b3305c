using System.Collections.Concurrent;

namespace PrefectScaling.RealServer.Tests;

/// <summary>One real server per collection, shared by its tests; each test works on scenarios of its own.</summary>
public abstract class ServerFixture : IAsyncLifetime
{
    private readonly ConcurrentDictionary<string, Lazy<Task<object>>> _shared = new(StringComparer.Ordinal);
    private RealPrefectServer? _server;

    protected abstract RealPrefectKind Kind { get; }

    public RealPrefectServer Server => _server ?? throw new InvalidOperationException("The real Prefect server has not started.");

    public async Task InitializeAsync() => _server = await RealPrefectServer.AcquireAsync(Kind);

    public PrefectHttp Http() => new(Server.ApiUrl, Server.AuthString);

    /// <summary>A scenario seeded once per fixture and shared by the tests that read it (seeding a real server
    /// costs seconds); tests never change it.</summary>
    public Task<ScenarioSpec> SeededAsync(string key, Func<ScenarioSpec> build) =>
        SharedAsync("scenario:" + key, async () =>
        {
            ScenarioSpec spec = build();
            using PrefectHttp http = Http();
            await spec.SeedAsync(http);
            return spec;
        });

    /// <summary>Made once per fixture, on first use; disposed with the fixture.</summary>
    public async Task<T> SharedAsync<T>(string key, Func<Task<T>> create) where T : class =>
        (T)await _shared.GetOrAdd(key, _ => new Lazy<Task<object>>(async () => await create())).Value;

    public async Task DisposeAsync()
    {
        foreach (Lazy<Task<object>> item in _shared.Values)
        {
            if (!item.IsValueCreated || !item.Value.IsCompletedSuccessfully) continue;
            if (item.Value.Result is IAsyncDisposable disposable) await disposable.DisposeAsync();
            else if (item.Value.Result is IDisposable plain) plain.Dispose();
        }
        if (_server != null) await _server.DisposeAsync();
    }
}

public sealed class Prefect2Fixture : ServerFixture
{
    protected override RealPrefectKind Kind => RealPrefectKind.Prefect2;
}

public sealed class Prefect3Fixture : ServerFixture
{
    protected override RealPrefectKind Kind => RealPrefectKind.Prefect3;
}

public sealed class Prefect3AuthFixture : ServerFixture
{
    protected override RealPrefectKind Kind => RealPrefectKind.Prefect3Auth;
}

[CollectionDefinition(Name)]
public sealed class Prefect2Collection : ICollectionFixture<Prefect2Fixture>
{
    public const string Name = "real Prefect 2.20.25";
}

[CollectionDefinition(Name)]
public sealed class Prefect3Collection : ICollectionFixture<Prefect3Fixture>
{
    public const string Name = "real Prefect 3.8.3";
}

[CollectionDefinition(Name)]
public sealed class Prefect3AuthCollection : ICollectionFixture<Prefect3AuthFixture>
{
    public const string Name = "real Prefect 3.8.3 with basic auth";
}
