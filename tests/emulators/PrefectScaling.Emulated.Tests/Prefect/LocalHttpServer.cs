using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace PrefectScaling.Prefect.Tests;

/// <summary>A tiny HTTP server on loopback for answers the emulator cannot give (oversized and endless
/// bodies, redirects, odd numbers). The handler writes the whole response; requests are recorded.</summary>
internal sealed class LocalHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<HttpListenerContext, string, Task> _handle;
    private readonly Task _loop;

    public LocalHttpServer(Func<HttpListenerContext, string, Task> handle)
    {
        _handle = handle;
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        Port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Root = "http://127.0.0.1:" + Port;
        _listener.Prefixes.Add(Root + "/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }
    public string Root { get; }
    public Uri ApiUrl => new(Root + "/api");

    /// <summary>"METHOD /path" of every request, in arrival order.</summary>
    public ConcurrentQueue<string> Requests { get; } = new();

    public int Count(string pathPart) => Requests.Count(r => r.Contains(pathPart, StringComparison.Ordinal));

    /// <summary>A Prefect 3 server (version "3.8.3") that answers the given paths, everything else 404.</summary>
    public static LocalHttpServer Prefect(Func<string, string, (int Status, string Json)?> answer) =>
        new((context, body) =>
        {
            string path = context.Request.Url!.AbsolutePath;
            if (path == "/api/admin/version") return Json(context, 200, "\"3.8.3\"");
            var reply = answer(path, body);
            return reply is { } r ? Json(context, r.Status, r.Json) : Json(context, 404, "{\"detail\":\"Not Found\"}");
        });

    public static async Task Json(HttpListenerContext context, int status, string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength64 = bytes.Length;
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try { context = await _listener.GetContextAsync(); }
            catch (Exception) { return; }
            _ = Task.Run(async () =>
            {
                using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
                string body = await reader.ReadToEndAsync();
                Requests.Enqueue(context.Request.HttpMethod + " " + context.Request.Url!.AbsolutePath);
                try { await _handle(context, body); }
                catch (Exception) { context.Response.Abort(); } // the client went away mid-answer
            });
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
    }
}
