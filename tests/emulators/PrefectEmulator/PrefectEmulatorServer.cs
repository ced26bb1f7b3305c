using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PrefectScaling.Testing.PrefectEmulator;

/// <summary>An in-memory Prefect REST API on 127.0.0.1 for tests. Thread-safe.</summary>
public sealed partial class PrefectEmulatorServer : IAsyncDisposable
{
    internal static readonly JsonSerializerOptions ControlJson = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter() },
    };

    private readonly object _lock = new();
    private readonly EmulatorOptions _options;
    private readonly List<(long Seq, RecordedRequest Request)> _requests = new();
    private readonly List<FaultRule> _faults = new();
    private readonly Schemas _schemas;
    private readonly string _basePath;
    private WebApplication? _app;
    private Store _store = new();
    private long _seq;

    private PrefectEmulatorServer(EmulatorOptions options)
    {
        _options = new EmulatorOptions
        {
            Mode = options.Mode,
            AuthString = options.AuthString,
            ApiKey = options.ApiKey,
            Port = options.Port,
            DefaultLimit = options.DefaultLimit,
        };
        _schemas = new Schemas(IsV3);
        _basePath = options.Mode == EmulatorMode.Cloud
            ? $"/api/accounts/{Guid.NewGuid():D}/workspaces/{Guid.NewGuid():D}"
            : "/api";
    }

    internal bool IsV3 => _options.Mode is EmulatorMode.V3 or EmulatorMode.Cloud;
    internal EmulatorMode Mode => _options.Mode;

    public Uri ApiUrl { get; private set; } = null!;
    public Uri RootUrl { get; private set; } = null!;

    public static Task<PrefectEmulatorServer> StartAsync(EmulatorOptions options, EmulatorSeed? seed = null, CancellationToken ct = default) =>
        StartAsync(options, seed, logToStderr: false, ct);

    internal static async Task<PrefectEmulatorServer> StartAsync(EmulatorOptions options, EmulatorSeed? seed, bool logToStderr, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Mode == EmulatorMode.Cloud && string.IsNullOrEmpty(options.ApiKey))
            throw new ArgumentException("Cloud mode needs EmulatorOptions.ApiKey.", nameof(options));
        if (options.DefaultLimit < 0) throw new ArgumentOutOfRangeException(nameof(options), "DefaultLimit must be >= 0.");

        var server = new PrefectEmulatorServer(options);
        server.Seed(seed ?? new EmulatorSeed());

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Limits.MaxRequestBodySize = 64L * 1024 * 1024;
            k.Listen(IPAddress.Loopback, options.Port);
        });
        builder.Logging.ClearProviders();
        if (logToStderr)
        {
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
            builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        }
        var app = builder.Build();
        app.Run(server.HandleAsync);
        await app.StartAsync(ct).ConfigureAwait(false);
        server._app = app;

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var port = new Uri(address).Port;
        server.RootUrl = new Uri($"http://127.0.0.1:{port}");
        server.ApiUrl = new Uri($"http://127.0.0.1:{port}{server._basePath}");
        return server;
    }

    /// <summary>Replaces all data.</summary>
    public void Seed(EmulatorSeed seed)
    {
        ArgumentNullException.ThrowIfNull(seed);
        var store = Store.Build(seed, DateTimeOffset.UtcNow, IsV3);
        lock (_lock) _store = store;
    }

    /// <summary>Snapshot of the recorded API requests, in arrival order (a request appears once it has been answered).</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_lock) return _requests.OrderBy(r => r.Seq).Select(r => r.Request).ToArray();
        }
    }

    public void ResetRequests()
    {
        lock (_lock) _requests.Clear();
    }

    public void AddFault(FaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        lock (_lock) _faults.Add(rule.Clone());
    }

    public void ClearFaults()
    {
        lock (_lock) _faults.Clear();
    }

    /// <summary>last_polled of a queue (null = never polled). Throws KeyNotFoundException for an unknown pool or queue.</summary>
    public DateTimeOffset? GetQueueLastPolled(string pool, string queue)
    {
        lock (_lock)
        {
            if (!_store.PoolsByName.TryGetValue(pool, out var p)) throw new KeyNotFoundException($"No pool '{pool}'.");
            var q = p.Queues.FirstOrDefault(x => x.Name == queue) ?? throw new KeyNotFoundException($"No queue '{pool}/{queue}'.");
            return q.LastPolled;
        }
    }

    public async ValueTask DisposeAsync()
    {
        var app = _app;
        _app = null;
        if (app is null) return;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await app.StopAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        await app.DisposeAsync().ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ pipeline

    private static string RawPath(HttpContext ctx)
    {
        var raw = ctx.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/')
            raw = (ctx.Request.PathBase + ctx.Request.Path).ToUriComponent();
        var q = raw.IndexOf('?');
        return q >= 0 ? raw[..q] : raw;
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var rawPath = RawPath(ctx);
        if (rawPath == "/_emulator" || rawPath.StartsWith("/_emulator/", StringComparison.Ordinal))
        {
            await ControlAsync(ctx, rawPath).ConfigureAwait(false);
            return;
        }

        var at = DateTimeOffset.UtcNow;
        var seq = Interlocked.Increment(ref _seq);
        var method = ctx.Request.Method;
        using var ms = new MemoryStream();
        await ctx.Request.Body.CopyToAsync(ms, ctx.RequestAborted).ConfigureAwait(false);
        var bodyText = ms.Length == 0 ? null : Encoding.UTF8.GetString(ms.GetBuffer(), 0, (int)ms.Length);

        string? rel = null;
        if (rawPath == _basePath) rel = "";
        else if (rawPath.StartsWith(_basePath + "/", StringComparison.Ordinal)) rel = rawPath[_basePath.Length..];
        var recordPath = rel ?? rawPath;

        var authHeader = ctx.Request.Headers.Authorization.ToString();
        string? authScheme = null;
        if (!string.IsNullOrEmpty(authHeader))
        {
            var sp = authHeader.IndexOf(' ');
            authScheme = sp < 0 ? authHeader : authHeader[..sp];
            if (authScheme.Length == 0 || authScheme.Length > 32 || !authScheme.All(char.IsAsciiLetterOrDigit)) authScheme = null;
        }
        var contentType = ctx.Request.ContentType;
        var contentLength = ctx.Request.ContentLength;

        void Record(int status)
        {
            var rec = new RecordedRequest(method, recordPath, bodyText, status, authScheme, contentType, contentLength, at);
            lock (_lock) _requests.Add((seq, rec));
        }

        var dispatchBody = bodyText;
        var fault = TakeFault(method, recordPath, bodyText);
        if (fault is not null)
        {
            if (fault.DelayMilliseconds > 0)
            {
                try { await Task.Delay(fault.DelayMilliseconds, ctx.RequestAborted).ConfigureAwait(false); }
                catch (OperationCanceledException) { Record(0); return; }
            }
            Reply? faultReply = null;
            var headers = new Dictionary<string, string>();
            if (!string.IsNullOrEmpty(fault.RetryAfter)) headers["Retry-After"] = fault.RetryAfter!;
            switch (fault.Kind)
            {
                case FaultKind.Delay:
                    break;
                case FaultKind.IgnoreOffset:
                    dispatchBody = WithoutPaging(bodyText);
                    break;
                case FaultKind.DropConnection:
                    Record(0);
                    ctx.Abort();
                    return;
                case FaultKind.TooManyRequests:
                    headers["Retry-After"] = string.IsNullOrEmpty(fault.RetryAfter) ? "1" : fault.RetryAfter!;
                    faultReply = Reply.Json(429, new JsonObject { ["detail"] = "Too Many Requests" }, headers);
                    break;
                case FaultKind.ServiceUnavailable:
                    faultReply = Reply.Json(503, new JsonObject { ["exception_message"] = "Service Unavailable" }, headers);
                    break;
                case FaultKind.BadGateway:
                    faultReply = new Reply(502, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n",
                        "text/html", headers);
                    break;
                case FaultKind.InternalError:
                    faultReply = Reply.Json(500, new JsonObject { ["exception_message"] = "Internal Server Error" }, headers);
                    break;
            }
            if (faultReply is not null)
            {
                // Recorded before the answer goes out: a client that has the answer finds its request in the log.
                Record(faultReply.Status);
                await WriteAsync(ctx, faultReply).ConfigureAwait(false);
                return;
            }
        }

        Reply reply;
        try
        {
            reply = rel is null ? Reply.NotFound() : Dispatch(method, rel, ctx.Request.Headers, dispatchBody, contentType, contentLength);
        }
        catch (Exception)
        {
            reply = Reply.ExceptionMessage(500, "Internal Server Error");
        }
        Record(reply.Status);
        await WriteAsync(ctx, reply).ConfigureAwait(false);
    }

    /// <summary>The body without its "offset" and "page" keys; a body that is not a JSON object is left as it is.</summary>
    private static string? WithoutPaging(string? body)
    {
        if (string.IsNullOrEmpty(body)) return body;
        try
        {
            if (JsonNode.Parse(body) is not JsonObject obj) return body;
            obj.Remove("offset");
            obj.Remove("page");
            return obj.ToJsonString();
        }
        catch (JsonException)
        {
            return body;
        }
    }

    private FaultRule? TakeFault(string method, string path, string? body)
    {
        lock (_lock)
        {
            foreach (var f in _faults)
            {
                if (f.Count == 0) continue;
                if (f.Method is not null && !string.Equals(f.Method, method, StringComparison.OrdinalIgnoreCase)) continue;
                if (f.PathContains is not null && !path.Contains(f.PathContains, StringComparison.Ordinal)) continue;
                if (f.BodyContains is not null && (body is null || !body.Contains(f.BodyContains, StringComparison.Ordinal))) continue;
                if (f.Count > 0) f.Count--;
                return f.Clone();
            }
        }
        return null;
    }

    private static async Task WriteAsync(HttpContext ctx, Reply reply)
    {
        ctx.Response.StatusCode = reply.Status;
        if (reply.Headers is not null)
            foreach (var (k, v) in reply.Headers) ctx.Response.Headers[k] = v;
        ctx.Response.ContentType = reply.ContentType;
        var bytes = Encoding.UTF8.GetBytes(reply.Body);
        ctx.Response.ContentLength = bytes.Length;
        await ctx.Response.Body.WriteAsync(bytes, ctx.RequestAborted).ConfigureAwait(false);
    }

    private bool CheckBasic(string header)
    {
        // Prefect's token_validation: scheme must be Basic, base64 value compared with the auth string in constant time.
        var sp = header.IndexOf(' ');
        if (sp < 0 || header[..sp] != "Basic") return false;
        byte[] decoded;
        try { decoded = Convert.FromBase64String(header[(sp + 1)..].Trim()); }
        catch (FormatException) { return false; }
        if (decoded.Length == 0) return false;
        return CryptographicOperations.FixedTimeEquals(decoded, Encoding.UTF8.GetBytes(_options.AuthString!));
    }

    private bool CheckBearer(string header)
    {
        var sp = header.IndexOf(' ');
        if (sp < 0 || header[..sp] != "Bearer") return false;
        var key = Encoding.UTF8.GetBytes(header[(sp + 1)..].Trim());
        return CryptographicOperations.FixedTimeEquals(key, Encoding.UTF8.GetBytes(_options.ApiKey!));
    }

    // ------------------------------------------------------------------ control endpoints

    private async Task ControlAsync(HttpContext ctx, string rawPath)
    {
        Reply reply;
        try
        {
            using var reader = new StreamReader(ctx.Request.Body, Encoding.UTF8);
            var body = await reader.ReadToEndAsync(ctx.RequestAborted).ConfigureAwait(false);
            var segs = rawPath.Split('/').Select(Uri.UnescapeDataString).ToArray(); // "", "_emulator", ...
            var method = ctx.Request.Method;
            reply = (method, segs.Length > 2 ? segs[2] : "") switch
            {
                ("POST", "seed") when segs.Length == 3 => ControlSeed(body),
                ("GET", "requests") when segs.Length == 3 => new Reply(200, JsonSerializer.Serialize(Requests, ControlJson)),
                ("POST", "requests") when segs.Length == 4 && segs[3] == "reset" => Ok(() => ResetRequests()),
                ("POST", "faults") when segs.Length == 3 => Ok(() => AddFault(JsonSerializer.Deserialize<FaultRule>(body, ControlJson)
                                                                             ?? throw new ArgumentException("empty fault rule"))),
                ("DELETE", "faults") when segs.Length == 3 => Ok(ClearFaults),
                ("GET", "queues") when segs.Length == 6 && segs[5] == "last_polled" => ControlLastPolled(segs[3], segs[4]),
                ("GET", "info") when segs.Length == 3 => Reply.Json(200, new JsonObject
                {
                    ["mode"] = _options.Mode.ToString(), ["api_url"] = ApiUrl.ToString().TrimEnd('/'), ["root_url"] = RootUrl.ToString().TrimEnd('/'),
                }),
                _ => Reply.Detail(404, "No such emulator control endpoint."),
            };
        }
        catch (Exception e) when (e is JsonException or ArgumentException or NotSupportedException or InvalidOperationException)
        {
            reply = Reply.Detail(400, e.Message);
        }
        await WriteAsync(ctx, reply).ConfigureAwait(false);
    }

    private static Reply Ok(Action a)
    {
        a();
        return Reply.Json(200, new JsonObject { ["ok"] = true });
    }

    private Reply ControlSeed(string body)
    {
        var seed = string.IsNullOrWhiteSpace(body) ? new EmulatorSeed() : EmulatorSeed.FromJson(body);
        Seed(seed);
        lock (_lock)
            return Reply.Json(200, new JsonObject
            {
                ["pools"] = _store.Pools.Count, ["queues"] = _store.AllQueues.Count, ["runs"] = _store.Runs.Count,
            });
    }

    private Reply ControlLastPolled(string pool, string queue)
    {
        try
        {
            var lp = GetQueueLastPolled(pool, queue);
            return Reply.Json(200, new JsonObject { ["pool"] = pool, ["queue"] = queue, ["last_polled"] = Shapes.Iso(lp, Mode) });
        }
        catch (KeyNotFoundException e)
        {
            return Reply.Detail(404, e.Message);
        }
    }
}
