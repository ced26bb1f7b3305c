using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using PrefectScaling.Aws;

namespace PrefectScaling.TestSupport;

/// <summary>A moto_server (on PATH) on a free loopback port (-p 0), its URL read from the
/// " * Running on http://127.0.0.1:PORT" line it writes, reset with POST /moto-api/reset, and its process tree
/// killed when disposed.</summary>
public sealed class MotoServer : IAsyncDisposable
{
    public const string AccountId = "123456789012";
    public const string DefaultRegion = "eu-west-1";
    private static readonly Regex RunningOn = new(@"Running on (http://127\.0\.0\.1:\d+)", RegexOptions.CultureInvariant);

    private readonly Process _process;
    private readonly TaskCompletionSource<string> _url = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StringBuilder _output = new();

    private MotoServer(Process process)
    {
        _process = process;
        // A host stopped by SIGTERM (a test run that timed out, say) does not dispose its fixtures: don't leave moto behind.
        AppDomain.CurrentDomain.ProcessExit += KillOnExit;
    }

    private void KillOnExit(object? sender, EventArgs e) => Kill();

    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { }
    }

    public string Url { get; private set; } = string.Empty;

    public static async Task<MotoServer> StartAsync(TimeSpan? timeout = null)
    {
        var start = new ProcessStartInfo("moto_server")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { "-H", "127.0.0.1", "-p", "0" }) start.ArgumentList.Add(argument);
        // moto itself must not pick up real credentials or endpoints from the machine.
        start.Environment["AWS_ACCESS_KEY_ID"] = "testing";
        start.Environment["AWS_SECRET_ACCESS_KEY"] = "testing";
        start.Environment.Remove("AWS_PROFILE");
        var server = new MotoServer(Process.Start(start) ?? throw new InvalidOperationException("moto_server did not start"));
        try
        {
            await server.WaitUntilReadyAsync(timeout ?? TimeSpan.FromSeconds(60));
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private async Task WaitUntilReadyAsync(TimeSpan timeout)
    {
        _process.ErrorDataReceived += (_, e) => Watch(e.Data);
        _process.OutputDataReceived += (_, e) => Watch(e.Data);
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        Task finished = await Task.WhenAny(_url.Task, Task.Delay(timeout), _process.WaitForExitAsync());
        if (finished != _url.Task)
            throw new InvalidOperationException("moto_server did not report its port within " + timeout.TotalSeconds + " s. Output:\n" + Output);
        Url = _url.Task.Result;
        using var http = new HttpClient();
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                using HttpResponseMessage response = await http.PostAsync(Url + "/moto-api/reset", null);
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) when (attempt < 50) { }
            await Task.Delay(100);
        }
    }

    /// <summary>What moto has written so far (for failure messages).</summary>
    public string Output
    {
        get { lock (_output) return _output.ToString(); }
    }

    private void Watch(string? line)
    {
        if (line == null) return;
        lock (_output) _output.AppendLine(line);
        Match match = RunningOn.Match(line);
        if (match.Success) _url.TrySetResult(match.Groups[1].Value);
    }

    /// <summary>Forgets every resource (POST /moto-api/reset).</summary>
    public async Task ResetAsync()
    {
        using var http = new HttpClient();
        using HttpResponseMessage response = await http.PostAsync(Url + "/moto-api/reset", null);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>A context on moto: dummy keys, the given region, moto as -EndpointUrl.</summary>
    public AwsContext Context(string? region = null) => AwsContext.Create(
        new AwsSettingsInput { AccessKey = "testing", SecretKey = "testing", Region = region ?? DefaultRegion, EndpointUrl = Url },
        _ => null, null);

    /// <summary>The variables a Lambda function would see, pointing at <paramref name="endpointUrl"/> (moto unless given).</summary>
    public Dictionary<string, string> LambdaEnvironment(string? endpointUrl = null, string? region = null) => new(StringComparer.Ordinal)
    {
        ["AWS_ACCESS_KEY_ID"] = "testing",
        ["AWS_SECRET_ACCESS_KEY"] = "testing",
        ["AWS_REGION"] = region ?? DefaultRegion,
        ["AWS_ENDPOINT_URL"] = endpointUrl ?? Url,
    };

    public ValueTask DisposeAsync()
    {
        AppDomain.CurrentDomain.ProcessExit -= KillOnExit;
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
