using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace PrefectScaling.RealServer.Tests;

public enum RealPrefectKind
{
    /// <summary>Prefect 2.20.25.</summary>
    Prefect2,
    /// <summary>Prefect 3.8.3.</summary>
    Prefect3,
    /// <summary>Prefect 3.8.3 with basic auth (PREFECT_SERVER_API_AUTH_STRING).</summary>
    Prefect3Auth,
}

/// <summary>A real Prefect API server. build.ps1 Test starts one of each kind per run and hands them over in
/// the environment (<see cref="UrlVariable"/>, <see cref="AuthStringVariable"/>); without those variables (plain
/// dotnet test) the fixture starts its own with the shared start-prefect.sh and stops it when done. Either way
/// a server that cannot be had fails the tests: nothing is skipped.</summary>
public sealed class RealPrefectServer : IAsyncDisposable
{
    public const string ServersDirectoryVariable = "PREFECTSCALING_PREFECT_SERVERS";
    public const string AuthStringVariable = "PREFECTSCALING_REAL_PREFECT3_AUTH_STRING";

    private string? _workDir;
    private string? _stopScript;

    private RealPrefectServer(RealPrefectKind kind, Uri apiUrl, string? authString)
    {
        Kind = kind;
        ApiUrl = apiUrl;
        AuthString = authString;
    }

    public RealPrefectKind Kind { get; }
    public Uri ApiUrl { get; }

    /// <summary>"user:password" for the basic-auth server; null otherwise. Never printed.</summary>
    public string? AuthString { get; }

    /// <summary>What GET /admin/version answered.</summary>
    public string Version { get; private set; } = "";

    public bool IsV3 => Kind != RealPrefectKind.Prefect2;

    public string ExpectedVersion => Kind == RealPrefectKind.Prefect2 ? "2.20.25" : "3.8.3";

    public override string ToString() => "Prefect " + Version + (AuthString != null ? " (basic auth)" : "") + " at " + ApiUrl;

    public static string UrlVariable(RealPrefectKind kind) => kind switch
    {
        RealPrefectKind.Prefect2 => "PREFECTSCALING_REAL_PREFECT2_URL",
        RealPrefectKind.Prefect3 => "PREFECTSCALING_REAL_PREFECT3_URL",
        _ => "PREFECTSCALING_REAL_PREFECT3_AUTH_URL",
    };

