using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PrefectScaling.TestSupport;

public sealed record CapturedRequest(string Method, string PathAndQuery, Dictionary<string, string> Headers, string Body);

public sealed record CannedResponse(int Status, string Body, string ContentType = "application/x-amz-json-1.1", Dictionary<string, string>? Headers = null);

/// <summary>A tiny local HTTP server used as an endpoint: it records each request and answers canned responses.</summary>
public sealed class CaptureServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<CapturedRequest, int, CannedResponse> _answer;
    private readonly Task _loop;
    private int _count;

    public CaptureServer(Func<CapturedRequest, int, CannedResponse> answer)
    {
        _answer = answer;
        int port = FreePort();
        Url = "http://127.0.0.1:" + port;
        _listener.Prefixes.Add(Url + "/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public string Url { get; }
    public ConcurrentQueue<CapturedRequest> Requests { get; } = new();

    /// <summary>A loopback port nothing listens on now (for servers, and for "nothing there" endpoints).</summary>
    public static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    /// <summary>The requests that name an operation in their X-Amz-Target header or query-protocol Action.</summary>
    public int Count(string operation) => Requests.Count(r =>
        (r.Headers.TryGetValue("X-Amz-Target", out string? target) && target.EndsWith("." + operation, StringComparison.Ordinal)) ||
        r.Body.Contains("Action=" + operation, StringComparison.Ordinal));

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
            string body = await reader.ReadToEndAsync();
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (string? key in context.Request.Headers.AllKeys)
                if (key != null) headers[key] = context.Request.Headers[key] ?? string.Empty;
            var captured = new CapturedRequest(context.Request.HttpMethod, context.Request.RawUrl ?? "/", headers, body);
            Requests.Enqueue(captured);
            CannedResponse response = _answer(captured, Interlocked.Increment(ref _count));
            byte[] bytes = Encoding.UTF8.GetBytes(response.Body);
            context.Response.StatusCode = response.Status;
            context.Response.ContentType = response.ContentType;
            foreach (var header in response.Headers ?? new Dictionary<string, string>())
                context.Response.Headers[header.Key] = header.Value;
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
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
