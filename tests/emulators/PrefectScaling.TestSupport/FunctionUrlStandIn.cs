using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace PrefectScaling.TestSupport;

/// <summary>A local stand-in for a Lambda function URL: each HTTP request becomes the event Lambda hands a function
/// (payload format 2.0: version, routeKey, rawPath, lower-cased headers, requestContext.http, body, isBase64Encoded),
/// the handler runs in-process, and its answer ({"statusCode","headers","body"}) becomes the HTTP answer. moto stores
/// function URLs but serves none, so this is how a test reaches the real handler through the URL path.</summary>
public sealed class FunctionUrlStandIn : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<Stream, Stream> _handler;
    private readonly Task _loop;

    public FunctionUrlStandIn(Func<Stream, Stream> handler)
    {
        _handler = handler;
        Url = new Uri("http://127.0.0.1:" + CaptureServer.FreePort() + "/");
        _listener.Prefixes.Add(Url.AbsoluteUri);
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public Uri Url { get; }

    /// <summary>Each answer the handler gave, with when it was given.</summary>
    public List<(DateTime At, int Status, string Body)> Answers { get; } = new();

    /// <summary>Called after each answer (tests wait on it).</summary>
    public event Action<int, string>? Answered;

    /// <summary>The event Lambda would hand over for this request.</summary>
    public static JsonObject Event(string method, string path, IEnumerable<KeyValuePair<string, string>> headers, byte[] body)
    {
        var lower = new JsonObject();
        foreach (KeyValuePair<string, string> header in headers) lower[header.Key.ToLowerInvariant()] = header.Value;
        bool text = body.Length == 0 || IsUtf8(body);
        return new JsonObject
        {
            ["version"] = "2.0",
            ["routeKey"] = "$default",
            ["rawPath"] = path,
            ["rawQueryString"] = "",
            ["headers"] = lower,
            ["requestContext"] = new JsonObject
            {
                ["accountId"] = "anonymous",
                ["domainName"] = "stand-in.lambda-url.us-east-1.on.aws",
                ["http"] = new JsonObject { ["method"] = method, ["path"] = path, ["protocol"] = "HTTP/1.1", ["sourceIp"] = "127.0.0.1", ["userAgent"] = "stand-in" },
                ["requestId"] = Guid.NewGuid().ToString(),
                ["routeKey"] = "$default",
                ["stage"] = "$default",
                ["timeEpoch"] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            },
            ["body"] = text ? Encoding.UTF8.GetString(body) : Convert.ToBase64String(body),
            ["isBase64Encoded"] = !text,
        };
    }

    private static bool IsUtf8(byte[] bytes)
    {
        try
        {
            _ = new UTF8Encoding(false, true).GetString(bytes);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException || e is ObjectDisposedException || e is InvalidOperationException)
            {
                return;
            }
            // Several at once, as Lambda runs several environments (the handler guards its own cycles).
            _ = Task.Run(() => Serve(context));
        }
    }

    private void Serve(HttpListenerContext context)
    {
        try
        {
            using var read = new MemoryStream();
            context.Request.InputStream.CopyTo(read);
            var headers = context.Request.Headers.AllKeys.Where(k => k != null).Select(k => new KeyValuePair<string, string>(k!, context.Request.Headers[k] ?? string.Empty));
            JsonObject lambdaEvent = Event(context.Request.HttpMethod, context.Request.Url?.AbsolutePath ?? "/", headers, read.ToArray());
            using var input = new MemoryStream(Encoding.UTF8.GetBytes(lambdaEvent.ToJsonString()));
            using Stream output = _handler(input);
            using var reader = new StreamReader(output, Encoding.UTF8);
            JsonObject answer = JsonNode.Parse(reader.ReadToEnd())!.AsObject();
            int status = (int?)answer["statusCode"] ?? 200;
            string body = (string?)answer["body"] ?? string.Empty;
            lock (Answers) Answers.Add((DateTime.UtcNow, status, body));
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            byte[] bytes = Encoding.UTF8.GetBytes(body);
            context.Response.OutputStream.Write(bytes, 0, bytes.Length);
            context.Response.Close();
            Answered?.Invoke(status, body);
        }
        catch (Exception e)
        {
            context.Response.StatusCode = 502;
            byte[] bytes = Encoding.UTF8.GetBytes("stand-in: " + e.GetType().Name + ": " + e.Message);
            context.Response.OutputStream.Write(bytes, 0, bytes.Length);
            context.Response.Close();
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
