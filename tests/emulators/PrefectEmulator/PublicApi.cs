using System.Text.Json;
using System.Text.Json.Serialization;

namespace PrefectScaling.Testing.PrefectEmulator;

/// <summary>Which Prefect server the emulator pretends to be.</summary>
public enum EmulatorMode
{
    /// <summary>Prefect 3.8.3 self-hosted (admin/version "3.8.3"), optional basic auth.</summary>
    V3,
    /// <summary>Prefect 2.20.25 (admin/version "2.20.25"); Bearer required only when ApiKey is set (like a proxy).</summary>
    V2,
    /// <summary>Prefect 2.7.x (admin/version "2.7.12"): no work pools; work_pools / work_pool_queues body keys are unknown and ignored.</summary>
    V2Legacy,
    /// <summary>Prefect Cloud: account/workspace base path, Bearer ApiKey on every route, 411 without Content-Length.</summary>
    Cloud,
}

public sealed class EmulatorOptions
{
    public EmulatorMode Mode { get; set; } = EmulatorMode.V3;
    /// <summary>"user:pass": V3 basic auth (PREFECT_SERVER_API_AUTH_STRING semantics).</summary>
    public string? AuthString { get; set; }
    /// <summary>Cloud bearer key (required in Cloud mode); in V2 modes, when set, Bearer is required like a proxy would.</summary>
    public string? ApiKey { get; set; }
    /// <summary>0 = random.</summary>
    public int Port { get; set; }
    public int DefaultLimit { get; set; } = 200;
}

/// <summary>One API request as the emulator saw it. Path is relative to the API base and as sent on the wire
/// (percent-escapes kept, query string dropped); a request outside the API base is recorded with its full path.</summary>
public sealed record RecordedRequest(
    string Method,
    string Path,
    string? Body,
    int Status,
    string? AuthScheme,
    string? ContentType,
    long? ContentLength,
    DateTimeOffset At);

public enum FaultKind
{
    /// <summary>429 with Retry-After (RetryAfter, default "1").</summary>
    TooManyRequests,
    /// <summary>503 {"exception_message":"Service Unavailable"}.</summary>
    ServiceUnavailable,
    /// <summary>502 with a small HTML body (as a proxy would send).</summary>
    BadGateway,
    /// <summary>500 {"exception_message":"Internal Server Error"}.</summary>
    InternalError,
    /// <summary>Sleep DelayMilliseconds, then answer normally.</summary>
    Delay,
    /// <summary>Abort the TCP connection without an answer (recorded with status 0).</summary>
    DropConnection,
    /// <summary>Answer normally but as if the body had no "offset" and no "page" (a server or proxy that ignores
    /// them: every page is the first). The recorded body is what was sent.</summary>
    IgnoreOffset,
}

public sealed class FaultRule
{
    /// <summary>Substring of the recorded path (relative to the API base, as sent); null matches every path.</summary>
    public string? PathContains { get; set; }
    /// <summary>Substring of the request body as sent (JSON escapes kept); null matches every body. Lets a fault hit
    /// one scope's request among many to the same path.</summary>
    public string? BodyContains { get; set; }
    /// <summary>HTTP method (case-insensitive); null matches every method.</summary>
    public string? Method { get; set; }
    public FaultKind Kind { get; set; }
    /// <summary>How many requests this rule still applies to; -1 = forever.</summary>
    public int Count { get; set; } = 1;
    /// <summary>Raw Retry-After header value ("2" or an HTTP date). Sent with 429 (default "1") and, when set, with 503/502/500.</summary>
    public string? RetryAfter { get; set; }
    /// <summary>Delay before answering (for Delay; also applied before the other kinds when &gt; 0).</summary>
    public int DelayMilliseconds { get; set; }

    internal FaultRule Clone() => (FaultRule)MemberwiseClone();
}

/// <summary>Data to load into the emulator (snake_case JSON, see <see cref="FromJson"/>).</summary>
public sealed class EmulatorSeed
{
    public List<SeedPool> Pools { get; set; } = new();
    public List<SeedRun> Runs { get; set; } = new();
    public SeedGenerate? Generate { get; set; }

    internal static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        PropertyNameCaseInsensitive = false,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>Parses seed JSON (snake_case keys). Unknown keys are an error, so typos do not go unnoticed.</summary>
    public static EmulatorSeed FromJson(string json) =>
        JsonSerializer.Deserialize<EmulatorSeed>(json, JsonOptions) ?? new EmulatorSeed();

    public static EmulatorSeed Load(string path) => FromJson(File.ReadAllText(path));

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);
}

public sealed class SeedPool
{
    public string Name { get; set; } = "";
    /// <summary>Work pool type, e.g. "kubernetes", "ecs", "process".</summary>
    public string Type { get; set; } = "process";
    public string? Description { get; set; }
    public bool IsPaused { get; set; }
    public int? ConcurrencyLimit { get; set; }
    /// <summary>Queues of the pool. A "default" queue (priority 1) is added when not listed.</summary>
    public List<SeedQueue> Queues { get; set; } = new();
}

public sealed class SeedQueue
{
    public string Name { get; set; } = "";
    /// <summary>null = next free priority in the pool.</summary>
    public int? Priority { get; set; }
    public bool IsPaused { get; set; }
    public int? ConcurrencyLimit { get; set; }
    /// <summary>Seconds relative to the moment the seed is applied (e.g. -10 = polled 10 s ago); null = never polled.</summary>
    public double? LastPolledOffsetSeconds { get; set; }
}

public sealed class SeedRun
{
    /// <summary>Pool name. null with a queue = "default-agent-pool"; null pool and queue = a run without a work queue.
    /// Pools and queues a run names but the seed does not list are created.</summary>
    public string? Pool { get; set; }
    /// <summary>Queue name. null with a pool = the pool's "default" queue.</summary>
    public string? Queue { get; set; }
    /// <summary>StateType (uppercase). null = derived from StateName (Late/Scheduled/AwaitingRetry/... = SCHEDULED), else SCHEDULED.</summary>
    public string? StateType { get; set; }
    /// <summary>null = the conventional name for the type ("Scheduled", "Pending", "Running", ...).</summary>
    public string? StateName { get; set; }
    /// <summary>Seconds relative to the moment the seed is applied; sets expected_start_time, and next_scheduled_start_time for SCHEDULED runs. null = 0.</summary>
    public double? ScheduledOffsetSeconds { get; set; }
    public int Count { get; set; } = 1;
    public List<string> Tags { get; set; } = new();
    /// <summary>Optional run name (with Count &gt; 1 a suffix "-N" is added); null = generated.</summary>
    public string? Name { get; set; }
    public string? FlowVersion { get; set; }
    /// <summary>Optional deployment id; null = one synthetic deployment per work queue (runs without queue: no deployment).</summary>
    public Guid? DeploymentId { get; set; }
}

public sealed class SeedGenerate
{
    public int Pools { get; set; } = 1;
    public int QueuesPerPool { get; set; } = 1;
    public int LateRuns { get; set; }
    public string PoolPrefix { get; set; } = "bench";
    public string QueuePrefix { get; set; } = "q";
    public string PoolType { get; set; } = "ecs";
    /// <summary>Add one future (+1 h) Scheduled run per generated queue.</summary>
    public bool FutureRuns { get; set; } = true;
}
