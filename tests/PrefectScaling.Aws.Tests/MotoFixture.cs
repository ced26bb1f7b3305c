using System.Diagnostics;
using System.Net.Http;
using System.Text.RegularExpressions;
using PrefectScaling.Aws;

namespace PrefectScaling.Aws.Tests;

/// <summary>One moto_server per test collection: started on a free loopback port (-p 0), its URL read from
/// the " * Running on http://127.0.0.1:PORT" line it writes to stderr, stopped at the end.</summary>
public sealed class MotoFixture : IAsyncLifetime
{
    public const string AccountId = "123456789012";
    public const string Region = "eu-west-1";
    private static readonly Regex RunningOn = new(@"Running on (http://127\.0\.0\.1:\d+)", RegexOptions.CultureInvariant);

    private Process? _process;
    private readonly TaskCompletionSource<string> _url = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Text.StringBuilder _output = new();

    public string Url { get; private set; } = string.Empty;

    public async Task InitializeAsync()
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
        _process = Process.Start(start) ?? throw new InvalidOperationException("moto_server did not start");
        _process.ErrorDataReceived += (_, e) => Watch(e.Data);
        _process.OutputDataReceived += (_, e) => Watch(e.Data);
        _process.BeginErrorReadLine();
        _process.BeginOutputReadLine();
        Task finished = await Task.WhenAny(_url.Task, Task.Delay(TimeSpan.FromSeconds(60)), _process.WaitForExitAsync());
        if (finished != _url.Task)
            throw new InvalidOperationException("moto_server did not report its port within 60 s. Output:\n" + _output);
        Url = _url.Task.Result;
        using var http = new HttpClient();
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                using HttpResponseMessage response = await http.PostAsync(Url + "/moto-api/reset", null);
                if (response.IsSuccessStatusCode) break;
            }
            catch (HttpRequestException) when (attempt < 50) { }
            await Task.Delay(100);
        }
    }

    private void Watch(string? line)
    {
        if (line == null) return;
        lock (_output) _output.AppendLine(line);
        Match match = RunningOn.Match(line);
        if (match.Success) _url.TrySetResult(match.Groups[1].Value);
    }

    public async Task ResetAsync()
    {
        using var http = new HttpClient();
        using HttpResponseMessage response = await http.PostAsync(Url + "/moto-api/reset", null);
        response.EnsureSuccessStatusCode();
    }

    /// <summary>A context on moto: dummy keys, the fixture's region, moto as -EndpointUrl.</summary>
    public AwsContext Context(string? region = null) => AwsContext.Create(
        new AwsSettingsInput { AccessKey = "testing", SecretKey = "testing", Region = region ?? Region, EndpointUrl = Url },
        _ => null, null);

    public Task DisposeAsync()
    {
        if (_process != null && !_process.HasExited)
        {
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            _process.WaitForExit(10_000);
        }
        _process?.Dispose();
        return Task.CompletedTask;
    }
}

[CollectionDefinition(Name)]
public sealed class MotoCollection : ICollectionFixture<MotoFixture>
{
    public const string Name = "moto";
}
