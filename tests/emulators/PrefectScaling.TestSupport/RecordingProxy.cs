using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace PrefectScaling.TestSupport;

/// <summary>One request that went through a <see cref="RecordingProxy"/>.</summary>
public sealed record ProxiedRequest(string Method, string PathAndQuery, string? Target, string Body, int Status);

/// <summary>A loopback HTTP proxy in front of an endpoint (moto): forwards every request and records it, so a test
/// can see what went on the wire (moto accepts but does not keep, e.g., StorageResolution).</summary>
public sealed class RecordingProxy : IDisposable
{
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Content-Length", "Transfer-Encoding", "Expect", "Keep-Alive",
    };

    private readonly HttpListener _listener = new();
    private readonly HttpClient _http = new();
    private readonly string _target;
    private readonly Task _loop;

    public RecordingProxy(string targetUrl)
    {
        _target = targetUrl.TrimEnd('/');
        Url = "http://127.0.0.1:" + CaptureServer.FreePort();
        _listener.Prefixes.Add(Url + "/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public string Url { get; }

    public ConcurrentQueue<ProxiedRequest> Requests { get; } = new();

    /// <summary>The requests whose X-Amz-Target header or form Action names <paramref name="operation"/>.</summary>
    public IEnumerable<ProxiedRequest> Calls(string operation) => Requests.Where(r =>
        (r.Target != null && r.Target.EndsWith("." + operation, StringComparison.Ordinal)) ||
        r.Body.Contains("Action=" + operation + "&", StringComparison.Ordinal) || r.Body.EndsWith("Action=" + operation, StringComparison.Ordinal));

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            _ = Task.Run(() => ForwardAsync(context));
        }
    }

    private async Task ForwardAsync(HttpListenerContext context)
    {
        try
        {
            string body;
            using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8)) body = await reader.ReadToEndAsync();
            using var forward = new HttpRequestMessage(new HttpMethod(context.Request.HttpMethod), _target + context.Request.RawUrl);
            forward.Content = new StringContent(body, Encoding.UTF8);
            forward.Content.Headers.Clear();
            foreach (string? name in context.Request.Headers.AllKeys)
            {
                if (name == null || HopHeaders.Contains(name)) continue;
                string value = context.Request.Headers[name] ?? string.Empty;
                if (!forward.Headers.TryAddWithoutValidation(name, value)) forward.Content.Headers.TryAddWithoutValidation(name, value);
            }
            using HttpResponseMessage answer = await _http.SendAsync(forward);
            byte[] bytes = await answer.Content.ReadAsByteArrayAsync();
            Requests.Enqueue(new ProxiedRequest(context.Request.HttpMethod, context.Request.RawUrl ?? "/", context.Request.Headers["X-Amz-Target"], body, (int)answer.StatusCode));
            context.Response.StatusCode = (int)answer.StatusCode;
            foreach (var header in answer.Headers.Concat(answer.Content.Headers))
                if (!HopHeaders.Contains(header.Key)) context.Response.Headers[header.Key] = string.Join(",", header.Value);
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
        catch (Exception)
        {
            try { context.Response.StatusCode = 502; context.Response.Close(); } catch (Exception) { }
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        _http.Dispose();
    }
}