    public static async Task<RealPrefectServer> AcquireAsync(RealPrefectKind kind)
    {
        string? url = Environment.GetEnvironmentVariable(UrlVariable(kind));
        RealPrefectServer server;
        if (!string.IsNullOrEmpty(url))
        {
            string? auth = null;
            if (kind == RealPrefectKind.Prefect3Auth)
            {
                auth = Environment.GetEnvironmentVariable(AuthStringVariable);
                if (string.IsNullOrEmpty(auth))
                    throw new InvalidOperationException(UrlVariable(kind) + " is set but " + AuthStringVariable + " is not: the basic-auth server's credentials are missing.");
            }
            server = new RealPrefectServer(kind, new Uri(url), auth);
        }
        else
        {
            server = await StartOwnAsync(kind);
        }
        try
        {
            await server.CheckVersionAsync();
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task CheckVersionAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var request = new HttpRequestMessage(HttpMethod.Get, ApiUrl.AbsoluteUri.TrimEnd('/') + "/admin/version");
        if (AuthString != null) request.Headers.Authorization = BasicHeader(AuthString);
        using HttpResponseMessage response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException("The real Prefect server at " + ApiUrl + " answered /admin/version with HTTP " + (int)response.StatusCode + ": " + text);
        Version = JsonSerializer.Deserialize<string>(text) ?? "";
        if (Version != ExpectedVersion)
            throw new InvalidOperationException("The server at " + ApiUrl + " given as " + Kind + " is Prefect " + Version + ", not " + ExpectedVersion + ".");
    }

    public static AuthenticationHeaderValue BasicHeader(string authString) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(authString)));

    /// <summary>The folder of start-prefect.sh: the variable, else ../shared/prefect-servers beside the repository.</summary>
    public static string ServersDirectory()
    {
        string? configured = Environment.GetEnvironmentVariable(ServersDirectoryVariable);
        string directory;
        if (!string.IsNullOrEmpty(configured))
        {
            directory = Path.GetFullPath(configured);
        }
        else
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root != null && !File.Exists(Path.Combine(root.FullName, "PrefectScaling.sln"))) root = root.Parent;
            if (root == null) throw new InvalidOperationException("Cannot find the repository root (PrefectScaling.sln) above " + AppContext.BaseDirectory + "; set " + ServersDirectoryVariable + ".");
            directory = Path.GetFullPath(Path.Combine(root.FullName, "..", "shared", "prefect-servers"));
        }
        if (!File.Exists(Path.Combine(directory, "start-prefect.sh")) || !File.Exists(Path.Combine(directory, "stop-prefect.sh")))
            throw new InvalidOperationException("The real Prefect server scripts (start-prefect.sh, stop-prefect.sh) are not in " + directory +
                                                "; put them at ../shared/prefect-servers beside the repository or point " + ServersDirectoryVariable + " at them.");
        return directory;
    }

    private static async Task<RealPrefectServer> StartOwnAsync(RealPrefectKind kind)
    {
        string directory = ServersDirectory();
        string? auth = kind == RealPrefectKind.Prefect3Auth ? "prefectscaling:" + Guid.NewGuid().ToString("N") : null;
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The script takes the credentials as --auth USER:PASS. They must not show on a command line, so bash
        // reads them from its environment and sources the script with them as its arguments.
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("a=${PREFECTSCALING_START_AUTH-}; unset PREFECTSCALING_START_AUTH; " +
                               "set -- --version \"$1\" --port 0 --timeout 300 ${a:+--auth \"$a\"}; . \"$0\"");
        start.ArgumentList.Add(Path.Combine(directory, "start-prefect.sh"));
        start.ArgumentList.Add(kind == RealPrefectKind.Prefect2 ? "2" : "3");
        if (auth != null) start.Environment["PREFECTSCALING_START_AUTH"] = auth;

        using Process process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start.");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
        }
        string line = (await stdout).Trim();
        var values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('=', 2)).Where(kv => kv.Length == 2)
            .ToDictionary(kv => kv[0], kv => kv[1], StringComparer.Ordinal);
        if (process.ExitCode != 0 || !values.TryGetValue("PREFECT_API_URL", out string? url) || !values.TryGetValue("WORKDIR", out string? workDir))
        {
            // The work dir of a failed start is kept by the script; the server and redis are already stopped.
            throw new InvalidOperationException("start-prefect.sh --version " + (kind == RealPrefectKind.Prefect2 ? 2 : 3) + " failed (exit " + process.ExitCode + "):\n" + await stderr);
        }
        var server = new RealPrefectServer(kind, new Uri(url), auth) { _workDir = workDir, _stopScript = Path.Combine(directory, "stop-prefect.sh") };
        // A test host ended by a signal does not dispose its fixtures: do not leave the server behind.
        AppDomain.CurrentDomain.ProcessExit += server.StopOnExit;
        return server;
    }

    private void StopOnExit(object? sender, EventArgs e) => Stop();

    private void Stop()
    {
        string? workDir = Interlocked.Exchange(ref _workDir, null);
        if (workDir == null || _stopScript == null) return;
        var stop = new ProcessStartInfo("bash") { UseShellExecute = false, RedirectStandardError = true };
        stop.ArgumentList.Add(_stopScript);
        stop.ArgumentList.Add(workDir);
        using Process? process = Process.Start(stop);
        process?.StandardError.ReadToEnd();
        process?.WaitForExit(30_000);
    }

    public ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= StopOnExit;
        Stop();
        return ValueTask.CompletedTask;
    }
}
